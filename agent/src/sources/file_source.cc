#include "sources/file_source.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <tuple>
#include <utility>

#include "log.h"

namespace ccmon::agent {

namespace fs = std::filesystem;

namespace {

// Hex digits to bytes; empty for anything else (a damaged cursor: no check is made).
std::string Unhex(std::string_view hex) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  if (hex.size() % 2 != 0) return out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]);
    const int lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

// Whether `name` is `base` as logrotate names its rotations: the file itself, ".N" or a date
// ("-20261205"), then perhaps a compressor's extension (*compressed says which). A copy an
// administrator made (".bak") is not one.
bool RotationName(std::string_view base, std::string_view name, bool* compressed) {
  if (!name.starts_with(base)) return false;
  std::string_view suffix = name.substr(base.size());
  *compressed = false;
  for (std::string_view ext : {".gz", ".bz2", ".xz", ".zst", ".Z"}) {
    if (suffix.ends_with(ext)) {
      suffix.remove_suffix(ext.size());
      *compressed = true;
      break;
    }
  }
  return suffix.empty() || (suffix.size() >= 2 && (suffix[0] == '.' || suffix[0] == '-') &&
                            suffix.find_first_not_of("0123456789.-_", 1) == std::string_view::npos);
}

}  // namespace

FileSource::FileSource(std::string path) : path_(std::move(path)) {}

FileSource::~FileSource() {
  if (file_ != nullptr) std::fclose(file_);
}

bool FileSource::OpenCurrent(std::uint64_t offset, std::string* error) {
  if (file_ != nullptr) std::fclose(file_);
  if (stream_) {
    file_ = fdopen(dup(STDIN_FILENO), "rb");
    if (file_ != nullptr && !until_eof_) {
      fcntl(fileno(file_), F_SETFL, fcntl(fileno(file_), F_GETFL) | O_NONBLOCK);
    }
    offset_ = 0;
    return file_ != nullptr;
  }
  file_ = std::fopen(path_.c_str(), "rb");
  if (file_ == nullptr) {
    if (error != nullptr) *error = path_ + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  fstat(fileno(file_), &st);
  if (st.st_dev != dev_ || st.st_ino != ino_) {
    resume_after_ = 0;  // what is passed over, and the starts read, are of the file before
    new_starts_from_ = 0;
  }
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  if (offset > static_cast<std::uint64_t>(st.st_size)) offset = 0;  // truncated meanwhile
  offset_ = offset;
  // Writer starts before a position opened at were not read, but are not new either.
  if (offset_ > 0) {
    new_starts_from_ = std::max(new_starts_from_, offset_);
  }
  if (offset_ == 0) {
    skipping_ = false;
    tail_.clear();  // nothing of this file read yet
  }
  std::fseek(file_, static_cast<long>(offset_), SEEK_SET);
  partial_.clear();
  head_.clear();
  ReadHead();
  return true;
}

void FileSource::ReadHead() {
  if (file_ == nullptr || stream_ || head_.size() >= kHead) return;
  std::array<char, kHead> buf{};
  const ssize_t n = pread(fileno(file_), buf.data(), buf.size(), 0);
  if (n > static_cast<ssize_t>(head_.size())) head_.assign(buf.data(), static_cast<std::size_t>(n));
}

bool FileSource::StartsAsRead() const {
  if (head_.empty()) return false;
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::array<char, kHead> buf{};
  const ssize_t n = pread(fd, buf.data(), head_.size(), 0);
  ::close(fd);
  return n == static_cast<ssize_t>(head_.size()) &&
         std::string_view(buf.data(), head_.size()) == head_;
}

std::string FileSource::FindRotated(dev_t dev, ino_t ino) const {
  const fs::path dir =
      fs::path(path_).parent_path().empty() ? fs::path(".") : fs::path(path_).parent_path();
  const std::string base = fs::path(path_).filename().string();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name == base || !name.starts_with(base)) continue;
    struct stat st {};
    if (stat(e.path().c_str(), &st) == 0 && st.st_dev == dev && st.st_ino == ino) {
      return e.path().string();
    }
  }
  return {};
}

