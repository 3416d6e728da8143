#include "ccmon/agent/spool.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace ccmon::agent {

namespace fs = std::filesystem;

namespace {

constexpr char kEvent = 'E';
constexpr char kCommit = 'C';
constexpr std::uint32_t kMaxRecord = 64U << 20;

std::array<std::uint32_t, 256> MakeCrcTable() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
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
  static const auto table = MakeCrcTable();
  std::uint32_t c = 0xFFFFFFFFU;
  for (unsigned char ch : data) c = table[(c ^ ch) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFU;
}

Spool::~Spool() {
  if (out_ != nullptr) std::fclose(out_);
}

bool Spool::Open(const SpoolOptions& options, std::string* error) {
  opt_ = options;
  std::error_code ec;
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
    const std::string tmp = id_path + ".tmp";
    std::ofstream out(tmp);
    out << instance_id_ << "\n";
    out.close();
    if (!out || std::rename(tmp.c_str(), id_path.c_str()) != 0) {
      *error = Errno("cannot write", id_path);
      return false;
    }
  }
  return Recover(error);
}

bool Spool::ScanSegment(Segment& seg, bool last, std::string* error) {
  std::FILE* f = std::fopen(seg.path.c_str(), "rb");
  if (f == nullptr) {
    *error = Errno("cannot open", seg.path);
    return false;
  }
  std::string body;
  bool corrupt = false;
  long good_end = 0;  // end of the last commit record
  // Sequence numbers are written gap-free and increasing within a segment; a commit names the
  // last event of its chunk. Anything else is corruption, even with a valid CRC.
  std::uint64_t prev = seg.first_seq - 1;
  std::uint64_t committed = prev;
  std::map<std::string, std::string, std::less<>> cursors;
  while (ReadRecord(f, &body, &corrupt)) {
    Parsed p;
    if (!ParseBody(body, &p)) {
      corrupt = true;
      break;
    }
    if (p.type == kEvent) {
      if (p.seq != prev + 1) {
        corrupt = true;
        break;
      }
      prev = p.seq;
    } else {
      if (p.seq != prev) {
        corrupt = true;
        break;
      }
      cursors[std::string(p.a)] = std::string(p.b);
      committed = prev;
      if (committed >= seg.first_seq) seg.last_seq = committed;
      good_end = std::ftell(f);
    }
  }
  committed_seq_ = std::max(committed_seq_, committed);
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fclose(f);
  for (auto& [k, v] : cursors) cursors_[k] = v;
  if (size != good_end) {
    // A torn record (kill -9 mid-write) or events of an uncommitted chunk: cut them, so the
    // source re-reads that input and spools it once.
    torn_cut_ += static_cast<std::uint64_t>(size - good_end);
    if (::truncate(seg.path.c_str(), good_end) != 0) {
      *error = Errno("cannot truncate torn tail of", seg.path);
      return false;
    }
    (void)last;
    (void)corrupt;
  }
  seg.bytes = static_cast<std::uint64_t>(good_end);
  return true;
}

