// Fuzzes the agent's queue_log file reading: a file written, cut, zeroed, rotated and
// appended to in any order while a source polls it with small limits, and restarts from its
// own cursor or from arbitrary cursor text. Every poll must end (bounded), and a source started
// from its own cursor must accept it.
//
// Input: one byte of limits, then operations of one opcode byte, one length byte and that many
// bytes of data.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "ccmon/time/clock.h"
#include "sources/queue_log_source.h"

namespace {

namespace fs = std::filesystem;

const std::string& Dir() {
  static const std::string dir = [] {
    std::string d = (fs::temp_directory_path() / "ccmon-fuzz-fs.XXXXXX").string();
    if (::mkdtemp(d.data()) == nullptr) std::abort();
    return d;
  }();
  return dir;
}

void Write(const std::string& path, std::string_view bytes, bool append) {
  std::ofstream out(path, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string path = Dir() + "/queue_log";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(Dir(), ec)) fs::remove(e.path(), ec);
  Write(path, {}, false);

  const std::size_t max_line = 16 + (data[0] & 0x3f) * 4;  // 16-268 bytes
  const std::size_t max_read = 8 + (data[0] >> 6) * 40;    // 8-128 bytes a poll
  ccmon::FakeClock clock(1'795'600'000'000);
  std::size_t events = 0;
  auto make = [&] {
    auto src = std::make_unique<ccmon::agent::QueueLogSource>(
        path, [&](const ccmon::Event&) { ++events; });
    src->set_clock(clock);
    src->set_limits(max_line, max_read);
    return src;
  };
  auto src = make();
  std::string err;
  if (!src->Start("", true, &err)) return 0;
  auto drain = [&] {
    for (int i = 0; i < 10'000; ++i) {  // max_read bounds each poll: this is far beyond any file
      if (src->Poll() == 0 && !src->more()) return;
    }
    __builtin_trap();  // a poll loop that never ends
  };

  std::size_t pos = 1;
  while (pos + 2 <= size) {
    const std::uint8_t op = data[pos] % 8;
    const std::size_t len = std::min<std::size_t>(data[pos + 1], size - pos - 2);
    const std::string_view bytes(reinterpret_cast<const char*>(data) + pos + 2, len);
    pos += 2 + len;
    const auto file_size = static_cast<std::size_t>(fs::file_size(path, ec));
    switch (op) {
      case 0:  // the PBX appends
      case 1:
        Write(path, bytes, true);
        break;
      case 2:  // cut (copytruncate, a power cut)
        fs::resize_file(path, ec ? 0 : len % (file_size + 1), ec);
        break;
      case 3: {  // zeros in place of the last bytes
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        const std::size_t n = std::min(len, file_size);
        f.seekp(static_cast<std::streamoff>(file_size - n));
        f.write(std::string(n, '\0').data(), static_cast<std::streamsize>(n));
        break;
      }
      case 4: {  // restart from the cursor saved
        const std::string cursor = src->Cursor();
        src = make();
        if (!src->Start(cursor, true, &err)) __builtin_trap();  // its own cursor is accepted
        break;
      }
      case 5:  // restart from any text as a cursor
        src = make();
        if (!src->Start(std::string(bytes), (len & 1) != 0, &err)) return 0;
        break;
      case 6:  // rotation: rename (or a copy, then the cut) and a new file
        if ((len & 1) != 0) {
          fs::copy_file(path, path + ".1", fs::copy_options::overwrite_existing, ec);
          fs::resize_file(path, 0, ec);
        } else {
          fs::rename(path, path + ".1", ec);
          Write(path, bytes, false);
        }
        break;
      default:  // time passes (a renamed file's wait, lost-call timers)
        clock.Advance(static_cast<std::int64_t>(len) * 100);
        break;
    }
    drain();
  }
  return static_cast<int>(events & 0);
}
