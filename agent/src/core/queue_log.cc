#include "ccmon/agent/queue_log.h"

#include <charconv>
#include <cstring>

namespace ccmon::agent {

namespace {

// Parses "1546015415" or "1546015415.757" (seconds, optional fraction) into ms.
bool ParseTime(std::string_view s, std::int64_t* ms) {
  std::int64_t secs = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), secs);
  if (ec != std::errc() || secs <= 0) return false;
  std::int64_t frac_ms = 0;
  if (p != s.data() + s.size()) {
    if (*p != '.') return false;
    ++p;
    int digits = 0;
    for (; p != s.data() + s.size(); ++p) {
      if (*p < '0' || *p > '9') return false;
      if (digits < 3) frac_ms = frac_ms * 10 + (*p - '0');
      ++digits;
    }
    for (; digits < 3; ++digits) frac_ms *= 10;
  }
  if (secs > 32503680000LL) return false;  // year 3000
  *ms = secs * 1000 + frac_ms;
  return true;
}

// Non-negative integer field; empty or garbage gives `fallback`.
std::uint32_t Uint(std::string_view s, std::uint32_t fallback = 0) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > 0xffffffffULL) return fallback;
  return static_cast<std::uint32_t>(v);
}

std::uint32_t SecondsToMs(std::string_view s) {
  const std::uint64_t ms = std::uint64_t{Uint(s)} * 1000;
  return ms > 0xffffffffULL ? 0xffffffffU : static_cast<std::uint32_t>(ms);
}

bool IsNone(std::string_view s) { return s.empty() || s == "NONE"; }

void PutStr(std::string* out, std::string_view s) {
  const auto n = static_cast<std::uint32_t>(s.size());
  out->append(reinterpret_cast<const char*>(&n), sizeof n);
  out->append(s);
}

bool GetStr(std::string_view* in, std::string* s) {
  std::uint32_t n = 0;
  if (in->size() < sizeof n) return false;
  std::memcpy(&n, in->data(), sizeof n);
  in->remove_prefix(sizeof n);
  if (in->size() < n) return false;
  s->assign(in->substr(0, n));
  in->remove_prefix(n);
  return true;
}

}  // namespace

ParseResult ParseQueueLogLine(std::string_view line, QueueLogLine* out) {
  while (!line.empty() && line.front() == '\0') line.remove_prefix(1);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\0')) line.remove_suffix(1);
  if (line.empty()) return {ParseStatus::kBlank, ""};
  std::array<std::string_view, 11> f{};
  std::size_t n = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t bar = line.find('|', start);
    const std::string_view field =
        line.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start);
    if (n < f.size()) {
      f[n] = field;
    } else {
      // More fields than any Asterisk event has: keep the rest in the last data field.
      f[f.size() - 1] = line.substr(static_cast<std::size_t>(f[f.size() - 1].data() - line.data()));
      break;
    }
    ++n;
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  if (n < 5) return {ParseStatus::kMalformed, "fewer than 5 '|'-separated fields"};
  if (!ParseTime(f[0], &out->time_ms)) return {ParseStatus::kMalformed, "bad timestamp"};
  if (f[4].empty()) return {ParseStatus::kMalformed, "empty event name"};
  for (char c : line) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
      return {ParseStatus::kMalformed, "control character in line"};
    }
  }
  out->call_id = f[1];
  out->queue = f[2];
  out->agent = f[3];
  out->event = f[4];
  out->data_count = n - 5;
  for (std::size_t i = 0; i < out->data.size(); ++i) {
    out->data[i] = i < out->data_count ? f[5 + i] : std::string_view{};
  }
  return {};
}

QueueLogStateMachine::QueueLogStateMachine(Sink sink, std::size_t max_tracked_calls)
    : sink_(std::move(sink)), max_tracked_(max_tracked_calls) {}

QueueLogStateMachine::Call* QueueLogStateMachine::Lookup(std::string_view call_id,
                                                         std::string_view queue) {
  key_.assign(call_id);
  key_.push_back('|');
  key_.append(queue);
  auto it = calls_.find(key_);
  return it == calls_.end() ? nullptr : &it->second;
}

QueueLogStateMachine::Call& QueueLogStateMachine::Create(std::string_view call_id,
                                                         std::string_view queue,
                                                         std::int64_t entered_ms) {
  if (calls_.size() >= max_tracked_ && !ended_order_.empty()) {
    calls_.erase(ended_order_.front());
    ended_order_.pop_front();
  }
  key_.assign(call_id);
  key_.push_back('|');
  key_.append(queue);
  Call& c = calls_[key_];
  c = Call{};
  c.queue.assign(queue);
  c.entered_ms = entered_ms;
  return c;
}

void QueueLogStateMachine::Finish(const std::string& key) {
  ended_order_.push_back(key);
  if (ended_order_.size() > max_tracked_) {
    calls_.erase(ended_order_.front());
    ended_order_.pop_front();
  }
}

void QueueLogStateMachine::Emit(std::int64_t time_ms, const CallEvent& c) {
  ++stats_.events;
  if (c.reconstructed) ++stats_.reconstructed;
  sink_(Event{0, time_ms, c});
}

