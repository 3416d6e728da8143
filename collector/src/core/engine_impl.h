// The engine's state and the Impl that owns it, shared by the engine's files, one concern each:
// engine.cc (sites, streams, heartbeats, apply, tick), engine_calls.cc (calls and KPIs),
// engine_ledger.cc (the interval ledger), engine_roster.cc (agents), engine_links.cc (links,
// trunks, voice), engine_views.cc (snapshots and reads) and engine_checkpoint.cc (export, import,
// the legacy format). Not a public header: nothing outside those files includes it. The state's
// types live in engine_internal, so that no other type of ccmon::collector can be taken for them.
#pragma once

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ccmon/collector/engine.h"
#include "ccmon/collector/staffing.h"
#include "core/minute_ring.h"

namespace ccmon::collector {

namespace engine_internal {

inline constexpr std::int64_t kMinuteMs = 60'000;
inline constexpr std::int64_t kDayMs = 86'400'000;
inline constexpr int kRingMinutes = 60;

inline constexpr std::int64_t kMosWindowMinutes = 5;
// An amended row waits at most this long (collector clock) for a lagging instance to finish
// its interval before its new revision is written.
inline constexpr std::int64_t kAmendHoldMs = std::int64_t{30} * 60'000;
// Events of one call ahead of their instance's watermark by more than the anomaly jump that
// it takes, in a row, to move the watermark there (another call's event confirms at once).
// The lines that only follow a call are not counted, so a call through one queue (an offer,
// an answer, an outcome) never confirms itself: the next call, or an agent's login or pause,
// does.
inline constexpr std::size_t kWatermarkConfirm = 8;

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
template <typename V>
const V* Find(const StringMap<V>& m, std::string_view key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

inline std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

inline bool ValidText(std::string_view s, std::size_t max_bytes) {
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

// A queue's counts of the two latest days its calls fell in; "today" is the one holding now.
// Two, so that one call stamped in a later day (a PBX clock's glitch, up to limits.max_future
// ahead) starts that day without dropping the day still running: later calls of the running
// day go on counting in it, and it is still the one shown until the clock reaches the next.
struct TwoDays {
  struct Day {
    std::int64_t day = std::numeric_limits<std::int64_t>::min();
    Counts counts;
  };
  Day newest;
  Day earlier;

  // Counts d in its day. A day later than the newest starts, and the newest becomes the
  // earlier; a day between the two takes the earlier's place; a day older than both is past
  // and not kept.
  void Add(std::int64_t day, const Counts& d) {
    if (Counts* kept = Find(*this, day)) {
      *kept += d;
    } else if (day > newest.day) {
      earlier = newest;
      newest = {day, d};
    } else if (day > earlier.day) {
      earlier = {day, d};
    }
  }
  // Counts d only in a day kept already (agent time never starts one).
  void AddIfKept(std::int64_t day, const Counts& d) {
    if (Counts* kept = Find(*this, day)) *kept += d;
  }
  // Both days as a checkpoint holds them, in order: a damaged checkpoint's days are put back
  // in order, and a second copy of one day is dropped (the first holds its counts).
  void Restore(const Day& n, const Day& e) {
    newest = e.day > n.day ? e : n;
    earlier = e.day > n.day ? n : e.day < n.day ? e : Day{};
  }
  // The counts of `day`, or none when it is not kept.
  Counts Of(std::int64_t day) const {
    const Counts* kept = Find(*this, day);
    return kept != nullptr ? *kept : Counts{};
  }

 private:
  // The counts of `day` in self (const or not), or null.
  template <typename Self>
  static std::conditional_t<std::is_const_v<Self>, const Counts*, Counts*> Find(Self& self,
                                                                                std::int64_t day) {
    if (day == self.newest.day) return &self.newest.counts;
    if (day == self.earlier.day) return &self.earlier.counts;
    return nullptr;
  }
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
  TwoDays today;  // by the site's local day: the site row's "today"
  // Days as the contract's statements read them (the zone the contract names, else
  // default_timezone): the client row's "today". Null when that zone is the site's own, and
  // `today` serves both.
  const absl::TimeZone* contract_day_zone = nullptr;
  OffsetCache contract_day_offset;
  TwoDays contract_today;
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
// of the same call, move it there (not to held lines further ahead of it than the anomaly);
// an event back on the old timeline turns the held ones into clock anomalies.
struct Instance {
  std::uint64_t last_seq = 0;
  std::int64_t watermark_ms = std::numeric_limits<std::int64_t>::min();
  std::array<std::int64_t, kWatermarkConfirm> held{};
  std::uint32_t held_n = 0;
  std::size_t held_call = 0;  // hash of the call id of the held events (0: none)
  std::uint32_t open_streams = 0;
  // Input files this agent instance cannot read now: from its live status once it sends one
  // (live_sources), else from its heartbeats while it streams. Not checkpointed; 0 once its
  // streams close.
  std::uint32_t sources_waiting = 0;
  bool live_sources = false;
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

  // Input files the agent instances streaming now cannot read (two agents under one site id
  // read different PBXs: each says its own).
  std::uint32_t SourcesWaiting() const {
    std::uint32_t n = 0;
    for (const auto& [id, in] : instances) {
      if (in.open_streams > 0) n += in.sources_waiting;
    }
    return n;
  }

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

}  // namespace engine_internal

// Every engine file works on these types.
using namespace engine_internal;  // NOLINT(google-build-using-namespace)

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
  // Zones named by contracts (zone name -> zone), loaded once.
  StringMap<absl::TimeZone> contract_tz;

  Impl(CoreConfig c, const Clock& clk);

  // --- sites, queues and each instance's timeline (engine.cc) ---
  Site& GetSite(std::string_view id);
  Queue* GetQueue(Site& site, std::string_view name);
  std::string SiteZoneName(std::string_view site) const {
    for (const auto& sc : cfg.sites) {
      if (sc.id == site) return sc.timezone;
    }
    return cfg.default_timezone;
  }
  std::int64_t SiteNow(const Site& site) const { return clock.NowMs() + site.clock_skew_ms; }
  // Local day number of an instant in the site's zone.
  static std::int64_t LocalDay(const Site& site, std::int64_t t_ms) {
    return FloorDiv(t_ms + site.offset.OffsetMs(site.tz, t_ms), kDayMs);
  }
  // The zone a queue's contract reads its days in, as statements do: the zone it names, else
  // default_timezone. Set by configuration alone (never by which sites serve the queue).
  const absl::TimeZone& StatementZone(std::string_view queue) const {
    if (const auto* owner = Find(queue_owner, queue)) {
      if (const auto* named = Find(contract_tz, owner->zone)) return *named;
    }
    return default_tz;
  }
  // Day number of an instant as the queue's contract reads it (see Queue::contract_day_zone).
  static std::int64_t ContractDay(const Queue& q, std::int64_t t_ms) {
    if (q.contract_day_zone == nullptr) return LocalDay(*q.site, t_ms);
    return FloorDiv(t_ms + q.contract_day_offset.OffsetMs(*q.contract_day_zone, t_ms), kDayMs);
  }
  // The queue's counts of the contract's day holding `now` (its client row's "today").
  static Counts ContractToday(const Queue& q, std::int64_t now_ms);
  // The call counts of the contract's day holding now (and of a later day its rows reach)
  // summed from the ledger rows, for a checkpoint that did not keep them (agent state time
  // restarts from zero).
  static void RebuildContractToday(Queue& q, std::int64_t now_ms);
  // Start of the contract interval holding t (interval boundaries are local time).
  static std::int64_t IntervalStart(const Queue& q, std::int64_t t_ms) {
    const std::int64_t offset_ms = q.zone_offset.OffsetMs(*q.zone, t_ms);
    const std::int64_t local_start = FloorDiv(t_ms + offset_ms, q.interval_ms) * q.interval_ms;
    return local_start - offset_ms;
  }
  // Moves an instance's watermark by one accepted event (see Instance). Heartbeats and link
  // samples come from the agent's own clock, not the PBX's, and the lines that only follow a
  // call carry its time (Apply): with from_pbx false they move the watermark only when they
  // agree with it, and are never held (a backfill of an old log sends heartbeats of today).
  void AdvanceWatermark(Instance& in, std::int64_t t, bool from_pbx, std::string_view call_id);
  // A heartbeat: the agent's clock skew, spool backlog and health.
  void ApplyHeartbeat(Site& site, Instance& in, const Heartbeat& h);
  ApplyResult Invalid(std::string_view reason, std::string detail) {
    ++stats.invalid_by_reason[std::string(reason)];
    return ApplyResult{ApplyResult::Kind::kInvalid, reason, std::move(detail)};
  }

  // --- calls and their KPIs (engine_calls.cc) ---
  void AddCounts(Queue& q, std::int64_t t_ms, const Counts& d, bool rebuilt);
  ApplyResult ApplyCall(Site& site, const CallEvent& c, std::int64_t t);
  static void Leave(Queue& q, std::string_view call_id);
  Counts WindowCounts(const Queue& q, std::int64_t now_ms, int minutes, std::uint64_t* mos_milli,
                      std::uint64_t* mos_n) const;
  QueueView View(const Queue& q) const;

  // --- the interval ledger (engine_ledger.cc) ---
  // Counts an event in its ledger row, the one starting at `start` (IntervalStart of the
  // event's own time). A row that closed already is amended (its next drain gives it a new
  // revision); one older than the amendment horizon is left alone, because the stored row may
  // hold more than memory does.
  void AddToRow(Queue& q, std::int64_t start, const Counts& d, bool rebuilt);
  void MarkDirty(Queue& q, std::int64_t start, Row& row);
  // Closes the rows whose end plus the allowed lateness is at or before `limit` (event time).
  // Closed rows stay (for amendments); they go to the outbox.
  void CloseRows(Site& site, std::int64_t limit);
  LedgerRow MakeRow(const Queue& q, std::int64_t start, const Row& row) const;
  void UpdateCloseWatermark(Site& site);
  // Rows closed or amended since the last drain. An amendment waits while an instance still
  // streaming is behind the row's deadline (it may have more for it: one revision, not one
  // per batch), for at most kAmendHoldMs.
  std::vector<LedgerRow> Drain(bool all);
  // The closed intervals of today so far for a client's queue, summed across the site queues
  // serving it (`queues`, at least one), oldest first: the day and the labels are those of
  // the zone the contract's days are read in. Until the new day's first interval can have
  // closed, they are the day before's, its last interval included.
  void ClosedToday(const std::vector<const Queue*>& queues, std::int64_t now,
                   std::vector<IntervalView>* out) const;

  // --- the agent roster (engine_roster.cc) ---
  // Adds the time the agent spent in its current state up to t to each of its queues.
  void Accrue(Agent& a, std::int64_t t_ms);
  // State time goes to the totals and rolling windows only: the ledger is about calls.
  static void AddStateTime(Queue& q, std::int64_t t_ms, const Counts& d);
  void SetState(Agent& a, AgentState s, std::int64_t t_ms);
  void Join(Agent& a, Queue* q);
  void Leave(Agent& a, Queue* q);
  Agent* GetAgent(Site& site, std::string_view name, std::int64_t t_ms);
  ApplyResult ApplyAgentState(Site& site, const AgentStateEvent& e, std::int64_t t);

  // --- links, trunks and voice (engine_links.cc) ---
  ApplyResult ApplyLink(Site& site, const LinkSample& l, std::int64_t t);
  ApplyResult ApplyVoice(Site& site, const VoiceQuality& v, std::int64_t t);
};

}  // namespace ccmon::collector