std::string FileSource::FindNext() const {
  struct stat done {};
  struct stat cur {};
  if (file_ == nullptr || fstat(fileno(file_), &done) != 0) return {};
  const bool have_current = stat(path_.c_str(), &cur) == 0;
  const fs::path dir =
      fs::path(path_).parent_path().empty() ? fs::path(".") : fs::path(path_).parent_path();
  const std::string base = fs::path(path_).filename().string();
  auto later = [](const timespec& a, const timespec& b) {
    return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
  };
  std::string next;  // the oldest rotated file so far
  timespec next_mtime{};
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    bool compressed = false;
    if (!RotationName(base, name, &compressed)) continue;
    struct stat st {};
    if (stat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (st.st_dev == done.st_dev && st.st_ino == done.st_ino) continue;
    // The current file comes after every rotated one, whatever its time (an empty new file
    // is older than the last lines Asterisk wrote to the renamed one before reopening).
    if (have_current && st.st_dev == cur.st_dev && st.st_ino == cur.st_ino) continue;
    if (later(done.st_mtim, st.st_mtim)) continue;  // rotated before the file just finished
    // Compressed files cannot be read (delaycompress keeps the last rotation plain), nor one
    // finished since the current file was last followed (two with one time would take turns).
    if (finished_.count({st.st_dev, st.st_ino}) != 0) continue;
    if (compressed) {
      Log()->info("{}: {} is compressed and is not read (use delaycompress)", path_,
                  e.path().string());
      continue;
    }
    // A file whose lines start before those just read is older, whatever its time says (a
    // copy restored without its times, an old file rewritten to scrub it).
    if (last_line_time_ > 0) {
      std::FILE* f = std::fopen(e.path().c_str(), "rb");
      if (f == nullptr) continue;
      std::array<char, 512> first{};
      const std::size_t n = std::fread(first.data(), 1, first.size(), f);
      std::fclose(f);
      std::string_view line(first.data(), n);
      line.remove_prefix(std::min(line.size(), line.find_first_not_of('\0')));
      const std::int64_t t = LineTime(line.substr(0, line.find('\n')));
      if (t > 0 && t < last_line_time_ - line_time_slack_) {
        Log()->info("{}: {} starts before the lines just read and is not read", path_,
                    e.path().string());
        continue;
      }
    }
    if (next.empty() || later(next_mtime, st.st_mtim)) {
      next = e.path().string();
      next_mtime = st.st_mtim;
    }
  }
  return next;
}

std::string FileSource::FindCopy() const {
  if (tail_.empty()) return {};
  const fs::path dir =
      fs::path(path_).parent_path().empty() ? fs::path(".") : fs::path(path_).parent_path();
  const std::string base = fs::path(path_).filename().string();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    bool compressed = false;
    if (name == base || !RotationName(base, name, &compressed) || compressed) continue;
    if (TailIn(e.path().string()) == Tail::kSame) return e.path().string();
  }
  return {};
}

FileSource::Tail FileSource::TailAt(int fd) const {
  if (tail_.empty() || offset_ < tail_.size()) return Tail::kUnknown;
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return Tail::kUnknown;       // a pipe, a FIFO
  if (static_cast<std::uint64_t>(st.st_size) < offset_) return Tail::kChanged;  // cut
  std::array<char, kTail> buf{};
  const ssize_t n = pread(fd, buf.data(), tail_.size(), static_cast<off_t>(offset_ - tail_.size()));
  if (n != static_cast<ssize_t>(tail_.size())) return Tail::kUnknown;  // a read error says nothing
  return std::string_view(buf.data(), tail_.size()) == tail_ ? Tail::kSame : Tail::kChanged;
}

FileSource::Tail FileSource::TailIn(const std::string& path) const {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Tail::kUnknown;
  const Tail t = TailAt(fd);
  ::close(fd);
  return t;
}

