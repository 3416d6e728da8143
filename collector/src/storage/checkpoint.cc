#include "storage/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ccmon::collector {

namespace {

constexpr char kMagic[8] = {'C', 'C', 'M', 'O', 'N', 'C', 'K', '1'};

std::uint32_t Crc(const std::string& s) {
  return static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

}  // namespace

bool WriteCheckpoint(const std::string& dir, std::uint64_t wal_lsn, const std::string& state,
                     std::string* error) {
  const std::string path = dir + "/checkpoint";
  const std::string tmp = path + ".tmp";
  std::string out(kMagic, sizeof kMagic);
  const std::uint32_t crc = Crc(state);
  const std::uint64_t len = state.size();
  out.append(reinterpret_cast<const char*>(&wal_lsn), 8);
  out.append(reinterpret_cast<const char*>(&crc), 4);
  out.append(reinterpret_cast<const char*>(&len), 8);
  out.append(state);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    *error = tmp + ": " + std::strerror(errno);
    return false;
  }
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::write(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = tmp + ": " + std::strerror(n == 0 ? ENOSPC : errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    *error = tmp + ": fsync: " + std::strerror(errno);
    ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = path + ": rename: " + std::strerror(errno);
    return false;
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // make the rename itself durable
    ::close(dfd);
  }
  return true;
}

bool ReadCheckpoint(const std::string& dir, std::uint64_t* wal_lsn, std::string* state,
                    std::string* error) {
  const std::string path = dir + "/checkpoint";
  *wal_lsn = 0;
  state->clear();
  std::ifstream in(path, std::ios::binary);
  if (!in) return !std::filesystem::exists(path) || (*error = path + ": unreadable", false);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  if (data.size() < 28 || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) {
    *error = path + ": not a ccmon checkpoint";
    return false;
  }
  std::uint32_t crc = 0;
  std::uint64_t len = 0;
  std::memcpy(wal_lsn, data.data() + 8, 8);
  std::memcpy(&crc, data.data() + 16, 4);
  std::memcpy(&len, data.data() + 20, 8);
  if (len != data.size() - 28) {
    *error = path + ": truncated checkpoint";
    return false;
  }
  state->assign(data, 28, std::string::npos);
  if (Crc(*state) != crc) {
    *error = path + ": checkpoint checksum mismatch";
    return false;
  }
  return true;
}

}  // namespace ccmon::collector
