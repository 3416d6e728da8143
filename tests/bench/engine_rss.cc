// Collector memory at scale: feeds an in-process Engine the state of SITES sites x QUEUES
// queues x AGENTS agents (every agent logged in to every queue of its site, calls answered,
// completed and abandoned in every queue, a link and a heartbeat per site) and prints the
// process's VmRSS before and after, and the apply rate. Runs in its own process so nothing
// else is in the figure. Benchmark tool, not shipped.
//
//   engine_rss [SITES=1000] [QUEUES=10] [AGENTS=50] [CALLS_PER_QUEUE=20]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "ccmon/collector/clock.h"
#include "ccmon/collector/engine.h"

namespace {

long RssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  const int sites = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int queues = argc > 2 ? std::atoi(argv[2]) : 10;
  const int agents = argc > 3 ? std::atoi(argv[3]) : 50;
  const int calls = argc > 4 ? std::atoi(argv[4]) : 20;
  const std::int64_t now = 1795600800000;
  ccmon::collector::FakeClock clock(now);
  ccmon::collector::Engine engine(ccmon::collector::CoreConfig{}, clock);
  const long before = RssKiB();

  std::vector<std::string> qn, an;
  for (int q = 0; q < queues; ++q) qn.push_back("queue-" + std::to_string(q));
  for (int a = 0; a < agents; ++a) an.push_back("SIP/" + std::to_string(1000 + a));
  std::uint64_t events = 0, rejected = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < sites; ++s) {
    const std::string site = "site-" + std::to_string(s);
    const std::string inst = site + "-agent";
    engine.OpenStream(site, inst, "bench");
    std::uint64_t seq = 0;
    std::int64_t t = now - 1800 * 1000;
    auto apply = [&](ccmon::EventBody body) {
      ++events;
      const auto r = engine.Apply(site, inst, ccmon::Event{++seq, t, body});
      if (r.kind != ccmon::collector::ApplyResult::Kind::kAccepted) ++rejected;
    };
    for (int a = 0; a < agents; ++a) {
      for (int q = 0; q < queues; ++q) {
        apply(ccmon::AgentStateEvent{an[a], qn[q], ccmon::AgentState::kReady, {}});
      }
    }
    std::vector<std::string> ids;
    ids.reserve(static_cast<std::size_t>(queues) * static_cast<std::size_t>(calls));
    for (int c = 0; c < calls; ++c) {
      for (int q = 0; q < queues; ++q) {
        const std::string& id = ids.emplace_back(site + "-" + std::to_string(c * queues + q));
        t += 500;
        ccmon::CallEvent ce;
        ce.queue = qn[q];
        ce.call_id = id;
        ce.caller_id = "+15550001234";
        ce.kind = ccmon::CallKind::kOffered;
        apply(ce);
        ce.wait_ms = static_cast<std::uint32_t>(1000 + (c * 7919) % 40000);
        if (c % 5 == 4) {
          ce.kind = ccmon::CallKind::kAbandoned;
          apply(ce);
          continue;
        }
        ce.kind = ccmon::CallKind::kAnswered;
        ce.agent = an[(c + q) % agents];
        apply(ce);
        ce.kind = ccmon::CallKind::kCompleted;
        ce.talk_ms = 120000;
        apply(ce);
      }
    }
    apply(ccmon::LinkSample{"wan", 40, 2, 0, true});
    ccmon::Heartbeat hb;
    hb.agent_time_ms = t;
    hb.interval_ms = 5000;
    apply(hb);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto snap = engine.TakeSnapshot();
  const long after = RssKiB();
  std::printf(
      "sites %d queues %d agents %d events %llu rejected %llu queue_views %zu "
      "rss_before_kib %ld rss_after_kib %ld apply_ev_per_s %.0f\n",
      sites, queues, agents, static_cast<unsigned long long>(events),
      static_cast<unsigned long long>(rejected), snap.queues.size(), before, after,
      static_cast<double>(events) / secs);
  return 0;
}