void FileSource::Consumed(std::string_view bytes) {
  if (bytes.size() >= kTail) {
    tail_.assign(bytes.substr(bytes.size() - kTail));
    return;
  }
  tail_.append(bytes);
  if (tail_.size() > kTail) tail_.erase(0, tail_.size() - kTail);
}

bool FileSource::Start(const std::string& cursor, bool from_start, std::string* error) {
  if (stream_) return OpenCurrent(0, error);  // a pipe has no position to resume
  auto log = Log();
  struct stat st {};
  if (stat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    *error = path_ + ": is a directory, not a log file";
    return false;
  }
  if (!cursor.empty()) {
    std::istringstream in(cursor.substr(0, cursor.find('\n')));
    std::uint64_t dev = 0, ino = 0, offset = 0, line = 0;
    if (in >> dev >> ino >> offset >> line) {
      std::string flag;
      while (in >> flag) {
        if (flag == "skip") skipping_ = true;
        if (flag.starts_with("tail=")) tail_ = Unhex(std::string_view(flag).substr(5));
        if (flag.starts_with("head=")) head_ = Unhex(std::string_view(flag).substr(5));
        if (flag.starts_with("time=")) {
          last_line_time_ = max_line_time_ = std::atoll(flag.c_str() + 5);
        }
        if (flag.starts_with("start=")) {
          new_starts_from_ = std::strtoull(flag.c_str() + 6, nullptr, 10);
        }
        if (flag.starts_with("resume=")) {
          char* end = nullptr;
          resume_after_ = std::strtoll(flag.c_str() + 7, &end, 10);
          if (end != nullptr && *end == ':') resume_end_ = std::strtoull(end + 1, nullptr, 10);
        }
      }
      const auto nl = cursor.find('\n');
      if (!RestoreState(nl == std::string::npos ? std::string_view{}
                                                : std::string_view(cursor).substr(nl + 1))) {
        log->warn("{}: saved source state unreadable; starting without it", path_);
      }
      dev_ = static_cast<dev_t>(dev);
      ino_ = static_cast<ino_t>(ino);
      offset_ = offset;
      line_no_ = line;
      if (stat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
        // The same file, unless what precedes the saved offset is no longer what was read
        // (truncated by copytruncate, or rewritten, while the agent was stopped).
        if (TailIn(path_) != Tail::kChanged) {
          if (OpenCurrent(offset, nullptr)) return true;
          return Wait();  // unreadable for now: resumed at the saved offset when it is back
        }
        if (FollowTruncated()) return true;  // the copy, if any, from the saved offset
        return Wait();
      }
      // Rotated while we were down: the old file is followed from the saved offset as after
      // a rename seen running (Poll), so that lines Asterisk still writes to it before it
      // reopens its log are read too; then the new one.
      const std::string rotated = FindRotated(dev_, ino_);
      if (!rotated.empty()) {
        log->info("{}: rotated while stopped; finishing {} from byte {}", path_, rotated, offset);
        const std::string current = path_;
        path_ = rotated;
        const bool open = OpenCurrent(offset, nullptr);
        path_ = current;
        if (open) return true;
      } else {
        log->warn(
            "{}: the file saved in the cursor is gone; reading the current file from its start",
            path_);
      }
      line_no_ = 0;
      dev_ = 0;  // what appears now is a new file
      ino_ = 0;
      offset_ = 0;
      if (OpenCurrent(0, nullptr)) return true;
      return Wait();
    }
    log->warn("{}: unreadable cursor, starting afresh", path_);
  }
  const bool exists = stat(path_.c_str(), &st) == 0;
  if (!OpenCurrent(0, nullptr)) {
    // A file that appears later is new: all of it is read, whatever from_start says. One that
    // exists but cannot be read yet (permissions) is read, once it can be, from where its end
    // was now (from its start with from_start): what it held before the agent started is not
    // read, as of a readable file, and what is written to it meanwhile is. Another file under
    // the name by then is new.
    if (exists && !from_start) {
      dev_ = st.st_dev;
      ino_ = st.st_ino;
      offset_ = static_cast<std::uint64_t>(st.st_size);
    }
    return Wait();
  }
  if (!from_start) {
    std::fseek(file_, 0, SEEK_END);
    offset_ = static_cast<std::uint64_t>(std::ftell(file_));
    new_starts_from_ = std::max(new_starts_from_, offset_);  // as OpenCurrent at an offset
  }
  return true;
}

