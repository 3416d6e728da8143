#include "ingest/apply.h"

#include "ccmon/wire/codec.h"

namespace ccmon::collector {

void ApplyBatch(Engine& engine, std::string_view site, std::string_view instance,
                std::span<const wire::DecodedEvent> batch, v1::Ack* ack) {
  const std::int64_t now = engine.clock().NowMs();
  for (const wire::DecodedEvent& d : batch) {
    if (!d.bad.empty()) {
      if (engine.Reject(site, instance, d.event.seq, d.bad) && ack != nullptr) {
        auto* r = ack->add_rejected();
        r->set_seq(d.event.seq);
        r->set_reason(std::string(d.bad));
        r->set_detail("event body missing or enum value unknown");
      }
      continue;
    }
    ApplyResult res = engine.Apply(site, instance, d.event, now);
    if (res.kind == ApplyResult::Kind::kInvalid && ack != nullptr) {
      auto* r = ack->add_rejected();
      r->set_seq(d.event.seq);
      r->set_reason(std::string(res.reason));
      r->set_detail(std::move(res.detail));
    }
  }
}

}  // namespace ccmon::collector
