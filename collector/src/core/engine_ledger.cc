// The interval ledger in the engine: call counts added to their contract interval's row, rows
// closed as each site's timeline passes them, amended by late events, drained for the store.
#include "core/engine_impl.h"

namespace ccmon::collector {

void Engine::Impl::AddToRow(Queue& q, std::int64_t start, const Counts& d, bool rebuilt) {
  auto it = q.rows.find(start);
  if (it == q.rows.end()) {
    if (start < amend_horizon_ms) {
      ++stats.ledger_too_old;
      return;
    }
    it = q.rows.emplace(start, Row{}).first;
    const std::int64_t deadline = start + q.interval_ms + cfg.allowed_lateness_ms;
    if (deadline <= q.site->close_watermark_ms) {
      // Its interval has closed already: the row is born closed, of late events only.
      it->second.closed = true;
      it->second.closed_ms = clock.NowMs();
    } else {
      q.site->next_close_ms = std::min(q.site->next_close_ms, deadline);
      q.first_open = std::min(q.first_open, start);
    }
  }
  Row& row = it->second;
  row.counts += d;
  if (rebuilt) ++row.rebuilt;
  if (row.closed) {
    ++row.late;
    if (row.pending_late++ == 0) row.pending_since_ms = clock.NowMs();
    ++stats.late;
    MarkDirty(q, start, row);
  }
}

void Engine::Impl::MarkDirty(Queue& q, std::int64_t start, Row& row) {
  if (row.dirty) return;
  row.dirty = true;
  outbox.emplace_back(&q, start);
}

void Engine::Impl::CloseRows(Site& site, std::int64_t limit) {
  site.next_close_ms = std::numeric_limits<std::int64_t>::max();
  const std::int64_t now = clock.NowMs();
  for (auto& [name, qp] : site.queues) {
    Queue& q = *qp;
    if (q.first_open == std::numeric_limits<std::int64_t>::max()) continue;
    auto it = q.rows.lower_bound(q.first_open);
    q.first_open = std::numeric_limits<std::int64_t>::max();
    for (; it != q.rows.end(); ++it) {
      Row& row = it->second;
      if (row.closed) continue;
      const std::int64_t deadline = it->first + q.interval_ms + cfg.allowed_lateness_ms;
      if (deadline <= limit) {
        row.closed = true;
        row.closed_ms = now;
        MarkDirty(q, it->first, row);
      } else {
        site.next_close_ms = std::min(site.next_close_ms, deadline);
        q.first_open = std::min(q.first_open, it->first);
      }
    }
  }
}

LedgerRow Engine::Impl::MakeRow(const Queue& q, std::int64_t start, const Row& row) const {
  LedgerRow r;
  r.client = q.client;
  r.site = q.site->id;
  r.queue = q.name;
  r.start_ms = start;
  r.length_minutes = q.contract.interval_minutes;
  r.timezone = q.zone_name;
  r.utc_offset_s = static_cast<std::int32_t>(q.zone_offset.OffsetMs(*q.zone, start) / 1000);
  r.contract = q.contract;
  r.counts = row.counts;
  r.revision = std::max<std::uint32_t>(row.revision, 1);
  r.late_events = row.late;
  r.rebuilt_events = row.rebuilt;
  r.closed_ms = row.closed_ms;
  r.changed_ms = row.changed_ms;
  r.change = row.revision > 1 ? RowChange::kAmended : RowChange::kClosed;
  return r;
}

void Engine::Impl::UpdateCloseWatermark(Site& site) {
  site.close_watermark_ms = site.CloseWatermark(cfg.max_instance_lag_ms);
  if (site.close_watermark_ms >= site.next_close_ms) CloseRows(site, site.close_watermark_ms);
}

std::vector<LedgerRow> Engine::Impl::Drain(bool all) {
  std::vector<LedgerRow> out;
  out.reserve(outbox.size());
  const std::int64_t now = clock.NowMs();
  std::vector<std::pair<Queue*, std::int64_t>> held;
  for (const auto& [q, start] : outbox) {
    auto it = q->rows.find(start);
    if (it == q->rows.end() || !it->second.dirty) continue;
    Row& row = it->second;
    const std::int64_t deadline = start + q->interval_ms + cfg.allowed_lateness_ms;
    if (!all && row.pending_late > 0 && now - row.pending_since_ms < kAmendHoldMs &&
        q->site->SlowestStreaming() < deadline) {
      held.emplace_back(q, start);
      continue;
    }
    row.dirty = false;
    // First drain of a row: revision 1 (its late events, if it was born closed, belong to
    // it); later drains are amendments.
    row.revision = row.revision == 0 ? 1 : row.revision + 1;
    if (row.revision > 1) {
      ++stats.ledger_amendments;
    } else {
      // First closes, judged as they close (the live counters; the ledger keeps revisions).
      ++stats.intervals_closed;
      const Judgement j = JudgeSl(row.counts, q->contract);
      if (j == Judgement::kMet) ++q->ledger_met;
      if (j == Judgement::kMissed) ++q->ledger_missed;
    }
    row.changed_ms = now;
    LedgerRow r = MakeRow(*q, start, row);
    r.change_events = row.pending_late;
    row.pending_late = 0;
    out.push_back(std::move(r));
  }
  outbox = std::move(held);
  return out;
}

void Engine::Impl::ClosedToday(const std::vector<const Queue*>& queues, std::int64_t now,
                               std::vector<IntervalView>* out) const {
  // Set by configuration alone, so a site that starts serving the queue does not move the
  // row's day or labels.
  const absl::TimeZone* tz = &StatementZone(queues.front()->name);
  auto offset_at = [&](std::int64_t t) {
    return static_cast<std::int64_t>(tz->At(absl::FromUnixMillis(t)).offset) * 1000;
  };
  auto first_instant = [&](std::int64_t local_day) {  // midnight, or the transition skipping it
    return absl::ToUnixMillis(absl::FromCivil(absl::CivilDay(1970, 1, 1) + local_day, *tz));
  };
  // The day whose intervals are closing: the day before, until the new day's first interval
  // can have closed at every site serving the queue (its end plus the allowed lateness, by
  // each site's close watermark), so that a day's last interval, which closes after midnight,
  // shows too, whole. A site lagging more than max_instance_lag (or dark) does not hold it.
  std::int64_t watermark = now;
  for (const Queue* q : queues) watermark = std::min(watermark, q->site->close_watermark_ms);
  watermark = std::max(watermark, now - cfg.max_instance_lag_ms);
  const std::int64_t closing = watermark - queues.front()->interval_ms - cfg.allowed_lateness_ms;
  const std::int64_t day = FloorDiv(closing + offset_at(closing), kDayMs);
  const std::int64_t from = first_instant(day);
  const std::int64_t day_offset = offset_at(from);
  // All but DST days keep one offset from the first instant to the last: then no row needs a
  // zone lookup of its own, and no local time repeats.
  const bool one_offset = day_offset == offset_at(first_instant(day + 1) - 1);
  std::map<std::int64_t, Counts> by_start;
  for (const Queue* q : queues) {
    for (auto it = q->rows.lower_bound(from); it != q->rows.end() && it->first < now; ++it) {
      if (it->second.closed) by_start[it->first] += it->second.counts;
    }
  }
  out->reserve(by_start.size());
  for (const auto& [start, counts] : by_start) {
    const std::int64_t offset = one_offset ? day_offset : offset_at(start);
    const std::int64_t local = start + offset;
    if (FloorDiv(local, kDayMs) != day) continue;
    const std::int64_t minute_of_day = (local - day * kDayMs) / kMinuteMs;
    char hhmm[8];
    std::snprintf(hhmm, sizeof hhmm, "%02d:%02d", static_cast<int>(minute_of_day / 60),
                  static_cast<int>(minute_of_day % 60));
    std::string label = hhmm;
    // A local time the autumn night repeats names two intervals: each carries its UTC offset,
    // from the moment it closes, so no two series share a label and none is renamed later.
    if (!one_offset &&
        tz->At(absl::CivilSecond(absl::CivilDay(1970, 1, 1) + day) + minute_of_day * 60).kind ==
            absl::TimeZone::TimeInfo::REPEATED) {
      label += " UTC" + UtcOffsetText(static_cast<int>(offset / 1000));
    }
    out->push_back({start, std::move(label), counts});
  }
}

void Engine::Impl::RebuildContractToday(Queue& q, std::int64_t now_ms) {
  // As live counting: a day starts with its first call (agent time never starts it). The
  // day holding now, and a later one rows were stamped in (a clock glitch): it shows from
  // its midnight, holding them, as it would have without the restart.
  const std::int64_t today = ContractDay(q, now_ms);
  q.contract_today = {};
  for (const auto& [start, row] : q.rows) {  // by start: days in order
    if (const std::int64_t day = ContractDay(q, start); day >= today) {
      q.contract_today.Add(day, row.counts);
    }
  }
}

}  // namespace ccmon::collector
