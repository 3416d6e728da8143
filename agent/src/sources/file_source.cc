#include "sources/file_source.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "log.h"

namespace ccmon::agent {

namespace fs = std::filesystem;

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
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  if (offset > static_cast<std::uint64_t>(st.st_size)) offset = 0;  // truncated meanwhile
  offset_ = offset;
  std::fseek(file_, static_cast<long>(offset_), SEEK_SET);
  partial_.clear();
  return true;
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

std::string FileSource::FindCopy() const {
  if (tail_.empty()) return {};
  const fs::path dir =
      fs::path(path_).parent_path().empty() ? fs::path(".") : fs::path(path_).parent_path();
  const std::string base = fs::path(path_).filename().string();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name == base || !name.starts_with(base)) continue;
    if (e.file_size(ec) < offset_ || ec) continue;
    std::FILE* f = std::fopen(e.path().c_str(), "rb");
    if (f == nullptr) continue;
    std::string buf(tail_.size(), '\0');
    const bool match = std::fseek(f, static_cast<long>(offset_ - tail_.size()), SEEK_SET) == 0 &&
                       std::fread(buf.data(), 1, buf.size(), f) == buf.size() && buf == tail_;
    std::fclose(f);
    if (match) return e.path().string();
  }
  return {};
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
      const auto nl = cursor.find('\n');
      if (!RestoreState(nl == std::string::npos ? std::string_view{}
                                                : std::string_view(cursor).substr(nl + 1))) {
        log->warn("{}: saved source state unreadable; starting without it", path_);
      }
      dev_ = static_cast<dev_t>(dev);
      ino_ = static_cast<ino_t>(ino);
      offset_ = offset;
      if (stat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
        line_no_ = line;
        if (OpenCurrent(offset, nullptr)) return true;
        return Wait(error);
      }
      // Rotated while we were down: finish the old file first, then start the new one.
      const std::string rotated = FindRotated(dev_, ino_);
      if (!rotated.empty()) {
        log->info("{}: rotated while stopped; finishing {} from byte {}", path_, rotated, offset);
        const std::string current = path_;
        path_ = rotated;
        line_no_ = line;
        if (OpenCurrent(offset, nullptr)) Drain();
        path_ = current;
      } else {
        log->warn(
            "{}: the file saved in the cursor is gone; reading the current file from its start",
            path_);
      }
      line_no_ = 0;
      if (OpenCurrent(0, nullptr)) return true;
      return Wait(error);
    }
    log->warn("{}: unreadable cursor, starting afresh", path_);
  }
  if (!OpenCurrent(0, nullptr)) {
    // A file that appears later is new: all of it is read, whatever from_start says.
    return Wait(error);
  }
  if (!from_start) {
    std::fseek(file_, 0, SEEK_END);
    offset_ = static_cast<std::uint64_t>(std::ftell(file_));
  }
  return true;
}

bool FileSource::Wait(std::string* /*error*/) {
  // tail -F: a missing or unreadable file is waited for (the PBX not started yet, logrotate
  // between rename and create, permissions being fixed), never a reason to stop.
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
  partial_.clear();
  Log()->warn("{}: {}; waiting for it to appear", path_, std::strerror(errno));
  return true;
}

std::size_t FileSource::Drain() {
  if (file_ == nullptr) return 0;
  std::size_t lines = 0;
  char buf[64 * 1024];
  while (true) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, file_);
    if (n == 0) break;
    partial_.append(buf, n);
    std::size_t start = 0;
    while (true) {
      const std::size_t nl = partial_.find('\n', start);
      if (nl == std::string::npos) break;
      const std::string_view line(partial_.data() + start, nl - start);
      ++line_no_;
      ++lines;
      OnLine(line, line_no_);
      offset_ += nl - start + 1;
      start = nl + 1;
    }
    if (start > 0) {
      constexpr std::size_t kTail = 256;
      const std::size_t keep = std::min(start, kTail);
      tail_.assign(partial_, start - keep, keep);
    }
    partial_.erase(0, start);
  }
  std::clearerr(file_);
  return lines;
}

std::size_t FileSource::Poll() {
  if (file_ == nullptr && !stream_) {
    if (!OpenCurrent(0, nullptr)) return 0;  // still missing: Start() said so once
    Log()->info("{}: appeared; reading it from its start", path_);
    line_no_ = 0;
  }
  std::size_t lines = Drain();
  if (stream_) return lines;
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0) return lines;  // between rename and create
  if (st.st_dev != dev_ || st.st_ino != ino_) {
    // Rename-and-create: the old file is drained above; continue with the new one.
    Log()->info("{}: rotated, following the new file", path_);
    line_no_ = 0;
    if (OpenCurrent(0, nullptr)) lines += Drain();
  } else if (static_cast<std::uint64_t>(st.st_size) < offset_) {
    // Copytruncate: lines written after our last read and before the cut are only in the
    // copy. Find it by the bytes we read last, finish it, then start the cut file afresh.
    const std::string copy = FindCopy();
    auto log = Log();
    if (!copy.empty()) {
      log->info("{}: truncated (copytruncate); finishing the copy {} from byte {}", path_, copy,
                offset_);
      const std::string current = path_;
      path_ = copy;
      if (OpenCurrent(offset_, nullptr)) lines += Drain();
      path_ = current;
    } else {
      log->warn(
          "{}: truncated and no copy found; lines written just before the cut may be "
          "missing",
          path_);
    }
    line_no_ = 0;
    if (OpenCurrent(0, nullptr)) lines += Drain();
  }
  return lines;
}

std::string FileSource::Cursor() const {
  char head[128];
  std::snprintf(head, sizeof head, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                static_cast<std::uint64_t>(dev_), static_cast<std::uint64_t>(ino_), offset_,
                line_no_);
  return head + SaveState();
}

}  // namespace ccmon::agent
