#include "ccmon/wire/codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/wire_format_lite.h>

#include <limits>

#include "ccmon/v1/ingest.pb.h"

namespace ccmon::wire {

void ToProto(const Event& in, v1::Event* out) {
  out->set_seq(in.seq);
  out->set_event_time_ms(in.time_ms);
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, CallEvent>) {
          auto* c = out->mutable_call();
          c->set_kind(static_cast<v1::CallEvent::Kind>(b.kind));
          c->set_queue(b.queue.data(), b.queue.size());
          c->set_call_id(b.call_id.data(), b.call_id.size());
          c->set_agent(b.agent.data(), b.agent.size());
          c->set_caller_id(b.caller_id.data(), b.caller_id.size());
          c->set_wait_ms(b.wait_ms);
          c->set_talk_ms(b.talk_ms);
          c->set_hold_ms(b.hold_ms);
          c->set_acw_ms(b.acw_ms);
          c->set_ring_ms(b.ring_ms);
          c->set_position(b.position);
          c->set_reason(static_cast<v1::UnansweredReason>(b.reason));
          c->set_hung_up_by(static_cast<v1::Party>(b.hung_up_by));
          c->set_reconstructed(b.reconstructed);
          c->set_wait_unknown(b.wait_unknown);
        } else if constexpr (std::is_same_v<T, AgentStateEvent>) {
          auto* a = out->mutable_agent_state();
          a->set_agent(b.agent.data(), b.agent.size());
          a->set_queue(b.queue.data(), b.queue.size());
          a->set_state(static_cast<v1::AgentStateEvent::State>(b.state));
          a->set_reason(b.reason.data(), b.reason.size());
        } else if constexpr (std::is_same_v<T, LinkSample>) {
          auto* l = out->mutable_link();
          l->set_link(b.link.data(), b.link.size());
          l->set_rtt_ms(b.rtt_ms);
          l->set_jitter_ms(b.jitter_ms);
          l->set_loss_ratio(b.loss_ratio);
          l->set_up(b.up);
          l->set_kind(static_cast<v1::LinkKind>(b.kind));
          l->set_sip_status(b.sip_status);
        } else if constexpr (std::is_same_v<T, VoiceQuality>) {
          auto* v = out->mutable_voice();
          v->set_call_id(b.call_id.data(), b.call_id.size());
          v->set_queue(b.queue.data(), b.queue.size());
          v->set_agent(b.agent.data(), b.agent.size());
          v->set_mos(b.mos);
          v->set_jitter_ms(b.jitter_ms);
          v->set_loss_ratio(b.loss_ratio);
          v->set_rtt_ms(b.rtt_ms);
        } else {
          auto* h = out->mutable_heartbeat();
          h->set_agent_time_ms(b.agent_time_ms);
          h->set_spool_backlog_events(b.spool_backlog_events);
          h->set_spool_backlog_bytes(b.spool_backlog_bytes);
          h->set_events_dropped(b.events_dropped);
          h->set_agent_version(b.agent_version.data(), b.agent_version.size());
          h->set_interval_ms(b.interval_ms);
          h->set_spool_paused(b.spool_paused);
          h->set_lines_rejected(b.lines_rejected);
          h->set_replicas_given_up(b.replicas_given_up);
          h->set_sources_waiting(b.sources_waiting);
        }
      },
      in.body);
}

namespace {

// The enum values the domain events know; anything else is refused as "unknown_enum".
static_assert(v1::UnansweredReason_MAX == v1::UNANSWERED_REASON_LOST &&
                  static_cast<int>(UnansweredReason::kLost) == v1::UNANSWERED_REASON_LOST &&
                  kUnansweredReasonCount == v1::UNANSWERED_REASON_LOST + 1,
              "events.proto UnansweredReason and ccmon::UnansweredReason must match");
bool KnownCallEnums(std::int32_t kind, std::int32_t reason, std::int32_t hung_up_by) {
  return kind >= v1::CallEvent::KIND_OFFERED && kind <= v1::CallEvent::KIND_RING_NO_ANSWER &&
         reason >= 0 && reason <= v1::UNANSWERED_REASON_LOST && hung_up_by >= 0 &&
         hung_up_by <= v1::PARTY_AGENT;
}
bool KnownAgentState(std::int32_t state) {
  return state >= v1::AgentStateEvent::STATE_LOGGED_OUT &&
         state <= v1::AgentStateEvent::STATE_AFTER_CALL_WORK;
}
bool KnownLinkKind(std::int32_t kind) {
  return kind >= v1::LINK_KIND_UNSPECIFIED && kind <= v1::LINK_KIND_SIP_TRUNK;
}

}  // namespace

