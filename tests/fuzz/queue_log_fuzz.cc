// Fuzzes the queue_log parser and call state machine, including save/restore of its state.
// The first byte picks options: after-call-work pause reasons (held call ends), wrap-up
// times and a short maximum wait, so that every timer kind fires.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ccmon/agent/queue_log.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ccmon::agent::QueueLogOptions options;
  if (!text.empty()) {
    const auto flags = static_cast<unsigned char>(text.front());
    text.remove_prefix(1);
    if ((flags & 1) != 0) options.acw_pause_reasons = {"Wrapup", "ACW"};
    if ((flags & 2) != 0) options.wrapup_ms["q"] = 10000;
    if ((flags & 4) != 0) options.max_wait_ms = 60000;
    if ((flags & 8) != 0) options.log_membername_as_agent = true;
  }
  std::size_t events = 0;
  auto sink = [&](const ccmon::Event& e) {
    // Touch every view so ASan sees a dangling one.
    if (const auto* c = std::get_if<ccmon::CallEvent>(&e.body)) {
      events += c->queue.size() + c->call_id.size() + c->agent.size() + c->caller_id.size();
    } else if (const auto* a = std::get_if<ccmon::AgentStateEvent>(&e.body)) {
      events += a->agent.size() + a->queue.size() + a->reason.size();
    }
  };
  ccmon::agent::QueueLogStateMachine m(sink, options);
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
  const std::string saved = m.SaveState();
  m.Advance(m.pbx_time_ms() + 3600 * 1000);  // every timer due
  m.ReleaseAllHeld();
  ccmon::agent::QueueLogStateMachine restored(sink, options);
  if (!restored.RestoreState(saved)) __builtin_trap();  // own output must round-trip
  restored.Advance(restored.pbx_time_ms() + 3600 * 1000);
  restored.RestoreState(text);  // arbitrary bytes must be rejected cleanly
  restored.Advance(restored.pbx_time_ms() + 3600 * 1000);
  return events == static_cast<std::size_t>(-1) ? 1 : 0;
}
