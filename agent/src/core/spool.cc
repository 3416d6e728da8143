#include "ccmon/agent/spool.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <utility>

namespace ccmon::agent {

namespace fs = std::filesystem;

namespace {

constexpr char kEvent = 'E';
constexpr char kCommit = 'C';
constexpr std::uint32_t kMaxRecord = 64U << 20;

// fsync of a directory, so that the names created, renamed or removed in it survive a power
// cut. A filesystem that cannot sync directories (EINVAL: some network and FUSE ones) is
// taken as done, as it has nothing more to give.
bool SyncDirectory(const std::string& dir) {
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return false;
  const bool synced = ::fsync(dfd) == 0 || errno == EINVAL;
  const int saved = errno;
  ::close(dfd);
  errno = saved;
  return synced;
}

// Writes `bytes` as `path`, whole or not at all: under a temporary name, fdatasynced, then
// renamed over it (the directory is synced by the caller). False with errno set on failure.
bool ReplaceWhole(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  const bool written = f != nullptr &&
                       std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() &&
                       std::fflush(f) == 0 && ::fdatasync(::fileno(f)) == 0;
  const int saved = errno;
  if (f != nullptr) std::fclose(f);
  errno = saved;
  return written && std::rename(tmp.c_str(), path.c_str()) == 0;
}

std::string SegmentName(std::uint64_t first_seq) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "seg-%020llu.log", static_cast<unsigned long long>(first_seq));
  return buf;
}

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

struct Parsed {
  char type = 0;
  std::uint64_t seq = 0;
  std::string_view a, b;
};

// Parses a record body: type, seq, len(a), a, b.
bool ParseBody(std::string_view body, Parsed* p) {
  if (body.size() < 1 + 8 + 4) return false;
  p->type = body[0];
  std::memcpy(&p->seq, body.data() + 1, 8);
  std::uint32_t alen = 0;
  std::memcpy(&alen, body.data() + 9, 4);
  if (body.size() < 13 + std::size_t{alen}) return false;
  p->a = body.substr(13, alen);
  p->b = body.substr(13 + alen);
  return p->type == kEvent || p->type == kCommit;
}

// Reads the next record from f into *body. Returns false at end of file or on a torn or
// corrupt record (then *corrupt says which).
bool ReadRecord(std::FILE* f, std::string* body, bool* corrupt) {
  *corrupt = false;
  std::uint32_t hdr[2];
  const std::size_t n = std::fread(hdr, 1, sizeof hdr, f);
  if (n == 0) return false;
  if (n != sizeof hdr || hdr[0] > kMaxRecord) {
    *corrupt = true;
    return false;
  }
  body->resize(hdr[0]);
  if (std::fread(body->data(), 1, hdr[0], f) != hdr[0] || Crc32(*body) != hdr[1]) {
    *corrupt = true;
    return false;
  }
  return true;
}

}  // namespace

std::uint32_t Crc32(std::string_view data) {
  // zlib's CRC-32 (IEEE 802.3, the spool's format since its first version), a word at a time.
  std::uint32_t c = 0;
  while (!data.empty()) {
    const auto n = static_cast<uInt>(std::min<std::size_t>(data.size(), 1U << 30));
    c = static_cast<std::uint32_t>(crc32(c, reinterpret_cast<const Bytef*>(data.data()), n));
    data.remove_prefix(n);
  }
  return c;
}

Spool::~Spool() {
  if (out_ != nullptr) std::fclose(out_);
}

