#include "storage/wal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace ccmon::collector {

namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kMaxRecord = 256U << 20;
constexpr std::size_t kHeader = 16;  // u32 length, u32 crc, u64 lsn

// A record's CRC covers its LSN (8 bytes, first) and its payload. The payload's part can be
// computed before the LSN is known and combined with it (crc32_combine).
std::uint32_t Crc(std::uint64_t lsn, std::uint32_t payload_crc, std::size_t payload_size) {
  const uLong c = crc32(0L, reinterpret_cast<const Bytef*>(&lsn), sizeof lsn);
  return static_cast<std::uint32_t>(
      crc32_combine(c, payload_crc, static_cast<z_off_t>(payload_size)));
}
std::uint32_t PayloadCrc(std::string_view payload) {
  return static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size())));
}
std::uint32_t Crc(std::uint64_t lsn, std::string_view payload) {
  return Crc(lsn, PayloadCrc(payload), payload.size());
}

std::string SegmentName(std::uint64_t first_lsn) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "wal-%020llu.log", static_cast<unsigned long long>(first_lsn));
  return buf;
}

std::string ErrnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

struct ScanResult {
  std::uint64_t good_end = 0;  // just past the last intact record
  std::uint64_t size = 0;
  // Damaged bytes between intact records: [from, to) offsets, and the LSNs they held.
  struct Gap {
    std::uint64_t from, to, first_lsn, last_lsn;
  };
  std::vector<Gap> gaps;
  // Offsets and sizes of the intact records, to rewrite a damaged segment without its gaps.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> records;
};

// Whether an intact record starts at pos: a sane length, an LSN after `last` (exactly
// last + 1 unless resyncing after damage that began at gap_start, then within what the
// damaged bytes could have held) and a CRC over LSN and payload that matches.
bool RecordAt(std::string_view data, std::size_t pos, std::uint64_t last, bool resync,
              std::size_t gap_start, std::uint32_t* len, std::uint64_t* lsn) {
  if (pos + kHeader > data.size()) return false;
  std::uint32_t crc = 0;
  std::memcpy(len, data.data() + pos, 4);
  std::memcpy(&crc, data.data() + pos + 4, 4);
  std::memcpy(lsn, data.data() + pos + 8, 8);
  if (*len > kMaxRecord || *len > data.size() - pos - kHeader) return false;
  if (last != 0 && !resync && *lsn != last + 1) return false;
  // (A record right at gap_start with a later LSN follows a gap an earlier open repaired.)
  if (resync && (*lsn <= last || (pos > gap_start && *lsn > last + 1 + (pos - gap_start) / kHeader))) {
    return false;
  }
  return Crc(*lsn, data.substr(pos + kHeader, *len)) == crc;
}

// Scans a segment's bytes: calls fn for each intact record in order, and past damaged bytes
// finds the next intact record (its LSN follows and its CRC matches), so one bad record costs
// only itself. What follows the last intact record is a torn tail.
ScanResult ScanBuffer(std::string_view data, std::uint64_t* last_lsn,
                      const std::function<void(std::uint64_t, std::string_view)>& fn) {
  ScanResult r;
  r.size = data.size();
  std::size_t pos = 0;
  std::uint32_t len = 0;
  std::uint64_t lsn = 0;
  while (pos + kHeader <= data.size()) {
    if (!RecordAt(data, pos, *last_lsn, false, pos, &len, &lsn)) {
      std::size_t next = pos;
      while (next + kHeader <= data.size() &&
             !RecordAt(data, next, *last_lsn, true, pos, &len, &lsn)) {
        ++next;
      }
      if (next + kHeader > data.size()) break;  // nothing intact after: a torn tail
      // An intact record right here with a later LSN is a gap an earlier open repaired.
      if (next != pos) r.gaps.push_back({pos, next, *last_lsn + 1, lsn - 1});
      pos = next;
    }
    r.records.emplace_back(pos, kHeader + len);
    if (fn) fn(lsn, data.substr(pos + kHeader, len));
    *last_lsn = lsn;
    pos += kHeader + len;
    r.good_end = pos;
  }
  return r;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  out->clear();
  char buf[1 << 16];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->append(buf, n);
  const bool ok = std::ferror(f) == 0;
  std::fclose(f);
  return ok;
}

ScanResult Scan(const std::string& path, std::uint64_t* last_lsn,
                const std::function<void(std::uint64_t, std::string_view)>& fn) {
  std::string data;
  if (!ReadFile(path, &data)) return {};
  return ScanBuffer(data, last_lsn, fn);
}

}  // namespace

