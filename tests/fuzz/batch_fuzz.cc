// Fuzzes what an agent can send: a serialized EventBatch is decoded, converted and applied to
// the collector core, then a snapshot and the ledger are taken.
#include <cstddef>
#include <cstdint>

#include "ccmon/collector/engine.h"
#include "ccmon/v1/ingest.pb.h"
#include "ccmon/wire/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ccmon::collector::FakeClock clock(1795651200000);
  ccmon::collector::CoreConfig cfg;
  cfg.limits.max_queues_per_site = 8;
  cfg.limits.max_agents_per_site = 8;
  ccmon::collector::Engine engine(cfg, clock);
  ccmon::v1::EventBatch batch;
  if (!batch.ParseFromArray(data, static_cast<int>(size))) return 0;
  engine.OpenStream("site", "inst", "fuzz");
  ccmon::Event e;
  for (const auto& pe : batch.events()) {
    if (!ccmon::wire::FromProto(pe, &e).empty()) {
      engine.Reject("site", "inst", pe.seq(), "no_body");
      continue;
    }
    engine.Apply("site", "inst", e);
  }
  engine.Tick();
  (void)engine.TakeSnapshot();
  (void)engine.Ledger("", "");
  return 0;
}
