#include "ccmon/wire/codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/wire_format_lite.h>

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
        }
      },
      in.body);
}

std::string_view FromProto(const v1::Event& in, Event* out) {
  out->seq = in.seq();
  out->time_ms = in.event_time_ms();
  switch (in.body_case()) {
    case v1::Event::kCall: {
      const auto& c = in.call();
      if (c.kind() < v1::CallEvent::KIND_OFFERED || c.kind() > v1::CallEvent::KIND_RING_NO_ANSWER ||
          c.reason() < 0 || c.reason() > v1::UNANSWERED_REASON_WITHDRAW || c.hung_up_by() < 0 ||
          c.hung_up_by() > v1::PARTY_AGENT) {
        return "unknown_enum";
      }
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
      out->body = e;
      return {};
    }
    case v1::Event::kAgentState: {
      const auto& a = in.agent_state();
      if (a.state() < v1::AgentStateEvent::STATE_LOGGED_OUT ||
          a.state() > v1::AgentStateEvent::STATE_AFTER_CALL_WORK) {
        return "unknown_enum";
      }
      out->body =
          AgentStateEvent{a.agent(), a.queue(), static_cast<AgentState>(a.state()), a.reason()};
      return {};
    }
    case v1::Event::kLink: {
      const auto& l = in.link();
      out->body = LinkSample{l.link(), l.rtt_ms(), l.jitter_ms(), l.loss_ratio(), l.up()};
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
                            h.events_dropped(), h.agent_version(),        h.interval_ms()};
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

std::string_view BatchPayload(std::string_view agent_message) {
  using google::protobuf::internal::WireFormatLite;
  constexpr std::uint32_t kBatchTag = WireFormatLite::MakeTag(
      v1::AgentMessage::kBatchFieldNumber, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const std::uint8_t*>(agent_message.data()),
      static_cast<int>(agent_message.size()));
  std::uint32_t size = 0;
  if (in.ReadTag() != kBatchTag || !in.ReadVarint32(&size)) return {};
  const auto start = static_cast<std::size_t>(in.CurrentPosition());
  if (size == 0 || start + size != agent_message.size()) return {};
  return agent_message.substr(start);
}

}  // namespace ccmon::wire
