// Writes a deterministic, realistic day of Asterisk queue_log to stdout, driven by the
// simulator: usage queue_log_gen YYYY-MM-DD SEED [SCENARIO]. Test tool, not shipped.
#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "ccmon/agent/simulator.h"

namespace {

std::string S(std::string_view v) { return std::string(v); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: queue_log_gen YYYY-MM-DD SEED [SCENARIO]\n");
    return 2;
  }
  absl::CivilDay day;
  if (!absl::ParseCivilTime(argv[1], &day)) {
    std::fprintf(stderr, "queue_log_gen: bad date %s\n", argv[1]);
    return 2;
  }
  const std::int64_t start = absl::ToUnixMillis(absl::FromCivil(day, absl::UTCTimeZone()));
  ccmon::agent::SimulatorOptions opt;
  opt.seed = std::stoull(argv[2]);
  opt.scenario = argc > 3 ? argv[3] : "normal";
  opt.disaster_at_s = 11 * 3600;
  opt.link.clear();
  ccmon::agent::Simulator sim(opt, start);
  std::set<std::string> members;  // agent|queue already added
  sim.Advance(start + 24 * 3600 * 1000LL - 1, [&](const ccmon::Event& e) {
    const long long t = e.time_ms / 1000;
    if (const auto* c = std::get_if<ccmon::CallEvent>(&e.body)) {
      const std::string id = S(c->call_id), q = S(c->queue), a = S(c->agent);
      switch (c->kind) {
        case ccmon::CallKind::kOffered:
          std::printf("%lld|%s|%s|NONE|ENTERQUEUE||%s|%u\n", t, id.c_str(), q.c_str(),
                      S(c->caller_id).c_str(), c->position);
          break;
        case ccmon::CallKind::kAnswered:
          std::printf("%lld|%s|%s|%s|CONNECT|%u|%s.2|%u\n", t, id.c_str(), q.c_str(), a.c_str(),
                      c->wait_ms / 1000, id.c_str(), c->ring_ms / 1000);
          break;
        case ccmon::CallKind::kCompleted:
          std::printf("%lld|%s|%s|%s|%s|%u|%u|1\n", t, id.c_str(), q.c_str(), a.c_str(),
                      c->hung_up_by == ccmon::Party::kAgent ? "COMPLETEAGENT" : "COMPLETECALLER",
                      c->wait_ms / 1000, c->talk_ms / 1000);
          break;
        case ccmon::CallKind::kAbandoned:
          std::printf("%lld|%s|%s|NONE|ABANDON|%u|1|%u\n", t, id.c_str(), q.c_str(), c->position,
                      c->wait_ms / 1000);
          break;
        case ccmon::CallKind::kUnanswered:
          std::printf("%lld|%s|%s|NONE|EXITWITHTIMEOUT|1|1|%u\n", t, id.c_str(), q.c_str(),
                      c->wait_ms / 1000);
          break;
        default:
          break;
      }
    } else if (const auto* s = std::get_if<ccmon::AgentStateEvent>(&e.body)) {
      const std::string a = S(s->agent), q = S(s->queue);
      switch (s->state) {
        case ccmon::AgentState::kReady:
          if (!q.empty() && members.insert(a + "|" + q).second) {
            std::printf("%lld|MANAGER|%s|%s|ADDMEMBER|\n", t, q.c_str(), a.c_str());
          } else if (q.empty()) {
            std::printf("%lld|NONE|NONE|%s|UNPAUSEALL|\n", t, a.c_str());
          }
          break;
        case ccmon::AgentState::kNotReady:
          std::printf("%lld|NONE|NONE|%s|PAUSEALL|%s\n", t, a.c_str(), S(s->reason).c_str());
          break;
        case ccmon::AgentState::kLoggedOut:
          std::printf("%lld|NONE|NONE|%s|AGENTLOGOFF|\n", t, a.c_str());
          break;
        default:
          break;
      }
    }
  });
  return 0;
}