bool FileSource::Wait() {
  // tail -F: a missing or unreadable file is waited for (the PBX not started yet, logrotate
  // between rename and create, permissions being fixed), never a reason to stop. Said again
  // every few minutes while it lasts: a typo in the path must not pass unnoticed.
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
  partial_.clear();
  Log()->warn("{}: {}; waiting for it to appear", path_, std::strerror(errno));
  waiting_since_ = Now();
  last_waiting_log_ = waiting_since_;
  return true;
}

// Reopens a file that was missing or unreadable: the same file (inode) resumes at the saved
// offset (for a file unreadable since the agent started, where its end was then: see Start), a
// new one is read from its start.
bool FileSource::Reopen() {
  struct stat st {};
  const bool known = dev_ != 0 || ino_ != 0;
  const bool exists = stat(path_.c_str(), &st) == 0;
  const bool same = exists && known && st.st_dev == dev_ && st.st_ino == ino_;
  // Cut while unreadable (copytruncate): what it holds from then on is new, even once it has
  // grown past the position again.
  if (same && static_cast<std::uint64_t>(st.st_size) < offset_) offset_ = 0;
  const std::uint64_t at = same ? offset_ : 0;
  if (!exists || !OpenCurrent(at, nullptr)) {
    const auto now = Now();
    if (now - last_waiting_log_ >= std::chrono::minutes(5)) {
      last_waiting_log_ = now;
      Log()->warn("{}: still waiting for it ({} min): {}", path_,
                  std::chrono::duration_cast<std::chrono::minutes>(now - waiting_since_).count(),
                  std::strerror(errno));
    }
    return false;
  }
  if (!same) line_no_ = 0;
  Log()->info("{}: {}; reading it from byte {}", path_, same ? "readable again" : "appeared",
              offset_);
  return true;
}

