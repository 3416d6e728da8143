// Applies one received batch to the engine: the single path shared by live ingest and WAL
// replay, so recovery rebuilds exactly what ingest built. Not thread-safe (engine lock held).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "ccmon/collector/engine.h"
#include "ccmon/v1/ingest.pb.h"
#include "ccmon/wire/codec.h"

namespace ccmon::collector {

// Applies every event of a batch decoded by wire::DecodeBatch; rejected ones are added to *ack
// when ack is not null.
void ApplyBatch(Engine& engine, std::string_view site, std::string_view instance,
                std::span<const wire::DecodedEvent> batch, v1::Ack* ack);

// WAL record of a batch: site, instance and the serialised EventBatch as received, into *out
// (its capacity is reused).
void EncodeWalRecord(std::string_view site, std::string_view instance, std::string_view batch_bytes,
                     std::string* out);
// Splits a WAL record; the views point into `record`. *batch is the serialised EventBatch.
bool DecodeWalRecord(std::string_view record, std::string_view* site, std::string_view* instance,
                     std::string_view* batch);

}  // namespace ccmon::collector
