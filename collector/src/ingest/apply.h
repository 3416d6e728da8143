// Applies one received batch to the engine: the single path shared by live ingest and WAL
// replay, so recovery rebuilds exactly what ingest built. Not thread-safe (the apply thread
// runs it).
#pragma once

#include <span>
#include <string_view>

#include "ccmon/collector/engine.h"
#include "ccmon/v1/ingest.pb.h"
#include "ccmon/wire/codec.h"

namespace ccmon::collector {

// Applies every event of a batch decoded by wire::DecodeBatch; rejected ones are added to *ack
// when ack is not null.
void ApplyBatch(Engine& engine, std::string_view site, std::string_view instance,
                std::span<const wire::DecodedEvent> batch, v1::Ack* ack);

}  // namespace ccmon::collector
