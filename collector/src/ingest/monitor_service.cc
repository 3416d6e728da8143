#include "ingest/monitor_service.h"

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <algorithm>
#include <chrono>
#include <limits>
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
  w->set_answered_wait_unknown(c.answered_wait_unknown);
  w->set_abandoned_wait_unknown(c.abandoned_wait_unknown);
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
  out->set_now_ms(pipeline_.clock().NowMs());
  for (const Alert& a : pipeline_.alerts().Active()) {
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
    for (const Alert& a : pipeline_.alerts().Active()) {
      if (!req->client().empty() && a.client != req->client()) continue;
      v1::AlertUpdate u;
      u.set_firing(true);
      FillAlert(a, u.mutable_alert());
      if (!out->Write(u)) return false;
    }
    return true;
  };
  std::uint64_t after = pipeline_.alerts().seq();
  if (!send_active()) return grpc::Status::OK;
  while (!ctx->IsCancelled()) {
    bool resync = false;
    const auto changes = pipeline_.alerts().ChangesAfter(&after, std::chrono::seconds(1), &resync);
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
  const std::shared_ptr<const Snapshot> snapshot = pipeline_.Current();
  const Snapshot& s = *snapshot;
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
  // A client-scoped token sees its own client's figures only: the pipeline's event counts span
  // every client, so they are left out for it, and so is the WAL's error text (paths).
  if (client.empty()) {
    out->set_events_accepted(s.ingest.accepted);
    out->set_events_duplicate(s.ingest.duplicate);
    std::uint64_t invalid = 0;
    for (const auto& [r, n] : s.ingest.invalid_by_reason) invalid += n;
    out->set_events_invalid(invalid);
  }
  if (const Journal* wal = pipeline_.journal()) {
    const WalStats w = wal->stats();
    out->set_wal_enabled(true);
    out->set_wal_bytes(w.bytes);
    out->set_wal_healthy(w.healthy);
    if (client.empty()) out->set_wal_error(w.last_error);
    out->set_last_checkpoint_ms(pipeline_.counters().checkpoint_last_ms.load());
  }
  const auto active = pipeline_.alerts().Active();
  out->set_alerts_firing(
      static_cast<std::uint32_t>(std::count_if(active.begin(), active.end(), [&](const Alert& a) {
        return client.empty() || a.client == client;
      })));
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
  const auto calls = pipeline_.Read(
      [&](const Engine& e) { return e.Abandoned(client, req->queue(), req->since_ms()); });
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
  const std::shared_ptr<const Snapshot> snapshot = pipeline_.Current();
  const Snapshot& s = *snapshot;
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
  for (const Alert& a : pipeline_.alerts().Active()) {
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

namespace {

void FillRow(const LedgerRow& r, v1::LedgerRow* o) {
  o->set_client(r.client);
  o->set_site(r.site);
  o->set_queue(r.queue);
  o->set_start_ms(r.start_ms);
  o->set_local_start(r.LocalTime());
  o->set_local_start_iso(r.LocalStart());
  o->set_local_date(r.LocalDate());
  o->set_timezone(r.timezone);
  o->set_utc_offset_seconds(r.utc_offset_s);
  o->set_length_minutes(static_cast<std::uint32_t>(r.length_minutes));
  const Counts& c = r.counts;
  o->set_offered(c.offered);
  o->set_answered(c.answered);
  o->set_answered_in_threshold(c.answered_in_threshold);
  o->set_abandoned(c.abandoned);
  o->set_abandoned_in_threshold(c.abandoned_in_threshold);
  o->set_short_abandoned(c.short_abandoned);
  auto un = [&](UnansweredReason why) { return c.unanswered[static_cast<std::size_t>(why)]; };
  o->set_unanswered_timeout(un(UnansweredReason::kTimeout));
  o->set_unanswered_key(un(UnansweredReason::kKey));
  o->set_unanswered_empty(un(UnansweredReason::kEmpty));
  o->set_unanswered_withdraw(un(UnansweredReason::kWithdraw));
  o->set_unanswered_lost(un(UnansweredReason::kLost));
  o->set_answered_wait_unknown(c.answered_wait_unknown);
  o->set_abandoned_wait_unknown(c.abandoned_wait_unknown);
  o->set_completed(c.completed);
  o->set_transferred(c.transferred);
  o->set_handled(c.handled);
  o->set_answered_wait_ms(c.answered_wait_ms);
  o->set_abandoned_wait_ms(c.abandoned_wait_ms);
  o->set_handle_ms(c.handle_ms);
  const Contract& k = r.contract;
  o->set_sl_formula(std::string(ToString(k.sl_formula)));
  o->set_sl_threshold_seconds(k.sl_threshold_s);
  o->set_sl_target(k.sl_target);
  o->set_short_abandon_seconds(k.short_abandon_s);
  o->set_abandon_target(k.abandon_target);
  o->set_asa_target_seconds(k.asa_target_s);
  if (auto v = ServiceLevel(c, k.sl_formula)) {
    o->set_has_service_level(true);
    o->set_service_level(*v);
  }
  if (auto v = AbandonRate(c)) {
    o->set_has_abandon_rate(true);
    o->set_abandon_rate(*v);
  }
  if (auto v = AsaSeconds(c)) {
    o->set_has_asa(true);
    o->set_asa_seconds(*v);
  }
  o->set_sl_result(ToString(r.SlResult()));
  o->set_abandon_result(ToString(r.AbandonResult()));
  o->set_asa_result(ToString(r.AsaResult()));
  o->set_revision(r.revision);
  o->set_late_events(r.late_events);
  o->set_rebuilt_events(r.rebuilt_events);
  o->set_closed_ms(r.closed_ms);
  o->set_changed_ms(r.changed_ms);
}

void FillExclusion(const Exclusion& e, v1::ExclusionInfo* o) {
  o->set_id(e.id);
  o->set_client(e.client);
  o->set_site(e.site);
  o->set_queue(e.queue);
  o->set_alert(e.alert);
  o->set_from_ms(e.from_ms);
  o->set_to_ms(e.to_ms);
  o->set_reason(e.reason);
  o->set_state(ToString(e.state));
  o->set_proposed_by(e.proposed_by);
  o->set_proposed_ms(e.proposed_ms);
  o->set_decided_by(e.decided_by);
  o->set_decided_ms(e.decided_ms);
  o->set_decision_note(e.decision_note);
}

grpc::Status FromStatus(const absl::Status& s) {
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (s.code()) {
    case absl::StatusCode::kNotFound:
      code = grpc::StatusCode::NOT_FOUND;
      break;
    case absl::StatusCode::kFailedPrecondition:
      code = grpc::StatusCode::FAILED_PRECONDITION;
      break;
    case absl::StatusCode::kInvalidArgument:
      code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    default:
      break;
  }
  return {code, std::string(s.message())};
}

bool ValidDate(const std::string& d) {
  absl::CivilDay day;
  return d.size() == 10 && absl::ParseCivilTime(d, &day);
}

}  // namespace

const StatementTerms& MonitorService::ClientTerms(const std::string& client) const {
  for (const auto& c : core_.clients) {
    if (c.name == client) return c.terms;
  }
  return core_.default_terms;
}

std::vector<QueueTerms> MonitorService::TermsOf(const std::string& client) const {
  std::vector<QueueTerms> out;
  for (const auto& c : core_.clients) {
    if (c.name != client) continue;
    for (const auto& q : c.queues) out.push_back({q.name, q.contract, q.terms});
    if (out.empty()) out.push_back({"", c.contract, c.terms});
  }
  if (out.empty()) out.push_back({"", core_.default_contract, core_.default_terms});
  return out;
}

grpc::Status MonitorService::GetLedger(grpc::ServerContext* ctx, const v1::LedgerRequest* request,
                                       v1::Ledger* out) {
  v1::LedgerRequest scoped;
  if (auto st = Scoped(*request, *ctx, &scoped); !st.ok()) return st;
  const v1::LedgerRequest* req = &scoped;
  if (!ValidDate(req->date())) {
    return {grpc::StatusCode::INVALID_ARGUMENT, "date must be YYYY-MM-DD"};
  }
  if (ledger_ == nullptr) return {grpc::StatusCode::UNAVAILABLE, "no ledger store"};
  LedgerQuery q;
  q.client = req->client();
  q.site = req->site();
  q.local_date = req->date();
  auto rows = ledger_->Rows(q);
  if (!rows.ok()) return FromStatus(rows.status());
  for (const auto& r : *rows) FillRow(r, out->add_rows());
  if (req->client_level()) {
    for (const auto& r : ClientLevelRows(*rows)) FillRow(r, out->add_rows());
  }
  return grpc::Status::OK;
}

grpc::Status MonitorService::GetRowHistory(grpc::ServerContext* ctx,
                                           const v1::RowHistoryRequest* request, v1::Ledger* out) {
  v1::RowHistoryRequest scoped;
  if (auto st = Scoped(*request, *ctx, &scoped); !st.ok()) return st;
  if (ledger_ == nullptr) return {grpc::StatusCode::UNAVAILABLE, "no ledger store"};
  auto revs = ledger_->Revisions(scoped.client(), scoped.site(), scoped.queue(), scoped.start_ms());
  if (!revs.ok()) return FromStatus(revs.status());
  for (const auto& r : *revs) {
    auto* o = out->add_rows();
    FillRow(r.row, o);
    o->set_change(ToString(r.row.change));
    o->set_reason(r.reason);
  }
  return grpc::Status::OK;
}

grpc::Status MonitorService::GetStatement(grpc::ServerContext* ctx,
                                          const v1::StatementRequest* request,
                                          v1::StatementDocument* out) {
  v1::StatementRequest scoped;
  if (auto st = Scoped(*request, *ctx, &scoped); !st.ok()) return st;
  const v1::StatementRequest& req = scoped;
  if (req.client().empty()) return {grpc::StatusCode::INVALID_ARGUMENT, "client is required"};
  if (ledger_ == nullptr) return {grpc::StatusCode::UNAVAILABLE, "no ledger store"};
  StatementInput in;
  in.client = req.client();
  if (!req.month().empty()) {
    absl::CivilMonth m;
    if (req.month().size() != 7 || !absl::ParseCivilTime(req.month(), &m)) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "month must be YYYY-MM"};
    }
    in.from_date = absl::FormatCivilTime(absl::CivilDay(m));
    in.to_date = absl::FormatCivilTime(absl::CivilDay(m + 1) - 1);
    in.label = req.month();
  } else {
    if (!ValidDate(req.from()) || !ValidDate(req.to())) {
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "give month YYYY-MM, or from and to as YYYY-MM-DD"};
    }
    in.from_date = req.from();
    in.to_date = req.to();
    in.label = req.from() + " to " + req.to();
  }
  in.queues = TermsOf(in.client);
  // Rows a day either side of the span in UTC: the statement keeps those of its local days.
  absl::CivilDay from, to;
  absl::ParseCivilTime(in.from_date, &from);
  absl::ParseCivilTime(in.to_date, &to);
  LedgerQuery q;
  q.client = in.client;
  q.from_ms = absl::ToUnixMillis(absl::FromCivil(from - 1, absl::UTCTimeZone()));
  q.to_ms = absl::ToUnixMillis(absl::FromCivil(to + 2, absl::UTCTimeZone()));
  const std::int64_t as_of = req.as_of_ms();
  auto rows = as_of > 0 ? ledger_->RowsAsOf(q, as_of) : ledger_->Rows(q);
  if (!rows.ok()) return FromStatus(rows.status());
  in.rows = *std::move(rows);
  auto exclusions = ledger_->Exclusions(in.client, q.from_ms, q.to_ms);
  if (!exclusions.ok()) return FromStatus(exclusions.status());
  for (Exclusion& e : *exclusions) {
    if (as_of > 0 && e.proposed_ms > as_of) continue;  // not proposed yet then
    if (as_of > 0 && e.decided_ms > as_of) {           // not decided yet then
      e.state = Exclusion::State::kProposed;
      e.decided_by.clear();
      e.decided_ms = 0;
      e.decision_note.clear();
    }
    in.exclusions.push_back(std::move(e));
  }
  for (const auto& c : core_.clients) {
    if (c.name == in.client) in.forecast = c.forecast;
  }
  in.generated_ms = pipeline_.clock().NowMs();
  if (as_of == 0) {  // how the client's sites stand, for the provisional flag
    const std::shared_ptr<const Snapshot> snapshot = pipeline_.Current();
    std::map<std::string_view, std::int64_t> first_open;  // by site, the client's queues
    for (const QueueView& q : snapshot->queues) {
      if (q.client != in.client) continue;
      auto [it, fresh] = first_open.try_emplace(q.site, q.first_open_row_ms);
      if (!fresh) it->second = std::min(it->second, q.first_open_row_ms);
    }
    for (const SiteView& sv : snapshot->sites) {
      const auto open = first_open.find(sv.site);
      if (open == first_open.end()) continue;  // serves none of the client's queues
      in.sites.push_back({sv.site, open->second, sv.reported_until_ms, sv.spool_backlog_events,
                          sv.connected, sv.last_seen_ms});
    }
  }
  std::string error;
  Statement s = BuildStatement(in, &error);
  if (!error.empty()) return {grpc::StatusCode::INVALID_ARGUMENT, error};
  s.as_of_ms = as_of;
  const std::string format = req.format().empty() ? "json" : req.format();
  if (format == "json") {
    out->set_content_type("application/json");
    out->set_body(StatementJson(s));
  } else if (format == "csv") {
    out->set_content_type("text/csv");
    out->set_body(StatementCsv(s));
  } else if (format == "html") {
    out->set_content_type("text/html");
    out->set_body(StatementHtml(s));
  } else {
    return {grpc::StatusCode::INVALID_ARGUMENT, "format must be json, csv or html"};
  }
  return grpc::Status::OK;
}

