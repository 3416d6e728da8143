#include "ccmon/agent/queue_log.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <optional>

#include "ccmon/agent/asterisk_config.h"
#include "ccmon/model/utf8.h"

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

// A whole number of seconds as ms; nullopt when empty, negative or not a number (Asterisk
// writes "%ld": anything else is a damaged line, not a zero wait).
std::optional<std::uint32_t> Seconds(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v > 0xffffffffULL / 1000) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(v * 1000);
}

std::uint32_t SecondsToMs(std::string_view s) {
  const std::uint64_t ms = std::uint64_t{Uint(s)} * 1000;
  return ms > 0xffffffffULL ? 0xffffffffU : static_cast<std::uint32_t>(ms);
}

bool IsNone(std::string_view s) { return s.empty() || s == "NONE"; }

// After-call work done by pausing: a pause with an after-call-work reason that begins within
// this long of a member's call end (or within its wrap-up time, if longer) belongs to that
// call...
constexpr std::int64_t kAcwPauseGraceMs = std::int64_t{10} * 1000;
// ... and counts for at most this long (a member who forgets to unpause is not working on
// the call for hours).
constexpr std::int64_t kAcwPauseCapMs = std::int64_t{30} * 60 * 1000;

// A span in ms as the 32-bit field events carry, clamped to [0, 2^32 - 1].
std::uint32_t Ms(std::int64_t ms) {
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(ms, 0, 0xffffffffLL));
}

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

namespace {

// Valid sequences kept, every other byte read as its Latin-1 character.
void Latin1ToUtf8(std::string_view s, std::string* out) {
  out->clear();
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = Utf8SequenceLength(s, i);
    if (n > 0) {
      out->append(s.substr(i, n));
      i += n;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i++]);
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

}  // namespace

