#include "ingest/apply.h"

#include <cstring>

#include "ccmon/wire/codec.h"

namespace ccmon::collector {

void ApplyBatch(Engine& engine, std::string_view site, std::string_view instance,
                const v1::EventBatch& batch, v1::Ack* ack) {
  Event event;
  for (const auto& pe : batch.events()) {
    const std::string_view bad = wire::FromProto(pe, &event);
    if (!bad.empty()) {
      if (engine.Reject(site, instance, pe.seq(), bad) && ack != nullptr) {
        auto* r = ack->add_rejected();
        r->set_seq(pe.seq());
        r->set_reason(std::string(bad));
        r->set_detail("event body missing or enum value unknown");
      }
      continue;
    }
    ApplyResult res = engine.Apply(site, instance, event);
    if (res.kind == ApplyResult::Kind::kInvalid && ack != nullptr) {
      auto* r = ack->add_rejected();
      r->set_seq(pe.seq());
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
bool GetStr(std::string_view* in, std::string* s) {
  std::uint16_t n = 0;
  if (in->size() < 2) return false;
  std::memcpy(&n, in->data(), 2);
  in->remove_prefix(2);
  if (in->size() < n) return false;
  s->assign(in->substr(0, n));
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

void EncodeWalRecord(std::string_view site, std::string_view instance, const v1::EventBatch& batch,
                     std::string* out) {
  EncodeWalRecord(site, instance, std::string_view{}, out);
  batch.AppendToString(out);
}

std::string EncodeWalRecord(std::string_view site, std::string_view instance,
                            const v1::EventBatch& batch) {
  std::string out;
  EncodeWalRecord(site, instance, batch, &out);
  return out;
}

bool DecodeWalRecord(std::string_view record, std::string* site, std::string* instance,
                     v1::EventBatch* batch) {
  return GetStr(&record, site) && GetStr(&record, instance) &&
         batch->ParseFromArray(record.data(), static_cast<int>(record.size()));
}

}  // namespace ccmon::collector