grpc::Status MonitorService::ProposeExclusion(grpc::ServerContext* ctx,
                                              const v1::ExclusionProposal* request,
                                              v1::ExclusionInfo* out) {
  CallerScope scope;
  if (auto st = AuthorizeCaller(security_, *ctx, &scope); !st.ok()) return st;
  if (!scope.client.empty()) {
    return {grpc::StatusCode::PERMISSION_DENIED,
            "exclusions are proposed by the vendor: a client's token may accept or reject them"};
  }
  const auto& req = *request;
  if (req.client().empty()) return {grpc::StatusCode::INVALID_ARGUMENT, "client is required"};
  if (req.by().empty())
    return {grpc::StatusCode::INVALID_ARGUMENT, "by (who proposes) is required"};
  if (req.from_ms() >= req.to_ms()) {
    return {grpc::StatusCode::INVALID_ARGUMENT, "from must be before to"};
  }
  const StatementTerms& terms = ClientTerms(req.client());
  if (std::find(terms.exclusion_alerts.begin(), terms.exclusion_alerts.end(), req.alert()) ==
      terms.exclusion_alerts.end()) {
    std::string allowed;
    for (const auto& a : terms.exclusion_alerts) allowed += (allowed.empty() ? "" : ", ") + a;
    return {grpc::StatusCode::INVALID_ARGUMENT,
            "alert '" + req.alert() + "' is not one " + req.client() +
                "'s contract allows to exclude (" + allowed + ")"};
  }
  if (req.site().empty()) {
    return {grpc::StatusCode::INVALID_ARGUMENT,
            "site is required: an exclusion stands on one site's alert"};
  }
  if (ledger_ == nullptr) return {grpc::StatusCode::UNAVAILABLE, "no ledger store"};
  // The exclusion stands on one recorded firing of the alert at that site: it covers at most
  // that firing (a firing one: until now), never the gap between two firings. Another firing
  // is another proposal.
  auto periods =
      ledger_->AlertPeriods(req.alert(), req.client(), req.site(), req.from_ms(), req.to_ms());
  if (!periods.ok()) return FromStatus(periods.status());
  if (periods->empty()) {
    return {grpc::StatusCode::FAILED_PRECONDITION,
            "no " + req.alert() + " alert for client " + req.client() +
                (req.site().empty() ? "" : " at site " + req.site()) +
                " fired in that period: only a recorded alert's period can be excluded"};
  }
  const std::int64_t now = pipeline_.clock().NowMs();
  std::int64_t first = 0, last = 0;
  for (const auto& a : *periods) {
    const std::int64_t from = std::max(req.from_ms(), a.starts_ms);
    const std::int64_t to = std::min(req.to_ms(), a.ends_ms == 0 ? now : a.ends_ms);
    if (to - from > last - first) {
      first = from;
      last = to;
    }
  }
  if (last <= first) {
    return {grpc::StatusCode::FAILED_PRECONDITION,
            "the " + req.alert() + " alert at " + req.site() + " did not fire in that period"};
  }
  Exclusion e;
  e.client = req.client();
  e.site = req.site();
  e.queue = req.queue();
  e.alert = req.alert();
  e.from_ms = first;
  e.to_ms = last;
  e.reason = req.reason();
  e.proposed_by = req.by() + " (" + scope.label + ")";
  e.proposed_ms = now;
  auto stored = ledger_->AddExclusion(std::move(e));
  if (!stored.ok()) return FromStatus(stored.status());
  FillExclusion(*stored, out);
  return grpc::Status::OK;
}