Wal::~Wal() {
  Stop();
  if (fd_ >= 0) ::close(fd_);
}

bool Wal::Open(const WalOptions& options, std::string* error, std::string* report) {
  opt_ = options;
  if (!opt_.write_fn)
    opt_.write_fn = [](int fd, const void* p, std::size_t n) { return ::write(fd, p, n); };
  std::error_code ec;
  fs::create_directories(opt_.dir, ec);
  if (ec) {
    *error = "cannot create WAL directory " + opt_.dir + ": " + ec.message();
    return false;
  }
  for (const auto& e : fs::directory_iterator(opt_.dir)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("wal-") || !name.ends_with(".log")) continue;
    Segment s;
    s.path = e.path().string();
    s.first_lsn = std::strtoull(name.c_str() + 4, nullptr, 10);
    segments_.push_back(s);
  }
  std::sort(segments_.begin(), segments_.end(),
            [](const Segment& a, const Segment& b) { return a.first_lsn < b.first_lsn; });
  std::uint64_t last = 0;
  for (Segment& s : segments_) {
    std::uint64_t seg_last = s.first_lsn > 0 ? s.first_lsn - 1 : 0;
    const ScanResult scan = Scan(s.path, &seg_last, nullptr);
    const std::uint64_t good = scan.good_end;
    const auto size = scan.size;
    if (!scan.gaps.empty()) {
      // Damaged records between intact ones (a flipped bit, a zeroed block): only they are
      // lost. The segment is rewritten without them so appends and replays read it plainly.
      std::string data, clean;
      if (!ReadFile(s.path, &data)) {
        *error = ErrnoText("cannot read " + s.path);
        return false;
      }
      for (const auto& [at, n] : scan.records) clean.append(data, at, n);
      for (const auto& g : scan.gaps) {
        skipped_bytes_ += g.to - g.from;
        skipped_records_ += g.last_lsn >= g.first_lsn ? g.last_lsn - g.first_lsn + 1 : 0;
        if (report != nullptr) {
          *report += s.path + ": skipped " + std::to_string(g.to - g.from) +
                     " damaged bytes at offsets " + std::to_string(g.from) + "-" +
                     std::to_string(g.to) + " (WAL records " + std::to_string(g.first_lsn) + "-" +
                     std::to_string(g.last_lsn) + " lost; the intact records after them kept)\n";
        }
      }
      if (size > good) {
        torn_cut_ += size - good;
        if (report != nullptr) {
          *report += s.path + ": cut " + std::to_string(size - good) +
                     " bytes of torn records at offset " + std::to_string(good) + "\n";
        }
      }
      const std::string tmp = s.path + ".tmp";
      std::FILE* f = std::fopen(tmp.c_str(), "wb");
      const bool written = f != nullptr &&
                           std::fwrite(clean.data(), 1, clean.size(), f) == clean.size() &&
                           std::fflush(f) == 0 && ::fdatasync(::fileno(f)) == 0;
      if (f != nullptr) std::fclose(f);
      if (!written || std::rename(tmp.c_str(), s.path.c_str()) != 0) {
        *error = ErrnoText("cannot rewrite damaged WAL segment " + s.path);
        return false;
      }
      s.bytes = clean.size();
      s.last_lsn = seg_last >= s.first_lsn ? seg_last : 0;
      last = std::max(last, seg_last);
      continue;
    }
    if (size > good) {
      // A torn write (crash mid-record) or damage with nothing intact after it: cut it so
      // appends continue on an intact log.
      torn_cut_ += size - good;
      if (report != nullptr) {
        *report += s.path + ": cut " + std::to_string(size - good) + " bytes of torn or " +
                   "corrupt records at offset " + std::to_string(good) + "\n";
      }
      if (::truncate(s.path.c_str(), static_cast<off_t>(good)) != 0) {
        *error = ErrnoText("cannot cut the torn tail of " + s.path);
        return false;
      }
    }
    s.bytes = good;
    s.last_lsn = seg_last >= s.first_lsn ? seg_last : 0;
    last = std::max(last, seg_last);
  }
  last_lsn_ = last;
  durable_lsn_ = last;
  pending_last_lsn_ = last;
  return OpenSegment(last + 1, false, error);
}

