// Fuzzes the collector's WAL recovery: records written from the input, then damaged at
// offsets the input picks (flipped bytes, zeroed runs). Recovery must never yield a record it
// was not given (each replayed LSN carries its own payload, in order), must leave a log that
// a second open finds clean, and must take appends afterwards.
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "damage.h"
#include "storage/wal.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  using ccmon::collector::Wal;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (text.size() < 4) return 0;
  static const std::string dir =
      (fs::temp_directory_path() / ("ccmon-wal-fuzz-" + std::to_string(getpid()))).string();
  fs::remove_all(dir);
  ccmon::collector::WalOptions opt;
  opt.dir = dir;
  opt.fsync_interval = std::chrono::milliseconds(0);
  std::map<std::uint64_t, std::string> given;
  const std::string_view body = text.substr(0, text.size() / 2);
  {
    Wal w;
    std::string err, report;
    if (!w.Open(opt, &err, &report)) __builtin_trap();
    w.Start();
    std::uint64_t lsn = 0;
    for (std::size_t i = 0; i < body.size(); ++i) {
      const std::string payload(static_cast<std::size_t>(body[i] & 0x3f), static_cast<char>(i));
      lsn = w.Append(payload);
      given[lsn] = payload;
    }
    if (lsn != 0 && !w.WaitDurable(lsn, std::chrono::seconds(10))) __builtin_trap();
  }
  std::string seg;
  for (const auto& e : fs::directory_iterator(dir)) seg = e.path().string();
  std::string file;
  {
    std::ifstream in(seg, std::ios::binary);
    file.assign(std::istreambuf_iterator<char>(in), {});
  }
  if (file.empty()) return 0;
  ApplyDamage(text.substr(text.size() / 2), &file);  // the input's second half
  {
    std::ofstream out(seg, std::ios::binary | std::ios::trunc);
    out << file;
  }
  {
    Wal w;
    std::string err, report;
    if (!w.Open(opt, &err, &report)) return 0;
    std::uint64_t last = 0;
    w.Replay(
        0,
        [&](std::uint64_t lsn, std::string_view rec) {
          const auto it = given.find(lsn);
          if (it == given.end() || it->second != rec || lsn <= last) __builtin_trap();
          last = lsn;
        },
        &err);
    w.Start();
    if (!w.WaitDurable(w.Append("after"), std::chrono::seconds(10))) __builtin_trap();
  }
  Wal again;
  std::string err, report;
  if (!again.Open(opt, &err, &report) || !report.empty()) __builtin_trap();  // repaired once
  return 0;
}