ParseResult ParseQueueLogLine(std::string_view line, QueueLogLine* out) {
  out->was_recoded = false;
  if (!IsUtf8(line)) {
    // Names travel as protobuf strings, which must be UTF-8: a name saved in Latin-1 is read
    // as such (the same name every time, so a call and its agent stay one), never dropped.
    Latin1ToUtf8(line, &out->recoded);
    out->was_recoded = true;
    line = out->recoded;
  }
  // Text followed by zeros is a torn line (Asterisk ends every line it writes with '\n').
  bool torn = false;
  if (const std::size_t zero = line.rfind('\0'); zero != std::string_view::npos) {
    torn = line.find_first_not_of('\0') < zero;
    line.remove_prefix(zero + 1);
  }
  while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return {ParseStatus::kBlank, "", torn};
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
  if (n < 5) return {ParseStatus::kMalformed, "fewer than 5 '|'-separated fields", torn};
  if (!ParseTime(f[0], &out->time_ms)) return {ParseStatus::kMalformed, "bad timestamp", torn};
  // Text after zeros may start inside a line, its timestamp cut short: Asterisk's have had ten
  // digits since 2001.
  if (torn && out->time_ms < std::int64_t{1'000'000'000} * 1000) {
    return {ParseStatus::kMalformed, "timestamp cut short by zero bytes", torn};
  }
  if (f[4].empty()) return {ParseStatus::kMalformed, "empty event name", torn};
  for (char c : line) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
      return {ParseStatus::kMalformed, "control character in line", torn};
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
  return {ParseStatus::kOk, "", torn};
}

QueueLogStateMachine::QueueLogStateMachine(EventSink sink, std::size_t max_tracked_calls)
    : QueueLogStateMachine(std::move(sink), QueueLogOptions{}, max_tracked_calls) {}

QueueLogStateMachine::QueueLogStateMachine(EventSink sink, QueueLogOptions options,
                                           std::size_t max_tracked_calls)
    : sink_(std::move(sink)), options_(std::move(options)), max_tracked_(max_tracked_calls) {}

QueueLogStateMachine::Call* QueueLogStateMachine::Lookup(std::string_view call_id,
                                                         std::string_view queue) {
  key_.assign(call_id);
  key_.push_back('|');
  key_.append(queue);
  if (!aliases_.empty()) {
    if (auto a = aliases_.find(key_); a != aliases_.end()) key_ = a->second;
  }
  auto it = calls_.find(key_);
  return it == calls_.end() ? nullptr : &it->second;
}

QueueLogStateMachine::Call& QueueLogStateMachine::Create(std::string_view call_id,
                                                         std::string_view queue,
                                                         std::int64_t entered_ms) {
  if (calls_.size() >= max_tracked_ && !ended_order_.empty()) ForgetOldestEnded();
  if (std::find(queues_seen_.begin(), queues_seen_.end(), queue) == queues_seen_.end() &&
      queues_seen_.size() < 1000) {
    queues_seen_.emplace_back(queue);
  }
  key_.assign(call_id);
  key_.push_back('|');
  key_.append(queue);
  auto it = calls_.try_emplace(key_).first;
  created_key_ = &it->first;
  Call& c = it->second;
  Unschedule(c);
  Unlink(c);
  const std::uint32_t endings = c.endings;
  c = Call{};
  c.endings = endings;
  c.queue.assign(queue);
  c.entered_ms = entered_ms;
  Link(c, it->first);
  return c;
}

void QueueLogStateMachine::Link(Call& c, const std::string& key) {
  if (c.key != nullptr) return;
  c.key = &key;
  c.prev_open = last_open_;
  c.next_open = nullptr;
  (last_open_ != nullptr ? last_open_->next_open : first_open_) = &c;
  last_open_ = &c;
  ++open_calls_;
}

void QueueLogStateMachine::Unlink(Call& c) {
  if (c.key == nullptr) return;
  (c.prev_open != nullptr ? c.prev_open->next_open : first_open_) = c.next_open;
  (c.next_open != nullptr ? c.next_open->prev_open : last_open_) = c.prev_open;
  c.key = nullptr;
  c.prev_open = c.next_open = nullptr;
  --open_calls_;
}

void QueueLogStateMachine::ClearCalls() {
  calls_.clear();
  first_open_ = last_open_ = nullptr;
  open_calls_ = 0;
}

void QueueLogStateMachine::ForgetOldestEnded() {
  // A call id begun again after this ending is open under the same key, or ended again since:
  // it stays.
  const auto& [key, ending] = ended_order_.front();
  if (auto it = calls_.find(key);
      it != calls_.end() && it->second.ended && it->second.endings == ending) {
    calls_.erase(it);
  }
  ended_order_.pop_front();
}

void QueueLogStateMachine::Unschedule(Call& c) {
  if (!c.timed) return;
  timers_.erase(c.lost_timer);
  c.timed = false;
}

void QueueLogStateMachine::Finish(const std::string& key, Call& c) {
  Unschedule(c);
  if (!c.alias.empty()) {
    aliases_.erase(c.alias);  // the caller's id names nothing once the call ended
    c.alias.clear();
  }
  Unlink(c);
  ended_order_.emplace_back(key, ++c.endings);
  if (ended_order_.size() > max_tracked_) ForgetOldestEnded();
}

void QueueLogStateMachine::Emit(std::int64_t time_ms, const CallEvent& c) {
  ++stats_.events;
  if (c.reconstructed) ++stats_.reconstructed;
  sink_(Event{0, time_ms, c});
}

void QueueLogStateMachine::EmitState(std::int64_t time_ms, std::string_view agent,
                                     std::string_view queue, AgentState s,
                                     std::string_view reason) {
  if (s == AgentState::kLoggedOut && queue.empty()) {
    std::string prefix(agent);
    prefix.push_back('|');
    for (auto it = logged_in_.lower_bound(prefix);
         it != logged_in_.end() && it->starts_with(prefix);) {
      it = logged_in_.erase(it);
    }
  } else if (!queue.empty()) {
    std::string key(agent);
    key.push_back('|');
    key.append(queue);
    if (s == AgentState::kLoggedOut) {
      logged_in_.erase(key);
    } else if (logged_in_.size() < 100000) {
      logged_in_.insert(std::move(key));
    }
  }
  AgentStateEvent e;
  e.agent = agent;
  e.queue = queue;
  e.state = s;
  e.reason = reason;
  ++stats_.events;
  sink_(Event{0, time_ms, e});
}

std::string_view QueueLogStateMachine::MemberName(std::string_view field) const {
  if (auto it = options_.member_of_interface.find(field);
      it != options_.member_of_interface.end()) {
    return it->second;
  }
  if (auto it = bound_.find(field); it != bound_.end()) return it->second;
  return field;
}

std::int64_t QueueLogStateMachine::MaxWait(std::string_view queue) const {
  auto it = options_.max_wait_ms_by_queue.find(queue);
  return it != options_.max_wait_ms_by_queue.end() ? it->second : options_.max_wait_ms;
}

std::uint32_t QueueLogStateMachine::Wrapup(std::string_view queue, std::string_view member) const {
  if (options_.wrapup_ms.empty()) return 0;
  std::string k(queue);
  k.push_back('|');
  k.append(member);
  if (auto it = options_.wrapup_ms.find(k); it != options_.wrapup_ms.end()) return it->second;
  auto it = options_.wrapup_ms.find(queue);
  return it == options_.wrapup_ms.end() ? 0 : it->second;
}

void QueueLogStateMachine::ScheduleLost(const std::string& key, Call& c) {
  Unschedule(c);
  c.lost_timer =
      timers_.emplace(c.entered_ms + MaxWait(c.queue), Timer{Timer::Kind::kLost, &key, {}});
  c.timed = true;
}

void QueueLogStateMachine::StartWrapup(std::string_view member, std::string_view queue,
                                       std::int64_t t) {
  if (member.empty()) return;
  const std::uint32_t w = Wrapup(queue, member);
  if (w == 0) return;
  members_[std::string(member)].wrapup_until_ms = t + w;
  timers_.emplace(t + w, Timer{Timer::Kind::kWrapupEnd, nullptr, std::string(member)});
  EmitState(t, member, {}, AgentState::kAfterCallWork, kReasonWrapup);
}

void QueueLogStateMachine::EndOfCall(std::int64_t t, const CallEvent& e) {
  if (options_.acw_pause_reasons.empty() || e.agent.empty()) return Emit(t, e);
  const std::string member(e.agent);
  if (held_.count(member) != 0) ReleaseHeld(member, t);  // a previous call's, still held
  if (held_.size() >= 100000) return Emit(t, e);
  HeldEnd h;
  h.event = e;
  h.event.queue = h.event.call_id = h.event.agent = h.event.caller_id = {};
  h.queue = e.queue;
  h.call_id = e.call_id;
  h.agent = e.agent;
  h.caller_id = e.caller_id;
  h.ended_ms = t;
  // A desktop that set the after-call-work pause during the call: it counts from the end.
  const std::optional<AgentState> paused = PausedState(member);
  if (paused == AgentState::kAfterCallWork) {
    h.acw_since_ms = t;
    h.due_ms = t + kAcwPauseCapMs;
  } else {
    // A pause stamped at the window's last second still counts (timers due at a line's time
    // fire before the line).
    h.due_ms = t + std::max<std::int64_t>(kAcwPauseGraceMs, h.event.acw_ms) + 1;
  }
  timers_.emplace(h.due_ms, Timer{Timer::Kind::kHeldEnd, nullptr, member});
  // The call is over for the collector now, although its end event comes later: the member
  // is ready, or in the pause's state (a wrap-up says it itself).
  if (Wrapup(e.queue, member) == 0) {
    EmitState(t, member, {}, paused.value_or(AgentState::kReady), kReasonCallEnd);
  }
  held_.insert_or_assign(member, std::move(h));
}

void QueueLogStateMachine::ReleaseHeld(std::string_view member, std::int64_t t) {
  auto it = held_.find(member);
  if (it == held_.end()) return;
  const HeldEnd h = std::move(it->second);
  held_.erase(it);
  CallEvent e = h.event;
  e.queue = h.queue;
  e.call_id = h.call_id;
  e.agent = h.agent;
  e.caller_id = h.caller_id;
  std::int64_t at = h.ended_ms;
  if (h.acw_since_ms >= 0) {
    // Handled when its after-call work ends, as ACDs count it (Avaya CMS, Genesys): the
    // pause's span, or the wrap-up time if that is longer (both follow the same call).
    at = std::min(std::max(t, h.acw_since_ms), h.acw_since_ms + kAcwPauseCapMs);
    e.acw_ms = std::max(e.acw_ms, Ms(at - h.acw_since_ms));
    at = std::max(at, h.ended_ms);
  }
  Emit(at, e);
}

void QueueLogStateMachine::PauseLine(std::string_view member, std::int64_t t, bool acw) {
  auto it = held_.find(member);
  if (it == held_.end()) return;
  HeldEnd& h = it->second;
  if (!acw) return ReleaseHeld(member, t);
  if (h.acw_since_ms >= 0) return;  // already in after-call work
  // Paused within the wrap-up time: Asterisk kept the member from calls since the call's end.
  h.acw_since_ms = t <= h.ended_ms + h.event.acw_ms ? h.ended_ms : t;
  h.due_ms = h.acw_since_ms + kAcwPauseCapMs;
  timers_.emplace(h.due_ms, Timer{Timer::Kind::kHeldEnd, nullptr, std::string(member)});
}

void QueueLogStateMachine::ReleaseAllHeld() { ReleaseAllHeldAt(std::max(now_ms_, last_line_ms_)); }

void QueueLogStateMachine::ReleaseAllHeldAt(std::int64_t t) {
  std::vector<std::string> members;
  for (const auto& [m, h] : held_) members.push_back(m);
  for (const auto& m : members) ReleaseHeld(m, t);
}

void QueueLogStateMachine::AnnounceStaticMembers(std::int64_t t) {
  announced_ = true;
  for (const auto& m : options_.static_members) {
    EmitState(t, m.name, m.queue, m.paused ? AgentState::kNotReady : AgentState::kReady, {});
  }
}

// A waiting call that will get no outcome line: unanswered, reason lost. The event is dated
// at the call's entry, its last evidence, so offer and outcome fall in the same interval
// (a closed ledger row is amended); wait_ms says how long it had waited when given up.
void QueueLogStateMachine::EndLost(const std::string& key, Call& c, std::int64_t given_up_ms) {
  c.ended = true;
  ++stats_.lost;
  CallEvent e;
  e.kind = CallKind::kUnanswered;
  e.reason = UnansweredReason::kLost;
  e.queue = c.queue;
  e.call_id = std::string_view(key).substr(0, key.size() - c.queue.size() - 1);
  e.caller_id = c.caller_id;
  e.wait_ms = Ms(given_up_ms - c.entered_ms);
  e.reconstructed = true;
  Emit(c.entered_ms, e);
  Finish(key, c);
}

void QueueLogStateMachine::SetPaused(std::string_view member, std::optional<AgentState> s) {
  auto it = paused_.find(member);
  if (!s) {
    if (it != paused_.end()) paused_.erase(it);
  } else if (it != paused_.end()) {
    it->second = *s;
  } else if (paused_.size() < 100000) {
    paused_.emplace(std::string(member), *s);
  }
}

std::optional<AgentState> QueueLogStateMachine::PausedState(std::string_view member) const {
  auto it = paused_.find(member);
  if (it == paused_.end()) return std::nullopt;
  return it->second;
}

void QueueLogStateMachine::Advance(std::int64_t now_ms) {
  if (now_ms <= now_ms_) return;
  now_ms_ = now_ms;
  while (!timers_.empty() && timers_.begin()->first <= now_ms) {
    const auto node = timers_.extract(timers_.begin());
    const std::int64_t due = node.key();
    const Timer& timer = node.mapped();
    if (timer.kind == Timer::Kind::kHeldEnd) {
      auto h = held_.find(timer.member);
      if (h != held_.end() && h->second.due_ms == due) ReleaseHeld(timer.member, due);
      continue;
    }
    if (timer.kind == Timer::Kind::kWrapupEnd) {
      auto m = members_.find(timer.member);
      if (m == members_.end() || m->second.wrapup_until_ms != due) continue;
      members_.erase(m);
      // A member who paused during the call stays paused after the wrap-up.
      EmitState(due, timer.member, {}, PausedState(timer.member).value_or(AgentState::kReady),
                kReasonWrapupEnd);
      continue;
    }
    // A lost timer exists only while its call waits (Unschedule removes it), so the key it
    // points to is alive.
    const std::string& key = *timer.call_key;
    Call& c = calls_.at(key);
    c.timed = false;
    EndLost(key, c, due);  // the wait given up is exactly the maximum
  }
  if (!pending_adds_.empty() && pending_adds_.front().time_ms + 1000 < now_ms) {
    FlushPendingAdd(nullptr);
  }
}

// ADDMEMBER names the interface unless log_membername_as_agent=yes, while PAUSE, CONNECT
// and COMPLETE name the member. queues.conf and the members file map interfaces to names; for
// members added at run time (AMI QueueAdd, the CLI, AddQueueMember) the only clue is a
// console that pauses or unpauses the member it just added: an ADDMEMBER (or several, one per
// queue) immediately followed, in the same second, by PAUSE/UNPAUSE(ALL) of a member name not
// logged in anywhere binds that interface to that name. Anything else (another line between,
// a member already logged in, as when colleagues log in together) leaves the interface
// standing for the member.
void QueueLogStateMachine::FlushPendingAdd(const QueueLogLine* next) {
  if (next != nullptr && next->event == "ADDMEMBER" &&
      next->agent == pending_adds_.back().interface &&
      next->time_ms - pending_adds_.back().time_ms <= 1000) {
    return;  // the same interface joining its next queue: keep them together
  }
  bool bind = false;
  if (next != nullptr && !IsNone(next->agent) && next->agent.find('/') == std::string_view::npos &&
      (next->event == "PAUSE" || next->event == "UNPAUSE" || next->event == "PAUSEALL" ||
       next->event == "UNPAUSEALL") &&
      next->time_ms - pending_adds_.back().time_ms <= 1000 && !LoggedIn(next->agent)) {
    bind = true;
    for (const auto& p : pending_adds_) bind = bind && p.interface == pending_adds_[0].interface;
  }
  if (bind) {
    auto [it, inserted] = bound_.try_emplace(pending_adds_[0].interface, next->agent);
    if (inserted || it->second != next->agent) {
      it->second.assign(next->agent);
      ++stats_.members_bound;
    }
  }
  const std::vector<PendingAdd> adds = std::move(pending_adds_);
  pending_adds_.clear();
  for (const auto& p : adds) {
    EmitState(p.time_ms, MemberName(p.interface), p.queue,
              p.paused ? AgentState::kNotReady : AgentState::kReady, {});
  }
}

bool QueueLogStateMachine::LoggedIn(std::string_view member) const {
  std::string prefix(member);
  prefix.push_back('|');
  auto it = logged_in_.lower_bound(prefix);
  return it != logged_in_.end() && it->starts_with(prefix);
}

void QueueLogStateMachine::StateLine(const QueueLogLine& l, AgentState s, std::string_view reason,
                                     bool all_queues) {
  if (IsNone(l.agent)) {
    ++stats_.ignored;
    return;
  }
  const std::string_view member = MemberName(l.agent);
  if (!members_.empty()) {
    if (auto m = members_.find(std::string(member)); m != members_.end()) {
      // Asterisk offers no call before lastcall + wrapuptime (can_ring_entry), paused or not:
      // an unpause during wrap-up changes nothing yet; a pause or a logout ends it, and so
      // does a new login (a member added again starts with no last call).
      if (s == AgentState::kReady && l.event.starts_with("UNPAUSE")) return;
      members_.erase(m);
    }
  }
  EmitState(l.time_ms, member, all_queues || IsNone(l.queue) ? std::string_view{} : l.queue, s,
            reason);
}

QueueLogStateMachine::Call& QueueLogStateMachine::Ensure(const QueueLogLine& l,
                                                         std::int64_t entered_ms, bool answered,
                                                         std::int64_t answered_ms,
                                                         std::uint32_t wait_ms, bool wait_unknown) {
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
    Unschedule(*c);
    c->answered = true;
    c->answered_ms = answered_ms;
    c->agent.assign(IsNone(l.agent) ? std::string_view{} : MemberName(l.agent));
    CallEvent a;
    a.kind = CallKind::kAnswered;
    a.queue = c->queue;
    a.call_id = l.call_id;
    a.agent = c->agent;
    a.caller_id = c->caller_id;
    a.wait_ms = wait_ms;
    a.wait_unknown = wait_unknown;
    a.reconstructed = true;
    Emit(answered_ms, a);
  }
  return *c;
}