std::size_t FileSource::Drain() {
  more_ = false;
  if (file_ == nullptr) return 0;
  std::size_t lines = 0;
  std::size_t read = 0;
  char buf[64 * 1024];
  std::int64_t last_time = 0;  // LineTime of the chunk's last line read
  while (true) {
    if (read >= max_read_) {
      more_ = true;
      break;
    }
    const std::size_t n = std::fread(buf, 1, std::min(sizeof buf, max_read_ - read), file_);
    if (n == 0) break;
    read += n;
    std::string_view chunk(buf, n);
    if (skipping_) {
      // The rest of an oversized line: drop bytes up to its newline, or up to the last zero
      // before it (zeros end any line: see DropZeros).
      const std::size_t nl = chunk.find('\n');
      const std::size_t zero =
          chunk.substr(0, nl == std::string_view::npos ? chunk.size() : nl).rfind('\0');
      if (zero != std::string_view::npos) {
        offset_ += zero + 1;
        Consumed(chunk.substr(0, zero + 1));
        skipping_ = false;
        chunk.remove_prefix(zero + 1);
      } else if (nl == std::string_view::npos) {
        offset_ += n;
        Consumed(chunk);
        continue;
      } else {
        offset_ += nl + 1;
        Consumed(chunk.substr(0, nl + 1));
        ++line_no_;
        skipping_ = false;
        chunk.remove_prefix(nl + 1);
      }
    }
    partial_.append(chunk);
    std::size_t start = 0;
    while (true) {
      const std::size_t nl = partial_.find('\n', start);
      if (nl == std::string::npos) break;
      const std::string_view line(partial_.data() + start, nl - start);
      ++line_no_;
      const std::uint64_t line_at = offset_;
      offset_ += nl - start + 1;
      start = nl + 1;
      // The text of the line proper: what follows any zeros in it (see DropZeros).
      const std::size_t zero = line.rfind('\0');
      const std::string_view text = zero == std::string_view::npos ? line : line.substr(zero + 1);
      const std::uint64_t text_at = line_at + (zero == std::string_view::npos ? 0 : zero + 1);
      const std::int64_t t = LineTime(text);
      if (resume_after_ > 0) {
        // After a file's end was lost (FollowTruncated): lines up to the latest one read before
        // are passed over, and so are those without a time (the zeros, a torn line), but only
        // before the position read then: past it every line is new, whatever its time says (a
        // PBX clock set back at boot); and so is every line from a start of the writer not
        // read before (Asterisk's QUEUESTART).
        if (t <= resume_after_ && text_at < resume_end_ &&
            !(text_at >= new_starts_from_ && StartsAnew(text))) {
          ++passed_over_;
          ++lines;  // the position moved: the caller commits it
          continue;
        }
        Log()->warn(
            "{}: reading on at line {}; {} lines before it were read before the end was "
            "lost and are not read again",
            path_, line_no_, passed_over_);
        resume_after_ = 0;
        passed_over_ = 0;
      }
      line_at_ = text_at;
      if (t > max_line_time_) max_line_time_ = t;
      if (line.size() > max_line_ && zero != std::string_view::npos && text.size() <= max_line_) {
        // Over the limit only by zeros: the line after them is read, the text before them
        // kept before one zero, as a torn line's.
        // Its last byte stands for the torn text: the reader only needs to see there was some.
        const std::size_t torn_end = line.substr(0, zero).find_last_not_of('\0');
        std::string compact;
        if (torn_end != std::string_view::npos) compact.push_back(line[torn_end]);
        compact.push_back('\0');
        compact.append(text);
        ++lines;
        OnLine(compact, line_no_);
        last_time = t;
      } else if (line.size() > max_line_) {
        OversizedLine(line_no_, line.size());
      } else {
        ++lines;
        OnLine(line, line_no_);
        last_time = t;
      }
    }
    if (last_time > 0) last_line_time_ = last_time;
    last_time = 0;
    Consumed(std::string_view(partial_.data(), start));
    partial_.erase(0, start);
    if (partial_.size() > max_line_) lines += DropZeros();
    if (partial_.size() > max_line_) {
      // No newline within the limit: skip the line without holding it (counted once: not
      // again while passing over lines read before).
      if (resume_after_ == 0) OversizedLine(line_no_ + 1, partial_.size());
      offset_ += partial_.size();
      Consumed(partial_);
      partial_.clear();
      skipping_ = true;
      ++lines;  // the cursor moved: the caller commits it
    }
  }
  std::clearerr(file_);
  if (lines > 0) ReadHead();  // a file shorter than kHead when opened
  return lines;
}

std::size_t FileSource::DropZeros() {
  // Zero bytes are no part of any line: a power cut leaves the blocks the kernel had not
  // written yet as zeros, often more of them than a line may hold, and the writer appends
  // after them once back. Skipping them as one oversized line would take the next line with
  // them: what precedes the last zero goes now (text before it is a torn line, handed on with
  // one zero so the reader reports it as such), and the text after it stays to be read.
  const std::size_t zero = partial_.rfind('\0');
  if (zero == std::string::npos) return 0;
  const std::string_view dropped(partial_.data(), zero + 1);
  if (const std::size_t text_end = dropped.find_last_not_of('\0');
      text_end == std::string_view::npos) {
    Log()->warn("{}: {} zero bytes at byte {} skipped (writes a power cut lost)", path_,
                dropped.size(), offset_);
  } else if (resume_after_ == 0) {  // else the text is of a line read before
    std::string torn(dropped.substr(0, text_end + 1));
    torn.push_back('\0');
    line_at_ = offset_;
    OnLine(torn, line_no_ + 1);  // the line the text after the zeros ends
  }
  offset_ += dropped.size();
  Consumed(dropped);
  partial_.erase(0, zero + 1);
  return 1;  // the cursor moved: the caller commits it
}

