#include "ccmon/collector/engine.h"

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <unordered_map>

#include "ccmon/collector/staffing.h"
#include "core/minute_ring.h"

namespace ccmon::collector {

namespace {

constexpr std::int64_t kMinuteMs = 60'000;
constexpr std::int64_t kDayMs = 86'400'000;
constexpr int kRingMinutes = 60;

constexpr std::int64_t kMosWindowMinutes = 5;
// An amended row waits at most this long (collector clock) for a lagging instance to finish
// its interval before its new revision is written.
constexpr std::int64_t kAmendHoldMs = std::int64_t{30} * 60'000;
// Events of one call ahead of their instance's watermark by more than the anomaly jump that
// it takes, in a row, to move the watermark there (another call's event confirms at once).
constexpr std::size_t kWatermarkConfirm = 8;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

template <typename V>
V* Find(StringMap<V>& m, std::string_view key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

bool ValidText(std::string_view s, std::size_t max_bytes) {
  if (s.size() > max_bytes) return false;
  // No early exit: valid text (the common case) is scanned whole anyway, and a loop without
  // branches vectorises.
  unsigned bad = 0;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    bad |= static_cast<unsigned>(u < 0x20) | static_cast<unsigned>(u == 0x7f);
  }
  return bad == 0;
}

struct HistogramState {
  std::vector<std::uint64_t> counts;
  std::uint64_t sum_ms = 0;
  std::uint64_t count = 0;

  void Observe(const std::vector<std::int64_t>& bounds_ms, std::uint64_t value_ms) {
    auto it =
        std::lower_bound(bounds_ms.begin(), bounds_ms.end(), static_cast<std::int64_t>(value_ms));
    ++counts[static_cast<std::size_t>(it - bounds_ms.begin())];
    sum_ms += value_ms;
    ++count;
  }
  Histogram View() const { return Histogram{counts, static_cast<double>(sum_ms) / 1000.0, count}; }
};

struct MinuteBucket {
  std::int64_t minute = std::numeric_limits<std::int64_t>::min();
  Counts counts;
  std::uint64_t mos_milli_sum = 0;
  std::uint64_t mos_samples = 0;
};

// The UTC offset of a zone over one 15-minute block of UTC time, so that events of the same
// block do not each convert through the time-zone rules (the per-event hot spot it was).
// Zone offsets change at most once in any 15 minutes, at the block's edges or inside it: a
// block whose two ends have the same offset has that offset throughout.
class OffsetCache {
 public:
  std::int64_t OffsetMs(const absl::TimeZone& tz, std::int64_t t_ms) const {
    if (t_ms >= lo_ && t_ms < hi_) return offset_ms_;
    constexpr std::int64_t kBlockMs = std::int64_t{15} * kMinuteMs;
    const std::int64_t lo = FloorDiv(t_ms, kBlockMs) * kBlockMs;
    const std::int64_t first = tz.At(absl::FromUnixMillis(lo)).offset * 1000LL;
    const std::int64_t last = tz.At(absl::FromUnixMillis(lo + kBlockMs - 1)).offset * 1000LL;
    if (first != last) return tz.At(absl::FromUnixMillis(t_ms)).offset * 1000LL;
    lo_ = lo;
    hi_ = lo + kBlockMs;
    offset_ms_ = first;
    return first;
  }

 private:
  mutable std::int64_t lo_ = 0;
  mutable std::int64_t hi_ = 0;  // empty until first use
  mutable std::int64_t offset_ms_ = 0;
};

// One ledger row's state. A row is open until its site's close watermark passes its end plus
// the allowed lateness; then closed (revision 1) and amended (revision + 1) by events that
// arrive after that. `dirty` rows wait in the outbox for DrainLedger.
struct Row {
  Counts counts;
  std::uint64_t late = 0;          // events counted after the row closed
  std::uint64_t rebuilt = 0;       // reconstructed events counted
  std::uint64_t pending_late = 0;  // late events since the last drain
  std::int64_t closed_ms = 0;
  std::int64_t changed_ms = 0;
  std::uint32_t revision = 0;         // 0: not yet drained once
  std::int64_t pending_since_ms = 0;  // collector clock of the first undrained late event
  bool closed = false;
  bool dirty = false;
};

struct Site;

struct AbandonedRecord {
  std::int64_t time_ms = 0;
  std::uint32_t wait_ms = 0;
  std::string call_id;
  std::string caller_id;
};

struct Queue {
  std::string name;
  std::string client;
  Contract contract;
  Site* site = nullptr;
  std::int64_t threshold_ms = 0;
  std::int64_t short_abandon_ms = 0;
  std::int64_t interval_ms = 0;
  Counts total;
  std::array<MinuteBucket, kRingMinutes> ring{};
  std::int64_t today_day = std::numeric_limits<std::int64_t>::min();
  Counts today;
  // Ledger rows by interval start (UTC): open, then closed and kept for amendments until
  // they leave the amendment horizon. Aligned to the contract's zone when it names one.
  std::map<std::int64_t, Row> rows;
  // Start of the oldest open row (max: none): closing walks from here, not over the closed
  // rows kept for amendments.
  std::int64_t first_open = std::numeric_limits<std::int64_t>::max();
  const absl::TimeZone* zone = nullptr;  // the site's or the contract's
  std::string zone_name;
  OffsetCache zone_offset;
  HistogramState answered_wait, abandoned_wait, handle_time;
  StringMap<std::int64_t> waiting;  // call id -> entered (event time)
  std::uint64_t ledger_met = 0, ledger_missed = 0;
  std::array<std::uint32_t, kAgentStateCount> agents_by_state{};
  std::array<std::uint64_t, kAgentStateCount> agent_state_ms{};
  std::deque<AbandonedRecord> abandoned;  // latest last, bounded
};

struct Agent {
  AgentState state = AgentState::kLoggedOut;
  bool paused = false;
  // What a pause makes the agent: not ready, or after-call work (a wrap-up pause reason).
  AgentState pause_state = AgentState::kNotReady;
  std::int64_t since_ms = 0;
  std::vector<Queue*> queues;
};

struct Link {
  LinkView view;
};

// What the collector knows of one agent instance of a site: its sequence position and its
// event-time watermark. The watermark follows the instance's events but never jumps ahead
// on the word of one call: an event more than clock_anomaly_ms ahead of it is held; an event
// of another call on the new timeline (a night's gap in a replayed log), or kWatermarkConfirm
// of the same call, move it there; an event back on the old timeline turns the held ones into
// clock anomalies.
struct Instance {
  std::uint64_t last_seq = 0;
  std::int64_t watermark_ms = std::numeric_limits<std::int64_t>::min();
  std::array<std::int64_t, kWatermarkConfirm> held{};
  std::uint32_t held_n = 0;
  std::size_t held_call = 0;  // hash of the call id of the held events (0: none)
  std::uint32_t open_streams = 0;
};

struct Site {
  std::string id;
  absl::TimeZone tz;
  OffsetCache offset;
  StringMap<std::unique_ptr<Queue>> queues;
  StringMap<Agent> agents;
  StringMap<Link> links;
  StringMap<Instance> instances;
  // The entry of `instances` used last (entries are never removed, so the key stays valid).
  std::pair<std::string_view, Instance*> instance_cache{{}, nullptr};