bool Spool::Open(const SpoolOptions& options, std::string* error) {
  opt_ = options;
  // The bound is enforced a segment at a time (drop_oldest drops one, acks free one): keep
  // segments a small part of it.
  opt_.segment_bytes = std::min(
      opt_.segment_bytes, std::max<std::uint64_t>(opt_.max_bytes / 8, std::uint64_t{16} << 10));
  // The directories whose names must be on disk for this one to be found after a power cut:
  // its parent's, and the parents of those create_directories makes now.
  fs::path dir = fs::path(opt_.dir).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "spool/" names "spool"
  auto parent_of = [](const fs::path& p) {
    return p.has_parent_path() ? p.parent_path().string() : std::string(".");
  };
  std::vector<std::string> holders = {parent_of(dir)};
  std::error_code ec;
  for (fs::path p = dir.parent_path(); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    holders.push_back(parent_of(p));
  }
  fs::create_directories(opt_.dir, ec);
  if (ec) {
    *error = "cannot create spool directory " + opt_.dir + ": " + ec.message();
    return false;
  }
  const std::string id_path = opt_.dir + "/instance";
  {
    std::ifstream in(id_path);
    std::getline(in, instance_id_);
  }
  if (instance_id_.empty()) {
    std::random_device rd;
    std::mt19937_64 gen((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
    char buf[40];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(gen()),
                  static_cast<unsigned long long>(gen()));
    instance_id_ = buf;
    // On disk before any event goes out under it: an id lost to a power cut would make the
    // collector take this spool's numbers for a new instance's and count them again.
    // Written once per spool, so synced whatever fsync_on_commit says.
    if (!ReplaceWhole(id_path, instance_id_ + "\n")) {
      *error = Errno("cannot write", id_path);
      return false;
    }
  }
  if (!Recover(error)) return false;
  // Once per start, whatever fsync_on_commit says: what this run made (the directory, the
  // instance file, a repaired segment, the first segment) or the last run made and was
  // killed before syncing is on disk before anything is committed under this id.
  if (!SyncPath(opt_.dir)) {
    *error = Errno("cannot sync the spool directory", opt_.dir);
    return false;
  }
  for (const std::string& holder : holders) {
    if (!SyncPath(holder)) {
      *error = Errno("cannot sync the directory holding", opt_.dir);
      return false;
    }
  }
  return true;
}

namespace {

constexpr std::size_t kRecordHeader = 8;  // u32 body length, u32 CRC
constexpr std::size_t kMinRecord = kRecordHeader + 13;

// Whether an intact record starts at pos: a sane length, a known type, a sequence number that
// fits (strictly: the next event, or the commit of the last one; resyncing after damage that
// began at gap_start: any later number the damaged bytes could have held) and a matching CRC.
bool RecordAt(std::string_view data, std::size_t pos, std::uint64_t prev, bool resync,
              std::size_t gap_start, Parsed* p, std::size_t* size) {
  if (pos + kMinRecord > data.size()) return false;
  std::uint32_t len = 0, crc = 0;
  std::memcpy(&len, data.data() + pos, 4);
  std::memcpy(&crc, data.data() + pos + 4, 4);
  if (len < 13 || len > kMaxRecord || len > data.size() - pos - kRecordHeader) return false;
  const std::string_view body = data.substr(pos + kRecordHeader, len);
  if (body[0] != kEvent && body[0] != kCommit) return false;
  std::uint64_t seq = 0;
  std::memcpy(&seq, body.data() + 1, 8);
  if (!resync) {
    if (seq != (body[0] == kEvent ? prev + 1 : prev)) return false;
  } else if (seq < prev || (body[0] == kEvent && seq == prev) || seq >= (std::uint64_t{1} << 62) ||
             (pos > gap_start && seq > prev + 1 + (pos - gap_start) / kMinRecord)) {
    return false;
  }
  if (Crc32(body) != crc || !ParseBody(body, p)) return false;
  *size = kRecordHeader + len;
  return true;
}

}  // namespace

bool Spool::ScanSegment(Segment& seg, bool last, std::string* error) {
  std::string data;
  {
    std::ifstream in(seg.path, std::ios::binary);
    if (!in) {
      *error = Errno("cannot open", seg.path);
      return false;
    }
    data.assign(std::istreambuf_iterator<char>(in), {});
  }
  // Sequence numbers are written gap-free and increasing within a segment; a commit names the
  // last event of its chunk. Damaged bytes between intact records are skipped: only the
  // events they held are lost (counted as dropped), never the committed chunks after them.
  std::uint64_t prev = seg.first_seq - 1;
  std::uint64_t committed = prev;
  std::map<std::string, std::string, std::less<>> cursors;
  std::vector<std::pair<std::size_t, std::size_t>> records;  // intact: offset, size
  std::size_t committed_records = 0;
  std::size_t good_end = 0;  // end of the last commit record
  std::size_t pos = 0;
  std::uint64_t lost = 0, pending_lost = 0;  // pending: in gaps not yet followed by a commit
  std::string report, pending_report;
  Parsed p;
  std::size_t size = 0;
  while (pos + kRecordHeader <= data.size()) {
    if (!RecordAt(data, pos, prev, false, pos, &p, &size)) {
      std::size_t next = pos;
      while (next + kMinRecord <= data.size() &&
             !RecordAt(data, next, prev, true, pos, &p, &size)) {
        ++next;
      }
      if (next + kMinRecord > data.size()) break;  // nothing intact after: a torn tail
      if (next != pos) {
        const std::uint64_t first_lost = prev + 1;
        const std::uint64_t last_lost = p.type == kEvent ? p.seq - 1 : p.seq;
        pending_lost += last_lost >= first_lost ? last_lost - first_lost + 1 : 0;
        pending_report += seg.path + ": skipped " + std::to_string(next - pos) +
                          " damaged bytes at offsets " + std::to_string(pos) + "-" +
                          std::to_string(next) + " (events " + std::to_string(first_lost) + "-" +
                          std::to_string(last_lost) + " lost; the records after them kept)\n";
      }
      pos = next;
    }
    records.emplace_back(pos, size);
    pos += size;
    prev = p.seq;
    if (p.type == kCommit) {
      cursors[std::string(p.a)] = std::string(p.b);
      committed = prev;
      if (committed >= seg.first_seq) seg.last_seq = committed;
      good_end = pos;
      committed_records = records.size();
      lost += std::exchange(pending_lost, 0);
      report += std::exchange(pending_report, {});
    }
  }
  if (!last && records.size() > committed_records) {
    // A later segment exists, so this one's last chunk was committed even if its commit
    // record is damaged: the next segment's head repeats every cursor.
    committed = prev;
    if (committed >= seg.first_seq) seg.last_seq = committed;
    good_end = records.back().first + records.back().second;
    committed_records = records.size();
    lost += pending_lost;
    report += pending_report;
  }
  committed_seq_ = std::max(committed_seq_, committed);
  for (auto& [k, v] : cursors) cursors_[k] = v;
  if (!report.empty()) {
    // Rewrite the segment with its intact committed records only, so reads go on plainly.
    std::string clean;
    for (std::size_t i = 0; i < committed_records; ++i) {
      clean.append(data, records[i].first, records[i].second);
    }
    if (!ReplaceWhole(seg.path, clean)) {
      *error = Errno("cannot replace damaged segment", seg.path);
      return false;
    }
    damaged_lost_ += lost;
    dropped_ += lost;
    recovery_report_ += report;
    torn_cut_ += data.size() - good_end;
    seg.bytes = clean.size();
    return true;
  }
  if (data.size() != good_end) {
    // A torn record (kill -9 mid-write) or events of an uncommitted chunk: cut them, so the
    // source re-reads that input and spools it once.
    torn_cut_ += data.size() - good_end;
    if (::truncate(seg.path.c_str(), static_cast<off_t>(good_end)) != 0) {
      *error = Errno("cannot truncate torn tail of", seg.path);
      return false;
    }
  }
  seg.bytes = good_end;
  return true;
}

bool Spool::Recover(std::string* error) {
  segments_.clear();
  cursors_.clear();
  for (const auto& entry : fs::directory_iterator(opt_.dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("seg-") && name.ends_with(".tmp")) {
      // A segment a roll (or a repair) did not finish: never part of the spool.
      std::error_code ec;
      fs::remove(entry.path(), ec);
      continue;
    }
    if (!name.starts_with("seg-") || !name.ends_with(".log")) continue;
    Segment s;
    s.path = entry.path().string();
    s.first_seq = std::strtoull(name.c_str() + 4, nullptr, 10);
    segments_.push_back(s);
  }
  std::sort(segments_.begin(), segments_.end(),
            [](const Segment& a, const Segment& b) { return a.first_seq < b.first_seq; });
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (!ScanSegment(segments_[i], i + 1 == segments_.size(), error)) return false;
  }
  next_seq_ = committed_seq_ + 1;
  acked_seq_ = segments_.empty() ? committed_seq_ : segments_.front().first_seq - 1;
  if (segments_.empty()) {
    Segment s;
    s.path = opt_.dir + "/" + SegmentName(next_seq_);
    s.first_seq = next_seq_;
    segments_.push_back(s);
  }
  return OpenForAppend(error);
}