// Ends a caller's answered call as transferred at t (talk until t), with wrap-up.
void QueueLogStateMachine::EndTransferred(const std::string& key, Call& c, std::int64_t t,
                                          bool reconstructed) {
  c.ended = true;
  CallEvent x;
  x.kind = CallKind::kTransferred;
  x.queue = c.queue;
  x.call_id = std::string_view(key).substr(0, key.size() - c.queue.size() - 1);
  x.agent = c.agent;
  x.caller_id = c.caller_id;
  x.wait_ms = c.entry_known ? Ms(c.answered_ms - c.entered_ms) : 0;
  x.talk_ms = Ms(t - c.answered_ms);
  x.acw_ms = Wrapup(c.queue, c.agent);
  x.reconstructed = reconstructed;
  EndOfCall(t, x);
  StartWrapup(c.agent, c.queue, t);
  Finish(key, c);
}

// The open call of `call_id` in a queue other than `queue`, or calls_.end().
std::unordered_map<std::string, QueueLogStateMachine::Call>::iterator
QueueLogStateMachine::OpenElsewhere(std::string_view call_id, std::string_view queue,
                                    bool answered) {
  for (const auto& q : queues_seen_) {
    if (q == queue) continue;
    std::string k(call_id);
    k.push_back('|');
    k.append(q);
    auto it = calls_.find(k);
    if (it != calls_.end() && !it->second.ended && it->second.answered == answered) return it;
  }
  return calls_.end();
}

