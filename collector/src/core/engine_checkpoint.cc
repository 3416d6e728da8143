#include "ccmon/collector/engine.h"
#include "core/engine_impl.h"

namespace ccmon::collector {

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
    o.lines_rejected = site.lines_rejected;
    o.replicas_given_up = site.replicas_given_up;
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
      oq.today_day = q.today.newest.day;
      oq.today = q.today.newest.counts;
      oq.earlier_day = q.today.earlier.day;
      oq.earlier = q.today.earlier.counts;
      if (q.contract_day_zone != nullptr && q.contract_today.newest.day != EngineState::kNever) {
        oq.contract_day = q.contract_today.newest.day;
        oq.contract_today = q.contract_today.newest.counts;
        oq.contract_earlier_day = q.contract_today.earlier.day;
        oq.contract_earlier = q.contract_today.earlier.counts;
        oq.contract_zone = q.contract_day_zone->name();
      }
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
    site.lines_rejected = in_site.lines_rejected;
    site.replicas_given_up = in_site.replicas_given_up;
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
      q->today.Restore({iq.today_day, iq.today}, {iq.earlier_day, iq.earlier});
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
      if (q->contract_day_zone != nullptr) {
        if (iq.contract_day != EngineState::kNever &&
            iq.contract_zone == q->contract_day_zone->name()) {
          q->contract_today.Restore({iq.contract_day, iq.contract_today},
                                    {iq.contract_earlier_day, iq.contract_earlier});
        } else {  // an older checkpoint, or the contract's zone has changed since
          Impl::RebuildContractToday(*q, now);
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

}  // namespace ccmon::collector
