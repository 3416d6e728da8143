// Fuzzes the JSON-lines decoder of the agent's JSONL source.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ccmon/v1/events.pb.h"
#include "ccmon/wire/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ccmon::v1::Event storage;
  ccmon::Event e;
  const std::string err = ccmon::wire::FromJsonLine(
      std::string_view(reinterpret_cast<const char*>(data), size), &storage, &e);
  if (err.empty() && e.time_ms <= 0) __builtin_trap();  // accepted events carry a time
  return 0;
}