bool Wal::OpenSegment(std::uint64_t first_lsn, bool force_new, std::string* error) {
  if (fd_ >= 0) ::close(fd_);
  // Reuse the newest segment while it is small and continues at first_lsn.
  const Segment* newest = segments_.empty() ? nullptr : &segments_.back();
  if (!force_new && newest != nullptr && newest->bytes < opt_.segment_bytes &&
      (newest->last_lsn == 0 ? newest->first_lsn == first_lsn
                             : newest->last_lsn + 1 == first_lsn)) {
    fd_ = ::open(segments_.back().path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  } else {
    Segment s;
    s.first_lsn = first_lsn;
    s.path = opt_.dir + "/" + SegmentName(first_lsn);
    fd_ = ::open(s.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ >= 0) segments_.push_back(s);
  }
  if (fd_ < 0) {
    if (error != nullptr) *error = ErrnoText("cannot open WAL segment in " + opt_.dir);
    return false;
  }
  return true;
}

bool Wal::Replay(std::uint64_t after_lsn,
                 const std::function<void(std::uint64_t, std::string_view)>& fn,
                 std::string* /*error*/) {
  for (const Segment& s : segments_) {
    if (s.last_lsn != 0 && s.last_lsn <= after_lsn) continue;
    std::uint64_t seg_last = s.first_lsn > 0 ? s.first_lsn - 1 : 0;
    Scan(s.path, &seg_last, [&](std::uint64_t lsn, std::string_view rec) {
      if (lsn > after_lsn) fn(lsn, rec);
    });
  }
  return true;
}

void Wal::Start() {
  std::lock_guard lock(mu_);
  stopping_ = false;
  if (!flusher_.joinable()) flusher_ = std::thread([this] { FlushLoop(); });
}

void Wal::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  durable_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
}

bool Wal::WaitForRoom(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    return pending_.size() < opt_.max_pending_bytes || stopping_;
  }) && !stopping_;
}

std::uint32_t Wal::RecordCrc(std::string_view record) { return PayloadCrc(record); }

std::uint64_t Wal::Append(std::string_view record, std::uint32_t record_crc) {
  std::unique_lock lock(mu_);
  const std::uint64_t lsn = last_lsn_.load() + 1;
  unsigned char hdr[kHeader];
  const auto len = static_cast<std::uint32_t>(record.size());
  const std::uint32_t crc = Crc(lsn, record_crc, record.size());
  std::memcpy(hdr, &len, 4);
  std::memcpy(hdr + 4, &crc, 4);
  std::memcpy(hdr + 8, &lsn, 8);
  // The flusher waits for the buffer to become non-empty, or (between syncs) for it to fill
  // half its bound: wake it only then, not on every append.
  const bool was_empty = pending_.empty();
  pending_.append(reinterpret_cast<const char*>(hdr), kHeader);
  pending_.append(record);
  pending_last_lsn_ = lsn;
  last_lsn_ = lsn;
  const bool wake = was_empty || pending_.size() >= opt_.max_pending_bytes / 2;
  lock.unlock();
  if (wake) cv_.notify_all();
  return lsn;
}

bool Wal::WaitDurable(std::uint64_t lsn, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return durable_cv_.wait_for(lock, timeout, [&] { return durable_lsn_ >= lsn || stopping_; }) &&
         durable_lsn_ >= lsn;
}

