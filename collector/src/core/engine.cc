#include "ccmon/collector/engine.h"

#include "core/engine_impl.h"

namespace ccmon::collector {

Engine::Impl::Impl(CoreConfig c, const Clock& clk) : cfg(std::move(c)), clock(clk) {
  if (!absl::LoadTimeZone(cfg.default_timezone, &default_tz)) default_tz = absl::UTCTimeZone();
  // Known before the first Tick: a WAL replay must not rebuild rows the store has pruned
  // from memory (they would be partial).
  amend_horizon_ms = clock.NowMs() - static_cast<std::int64_t>(cfg.ledger_amend_days) * kDayMs;
  for (const auto& s : cfg.sites) {
    absl::TimeZone tz;
    if (!absl::LoadTimeZone(s.timezone, &tz)) tz = default_tz;
    site_tz[s.id] = tz;
  }
  for (const auto& client : cfg.clients) {
    for (const auto& q : client.queues) {
      std::string zone = q.terms.zone_named ? q.terms.timezone : std::string();
      absl::TimeZone tz;
      if (!zone.empty() && absl::LoadTimeZone(zone, &tz)) {
        contract_tz[zone] = tz;
      } else {
        zone.clear();
      }
      queue_owner[q.name] = {client.name, q.contract, std::move(zone)};
    }
  }
  // Configured sites exist from the start (last seen: never), so one that never reports
  // shows as disconnected rather than not at all.
  for (const auto& s : cfg.sites) GetSite(s.id);
  // Histogram bounds: a standard ladder plus every configured threshold, so SL can be read
  // off the histogram exactly.
  std::vector<std::int64_t> wait = {5000,  10000, 15000,  20000,  30000,  45000,
                                    60000, 90000, 120000, 180000, 300000, 600000};
  auto add_thresholds = [&](const Contract& ct) {
    wait.push_back(static_cast<std::int64_t>(ct.sl_threshold_s * 1000));
    wait.push_back(static_cast<std::int64_t>(ct.short_abandon_s * 1000));
  };
  add_thresholds(cfg.default_contract);
  for (const auto& client : cfg.clients) {
    add_thresholds(client.contract);
    for (const auto& q : client.queues) add_thresholds(q.contract);
  }
  std::sort(wait.begin(), wait.end());
  wait.erase(std::unique(wait.begin(), wait.end()), wait.end());
  wait.erase(std::remove(wait.begin(), wait.end(), 0), wait.end());
  wait_bounds_ms = std::move(wait);
  handle_bounds_ms = {30000,  60000,  120000, 180000, 240000,
                      300000, 420000, 600000, 900000, 1800000};
}

Site& Engine::Impl::GetSite(std::string_view id) {
  // Events come in batches of one site: remember the last one (sites are never removed).
  if (last_site != nullptr && last_site->id == id) return *last_site;
  if (auto* s = Find(sites, id)) return *(last_site = s->get());
  auto site = std::make_unique<Site>();
  site->id = std::string(id);
  auto* tz = Find(site_tz, id);
  site->tz = tz != nullptr ? *tz : default_tz;
  Site& ref = *site;
  sites.emplace(site->id, std::move(site));
  last_site = &ref;
  return ref;
}

Queue* Engine::Impl::GetQueue(Site& site, std::string_view name) {
  if (auto* q = Find(site.queues, name)) return q->get();
  if (site.queues.size() >= cfg.limits.max_queues_per_site) return nullptr;
  auto q = std::make_unique<Queue>();
  q->name = std::string(name);
  q->site = &site;
  q->zone = &site.tz;
  q->zone_name = SiteZoneName(site.id);
  if (auto* owner = Find(queue_owner, name)) {
    q->client = owner->client;
    q->contract = owner->contract;
    if (auto* tz = Find(contract_tz, owner->zone)) {
      q->zone = tz;
      q->zone_name = owner->zone;
    }
  } else {
    q->client = "default";
    q->contract = cfg.default_contract;
  }
  if (const absl::TimeZone& tz = StatementZone(name); tz != site.tz) q->contract_day_zone = &tz;
  q->threshold_ms = static_cast<std::int64_t>(q->contract.sl_threshold_s * 1000);
  q->short_abandon_ms = static_cast<std::int64_t>(q->contract.short_abandon_s * 1000);
  q->interval_ms = static_cast<std::int64_t>(q->contract.interval_minutes) * kMinuteMs;
  q->answered_wait.counts.assign(wait_bounds_ms.size() + 1, 0);
  q->abandoned_wait.counts.assign(wait_bounds_ms.size() + 1, 0);
  q->handle_time.counts.assign(handle_bounds_ms.size() + 1, 0);
  Queue* ref = q.get();
  site.queues.emplace(q->name, std::move(q));
  return ref;
}

namespace {

// Whether an event only follows a call: a member's ring attempt, the agent going on a call,
// her wrap-up, its end or the call's end, a voice sample. Each is stamped on its call's time
// (a wrap-up's end later by the wrap-up time), so a call stamped ahead (a PBX clock glitch)
// would confirm its own jump with them.
bool FollowsACall(const EventBody& body) {
  if (const auto* c = std::get_if<CallEvent>(&body)) return c->kind == CallKind::kRingNoAnswer;
  if (const auto* s = std::get_if<AgentStateEvent>(&body)) {
    return s->state == AgentState::kOnCall || s->reason == kReasonWrapup ||
           s->reason == kReasonWrapupEnd || s->reason == kReasonCallEnd;
  }
  return std::holds_alternative<VoiceQuality>(body);
}

}  // namespace

// Moves an instance's watermark by one accepted event (see Instance). Heartbeats and link
// samples come from the agent's own clock, not the PBX's, and events that only follow a call
// cannot tell a glitch from a new time: they move the watermark only when they agree with
// it, and are never held (a backfill of an old log sends heartbeats of today).
void Engine::Impl::AdvanceWatermark(Instance& in, std::int64_t t, bool from_pbx,
                                    std::string_view call_id) {
  constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::min();
  if (in.watermark_ms == kNone) {
    if (from_pbx) in.watermark_ms = t;
    return;
  }
  if (t <= in.watermark_ms + cfg.clock_anomaly_ms) {
    if (!from_pbx) {
      if (in.held_n == 0) in.watermark_ms = std::max(in.watermark_ms, t);
      return;
    }
    stats.clock_anomaly += in.held_n;
    in.held_n = 0;
    in.watermark_ms = std::max(in.watermark_ms, t);
    return;
  }
  if (!from_pbx) return;
  // Only an event ahead of the timeline needs its call told apart (hashed here, not per event).
  const std::size_t call_key = call_id.empty() ? 0 : (std::hash<std::string_view>{}(call_id) | 1);
  // A second call, or an agent's own state change (a login, a pause), on the new timeline
  // confirms it: a PBX clock glitch stamps one call's lines, a night's gap moves every call.
  const bool confirmed = in.held_n + 1 == kWatermarkConfirm ||
                         (in.held_n > 0 && (call_key == 0 || call_key != in.held_call));
  if (!confirmed) {
    if (in.held_n == 0) in.held_call = call_key;
    in.held[in.held_n++] = t;
    return;
  }
  // The new timeline is the confirming event's: held lines further than the anomaly past it
  // are a glitch it gives the lie to (a call stamped ahead, then a quiet spell before the
  // site's next real call), not part of it.
  std::int64_t newest = t;
  for (std::uint32_t i = 0; i < in.held_n; ++i) {
    if (in.held[i] <= t + cfg.clock_anomaly_ms) {
      newest = std::max(newest, in.held[i]);
    } else {
      ++stats.clock_anomaly;
    }
  }
  in.watermark_ms = newest;
  in.held_n = 0;
}

void Engine::Impl::ApplyHeartbeat(Site& site, Instance& in, const Heartbeat& h) {
  site.clock_skew_ms = h.agent_time_ms - clock.NowMs();
  // A heartbeat is as old as its place in the spool: live status, when the agent sends it,
  // says the backlog and the pause better.
  if (!site.live_status) {
    site.spool_backlog = h.spool_backlog_events;
    site.spool_paused = h.spool_paused;
  }
  site.spool_dropped = h.events_dropped;
  site.lines_rejected = h.lines_rejected;
  site.replicas_given_up = h.replicas_given_up;
  // A heartbeat replayed from the WAL (no stream open) is history: it must not hold a gauge
  // of now up for an agent that may never come back.
  if (in.open_streams > 0 && !in.live_sources) in.sources_waiting = h.sources_waiting;
  site.heartbeat_interval_ms = h.interval_ms;
  if (!h.agent_version.empty() && ValidText(h.agent_version, cfg.limits.max_field_bytes)) {
    site.version = std::string(h.agent_version);
  }
}

Engine::Engine(CoreConfig config, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(config), clock)) {}
Engine::~Engine() = default;