// An ATTENDEDTRANSFER for a call id this queue never saw. app_queue.c writes the line for
// each queue call in the transfer (log_attended_transfer) after the channels swapped ids: in
// the first queue it names the transferring member and carries the consultation channel's id
// (asterisk/asterisk#759). The consultation call itself entered the target queue under that
// id and the caller now continues it there, so the target queue's later CONNECT/COMPLETE carry
// the caller's id. This ends the member's call in the first queue as transferred and makes
// the caller's id name the consultation's entry in the target queue. Returns false when no
// call of the member is open in this queue (the line is then read as it stands).
bool QueueLogStateMachine::SwappedTransfer(const QueueLogLine& l) {
  if (IsNone(l.agent)) return false;
  const std::string_view member = MemberName(l.agent);
  auto origin = calls_.end();
  for (auto it = calls_.begin(); it != calls_.end(); ++it) {
    const Call& c = it->second;
    if (c.queue == l.queue && c.answered && !c.ended && c.agent == member &&
        (origin == calls_.end() || c.answered_ms > origin->second.answered_ms)) {
      origin = it;
    }
  }
  if (origin == calls_.end()) return false;
  ++stats_.transfer_merges;
  const std::string origin_key = origin->first;
  const std::string caller_id =
      origin_key.substr(0, origin_key.size() - origin->second.queue.size() - 1);
  // The consultation's entry elsewhere (waiting, or answered by the target member).
  auto consult = OpenElsewhere(l.call_id, l.queue, false);
  if (consult == calls_.end()) consult = OpenElsewhere(l.call_id, l.queue, true);
  if (consult != calls_.end()) {
    std::string alias = caller_id;
    alias.push_back('|');
    alias.append(consult->second.queue);
    consult->second.alias = alias;
    aliases_[std::move(alias)] = consult->first;
  }
  EndTransferred(origin_key, origin->second, l.time_ms, /*reconstructed=*/false);
  return true;
}