  Instance& GetInstance(std::string_view instance) {
    if (instance_cache.second != nullptr && instance_cache.first == instance) {
      return *instance_cache.second;
    }
    auto it = instances.find(instance);
    if (it == instances.end()) it = instances.emplace(std::string(instance), Instance{}).first;
    instance_cache = {it->first, &it->second};
    return it->second;
  }
  std::uint64_t& LastSeq(std::string_view instance) { return GetInstance(instance).last_seq; }

  // The watermark of the slowest instance streaming now (none: no bound).
  std::int64_t SlowestStreaming() const {
    std::int64_t slowest = std::numeric_limits<std::int64_t>::max();
    for (const auto& [id, in] : instances) {
      if (in.open_streams > 0 && in.watermark_ms != std::numeric_limits<std::int64_t>::min()) {
        slowest = std::min(slowest, in.watermark_ms);
      }
    }
    return slowest;
  }

  // Event time up to which the site's ledger rows may close: the slowest instance streaming
  // now (none streaming: the most advanced), but never more than max_lag behind the most
  // advanced one, so one lagging instance cannot hold every row open.
  std::int64_t CloseWatermark(std::int64_t max_lag_ms) const {
    constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::min();
    std::int64_t slowest_open = std::numeric_limits<std::int64_t>::max();
    std::int64_t most = kNone;
    for (const auto& [id, in] : instances) {
      if (in.watermark_ms == kNone) continue;
      most = std::max(most, in.watermark_ms);
      if (in.open_streams > 0) slowest_open = std::min(slowest_open, in.watermark_ms);
    }
    if (most == kNone) return kNone;
    if (slowest_open == std::numeric_limits<std::int64_t>::max()) return most;
    return std::max(slowest_open, most - max_lag_ms);
  }

  std::uint32_t open_streams = 0;
  std::int64_t last_seen_ms = 0;
  std::int64_t last_pbx_ms = 0;  // collector clock at the last PBX event applied
  std::int64_t close_watermark_ms = std::numeric_limits<std::int64_t>::min();
  // The most advanced instance watermark: agent state time accrues up to it.
  std::int64_t event_watermark_ms = std::numeric_limits<std::int64_t>::min();
  std::int64_t next_close_ms = std::numeric_limits<std::int64_t>::max();
  std::int64_t clock_skew_ms = 0;
  // How far the last PBX event's own time ran ahead of the collector's clock (0 when not):
  // no event can come from the future, so this is a PBX clock running fast even when the
  // agent's clock (heartbeats) is right. Measured again by every PBX event.
  std::int64_t pbx_ahead_ms = 0;
  std::int64_t pbx_last_ahead_ms = 0;  // the last PBX event's own lead
  std::uint64_t spool_backlog = 0;
  std::uint64_t spool_dropped = 0;
  bool spool_paused = false;  // from heartbeats; not checkpointed (the next one says again)
  bool live_status = false;   // the agent sends AgentStatus (until it disconnects)
  std::uint64_t lines_rejected = 0;
  std::uint64_t replicas_given_up = 0;
  std::uint32_t heartbeat_interval_ms = 0;
  std::string last_instance;
  std::string version;
};

}  // namespace

struct Engine::Impl {
  CoreConfig cfg;
  const Clock& clock;
  std::vector<std::int64_t> wait_bounds_ms;
  std::vector<std::int64_t> handle_bounds_ms;
  struct QueueOwner {
    std::string client;
    Contract contract;
    std::string zone;  // the contract's named zone, or empty
  };
  StringMap<QueueOwner> queue_owner;
  StringMap<absl::TimeZone> site_tz;
  absl::TimeZone default_tz;
  StringMap<std::unique_ptr<Site>> sites;
  Site* last_site = nullptr;  // GetSite's cache
  IngestStats stats;
  // Rows starting before this (collector clock minus ledger_amend_days) are not kept.
  std::int64_t amend_horizon_ms = std::numeric_limits<std::int64_t>::min();
  // Rows closed or amended since the last DrainLedger, in the order they became dirty.
  std::vector<std::pair<Queue*, std::int64_t>> outbox;
  // Zones named by contracts (queue name -> zone), loaded once.
  StringMap<absl::TimeZone> contract_tz;