bool Wal::WriteAll(const std::string& buf) {
  std::size_t done = 0;
  while (done < buf.size()) {
    const ssize_t n = opt_.write_fn(fd_, buf.data() + done, buf.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ENOSPC;
      // Cut what this attempt wrote so the retry does not leave a torn record in the middle.
      const std::uint64_t keep = segments_.back().bytes;
      const int saved = errno;
      if (::ftruncate(fd_, static_cast<off_t>(keep)) != 0) {
        // The next recovery will cut the torn tail; nothing more to do here.
      }
      errno = saved;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return ::fdatasync(fd_) == 0;
}

void Wal::FlushLoop() {
  std::string buf;
  auto last_start = std::chrono::steady_clock::time_point::min();
  while (true) {
    std::uint64_t buf_last = 0;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !pending_.empty() || stopping_; });
      if (pending_.empty() && stopping_) break;
      if (lost_) {
        // The files are gone: nothing written now would be durable. Hold everything.
        if (stopping_) break;
        cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
        continue;
      }
      if (!stopping_ && opt_.fsync_interval.count() > 0) {
        // Group commit: let concurrent streams add their batches to this fsync.
        cv_.wait_for(lock, opt_.fsync_interval, [&] { return stopping_; });
      }
      if (!stopping_ && opt_.min_sync_gap.count() > 0 && pending_.size() >= opt_.gap_min_bytes &&
          last_start > std::chrono::steady_clock::time_point::min()) {
        cv_.wait_until(lock, last_start + opt_.min_sync_gap,
                       [&] { return stopping_ || pending_.size() >= opt_.max_pending_bytes / 2; });
      }
      last_start = std::chrono::steady_clock::now();
      buf.swap(pending_);
      pending_.clear();
      buf_last = pending_last_lsn_;
    }
    cv_.notify_all();  // room for blocked appenders
    bool ok = false;
    {
      std::lock_guard flock(file_mu_);
      ok = WriteAll(buf);
      if (ok) {
        Segment& seg = segments_.back();
        seg.bytes += buf.size();
        seg.last_lsn = buf_last;
        if (healthy_) {
          last_error_.clear();
        }
        healthy_ = true;
        if (seg.bytes >= opt_.segment_bytes) OpenSegment(buf_last + 1, true, nullptr);
      } else {
        ++write_errors_;
        healthy_ = false;
        last_error_ = ErrnoText("WAL write to " + segments_.back().path + " failed");
      }
    }
    std::unique_lock lock(mu_);
    if (ok) {
      durable_lsn_ = buf_last;
      durable_cv_.notify_all();
      buf.clear();
    } else {
      // Keep the records, in order, ahead of anything appended meanwhile; retry in a second.
      buf.append(pending_);
      pending_.swap(buf);
      buf.clear();
      if (stopping_) break;
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
    }
  }
}

void Wal::TruncateThrough(std::uint64_t lsn) {
  std::lock_guard flock(file_mu_);
  if (segments_.empty()) return;
  const Segment& cur = segments_.back();
  if (cur.last_lsn != 0 && cur.last_lsn <= lsn) OpenSegment(cur.last_lsn + 1, true, nullptr);
  while (segments_.size() > 1 && segments_.front().last_lsn <= lsn) {
    std::error_code ec;
    fs::remove(segments_.front().path, ec);
    segments_.erase(segments_.begin());
  }
}

bool Wal::CheckFiles() {
  std::lock_guard flock(file_mu_);
  if (lost_ || segments_.empty() || fd_ < 0) return !lost_;
  struct stat open_st {}, path_st {};
  const bool same = ::fstat(fd_, &open_st) == 0 &&
                    ::stat(segments_.back().path.c_str(), &path_st) == 0 &&
                    open_st.st_dev == path_st.st_dev && open_st.st_ino == path_st.st_ino;
  if (same) return true;
  lost_ = true;
  ++files_lost_;
  healthy_ = false;
  last_error_ = "WAL segment " + segments_.back().path +
                " is gone from disk (data directory deleted or replaced?); nothing is durable "
                "until a checkpoint is written again";
  return false;
}

bool Wal::Recreate(std::uint64_t lsn, std::string* error) {
  std::lock_guard lock(mu_);
  std::lock_guard flock(file_mu_);
  // Drop buffered records the checkpoint holds; keep later ones for the new segment.
  std::size_t cut = 0;
  while (cut + kHeader <= pending_.size()) {
    std::uint32_t len = 0;
    std::uint64_t rec_lsn = 0;
    std::memcpy(&len, pending_.data() + cut, 4);
    std::memcpy(&rec_lsn, pending_.data() + cut + 8, 8);
    if (rec_lsn > lsn) break;
    cut += kHeader + len;
  }
  pending_.erase(0, cut);
  std::error_code ec;
  fs::create_directories(opt_.dir, ec);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  segments_.clear();
  if (!OpenSegment(lsn + 1, true, error)) return false;
  durable_lsn_ = std::max(durable_lsn_, lsn);
  lost_ = false;
  healthy_ = true;
  last_error_.clear();
  durable_cv_.notify_all();
  cv_.notify_all();
  return true;
}

WalStats Wal::stats() const {
  WalStats s;
  {
    std::lock_guard flock(file_mu_);
    for (const auto& seg : segments_) s.bytes += seg.bytes;
    s.segments = segments_.size();
    s.write_errors = write_errors_;
    s.torn_bytes_cut = torn_cut_;
    s.damaged_bytes_skipped = skipped_bytes_;
    s.damaged_records_lost = skipped_records_;
    s.files_lost = files_lost_;
    s.healthy = healthy_;
    s.last_error = last_error_;
  }
  std::lock_guard lock(mu_);
  s.last_lsn = last_lsn_.load();
  s.durable_lsn = durable_lsn_;
  return s;
}

}  // namespace ccmon::collector
