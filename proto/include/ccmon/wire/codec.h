// Conversion between the plain domain events (ccmon/model/event.h) and the wire messages.
// The only place where the two meet. Thread-safe (stateless).
#pragma once

#include <string_view>

#include "ccmon/model/event.h"
#include "ccmon/v1/events.pb.h"

namespace ccmon::wire {

void ToProto(const Event& in, v1::Event* out);

// Views in *out point into `in`, which must outlive *out. On failure returns a stable reason
// label ("no_body", "unknown_enum") and leaves *out unspecified; returns "" on success.
std::string_view FromProto(const v1::Event& in, Event* out);

}  // namespace ccmon::wire
