// Conversion between the plain domain events (ccmon/model/event.h) and the wire messages.
// The only place where the two meet. Thread-safe (stateless).
#pragma once

#include <string>
#include <string_view>

#include "ccmon/model/event.h"
#include "ccmon/v1/events.pb.h"

namespace ccmon::wire {

void ToProto(const Event& in, v1::Event* out);

// Views in *out point into `in`, which must outlive *out. On failure returns a stable reason
// label ("no_body", "unknown_enum") and leaves *out unspecified; returns "" on success.
std::string_view FromProto(const v1::Event& in, Event* out);

// Parses one JSON-lines record (protobuf's JSON mapping of v1::Event, docs/jsonl.md) into
// *storage and *out (views into *storage). Returns "" or why the line is bad.
std::string FromJsonLine(std::string_view line, v1::Event* storage, Event* out);

// The serialised EventBatch inside the bytes of a ccmon.v1.AgentMessage when the message is
// exactly its batch field (what agents send), so the batch can be stored as received; empty
// when the bytes are anything else (other or unknown fields, an empty batch, not protobuf).
std::string_view BatchPayload(std::string_view agent_message);

}  // namespace ccmon::wire
