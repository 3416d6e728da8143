// Fuzzes spool recovery two ways. Arbitrary bytes as a segment file must be recovered
// without crashing and leave a spool that takes new events. And a real spool written from
// the input, then damaged at offsets the input picks (flipped bytes, zeroed runs), must never
// yield an event it was not given: every event read back has its own payload, in order, and
// nothing committed and untouched is missing.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "ccmon/agent/spool.h"
#include "damage.h"

namespace {

std::string Dir() {
  static const std::string dir =
      (std::filesystem::temp_directory_path() / ("ccmon-spool-fuzz-" + std::to_string(getpid())))
          .string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

ccmon::agent::SpoolOptions Options(const std::string& dir) {
  ccmon::agent::SpoolOptions opt;
  opt.dir = dir;
  opt.fsync_on_commit = false;
  return opt;
}

void ArbitraryBytes(std::string_view data) {
  const std::string dir = Dir();
  {
    std::ofstream out(dir + "/seg-00000000000000000001.log", std::ios::binary);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
  }
  ccmon::agent::Spool spool;
  std::string err;
  if (spool.Open(Options(dir), &err)) {
    const auto before = spool.Read(0, 1000);
    if (!spool.Append("x", &err) || !spool.Commit("src", "cursor", &err)) __builtin_trap();
    if (spool.Read(0, 100000).size() != before.size() + 1 && before.size() < 1000) {
      __builtin_trap();  // a recovered spool accepts and returns new events
    }
  }
}

void Damaged(std::string_view data) {
  if (data.size() < 4) return;
  const std::string dir = Dir();
  std::map<std::uint64_t, std::string> given;
  {
    ccmon::agent::Spool spool;
    std::string err;
    if (!spool.Open(Options(dir), &err)) __builtin_trap();
    // Events from the input's first half: one per byte, chunks of (byte % 5) + 1.
    const std::string_view body = data.substr(0, data.size() / 2);
    int in_chunk = 0;
    for (std::size_t i = 0; i < body.size(); ++i) {
      const std::string payload =
          "e" + std::to_string(spool.next_seq()) + std::string(body[i] & 0x1f, 'p');
      given[spool.next_seq()] = payload;
      if (!spool.Append(payload, &err)) __builtin_trap();
      if (++in_chunk > (static_cast<unsigned char>(body[i]) % 5)) {
        if (!spool.Commit("src", std::to_string(i), &err)) __builtin_trap();
        in_chunk = 0;
      }
    }
    if (!spool.Commit("src", "end", &err)) __builtin_trap();
  }
  std::string seg;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with("seg-")) seg = e.path().string();
  }
  std::string file;
  {
    std::ifstream in(seg, std::ios::binary);
    file.assign(std::istreambuf_iterator<char>(in), {});
  }
  if (file.empty()) return;
  ApplyDamage(data.substr(data.size() / 2), &file);  // the input's second half
  {
    std::ofstream out(seg, std::ios::binary | std::ios::trunc);
    out << file;
  }
  ccmon::agent::Spool spool;
  std::string err;
  if (!spool.Open(Options(dir), &err)) return;
  std::uint64_t last = 0;
  for (const auto& r : spool.Read(0, 1'000'000)) {
    const auto it = given.find(r.seq);
    if (it == given.end() || it->second != r.payload || r.seq <= last) __builtin_trap();
    last = r.seq;
  }
  if (!spool.Append("x", &err) || !spool.Commit("src", "after", &err)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!text.empty() && (text.front() & 1) != 0) {
    Damaged(text.substr(1));
  } else {
    ArbitraryBytes(text);
  }
  return 0;
}