bool Spool::SyncPath(const std::string& dir) const {
  return opt_.sync_dir ? opt_.sync_dir(dir) : SyncDirectory(dir);
}

bool Spool::SyncDirIfNeeded(std::string* error) {
  if (!dir_unsynced_) return true;
  if (!SyncPath(opt_.dir)) {
    *error = Errno("cannot sync the spool directory", opt_.dir);
    return false;
  }
  dir_unsynced_ = false;
  return true;
}

bool Spool::OpenForAppend(std::string* error) {
  out_ = std::fopen(segments_.back().path.c_str(), "ab");
  if (out_ == nullptr) {
    *error = Errno("cannot open for append", segments_.back().path);
    return false;
  }
  return true;
}

namespace {

// Appends the record to *out (the spool reuses one buffer: no allocation per event).
void EncodeRecord(char type, std::uint64_t seq, std::string_view a, std::string_view b,
                  std::string* out) {
  const std::size_t at = out->size();
  out->append(8, '\0');
  out->push_back(type);
  out->append(reinterpret_cast<const char*>(&seq), 8);
  const auto alen = static_cast<std::uint32_t>(a.size());
  out->append(reinterpret_cast<const char*>(&alen), 4);
  out->append(a);
  out->append(b);
  const std::string_view body = std::string_view(*out).substr(at + 8);
  const std::uint32_t hdr[2] = {static_cast<std::uint32_t>(body.size()), Crc32(body)};
  std::memcpy(out->data() + at, hdr, sizeof hdr);
}

}  // namespace

