// The agent roster: each agent's state, the queues it serves, and its time in each state
// accrued to those queues.
#include "core/engine_impl.h"

namespace ccmon::collector {

void Engine::Impl::Accrue(Agent& a, std::int64_t t_ms) {
  if (t_ms <= a.since_ms) return;
  const auto dt = static_cast<std::uint64_t>(t_ms - a.since_ms);
  a.since_ms = t_ms;
  Counts d;
  switch (a.state) {
    case AgentState::kOnCall:
      d.on_call_ms = dt;
      break;
    case AgentState::kAfterCallWork:
      d.acw_ms = dt;
      break;
    case AgentState::kReady:
      d.ready_ms = dt;
      break;
    default:
      break;
  }
  for (Queue* q : a.queues) {
    q->agent_state_ms[static_cast<std::size_t>(a.state)] += dt;
    if (d.on_call_ms + d.acw_ms + d.ready_ms > 0) AddStateTime(*q, t_ms, d);
  }
}

void Engine::Impl::AddStateTime(Queue& q, std::int64_t t_ms, const Counts& d) {
  q.total += d;
  if (MinuteBucket* b = RingAt(q.ring, FloorDiv(t_ms, kMinuteMs))) b->counts += d;
  // Agent time never starts a day (the span may reach back over a quiet night): it counts in
  // the day a call started, the contract's by the ledger row it falls in, as calls do.
  q.today.AddIfKept(LocalDay(*q.site, t_ms), d);
  if (q.contract_day_zone != nullptr) {
    q.contract_today.AddIfKept(ContractDay(q, IntervalStart(q, t_ms)), d);
  }
}

void Engine::Impl::SetState(Agent& a, AgentState s, std::int64_t t_ms) {
  Accrue(a, t_ms);
  if (a.since_ms < t_ms) a.since_ms = t_ms;
  if (s == a.state) return;
  for (Queue* q : a.queues) {
    --q->agents_by_state[static_cast<std::size_t>(a.state)];
    ++q->agents_by_state[static_cast<std::size_t>(s)];
  }
  a.state = s;
}

void Engine::Impl::Join(Agent& a, Queue* q) {
  if (std::find(a.queues.begin(), a.queues.end(), q) != a.queues.end()) return;
  a.queues.push_back(q);
  ++q->agents_by_state[static_cast<std::size_t>(a.state)];
}

void Engine::Impl::Leave(Agent& a, Queue* q) {
  auto it = std::find(a.queues.begin(), a.queues.end(), q);
  if (it == a.queues.end()) return;
  --q->agents_by_state[static_cast<std::size_t>(a.state)];
  a.queues.erase(it);
}

Agent* Engine::Impl::GetAgent(Site& site, std::string_view name, std::int64_t t_ms) {
  if (auto* a = Find(site.agents, name)) return a;
  if (site.agents.size() >= cfg.limits.max_agents_per_site) return nullptr;
  Agent a;
  a.since_ms = t_ms;
  return &site.agents.emplace(std::string(name), std::move(a)).first->second;
}

ApplyResult Engine::Impl::ApplyAgentState(Site& site, const AgentStateEvent& e, std::int64_t t) {
  if (e.agent.empty()) return Invalid("missing_field", "agent state event without agent");
  for (auto f : {e.agent, e.queue, e.reason}) {
    if (!ValidText(f, cfg.limits.max_field_bytes)) {
      return Invalid("bad_field", "agent state field too long or with control characters");
    }
  }
  if (static_cast<int>(e.state) < 1 || static_cast<int>(e.state) >= kAgentStateCount) {
    return Invalid("unknown_enum", "unknown agent state");
  }
  Queue* q = nullptr;
  if (!e.queue.empty()) {
    q = GetQueue(site, e.queue);
    if (q == nullptr) return Invalid("queue_cap", "site has reached max_queues_per_site");
  }
  Agent* a = GetAgent(site, e.agent, t);
  if (a == nullptr) return Invalid("agent_cap", "site has reached max_agents_per_site");
  if (e.state == AgentState::kLoggedOut) {
    if (q != nullptr) {
      Accrue(*a, t);
      Leave(*a, q);
      if (!a->queues.empty()) return ApplyResult{};
    }
    SetState(*a, AgentState::kLoggedOut, t);
    a->paused = false;
    while (!a->queues.empty()) Leave(*a, a->queues.back());
    return ApplyResult{};
  }
  // States that follow a call (wrap-up, its end, the call's end ahead of its event) do not
  // bring back an agent that logged out during the call.
  const bool wrapup = e.reason == kReasonWrapup;
  const bool after_call = wrapup || e.reason == kReasonWrapupEnd || e.reason == kReasonCallEnd;
  if (after_call && a->state == AgentState::kLoggedOut) return ApplyResult{};
  // Pauses: not ready, or after-call work by a pause reason (the wrap-up time is no pause).
  if (e.state == AgentState::kNotReady || (e.state == AgentState::kAfterCallWork && !wrapup)) {
    a->paused = true;
    a->pause_state = e.state;
  }
  if (e.state == AgentState::kReady) a->paused = false;
  Accrue(*a, t);
  if (q != nullptr) Join(*a, q);
  // A pause or unpause during a call changes what the agent returns to, not the call; the
  // call's own end (and the wrap-up after it) does end it.
  const bool on_call = a->state == AgentState::kOnCall;
  const bool pause_toggle = e.state == AgentState::kReady || e.state == AgentState::kNotReady ||
                            (e.state == AgentState::kAfterCallWork && !wrapup);
  if (!(on_call && pause_toggle) || e.reason == kReasonCallEnd) SetState(*a, e.state, t);
  return ApplyResult{};
}

}  // namespace ccmon::collector