void QueueLogStateMachine::EmitState(std::int64_t time_ms, const QueueLogLine& l, AgentState s,
                                     std::string_view reason, bool all_queues) {
  if (IsNone(l.agent)) {
    ++stats_.ignored;
    return;
  }
  AgentStateEvent e;
  e.agent = l.agent;
  e.queue = all_queues || IsNone(l.queue) ? std::string_view{} : l.queue;
  e.state = s;
  e.reason = reason;
  ++stats_.events;
  sink_(Event{0, time_ms, e});
}

QueueLogStateMachine::Call& QueueLogStateMachine::Ensure(const QueueLogLine& l,
                                                         std::int64_t entered_ms, bool answered,
                                                         std::int64_t answered_ms,
                                                         std::uint32_t wait_ms) {
  Call* c = Lookup(l.call_id, l.queue);
  if (c == nullptr) {
    c = &Create(l.call_id, l.queue, entered_ms);
    CallEvent offered;
    offered.kind = CallKind::kOffered;
    offered.queue = c->queue;
    offered.call_id = l.call_id;
    offered.reconstructed = true;
    Emit(entered_ms, offered);
  }
  if (answered && !c->answered) {
    c->answered = true;
    c->agent.assign(IsNone(l.agent) ? std::string_view{} : l.agent);
    CallEvent a;
    a.kind = CallKind::kAnswered;
    a.queue = c->queue;
    a.call_id = l.call_id;
    a.agent = c->agent;
    a.caller_id = c->caller_id;
    a.wait_ms = wait_ms;
    a.reconstructed = true;
    Emit(answered_ms, a);
  }
  return *c;
}