bool Spool::WriteRecord(char type, std::uint64_t seq, std::string_view a, std::string_view b,
                        std::string* error) {
  if (out_ == nullptr) {
    *error = "spool segment " + segments_.back().path + " is not open (an earlier write failed)";
    return false;
  }
  std::string& rec = record_;
  rec.clear();
  EncodeRecord(type, seq, a, b, &rec);
  if (std::fwrite(rec.data(), 1, rec.size(), out_) != rec.size()) {
    *error = Errno("cannot write spool segment", segments_.back().path);
    return false;
  }
  segments_.back().bytes += rec.size();
  pending_bytes_ += rec.size();
  return true;
}

bool Spool::Full() const {
  return opt_.overflow == OverflowPolicy::kBlock && stats().bytes >= opt_.max_bytes;
}

bool Spool::OverHeadroom() const {
  const std::uint64_t headroom = std::max<std::uint64_t>(opt_.max_bytes / 16, 64 << 10);
  return stats().bytes >= opt_.max_bytes + headroom;
}

bool Spool::Append(std::string_view payload, std::string* error) {
  if (opt_.overflow == OverflowPolicy::kDropOldest) {
    while (stats().bytes >= opt_.max_bytes && segments_.size() > 1 && DropOldest()) {
    }
  }
  if (!SkipOnDisk(error) || !WriteRecord(kEvent, next_seq_, payload, {}, error)) return false;
  ++next_seq_;
  ++pending_events_;
  return true;
}

bool Spool::Commit(std::string_view source, std::string_view cursor, std::string* error) {
  const std::uint64_t last = next_seq_ - 1;
  if (!SkipOnDisk(error) || !WriteRecord(kCommit, last, source, cursor, error)) return false;
  if (std::fflush(out_) != 0 || (opt_.fsync_on_commit && ::fdatasync(::fileno(out_)) != 0)) {
    *error = Errno("cannot flush spool segment", segments_.back().path);
    return false;
  }
  if (!SyncDirIfNeeded(error)) return false;
  cursors_[std::string(source)] = std::string(cursor);
  if (last > committed_seq_) {
    committed_seq_ = last;
    segments_.back().last_seq = last;
  }
  pending_bytes_ = 0;
  pending_events_ = 0;
  if (segments_.back().bytes >= opt_.segment_bytes) {
    std::string e;
    Roll(&e);  // the chunk is committed either way; the next commit tries again
  }
  return true;
}