bool Spool::Recover(std::string* error) {
  segments_.clear();
  cursors_.clear();
  for (const auto& entry : fs::directory_iterator(opt_.dir)) {
    const std::string name = entry.path().filename().string();
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
  out_ = std::fopen(segments_.back().path.c_str(), "ab");
  if (out_ == nullptr) {
    *error = Errno("cannot open for append", segments_.back().path);
    return false;
  }
  return true;
}

bool Spool::WriteRecord(char type, std::uint64_t seq, std::string_view a, std::string_view b,
                        std::string* error) {
  std::string body;
  body.reserve(13 + a.size() + b.size());
  body.push_back(type);
  body.append(reinterpret_cast<const char*>(&seq), 8);
  const auto alen = static_cast<std::uint32_t>(a.size());
  body.append(reinterpret_cast<const char*>(&alen), 4);
  body.append(a);
  body.append(b);
  const std::uint32_t hdr[2] = {static_cast<std::uint32_t>(body.size()), Crc32(body)};
  if (std::fwrite(hdr, 1, sizeof hdr, out_) != sizeof hdr ||
      std::fwrite(body.data(), 1, body.size(), out_) != body.size()) {
    *error = Errno("cannot write spool segment", segments_.back().path);
    return false;
  }
  const std::uint64_t n = sizeof hdr + body.size();
  segments_.back().bytes += n;
  pending_bytes_ += n;
  return true;
}

bool Spool::Full() const {
  return opt_.overflow == OverflowPolicy::kBlock && stats().bytes >= opt_.max_bytes;
}

bool Spool::Append(std::string_view payload, std::string* error) {
  if (opt_.overflow == OverflowPolicy::kDropOldest) {
    while (stats().bytes >= opt_.max_bytes && segments_.size() > 1) DropOldest();
  }
  if (!WriteRecord(kEvent, next_seq_, payload, {}, error)) return false;
  ++next_seq_;
  return true;
}

bool Spool::Commit(std::string_view source, std::string_view cursor, std::string* error) {
  const std::uint64_t last = next_seq_ - 1;
  if (!WriteRecord(kCommit, last, source, cursor, error)) return false;
  if (std::fflush(out_) != 0 || (opt_.fsync_on_commit && ::fdatasync(::fileno(out_)) != 0)) {
    *error = Errno("cannot flush spool segment", segments_.back().path);
    return false;
  }
  cursors_[std::string(source)] = std::string(cursor);
  if (last > committed_seq_) {
    committed_seq_ = last;
    segments_.back().last_seq = last;
  }
  pending_bytes_ = 0;
  if (segments_.back().bytes >= opt_.segment_bytes) return Roll(error);
  return true;
}

bool Spool::Roll(std::string* error) {
  std::fclose(out_);
  Segment s;
  s.first_seq = next_seq_;
  s.path = opt_.dir + "/" + SegmentName(next_seq_);
  segments_.push_back(s);
  out_ = std::fopen(s.path.c_str(), "ab");
  if (out_ == nullptr) {
    *error = Errno("cannot create", s.path);
    return false;
  }
  // Every cursor is repeated at the head of the new segment, so older segments can go.
  for (const auto& [src, cur] : cursors_) {
    if (!WriteRecord(kCommit, committed_seq_, src, cur, error)) return false;
  }
  if (std::fflush(out_) != 0) {
    *error = Errno("cannot flush", s.path);
    return false;
  }
  pending_bytes_ = 0;
  return true;
}

std::string Spool::Cursor(std::string_view source) const {
  auto it = cursors_.find(source);
  return it == cursors_.end() ? std::string() : it->second;
}

std::vector<SpoolRecord> Spool::Read(std::uint64_t after_seq, std::size_t max) {
  std::vector<SpoolRecord> out;
  std::string body;
  for (const Segment& seg : segments_) {
    if (out.size() >= max) break;
    if (seg.last_seq != 0 && seg.last_seq <= after_seq) continue;
    if (seg.first_seq > committed_seq_) break;
    std::FILE* f = std::fopen(seg.path.c_str(), "rb");
    if (f == nullptr) continue;
    if (after_seq == hint_seq_ && seg.path == hint_path_) std::fseek(f, hint_offset_, SEEK_SET);
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
      hint_path_ = seg.path;
      hint_offset_ = end;
      hint_seq_ = out.back().seq;
    }
    std::fclose(f);
  }
  return out;
}

void Spool::SkipTo(std::uint64_t seq) {
  if (seq < next_seq_) return;
  next_seq_ = seq + 1;
  committed_seq_ = seq;
  acked_seq_ = seq;
}

void Spool::Ack(std::uint64_t seq) {
  acked_seq_ = std::max(acked_seq_, std::min(seq, committed_seq_));
  while (segments_.size() > 1) {
    const Segment& s = segments_.front();
    const std::uint64_t next_first = segments_[1].first_seq;
    if (next_first - 1 > acked_seq_) break;
    std::error_code ec;
    fs::remove(s.path, ec);
    segments_.erase(segments_.begin());
  }
}

void Spool::DropOldest() {
  const Segment& s = segments_.front();
  const std::uint64_t last = segments_[1].first_seq - 1;
  const std::uint64_t first_unacked = std::max(s.first_seq, acked_seq_ + 1);
  if (last >= first_unacked) dropped_ += last - first_unacked + 1;
  acked_seq_ = std::max(acked_seq_, last);
  std::error_code ec;
  fs::remove(s.path, ec);
  segments_.erase(segments_.begin());
}

SpoolStats Spool::stats() const {
  SpoolStats st;
  for (const auto& s : segments_) st.bytes += s.bytes;
  st.committed_seq = committed_seq_;
  st.acked_seq = acked_seq_;
  st.dropped_events = dropped_;
  st.torn_bytes_cut = torn_cut_;
  st.segments = segments_.size();
  return st;
}

}  // namespace ccmon::agent