std::string_view FromProto(const v1::Event& in, Event* out) {
  out->seq = in.seq();
  out->time_ms = in.event_time_ms();
  switch (in.body_case()) {
    case v1::Event::kCall: {
      const auto& c = in.call();
      if (!KnownCallEnums(c.kind(), c.reason(), c.hung_up_by())) return "unknown_enum";
      CallEvent e;
      e.kind = static_cast<CallKind>(c.kind());
      e.queue = c.queue();
      e.call_id = c.call_id();
      e.agent = c.agent();
      e.caller_id = c.caller_id();
      e.wait_ms = c.wait_ms();
      e.talk_ms = c.talk_ms();
      e.hold_ms = c.hold_ms();
      e.acw_ms = c.acw_ms();
      e.ring_ms = c.ring_ms();
      e.position = c.position();
      e.reason = static_cast<UnansweredReason>(c.reason());
      e.hung_up_by = static_cast<Party>(c.hung_up_by());
      e.reconstructed = c.reconstructed();
      e.wait_unknown = c.wait_unknown();
      out->body = e;
      return {};
    }
    case v1::Event::kAgentState: {
      const auto& a = in.agent_state();
      if (!KnownAgentState(a.state())) return "unknown_enum";
      out->body =
          AgentStateEvent{a.agent(), a.queue(), static_cast<AgentState>(a.state()), a.reason()};
      return {};
    }
    case v1::Event::kLink: {
      const auto& l = in.link();
      if (!KnownLinkKind(l.kind())) return "unknown_enum";
      out->body = LinkSample{l.link(),       l.rtt_ms(), l.jitter_ms(),
                             l.loss_ratio(), l.up(),     static_cast<LinkKind>(l.kind()),
                             l.sip_status()};
      return {};
    }
    case v1::Event::kVoice: {
      const auto& v = in.voice();
      out->body = VoiceQuality{v.call_id(),   v.queue(),      v.agent(), v.mos(),
                               v.jitter_ms(), v.loss_ratio(), v.rtt_ms()};
      return {};
    }
    case v1::Event::kHeartbeat: {
      const auto& h = in.heartbeat();
      out->body = Heartbeat{h.agent_time_ms(),  h.spool_backlog_events(), h.spool_backlog_bytes(),
                            h.events_dropped(), h.agent_version(),        h.interval_ms(),
                            h.spool_paused(),   h.lines_rejected(),       h.replicas_given_up(),
                            h.sources_waiting()};
      return {};
    }
    case v1::Event::BODY_NOT_SET:
      break;
  }
  return "no_body";
}

std::string FromJsonLine(std::string_view line, v1::Event* storage, Event* out) {
  storage->Clear();
  google::protobuf::util::JsonParseOptions opt;
  opt.ignore_unknown_fields = false;  // a misspelt field must not vanish silently
  const auto st = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(line.data(), line.size()), storage, opt);
  if (!st.ok()) return "not a ccmon event: " + std::string(st.message());
  if (storage->event_time_ms() <= 0) return "event_time_ms missing or not positive";
  const std::string_view bad = FromProto(*storage, out);
  if (bad == "no_body") return "no event body (call, agent_state, link, voice or heartbeat)";
  if (!bad.empty()) return "unknown enum value";
  return {};
}

namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

constexpr std::uint32_t Varint(int field) {
  return WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_VARINT);
}
constexpr std::uint32_t Fixed64(int field) {
  return WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_FIXED64);
}
constexpr std::uint32_t Bytes(int field) {
  return WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
}

// A tag or a length: CodedInputStream accepts over-long varints (up to 10 bytes) where the
// generated parser stops at 5.
constexpr int kMaxTagOrSizeBytes = 5;

std::uint32_t ReadTag(CodedInputStream& in) {
  const int at = in.CurrentPosition();
  const std::uint32_t tag = in.ReadTag();
  return in.CurrentPosition() - at <= kMaxTagOrSizeBytes ? tag : 0;
}

bool ReadSize(CodedInputStream& in, int* size) {
  const int at = in.CurrentPosition();
  return in.ReadVarintSizeAsInt(size) && in.CurrentPosition() - at <= kMaxTagOrSizeBytes;
}