void FileSource::OversizedLine(std::uint64_t line_no, std::size_t seen) {
  ++oversized_;
  if (oversized_ <= 20 || oversized_ % 1000 == 0) {
    Log()->error("{}:{}: line longer than {} bytes ({}{} bytes) skipped", path_, line_no, max_line_,
                 seen, skipping_ ? "" : " or more");
  }
}

std::size_t FileSource::Poll() {
  more_ = false;
  if (file_ == nullptr && !stream_ && !Reopen()) return 0;
  // Copytruncate (or the file rewritten in place) since the last read, whether the file is now
  // shorter or already longer again: the bytes before offset_ are no longer those read.
  if (!stream_ && TailAt(fileno(file_)) == Tail::kChanged) {
    if (FollowTruncated()) return Drain();
    Wait();
    return 0;
  }
  const std::uint64_t before = offset_;
  std::size_t lines = Drain();
  if (stream_ || more_) return lines;
  const auto now = Now();
  if (offset_ != before) last_growth_ = now;
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0) return lines;  // between rename and create
  if (st.st_dev != dev_ || st.st_ino != ino_) {
    // Rename-and-create. Asterisk keeps writing to the renamed file until it reopens its
    // log (logrotate's postrotate "logger reload"): follow the old file until the new one
    // has data and the old has been quiet for 2 s. An empty new file has nothing to read, so
    // however long the wait, no line is lost; a renamed file still written to minutes later
    // means the reload is missing, which is said every 5 minutes.
    if (renamed_seen_ == std::chrono::steady_clock::time_point{}) {
      renamed_seen_ = now;
      renamed_warned_ = now;
    }
    // A copytruncate copy is not written to: finished, it gives way at once.
    if (!finishing_copy_ && (st.st_size == 0 || now - last_growth_ < std::chrono::seconds(2))) {
      if (st.st_size == 0 && last_growth_ > renamed_seen_ &&
          now - renamed_warned_ >= std::chrono::minutes(5)) {
        renamed_warned_ = now;
        Log()->warn(
            "{}: renamed {} min ago and still written to while the new file stays empty: "
            "does logrotate's postrotate run `asterisk -rx 'logger reload'`?",
            path_, std::chrono::duration_cast<std::chrono::minutes>(now - renamed_seen_).count());
      }
      return lines;
    }
    lines += Drain();
    if (more_) return lines;  // the old file still has a chunk to read: next poll
    renamed_seen_ = {};
    finishing_copy_ = false;
    line_no_ = 0;
    finished_.emplace(dev_, ino_);
    // Rotated more than once since this file was current (the agent stopped, or input held
    // at the spool's bound): the files rotated in between come first, each read whole and
    // left as this one was.
    if (const std::string between = FindNext(); !between.empty()) {
      Log()->info("{}: rotated more than once; reading {} before the current file", path_, between);
      const std::string current = path_;
      path_ = between;
      const bool open = OpenCurrent(0, nullptr);
      path_ = current;
      if (open) {
        lines += Drain();
        last_growth_ = now;
        return lines;
      }
    }
    Log()->info("{}: rotated, following the new file", path_);
    finished_.clear();
    if (OpenCurrent(0, nullptr)) {
      lines += Drain();
      last_growth_ = now;
    } else {
      Wait();
    }
  } else if (static_cast<std::uint64_t>(st.st_size) < offset_) {
    if (FollowTruncated()) {
      lines += Drain();
    } else {
      Wait();
    }
  }
  return lines;
}

