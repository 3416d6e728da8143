// Fuzzes spool recovery: arbitrary bytes as a segment file must be recovered (torn or corrupt
// records cut) without crashing, and the spool must stay usable afterwards.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "ccmon/agent/spool.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string dir =
      (std::filesystem::temp_directory_path() / ("ccmon-spool-fuzz-" + std::to_string(getpid())))
          .string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir + "/seg-00000000000000000001.log", std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  ccmon::agent::Spool spool;
  ccmon::agent::SpoolOptions opt;
  opt.dir = dir;
  opt.fsync_on_commit = false;
  std::string err;
  if (spool.Open(opt, &err)) {
    const auto before = spool.Read(0, 1000);
    if (!spool.Append("x", &err) || !spool.Commit("src", "cursor", &err)) __builtin_trap();
    if (spool.Read(0, 100000).size() != before.size() + 1 && before.size() < 1000) {
      __builtin_trap();  // a recovered spool accepts and returns new events
    }
  }
  return 0;
}