bool Spool::Rollback(std::string* error) {
  next_seq_ -= pending_events_;
  pending_events_ = 0;
  if (out_ != nullptr) std::fclose(out_);  // whatever it flushes now is cut below
  out_ = nullptr;
  Segment& seg = segments_.back();
  seg.bytes -= std::min(seg.bytes, pending_bytes_);
  pending_bytes_ = 0;
  // A segment left empty stays: its name alone carries its first number (a skip's, or a
  // roll's with no cursor to head it), and a segment that exists is whole (Roll).
  if (::truncate(seg.path.c_str(), static_cast<off_t>(seg.bytes)) != 0) {
    *error = Errno("cannot cut the failed chunk from", seg.path);
    return false;
  }
  return OpenForAppend(error);
}

// Starts a new segment headed by every cursor, so older segments can go. All or nothing: a
// segment that cannot be created and written whole is removed and the current one stays.
bool Spool::Roll(std::string* error) {
  // A segment holding no event yet already starts at next_seq_: it is the one Roll would
  // create (same name), and rolling again would truncate it.
  if (segments_.back().first_seq == next_seq_) return true;
  Segment s;
  s.first_seq = next_seq_;
  s.path = opt_.dir + "/" + SegmentName(next_seq_);
  std::string head;
  for (const auto& [src, cur] : cursors_) EncodeRecord(kCommit, committed_seq_, src, cur, &head);
  // Written under a temporary name and renamed once its head is on disk: a segment file that
  // exists is whole (recovery takes the last one for the segment being written, and a
  // segment's name is its first sequence number).
  const std::string tmp = s.path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    *error = Errno("cannot create", tmp);
    return false;
  }
  auto fail = [&](const std::string& what, const std::string& path) {
    *error = Errno(what, path);
    std::fclose(f);
    std::error_code ec;
    fs::remove(tmp, ec);
    return false;
  };
  if (std::fwrite(head.data(), 1, head.size(), f) != head.size() || std::fflush(f) != 0 ||
      (opt_.fsync_on_commit && ::fdatasync(::fileno(f)) != 0)) {
    return fail("cannot write", tmp);
  }
  if (std::rename(tmp.c_str(), s.path.c_str()) != 0) {
    return fail("cannot rename " + tmp + " to", s.path);
  }
  // The new name survives a power cut once the directory is synced: before a skip goes on,
  // before an older segment is deleted, else by the commit of the first chunk written into it.
  dir_unsynced_ = opt_.fsync_on_commit;
  if (out_ != nullptr) std::fclose(out_);
  out_ = f;
  s.bytes = head.size();
  segments_.push_back(s);
  pending_bytes_ = 0;
  return true;
}

std::string Spool::Cursor(std::string_view source) const {
  auto it = cursors_.find(source);
  return it == cursors_.end() ? std::string() : it->second;
}

std::vector<SpoolRecord> Spool::Read(std::uint64_t after_seq, std::size_t max, std::size_t reader) {
  if (hints_.size() <= reader) hints_.resize(reader + 1);
  ReadHint& hint = hints_[reader];
  std::vector<SpoolRecord> out;
  std::string body;
  for (const Segment& seg : segments_) {
    if (out.size() >= max) break;
    if (seg.last_seq != 0 && seg.last_seq <= after_seq) continue;
    if (seg.first_seq > committed_seq_) break;
    std::FILE* f = std::fopen(seg.path.c_str(), "rb");
    if (f == nullptr) continue;
    if (after_seq == hint.seq && seg.path == hint.path) std::fseek(f, hint.offset, SEEK_SET);
    bool corrupt = false;
    long end = std::ftell(f);
    while (out.size() < max && ReadRecord(f, &body, &corrupt)) {
      Parsed p;
      if (!ParseBody(body, &p)) break;
      if (p.type == kEvent && p.seq > committed_seq_) break;
      end = std::ftell(f);
      if (p.type != kEvent || p.seq <= after_seq) continue;
      out.push_back(SpoolRecord{p.seq, std::string(p.a)});
    }
    if (!out.empty()) {
      hint.path = seg.path;
      hint.offset = end;
      hint.seq = out.back().seq;
    }
    std::fclose(f);
  }
  return out;
}

