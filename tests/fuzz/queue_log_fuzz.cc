// Fuzzes the queue_log parser and call state machine, including save/restore of its state.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ccmon/agent/queue_log.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::size_t events = 0;
  ccmon::agent::QueueLogStateMachine m([&](const ccmon::Event& e) {
    // Touch every view so ASan sees a dangling one.
    if (const auto* c = std::get_if<ccmon::CallEvent>(&e.body)) {
      events += c->queue.size() + c->call_id.size() + c->agent.size() + c->caller_id.size();
    }
  });
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    ccmon::agent::QueueLogLine line;
    if (ccmon::agent::ParseQueueLogLine(text.substr(start, nl - start), &line).status ==
        ccmon::agent::ParseStatus::kOk) {
      m.Process(line);
    }
    start = nl + 1;
  }
  ccmon::agent::QueueLogStateMachine restored([](const ccmon::Event&) {});
  if (!restored.RestoreState(m.SaveState())) __builtin_trap();  // own output must round-trip
  restored.RestoreState(text);  // arbitrary bytes must be rejected cleanly
  return events == static_cast<std::size_t>(-1) ? 1 : 0;
}
