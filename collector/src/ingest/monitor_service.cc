#include "ingest/monitor_service.h"

#include <algorithm>
#include <chrono>
#include <regex>
#include <thread>

#include "ingest/auth.h"

namespace ccmon::collector {

namespace {

void FillWindow(const char* name, const Counts& c, const Contract& ct, v1::WindowKpis* w) {
  w->set_window(name);
  w->set_offered(c.offered);
  w->set_answered(c.answered);
  w->set_answered_in_threshold(c.answered_in_threshold);
  w->set_abandoned(c.abandoned);
  w->set_abandoned_in_threshold(c.abandoned_in_threshold);
  w->set_short_abandoned(c.short_abandoned);
  w->set_unanswered(c.UnansweredTotal());
  if (auto v = ServiceLevel(c, ct.sl_formula)) {
    w->set_has_service_level(true);
    w->set_service_level(*v);
  }
  if (auto v = AbandonRate(c)) {
    w->set_has_abandon_rate(true);
    w->set_abandon_rate(*v);
  }
  if (auto v = AsaSeconds(c)) {
    w->set_has_asa(true);
    w->set_asa_seconds(*v);
  }
  if (auto v = AhtSeconds(c)) {
    w->set_has_aht(true);
    w->set_aht_seconds(*v);
  }
}

void FillAlert(const Alert& a, v1::AlertInfo* o) {
  o->set_name(a.name);
  o->set_severity(a.severity);
  o->set_client(a.client);
  o->set_site(a.site);
  o->set_queue(a.queue);
  o->set_link(a.link);
  o->set_summary(a.summary);
  o->set_description(a.description);
  o->set_runbook_url(a.runbook_url);
  o->set_starts_ms(a.starts_ms);
  o->set_ends_ms(a.ends_ms);
}

}  // namespace

std::string MaskCallerId(std::string_view id) {
  std::string out(id);
  const std::size_t keep = std::min<std::size_t>(2, out.size());
  for (std::size_t i = 0; i + keep < out.size(); ++i) {
    if (out[i] >= '0' && out[i] <= '9') out[i] = '*';
  }
  return out;
}

// The caller's copy of a request, its client pinned to the caller's token scope.
template <typename Request>
grpc::Status MonitorService::Scoped(const Request& in, const grpc::ServerContext& ctx,
                                    Request* out) const {
  *out = in;
  bool pii = false;
  return AuthorizeMonitor(security_, ctx, out->mutable_client(), &pii);
}

grpc::Status MonitorService::ListAlerts(grpc::ServerContext* ctx, const v1::AlertsRequest* request,
                                        v1::AlertList* out) {
  v1::AlertsRequest scoped;
  if (auto st = Scoped(*request, *ctx, &scoped); !st.ok()) return st;
  const v1::AlertsRequest* req = &scoped;
  out->set_now_ms(host_.clock().NowMs());
  for (const Alert& a : host_.alerts.Active()) {
    if (req->client().empty() || a.client == req->client()) FillAlert(a, out->add_alerts());
  }
  return grpc::Status::OK;
}

grpc::Status MonitorService::WatchAlerts(grpc::ServerContext* ctx, const v1::AlertsRequest* request,
                                         grpc::ServerWriter<v1::AlertUpdate>* out) {
  v1::AlertsRequest scoped;
  if (auto st = Scoped(*request, *ctx, &scoped); !st.ok()) return st;
  const v1::AlertsRequest* req = &scoped;
  auto send_active = [&] {
    for (const Alert& a : host_.alerts.Active()) {
      if (!req->client().empty() && a.client != req->client()) continue;
      v1::AlertUpdate u;
      u.set_firing(true);
      FillAlert(a, u.mutable_alert());
      if (!out->Write(u)) return false;
    }
    return true;
  };
  std::uint64_t after = host_.alerts.seq();
  if (!send_active()) return grpc::Status::OK;
  while (!ctx->IsCancelled()) {
    bool resync = false;
    const auto changes = host_.alerts.ChangesAfter(&after, std::chrono::seconds(1), &resync);
    if (resync && !send_active()) break;
    for (const auto& c : changes) {
      if (!req->client().empty() && c.alert.client != req->client()) continue;
      v1::AlertUpdate u;
      u.set_firing(c.firing);
      FillAlert(c.alert, u.mutable_alert());
      if (!out->Write(u)) return grpc::Status::OK;
    }
  }
  return grpc::Status::OK;
}

grpc::Status MonitorService::GetStatus(grpc::ServerContext* ctx, const v1::StatusRequest*,
                                       v1::Status* out) {
  std::string client;
  bool pii = false;
  if (auto st = AuthorizeMonitor(security_, *ctx, &client, &pii); !st.ok()) return st;
  const Snapshot s = host_.With([](Engine& e) { return e.TakeSnapshot(); });
  out->set_version(CCMON_VERSION);
  out->set_now_ms(s.now_ms);
  out->set_started_ms(started_ms_);
  for (const auto& site : s.sites) {
    if (!client.empty() &&
        std::find(site.clients.begin(), site.clients.end(), client) == site.clients.end()) {
      continue;  // a liaison sees the sites serving their client only
    }
    auto* o = out->add_sites();
    o->set_site(site.site);
    o->set_connected(site.connected);
    o->set_last_seen_ms(site.last_seen_ms);
    o->set_agent_instance(site.agent_instance);
    o->set_last_applied_seq(site.last_applied_seq);
    o->set_spool_backlog_events(site.spool_backlog_events);
    o->set_clock_skew_ms(site.clock_skew_ms);
  }
  out->set_events_accepted(s.ingest.accepted);
  out->set_events_duplicate(s.ingest.duplicate);
  std::uint64_t invalid = 0;
  for (const auto& [r, n] : s.ingest.invalid_by_reason) invalid += n;
  out->set_events_invalid(invalid);
  if (const Wal* wal = host_.wal) {
    const WalStats w = wal->stats();
    out->set_wal_enabled(true);
    out->set_wal_bytes(w.bytes);
    out->set_wal_healthy(w.healthy);
    out->set_wal_error(w.last_error);
    out->set_last_checkpoint_ms(host_.checkpoint_last_ms.load());
  }
  out->set_alerts_firing(static_cast<std::uint32_t>(host_.alerts.Active().size()));
  return grpc::Status::OK;
}

grpc::Status MonitorService::GetSnapshot(grpc::ServerContext* ctx, const v1::SnapshotRequest* req,
                                         v1::Snapshot* out) {
  v1::SnapshotRequest scoped;
  if (auto st = Scoped(*req, *ctx, &scoped); !st.ok()) return st;
  BuildSnapshot(scoped, out);
  return grpc::Status::OK;
}

grpc::Status MonitorService::WatchSnapshots(grpc::ServerContext* ctx,
                                            const v1::SnapshotRequest* req,
                                            grpc::ServerWriter<v1::Snapshot>* out) {
  v1::SnapshotRequest scoped;
  if (auto st = Scoped(*req, *ctx, &scoped); !st.ok()) return st;
  req = &scoped;
  const auto interval = std::chrono::milliseconds(
      req->interval_ms() == 0 ? 1000 : std::clamp<std::uint32_t>(req->interval_ms(), 100, 60000));
  auto next = std::chrono::steady_clock::now();
  while (!ctx->IsCancelled()) {
    v1::Snapshot snap;
    BuildSnapshot(*req, &snap);
    if (!out->Write(snap)) break;
    next += interval;
    std::this_thread::sleep_until(next);  // a pacing loop, not a wait for a condition
  }
  return grpc::Status::OK;
}

grpc::Status MonitorService::ListAbandoned(grpc::ServerContext* ctx,
                                           const v1::AbandonedRequest* req,
                                           v1::AbandonedList* out) {
  std::string client = req->client();
  bool pii = false;
  if (auto st = AuthorizeMonitor(security_, *ctx, &client, &pii); !st.ok()) return st;
  const auto calls =
      host_.With([&](Engine& e) { return e.Abandoned(client, req->queue(), req->since_ms()); });
  for (const AbandonedView& a : calls) {
    auto* o = out->add_calls();
    o->set_abandoned_ms(a.abandoned_ms);
    o->set_client(a.client);
    o->set_site(a.site);
    o->set_queue(a.queue);
    o->set_call_id(a.call_id);
    o->set_wait_seconds(a.wait_ms / 1000.0);
    // Caller ids are personal data: shown only to tokens granted the PII scope.
    o->set_caller_id(pii ? a.caller_id : MaskCallerId(a.caller_id));
  }
  return grpc::Status::OK;
}

void MonitorService::BuildSnapshot(const v1::SnapshotRequest& request, v1::Snapshot* out) {
  const v1::SnapshotRequest* req = &request;
  const Snapshot s = host_.With([](Engine& e) { return e.TakeSnapshot(); });
  out->set_now_ms(s.now_ms);
  for (const auto& site : s.sites) {
    if (!req->site().empty() && site.site != req->site()) continue;
    if (!req->client().empty() &&
        std::find(site.clients.begin(), site.clients.end(), req->client()) == site.clients.end()) {
      continue;
    }
    auto* o = out->add_sites();
    o->set_site(site.site);
    o->set_connected(site.connected);
    o->set_last_seen_ms(site.last_seen_ms);
    o->set_agent_instance(site.agent_instance);
    o->set_last_applied_seq(site.last_applied_seq);
    o->set_spool_backlog_events(site.spool_backlog_events);
    o->set_clock_skew_ms(site.clock_skew_ms);
  }
  for (const Alert& a : host_.alerts.Active()) {
    if (!req->client().empty() && a.client != req->client()) continue;
    if (!req->site().empty() && a.site != req->site()) continue;
    FillAlert(a, out->add_alerts());
  }
  std::vector<const QueueView*> rows;
  for (const auto& q : s.queues) rows.push_back(&q);
  // Client-level rows (site empty) follow, unless a site filter asks for one site only.
  if (req->site().empty()) {
    for (const auto& q : s.client_queues) rows.push_back(&q);
  }
  for (const QueueView* qp : rows) {
    const QueueView& q = *qp;
    if (!req->client().empty() && q.client != req->client()) continue;
    if (!req->site().empty() && q.site != req->site()) continue;
    auto* o = out->add_queues();
    o->set_client(q.client);
    o->set_site(q.site);
    o->set_queue(q.queue);
    o->set_sl_formula(std::string(ToString(q.contract.sl_formula)));
    o->set_sl_threshold_seconds(q.contract.sl_threshold_s);
    o->set_sl_target(q.contract.sl_target);
    o->set_sl_warning(std::min(1.0, q.contract.sl_target + q.contract.warning_band));
    o->set_calls_waiting(q.calls_waiting);
    o->set_oldest_wait_seconds(q.oldest_wait_s);
    for (int st = 1; st < kAgentStateCount; ++st) {
      (*o->mutable_agents_by_state())[std::string(ToString(static_cast<AgentState>(st)))] =
          q.agents_by_state[static_cast<std::size_t>(st)];
    }
    for (std::size_t i = 0; i < q.windows.size(); ++i) {
      FillWindow(kWindowNames[i], q.windows[i], q.contract, o->add_windows());
    }
    FillWindow("interval", q.interval, q.contract, o->add_windows());
    if (auto occ = Occupancy(q.windows[1])) {
      o->set_has_occupancy(true);
      o->set_occupancy(*occ);
    }
    o->set_agents_required(q.agents_required);
  }
}

grpc::Status MonitorService::GetLedger(grpc::ServerContext* ctx, const v1::LedgerRequest* request,
                                       v1::Ledger* out) {
  v1::LedgerRequest scoped;
  if (auto st = Scoped(*request, *ctx, &scoped); !st.ok()) return st;
  const v1::LedgerRequest* req = &scoped;
  static const std::regex kDate(R"(\d{4}-\d{2}-\d{2})");
  if (!std::regex_match(req->date(), kDate)) {
    return {grpc::StatusCode::INVALID_ARGUMENT, "date must be YYYY-MM-DD"};
  }
  const auto rows = host_.With([&](Engine& e) { return e.Ledger(req->client(), req->date()); });
  for (const auto& r : rows) {
    auto* o = out->add_rows();
    o->set_client(r.client);
    o->set_site(r.site);
    o->set_queue(r.queue);
    o->set_start_ms(r.start_ms);
    o->set_local_start(r.local_start);
    o->set_length_minutes(static_cast<std::uint32_t>(r.length_minutes));
    o->set_offered(r.counts.offered);
    o->set_answered(r.counts.answered);
    o->set_answered_in_threshold(r.counts.answered_in_threshold);
    o->set_abandoned(r.counts.abandoned);
    o->set_short_abandoned(r.counts.short_abandoned);
    if (auto v = ServiceLevel(r.counts, r.contract.sl_formula)) {
      o->set_has_service_level(true);
      o->set_service_level(*v);
    }
    if (auto v = AbandonRate(r.counts)) {
      o->set_has_abandon_rate(true);
      o->set_abandon_rate(*v);
    }
    if (auto v = AsaSeconds(r.counts)) {
      o->set_has_asa(true);
      o->set_asa_seconds(*v);
    }
    o->set_sl_result(ToString(r.sl_result));
    o->set_abandon_result(ToString(r.abandon_result));
    o->set_asa_result(ToString(r.asa_result));
  }
  return grpc::Status::OK;
}

}  // namespace ccmon::collector
