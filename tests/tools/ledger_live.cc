// Feeds a queue_log through the agent's state machine into the collector engine "live": a
// fake clock follows event time and the engine ticks every second, as a collector watching
// the site in real time would. Prints the ledger of one date as CSV (the columns the
// ledger-replay test compares). usage: ledger_live CONFIG SITE DATE QUEUE_LOG. Test tool.
#include <cstdio>
#include <fstream>
#include <string>

#include "ccmon/agent/queue_log.h"
#include "ccmon/collector/engine.h"
#include "ccmon/collector/options.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: ledger_live CONFIG SITE DATE QUEUE_LOG\n");
    return 2;
  }
  auto options = ccmon::collector::LoadCollectorOptions(argv[1]);
  if (!options.ok()) {
    std::fprintf(stderr, "%s\n", std::string(options.status().message()).c_str());
    return 2;
  }
  const std::string site = argv[2];
  ccmon::collector::FakeClock clock(0);
  ccmon::collector::Engine engine(options->core, clock);
  std::uint64_t seq = 0;
  std::int64_t last_tick_s = 0;
  ccmon::agent::QueueLogStateMachine machine([&](const ccmon::Event& e) {
    if (e.time_ms > clock.NowMs()) clock.Set(e.time_ms);
    const std::int64_t now_s = clock.NowMs() / 1000;
    for (; last_tick_s != 0 && last_tick_s < now_s; ++last_tick_s) engine.Tick();
    last_tick_s = now_s;
    ccmon::Event numbered = e;
    numbered.seq = ++seq;
    engine.Apply(site, "live", numbered);
  });
  std::ifstream in(argv[4]);
  std::string line;
  ccmon::agent::QueueLogLine parsed;
  while (std::getline(in, line)) {
    if (ccmon::agent::ParseQueueLogLine(line, &parsed).status == ccmon::agent::ParseStatus::kOk) {
      machine.Process(parsed);
    }
  }
  // An hour on with the PBX quiet: every interval the site's clock has passed closes.
  clock.Advance(3600 * 1000);
  engine.Tick();
  std::printf(
      "client,site,queue,local_start,offered,answered,answered_in_threshold,abandoned,"
      "short_abandoned,sl_result,abandon_result,asa_result\n");
  for (const auto& r : engine.Ledger("", argv[3])) {
    std::printf(
        "%s,%s,%s,%s,%llu,%llu,%llu,%llu,%llu,%s,%s,%s\n", r.client.c_str(), r.site.c_str(),
        r.queue.c_str(), r.LocalTime().c_str(), static_cast<unsigned long long>(r.counts.offered),
        static_cast<unsigned long long>(r.counts.answered),
        static_cast<unsigned long long>(r.counts.answered_in_threshold),
        static_cast<unsigned long long>(r.counts.abandoned),
        static_cast<unsigned long long>(r.counts.short_abandoned),
        ccmon::collector::ToString(r.SlResult()), ccmon::collector::ToString(r.AbandonResult()),
        ccmon::collector::ToString(r.AsaResult()));
  }
  return 0;
}