void QueueLogStateMachine::Restarted(std::int64_t t) {
  // The calls in progress died with Asterisk (no line will end them): waiting ones are lost,
  // answered ones end at the old process's last line (the last evidence of them; the talk
  // may be short by what followed it). Both are flagged reconstructed.
  const std::int64_t last = prev_line_ms_;
  std::vector<std::string> open;
  for (const auto& [key, c] : calls_) {
    if (!c.ended) open.push_back(key);
  }
  std::sort(open.begin(), open.end());
  for (const auto& key : open) {
    Call& c = calls_.at(key);
    const std::string_view id = std::string_view(key).substr(0, key.size() - c.queue.size() - 1);
    if (c.answered) {
      c.ended = true;
      CallEvent e;
      e.kind = CallKind::kCompleted;
      e.queue = c.queue;
      e.call_id = id;
      e.agent = c.agent;
      e.caller_id = c.caller_id;
      const std::int64_t end = std::max(c.answered_ms, std::min(last, t));
      e.talk_ms = Ms(end - c.answered_ms);
      e.reconstructed = true;
      Emit(end, e);
      Finish(key, c);
    } else {
      EndLost(key, c, std::max(last, c.entered_ms));
    }
  }
  ReleaseAllHeldAt(last);
  // No wrap-up survives a restart: each ends when due, at the latest at the restart.
  std::vector<std::pair<std::int64_t, std::string>> wrapups;
  for (const auto& [name, m] : members_) wrapups.emplace_back(std::min(m.wrapup_until_ms, t), name);
  std::sort(wrapups.begin(), wrapups.end());
  for (const auto& [end, name] : wrapups) {
    EmitState(end, name, {}, PausedState(name).value_or(AgentState::kReady), kReasonWrapupEnd);
  }
  members_.clear();
  paused_.clear();
  if (!options_.persistent_members) {
    // Dynamic members are gone; static ones come back below.
    std::vector<std::string> gone(logged_in_.begin(), logged_in_.end());
    for (const auto& k : gone) {
      const auto bar = k.rfind('|');
      EmitState(t, std::string_view(k).substr(0, bar), std::string_view(k).substr(bar + 1),
                AgentState::kLoggedOut, {});
    }
  }
  AnnounceStaticMembers(t);
  ++stats_.ignored;
}

