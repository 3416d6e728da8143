// Applies one received batch to the engine: the single path shared by live ingest and WAL
// replay, so recovery rebuilds exactly what ingest built. Not thread-safe (engine lock held).
#pragma once

#include <string>
#include <string_view>

#include "ccmon/collector/engine.h"
#include "ccmon/v1/ingest.pb.h"

namespace ccmon::collector {

// Applies every event; rejected ones are added to *ack when ack is not null.
void ApplyBatch(Engine& engine, std::string_view site, std::string_view instance,
                const v1::EventBatch& batch, v1::Ack* ack);

// WAL record of a batch: site, instance and the batch as received.
std::string EncodeWalRecord(std::string_view site, std::string_view instance,
                            const v1::EventBatch& batch);
// The same into *out (its capacity is reused).
void EncodeWalRecord(std::string_view site, std::string_view instance, const v1::EventBatch& batch,
                     std::string* out);
// The same from the batch's serialised bytes as received (no re-serialisation).
void EncodeWalRecord(std::string_view site, std::string_view instance, std::string_view batch_bytes,
                     std::string* out);
bool DecodeWalRecord(std::string_view record, std::string* site, std::string* instance,
                     v1::EventBatch* batch);

}  // namespace ccmon::collector