// Skips a field this decoder does not read (unknown, or a known number with another wire
// type: the generated parser keeps both as unknown fields). Fails where it fails: field number
// 0, wire types 6 and 7, a stray end-group, unterminated or mismatched groups, depth > 100.
bool SkipUnknown(CodedInputStream& in, std::uint32_t tag) {
  if (WireFormatLite::GetTagFieldNumber(tag) == 0) return false;
  switch (WireFormatLite::GetTagWireType(tag)) {
    case WireFormatLite::WIRETYPE_END_GROUP:
      return false;
    case WireFormatLite::WIRETYPE_START_GROUP: {
      if (!in.IncrementRecursionDepth()) return false;
      const std::uint32_t end = WireFormatLite::MakeTag(WireFormatLite::GetTagFieldNumber(tag),
                                                        WireFormatLite::WIRETYPE_END_GROUP);
      while (true) {
        const std::uint32_t inner = ReadTag(in);
        if (inner == end) break;
        if (inner == 0 || !SkipUnknown(in, inner)) return false;
      }
      in.DecrementRecursionDepth();
      return true;
    }
    case WireFormatLite::WIRETYPE_VARINT: {
      std::uint64_t value = 0;
      return in.ReadVarint64(&value);
    }
    case WireFormatLite::WIRETYPE_FIXED64:
      return in.Skip(8);
    case WireFormatLite::WIRETYPE_FIXED32:
      return in.Skip(4);
    case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
      int size = 0;
      return ReadSize(in, &size) && in.Skip(size);
    }
    default:
      return false;
  }
}

// Reads the fields of a message that ends at input position `end`, handing each tag to
// `field` (which reads the value and returns false on malformed data). Positions are checked
// here rather than with CodedInputStream limits (out-of-line calls on every field): a field
// that runs past the end leaves the position past it, which fails like the generated parser.
template <typename F>
bool ReadFields(CodedInputStream& in, std::int64_t end, F&& field) {
  while (in.CurrentPosition() < end) {
    const std::uint32_t tag = ReadTag(in);
    if (tag == 0 || !field(tag)) return false;
  }
  return in.CurrentPosition() == end;
}

// A length-delimited sub-message, read by ReadFields.
template <typename F>
bool ReadMessage(CodedInputStream& in, F&& field) {
  int size = 0;
  if (!ReadSize(in, &size) || !in.IncrementRecursionDepth()) return false;
  if (!ReadFields(in, std::int64_t{in.CurrentPosition()} + size, field)) return false;
  in.DecrementRecursionDepth();
  return true;
}

// A string field as a view into the input (which starts at `base`); proto3 strings must be
// valid UTF-8.
bool ReadText(CodedInputStream& in, const char* base, std::string_view* out) {
  int size = 0;
  if (!ReadSize(in, &size)) return false;
  const int at = in.CurrentPosition();
  if (!in.Skip(size)) return false;
  *out = std::string_view(base + at, static_cast<std::size_t>(size));
  return google::protobuf::internal::IsStructurallyValidUTF8(out->data(), size);
}

template <typename T>
bool ReadVarint(CodedInputStream& in, T* out) {
  std::uint64_t v = 0;
  if (!in.ReadVarint64(&v)) return false;
  if constexpr (std::is_same_v<T, bool>) {
    *out = v != 0;
  } else {
    *out = static_cast<T>(v);
  }
  return true;
}

bool ReadDouble(CodedInputStream& in, double* out) {
  std::uint64_t v = 0;
  if (!in.ReadLittleEndian64(&v)) return false;
  *out = WireFormatLite::DecodeDouble(v);
  return true;
}

// The enums of a CallEvent or AgentStateEvent as on the wire: they stay raw until the event
// is complete, since a later occurrence of the same sub-message may still change them.
struct RawEnums {
  std::int32_t kind = 0;
  std::int32_t reason = 0;
  std::int32_t hung_up_by = 0;
  std::int32_t state = 0;
  std::int32_t link_kind = 0;
};

