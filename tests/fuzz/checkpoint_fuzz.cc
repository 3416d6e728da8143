// Fuzzes the checkpoint readers with what a damaged or foreign file could hold: the first
// byte picks the protobuf state (DecodeEngineState, then Engine::ImportState) or the binary
// format before it (Engine::LoadLegacyState). Neither may crash; whatever an engine takes, it
// must export, encode, decode and import again to the same state (the restart after a
// restart sees what the first one saw).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ccmon/collector/engine.h"
#include "storage/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ccmon::collector;
  static FakeClock clock(1795651200000);
  if (size < 1) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  Engine engine(CoreConfig{}, clock);
  std::string err;
  bool taken = false;
  if (data[0] & 1) {
    taken = engine.LoadLegacyState(bytes, &err);
  } else {
    EngineState state;
    taken = DecodeEngineState(bytes, &state, &err) && engine.ImportState(state, &err);
  }
  if (!taken) {
    if (err.empty()) __builtin_trap();  // a refusal always says why
    return 0;
  }
  const EngineState first = engine.ExportState();
  EngineState decoded;
  if (!DecodeEngineState(EncodeEngineState(first), &decoded, &err) || !(decoded == first)) {
    __builtin_trap();
  }
  Engine again(CoreConfig{}, clock);
  if (!again.ImportState(decoded, &err) || !(again.ExportState() == first)) __builtin_trap();
  (void)again.TakeSnapshot();
  return 0;
}