const CoreConfig& Engine::config() const { return impl_->cfg; }

std::uint64_t Engine::OpenStream(std::string_view site_id, std::string_view instance,
                                 std::string_view agent_version) {
  Site& site = impl_->GetSite(site_id);
  ++site.open_streams;
  site.last_seen_ms = impl_->clock.NowMs();
  site.last_instance = std::string(instance);
  if (!agent_version.empty()) site.version = std::string(agent_version);
  Instance& in = site.GetInstance(instance);
  ++in.open_streams;
  return in.last_seq;
}

void Engine::ApplyAgentStatus(std::string_view site_id, std::string_view instance,
                              const AgentLiveStatus& status) {
  Site& site = impl_->GetSite(site_id);
  site.spool_backlog = status.backlog_events;
  site.spool_paused = status.paused;
  Instance& in = site.GetInstance(instance);
  if (in.open_streams > 0) {
    in.sources_waiting = status.sources_waiting;
    in.live_sources = true;
  }
  site.live_status = true;
  site.last_seen_ms = impl_->clock.NowMs();
}

std::vector<std::string> Engine::OtherOpenInstances(std::string_view site_id,
                                                    std::string_view instance) const {
  std::vector<std::string> out;
  auto* s = Find(impl_->sites, site_id);
  if (s == nullptr) return out;
  for (const auto& [id, in] : (*s)->instances) {
    if (id != instance && in.open_streams > 0) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void Engine::CloseStream(std::string_view site_id, std::string_view instance) {
  auto* s = Find(impl_->sites, site_id);
  if (s == nullptr) return;
  Site& site = **s;
  if (site.open_streams > 0) --site.open_streams;
  // "Paused" is the agent's word while it streams; a disconnected agent says nothing.
  if (site.open_streams == 0) {
    site.spool_paused = false;
    site.live_status = false;
  }
  if (auto* in = Find(site.instances, instance); in != nullptr && in->open_streams > 0) {
    --in->open_streams;
    if (in->open_streams == 0) {
      in->sources_waiting = 0;
      in->live_sources = false;
    }
    // The site's close watermark may move on now that this instance stopped streaming.
    impl_->UpdateCloseWatermark(site);
  }
}

std::uint64_t Engine::LastApplied(std::string_view site_id, std::string_view instance) const {
  auto* s = Find(impl_->sites, site_id);
  if (s == nullptr) return 0;
  auto* in = Find((*s)->instances, instance);
  return in != nullptr ? in->last_seq : 0;
}

ApplyResult Engine::Apply(std::string_view site_id, std::string_view instance, const Event& event) {
  return Apply(site_id, instance, event, impl_->clock.NowMs());
}

const Clock& Engine::clock() const { return impl_->clock; }

ApplyResult Engine::Apply(std::string_view site_id, std::string_view instance, const Event& event,
                          const std::int64_t now) {
  Impl& m = *impl_;
  Site& site = m.GetSite(site_id);
  Instance& in = site.GetInstance(instance);
  std::uint64_t* last = &in.last_seq;
  if (event.seq <= *last) {
    ++m.stats.duplicate;
    return ApplyResult{ApplyResult::Kind::kDuplicate, {}, {}};
  }
  if (event.seq != *last + 1) ++m.stats.sequence_gaps;
  *last = event.seq;

  site.last_seen_ms = now;
  const std::int64_t t = event.time_ms;
  if (m.cfg.limits.max_future_ms > 0 && t > now + m.cfg.limits.max_future_ms) {
    return m.Invalid("future_timestamp", "event_time_ms is further ahead than limits.max_future");
  }
  if (t <= 0 || (m.cfg.limits.max_age_ms > 0 && t < now - m.cfg.limits.max_age_ms)) {
    return m.Invalid("past_timestamp", "event_time_ms is older than limits.max_age");
  }

  ApplyResult r = std::visit(
      [&](const auto& body) -> ApplyResult {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, CallEvent>) return m.ApplyCall(site, body, t);
        if constexpr (std::is_same_v<T, AgentStateEvent>) return m.ApplyAgentState(site, body, t);
        if constexpr (std::is_same_v<T, LinkSample>) return m.ApplyLink(site, body, t);
        if constexpr (std::is_same_v<T, VoiceQuality>) return m.ApplyVoice(site, body, t);
        if constexpr (std::is_same_v<T, Heartbeat>) {
          m.ApplyHeartbeat(site, in, body);
          return ApplyResult{};
        }
      },
      event.body);
  if (r.kind != ApplyResult::Kind::kAccepted) return r;
  ++m.stats.accepted;
  const bool from_pbx = std::holds_alternative<CallEvent>(event.body) ||
                        std::holds_alternative<AgentStateEvent>(event.body) ||
                        std::holds_alternative<VoiceQuality>(event.body);
  if (from_pbx) {
    site.last_pbx_ms = now;
    // The lesser of the last two PBX events' leads: one glitched stamp (which the watermark
    // also refuses) does not make a clock fast, two in a row do.
    const std::int64_t ahead = std::max<std::int64_t>(0, t - now);
    site.pbx_ahead_ms = std::min(ahead, site.pbx_last_ahead_ms);
    site.pbx_last_ahead_ms = ahead;
  }
  const std::int64_t before = in.watermark_ms;
  const auto* call = std::get_if<CallEvent>(&event.body);
  m.AdvanceWatermark(in, t, from_pbx && !FollowsACall(event.body),
                     call != nullptr ? call->call_id : std::string_view());
  if (in.watermark_ms != before) {
    site.event_watermark_ms = std::max(site.event_watermark_ms, in.watermark_ms);
    if (in.watermark_ms >= site.next_close_ms) m.UpdateCloseWatermark(site);
  }
  return r;
}

bool Engine::Reject(std::string_view site_id, std::string_view instance, std::uint64_t seq,
                    std::string_view reason) {
  Site& site = impl_->GetSite(site_id);
  std::uint64_t* last = &site.LastSeq(instance);
  if (seq <= *last) {
    ++impl_->stats.duplicate;
    return false;
  }
  if (seq != *last + 1) ++impl_->stats.sequence_gaps;
  *last = seq;
  ++impl_->stats.invalid_by_reason[std::string(reason)];
  return true;
}

void Engine::Tick() {
  Impl& m = *impl_;
  const std::int64_t now = m.clock.NowMs();
  for (auto& [id, site] : m.sites) {
    const std::int64_t site_now = m.SiteNow(*site);
    for (auto& [name, agent] : site->agents)
      m.Accrue(agent, std::min(site_now, site->event_watermark_ms));
    m.UpdateCloseWatermark(*site);
    if (now - site->last_pbx_ms >= m.cfg.idle_close_ms && site_now >= site->next_close_ms) {
      m.CloseRows(*site, site_now);
    }
  }
  // Closed rows leave memory past the amendment horizon (the store keeps them).
  m.amend_horizon_ms = now - static_cast<std::int64_t>(m.cfg.ledger_amend_days) * kDayMs;
  for (auto& [id, site] : m.sites) {
    for (auto& [name, q] : site->queues) {
      auto& rows = q->rows;
      while (!rows.empty() && rows.begin()->first < m.amend_horizon_ms &&
             rows.begin()->second.closed && !rows.begin()->second.dirty) {
        rows.erase(rows.begin());
      }
    }
  }
}

std::vector<LedgerRow> Engine::DrainLedger(bool all) { return impl_->Drain(all); }

}  // namespace ccmon::collector