bool ReadCall(CodedInputStream& in, const char* base, CallEvent* c, RawEnums* raw) {
  return ReadMessage(in, [&](std::uint32_t tag) {
    switch (tag) {
      case Varint(1):
        return ReadVarint(in, &raw->kind);
      case Bytes(2):
        return ReadText(in, base, &c->queue);
      case Bytes(3):
        return ReadText(in, base, &c->call_id);
      case Bytes(4):
        return ReadText(in, base, &c->agent);
      case Bytes(5):
        return ReadText(in, base, &c->caller_id);
      case Varint(6):
        return ReadVarint(in, &c->wait_ms);
      case Varint(7):
        return ReadVarint(in, &c->talk_ms);
      case Varint(8):
        return ReadVarint(in, &c->hold_ms);
      case Varint(9):
        return ReadVarint(in, &c->acw_ms);
      case Varint(10):
        return ReadVarint(in, &c->ring_ms);
      case Varint(11):
        return ReadVarint(in, &c->position);
      case Varint(12):
        return ReadVarint(in, &raw->reason);
      case Varint(13):
        return ReadVarint(in, &raw->hung_up_by);
      case Varint(14):
        return ReadVarint(in, &c->reconstructed);
      case Varint(15):
        return ReadVarint(in, &c->wait_unknown);
      default:
        return SkipUnknown(in, tag);
    }
  });
}

bool ReadAgentState(CodedInputStream& in, const char* base, AgentStateEvent* a, RawEnums* raw) {
  return ReadMessage(in, [&](std::uint32_t tag) {
    switch (tag) {
      case Bytes(1):
        return ReadText(in, base, &a->agent);
      case Bytes(2):
        return ReadText(in, base, &a->queue);
      case Varint(3):
        return ReadVarint(in, &raw->state);
      case Bytes(4):
        return ReadText(in, base, &a->reason);
      default:
        return SkipUnknown(in, tag);
    }
  });
}

bool ReadLink(CodedInputStream& in, const char* base, LinkSample* l, RawEnums* raw) {
  return ReadMessage(in, [&](std::uint32_t tag) {
    switch (tag) {
      case Bytes(1):
        return ReadText(in, base, &l->link);
      case Fixed64(2):
        return ReadDouble(in, &l->rtt_ms);
      case Fixed64(3):
        return ReadDouble(in, &l->jitter_ms);
      case Fixed64(4):
        return ReadDouble(in, &l->loss_ratio);
      case Varint(5):
        return ReadVarint(in, &l->up);
      case Varint(6):
        return ReadVarint(in, &raw->link_kind);
      case Varint(7):
        return ReadVarint(in, &l->sip_status);
      default:
        return SkipUnknown(in, tag);
    }
  });
}

bool ReadVoice(CodedInputStream& in, const char* base, VoiceQuality* v) {
  return ReadMessage(in, [&](std::uint32_t tag) {
    switch (tag) {
      case Bytes(1):
        return ReadText(in, base, &v->call_id);
      case Bytes(2):
        return ReadText(in, base, &v->queue);
      case Bytes(3):
        return ReadText(in, base, &v->agent);
      case Fixed64(4):
        return ReadDouble(in, &v->mos);
      case Fixed64(5):
        return ReadDouble(in, &v->jitter_ms);
      case Fixed64(6):
        return ReadDouble(in, &v->loss_ratio);
      case Fixed64(7):
        return ReadDouble(in, &v->rtt_ms);
      default:
        return SkipUnknown(in, tag);
    }
  });
}

bool ReadHeartbeat(CodedInputStream& in, const char* base, Heartbeat* h) {
  return ReadMessage(in, [&](std::uint32_t tag) {
    switch (tag) {
      case Varint(1):
        return ReadVarint(in, &h->agent_time_ms);
      case Varint(2):
        return ReadVarint(in, &h->spool_backlog_events);
      case Varint(3):
        return ReadVarint(in, &h->spool_backlog_bytes);
      case Varint(4):
        return ReadVarint(in, &h->events_dropped);
      case Bytes(5):
        return ReadText(in, base, &h->agent_version);
      case Varint(6):
        return ReadVarint(in, &h->interval_ms);
      case Varint(7):
        return ReadVarint(in, &h->spool_paused);
      case Varint(8):
        return ReadVarint(in, &h->lines_rejected);
      case Varint(9):
        return ReadVarint(in, &h->replicas_given_up);
      case Varint(10):
        return ReadVarint(in, &h->sources_waiting);
      default:
        return SkipUnknown(in, tag);
    }
  });
}

