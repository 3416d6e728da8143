// Fuzzes what an agent can send, through the collector's decoder and engine.
// Differentially: wire::DecodeBatch must accept exactly what the generated parser accepts and
// give, event by event, what FromProto gives from the parsed message; read as an AgentMessage,
// whenever wire::BatchPayload finds the batch, decoding it (nested, as ingest does) must
// succeed exactly when the generated AgentMessage parse does, and the payload alone (what the
// WAL stores and replays) must parse to the message's batch. The decoded events are then
// applied to the collector core by ApplyBatch, and a snapshot and the ledger are taken. The
// decode vector is kept across inputs, as a stream keeps it across batches.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "ccmon/collector/engine.h"
#include "ccmon/v1/ingest.pb.h"
#include "ccmon/wire/codec.h"
#include "ingest/apply.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ccmon::collector::FakeClock clock(1795651200000);
  static std::vector<ccmon::wire::DecodedEvent> decoded;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (const std::string_view payload = ccmon::wire::BatchPayload(bytes); !payload.empty()) {
    ccmon::v1::AgentMessage message;
    const bool parsed = message.ParseFromArray(data, static_cast<int>(size));
    if (ccmon::wire::DecodeBatch(payload, &decoded, 1) != parsed) __builtin_trap();
    if (parsed) {
      ccmon::v1::EventBatch alone;
      const bool alone_ok = alone.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
      if (!alone_ok || message.msg_case() != ccmon::v1::AgentMessage::kBatch ||
          message.batch().SerializeAsString() != alone.SerializeAsString()) {
        __builtin_trap();
      }
    }
  }
  ccmon::v1::EventBatch batch;
  const bool parsed = batch.ParseFromArray(data, static_cast<int>(size));
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
  ccmon::collector::CoreConfig cfg;
  cfg.limits.max_queues_per_site = 8;
  cfg.limits.max_agents_per_site = 8;
  ccmon::collector::Engine engine(cfg, clock);
  engine.OpenStream("site", "inst", "fuzz");
  ccmon::v1::Ack ack;
  ccmon::collector::ApplyBatch(engine, "site", "inst", decoded, &ack);
  engine.Tick();
  (void)engine.TakeSnapshot();
  (void)engine.Ledger("", "");
  return 0;
}