grpc::Status MonitorService::DecideExclusion(grpc::ServerContext* ctx,
                                             const v1::ExclusionDecision* request,
                                             v1::ExclusionInfo* out) {
  CallerScope scope;
  if (auto st = AuthorizeCaller(security_, *ctx, &scope); !st.ok()) return st;
  const auto& req = *request;
  if (req.by().empty()) return {grpc::StatusCode::INVALID_ARGUMENT, "by (who decides) is required"};
  if (!scope.open && scope.client.empty()) {
    return {grpc::StatusCode::PERMISSION_DENIED,
            "exclusions are accepted or rejected by the client: use the client's token"};
  }
  if (!scope.client.empty() && scope.client != req.client()) {
    return {grpc::StatusCode::PERMISSION_DENIED,
            "this token may decide for client '" + scope.client + "' only"};
  }
  if (ledger_ == nullptr) return {grpc::StatusCode::UNAVAILABLE, "no ledger store"};
  auto e = ledger_->DecideExclusion(req.client(), req.id(), req.accept(),
                                    req.by() + " (" + scope.label + ")", req.note(),
                                    pipeline_.clock().NowMs());
  if (!e.ok()) return FromStatus(e.status());
  FillExclusion(*e, out);
  return grpc::Status::OK;
}

grpc::Status MonitorService::ListExclusions(grpc::ServerContext* ctx,
                                            const v1::ExclusionsRequest* request,
                                            v1::ExclusionList* out) {
  v1::ExclusionsRequest scoped;
  if (auto st = Scoped(*request, *ctx, &scoped); !st.ok()) return st;
  if (ledger_ == nullptr) return {grpc::StatusCode::UNAVAILABLE, "no ledger store"};
  auto list = ledger_->Exclusions(scoped.client(), 0, 0);
  if (!list.ok()) return FromStatus(list.status());
  for (const auto& e : *list) FillExclusion(e, out->add_exclusions());
  return grpc::Status::OK;
}

}  // namespace ccmon::collector