void QueueLogStateMachine::Process(const QueueLogLine& line) {
  // Asterisk matches queue names without regard to case: name the queue as configured.
  const QueueLogLine* lp = &line;
  QueueLogLine canon;
  if (!options_.queue_names.empty() && !IsNone(line.queue)) {
    lower_.assign(line.queue);
    for (char& c : lower_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (auto it = options_.queue_names.find(lower_);
        it != options_.queue_names.end() && it->second != line.queue) {
      canon = line;
      canon.queue = it->second;
      lp = &canon;
    }
  }
  const QueueLogLine& l = *lp;
  const std::string_view ev = l.event;
  const std::int64_t t = l.time_ms;
  auto d = [&](std::size_t i) { return l.data[i]; };
  prev_line_ms_ = last_line_ms_;
  // The machine's clock follows the lines, but one line hours away from it (a PBX booting
  // with a wrong RTC before NTP, a corrupt timestamp) must not carry it off: a step of more
  // than 6 h is taken only when three lines in a row agree on it (a backfill's night gap).
  constexpr std::int64_t kClockStepMs = std::int64_t{6} * 3600 * 1000;
  bool on_clock = true;  // this line's time moved the machine's clock
  if (now_ms_ != 0 && (t > now_ms_ + kClockStepMs || t < now_ms_ - kClockStepMs)) {
    on_clock = false;
    if (++step_lines_ >= 3) {
      on_clock = true;
      step_lines_ = 0;
      ++stats_.clock_steps;
      if (t < now_ms_) now_ms_ = t;
      last_line_ms_ = t;
      Advance(t);
    }
  } else {
    step_lines_ = 0;
    last_line_ms_ = std::max(last_line_ms_, t);
    // A restart's calls end at the old process's last line (Restarted): timers due during the
    // outage would end them later.
    if (ev != "QUEUESTART") Advance(t);
  }
  if (!announced_) AnnounceStaticMembers(t);
  if (!pending_adds_.empty()) FlushPendingAdd(&l);

  // The wait a line reports, or else the one its ENTERQUEUE gives; unknown otherwise.
  struct Wait {
    std::uint32_t ms = 0;
    bool unknown = false;
  };
  auto wait_of = [&](std::string_view field, const Call* c) {
    if (const auto s = Seconds(field)) return Wait{*s, false};
    ++stats_.invalid_wait;
    if (c != nullptr && c->entry_known && t >= c->entered_ms) {
      ++stats_.wait_recomputed;
      return Wait{Ms(t - c->entered_ms), false};
    }
    return Wait{0, true};
  };

  if (ev == "ENTERQUEUE") {
    if (!aliases_.empty()) {  // a new entry under this id is its own call, not an alias
      key_.assign(l.call_id);
      key_.push_back('|');
      key_.append(l.queue);
      aliases_.erase(key_);
    }
    if (Call* c = Lookup(l.call_id, l.queue); c != nullptr && (!c->ended || t <= c->entered_ms)) {
      ++stats_.duplicates;
      return;
    }
    Call& c = Create(l.call_id, l.queue, t);
    c.entry_known = true;
    c.caller_id.assign(d(1));
    ScheduleLost(*created_key_, c);
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
    Call* c = Lookup(l.call_id, l.queue);
    if (c != nullptr && (c->answered || c->ended)) {
      ++stats_.duplicates;
      return;
    }
    const Wait wait = wait_of(d(0), c);
    if (c == nullptr) {
      // Answered here with no entry: if the caller is still answered in another queue (its
      // transfer line lost or never written), that call has ended: the caller is here now.
      if (auto o = OpenElsewhere(l.call_id, l.queue, true); o != calls_.end()) {
        EndTransferred(o->first, o->second, t - wait.ms, /*reconstructed=*/true);
      }
    }
    Call& call = c != nullptr ? *c : Ensure(l, t - wait.ms, false, 0, 0, false);
    Unschedule(call);
    call.answered = true;
    call.answered_ms = t;
    call.agent.assign(IsNone(l.agent) ? std::string_view{} : MemberName(l.agent));
    if (!members_.empty()) members_.erase(call.agent);
    if (!held_.empty()) PauseLine(call.agent, t, false);  // a new call ends the last one's
    CallEvent e;
    e.kind = CallKind::kAnswered;
    e.queue = call.queue;
    e.call_id = l.call_id;
    e.agent = call.agent;
    e.caller_id = call.caller_id;
    e.wait_ms = wait.ms;
    e.wait_unknown = wait.unknown;
    e.ring_ms = SecondsToMs(d(2));
    Emit(t, e);
    return;
  }
  const bool abandon = ev == "ABANDON";
  const bool exit_key = ev == "EXITWITHKEY";
  if (abandon || exit_key || ev == "EXITWITHTIMEOUT" || ev == "EXITEMPTY" || ev == "WITHDRAW") {
    // ABANDON, EXITWITHTIMEOUT, EXITEMPTY, WITHDRAW: position|origposition|waittime[|info]
    // EXITWITHKEY: key|position|origposition|waittime
    Call* c = Lookup(l.call_id, l.queue);
    if (c != nullptr && (c->answered || c->ended)) {
      ++stats_.duplicates;
      return;
    }
    const Wait wait = wait_of(d(exit_key ? 3 : 2), c);
    Call& call = c != nullptr ? *c : Ensure(l, t - wait.ms, false, 0, 0, false);
    call.ended = true;
    CallEvent e;
    e.queue = call.queue;
    e.call_id = l.call_id;
    e.caller_id = call.caller_id;
    e.wait_ms = wait.ms;
    e.wait_unknown = wait.unknown;
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
    Finish(key_, call);
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
    Call* c = Lookup(l.call_id, l.queue);
    const bool attended = ev == "ATTENDEDTRANSFER";
    if (c == nullptr && attended && SwappedTransfer(l)) return;
    if (c != nullptr && c->ended) {
      ++stats_.duplicates;
      return;
    }
    const std::optional<std::uint32_t> talk_s = Seconds(d(hold_field + 1));
    std::uint32_t talk = talk_s ? *talk_s : 0;
    if (!talk_s && c != nullptr && c->answered && t >= c->answered_ms) {
      talk = Ms(t - c->answered_ms);
    }
    const std::optional<std::uint32_t> hold_line = Seconds(d(hold_field));
    const Wait hold = hold_line                     ? Wait{*hold_line, false}
                      : c != nullptr && c->answered ? Wait{0, false}
                                                    : wait_of(d(hold_field), c);
    Call& call = Ensure(l, t - talk - hold.ms, true, t - talk, hold.ms, hold.unknown);
    call.ended = true;
    CallEvent e;
    e.kind = complete ? CallKind::kCompleted : CallKind::kTransferred;
    e.queue = call.queue;
    e.call_id = l.call_id;
    e.agent = IsNone(l.agent) ? std::string_view(call.agent) : MemberName(l.agent);
    e.caller_id = call.caller_id;
    e.wait_ms = hold.ms;
    e.talk_ms = talk;
    e.acw_ms = Wrapup(call.queue, e.agent);
    if (complete) e.hung_up_by = ev == "COMPLETEAGENT" ? Party::kAgent : Party::kCaller;
    EndOfCall(t, e);
    StartWrapup(e.agent, call.queue, t);
    Finish(key_, call);
    return;
  }
  if (ev == "RINGNOANSWER") {
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
    e.agent = IsNone(l.agent) ? std::string_view{} : MemberName(l.agent);
    e.ring_ms = Uint(d(0));
    Emit(t, e);
    return;
  }
  if (ev == "RINGCANCELED") {
    // The caller hung up (or pressed a key) while members rang (app_queue.c wait_for_answer):
    // the caller's doing, not the member's; the ABANDON that follows counts it.
    ++stats_.ring_canceled;
    return;
  }
  if (ev == "ADDMEMBER") {
    if (IsNone(l.agent)) {
      ++stats_.ignored;
      return;
    }
    const bool paused = d(0) == "PAUSED";
    SetPaused(MemberName(l.agent), paused ? std::optional(AgentState::kNotReady) : std::nullopt);
    if (!options_.log_membername_as_agent && l.agent.find('/') != std::string_view::npos &&
        options_.member_of_interface.find(l.agent) == options_.member_of_interface.end()) {
      pending_adds_.push_back({std::string(l.queue), std::string(l.agent), t, paused});
      return;
    }
    return StateLine(l, paused ? AgentState::kNotReady : AgentState::kReady, {}, false);
  }
  if (ev == "REMOVEMEMBER") {
    if (!IsNone(l.agent)) {
      SetPaused(MemberName(l.agent), std::nullopt);
      PauseLine(MemberName(l.agent), t, false);
    }
    return StateLine(l, AgentState::kLoggedOut, {}, false);
  }
  // Whether the member is paused (and why) outlives a call and its wrap-up (see Advance).
  if (ev == "PAUSE" || ev == "PAUSEALL") {
    const bool acw = std::find(options_.acw_pause_reasons.begin(), options_.acw_pause_reasons.end(),
                               d(0)) != options_.acw_pause_reasons.end();
    const AgentState s = acw ? AgentState::kAfterCallWork : AgentState::kNotReady;
    if (!IsNone(l.agent)) {
      SetPaused(MemberName(l.agent), s);
      PauseLine(MemberName(l.agent), t, acw);
    }
    return StateLine(l, s, d(0), ev == "PAUSEALL");
  }
  if (ev == "UNPAUSE" || ev == "UNPAUSEALL") {
    if (!IsNone(l.agent)) {
      SetPaused(MemberName(l.agent), std::nullopt);
      PauseLine(MemberName(l.agent), t, false);
    }
    return StateLine(l, AgentState::kReady, {}, ev == "UNPAUSEALL");
  }
  if (ev == "AGENTLOGIN" || ev == "AGENTCALLBACKLOGIN") {
    return StateLine(l, AgentState::kReady, {}, true);
  }
  if (ev == "AGENTLOGOFF" || ev == "AGENTCALLBACKLOGOFF") {
    if (!IsNone(l.agent)) {
      SetPaused(MemberName(l.agent), std::nullopt);
      PauseLine(MemberName(l.agent), t, false);
    }
    return StateLine(l, AgentState::kLoggedOut, {}, true);
  }
  if (ev == "QUEUESTART") {
    Restarted(t);
    if (on_clock) Advance(t);
    return;
  }
  if (ev == "CONFIGRELOAD" || ev == "AGENTDUMP" || ev == "SYSCOMPAT" || ev == "DID" ||
      ev == "INFO" || ev == "ENTERQUEUE_NOAGENTS" || ev.starts_with("OUT")) {
    ++stats_.ignored;
    return;
  }
  ++stats_.unknown_kinds;
}

void ApplyAsteriskConfig(const AsteriskConfig& config, QueueLogOptions* options) {
  for (const auto& [queue, q] : config.queues) {
    if (q.wrapup_s > 0) options->wrapup_ms[queue] = q.wrapup_s * 1000;
    std::string lower = queue;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    options->queue_names.emplace(std::move(lower), queue);
    for (const auto& m : q.members) {
      // get_wrapuptime(): a member's own wrapuptime of 0 means the queue's.
      if (m.wrapup_s && *m.wrapup_s > 0) {
        options->wrapup_ms[queue + "|" + m.name] = *m.wrapup_s * 1000;
      }
      // Realtime members log their ADDMEMBER; static ones never do.
      if (!m.realtime) options->static_members.push_back({queue, m.name, m.paused});
    }
  }
  for (const auto& [interface, name] : config.member_of_interface) {
    options->member_of_interface.emplace(interface, name);
  }
  options->log_membername_as_agent = config.log_membername_as_agent;
  options->persistent_members = config.persistent_members;
}

// QLSM3: open calls (with answer time and flags), call-id aliases of attended transfers,
// learned interface bindings, wrap-up periods, the machine's clock, paused members and call
// ends held for after-call work. QLSM2 (without the last two) and QLSM1 (open calls only)
// are still read.
std::string QueueLogStateMachine::SaveState() const {
  std::string out = "QLSM3";
  auto pod = [&out](const auto& v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
  pod(now_ms_);
  out.push_back(announced_ ? '\1' : '\0');
  // Ended calls (most of calls_) only serve dedupe of repeated lines: the open ones are listed.
  std::uint32_t n = open_calls_;
  pod(n);
  for (const Call* open = first_open_; open != nullptr; open = open->next_open) {
    const Call& c = *open;
    PutStr(&out, *c.key);
    PutStr(&out, c.queue);
    PutStr(&out, c.caller_id);
    PutStr(&out, c.agent);
    PutStr(&out, c.alias);
    pod(c.entered_ms);
    pod(c.answered_ms);
    out.push_back(static_cast<char>((c.answered ? 1 : 0) | (c.entry_known ? 2 : 0)));
  }
  n = 0;
  for (const auto& [alias, key] : aliases_) n += calls_.count(key) != 0 && !calls_.at(key).ended;
  pod(n);
  for (const auto& [alias, key] : aliases_) {
    if (calls_.count(key) == 0 || calls_.at(key).ended) continue;
    PutStr(&out, alias);
    PutStr(&out, key);
  }
  pod(static_cast<std::uint32_t>(bound_.size()));
  for (const auto& [interface, name] : bound_) {
    PutStr(&out, interface);
    PutStr(&out, name);
  }
  pod(static_cast<std::uint32_t>(members_.size()));
  for (const auto& [name, m] : members_) {
    PutStr(&out, name);
    pod(m.wrapup_until_ms);
  }
  pod(static_cast<std::uint32_t>(paused_.size()));
  for (const auto& [name, state] : paused_) {
    PutStr(&out, name);
    out.push_back(static_cast<char>(state));
  }
  pod(static_cast<std::uint32_t>(held_.size()));
  for (const auto& [member, h] : held_) {
    PutStr(&out, member);
    PutStr(&out, h.queue);
    PutStr(&out, h.call_id);
    PutStr(&out, h.agent);
    PutStr(&out, h.caller_id);
    out.push_back(static_cast<char>(h.event.kind));
    out.push_back(static_cast<char>(h.event.hung_up_by));
    out.push_back(
        static_cast<char>((h.event.reconstructed ? 1 : 0) | (h.event.wait_unknown ? 2 : 0)));
    pod(h.event.wait_ms);
    pod(h.event.talk_ms);
    pod(h.event.hold_ms);
    pod(h.event.acw_ms);
    pod(h.ended_ms);
    pod(h.acw_since_ms);
    pod(h.due_ms);
  }
  return out;
}

bool QueueLogStateMachine::RestoreState(std::string_view blob) {
  ClearCalls();
  ended_order_.clear();
  aliases_.clear();
  timers_.clear();
  members_.clear();
  bound_.clear();
  pending_adds_.clear();
  queues_seen_.clear();
  paused_.clear();
  held_.clear();
  auto fail = [this] {
    paused_.clear();
    held_.clear();
    ClearCalls();
    aliases_.clear();
    members_.clear();
    bound_.clear();
    timers_.clear();
    queues_seen_.clear();
    now_ms_ = 0;
    announced_ = false;
    return false;
  };
  auto pod = [&blob](auto* v) {
    if (blob.size() < sizeof *v) return false;
    std::memcpy(v, blob.data(), sizeof *v);
    blob.remove_prefix(sizeof *v);
    return true;
  };
  auto add_call = [this](std::string key, Call c) {
    if (std::find(queues_seen_.begin(), queues_seen_.end(), c.queue) == queues_seen_.end()) {
      queues_seen_.push_back(c.queue);
    }
    const auto [it, added] = calls_.emplace(std::move(key), std::move(c));
    if (!added) return;
    Link(it->second, it->first);
    if (!it->second.answered) ScheduleLost(it->first, it->second);
  };
  if (blob.starts_with("QLSM1")) {
    blob.remove_prefix(5);
    while (!blob.empty()) {
      std::string key;
      Call c;
      if (!GetStr(&blob, &key) || !GetStr(&blob, &c.queue) || !GetStr(&blob, &c.caller_id) ||
          !GetStr(&blob, &c.agent) || !pod(&c.entered_ms) || blob.empty()) {
        return fail();
      }
      c.answered = blob.front() == '\1';
      c.entry_known = true;
      blob.remove_prefix(1);
      add_call(std::move(key), std::move(c));
    }
    return true;
  }
  if (!blob.starts_with("QLSM2") && !blob.starts_with("QLSM3")) return blob.empty();
  const bool v3 = blob.starts_with("QLSM3");
  blob.remove_prefix(5);
  std::int64_t now = 0;
  if (!pod(&now) || blob.empty()) return fail();
  announced_ = blob.front() == '\1';
  blob.remove_prefix(1);
  std::uint32_t n = 0;
  if (!pod(&n) || n > blob.size()) return fail();
  for (; n > 0; --n) {
    std::string key;
    Call c;
    if (!GetStr(&blob, &key) || !GetStr(&blob, &c.queue) || !GetStr(&blob, &c.caller_id) ||
        !GetStr(&blob, &c.agent) || !GetStr(&blob, &c.alias) || !pod(&c.entered_ms) ||
        !pod(&c.answered_ms) || blob.empty()) {
      return fail();
    }
    const auto flags = static_cast<unsigned char>(blob.front());
    blob.remove_prefix(1);
    c.answered = (flags & 1) != 0;
    c.entry_known = (flags & 2) != 0;
    add_call(std::move(key), std::move(c));
  }
  if (!pod(&n) || n > blob.size()) return fail();
  for (; n > 0; --n) {
    std::string alias, key;
    if (!GetStr(&blob, &alias) || !GetStr(&blob, &key)) return fail();
    aliases_.emplace(std::move(alias), std::move(key));
  }
  if (!pod(&n) || n > blob.size()) return fail();
  for (; n > 0; --n) {
    std::string interface, name;
    if (!GetStr(&blob, &interface) || !GetStr(&blob, &name)) return fail();
    bound_.emplace(std::move(interface), std::move(name));
  }
  if (!pod(&n) || n > blob.size()) return fail();
  for (; n > 0; --n) {
    std::string name;
    std::int64_t until = 0;
    if (!GetStr(&blob, &name) || !pod(&until)) return fail();
    timers_.emplace(until, Timer{Timer::Kind::kWrapupEnd, nullptr, name});
    members_[std::move(name)].wrapup_until_ms = until;
  }
  if (v3) {
    if (!pod(&n) || n > blob.size()) return fail();
    for (; n > 0; --n) {
      std::string name;
      if (!GetStr(&blob, &name) || blob.empty()) return fail();
      const auto state = static_cast<AgentState>(static_cast<unsigned char>(blob.front()));
      blob.remove_prefix(1);
      if (state != AgentState::kNotReady && state != AgentState::kAfterCallWork) return fail();
      paused_.emplace(std::move(name), state);
    }
    if (!pod(&n) || n > blob.size()) return fail();
    for (; n > 0; --n) {
      std::string member;
      HeldEnd h;
      if (!GetStr(&blob, &member) || !GetStr(&blob, &h.queue) || !GetStr(&blob, &h.call_id) ||
          !GetStr(&blob, &h.agent) || !GetStr(&blob, &h.caller_id) || blob.size() < 3) {
        return fail();
      }
      if (static_cast<unsigned char>(blob[1]) > static_cast<unsigned char>(Party::kAgent)) {
        return fail();
      }
      h.event.kind = static_cast<CallKind>(static_cast<unsigned char>(blob[0]));
      h.event.hung_up_by = static_cast<Party>(static_cast<unsigned char>(blob[1]));
      const auto flags = static_cast<unsigned char>(blob[2]);
      blob.remove_prefix(3);
      h.event.reconstructed = (flags & 1) != 0;
      h.event.wait_unknown = (flags & 2) != 0;
      if ((h.event.kind != CallKind::kCompleted && h.event.kind != CallKind::kTransferred) ||
          !pod(&h.event.wait_ms) || !pod(&h.event.talk_ms) || !pod(&h.event.hold_ms) ||
          !pod(&h.event.acw_ms) || !pod(&h.ended_ms) || !pod(&h.acw_since_ms) || !pod(&h.due_ms)) {
        return fail();
      }
      timers_.emplace(h.due_ms, Timer{Timer::Kind::kHeldEnd, nullptr, member});
      held_.insert_or_assign(std::move(member), std::move(h));
    }
  }
  if (!blob.empty()) return fail();
  now_ms_ = now;
  // The last evidence of the PBX before the restart: what a QUEUESTART read first after it
  // ends the calls in progress at (the saved clock followed the PBX up to the save).
  last_line_ms_ = now;
  return true;
}

}  // namespace ccmon::agent
