#include "ingest/apply.h"

#include <cstring>

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

namespace {
void PutStr(std::string* out, std::string_view s) {
  const auto n = static_cast<std::uint16_t>(s.size());
  out->append(reinterpret_cast<const char*>(&n), 2);
  out->append(s.substr(0, n));
}
bool GetStr(std::string_view* in, std::string_view* s) {
  std::uint16_t n = 0;
  if (in->size() < 2) return false;
  std::memcpy(&n, in->data(), 2);
  in->remove_prefix(2);
  if (in->size() < n) return false;
  *s = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}
}  // namespace

void EncodeWalRecord(std::string_view site, std::string_view instance, std::string_view batch_bytes,
                     std::string* out) {
  out->clear();
  out->reserve(8 + site.size() + instance.size() + batch_bytes.size());
  PutStr(out, site);
  PutStr(out, instance);
  out->append(batch_bytes);
}

bool DecodeWalRecord(std::string_view record, std::string_view* site, std::string_view* instance,
                     std::string_view* batch) {
  if (!GetStr(&record, site) || !GetStr(&record, instance)) return false;
  *batch = record;
  return true;
}

}  // namespace ccmon::collector
