#include "ccmon/collector/engine.h"
#include "core/engine_impl.h"

namespace ccmon::collector {

Snapshot Engine::TakeSnapshot() const {
  const Impl& m = *impl_;
  Snapshot s;
  s.now_ms = m.clock.NowMs();
  for (auto b : m.wait_bounds_ms) s.wait_bounds_s.push_back(static_cast<double>(b) / 1000.0);
  for (auto b : m.handle_bounds_ms) s.handle_bounds_s.push_back(static_cast<double>(b) / 1000.0);
  std::vector<QueueView> views;
  std::vector<const Queue*> queues;  // the engine's queue of each view
  for (const auto& [id, site] : m.sites) {
    SiteView sv;
    sv.site = site->id;
    sv.open_streams = site->open_streams;
    sv.connected = site->open_streams > 0;
    sv.last_seen_ms = site->last_seen_ms;
    sv.reported_until_ms = std::max<std::int64_t>(0, site->close_watermark_ms);
    sv.clock_skew_ms = site->clock_skew_ms;
    sv.pbx_clock_ahead_ms = site->pbx_ahead_ms;
    sv.spool_backlog_events = site->spool_backlog;
    sv.spool_dropped_events = site->spool_dropped;
    sv.spool_paused = site->spool_paused;
    sv.lines_rejected = site->lines_rejected;
    sv.replicas_given_up = site->replicas_given_up;
    sv.sources_waiting = site->SourcesWaiting();
    sv.agent_instance = site->last_instance;
    if (const auto* in = Find(site->instances, site->last_instance)) {
      sv.last_applied_seq = in->last_seq;
    }
    sv.agent_version = site->version;
    sv.heartbeat_interval_ms = site->heartbeat_interval_ms;
    for (const auto& [name, agent] : site->agents) {
      if (agent.state != AgentState::kLoggedOut) ++sv.agents_logged_in;
    }
    for (const auto& [name, q] : site->queues) sv.clients.push_back(q->client);
    std::sort(sv.clients.begin(), sv.clients.end());
    sv.clients.erase(std::unique(sv.clients.begin(), sv.clients.end()), sv.clients.end());
    s.sites.push_back(std::move(sv));
    for (const auto& [name, q] : site->queues) {
      views.push_back(m.View(*q));
      queues.push_back(q.get());
    }
    for (const auto& [name, link] : site->links) s.links.push_back(link.view);
  }
  // Queues by client, site, queue. A view is a couple of kilobytes of figures: sort their
  // places, then move each once (sorting the views themselves moved each a dozen times).
  std::vector<std::uint32_t> order(views.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  auto key = [&](std::uint32_t i) {
    return std::tie(views[i].client, views[i].site, views[i].queue);
  };
  std::sort(order.begin(), order.end(),
            [&](std::uint32_t a, std::uint32_t b) { return key(a) < key(b); });
  s.queues.reserve(views.size());
  for (const std::uint32_t i : order) s.queues.push_back(std::move(views[i]));
  std::sort(s.sites.begin(), s.sites.end(),
            [](const SiteView& a, const SiteView& b) { return a.site < b.site; });
  std::sort(s.links.begin(), s.links.end(), [](const LinkView& a, const LinkView& b) {
    return std::tie(a.site, a.link) < std::tie(b.site, b.link);
  });
  s.ingest = m.stats;
  // Client rows, found by (client, queue) without moving any (views are large), and listed
  // in that order at the end. The index views the strings of s.queues, left alone from here.
  std::vector<QueueView> by_client;
  std::vector<std::vector<const Queue*>> serving;  // each client row's site queues
  std::map<std::pair<std::string_view, std::string_view>, std::size_t> row_of;
  for (std::size_t i = 0; i < s.queues.size(); ++i) {
    const QueueView& q = s.queues[i];
    const auto [row, fresh] = row_of.try_emplace({q.client, q.queue}, by_client.size());
    if (fresh) {
      QueueView c;
      c.client = q.client;
      c.queue = q.queue;
      c.contract = q.contract;
      by_client.push_back(std::move(c));
      serving.emplace_back();
    }
    serving[row->second].push_back(queues[order[i]]);  // s.queues[i] is views[order[i]]
    QueueView& c = by_client[row->second];
    c.total += q.total;
    for (std::size_t w = 0; w < kTodayWindow; ++w) c.windows[w] += q.windows[w];
    // At the collector's clock, as the closed intervals below.
    c.windows[kTodayWindow] += Impl::ContractToday(*serving[row->second].back(), s.now_ms);
    c.interval += q.interval;
    c.calls_waiting += q.calls_waiting;
    c.oldest_wait_s = std::max(c.oldest_wait_s, q.oldest_wait_s);
    for (std::size_t k = 0; k < c.agents_by_state.size(); ++k) {
      c.agents_by_state[k] += q.agents_by_state[k];
    }
    c.ledger_met += q.ledger_met;
    c.ledger_missed += q.ledger_missed;
  }
  for (std::size_t row = 0; row < by_client.size(); ++row) {
    QueueView& c = by_client[row];
    m.ClosedToday(serving[row], s.now_ms, &c.closed_today);
    const double aht = AhtSeconds(c.windows[1]).value_or(180.0);
    c.agents_required = ErlangCAgentsRequired(static_cast<double>(c.windows[1].offered) / 1800.0,
                                              aht, c.contract.sl_threshold_s, c.contract.sl_target);
  }
  s.client_queues.reserve(by_client.size());
  for (const auto& [place, row] : row_of) s.client_queues.push_back(std::move(by_client[row]));
  return s;
}

std::vector<AbandonedView> Engine::Abandoned(std::string_view client, std::string_view queue,
                                             std::int64_t since_ms) const {
  std::vector<AbandonedView> out;
  for (const auto& [id, site] : impl_->sites) {
    for (const auto& [name, q] : site->queues) {
      if ((!client.empty() && q->client != client) || (!queue.empty() && q->name != queue)) {
        continue;
      }
      for (const AbandonedRecord& a : q->abandoned) {
        if (a.time_ms < since_ms) continue;
        out.push_back({a.time_ms, q->client, site->id, q->name, a.call_id, a.caller_id, a.wait_ms});
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const AbandonedView& a, const AbandonedView& b) {
    return a.abandoned_ms > b.abandoned_ms;
  });
  return out;
}

std::vector<LedgerRow> Engine::Ledger(std::string_view client, std::string_view date) const {
  std::vector<LedgerRow> out;
  for (const auto& [id, site] : impl_->sites) {
    for (const auto& [name, q] : site->queues) {
      if (!client.empty() && q->client != client) continue;
      for (const auto& [start, row] : q->rows) {
        if (!row.closed) continue;
        LedgerRow r = impl_->MakeRow(*q, start, row);
        if (date.empty() || r.LocalDate() == date) out.push_back(std::move(r));
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const LedgerRow& a, const LedgerRow& b) { return RowKey(a) < RowKey(b); });
  return out;
}

}  // namespace ccmon::collector
