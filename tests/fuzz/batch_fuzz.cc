// Fuzzes what an agent can send: a serialized EventBatch is decoded, converted and applied to
// the collector core, then a snapshot and the ledger are taken. The same bytes, read as an
// AgentMessage, check wire::BatchPayload (the batch stored in the WAL as received): whenever it
// finds a payload, that payload parses to exactly the message's batch. And differentially:
// wire::DecodeBatch (the collector's decoder) must accept exactly what the generated parser
// accepts and give, event by event, what FromProto gives from the parsed message.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "ccmon/collector/engine.h"
#include "ccmon/v1/ingest.pb.h"
#include "ccmon/wire/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ccmon::collector::FakeClock clock(1795651200000);
  ccmon::collector::CoreConfig cfg;
  cfg.limits.max_queues_per_site = 8;
  cfg.limits.max_agents_per_site = 8;
  ccmon::collector::Engine engine(cfg, clock);
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (const std::string_view payload = ccmon::wire::BatchPayload(bytes); !payload.empty()) {
    ccmon::v1::AgentMessage message;
    ccmon::v1::EventBatch alone;
    // The collector parses the whole message first and refuses it if that fails; what it
    // parsed must then be what the WAL's copy of the payload replays to.
    if (message.ParseFromArray(data, static_cast<int>(size))) {
      const bool alone_ok = alone.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
      if (!alone_ok || message.msg_case() != ccmon::v1::AgentMessage::kBatch ||
          message.batch().SerializeAsString() != alone.SerializeAsString()) {
        __builtin_trap();
      }
    }
  }
  ccmon::v1::EventBatch batch;
  const bool parsed = batch.ParseFromArray(data, static_cast<int>(size));
  std::vector<ccmon::wire::DecodedEvent> decoded;
  if (ccmon::wire::DecodeBatch(bytes, &decoded) != parsed) __builtin_trap();
  if (!parsed) return 0;
  if (decoded.size() != static_cast<std::size_t>(batch.events_size())) __builtin_trap();
  for (int i = 0; i < batch.events_size(); ++i) {
    const auto& pe = batch.events(i);
    const auto& d = decoded[static_cast<std::size_t>(i)];
    ccmon::Event want;
    const std::string_view bad = ccmon::wire::FromProto(pe, &want);
    if (d.bad != bad || d.event.seq != pe.seq() || d.event.time_ms != pe.event_time_ms()) {
      __builtin_trap();
    }
    if (!bad.empty()) continue;
    ccmon::v1::Event a;
    ccmon::v1::Event b;
    ccmon::wire::ToProto(want, &a);
    ccmon::wire::ToProto(d.event, &b);
    if (a.SerializeAsString() != b.SerializeAsString()) __builtin_trap();
  }
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