bool Spool::SkipOnDisk(std::string* error) {
  if (skip_on_disk_) return true;
  // Roll again finds the segment made by a try whose sync failed, and keeps it.
  if (!Roll(error) || !SyncDirIfNeeded(error)) return false;
  skip_on_disk_ = true;
  return true;
}

bool Spool::SkipTo(std::uint64_t seq, std::string* error) {
  if (seq < next_seq_) return true;
  next_seq_ = seq + 1;
  committed_seq_ = seq;
  // The jump goes on disk before any number after it is used: the numbers after it start a
  // segment named after its first one, which recovery resumes after even while it holds no
  // event. Otherwise a crash that lost the first chunk after the jump would number the source's
  // re-read input below the collector's number, and the collector would drop it as duplicates.
  // Until that segment is written, appends and commits are refused (as on a full disk).
  // What the spool may forget stays Ack's to say: another collector replica may still need
  // what this spool holds.
  skip_on_disk_ = false;
  return SkipOnDisk(error);
}

void Spool::Ack(std::uint64_t seq) {
  acked_seq_ = std::max(acked_seq_, std::min(seq, committed_seq_));
  // All acknowledged, nothing pending: a current segment of some size is rolled over so that
  // its bytes can go now, not when it fills (a full disk frees space this way).
  if (acked_seq_ >= committed_seq_ && pending_bytes_ == 0 &&
      segments_.back().bytes >= std::min<std::uint64_t>(opt_.segment_bytes, 64 << 10) &&
      segments_.back().bytes > 1024) {
    std::string e;
    Roll(&e);  // the next ack tries again; a disk refusing files fails the next commit too
  }
  while (segments_.size() > 1) {
    const std::uint64_t next_first = segments_[1].first_seq;
    if (next_first - 1 > acked_seq_ || !RemoveOldest()) break;
    segments_.erase(segments_.begin());
  }
}

bool Spool::RemoveOldest() {
  // Not before the newer segments' names are on disk: a power cut could otherwise keep the
  // deletion and lose the name, and the spool would come back without its numbering.
  std::string e;
  std::error_code ec;
  if (!SyncDirIfNeeded(&e)) {
    ++cleanup_failures_;
    cleanup_error_ = e;
    return false;
  }
  // A file already gone (removed by hand) is not an error: false with ec clear. One the disk
  // will not remove is left behind, said, and forgotten: kept, it would hold every later
  // segment and the spool's bound (reading would stop for good under `block`). Its events are
  // acknowledged or dropped; a restart reads it as the oldest segment again (and cannot start
  // if it cannot read it).
  if (!fs::remove(segments_.front().path, ec) && ec) {
    ++cleanup_failures_;
    cleanup_error_ = "cannot remove " + segments_.front().path + " (left on disk): " + ec.message();
  }
  return true;
}

bool Spool::DropOldest() {
  // As in Ack, the segment stays while the disk refuses; the spool stays over its bound.
  if (!RemoveOldest()) return false;
  const Segment& s = segments_.front();
  // Numbers between this segment's last event and the next segment's first were skipped,
  // never given to an event: they count as acknowledged, not as dropped.
  const std::uint64_t last = segments_[1].first_seq - 1;
  const std::uint64_t first_unacked = std::max(s.first_seq, acked_seq_ + 1);
  if (s.last_seq >= first_unacked) dropped_ += s.last_seq - first_unacked + 1;
  acked_seq_ = std::max(acked_seq_, last);
  segments_.erase(segments_.begin());
  return true;
}

SpoolStats Spool::stats() const {
  SpoolStats st;
  for (const auto& s : segments_) st.bytes += s.bytes;
  st.committed_seq = committed_seq_;
  st.acked_seq = acked_seq_;
  st.dropped_events = dropped_;
  st.torn_bytes_cut = torn_cut_;
  st.damaged_events_lost = damaged_lost_;
  st.segments = segments_.size();
  return st;
}

}  // namespace ccmon::agent
