#include "storage/wal.h"

#include <fcntl.h>
#include <pthread.h>
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

// Makes a directory's entries (a file created or renamed in it) survive a power cut.
void FsyncDir(const std::string& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// The top bit of a record's length marks the last record of a write group: the flusher
// writes each group with one write() and fdatasync()s it before the next group starts, so
// every group followed by another was on disk whole, and only the last group may be torn.
constexpr std::uint32_t kGroupEnd = 0x80000000U;

struct ScanResult {
  std::uint64_t good_end = 0;  // just past the last intact record kept
  std::uint64_t size = 0;
  // Damaged bytes between intact records: [from, to) offsets, and the LSNs they held.
  struct Gap {
    std::uint64_t from, to, first_lsn, last_lsn;
  };
  std::vector<Gap> gaps;
  // The intact records kept, to replay and to rewrite a damaged segment without its gaps.
  struct Record {
    std::uint64_t offset, size, lsn;
    bool group_end;
  };
  std::vector<Record> records;
};

// Whether an intact record starts at pos: a sane length, an LSN after `last` (exactly
// last + 1 unless resyncing after damage that began at gap_start, then within what the
// damaged bytes could have held) and a CRC over LSN and payload that matches.
bool RecordAt(std::string_view data, std::size_t pos, std::uint64_t last, bool resync,
              std::size_t gap_start, std::uint32_t* len, std::uint64_t* lsn, bool* group_end) {
  if (pos + kHeader > data.size()) return false;
  std::uint32_t crc = 0;
  std::memcpy(len, data.data() + pos, 4);
  std::memcpy(&crc, data.data() + pos + 4, 4);
  std::memcpy(lsn, data.data() + pos + 8, 8);
  *group_end = (*len & kGroupEnd) != 0;
  *len &= ~kGroupEnd;
  if (*len > kMaxRecord || *len > data.size() - pos - kHeader) return false;
  if (last != 0 && !resync && *lsn != last + 1) return false;
  // (A record right at gap_start with a later LSN follows a gap an earlier open repaired.)
  if (resync &&
      (*lsn <= last || (pos > gap_start && *lsn > last + 1 + (pos - gap_start) / kHeader))) {
    return false;
  }
  return Crc(*lsn, data.substr(pos + kHeader, *len)) == crc;
}

// Scans a segment's bytes. Past damaged bytes it finds the next intact record (its LSN
// follows, its CRC matches, and the record after it is intact too or the segment ends), so
// damage in a group that was on disk whole costs only the records it touched. Damage in the
// last write group is a torn write (a crash before its fdatasync, which may leave holes): the
// segment is cut there, because records after a hole were never acknowledged and replaying
// them would tell their agent to skip the hole's events. Then calls fn for each record kept.
ScanResult ScanBuffer(std::string_view data, std::uint64_t* last_lsn, bool sealed,
                      const std::function<void(std::uint64_t, std::string_view)>& fn) {
  ScanResult r;
  r.size = data.size();
  std::size_t pos = 0;
  std::uint32_t len = 0;
  std::uint64_t lsn = 0, last = *last_lsn;
  bool group_end = false;
  auto confirmed = [&](std::size_t at, std::uint32_t n, std::uint64_t l) {
    const std::size_t after = at + kHeader + n;
    std::uint32_t len2 = 0;
    std::uint64_t lsn2 = 0;
    bool ge2 = false;
    return after == data.size() || RecordAt(data, after, l, false, after, &len2, &lsn2, &ge2);
  };
  while (pos + kHeader <= data.size()) {
    if (!RecordAt(data, pos, last, false, pos, &len, &lsn, &group_end)) {
      std::size_t next = pos;
      while (next + kHeader <= data.size() &&
             !(RecordAt(data, next, last, true, pos, &len, &lsn, &group_end) &&
               confirmed(next, len, lsn))) {
        ++next;
      }
      if (next + kHeader > data.size()) break;  // nothing intact after: a torn tail
      // An intact record right here with a later LSN is a gap an earlier open repaired.
      if (next != pos) r.gaps.push_back({pos, next, last + 1, lsn - 1});
      pos = next;
    }
    r.records.push_back({pos, kHeader + len, lsn, group_end});
    last = lsn;
    pos += kHeader + len;
  }
  // Groups known whole: up to the last group end that has an intact record after it; all of
  // a sealed segment (one a later segment follows: it was closed after a successful sync). An
  // unsealed segment without group marks (written before they existed) proves nothing.
  std::uint64_t proven_end = sealed ? data.size() : 0;
  for (std::size_t i = 0; !sealed && i + 1 < r.records.size(); ++i) {
    if (r.records[i].group_end) proven_end = r.records[i].offset + r.records[i].size;
  }
  for (std::size_t g = 0; g < r.gaps.size(); ++g) {
    if (r.gaps[g].from < proven_end) continue;
    // Damage in the unproven last group: cut the segment at it.
    const std::uint64_t cut = r.gaps[g].from;
    while (!r.records.empty() && r.records.back().offset >= cut) r.records.pop_back();
    r.gaps.resize(g);
    break;
  }
  for (const auto& rec : r.records) {
    if (fn) fn(rec.lsn, data.substr(rec.offset + kHeader, rec.size - kHeader));
  }
  if (!r.records.empty()) {
    *last_lsn = r.records.back().lsn;
    r.good_end = r.records.back().offset + r.records.back().size;
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

ScanResult Scan(const std::string& path, std::uint64_t* last_lsn, bool sealed,
                const std::function<void(std::uint64_t, std::string_view)>& fn) {
  std::string data;
  if (!ReadFile(path, &data)) return {};
  return ScanBuffer(data, last_lsn, sealed, fn);
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
    const bool sealed = &s != &segments_.back();
    const ScanResult scan = Scan(s.path, &seg_last, sealed, nullptr);
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
      for (const auto& rec : scan.records) clean.append(data, rec.offset, rec.size);
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
      FsyncDir(opt_.dir);
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
    if (fd_ >= 0) {
      segments_.push_back(s);
      FsyncDir(opt_.dir);
    }
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
    Scan(s.path, &seg_last, /*sealed=*/true, [&](std::uint64_t lsn, std::string_view rec) {
      if (lsn > after_lsn) fn(lsn, rec);
    });
  }
  return true;
}

void Wal::Start() {
  std::lock_guard lock(mu_);
  stopping_ = false;
  if (!flusher_.joinable()) {
    flusher_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "ccmon-wal");  // names in top -H
      FlushLoop();
    });
  }
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