bool FileSource::FollowTruncated() {
  // Lines written after our last read and before the cut are only in the copy. Found by the
  // bytes read last, it is finished like a renamed file (a chunk a poll, then the cut file
  // from its start once the copy has been read to its end and the cut file has data).
  const std::string copy = FindCopy();
  auto log = Log();
  finished_.clear();
  if (!copy.empty()) {
    log->info("{}: truncated (copytruncate); finishing the copy {} from byte {}", path_, copy,
              offset_);
    const std::string current = path_;
    path_ = copy;
    // The copy holds the same bytes at the same positions: what was being passed over, and
    // the starts read, hold in it.
    const auto resume = std::tuple(resume_after_, resume_end_, new_starts_from_, passed_over_);
    const bool open = OpenCurrent(offset_, nullptr);
    std::tie(resume_after_, resume_end_, new_starts_from_, passed_over_) = resume;
    path_ = current;
    if (open) {
      finishing_copy_ = true;
      last_growth_ = Now();
      return true;
    }
  }
  const bool starts_as_read = StartsAsRead();
  if (starts_as_read && max_line_time_ > 0) {
    // The file read, its end lost or rewritten: a power cut drops the writes the kernel had
    // not yet made (Asterisk never syncs queue_log) and leaves the file shorter, or zeros in
    // place, while the position read was saved; the PBX then appends after what is left.
    // Reading it from its start would count every line twice, going on from the position
    // would miss or cut the lines appended since: lines up to the last one read (by time)
    // are passed over, and reading starts with the first line after it.
    log->warn(
        "{}: starts as it did, but the bytes before byte {} are not those read (its end lost "
        "to a power cut?); reading on after the last line read ({})",
        path_, offset_, max_line_time_);
    // Cut again while passing over: the lines read before the first cut still end where they
    // did.
    const std::uint64_t end = resume_after_ > 0 ? std::max(resume_end_, offset_) : offset_;
    const std::uint64_t passed = resume_after_ > 0 ? passed_over_ : 0;
    line_no_ = 0;
    if (!OpenCurrent(0, nullptr)) return false;
    resume_after_ = max_line_time_;
    resume_end_ = end;
    passed_over_ = passed;
    return true;
  }
  if (!starts_as_read && !head_.empty()) {
    // Another file under the name (copytruncate, its copy compressed at once or gone): all of
    // it is new, however long it has grown.
    log->warn(
        "{}: no longer starts as the file read did, and no copy holds what followed byte {}; "
        "lines written just before the cut may be missing; reading it from its start",
        path_, offset_);
    line_no_ = 0;
    return OpenCurrent(0, nullptr);
  }
  struct stat st {};
  if (stat(path_.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) >= offset_) {
    // As long as ever but not what was read before the position (zeros a power cut left, a
    // rewrite in place), and no copy holds the lines: reading it again from its start would
    // count them twice. Go on from the position.
    log->warn(
        "{}: the bytes before byte {} are not those read, and no copy holds them; "
        "going on from there",
        path_, offset_);
    tail_.clear();
    return OpenCurrent(offset_, nullptr);
  }
  log->warn(
      "{}: truncated and no copy found; lines written just before the cut may be missing; "
      "reading it from its start",
      path_);
  line_no_ = 0;
  return OpenCurrent(0, nullptr);
}

std::string FileSource::Cursor() const {
  char head[128];
  std::snprintf(head, sizeof head, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "%s",
                static_cast<std::uint64_t>(dev_), static_cast<std::uint64_t>(ino_), offset_,
                line_no_, skipping_ ? " skip" : "");
  std::string out = head;
  const auto hex = [&out](std::string_view bytes) {
    constexpr char kHex[] = "0123456789abcdef";
    for (unsigned char c : bytes) {
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  };
  // The last bytes read, so that a restart can tell the file at the saved offset is still
  // the one read (and find its copy when it is not); the file's first bytes and the last
  // line's time, to tell a file whose end was lost from a new one (FollowTruncated).
  if (!tail_.empty()) {
    out += " tail=";
    hex(std::string_view(tail_).substr(tail_.size() - std::min(tail_.size(), kSavedTail)));
  }
  if (!head_.empty()) {
    out += " head=";
    hex(head_);
  }
  if (max_line_time_ > 0) out += " time=" + std::to_string(max_line_time_);
  if (new_starts_from_ > 0) out += " start=" + std::to_string(new_starts_from_);
  if (resume_after_ > 0) {
    out += " resume=" + std::to_string(resume_after_) + ":" + std::to_string(resume_end_);
  }
  out += '\n';
  return out + SaveState();
}

}  // namespace ccmon::agent
