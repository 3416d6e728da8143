// Calls and their KPIs: each call step counted on its queue (totals, minute ring, day,
// histograms), the calls waiting now, and a queue's view with its rolling windows.
#include "core/engine_impl.h"

namespace ccmon::collector {

void Engine::Impl::AddCounts(Queue& q, std::int64_t t_ms, const Counts& d, bool rebuilt) {
  q.total += d;
  if (MinuteBucket* b = RingAt(q.ring, FloorDiv(t_ms, kMinuteMs))) b->counts += d;
  // A day's first call starts it (TwoDays keeps the day before it too).
  q.today.Add(LocalDay(*q.site, t_ms), d);
  // The contract's day holds the calls of the ledger rows it holds: a row starting before
  // its midnight (rows follow the site's zone when the contract names none) belongs to the
  // day before, as in the interval series and the statement.
  const std::int64_t row_start = IntervalStart(q, t_ms);
  if (q.contract_day_zone != nullptr) {
    q.contract_today.Add(ContractDay(q, row_start), d);
  }
  AddToRow(q, row_start, d, rebuilt);
}

Counts Engine::Impl::ContractToday(const Queue& q, std::int64_t now_ms) {
  if (q.contract_day_zone == nullptr) return q.today.Of(LocalDay(*q.site, now_ms));
  return q.contract_today.Of(ContractDay(q, now_ms));
}

ApplyResult Engine::Impl::ApplyCall(Site& site, const CallEvent& c, std::int64_t t) {
  if (c.queue.empty()) return Invalid("missing_field", "call event without queue");
  for (auto f : {c.queue, c.call_id, c.agent, c.caller_id}) {
    if (!ValidText(f, cfg.limits.max_field_bytes)) {
      return Invalid("bad_field", "call event field too long or with control characters");
    }
  }
  Queue* q = GetQueue(site, c.queue);
  if (q == nullptr) return Invalid("queue_cap", "site has reached max_queues_per_site");
  if (c.reconstructed) ++stats.reconstructed;
  Counts d;
  switch (c.kind) {
    case CallKind::kOffered:
      d.offered = 1;
      if (!c.call_id.empty()) {
        if (q->waiting.size() >= cfg.limits.max_waiting_calls_per_queue) {
          auto oldest = std::min_element(q->waiting.begin(), q->waiting.end(),
                                         [](auto& x, auto& y) { return x.second < y.second; });
          q->waiting.erase(oldest);
        }
        q->waiting.emplace(std::string(c.call_id), t);
      }
      break;
    case CallKind::kAnswered:
      d.answered = 1;
      // An unknown wait is in no wait figure: not within T, not in the sum or histogram.
      if (c.wait_unknown) {
        d.answered_wait_unknown = 1;
      } else {
        d.answered_in_threshold = c.wait_ms <= q->threshold_ms ? 1 : 0;
        d.answered_wait_ms = c.wait_ms;
        q->answered_wait.Observe(wait_bounds_ms, c.wait_ms);
      }
      Leave(*q, c.call_id);
      if (!c.agent.empty()) {
        if (Agent* a = GetAgent(site, c.agent, t)) {
          Join(*a, q);
          SetState(*a, AgentState::kOnCall, t);
        }
      }
      break;
    case CallKind::kAbandoned:
      d.abandoned = 1;
      // Nor is an abandon's; and it is never short, so it counts in the abandon rate (an
      // empty wait field must not turn a real abandon into a misdial).
      if (c.wait_unknown) {
        d.abandoned_wait_unknown = 1;
      } else {
        d.abandoned_in_threshold = c.wait_ms <= q->threshold_ms ? 1 : 0;
        d.short_abandoned = c.wait_ms < q->short_abandon_ms ? 1 : 0;
        d.abandoned_wait_ms = c.wait_ms;
        q->abandoned_wait.Observe(wait_bounds_ms, c.wait_ms);
      }
      Leave(*q, c.call_id);
      q->abandoned.push_back({t, c.wait_ms, std::string(c.call_id), std::string(c.caller_id)});
      if (q->abandoned.size() > Engine::kMaxAbandonedPerQueue) q->abandoned.pop_front();
      break;
    case CallKind::kUnanswered:
      if (c.reason == UnansweredReason::kNone) {
        return Invalid("unknown_enum", "unanswered call without a reason");
      }
      d.unanswered[static_cast<std::size_t>(c.reason)] = 1;
      Leave(*q, c.call_id);
      break;
    case CallKind::kCompleted:
    case CallKind::kTransferred: {
      (c.kind == CallKind::kCompleted ? d.completed : d.transferred) = 1;
      d.handled = 1;
      const std::uint64_t handle = std::uint64_t{c.talk_ms} + c.hold_ms + c.acw_ms;
      d.handle_ms = handle;
      q->handle_time.Observe(handle_bounds_ms, handle);
      if (!c.agent.empty()) {
        if (Agent* a = Find(site.agents, c.agent);
            a != nullptr && a->state == AgentState::kOnCall) {
          SetState(*a, a->paused ? a->pause_state : AgentState::kReady, t);
        }
      }
      break;
    }
    case CallKind::kRingNoAnswer:
      return ApplyResult{};
    default:
      return Invalid("unknown_enum", "unknown call event kind");
  }
  AddCounts(*q, t, d, c.reconstructed);
  return ApplyResult{};
}

void Engine::Impl::Leave(Queue& q, std::string_view call_id) {
  if (call_id.empty()) return;
  if (auto it = q.waiting.find(call_id); it != q.waiting.end()) q.waiting.erase(it);
}

Counts Engine::Impl::WindowCounts(const Queue& q, std::int64_t now_ms, int minutes,
                                  std::uint64_t* mos_milli, std::uint64_t* mos_n) const {
  Counts c;
  ForRingWindow(q.ring, FloorDiv(now_ms, kMinuteMs), minutes, [&](const MinuteBucket& b) {
    c += b.counts;
    if (mos_milli != nullptr) {
      *mos_milli += b.mos_milli_sum;
      *mos_n += b.mos_samples;
    }
  });
  return c;
}

QueueView Engine::Impl::View(const Queue& q) const {
  QueueView v;
  v.client = q.client;
  v.site = q.site->id;
  v.queue = q.name;
  v.contract = q.contract;
  v.total = q.total;
  const std::int64_t now = SiteNow(*q.site);
  for (std::size_t i = 0; i < kRollingWindowMinutes.size(); ++i) {
    v.windows[i] = WindowCounts(q, now, kRollingWindowMinutes[i], nullptr, nullptr);
  }
  v.windows[kTodayWindow] = q.today.Of(LocalDay(*q.site, now));
  const std::int64_t current = IntervalStart(q, now);
  if (auto it = q.rows.find(current); it != q.rows.end()) v.interval = it->second.counts;
  v.answered_wait = q.answered_wait.View();
  v.abandoned_wait = q.abandoned_wait.View();
  v.handle_time = q.handle_time.View();
  v.calls_waiting = static_cast<std::uint32_t>(q.waiting.size());
  std::int64_t oldest = now;
  for (const auto& [id, entered] : q.waiting) oldest = std::min(oldest, entered);
  v.oldest_wait_s = static_cast<double>(now - oldest) / 1000.0;
  for (std::size_t s = 0; s < q.agents_by_state.size(); ++s) {
    v.agents_by_state[s] = q.agents_by_state[s];
  }
  v.agent_state_ms = q.agent_state_ms;
  v.ledger_met = q.ledger_met;
  v.ledger_missed = q.ledger_missed;
  v.first_open_row_ms = q.first_open;
  std::uint64_t mos_milli = 0, mos_n = 0;
  WindowCounts(q, now, kMosWindowMinutes, &mos_milli, &mos_n);
  if (mos_n > 0) v.mos_5m = static_cast<double>(mos_milli) / 1000.0 / static_cast<double>(mos_n);
  v.mos_samples_5m = mos_n;
  const Counts& w30 = v.windows[1];
  const double aht = AhtSeconds(w30).value_or(180.0);
  v.agents_required = ErlangCAgentsRequired(static_cast<double>(w30.offered) / 1800.0, aht,
                                            q.contract.sl_threshold_s, q.contract.sl_target);
  return v;
}

}  // namespace ccmon::collector
