// Fuzzes the continuity rules loader (rules/continuity.yaml): any text gives rules or an error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ccmon/collector/continuity_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = ccmon::collector::ParseContinuityRules(
      std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  if (!r.ok() && r.status().message().empty()) __builtin_trap();
  return 0;
}