// One Event: scalars, then the oneof body, decoded in place into event.body (an occurrence of
// another member replaces it, one of the same member merges into it), checked like FromProto
// once complete.
bool ReadEvent(CodedInputStream& in, const char* base, DecodedEvent* out) {
  Event& e = out->event;
  e.seq = 0;
  e.time_ms = 0;
  constexpr std::uint32_t kCall = v1::Event::kCallFieldNumber;
  constexpr std::uint32_t kAgentState = v1::Event::kAgentStateFieldNumber;
  constexpr std::uint32_t kLink = v1::Event::kLinkFieldNumber;
  std::uint32_t body = 0;  // field number of the oneof member set, 0: none
  RawEnums raw;
  // The member `number` of type T, entered from its proto defaults if another was set.
  const auto member = [&]<typename T>(std::uint32_t number, T defaults) -> T* {
    if (body == number) return std::get_if<T>(&e.body);
    body = number;
    raw = {};
    return &e.body.emplace<T>(defaults);
  };
  const bool ok = ReadMessage(in, [&](std::uint32_t tag) {
    switch (tag) {
      case Varint(v1::Event::kSeqFieldNumber):
        return ReadVarint(in, &e.seq);
      case Varint(v1::Event::kEventTimeMsFieldNumber):
        return ReadVarint(in, &e.time_ms);
      case Bytes(kCall):
        return ReadCall(in, base, member(kCall, CallEvent{}), &raw);
      case Bytes(kAgentState):
        return ReadAgentState(in, base, member(kAgentState, AgentStateEvent{}), &raw);
      case Bytes(kLink): {
        LinkSample defaults;
        defaults.up = false;  // the proto default, unlike LinkSample's
        return ReadLink(in, base, member(kLink, defaults), &raw);
      }
      case Bytes(v1::Event::kVoiceFieldNumber):
        return ReadVoice(in, base, member(v1::Event::kVoiceFieldNumber, VoiceQuality{}));
      case Bytes(v1::Event::kHeartbeatFieldNumber):
        return ReadHeartbeat(in, base, member(v1::Event::kHeartbeatFieldNumber, Heartbeat{}));
      default:
        return SkipUnknown(in, tag);
    }
  });
  if (!ok) return false;
  out->bad = {};
  if (body == 0) {
    out->bad = "no_body";
  } else if (auto* c = std::get_if<CallEvent>(&e.body); body == kCall) {
    if (!KnownCallEnums(raw.kind, raw.reason, raw.hung_up_by)) {
      out->bad = "unknown_enum";
    } else {
      c->kind = static_cast<CallKind>(raw.kind);
      c->reason = static_cast<UnansweredReason>(raw.reason);
      c->hung_up_by = static_cast<Party>(raw.hung_up_by);
    }
  } else if (auto* a = std::get_if<AgentStateEvent>(&e.body); body == kAgentState) {
    if (!KnownAgentState(raw.state)) {
      out->bad = "unknown_enum";
    } else {
      a->state = static_cast<AgentState>(raw.state);
    }
  } else if (auto* l = std::get_if<LinkSample>(&e.body); body == kLink) {
    if (!KnownLinkKind(raw.link_kind)) {
      out->bad = "unknown_enum";
    } else {
      l->kind = static_cast<LinkKind>(raw.link_kind);
    }
  }
  return true;
}

}  // namespace

bool DecodeBatch(std::string_view bytes, std::vector<DecodedEvent>* out, int enclosing) {
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return false;
  CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  in.SetRecursionLimit(CodedInputStream::GetDefaultRecursionLimit() - enclosing);
  // Elements of *out are reused as they are (ReadEvent sets every field it reports): zeroing
  // each new one cost as much as decoding its scalars.
  std::size_t n = 0;
  const bool ok = ReadFields(in, static_cast<std::int64_t>(bytes.size()), [&](std::uint32_t tag) {
    if (tag != Bytes(v1::EventBatch::kEventsFieldNumber)) return SkipUnknown(in, tag);
    if (n == out->size()) out->emplace_back();
    return ReadEvent(in, bytes.data(), &(*out)[n++]);
  });
  out->resize(n);
  return ok;
}

std::string_view BatchPayload(std::string_view agent_message) {
  // Only the canonical one-byte tag and a length of at most 5 bytes: anything more exotic is
  // left to the generated parser (the caller's fallback), which judges it exactly.
  constexpr char kBatchTag = static_cast<char>(Bytes(v1::AgentMessage::kBatchFieldNumber));
  if (agent_message.empty() || agent_message[0] != kBatchTag ||
      agent_message.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return {};
  }
  CodedInputStream in(reinterpret_cast<const std::uint8_t*>(agent_message.data()),
                      static_cast<int>(agent_message.size()));
  int size = 0;
  if (!in.Skip(1) || !ReadSize(in, &size)) return {};
  const auto start = static_cast<std::size_t>(in.CurrentPosition());
  if (size == 0 || start + static_cast<std::size_t>(size) != agent_message.size()) return {};
  return agent_message.substr(start);
}

}  // namespace ccmon::wire