void QueueLogStateMachine::Process(const QueueLogLine& l) {
  const std::string_view ev = l.event;
  const std::int64_t t = l.time_ms;
  auto d = [&](std::size_t i) { return l.data[i]; };

  if (ev == "ENTERQUEUE") {
    if (Call* c = Lookup(l.call_id, l.queue); c != nullptr && (!c->ended || t <= c->entered_ms)) {
      ++stats_.duplicates;
      return;
    }
    Call& c = Create(l.call_id, l.queue, t);
    c.caller_id.assign(d(1));
    CallEvent e;
    e.kind = CallKind::kOffered;
    e.queue = c.queue;
    e.call_id = l.call_id;
    e.caller_id = c.caller_id;
    e.position = Uint(d(2));
    Emit(t, e);
    return;
  }
  if (ev == "CONNECT") {
    // holdtime|bridged channel uniqueid|ringtime
    const std::uint32_t wait = SecondsToMs(d(0));
    Call* c = Lookup(l.call_id, l.queue);
    if (c != nullptr && (c->answered || c->ended)) {
      ++stats_.duplicates;
      return;
    }
    Call& call = Ensure(l, t - wait, false, 0, 0);
    call.answered = true;
    call.agent.assign(IsNone(l.agent) ? std::string_view{} : l.agent);
    CallEvent e;
    e.kind = CallKind::kAnswered;
    e.queue = call.queue;
    e.call_id = l.call_id;
    e.agent = call.agent;
    e.caller_id = call.caller_id;
    e.wait_ms = wait;
    e.ring_ms = SecondsToMs(d(2));
    Emit(t, e);
    return;
  }
  const bool abandon = ev == "ABANDON";
  const bool exit_key = ev == "EXITWITHKEY";
  if (abandon || exit_key || ev == "EXITWITHTIMEOUT" || ev == "EXITEMPTY" || ev == "WITHDRAW") {
    // ABANDON, EXITWITHTIMEOUT, EXITEMPTY, WITHDRAW: position|origposition|waittime[|info]
    // EXITWITHKEY: key|position|origposition|waittime
    const std::size_t wait_field = exit_key ? 3 : 2;
    const std::uint32_t wait = SecondsToMs(d(wait_field));
    Call* c = Lookup(l.call_id, l.queue);
    if (c != nullptr && (c->answered || c->ended)) {
      ++stats_.duplicates;
      return;
    }
    Call& call = Ensure(l, t - wait, false, 0, 0);
    call.ended = true;
    CallEvent e;
    e.queue = call.queue;
    e.call_id = l.call_id;
    e.caller_id = call.caller_id;
    e.wait_ms = wait;
    e.position = Uint(d(exit_key ? 1 : 0));
    if (abandon) {
      e.kind = CallKind::kAbandoned;
    } else {
      e.kind = CallKind::kUnanswered;
      e.reason = exit_key                  ? UnansweredReason::kKey
                 : ev == "EXITWITHTIMEOUT" ? UnansweredReason::kTimeout
                 : ev == "EXITEMPTY"       ? UnansweredReason::kEmpty
                                           : UnansweredReason::kWithdraw;
    }
    Emit(t, e);
    Finish(key_);
    return;
  }
  const bool complete = ev == "COMPLETEAGENT" || ev == "COMPLETECALLER";
  const bool transfer = ev == "TRANSFER" || ev == "BLINDTRANSFER" || ev == "ATTENDEDTRANSFER";
  if (complete || transfer) {
    // COMPLETE*: holdtime|calltime|origposition
    // TRANSFER, BLINDTRANSFER: extension|context|holdtime|calltime|origposition
    // ATTENDEDTRANSFER: BRIDGE|id|holdtime|calltime|origposition, APP|app|hold|call|pos,
    //                   LINK|chan1|chan2|holdtime|calltime|origposition
    std::size_t hold_field = complete ? 0 : 2;
    if (ev == "ATTENDEDTRANSFER" && d(0) == "LINK") hold_field = 3;
    const std::uint32_t hold = SecondsToMs(d(hold_field));
    const std::uint32_t talk = SecondsToMs(d(hold_field + 1));
    Call* c = Lookup(l.call_id, l.queue);
    if (c != nullptr && c->ended) {
      ++stats_.duplicates;
      return;
    }
    Call& call = Ensure(l, t - talk - hold, true, t - talk, hold);
    call.ended = true;
    CallEvent e;
    e.kind = complete ? CallKind::kCompleted : CallKind::kTransferred;
    e.queue = call.queue;
    e.call_id = l.call_id;
    e.agent = IsNone(l.agent) ? std::string_view(call.agent) : l.agent;
    e.caller_id = call.caller_id;
    e.wait_ms = hold;
    e.talk_ms = talk;
    if (complete) e.hung_up_by = ev == "COMPLETEAGENT" ? Party::kAgent : Party::kCaller;
    Emit(t, e);
    Finish(key_);
    return;
  }
  if (ev == "RINGNOANSWER" || ev == "RINGCANCELED") {
    // ringtime in milliseconds
    Call* c = Lookup(l.call_id, l.queue);
    if (c == nullptr) {
      ++stats_.orphan_rings;
      return;
    }
    CallEvent e;
    e.kind = CallKind::kRingNoAnswer;
    e.queue = c->queue;
    e.call_id = l.call_id;
    e.agent = IsNone(l.agent) ? std::string_view{} : l.agent;
    e.ring_ms = Uint(d(0));
    Emit(t, e);
    return;
  }
  if (ev == "ADDMEMBER") return EmitState(t, l, AgentState::kReady, {}, false);
  if (ev == "REMOVEMEMBER") return EmitState(t, l, AgentState::kLoggedOut, {}, false);
  if (ev == "PAUSE") return EmitState(t, l, AgentState::kNotReady, d(0), false);
  if (ev == "UNPAUSE") return EmitState(t, l, AgentState::kReady, {}, false);
  if (ev == "PAUSEALL") return EmitState(t, l, AgentState::kNotReady, d(0), true);
  if (ev == "UNPAUSEALL") return EmitState(t, l, AgentState::kReady, {}, true);
  if (ev == "AGENTLOGIN" || ev == "AGENTCALLBACKLOGIN") {
    return EmitState(t, l, AgentState::kReady, {}, true);
  }
  if (ev == "AGENTLOGOFF" || ev == "AGENTCALLBACKLOGOFF") {
    return EmitState(t, l, AgentState::kLoggedOut, {}, true);
  }
  if (ev == "CONFIGRELOAD" || ev == "QUEUESTART" || ev == "AGENTDUMP" || ev == "SYSCOMPAT" ||
      ev == "DID" || ev == "INFO" || ev == "ENTERQUEUE_NOAGENTS" || ev.starts_with("OUT")) {
    ++stats_.ignored;
    return;
  }
  ++stats_.unknown_kinds;
}

std::string QueueLogStateMachine::SaveState() const {
  std::string out = "QLSM1";
  for (const auto& [key, c] : calls_) {
    if (c.ended) continue;  // ended calls only serve dedupe of repeated lines
    PutStr(&out, key);
    PutStr(&out, c.queue);
    PutStr(&out, c.caller_id);
    PutStr(&out, c.agent);
    out.append(reinterpret_cast<const char*>(&c.entered_ms), sizeof c.entered_ms);
    out.push_back(c.answered ? '\1' : '\0');
  }
  return out;
}

bool QueueLogStateMachine::RestoreState(std::string_view blob) {
  calls_.clear();
  ended_order_.clear();
  if (!blob.starts_with("QLSM1")) return blob.empty();
  blob.remove_prefix(5);
  while (!blob.empty()) {
    std::string key;
    Call c;
    if (!GetStr(&blob, &key) || !GetStr(&blob, &c.queue) || !GetStr(&blob, &c.caller_id) ||
        !GetStr(&blob, &c.agent) || blob.size() < sizeof c.entered_ms + 1) {
      calls_.clear();
      return false;
    }
    std::memcpy(&c.entered_ms, blob.data(), sizeof c.entered_ms);
    blob.remove_prefix(sizeof c.entered_ms);
    c.answered = blob.front() == '\1';
    blob.remove_prefix(1);
    calls_.emplace(std::move(key), std::move(c));
  }
  return true;
}

}  // namespace ccmon::agent