bool Wal::backpressured() const {
  std::lock_guard lock(mu_);
  return pending_.size() >= opt_.max_pending_bytes;
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

void Wal::Listen(DurableListener* listener) {
  std::lock_guard lock(listeners_mu_);
  listeners_.push_back(listener);
}

void Wal::Unlisten(DurableListener* listener) {
  std::lock_guard lock(listeners_mu_);
  std::erase(listeners_, listener);
}

void Wal::TellListeners(std::uint64_t lsn) {
  std::lock_guard lock(listeners_mu_);
  for (DurableListener* l : listeners_) {
    // Only those waiting for what is durable now: a stream with nothing to ack costs a load.
    if (const std::uint64_t awaited = l->Awaited(); awaited != 0 && awaited <= lsn) {
      l->OnDurable(lsn);
    }
  }
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
  if (::fdatasync(fd_) == 0) return true;
  // Not durable: cut it, so the retry writes these records once, not after a copy of them.
  const int saved = errno;
  if (::ftruncate(fd_, static_cast<off_t>(segments_.back().bytes)) != 0) {
    // The next recovery sees the copy as damage in the last group and cuts it.
  }
  errno = saved;
  return false;
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
    bool written = false;
    {
      std::lock_guard flock(file_mu_);
      // Records a checkpoint took over while the files were lost are not written again.
      TrimThrough(&buf, recreated_through_);
      if (buf.empty()) {
        ok = true;
      } else if (lost_) {
        ok = false;  // nothing written now would be durable
      } else {
        MarkGroupEnd(&buf, true);
        write_started_ms_ =
            std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
        ok = WriteAll(buf);
        write_started_ms_ = 0;
        written = ok;
        struct stat st {};
        if (ok && ::fstat(fd_, &st) == 0 && st.st_nlink == 0) {
          // Synced into a file nobody can open again: the directory is gone.
          ok = false;
          lost_ = true;
          ++files_lost_;
          last_error_ = "WAL segment " + segments_.back().path +
                        " was deleted while written (data directory removed?)";
        }
        if (!ok) MarkGroupEnd(&buf, false);
      }
      if (ok && written) {
        Segment& seg = segments_.back();
        seg.bytes += buf.size();
        seg.last_lsn = buf_last;
        if (healthy_) {
          last_error_.clear();
        }
        healthy_ = true;
        if (seg.bytes >= opt_.segment_bytes) OpenSegment(buf_last + 1, true, nullptr);
      } else if (!ok) {
        healthy_ = false;
        if (!lost_) {
          ++write_errors_;
          last_error_ = ErrnoText("WAL write to " + segments_.back().path + " failed");
        }
      }
    }
    std::unique_lock lock(mu_);
    if (ok) {
      durable_lsn_ = std::max(durable_lsn_.load(), buf_last);
      const std::uint64_t durable = durable_lsn_;
      lock.unlock();
      durable_cv_.notify_all();
      TellListeners(durable);
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

// Marks (or unmarks, when the write failed and the records go back to the buffer) the last
// record of buf as the end of a write group.
void Wal::MarkGroupEnd(std::string* buf, bool on) {
  std::size_t pos = 0, last = std::string::npos;
  while (pos + kHeader <= buf->size()) {
    std::uint32_t len = 0;
    std::memcpy(&len, buf->data() + pos, 4);
    last = pos;
    pos += kHeader + (len & ~kGroupEnd);
  }
  if (last == std::string::npos) return;
  std::uint32_t len = 0;
  std::memcpy(&len, buf->data() + last, 4);
  len = on ? (len | kGroupEnd) : (len & ~kGroupEnd);
  std::memcpy(buf->data() + last, &len, 4);
}

// Drops the records with LSN <= lsn from the front of buf.
void Wal::TrimThrough(std::string* buf, std::uint64_t lsn) {
  if (lsn == 0) return;
  std::size_t cut = 0;
  while (cut + kHeader <= buf->size()) {
    std::uint32_t len = 0;
    std::uint64_t rec_lsn = 0;
    std::memcpy(&len, buf->data() + cut, 4);
    std::memcpy(&rec_lsn, buf->data() + cut + 8, 8);
    if (rec_lsn > lsn) break;
    cut += kHeader + (len & ~kGroupEnd);
  }
  buf->erase(0, cut);
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
  // A flusher stuck on a hung disk holds file_mu_: then this check cannot be made now, and
  // its caller must not hang with it.
  std::unique_lock flock(file_mu_, std::chrono::milliseconds(200));
  if (!flock.owns_lock()) return !lost_;
  if (lost_ || segments_.empty() || fd_ < 0) return !lost_;
  struct stat open_st {
  }, path_st{};
  if (::fstat(fd_, &open_st) != 0) return true;
  if (::stat(segments_.back().path.c_str(), &path_st) != 0) {
    if (errno != ENOENT) return true;  // an I/O error is the writes' business, not a loss
  } else if (open_st.st_dev == path_st.st_dev && open_st.st_ino == path_st.st_ino) {
    return true;
  }
  lost_ = true;
  ++files_lost_;
  healthy_ = false;
  last_error_ = "WAL segment " + segments_.back().path +
                " is gone from disk (data directory deleted or replaced?); nothing is durable "
                "until a checkpoint is written again";
  return false;
}

bool Wal::Recreate(std::uint64_t lsn, std::string* error) {
  std::uint64_t durable = 0;
  {
    std::lock_guard lock(mu_);
    if (!RecreateLocked(lsn, error)) return false;
    durable = durable_lsn_;
  }
  TellListeners(durable);
  return true;
}

bool Wal::RecreateLocked(std::uint64_t lsn, std::string* error) {
  std::lock_guard flock(file_mu_);
  // Drop buffered records the checkpoint holds; keep later ones for the new segment.
  TrimThrough(&pending_, lsn);
  recreated_through_ = std::max(recreated_through_, lsn);
  std::error_code ec;
  fs::create_directories(opt_.dir, ec);
  FsyncDir(fs::path(opt_.dir).parent_path().string());
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  segments_.clear();
  if (!OpenSegment(lsn + 1, true, error)) return false;
  durable_lsn_ = std::max(durable_lsn_.load(), lsn);
  lost_ = false;
  healthy_ = true;
  last_error_.clear();
  durable_cv_.notify_all();
  cv_.notify_all();
  return true;
}

WalStats Wal::stats() const {
  WalStats s;
  // The flusher holds file_mu_ across write and fdatasync: on a hung disk that is forever,
  // and health and /metrics must still answer. Then the last figures are given, and a write
  // stuck for more than 5 s makes the WAL unhealthy.
  // Locks: file_mu_ then stats_mu_, each released before mu_ is taken (Recreate holds mu_
  // while it waits for file_mu_).
  std::unique_lock flock(file_mu_, std::try_to_lock);
  if (!flock.owns_lock()) flock.try_lock_for(std::chrono::milliseconds(200));
  std::unique_lock slock(stats_mu_);
  if (flock.owns_lock()) {
    WalStats& c = cached_;
    c = WalStats{};
    for (const auto& seg : segments_) c.bytes += seg.bytes;
    c.segments = segments_.size();
    c.write_errors = write_errors_;
    c.torn_bytes_cut = torn_cut_;
    c.damaged_bytes_skipped = skipped_bytes_;
    c.damaged_records_lost = skipped_records_;
    c.files_lost = files_lost_;
    c.healthy = healthy_ && !lost_;
    c.last_error = last_error_;
    flock.unlock();
  }
  s = cached_;
  slock.unlock();
  const std::int64_t started = write_started_ms_.load();
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now().time_since_epoch())
                                  .count();
  if (started != 0 && now_ms - started > opt_.hung_after.count()) {
    s.healthy = false;
    s.last_error = "a WAL write has not returned for " + std::to_string((now_ms - started) / 1000) +
                   " s (disk hung?)";
  }
  std::lock_guard lock(mu_);
  s.last_lsn = last_lsn_.load();
  s.durable_lsn = durable_lsn_;
  return s;
}

namespace {
void PutStr(std::string* out, std::string_view s) {
  const auto n = static_cast<std::uint16_t>(s.size());
  out->append(reinterpret_cast<const char*>(&n), 2);
  out->append(s.substr(0, n));
}
bool GetStr(std::string_view* in, std::string_view* s) {
  std::uint16_t n = 0;
  if (in->size() < 2) return false;
  std::memcpy(&n, in->data(), 2);
  in->remove_prefix(2);
  if (in->size() < n) return false;
  *s = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}
}  // namespace

void EncodeWalRecord(std::string_view site, std::string_view instance, std::string_view batch_bytes,
                     std::string* out) {
  out->clear();
  out->reserve(8 + site.size() + instance.size() + batch_bytes.size());
  PutStr(out, site);
  PutStr(out, instance);
  out->append(batch_bytes);
}

bool DecodeWalRecord(std::string_view record, std::string_view* site, std::string_view* instance,
                     std::string_view* batch) {
  if (!GetStr(&record, site) || !GetStr(&record, instance)) return false;
  *batch = record;
  return true;
}

std::uint32_t Wal::Frame(std::string_view site, std::string_view instance, std::string_view batch,
                         std::string* record) const {
  EncodeWalRecord(site, instance, batch, record);
  return RecordCrc(*record);
}

}  // namespace ccmon::collector