  Impl(CoreConfig c, const Clock& clk) : cfg(std::move(c)), clock(clk) {
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

  Site& GetSite(std::string_view id) {
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

  Queue* GetQueue(Site& site, std::string_view name) {
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

  // Local day number and interval start of an instant in the site's zone.
  static std::int64_t LocalDay(const Site& site, std::int64_t t_ms) {
    return FloorDiv(t_ms + site.offset.OffsetMs(site.tz, t_ms), kDayMs);
  }

  std::string SiteZoneName(std::string_view site) const {
    for (const auto& sc : cfg.sites) {
      if (sc.id == site) return sc.timezone;
    }
    return cfg.default_timezone;
  }

  static std::int64_t IntervalStart(const Queue& q, std::int64_t t_ms) {
    const std::int64_t offset_ms = q.zone_offset.OffsetMs(*q.zone, t_ms);
    const std::int64_t local_start = FloorDiv(t_ms + offset_ms, q.interval_ms) * q.interval_ms;
    return local_start - offset_ms;
  }

  std::int64_t SiteNow(const Site& site) const { return clock.NowMs() + site.clock_skew_ms; }

  void AddCounts(Queue& q, std::int64_t t_ms, const Counts& d, bool rebuilt) {
    q.total += d;
    if (MinuteBucket* b = RingAt(q.ring, FloorDiv(t_ms, kMinuteMs))) b->counts += d;
    const std::int64_t day = LocalDay(*q.site, t_ms);
    if (day == q.today_day) {
      q.today += d;
    } else if (day > q.today_day) {
      q.today_day = day;
      q.today = d;
    }
    AddToRow(q, t_ms, d, rebuilt);
  }

  // Counts an event in its ledger row by its own time. A row that closed already is amended
  // (its next drain gives it a new revision); one older than the amendment horizon is left
  // alone, because the stored row may hold more than memory does.
  void AddToRow(Queue& q, std::int64_t t_ms, const Counts& d, bool rebuilt) {
    const std::int64_t start = IntervalStart(q, t_ms);
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

  void MarkDirty(Queue& q, std::int64_t start, Row& row) {
    if (row.dirty) return;
    row.dirty = true;
    outbox.emplace_back(&q, start);
  }

  // Closes the rows whose end plus the allowed lateness is at or before `limit` (event time).
  // Closed rows stay (for amendments); they go to the outbox.
  void CloseRows(Site& site, std::int64_t limit) {
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

  LedgerRow MakeRow(const Queue& q, std::int64_t start, const Row& row) const {
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

  void UpdateCloseWatermark(Site& site) {
    site.close_watermark_ms = site.CloseWatermark(cfg.max_instance_lag_ms);
    if (site.close_watermark_ms >= site.next_close_ms) CloseRows(site, site.close_watermark_ms);
  }

  // Rows closed or amended since the last drain. An amendment waits while an instance still
  // streaming is behind the row's deadline (it may have more for it: one revision, not one
  // per batch), for at most kAmendHoldMs.
  std::vector<LedgerRow> Drain(bool all) {
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

  // Moves an instance's watermark by one accepted event (see Instance). Heartbeats and link
  // samples come from the agent's own clock, not the PBX's: they move the watermark only
  // when they agree with it, and are never held (a backfill of an old log sends heartbeats
  // of today).
  void AdvanceWatermark(Instance& in, std::int64_t t, bool from_pbx, std::string_view call_id) {
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
    // A second call (or an agent's state change) on the new timeline confirms it: a PBX clock
    // glitch stamps one call's lines, a night's gap moves every call.
    const bool confirmed = in.held_n + 1 == kWatermarkConfirm ||
                           (in.held_n > 0 && (call_key == 0 || call_key != in.held_call));
    if (!confirmed) {
      if (in.held_n == 0) in.held_call = call_key;
      in.held[in.held_n++] = t;
      return;
    }
    std::int64_t newest = t;
    for (std::uint32_t i = 0; i < in.held_n; ++i) newest = std::max(newest, in.held[i]);
    in.watermark_ms = newest;
    in.held_n = 0;
  }

  // Adds the time the agent spent in its current state up to t to each of its queues.
  void Accrue(Agent& a, std::int64_t t_ms) {
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

  // State time goes to the totals and rolling windows only: the ledger is about calls.
  static void AddStateTime(Queue& q, std::int64_t t_ms, const Counts& d) {
    q.total += d;
    if (MinuteBucket* b = RingAt(q.ring, FloorDiv(t_ms, kMinuteMs))) b->counts += d;
    if (LocalDay(*q.site, t_ms) == q.today_day) q.today += d;
  }

  void SetState(Agent& a, AgentState s, std::int64_t t_ms) {
    Accrue(a, t_ms);
    if (a.since_ms < t_ms) a.since_ms = t_ms;
    if (s == a.state) return;
    for (Queue* q : a.queues) {
      --q->agents_by_state[static_cast<std::size_t>(a.state)];
      ++q->agents_by_state[static_cast<std::size_t>(s)];
    }
    a.state = s;
  }

  void Join(Agent& a, Queue* q) {
    if (std::find(a.queues.begin(), a.queues.end(), q) != a.queues.end()) return;
    a.queues.push_back(q);
    ++q->agents_by_state[static_cast<std::size_t>(a.state)];
  }

  void Leave(Agent& a, Queue* q) {
    auto it = std::find(a.queues.begin(), a.queues.end(), q);
    if (it == a.queues.end()) return;
    --q->agents_by_state[static_cast<std::size_t>(a.state)];
    a.queues.erase(it);
  }

  Agent* GetAgent(Site& site, std::string_view name, std::int64_t t_ms) {
    if (auto* a = Find(site.agents, name)) return a;
    if (site.agents.size() >= cfg.limits.max_agents_per_site) return nullptr;
    Agent a;
    a.since_ms = t_ms;
    return &site.agents.emplace(std::string(name), std::move(a)).first->second;
  }

  ApplyResult Invalid(std::string_view reason, std::string detail) {
    ++stats.invalid_by_reason[std::string(reason)];
    return ApplyResult{ApplyResult::Kind::kInvalid, reason, std::move(detail)};
  }

  ApplyResult ApplyCall(Site& site, const CallEvent& c, std::int64_t t) {
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

  static void Leave(Queue& q, std::string_view call_id) {
    if (call_id.empty()) return;
    if (auto it = q.waiting.find(call_id); it != q.waiting.end()) q.waiting.erase(it);
  }

  ApplyResult ApplyAgentState(Site& site, const AgentStateEvent& e, std::int64_t t) {
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

  ApplyResult ApplyLink(Site& site, const LinkSample& l, std::int64_t t) {
    if (l.link.empty() || !ValidText(l.link, cfg.limits.max_field_bytes)) {
      return Invalid("bad_field", "link sample without a valid link name");
    }
    if (!(l.loss_ratio >= 0 && l.loss_ratio <= 1) || !(l.rtt_ms >= 0) || !(l.jitter_ms >= 0)) {
      return Invalid("out_of_range", "link sample rtt/jitter negative or loss outside 0..1");
    }
    if (l.kind == LinkKind::kSipTrunk
            ? l.sip_status != 0 && (l.sip_status < 200 || l.sip_status > 699)
            : l.sip_status != 0) {
      return Invalid("out_of_range",
                     "link sample sip_status not 0 or a final SIP code 200-699 (sip_trunk only)");
    }
    Link* link = Find(site.links, l.link);
    if (link == nullptr) {
      if (site.links.size() >= cfg.limits.max_links_per_site) {
        return Invalid("link_cap", "site has reached max_links_per_site");
      }
      link = &site.links[std::string(l.link)];
      link->view.site = site.id;
      link->view.link = std::string(l.link);
    }
    if (t < link->view.last_ms) return ApplyResult{};  // an older sample never overrides
    link->view.up = l.up;
    link->view.rtt_ms = l.rtt_ms;
    link->view.jitter_ms = l.jitter_ms;
    link->view.loss_ratio = l.loss_ratio;
    link->view.last_ms = t;
    link->view.kind = l.kind;
    link->view.sip_status = l.sip_status;
    return ApplyResult{};
  }

  ApplyResult ApplyVoice(Site& site, const VoiceQuality& v, std::int64_t t) {
    if (v.queue.empty() || !ValidText(v.queue, cfg.limits.max_field_bytes) ||
        !ValidText(v.call_id, cfg.limits.max_field_bytes) ||
        !ValidText(v.agent, cfg.limits.max_field_bytes)) {
      return Invalid("bad_field", "voice quality without a valid queue");
    }
    if (!(v.mos >= 0 && v.mos <= 5) || !(v.loss_ratio >= 0 && v.loss_ratio <= 1) ||
        !(v.rtt_ms >= 0) || !(v.jitter_ms >= 0)) {
      return Invalid("out_of_range", "voice quality figures out of range");
    }
    Queue* q = GetQueue(site, v.queue);
    if (q == nullptr) return Invalid("queue_cap", "site has reached max_queues_per_site");
    const double mos = v.mos > 0 ? v.mos : MosFromNetwork(v.rtt_ms, v.jitter_ms, v.loss_ratio);
    if (MinuteBucket* b = RingAt(q->ring, FloorDiv(t, kMinuteMs))) {
      b->mos_milli_sum += static_cast<std::uint64_t>(std::llround(mos * 1000));
      ++b->mos_samples;
    }
    return ApplyResult{};
  }

  void ApplyHeartbeat(Site& site, const Heartbeat& h) {
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
    site.heartbeat_interval_ms = h.interval_ms;
    if (!h.agent_version.empty() && ValidText(h.agent_version, cfg.limits.max_field_bytes)) {
      site.version = std::string(h.agent_version);
    }
  }

  Counts WindowCounts(const Queue& q, std::int64_t now_ms, int minutes, std::uint64_t* mos_milli,
                      std::uint64_t* mos_n) const {
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

  // The closed rows of the local day (the queue's zone) that the interval at `current` is in.
  // One zone lookup for the day unless its offset changes within it (a DST day).
  static void ClosedToday(const Queue& q, std::int64_t current, std::vector<IntervalView>* out) {
    const std::int64_t offset_now = q.zone_offset.OffsetMs(*q.zone, current);
    const std::int64_t from = current - kDayMs;
    const bool one_offset = q.zone->At(absl::FromUnixMillis(from)).offset * 1000LL == offset_now;
    const std::int64_t day = FloorDiv(current + offset_now, kDayMs);
    for (auto it = q.rows.lower_bound(from); it != q.rows.end() && it->first < current; ++it) {
      if (!it->second.closed) continue;
      const std::int64_t offset =
          one_offset ? offset_now : q.zone->At(absl::FromUnixMillis(it->first)).offset * 1000LL;
      const std::int64_t local = it->first + offset;
      if (FloorDiv(local, kDayMs) != day) continue;
      const std::int64_t minute_of_day = (local - FloorDiv(local, kDayMs) * kDayMs) / kMinuteMs;
      char hhmm[8];
      std::snprintf(hhmm, sizeof hhmm, "%02d:%02d", static_cast<int>(minute_of_day / 60),
                    static_cast<int>(minute_of_day % 60));
      out->push_back({it->first, hhmm, it->second.counts});
    }
  }

  QueueView View(const Queue& q) const {
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
    if (LocalDay(*q.site, now) == q.today_day) v.windows[3] = q.today;
    const std::int64_t current = IntervalStart(q, now);
    if (auto it = q.rows.find(current); it != q.rows.end()) v.interval = it->second.counts;
    ClosedToday(q, current, &v.closed_today);
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
};

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

void Engine::ApplyAgentStatus(std::string_view site_id, std::uint64_t backlog_events, bool paused) {
  Site& site = impl_->GetSite(site_id);
  site.spool_backlog = backlog_events;
  site.spool_paused = paused;
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
          m.ApplyHeartbeat(site, body);
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
  m.AdvanceWatermark(in, t, from_pbx, call != nullptr ? call->call_id : std::string_view());
  if (in.watermark_ms != before) {
    site.event_watermark_ms = std::max(site.event_watermark_ms, in.watermark_ms);
    if (in.watermark_ms >= site.next_close_ms) m.UpdateCloseWatermark(site);
  }
  return r;
}

namespace {

// Checkpoints written before the protobuf format (storage/checkpoint.cc): a little-endian,
// length-prefixed binary form, versions 2 and 3, with counters stored as raw structs in one of
// two frozen layouts. Read only, so that such a checkpoint still loads after an upgrade.
class LegacyReader {
 public:
  explicit LegacyReader(std::string_view in) : in_(in) {}
  template <typename T>
  T Pod() {
    static_assert(std::is_trivially_copyable_v<T>);
    T v{};
    if (in_.size() < sizeof v) {
      ok_ = false;
      return v;
    }
    std::memcpy(&v, in_.data(), sizeof v);
    in_.remove_prefix(sizeof v);
    return v;
  }
  std::string Str() {
    const auto n = Pod<std::uint32_t>();
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  // A count that must be plausible for the bytes left (each element takes >= min_bytes).
  std::uint32_t Count(std::size_t min_bytes) {
    const auto n = Pod<std::uint32_t>();
    if (n > in_.size() / std::max<std::size_t>(min_bytes, 1)) ok_ = false;
    return ok_ ? n : 0;
  }
  void Fail() { ok_ = false; }
  bool ok() const { return ok_; }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
  bool ok_ = true;
};

constexpr std::uint32_t kLegacyMagic = 0x43434d53;  // "SMCC"
// 3: ledger rows (open and closed) per queue with revisions, instance watermarks. 2: closed
// ledger entries in one list, open intervals per queue.
constexpr std::uint32_t kLegacyV3 = 3;
constexpr std::uint32_t kLegacyV2 = 2;
constexpr int kLegacyRingMinutes = 60;
constexpr std::size_t kLegacyHeld = 8;

// The two counter layouts legacy checkpoints stored, told apart by the size in their header.
struct CountsV1 {  // before the `lost` reason and the unknown-wait counters
  std::uint64_t offered, answered, answered_in_threshold, abandoned, abandoned_in_threshold,
      short_abandoned;
  std::array<std::uint64_t, 5> unanswered;  // kNone..kWithdraw
  std::uint64_t completed, transferred, handled, answered_wait_ms, abandoned_wait_ms, handle_ms,
      on_call_ms, acw_ms, ready_ms;
};
struct CountsV3 {
  std::uint64_t offered, answered, answered_in_threshold, abandoned, abandoned_in_threshold,
      short_abandoned;
  std::array<std::uint64_t, 6> unanswered;  // kNone..kLost
  std::uint64_t answered_wait_unknown, abandoned_wait_unknown, completed, transferred, handled,
      answered_wait_ms, abandoned_wait_ms, handle_ms, on_call_ms, acw_ms, ready_ms;
};
static_assert(sizeof(CountsV1) == 20 * sizeof(std::uint64_t));
static_assert(sizeof(CountsV3) == 23 * sizeof(std::uint64_t));

template <typename Old>
Counts FromLegacy(const Old& o) {
  Counts c;
  c.offered = o.offered;
  c.answered = o.answered;
  c.answered_in_threshold = o.answered_in_threshold;
  c.abandoned = o.abandoned;
  c.abandoned_in_threshold = o.abandoned_in_threshold;
  c.short_abandoned = o.short_abandoned;
  std::copy(o.unanswered.begin(), o.unanswered.end(), c.unanswered.begin());
  if constexpr (std::is_same_v<Old, CountsV3>) {
    c.answered_wait_unknown = o.answered_wait_unknown;
    c.abandoned_wait_unknown = o.abandoned_wait_unknown;
  }
  c.completed = o.completed;
  c.transferred = o.transferred;
  c.handled = o.handled;
  c.answered_wait_ms = o.answered_wait_ms;
  c.abandoned_wait_ms = o.abandoned_wait_ms;
  c.handle_ms = o.handle_ms;
  c.on_call_ms = o.on_call_ms;
  c.acw_ms = o.acw_ms;
  c.ready_ms = o.ready_ms;
  return c;
}

Counts ReadCounts(LegacyReader& r, bool v1_layout) {
  return v1_layout ? FromLegacy(r.Pod<CountsV1>()) : FromLegacy(r.Pod<CountsV3>());
}

EngineState::Histogram ReadHistogram(LegacyReader& r) {
  EngineState::Histogram h;
  h.counts.resize(r.Count(8));
  for (auto& c : h.counts) c = r.Pod<std::uint64_t>();
  h.sum_ms = r.Pod<std::uint64_t>();
  h.count = r.Pod<std::uint64_t>();
  return h;
}

// A legacy checkpoint as state. now_ms stamps the closed intervals of version 2, which become
// closed rows drained once more so the store holds them.
bool ParseLegacyState(std::string_view blob, std::int64_t now_ms, EngineState* out,
                      std::string* error) {
  constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::min();
  LegacyReader r(blob);
  if (r.Pod<std::uint32_t>() != kLegacyMagic) {
    *error = "not a ccmon engine checkpoint";
    return false;
  }
  const auto version = r.Pod<std::uint32_t>();
  if (version != kLegacyV3 && version != kLegacyV2) {
    *error = "checkpoint format version " + std::to_string(version) + ", this build reads " +
             std::to_string(kLegacyV2) + " and " + std::to_string(kLegacyV3) +
             " (binary) and the protobuf format";
    return false;
  }
  const bool v2 = version == kLegacyV2;
  const auto counts_bytes = r.Pod<std::uint32_t>();
  if (counts_bytes != sizeof(CountsV3) && counts_bytes != sizeof(CountsV1)) {
    *error = "checkpoint written by a build with a different counter layout (" +
             std::to_string(counts_bytes) + " bytes of counts, this build reads " +
             std::to_string(sizeof(CountsV1)) + " and " + std::to_string(sizeof(CountsV3)) + ")";
    return false;
  }
  const bool v1_layout = counts_bytes == sizeof(CountsV1);
  EngineState& s = *out;
  s = {};
  s.stats.accepted = r.Pod<std::uint64_t>();
  s.stats.duplicate = r.Pod<std::uint64_t>();
  s.stats.late = r.Pod<std::uint64_t>();
  s.stats.reconstructed = r.Pod<std::uint64_t>();
  s.stats.sequence_gaps = r.Pod<std::uint64_t>();
  s.stats.intervals_closed = r.Pod<std::uint64_t>();
  for (std::uint32_t n = r.Count(12); n > 0 && r.ok(); --n) {
    std::string reason = r.Str();
    s.stats.invalid_by_reason[reason] = r.Pod<std::uint64_t>();
  }
  struct OldEntry {
    std::string site, queue;
    std::int64_t start = 0;
    Counts counts;
  };
  std::vector<OldEntry> old_entries;
  if (v2) {
    for (std::uint32_t n = r.Count(40); n > 0 && r.ok(); --n) {
      OldEntry e;
      r.Str();  // client: the queue's owner now decides
      e.site = r.Str();
      e.queue = r.Str();
      e.start = r.Pod<std::int64_t>();
      r.Pod<int>();
      r.Str();
      r.Str();
      r.Pod<Contract>();
      e.counts = ReadCounts(r, v1_layout);
      r.Pod<std::uint8_t>();
      r.Pod<std::uint8_t>();
      r.Pod<std::uint8_t>();
      old_entries.push_back(std::move(e));
    }
  } else {
    s.stats.clock_anomaly = r.Pod<std::uint64_t>();
    s.stats.ledger_amendments = r.Pod<std::uint64_t>();
    s.stats.ledger_too_old = r.Pod<std::uint64_t>();
  }
  for (std::uint32_t ns = r.Count(40); ns > 0 && r.ok(); --ns) {
    EngineState::Site& site = s.sites.emplace_back();
    site.id = r.Str();
    site.last_seen_ms = r.Pod<std::int64_t>();
    site.event_watermark_ms = r.Pod<std::int64_t>();
    site.close_watermark_ms = v2 ? kNone : r.Pod<std::int64_t>();
    site.clock_skew_ms = r.Pod<std::int64_t>();
    site.spool_backlog = r.Pod<std::uint64_t>();
    site.spool_dropped = r.Pod<std::uint64_t>();
    site.heartbeat_interval_ms = r.Pod<std::uint32_t>();
    site.last_instance = r.Str();
    site.version = r.Str();
    for (std::uint32_t n = r.Count(12); n > 0 && r.ok(); --n) {
      EngineState::Instance& in = site.instances.emplace_back();
      in.name = r.Str();
      in.last_seq = r.Pod<std::uint64_t>();
      if (v2) {
        // One site-wide watermark then: each instance starts from it.
        in.watermark_ms = site.event_watermark_ms;
        site.close_watermark_ms = site.event_watermark_ms;
      } else {
        in.watermark_ms = r.Pod<std::int64_t>();
        const auto held = r.Pod<std::array<std::int64_t, kLegacyHeld>>();
        in.held.assign(held.begin(), held.end());
        in.held_n = r.Pod<std::uint32_t>();
        in.held_call = r.Pod<std::uint64_t>();
      }
    }
    for (std::uint32_t nq = r.Count(counts_bytes); nq > 0 && r.ok(); --nq) {
      EngineState::Queue& q = site.queues.emplace_back();
      q.name = r.Str();
      q.total = ReadCounts(r, v1_layout);
      for (int i = 0; i < kLegacyRingMinutes; ++i) {
        EngineState::Minute m;
        m.minute = r.Pod<std::int64_t>();
        m.counts = ReadCounts(r, v1_layout);
        m.mos_milli_sum = r.Pod<std::uint64_t>();
        m.mos_samples = r.Pod<std::uint64_t>();
        if (m.minute != kNone) q.ring.push_back(m);
      }
      q.today_day = r.Pod<std::int64_t>();
      q.today = ReadCounts(r, v1_layout);
      for (std::uint32_t n = r.Count(8 + counts_bytes); n > 0 && r.ok(); --n) {
        EngineState::Row& row = q.rows.emplace_back();
        row.start_ms = r.Pod<std::int64_t>();
        row.counts = ReadCounts(r, v1_layout);
        if (v2) continue;  // an open interval: its counts only
        row.late = r.Pod<std::uint64_t>();
        row.rebuilt = r.Pod<std::uint64_t>();
        row.pending_late = r.Pod<std::uint64_t>();
        row.closed_ms = r.Pod<std::int64_t>();
        row.changed_ms = r.Pod<std::int64_t>();
        row.revision = r.Pod<std::uint32_t>();
        const auto flags = r.Pod<std::uint8_t>();
        row.closed = (flags & 1) != 0;
        row.dirty = (flags & 2) != 0;
      }
      q.answered_wait = ReadHistogram(r);
      q.abandoned_wait = ReadHistogram(r);
      q.handle_time = ReadHistogram(r);
      for (std::uint32_t n = r.Count(12); n > 0 && r.ok(); --n) {
        EngineState::Waiting& w = q.waiting.emplace_back();
        w.call_id = r.Str();
        w.since_ms = r.Pod<std::int64_t>();
      }
      q.ledger_met = r.Pod<std::uint64_t>();
      q.ledger_missed = r.Pod<std::uint64_t>();
      q.agent_state_ms = r.Pod<std::array<std::uint64_t, kAgentStateCount>>();
      for (std::uint32_t n = r.Count(20); n > 0 && r.ok(); --n) {
        EngineState::Abandoned& a = q.abandoned.emplace_back();
        a.time_ms = r.Pod<std::int64_t>();
        a.wait_ms = r.Pod<std::uint32_t>();
        a.call_id = r.Str();
        a.caller_id = r.Str();
      }
    }
    for (std::uint32_t na = r.Count(18); na > 0 && r.ok(); --na) {
      EngineState::Agent& a = site.agents.emplace_back();
      a.name = r.Str();
      a.state = static_cast<AgentState>(r.Pod<std::uint8_t>());
      const auto paused = r.Pod<std::uint8_t>();  // 0 no, 1 not ready, 2 after-call work
      a.paused = paused != 0;
      a.pause_state = paused == 2 ? AgentState::kAfterCallWork : AgentState::kNotReady;
      a.since_ms = r.Pod<std::int64_t>();
      if (static_cast<int>(a.state) < 1 || static_cast<int>(a.state) >= kAgentStateCount) {
        r.Fail();
        break;
      }
      for (std::uint32_t n = r.Count(4); n > 0 && r.ok(); --n) a.queues.push_back(r.Str());
    }
    for (std::uint32_t nl = r.Count(36); nl > 0 && r.ok(); --nl) {
      EngineState::Link& l = site.links.emplace_back();
      l.name = r.Str();
      l.up = r.Pod<std::uint8_t>() != 0;
      l.rtt_ms = r.Pod<double>();
      l.jitter_ms = r.Pod<double>();
      l.loss_ratio = r.Pod<double>();
      l.last_ms = r.Pod<std::int64_t>();
    }
  }
  if (!r.ok() || !r.done()) {
    *error = "checkpoint is truncated or damaged";
    return false;
  }
  for (OldEntry& e : old_entries) {
    auto site = std::find_if(s.sites.begin(), s.sites.end(),
                             [&](const EngineState::Site& x) { return x.id == e.site; });
    if (site == s.sites.end()) continue;
    auto q = std::find_if(site->queues.begin(), site->queues.end(),
                          [&](const EngineState::Queue& x) { return x.name == e.queue; });
    if (q == site->queues.end()) {
      q = site->queues.insert(site->queues.end(), EngineState::Queue{});
      q->name = e.queue;
    }
    EngineState::Row row;
    row.start_ms = e.start;
    row.counts = e.counts;
    row.closed = true;
    row.closed_ms = now_ms;
    row.dirty = true;
    q->rows.push_back(row);
  }
  return true;
}

template <typename Map>
std::vector<typename Map::const_pointer> SortedByKey(const Map& map) {
  std::vector<typename Map::const_pointer> out;
  out.reserve(map.size());
  for (const auto& entry : map) out.push_back(&entry);
  std::sort(out.begin(), out.end(), [](auto a, auto b) { return a->first < b->first; });
  return out;
}

EngineState::Histogram ExportHistogram(const HistogramState& h) {
  return {h.counts, h.sum_ms, h.count};
}

}  // namespace

EngineState Engine::ExportState() const {
  const Impl& m = *impl_;
  EngineState s;
  s.stats = m.stats;
  for (const auto* site_entry : SortedByKey(m.sites)) {
    const Site& site = *site_entry->second;
    EngineState::Site& o = s.sites.emplace_back();
    o.id = site.id;
    o.last_seen_ms = site.last_seen_ms;
    o.event_watermark_ms = site.event_watermark_ms;
    o.close_watermark_ms = site.close_watermark_ms;
    o.clock_skew_ms = site.clock_skew_ms;
    o.spool_backlog = site.spool_backlog;
    o.spool_dropped = site.spool_dropped;
    o.heartbeat_interval_ms = site.heartbeat_interval_ms;
    o.last_instance = site.last_instance;
    o.version = site.version;
    for (const auto* entry : SortedByKey(site.instances)) {
      const Instance& in = entry->second;
      o.instances.push_back({entry->first, in.last_seq, in.watermark_ms,
                             std::vector<std::int64_t>(in.held.begin(), in.held.end()), in.held_n,
                             static_cast<std::uint64_t>(in.held_call)});
    }
    for (const auto* entry : SortedByKey(site.queues)) {
      const Queue& q = *entry->second;
      EngineState::Queue& oq = o.queues.emplace_back();
      oq.name = q.name;
      oq.total = q.total;
      for (const MinuteBucket& b : q.ring) {
        if (b.minute == std::numeric_limits<std::int64_t>::min()) continue;
        oq.ring.push_back({b.minute, b.counts, b.mos_milli_sum, b.mos_samples});
      }
      std::sort(oq.ring.begin(), oq.ring.end(),
                [](const auto& a, const auto& b) { return a.minute < b.minute; });
      oq.today_day = q.today_day;
      oq.today = q.today;
      for (const auto& [start, row] : q.rows) {
        oq.rows.push_back({start, row.counts, row.late, row.rebuilt, row.pending_late,
                           row.closed_ms, row.changed_ms, row.revision, row.closed, row.dirty});
      }
      oq.answered_wait = ExportHistogram(q.answered_wait);
      oq.abandoned_wait = ExportHistogram(q.abandoned_wait);
      oq.handle_time = ExportHistogram(q.handle_time);
      for (const auto* w : SortedByKey(q.waiting)) oq.waiting.push_back({w->first, w->second});
      oq.ledger_met = q.ledger_met;
      oq.ledger_missed = q.ledger_missed;
      oq.agent_state_ms = q.agent_state_ms;
      for (const AbandonedRecord& a : q.abandoned) {
        oq.abandoned.push_back({a.time_ms, a.wait_ms, a.call_id, a.caller_id});
      }
    }
    for (const auto* entry : SortedByKey(site.agents)) {
      const Agent& a = entry->second;
      EngineState::Agent& oa = o.agents.emplace_back();
      oa.name = entry->first;
      oa.state = a.state;
      oa.paused = a.paused;
      oa.pause_state = a.pause_state;
      oa.since_ms = a.since_ms;
      for (const Queue* q : a.queues) oa.queues.push_back(q->name);
    }
    for (const auto* entry : SortedByKey(site.links)) {
      const LinkView& l = entry->second.view;
      o.links.push_back({entry->first, l.up, l.rtt_ms, l.jitter_ms, l.loss_ratio, l.last_ms});
    }
  }
  return s;
}

bool Engine::ImportState(const EngineState& state, std::string* error) {
  (void)error;  // nothing is refused today: what this build cannot take is left out below
  auto fresh = std::make_unique<Impl>(impl_->cfg, impl_->clock);
  Impl& m = *fresh;
  const std::int64_t now = m.clock.NowMs();
  for (const EngineState::Site& in_site : state.sites) {
    Site& site = m.GetSite(in_site.id);
    site.last_seen_ms = in_site.last_seen_ms;
    site.event_watermark_ms = in_site.event_watermark_ms;
    site.last_pbx_ms = now;  // idle time counts from the restart
    site.close_watermark_ms = in_site.close_watermark_ms;
    site.clock_skew_ms = in_site.clock_skew_ms;
    site.spool_backlog = in_site.spool_backlog;
    site.spool_dropped = in_site.spool_dropped;
    site.heartbeat_interval_ms = in_site.heartbeat_interval_ms;
    site.last_instance = in_site.last_instance;
    site.version = in_site.version;
    for (const EngineState::Instance& ii : in_site.instances) {
      Instance& in = site.instances[ii.name];
      in.last_seq = ii.last_seq;
      in.watermark_ms = ii.watermark_ms;
      const std::size_t held = std::min(ii.held.size(), in.held.size());
      std::copy_n(ii.held.begin(), held, in.held.begin());
      in.held_n = std::min<std::uint32_t>(ii.held_n, kWatermarkConfirm - 1);
      in.held_call = static_cast<std::size_t>(ii.held_call);
    }
    for (const EngineState::Queue& iq : in_site.queues) {
      Queue* q = m.GetQueue(site, iq.name);
      if (q == nullptr) continue;  // no longer fits the caps
      q->total = iq.total;
      for (const EngineState::Minute& im : iq.ring) {
        if (MinuteBucket* b = RingAt(q->ring, im.minute)) {
          b->counts = im.counts;
          b->mos_milli_sum = im.mos_milli_sum;
          b->mos_samples = im.mos_samples;
        }
      }
      q->today_day = iq.today_day;
      q->today = iq.today;
      for (const EngineState::Row& ir : iq.rows) {
        Row row;
        row.counts = ir.counts;
        row.late = ir.late;
        row.rebuilt = ir.rebuilt;
        row.pending_late = ir.pending_late;
        row.closed_ms = ir.closed_ms;
        row.changed_ms = ir.changed_ms;
        row.revision = ir.revision;
        row.closed = ir.closed;
        if (q->rows.count(ir.start_ms) != 0) continue;  // one row per interval: the first
        if (!row.closed) {
          // Saturating: a start near the end of time must not wrap around.
          const std::int64_t span = q->interval_ms + m.cfg.allowed_lateness_ms;
          const std::int64_t closes = ir.start_ms > std::numeric_limits<std::int64_t>::max() - span
                                          ? std::numeric_limits<std::int64_t>::max()
                                          : ir.start_ms + span;
          site.next_close_ms = std::min(site.next_close_ms, closes);
          q->first_open = std::min(q->first_open, ir.start_ms);
        }
        Row& placed = q->rows[ir.start_ms] = row;
        if (ir.dirty) {
          m.MarkDirty(*q, ir.start_ms, placed);
          placed.pending_since_ms = now;
        }
      }
      // Bounds follow the configured thresholds; if they changed, the old counts mean nothing.
      auto restore = [](HistogramState& h, const EngineState::Histogram& ih) {
        if (ih.counts.size() != h.counts.size()) return;
        h.counts = ih.counts;
        h.sum_ms = ih.sum_ms;
        h.count = ih.count;
      };
      restore(q->answered_wait, iq.answered_wait);
      restore(q->abandoned_wait, iq.abandoned_wait);
      restore(q->handle_time, iq.handle_time);
      for (const EngineState::Waiting& w : iq.waiting) q->waiting[w.call_id] = w.since_ms;
      q->ledger_met = iq.ledger_met;
      q->ledger_missed = iq.ledger_missed;
      q->agent_state_ms = iq.agent_state_ms;
      for (const EngineState::Abandoned& a : iq.abandoned) {
        if (q->abandoned.size() == Engine::kMaxAbandonedPerQueue) q->abandoned.pop_front();
        q->abandoned.push_back({a.time_ms, a.wait_ms, a.call_id, a.caller_id});
      }
    }
    for (const EngineState::Agent& ia : in_site.agents) {
      // An agent in a state this build does not know (a newer build's) is left out: the
      // roster learns it again from the agent's next event, and the rest of the state stands.
      auto valid = [](AgentState s) {
        return static_cast<int>(s) >= 1 && static_cast<int>(s) < kAgentStateCount;
      };
      if (!valid(ia.state) || !valid(ia.pause_state)) continue;
      Agent* slot = m.GetAgent(site, ia.name, ia.since_ms);
      if (slot == nullptr) continue;
      slot->paused = ia.paused;
      slot->pause_state = ia.pause_state;
      slot->since_ms = ia.since_ms;
      slot->state = ia.state;
      for (const auto& qn : ia.queues) {
        if (auto* q = Find(site.queues, qn)) m.Join(*slot, q->get());
      }
    }
    for (const EngineState::Link& il : in_site.links) {
      // A figure that is not a number would poison every comparison: the link waits for its
      // next probe instead.
      if (!std::isfinite(il.rtt_ms) || !std::isfinite(il.jitter_ms) ||
          !std::isfinite(il.loss_ratio)) {
        continue;
      }
      Link& l = site.links[il.name];
      l.view.site = site.id;
      l.view.link = il.name;
      l.view.up = il.up;
      l.view.rtt_ms = il.rtt_ms;
      l.view.jitter_ms = il.jitter_ms;
      l.view.loss_ratio = il.loss_ratio;
      l.view.last_ms = il.last_ms;
    }
  }
  m.stats = state.stats;  // last: placing rows and agents above counts nothing
  impl_ = std::move(fresh);
  return true;
}

bool Engine::LoadLegacyState(std::string_view blob, std::string* error) {
  EngineState state;
  return ParseLegacyState(blob, impl_->clock.NowMs(), &state, error) && ImportState(state, error);
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

Snapshot Engine::TakeSnapshot() const {
  const Impl& m = *impl_;
  Snapshot s;
  s.now_ms = m.clock.NowMs();
  for (auto b : m.wait_bounds_ms) s.wait_bounds_s.push_back(static_cast<double>(b) / 1000.0);
  for (auto b : m.handle_bounds_ms) s.handle_bounds_s.push_back(static_cast<double>(b) / 1000.0);
  for (const auto& [id, site] : m.sites) {
    SiteView sv;
    sv.site = site->id;
    sv.open_streams = site->open_streams;
    sv.connected = site->open_streams > 0;
    sv.last_seen_ms = site->last_seen_ms;
    sv.clock_skew_ms = site->clock_skew_ms;
    sv.pbx_clock_ahead_ms = site->pbx_ahead_ms;
    sv.spool_backlog_events = site->spool_backlog;
    sv.spool_dropped_events = site->spool_dropped;
    sv.spool_paused = site->spool_paused;
    sv.lines_rejected = site->lines_rejected;
    sv.replicas_given_up = site->replicas_given_up;
    sv.agent_instance = site->last_instance;
    if (auto* in = Find(const_cast<Site&>(*site).instances, site->last_instance)) {
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
    for (const auto& [name, q] : site->queues) s.queues.push_back(m.View(*q));
    for (const auto& [name, link] : site->links) s.links.push_back(link.view);
  }
  auto key = [](const QueueView& v) { return std::tie(v.client, v.site, v.queue); };
  std::sort(s.queues.begin(), s.queues.end(),
            [&](const QueueView& a, const QueueView& b) { return key(a) < key(b); });
  std::sort(s.sites.begin(), s.sites.end(),
            [](const SiteView& a, const SiteView& b) { return a.site < b.site; });
  std::sort(s.links.begin(), s.links.end(), [](const LinkView& a, const LinkView& b) {
    return std::tie(a.site, a.link) < std::tie(b.site, b.link);
  });
  s.ingest = m.stats;
  for (const QueueView& q : s.queues) {
    if (s.client_queues.empty() || s.client_queues.back().client != q.client ||
        s.client_queues.back().queue != q.queue) {
      // queues are sorted by client, site, queue: find this (client, queue) row if present.
      auto it = std::find_if(s.client_queues.begin(), s.client_queues.end(),
                             [&](auto& c) { return c.client == q.client && c.queue == q.queue; });
      if (it == s.client_queues.end()) {
        QueueView c;
        c.client = q.client;
        c.queue = q.queue;
        c.contract = q.contract;
        s.client_queues.push_back(std::move(c));
      } else {
        std::rotate(it, it + 1, s.client_queues.end());
      }
    }
    QueueView& c = s.client_queues.back();
    c.total += q.total;
    for (std::size_t i = 0; i < c.windows.size(); ++i) c.windows[i] += q.windows[i];
    c.interval += q.interval;
    c.calls_waiting += q.calls_waiting;
    c.oldest_wait_s = std::max(c.oldest_wait_s, q.oldest_wait_s);
    for (std::size_t i = 0; i < c.agents_by_state.size(); ++i) {
      c.agents_by_state[i] += q.agents_by_state[i];
    }
    c.ledger_met += q.ledger_met;
    c.ledger_missed += q.ledger_missed;
    // Intervals add up across sites by start (sites in other zones, when the contract names
    // none, have other starts and stay apart).
    for (const IntervalView& iv : q.closed_today) {
      auto at = std::lower_bound(
          c.closed_today.begin(), c.closed_today.end(), iv.start_ms,
          [](const IntervalView& x, std::int64_t start) { return x.start_ms < start; });
      if (at != c.closed_today.end() && at->start_ms == iv.start_ms) {
        at->counts += iv.counts;
      } else {
        c.closed_today.insert(at, iv);
      }
    }
  }
  for (QueueView& c : s.client_queues) {
    const double aht = AhtSeconds(c.windows[1]).value_or(180.0);
    c.agents_required = ErlangCAgentsRequired(static_cast<double>(c.windows[1].offered) / 1800.0,
                                              aht, c.contract.sl_threshold_s, c.contract.sl_target);
  }
  std::sort(s.client_queues.begin(), s.client_queues.end(),
            [](const QueueView& a, const QueueView& b) {
              return std::tie(a.client, a.queue) < std::tie(b.client, b.queue);
            });
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
