// Fuzzes the queues.conf reader (sections, templates, includes, member lines) and the members
// file, then runs a few queue_log lines through a state machine configured from the result.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ccmon/agent/asterisk_config.h"
#include "ccmon/agent/queue_log.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  ccmon::agent::AsteriskConfig config;
  std::string error;
  // Every include resolves to the input itself: include chains must stop at the depth bound.
  const ccmon::agent::IncludeReader include = [&text](const std::string& path) {
    return path == "missing.conf" ? std::nullopt : std::optional<std::string>(text);
  };
  const bool ok = ccmon::agent::ParseQueuesConf(text, "queues.conf", include, &config, &error);
  if (!ok && error.find(':') == std::string::npos) __builtin_trap();  // errors name file:line
  ccmon::agent::ParseMembersFile(text, "members.csv", &config, &error);
  ccmon::agent::QueueLogOptions options;
  ccmon::agent::ApplyAsteriskConfig(config, &options);
  ccmon::agent::QueueLogStateMachine m([](const ccmon::Event&) {}, options);
  for (const char* line : {"100|c1|q|NONE|ENTERQUEUE||7009|1", "101|MANAGER|q|SIP/1|ADDMEMBER|",
                           "101|NONE|NONE|Ann|UNPAUSEALL|", "104|c1|q|Ann|CONNECT|4|x|1",
                           "160|c1|q|Ann|COMPLETECALLER|4|56|1"}) {
    ccmon::agent::QueueLogLine l;
    if (ccmon::agent::ParseQueueLogLine(line, &l).status == ccmon::agent::ParseStatus::kOk) {
      m.Process(l);
    }
  }
  m.Advance(1000000);
  return 0;
}
