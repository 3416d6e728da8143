// Plain domain form of the wire events (proto/ccmon/v1/events.proto), shared by agent and
// collector cores. Strings are views: an Event is valid only while its producer's storage is,
// which keeps the per-event path free of copies. Not thread-safe; a value type.
#pragma once

#include <cstdint>
#include <string_view>
#include <variant>

namespace ccmon {

enum class CallKind : std::uint8_t {
  kOffered = 1,
  kAnswered = 2,
  kAbandoned = 3,
  kUnanswered = 4,
  kCompleted = 5,
  kTransferred = 6,
  kRingNoAnswer = 7,
};

enum class UnansweredReason : std::uint8_t {
  kNone = 0,
  kTimeout = 1,
  kKey = 2,
  kEmpty = 3,
  kWithdraw = 4,
  kLost = 5,  // no outcome logged before the queue's maximum wait
};
inline constexpr int kUnansweredReasonCount = 6;

enum class Party : std::uint8_t { kUnknown = 0, kCaller = 1, kAgent = 2 };

enum class AgentState : std::uint8_t {
  kLoggedOut = 1,
  kReady = 2,
  kNotReady = 3,
  kOnCall = 4,
  kAfterCallWork = 5,
};
inline constexpr int kAgentStateCount = 6;  // index 0 unused

struct CallEvent {
  CallKind kind = CallKind::kOffered;
  std::string_view queue;
  std::string_view call_id;
  std::string_view agent;
  std::string_view caller_id;
  std::uint32_t wait_ms = 0;
  std::uint32_t talk_ms = 0;
  std::uint32_t hold_ms = 0;
  std::uint32_t acw_ms = 0;
  std::uint32_t ring_ms = 0;
  std::uint32_t position = 0;
  UnansweredReason reason = UnansweredReason::kNone;
  Party hung_up_by = Party::kUnknown;
  bool reconstructed = false;
  bool wait_unknown = false;  // wait_ms is meaningless (see events.proto)
};

// Reasons of states that follow a call rather than a console (events.proto AgentStateEvent).
inline constexpr std::string_view kReasonWrapup = "wrapuptime";
inline constexpr std::string_view kReasonWrapupEnd = "ccmon:wrapup-end";
inline constexpr std::string_view kReasonCallEnd = "ccmon:call-end";

struct AgentStateEvent {
  std::string_view agent;
  std::string_view queue;  // empty: every queue the agent belongs to
  AgentState state = AgentState::kReady;
  std::string_view reason;
};

// What a link probe tests (events.proto LinkKind).
enum class LinkKind : std::uint8_t {
  kNetwork = 0,   // a TCP connect to a network path
  kSipTrunk = 1,  // SIP OPTIONS to a trunk
};

// Whether a SIP trunk's final answer to OPTIONS (sip_status, 0 = none) says it would take
// calls. 2xx-4xx: the far end answers and routes (401/407 challenge us as they would the
// PBX's calls; 404/405 refuse OPTIONS, not calls). Down: no answer, 5xx/6xx, and three 4xx
// that mean calls fail too: 403 (our address is refused: the site's calls come from it), 408
// (a proxy got no answer from what is behind it) and 480 (the destination is unavailable).
// The agent (its log, ccmon_link_up) and the collector (TrunkDown) judge by this one rule.
constexpr bool SipTrunkUp(std::uint32_t status) {
  return status >= 200 && status < 500 && status != 403 && status != 408 && status != 480;
}

struct LinkSample {
  std::string_view link;
  double rtt_ms = 0;
  double jitter_ms = 0;
  double loss_ratio = 0;
  bool up = true;
  LinkKind kind = LinkKind::kNetwork;
  std::uint32_t sip_status = 0;  // SIP trunks: last final response's code, 0 none
};

struct VoiceQuality {
  std::string_view call_id;
  std::string_view queue;
  std::string_view agent;
  double mos = 0;
  double jitter_ms = 0;
  double loss_ratio = 0;
  double rtt_ms = 0;
};

struct Heartbeat {
  std::int64_t agent_time_ms = 0;
  std::uint64_t spool_backlog_events = 0;
  std::uint64_t spool_backlog_bytes = 0;
  std::uint64_t events_dropped = 0;
  std::string_view agent_version;
  std::uint32_t interval_ms = 0;
  bool spool_paused = false;
  std::uint64_t lines_rejected = 0;
  // Collector replicas the agent gave up (it stayed away until the spool was full),
  // cumulative since the agent process started.
  std::uint64_t replicas_given_up = 0;
  // Input files the agent reads that are missing or unreadable now.
  std::uint32_t sources_waiting = 0;
};

using EventBody = std::variant<CallEvent, AgentStateEvent, LinkSample, VoiceQuality, Heartbeat>;

struct Event {
  std::uint64_t seq = 0;
  std::int64_t time_ms = 0;
  EventBody body;
};

constexpr std::string_view ToString(UnansweredReason r) {
  switch (r) {
    case UnansweredReason::kTimeout:
      return "timeout";
    case UnansweredReason::kKey:
      return "key";
    case UnansweredReason::kEmpty:
      return "empty";
    case UnansweredReason::kWithdraw:
      return "withdraw";
    case UnansweredReason::kLost:
      return "lost";
    case UnansweredReason::kNone:
      break;
  }
  return "unknown";
}

constexpr std::string_view ToString(AgentState s) {
  switch (s) {
    case AgentState::kLoggedOut:
      return "logged_out";
    case AgentState::kReady:
      return "ready";
    case AgentState::kNotReady:
      return "not_ready";
    case AgentState::kOnCall:
      return "on_call";
    case AgentState::kAfterCallWork:
      return "after_call_work";
  }
  return "unknown";
}

constexpr std::string_view ToString(LinkKind k) {
  switch (k) {
    case LinkKind::kNetwork:
      return "network";
    case LinkKind::kSipTrunk:
      return "sip_trunk";
  }
  return "unknown";
}

}  // namespace ccmon
