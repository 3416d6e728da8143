// Conversion between the plain domain events (ccmon/model/event.h) and the wire messages.
// The only place where the two meet. Thread-safe (stateless).
#pragma once

#include <string>
#include <string_view>
#include <vector>

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

// One event of a batch decoded by DecodeBatch: the event (views into the batch bytes), or,
// when `bad` is not empty, FromProto's reason label and only event.seq and event.time_ms set.
struct DecodedEvent {
  Event event;
  std::string_view bad;
};

// Decodes a serialised ccmon.v1.EventBatch straight into domain events, without building
// protobuf messages (the per-event hot path of ingest and WAL replay). Gives exactly what
// v1::EventBatch::ParseFromArray followed by FromProto on each event gives: the same wire
// semantics (unknown fields skipped, last scalar wins, repeated sub-messages merged, oneof
// switches, invalid UTF-8 in a string field fails the batch); the differential fuzz target
// tests/fuzz/batch_fuzz.cc checks it. Reads with protobuf's own CodedInputStream. `enclosing`
// is how many messages the batch is nested in (1 for the payload of an AgentMessage): they
// count toward protobuf's nesting limit of 100. Returns false when the generated parser would
// fail; *out then holds what was decoded before the failure, the last event possibly half
// decoded. *out's elements are reused.
bool DecodeBatch(std::string_view bytes, std::vector<DecodedEvent>* out, int enclosing = 0);

// The serialised EventBatch inside the bytes of a ccmon.v1.AgentMessage when the message is
// exactly its batch field in canonical framing (what agents send), so the batch can be
// decoded and stored as received: then DecodeBatch(payload, out, 1) succeeds exactly when
// AgentMessage::ParseFromArray does. Empty for anything else (other or unknown fields, an
// empty batch, over-long tag or length encodings, not protobuf), which the caller parses with
// the generated parser instead.
std::string_view BatchPayload(std::string_view agent_message);

}  // namespace ccmon::wire
