// Fuzzes the collector's YAML config loader: any text gives a config or a clear error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ccmon/collector/options.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto o = ccmon::collector::ParseCollectorOptions(text, "fuzz.yaml");
  if (!o.ok() && o.status().message().empty()) __builtin_trap();  // errors must say something
  return 0;
}
