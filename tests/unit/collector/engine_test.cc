#include "ccmon/collector/engine.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>

#include "engine_state_fill.h"

namespace ccmon::collector {
namespace {

// 2026-11-26 00:00:00 UTC.
constexpr std::int64_t kDay = 1795651200000;
constexpr std::int64_t kS = 1000;
constexpr std::int64_t kMin = 60 * kS;

// Counts as checkpoints stored them before the `lost` reason and the unknown-wait counters
// (the 160-byte layout of checkpoint versions 2 and 3 until then).
struct CountsV1 {
  std::uint64_t offered = 0, answered = 0, answered_in_threshold = 0, abandoned = 0,
                abandoned_in_threshold = 0, short_abandoned = 0;
  std::array<std::uint64_t, 5> unanswered{};
  std::uint64_t completed = 0, transferred = 0, handled = 0, answered_wait_ms = 0,
                abandoned_wait_ms = 0, handle_ms = 0, on_call_ms = 0, acw_ms = 0, ready_ms = 0;
};
static_assert(sizeof(CountsV1) == 160);

// `c` in the old layout (c has no lost calls and no unknown waits).
CountsV1 OldLayout(const Counts& c) {
  CountsV1 o;
  o.offered = c.offered;
  o.answered = c.answered;
  o.answered_in_threshold = c.answered_in_threshold;
  o.abandoned = c.abandoned;
  o.abandoned_in_threshold = c.abandoned_in_threshold;
  o.short_abandoned = c.short_abandoned;
  for (std::size_t i = 0; i < o.unanswered.size(); ++i) o.unanswered[i] = c.unanswered[i];
  o.completed = c.completed;
  o.transferred = c.transferred;
  o.handled = c.handled;
  o.answered_wait_ms = c.answered_wait_ms;
  o.abandoned_wait_ms = c.abandoned_wait_ms;
  o.handle_ms = c.handle_ms;
  o.on_call_ms = c.on_call_ms;
  o.acw_ms = c.acw_ms;
  o.ready_ms = c.ready_ms;
  return o;
}

// Counts with every field of the old layout set to its own value (base, base + 1, ...), so
// that a field read into the wrong place cannot pass.
Counts Distinct(std::uint64_t base) {
  Counts c;
  std::uint64_t v = base;
  for (auto* f : {&c.offered, &c.answered, &c.answered_in_threshold, &c.abandoned,
                  &c.abandoned_in_threshold, &c.short_abandoned}) {
    *f = v++;
  }
  for (std::size_t i = 0; i < 5; ++i) c.unanswered[i] = v++;
  for (auto* f : {&c.completed, &c.transferred, &c.handled, &c.answered_wait_ms,
                  &c.abandoned_wait_ms, &c.handle_ms, &c.on_call_ms, &c.acw_ms, &c.ready_ms}) {
    *f = v++;
  }
  return c;
}

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : clock_(kDay + 10 * 3600 * kS) {}

  void Make(CoreConfig cfg = {}) { engine_ = std::make_unique<Engine>(std::move(cfg), clock_); }

  ApplyResult Call(std::int64_t t, CallKind kind, std::string_view queue, std::string_view id,
                   std::uint32_t wait_ms = 0, std::string_view site = "s1") {
    CallEvent c;
    c.kind = kind;
    c.queue = queue;
    c.call_id = id;
    c.wait_ms = wait_ms;
    return engine_->Apply(site, "i1", Event{++seq_, t, c});
  }

  ApplyResult Unanswered(std::int64_t t, std::string_view queue, UnansweredReason r,
                         std::uint32_t wait_ms) {
    CallEvent c;
    c.kind = CallKind::kUnanswered;
    c.queue = queue;
    const std::string id = "u" + std::to_string(seq_);
    c.call_id = id;
    c.reason = r;
    c.wait_ms = wait_ms;
    return engine_->Apply("s1", "i1", Event{++seq_, t, c});
  }

  ApplyResult State(std::int64_t t, std::string_view agent, AgentState s,
                    std::string_view queue = {}, std::string_view reason = {}) {
    AgentStateEvent e;
    e.agent = agent;
    e.queue = queue;
    e.state = s;
    e.reason = reason;
    return engine_->Apply("s1", "i1", Event{++seq_, t, e});
  }

  const QueueView& Queue(const Snapshot& s, std::string_view site, std::string_view queue) {
    for (const auto& q : s.queues) {
      if (q.site == site && q.queue == queue) return q;
    }
    ADD_FAILURE() << "queue " << queue << " not in snapshot";
    static QueueView none;
    return none;
  }

  FakeClock clock_;
  std::unique_ptr<Engine> engine_;
  std::uint64_t seq_ = 0;
};

TEST_F(EngineTest, CountsOutcomesWithThresholdAndShortAbandonBoundaries) {
  Make();
  const std::int64_t t = clock_.NowMs() - 5 * kMin;
  for (int i = 0; i < 7; ++i) Call(t, CallKind::kOffered, "billing", "c" + std::to_string(i));
  // An answer at exactly T (20 s) is within; 20.001 s is not.
  Call(t + 20 * kS, CallKind::kAnswered, "billing", "c0", 20'000);
  Call(t + 21 * kS, CallKind::kAnswered, "billing", "c1", 20'001);
  Call(t + 3 * kS, CallKind::kAnswered, "billing", "c2", 3'000);
  // Abandon at 4.999 s is short (below 5 s); at exactly 5 s it is not.
  Call(t + 5 * kS, CallKind::kAbandoned, "billing", "c3", 4'999);
  Call(t + 5 * kS, CallKind::kAbandoned, "billing", "c4", 5'000);
  Call(t + 40 * kS, CallKind::kAbandoned, "billing", "c5", 40'000);
  Unanswered(t + 60 * kS, "billing", UnansweredReason::kTimeout, 60'000);

  const Snapshot s = engine_->TakeSnapshot();
  const QueueView& q = Queue(s, "s1", "billing");
  EXPECT_EQ(q.client, "default");
  EXPECT_EQ(q.total.offered, 7u);
  EXPECT_EQ(q.total.answered, 3u);
  EXPECT_EQ(q.total.answered_in_threshold, 2u);
  EXPECT_EQ(q.total.abandoned, 3u);
  EXPECT_EQ(q.total.abandoned_in_threshold, 2u);
  EXPECT_EQ(q.total.short_abandoned, 1u);
  EXPECT_EQ(q.total.unanswered[static_cast<int>(UnansweredReason::kTimeout)], 1u);
  // Only c6 left the queue through "unanswered"; nobody is still waiting.
  EXPECT_EQ(q.calls_waiting, 1u);  // c6 was offered under id c6; the timeout had another id
  // standard: 2 / (3 + 3 + 1 - 1) = 1/3
  ASSERT_TRUE(ServiceLevel(q.windows[0], SlFormula::kStandard).has_value());
  EXPECT_DOUBLE_EQ(*ServiceLevel(q.windows[0], SlFormula::kStandard), 2.0 / 6.0);
  // abandon rate: (3 - 1) / (7 - 1)
  EXPECT_DOUBLE_EQ(*AbandonRate(q.windows[0]), 2.0 / 6.0);
  // ASA: (20 + 20.001 + 3) / 3
  EXPECT_DOUBLE_EQ(*AsaSeconds(q.windows[0]), 43.001 / 3.0);
  // Histogram: the 20 s bucket holds 20 s exactly, 20.001 s lands above it.
  std::size_t i20 = 0;
  while (s.wait_bounds_s[i20] != 20.0) ++i20;
  std::uint64_t le20 = 0;
  for (std::size_t i = 0; i <= i20; ++i) le20 += q.answered_wait.counts[i];
  EXPECT_EQ(le20, 2u);
  EXPECT_EQ(q.answered_wait.count, 3u);
}

TEST_F(EngineTest, CallsWaitingAndOldestWaitAreLive) {
  Make();
  const std::int64_t now = clock_.NowMs();
  Call(now - 50 * kS, CallKind::kOffered, "billing", "a");
  Call(now - 10 * kS, CallKind::kOffered, "billing", "b");
  auto s = engine_->TakeSnapshot();
  EXPECT_EQ(Queue(s, "s1", "billing").calls_waiting, 2u);
  EXPECT_DOUBLE_EQ(Queue(s, "s1", "billing").oldest_wait_s, 50.0);
  Call(now, CallKind::kAnswered, "billing", "a", 50'000);
  clock_.Advance(5 * kS);
  s = engine_->TakeSnapshot();
  EXPECT_EQ(Queue(s, "s1", "billing").calls_waiting, 1u);
  EXPECT_DOUBLE_EQ(Queue(s, "s1", "billing").oldest_wait_s, 15.0);
}

TEST_F(EngineTest, DuplicateSequenceNumbersAreDroppedAndGapsCounted) {
  Make();
  CallEvent c;
  c.kind = CallKind::kOffered;
  c.queue = "q";
  const std::int64_t t = clock_.NowMs();
  EXPECT_EQ(engine_->OpenStream("s1", "i1", "v"), 0u);
  EXPECT_EQ(engine_->Apply("s1", "i1", Event{1, t, c}).kind, ApplyResult::Kind::kAccepted);
  EXPECT_EQ(engine_->Apply("s1", "i1", Event{2, t, c}).kind, ApplyResult::Kind::kAccepted);
  EXPECT_EQ(engine_->Apply("s1", "i1", Event{2, t, c}).kind, ApplyResult::Kind::kDuplicate);
  EXPECT_EQ(engine_->Apply("s1", "i1", Event{1, t, c}).kind, ApplyResult::Kind::kDuplicate);
  EXPECT_EQ(engine_->Apply("s1", "i1", Event{5, t, c}).kind, ApplyResult::Kind::kAccepted);
  // Another instance of the same site has its own sequence space.
  EXPECT_EQ(engine_->Apply("s1", "i2", Event{1, t, c}).kind, ApplyResult::Kind::kAccepted);
  EXPECT_EQ(engine_->LastApplied("s1", "i1"), 5u);
  EXPECT_EQ(engine_->OpenStream("s1", "i1", "v"), 5u);
  const Snapshot s = engine_->TakeSnapshot();
  EXPECT_EQ(Queue(s, "s1", "q").total.offered, 4u);
  EXPECT_EQ(s.ingest.duplicate, 2u);
  EXPECT_EQ(s.ingest.sequence_gaps, 1u);
  EXPECT_EQ(s.ingest.accepted, 4u);
}

TEST_F(EngineTest, InvalidEventsConsumeTheirSequenceAndAreCountedByReason) {
  Make();
  const std::int64_t t = clock_.NowMs();
  EXPECT_EQ(Call(t, CallKind::kOffered, "", "x").reason, "missing_field");
  EXPECT_EQ(Call(t + 25 * 3600 * kS, CallKind::kOffered, "q", "x").reason, "future_timestamp");
  EXPECT_EQ(Call(t, CallKind::kOffered, std::string(500, 'q'), "x").reason, "bad_field");
  EXPECT_EQ(Call(t, CallKind::kOffered, "bad\nname", "x").reason, "bad_field");
  EXPECT_EQ(Unanswered(t, "q", UnansweredReason::kNone, 0).reason, "unknown_enum");
  EXPECT_TRUE(engine_->Reject("s1", "i1", ++seq_, "no_body"));
  EXPECT_FALSE(engine_->Reject("s1", "i1", seq_, "no_body"));
  const Snapshot s = engine_->TakeSnapshot();
  EXPECT_EQ(s.ingest.invalid_by_reason.at("missing_field"), 1u);
  EXPECT_EQ(s.ingest.invalid_by_reason.at("future_timestamp"), 1u);
  EXPECT_EQ(s.ingest.invalid_by_reason.at("bad_field"), 2u);
  EXPECT_EQ(s.ingest.invalid_by_reason.at("unknown_enum"), 1u);
  EXPECT_EQ(s.ingest.invalid_by_reason.at("no_body"), 1u);
  EXPECT_EQ(s.ingest.accepted, 0u);
  EXPECT_EQ(engine_->LastApplied("s1", "i1"), seq_);
}

// A site whose clock runs hours off either way keeps its calls: they count by their own
// stamps, and how far the PBX runs ahead is measured for ClockSkew. Only stamps beyond
// limits.max_future (24 h) are refused.
TEST_F(EngineTest, SkewedSiteClocksAreCountedAndPbxAheadIsMeasured) {
  Make();
  const std::int64_t t = clock_.NowMs();
  EXPECT_EQ(Call(t + 3 * 3600 * kS, CallKind::kOffered, "q", "ahead").kind,
            ApplyResult::Kind::kAccepted);
  Snapshot s = engine_->TakeSnapshot();
  EXPECT_EQ(Queue(s, "s1", "q").total.offered, 1u);
  ASSERT_EQ(s.sites.size(), 1u);
  EXPECT_EQ(s.sites[0].pbx_clock_ahead_ms, 0) << "one stamp ahead may be a glitch";
  EXPECT_EQ(Call(t + 3 * 3600 * kS, CallKind::kOffered, "q", "ahead2").kind,
            ApplyResult::Kind::kAccepted);
  s = engine_->TakeSnapshot();
  EXPECT_EQ(s.sites[0].pbx_clock_ahead_ms, 3 * 3600 * kS);
  EXPECT_EQ(Call(t - 3 * 3600 * kS, CallKind::kOffered, "q", "behind").kind,
            ApplyResult::Kind::kAccepted);
  s = engine_->TakeSnapshot();
  EXPECT_EQ(Queue(s, "s1", "q").total.offered, 3u);
  EXPECT_EQ(s.sites[0].pbx_clock_ahead_ms, 0) << "a stamp behind is not 'ahead'";
  EXPECT_EQ(Call(t + 24 * 3600 * kS + kS, CallKind::kOffered, "q", "absurd").reason,
            "future_timestamp");
  EXPECT_EQ(Queue(engine_->TakeSnapshot(), "s1", "q").total.offered, 3u);
}

TEST_F(EngineTest, QueueCapBoundsASite) {
  CoreConfig cfg;
  cfg.limits.max_queues_per_site = 3;
  Make(cfg);
  const std::int64_t t = clock_.NowMs();
  for (int i = 0; i < 10; ++i) Call(t, CallKind::kOffered, "q" + std::to_string(i), "c");
  Call(t, CallKind::kOffered, "other", "c", 0, "s2");
  const Snapshot s = engine_->TakeSnapshot();
  EXPECT_EQ(s.queues.size(), 4u);
  EXPECT_EQ(s.ingest.invalid_by_reason.at("queue_cap"), 7u);
}

TEST_F(EngineTest, ClientsClaimQueuesAndContractsApply) {
  CoreConfig cfg;
  ClientConfig acme;
  acme.name = "acme";
  QueueConfig q;
  q.name = "billing";
  q.contract.sl_threshold_s = 30;
  q.contract.sl_formula = SlFormula::kAnsweredOnly;
  acme.queues.push_back(q);
  cfg.clients.push_back(acme);
  Make(cfg);
  const std::int64_t t = clock_.NowMs();
  Call(t, CallKind::kOffered, "billing", "a");
  Call(t, CallKind::kAnswered, "billing", "a", 25'000);
  Call(t, CallKind::kOffered, "misc", "b");
  Call(t, CallKind::kAnswered, "misc", "b", 25'000);
  const Snapshot s = engine_->TakeSnapshot();
  EXPECT_EQ(Queue(s, "s1", "billing").client, "acme");
  EXPECT_EQ(Queue(s, "s1", "billing").total.answered_in_threshold, 1u);  // 25 s <= 30 s
  EXPECT_EQ(Queue(s, "s1", "misc").client, "default");
  EXPECT_EQ(Queue(s, "s1", "misc").total.answered_in_threshold, 0u);  // 25 s > 20 s
  // Histogram bounds include every configured threshold.
  EXPECT_NE(std::find(s.wait_bounds_s.begin(), s.wait_bounds_s.end(), 30.0), s.wait_bounds_s.end());
}

TEST_F(EngineTest, RollingWindowsKeepOnlyTheirMinutes) {
  Make();
  const std::int64_t now = clock_.NowMs();                   // 10:00:00 UTC, a minute boundary
  Call(now - 50 * kMin, CallKind::kOffered, "q", "a");       // only in 1h
  Call(now - 20 * kMin, CallKind::kOffered, "q", "b");       // 30m and 1h
  Call(now - 1 * kMin, CallKind::kOffered, "q", "c");        // all
  Call(now - 11 * 3600 * kS, CallKind::kOffered, "q", "d");  // yesterday? no: 23:00 UTC prev day
  const Snapshot s = engine_->TakeSnapshot();
  const QueueView& q = Queue(s, "s1", "q");
  EXPECT_EQ(q.windows[0].offered, 1u);  // 15m
  EXPECT_EQ(q.windows[1].offered, 2u);  // 30m
  EXPECT_EQ(q.windows[2].offered, 3u);  // 1h
  EXPECT_EQ(q.windows[3].offered, 3u);  // today (UTC): d was yesterday
  EXPECT_EQ(q.total.offered, 4u);
  clock_.Advance(16 * kMin);
  EXPECT_EQ(Queue(engine_->TakeSnapshot(), "s1", "q").windows[0].offered, 0u);
}

// The closed intervals of the contract's day so far, summed across the sites serving the
// queue: a liaison's per-interval table. Yesterday's rows and the open interval are not in it.
TEST_F(EngineTest, SnapshotHoldsTodaysClosedIntervalsAcrossSites) {
  CoreConfig cfg;
  cfg.sites.push_back({"pune", "Asia/Kolkata"});
  cfg.sites.push_back({"delhi", "Asia/Kolkata"});
  cfg.allowed_lateness_ms = 0;
  ClientConfig acme;
  acme.name = "acme";
  acme.queues.push_back({"billing", Contract{}, {}});
  cfg.clients.push_back(acme);
  Make(cfg);
  // 18:20 UTC the day before = 23:50 IST: yesterday's last interval (23:30 IST).
  const std::int64_t yesterday = kDay - (5 * 60 + 40) * kMin;
  // 04:40 UTC = 10:10 IST: the 10:00 IST interval.
  const std::int64_t t = kDay + (4 * 60 + 40) * kMin;
  clock_.Set(yesterday);
  std::string instance = "yesterday";  // an agent of its own: a 10-hour jump is an anomaly
  auto call = [&](const char* site, std::int64_t at, CallKind k, const std::string& id,
                  std::uint32_t wait) {
    CallEvent c;
    c.kind = k;
    c.queue = "billing";
    c.call_id = id;
    c.wait_ms = wait;
    return engine_->Apply(site, instance + site, Event{++seq_, at, c});
  };
  call("pune", yesterday, CallKind::kOffered, "y", 0);
  call("pune", yesterday + kS, CallKind::kAnswered, "y", 1'000);
  instance = "today";
  clock_.Set(t);
  // pune: 2 offered, both answered within 20 s; delhi: 2 offered, 1 within, 1 after 40 s.
  for (const char* site : {"pune", "delhi"}) {
    for (int i = 0; i < 2; ++i) {
      const std::string id = std::string(site) + std::to_string(i);
      const bool slow = std::string(site) == "delhi" && i == 1;
      call(site, t, CallKind::kOffered, id, 0);
      call(site, t + 5 * kS, CallKind::kAnswered, id, slow ? 40'000 : 5'000);
    }
  }
  // Both sites' event time passes 10:30 IST: the 10:00 row closes; 10:30 stays open.
  const std::int64_t next = kDay + (5 * 60 + 5) * kMin;
  clock_.Set(next);
  // (Two calls each: one call far ahead of an agent's timeline is held as a possible glitch.)
  for (const char* id : {"next1", "next2"}) {
    call("pune", next, CallKind::kOffered, std::string("p-") + id, 0);
    call("delhi", next, CallKind::kOffered, std::string("d-") + id, 0);
  }
  const Snapshot s = engine_->TakeSnapshot();
  ASSERT_EQ(s.client_queues.size(), 1u);
  const auto& days = s.client_queues[0].closed_today;
  ASSERT_EQ(days.size(), 1u);
  EXPECT_EQ(days[0].local_start, "10:00");
  EXPECT_EQ(days[0].start_ms, kDay + (4 * 60 + 30) * kMin);
  EXPECT_EQ(days[0].counts.offered, 4u);
  EXPECT_EQ(days[0].counts.answered_in_threshold, 3u);
  ASSERT_EQ(Queue(s, "delhi", "billing").closed_today.size(), 1u);
  EXPECT_EQ(Queue(s, "delhi", "billing").closed_today[0].counts.offered, 2u);
}

TEST_F(EngineTest, LedgerClosesIntervalsInTheSiteTimeZone) {
  CoreConfig cfg;
  cfg.sites.push_back({"pune", "Asia/Kolkata"});  // UTC+05:30
  cfg.allowed_lateness_ms = 2 * kMin;
  ClientConfig acme;
  acme.name = "acme";
  acme.queues.push_back({"billing", Contract{}, {}});
  cfg.clients.push_back(acme);
  Make(cfg);
  // 04:40 UTC = 10:10 IST: in the 10:00-10:30 IST interval, which is 04:30-05:00 UTC.
  const std::int64_t t = kDay + (4 * 60 + 40) * kMin;
  clock_.Set(t);
  auto call = [&](std::int64_t at, CallKind k, const char* id, std::uint32_t wait) {
    CallEvent c;
    c.kind = k;
    c.queue = "billing";
    c.call_id = id;
    c.wait_ms = wait;
    return engine_->Apply("pune", "i1", Event{++seq_, at, c});
  };
  // 5 calls: 4 answered (3 within 20 s), 1 abandoned after 30 s.
  for (const char* id : {"a", "b", "c", "d", "e"}) call(t, CallKind::kOffered, id, 0);
  call(t + 5 * kS, CallKind::kAnswered, "a", 5'000);
  call(t + 10 * kS, CallKind::kAnswered, "b", 10'000);
  call(t + 15 * kS, CallKind::kAnswered, "c", 15'000);
  call(t + 40 * kS, CallKind::kAnswered, "d", 40'000);
  call(t + 30 * kS, CallKind::kAbandoned, "e", 30'000);
  EXPECT_TRUE(engine_->Ledger("acme", "2026-11-26").empty());
  // Event time reaches 05:01 UTC: past the interval end but within the 2 min lateness.
  const std::int64_t end = kDay + 5 * 60 * kMin;
  call(end + 1 * kMin, CallKind::kOffered, "f", 0);
  EXPECT_TRUE(engine_->Ledger("acme", "2026-11-26").empty());
  // A late answer for the open interval still counts in it.
  call(end - 1 * kS, CallKind::kOffered, "g", 0);
  call(end + 3 * kMin, CallKind::kOffered, "h", 0);  // watermark passes end + lateness
  const auto rows = engine_->Ledger("acme", "2026-11-26");
  ASSERT_EQ(rows.size(), 1u);
  const LedgerRow& r = rows[0];
  EXPECT_EQ(r.site, "pune");
  EXPECT_EQ(r.LocalTime(), "10:00");
  EXPECT_EQ(r.LocalStart(), "2026-11-26T10:00+05:30");
  EXPECT_EQ(r.start_ms, kDay + (4 * 60 + 30) * kMin);
  EXPECT_EQ(r.counts.offered, 6u);
  EXPECT_EQ(r.counts.answered, 4u);
  EXPECT_EQ(r.counts.answered_in_threshold, 3u);
  // standard SL = 3 / (4 + 1) = 60% < 80%: missed. Abandon 1/6 > 5%: missed. ASA 17.5 s: met.
  EXPECT_EQ(r.SlResult(), Judgement::kMissed);
  EXPECT_EQ(r.AbandonResult(), Judgement::kMissed);
  EXPECT_EQ(r.AsaResult(), Judgement::kMet);
  const auto first = engine_->DrainLedger();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].revision, 1u);
  EXPECT_EQ(first[0].change, RowChange::kClosed);
  // An outcome for the closed interval now is late: it amends the row (revision 2).
  call(end - 2 * kMin, CallKind::kOffered, "late", 0);
  EXPECT_EQ(engine_->TakeSnapshot().ingest.late, 1u);
  EXPECT_EQ(engine_->Ledger("acme", "2026-11-26")[0].counts.offered, 7u);
  const auto amended = engine_->DrainLedger();
  ASSERT_EQ(amended.size(), 1u);
  EXPECT_EQ(amended[0].revision, 2u);
  EXPECT_EQ(amended[0].change, RowChange::kAmended);
  EXPECT_EQ(amended[0].change_events, 1u);
  EXPECT_EQ(amended[0].late_events, 1u);
  EXPECT_EQ(amended[0].counts.offered, 7u);
  EXPECT_TRUE(engine_->DrainLedger().empty());
  // The live counter counts first closes: the row's judgement at close.
  EXPECT_EQ(Queue(engine_->TakeSnapshot(), "pune", "billing").ledger_missed, 1u);
  EXPECT_TRUE(engine_->Ledger("other", "2026-11-26").empty());
}

// One offered call at `at_ms` at `site`, then a heartbeat an hour later closes its interval;
// returns the interval's ledger row.
struct AlignCase {
  const char* site;
  const char* tz;
  int interval_minutes;
  std::int64_t at_ms;
  std::int64_t want_start_ms;
  const char* want_local_start;
  const char* want_local_date;
};

class IntervalAlignmentTest : public ::testing::TestWithParam<AlignCase> {};

TEST_P(IntervalAlignmentTest, StartsOnTheSiteLocalClock) {
  const AlignCase& c = GetParam();
  CoreConfig cfg;
  cfg.sites.push_back({c.site, c.tz});
  cfg.default_contract.interval_minutes = c.interval_minutes;
  FakeClock clock(c.at_ms);
  Engine e(cfg, clock);
  CallEvent call;
  call.kind = CallKind::kOffered;
  call.queue = "q";
  e.Apply(c.site, "i", Event{1, c.at_ms, call});
  // An hour on with the PBX quiet: the site's clock has passed the row, which closes.
  clock.Set(c.at_ms + 3600 * kS);
  e.Tick();
  const auto rows = e.Ledger("", c.want_local_date);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].start_ms, c.want_start_ms);
  EXPECT_EQ(rows[0].LocalTime(), c.want_local_start);
  EXPECT_EQ(rows[0].length_minutes, c.interval_minutes);
}

INSTANTIATE_TEST_SUITE_P(
    Zones, IntervalAlignmentTest,
    ::testing::Values(
        // Manila, UTC+8 all year: 01:47 UTC is 09:47 local, interval 09:30 = 01:30 UTC.
        AlignCase{"manila", "Asia/Manila", 30, 1795657620000, 1795656600000, "09:30", "2026-11-26"},
        // Bogota, UTC-5: 15:10 UTC is 10:10 local, interval 10:00 = 15:00 UTC.
        AlignCase{"bogota", "America/Bogota", 30, 1795705800000, 1795705200000, "10:00",
                  "2026-11-26"},
        // Pune, UTC+5:30, hourly intervals: 01:47 UTC is 07:17 IST, interval 07:00 = 01:30 UTC.
        AlignCase{"pune", "Asia/Kolkata", 60, 1795657620000, 1795656600000, "07:00", "2026-11-26"},
        // New York falls back on 2026-11-01 at 02:00 EDT: 01:00-01:30 happens twice.
        // 05:20 UTC is 01:20 EDT (UTC-4): interval 01:00 EDT = 05:00 UTC.
        AlignCase{"ny", "America/New_York", 30, 1793510400000, 1793509200000, "01:00",
                  "2026-11-01"},
        // 06:20 UTC is 01:20 EST (UTC-5): interval 01:00 EST = 06:00 UTC, same local label.
        AlignCase{"ny", "America/New_York", 30, 1793514000000, 1793512800000, "01:00",
                  "2026-11-01"},
        // Springs forward on 2026-03-08 at 02:00 EST: 07:10 UTC is 03:10 EDT, interval 03:00
        // EDT = 07:00 UTC; 06:50 UTC is 01:50 EST, interval 01:30 EST = 06:30 UTC.
        AlignCase{"ny", "America/New_York", 30, 1772953800000, 1772953200000, "03:00",
                  "2026-03-08"},
        AlignCase{"ny", "America/New_York", 30, 1772952600000, 1772951400000, "01:30",
                  "2026-03-08"}));

TEST_F(EngineTest, EmptyWindowsHaveNoRatios) {
  Make();
  Call(clock_.NowMs() - 2 * 3600 * kS, CallKind::kOffered, "q", "old");  // outside every window
  const Snapshot snap_q = engine_->TakeSnapshot();
  const QueueView& q = Queue(snap_q, "s1", "q");
  for (const Counts& w : q.windows) {
    EXPECT_FALSE(ServiceLevel(w, SlFormula::kStandard).has_value());
    EXPECT_FALSE(AsaSeconds(w).has_value());
  }
}

TEST_F(EngineTest, ClientLevelSumsCountsAcrossSitesBeforeTakingRatios) {
  Make();
  const std::int64_t t = clock_.NowMs() - kMin;
  // manila: 4 answered, 3 within 20 s; pune: 1 answered (late) and 1 abandoned after 30 s.
  for (int i = 0; i < 4; ++i) {
    const std::string id = "m" + std::to_string(i);
    Call(t, CallKind::kOffered, "billing", id, 0, "manila");
    Call(t, CallKind::kAnswered, "billing", id, i < 3 ? 10'000 : 40'000, "manila");
  }
  Call(t, CallKind::kOffered, "billing", "p1", 0, "pune");
  Call(t, CallKind::kAnswered, "billing", "p1", 50'000, "pune");
  Call(t, CallKind::kOffered, "billing", "p2", 0, "pune");
  Call(t, CallKind::kOffered, "billing", "p3", 0, "pune");
  Call(t, CallKind::kAbandoned, "billing", "p2", 30'000, "pune");
  const Snapshot s = engine_->TakeSnapshot();
  ASSERT_EQ(s.client_queues.size(), 1u);
  const QueueView& c = s.client_queues[0];
  EXPECT_EQ(c.site, "");
  EXPECT_EQ(c.total.offered, 7u);
  // standard SL across sites: 3 / (5 + 1) = 0.5 (the mean of the two sites' SL would be 0.375)
  EXPECT_DOUBLE_EQ(*ServiceLevel(c.windows[0], SlFormula::kStandard), 0.5);
  EXPECT_EQ(c.calls_waiting, 1u);  // p3
  EXPECT_DOUBLE_EQ(c.oldest_wait_s, 60.0);
}

TEST_F(EngineTest, CheckpointRoundTripRestoresEverything) {
  CoreConfig cfg;
  cfg.sites.push_back({"s1", "Asia/Manila"});
  Make(cfg);
  const std::int64_t t = clock_.NowMs() - 40 * kMin;
  State(t, "ann", AgentState::kReady, "billing");
  for (int i = 0; i < 30; ++i) {
    const std::string id = "c" + std::to_string(i);
    Call(t + i * kMin, CallKind::kOffered, "billing", id);
    if (i % 4 == 0) {
      Call(t + i * kMin + 30 * kS, CallKind::kAbandoned, "billing", id, 30'000);
    } else if (i < 28) {
      Call(t + i * kMin + 10 * kS, CallKind::kAnswered, "billing", id, 10'000 + i * 500);
    }
  }
  LinkSample l;
  l.link = "wan";
  l.rtt_ms = 41;
  engine_->Apply("s1", "i1", Event{++seq_, clock_.NowMs(), l});
  engine_->Tick();
  const EngineState saved = engine_->ExportState();
  const Snapshot before = engine_->TakeSnapshot();
  const auto ledger_before = engine_->Ledger("", "");

  Engine restored(cfg, clock_);
  std::string err;
  ASSERT_TRUE(restored.ImportState(saved, &err)) << err;
  // It exports what was imported: rows, ring, agents, links, dedupe state and counters.
  EXPECT_TRUE(restored.ExportState() == saved);
  const Snapshot after = restored.TakeSnapshot();
  ASSERT_EQ(after.queues.size(), before.queues.size());
  const QueueView& a = after.queues[0];
  const QueueView& b = before.queues[0];
  EXPECT_EQ(a.total, b.total);
  for (std::size_t i = 0; i < a.windows.size(); ++i) EXPECT_EQ(a.windows[i], b.windows[i]) << i;
  EXPECT_EQ(a.interval, b.interval);
  EXPECT_EQ(a.answered_wait.counts, b.answered_wait.counts);
  EXPECT_EQ(a.calls_waiting, b.calls_waiting);
  EXPECT_EQ(a.agents_by_state, b.agents_by_state);
  EXPECT_EQ(after.links.size(), 1u);
  EXPECT_EQ(after.ingest.accepted, before.ingest.accepted);
  ASSERT_EQ(restored.Ledger("", "").size(), ledger_before.size());
  EXPECT_EQ(restored.Ledger("", "")[0].counts, ledger_before[0].counts);
  // Dedupe state survives: the same sequence numbers are duplicates after a restart.
  EXPECT_EQ(restored.LastApplied("s1", "i1"), seq_);
  CallEvent c;
  c.kind = CallKind::kOffered;
  c.queue = "billing";
  EXPECT_EQ(restored.Apply("s1", "i1", Event{seq_, clock_.NowMs(), c}).kind,
            ApplyResult::Kind::kDuplicate);
  // With a distinct value in every field, an import exports exactly what it was given.
  EngineState distinct = saved;
  testing::FillDistinct(&distinct);
  Engine filled(cfg, clock_);
  ASSERT_TRUE(filled.ImportState(distinct, &err)) << err;
  EXPECT_TRUE(filled.ExportState() == distinct);
  // A checkpoint of the restored engine restores to the same figures again.
  Engine again(cfg, clock_);
  ASSERT_TRUE(again.ImportState(restored.ExportState(), &err)) << err;
  EXPECT_TRUE(again.TakeSnapshot().queues[0].total == b.total);
}

TEST_F(EngineTest, DamagedCheckpointIsRefusedAndStateKept) {
  Make();
  Call(clock_.NowMs(), CallKind::kOffered, "q", "a");
  std::string err;
  EXPECT_FALSE(engine_->LoadLegacyState("garbage", &err));
  EXPECT_NE(err.find("not a ccmon engine checkpoint"), std::string::npos) << err;
  std::string header(12, '\0');
  const std::uint32_t magic = 0x43434d53, version = 9;
  std::memcpy(header.data(), &magic, 4);
  std::memcpy(header.data() + 4, &version, 4);
  EXPECT_FALSE(engine_->LoadLegacyState(header, &err));
  EXPECT_NE(err.find("version 9"), std::string::npos) << err;
  // An agent in a state this build does not know (a newer build's) and a link whose figures
  // are not numbers are left out; the rest of the state loads.
  EngineState state = engine_->ExportState();
  state.sites[0].agents.push_back(
      {"ann", static_cast<AgentState>(42), false, AgentState::kNotReady, 0, {}});
  state.sites[0].links.push_back({"wan", true, std::nan(""), 0, 0, clock_.NowMs()});
  ASSERT_TRUE(engine_->ImportState(state, &err)) << err;
  const EngineState back = engine_->ExportState();
  EXPECT_TRUE(back.sites[0].agents.empty());
  EXPECT_TRUE(back.sites[0].links.empty());
  EXPECT_EQ(Queue(engine_->TakeSnapshot(), "s1", "q").total.offered, 1u);
}

// A checkpoint written by the previous format (version 2: closed intervals in one list, one
// watermark per site) loads: its closed interval becomes a closed row drained once more (so the
// store gets it), its open interval an open row, and dedupe state carries on.
TEST_F(EngineTest, ACheckpointOfTheFormerFormatLoads) {
  std::string b;
  auto pod = [&](const auto& v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); };
  auto str = [&](std::string_view v) {
    pod(static_cast<std::uint32_t>(v.size()));
    b.append(v);
  };
  const std::int64_t closed_start = kDay + 8 * 3600 * kS, open_start = closed_start + 30 * kMin;
  Counts closed_counts;
  closed_counts.offered = 12;
  closed_counts.answered = 10;
  closed_counts.answered_in_threshold = 9;
  Counts open_counts;
  open_counts.offered = 3;
  pod(std::uint32_t{0x43434d53});
  pod(std::uint32_t{2});
  pod(static_cast<std::uint32_t>(sizeof(CountsV1)));  // the counts of that time
  for (int i = 0; i < 6; ++i) pod(std::uint64_t{0});  // ingest stats
  pod(std::uint32_t{0});                              // invalid reasons
  pod(std::uint32_t{1});                              // ledger entries
  str("default");
  str("s1");
  str("q");
  pod(closed_start);
  pod(int{30});
  str("2026-11-26");
  str("08:00");
  pod(Contract{});
  pod(OldLayout(closed_counts));
  for (int i = 0; i < 3; ++i) pod(std::uint8_t{1});
  pod(std::uint32_t{1});  // sites
  str("s1");
  pod(clock_.NowMs());          // last seen
  pod(open_start + 10 * kMin);  // watermark
  pod(std::int64_t{0});         // skew
  pod(std::uint64_t{0});        // backlog
  pod(std::uint64_t{0});        // dropped
  pod(std::uint32_t{0});        // heartbeat interval
  str("i1");
  str("0.1.0");
  pod(std::uint32_t{1});
  str("i1");
  pod(std::uint64_t{7});
  pod(std::uint32_t{1});  // queues
  str("q");
  pod(OldLayout(closed_counts));  // total
  struct Bucket {
    std::int64_t minute = std::numeric_limits<std::int64_t>::min();
    CountsV1 counts;
    std::uint64_t mos_milli_sum = 0, mos_samples = 0;
  };
  for (int i = 0; i < 60; ++i) pod(Bucket{});
  pod(std::int64_t{0});  // today's day
  pod(CountsV1{});
  pod(std::uint32_t{1});  // open intervals
  pod(open_start);
  pod(OldLayout(open_counts));
  for (int h = 0; h < 3; ++h) {  // histograms with no bounds (ignored: bounds differ)
    pod(std::uint32_t{0});
    pod(std::uint64_t{0});
    pod(std::uint64_t{0});
  }
  pod(std::uint32_t{0});  // waiting
  pod(std::uint64_t{1});  // ledger met
  pod(std::uint64_t{0});
  pod(std::array<std::uint64_t, kAgentStateCount>{});
  pod(std::uint32_t{0});  // abandoned
  pod(std::uint32_t{0});  // agents
  pod(std::uint32_t{0});  // links

  Make();
  std::string err;
  ASSERT_TRUE(engine_->LoadLegacyState(b, &err)) << err;
  EXPECT_EQ(engine_->LastApplied("s1", "i1"), 7u);
  const auto drained = engine_->DrainLedger();
  ASSERT_EQ(drained.size(), 1u);
  EXPECT_EQ(drained[0].start_ms, closed_start);
  EXPECT_EQ(drained[0].counts, closed_counts);
  EXPECT_EQ(drained[0].revision, 1u);
  // The open interval is still open, and takes the next event of its interval.
  EXPECT_EQ(engine_->Ledger("", "").size(), 1u);
  CallEvent c;
  c.kind = CallKind::kOffered;
  c.queue = "q";
  ASSERT_EQ(engine_->Apply("s1", "i1", Event{8, open_start + kMin, c}).kind,
            ApplyResult::Kind::kAccepted);
  // The site's clock passes the open row: it closes with the old and the new offer.
  clock_.Set(open_start + 2 * 3600 * kS);
  engine_->Tick();
  const auto rows = engine_->Ledger("", "");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].start_ms, open_start);
  EXPECT_EQ(rows[1].counts.offered, 4u);
}

// A version 3 checkpoint of the counter layout before `lost` and the unknown-wait counters
// (the previous build's) loads: every count lands in its field (each has its own value), the
// new ones start at 0, and the state goes on counting and saves in the current layout.
TEST_F(EngineTest, ACheckpointOfThePreviousCounterLayoutLoads) {
  std::string b;
  auto pod = [&](const auto& v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); };
  auto str = [&](std::string_view v) {
    pod(static_cast<std::uint32_t>(v.size()));
    b.append(v);
  };
  const std::int64_t now = clock_.NowMs();  // 10:00 UTC
  const std::int64_t closed_start = kDay + 8 * 3600 * kS, open_start = kDay + 9 * 3600 * kS;
  const Counts total = Distinct(1000), today = Distinct(2000), minute = Distinct(3000),
               closed = Distinct(4000);
  Counts open;
  open.offered = 3;
  pod(std::uint32_t{0x43434d53});
  pod(std::uint32_t{3});
  pod(static_cast<std::uint32_t>(sizeof(CountsV1)));
  for (int i = 0; i < 6; ++i) pod(std::uint64_t{0});  // ingest stats
  pod(std::uint32_t{0});                              // invalid reasons
  for (int i = 0; i < 3; ++i) pod(std::uint64_t{0});  // anomalies, amendments, too old
  pod(std::uint32_t{1});                              // sites
  str("s1");
  pod(now);                     // last seen
  pod(open_start + 10 * kMin);  // event watermark
  pod(open_start + 10 * kMin);  // close watermark
  pod(std::int64_t{0});         // skew
  pod(std::uint64_t{0});        // backlog
  pod(std::uint64_t{0});        // dropped
  pod(std::uint32_t{0});        // heartbeat interval
  str("i1");
  str("0.1.0");
  pod(std::uint32_t{1});  // instances
  str("i1");
  pod(std::uint64_t{7});
  pod(open_start + 10 * kMin);
  pod(std::array<std::int64_t, 8>{});
  pod(std::uint32_t{0});
  pod(std::uint64_t{0});
  pod(std::uint32_t{1});  // queues
  str("q");
  pod(OldLayout(total));
  struct Bucket {
    std::int64_t minute = std::numeric_limits<std::int64_t>::min();
    CountsV1 counts;
    std::uint64_t mos_milli_sum = 0, mos_samples = 0;
  };
  const std::int64_t m = now / kMin - 2;  // two minutes ago: in every window
  for (std::int64_t i = 0; i < 60; ++i) {
    Bucket bucket;
    if (i == m % 60) {
      bucket.minute = m;
      bucket.counts = OldLayout(minute);
      bucket.mos_milli_sum = 4000;
      bucket.mos_samples = 1;
    }
    pod(bucket);
  }
  pod(now / (24 * 3600 * kS));  // today (UTC site)
  pod(OldLayout(today));
  pod(std::uint32_t{2});  // rows
  for (const auto& [start, counts, flags] : {std::tuple{closed_start, closed, std::uint8_t{1}},
                                             std::tuple{open_start, open, std::uint8_t{0}}}) {
    pod(start);
    pod(OldLayout(counts));
    pod(std::uint64_t{0});                                         // late
    pod(std::uint64_t{0});                                         // rebuilt
    pod(std::uint64_t{0});                                         // pending late
    pod(flags != 0 ? closed_start + 35 * kMin : std::int64_t{0});  // closed
    pod(flags != 0 ? closed_start + 35 * kMin : std::int64_t{0});  // changed
    pod(std::uint32_t{flags});                                     // revision
    pod(flags);
  }
  for (int h = 0; h < 3; ++h) {  // histograms with no bounds (ignored: bounds differ)
    pod(std::uint32_t{0});
    pod(std::uint64_t{0});
    pod(std::uint64_t{0});
  }
  pod(std::uint32_t{0});  // waiting
  pod(std::uint64_t{1});  // ledger met
  pod(std::uint64_t{0});
  pod(std::array<std::uint64_t, kAgentStateCount>{});
  pod(std::uint32_t{0});  // abandoned
  pod(std::uint32_t{0});  // agents
  pod(std::uint32_t{0});  // links

  Make();
  std::string err;
  // Cut anywhere, it is refused as damaged.
  EXPECT_FALSE(engine_->LoadLegacyState(b.substr(0, b.size() / 2), &err));
  EXPECT_NE(err.find("truncated or damaged"), std::string::npos) << err;
  ASSERT_TRUE(engine_->LoadLegacyState(b, &err)) << err;
  EXPECT_EQ(engine_->LastApplied("s1", "i1"), 7u);
  const std::size_t lost = static_cast<std::size_t>(UnansweredReason::kLost);
  const auto rows = engine_->Ledger("", "");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].start_ms, closed_start);
  EXPECT_EQ(rows[0].counts, closed);
  EXPECT_EQ(rows[0].counts.unanswered[static_cast<std::size_t>(UnansweredReason::kWithdraw)],
            4010u);
  EXPECT_EQ(rows[0].counts.completed, 4011u);
  EXPECT_EQ(rows[0].counts.ready_ms, 4019u);
  EXPECT_EQ(rows[0].counts.unanswered[lost], 0u);
  EXPECT_EQ(rows[0].counts.answered_wait_unknown, 0u);
  EXPECT_EQ(rows[0].counts.abandoned_wait_unknown, 0u);
  const Snapshot s = engine_->TakeSnapshot();
  const QueueView& q = Queue(s, "s1", "q");
  EXPECT_EQ(q.total, total);
  EXPECT_EQ(q.windows[0], minute);  // 15m
  EXPECT_EQ(q.windows[3], today);
  ASSERT_TRUE(q.mos_5m.has_value());
  EXPECT_DOUBLE_EQ(*q.mos_5m, 4.0);

  // It counts on: an abandon of unknown wait in the open row, which then closes.
  CallEvent c;
  c.kind = CallKind::kAbandoned;
  c.queue = "q";
  c.call_id = "x";
  c.wait_unknown = true;
  ASSERT_EQ(engine_->Apply("s1", "i1", Event{8, open_start + 20 * kMin, c}).kind,
            ApplyResult::Kind::kAccepted);
  clock_.Set(open_start + 2 * 3600 * kS);
  engine_->Tick();
  const auto after = engine_->Ledger("", "");
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[1].start_ms, open_start);
  EXPECT_EQ(after[1].counts.offered, 3u);
  EXPECT_EQ(after[1].counts.abandoned, 1u);
  EXPECT_EQ(after[1].counts.abandoned_wait_unknown, 1u);
  // Saved again, in the current layout, it reads back the same.
  Engine again(CoreConfig{}, clock_);
  ASSERT_TRUE(again.ImportState(engine_->ExportState(), &err)) << err;
  EXPECT_EQ(again.Ledger("", "")[1].counts, after[1].counts);
  EXPECT_EQ(Queue(again.TakeSnapshot(), "s1", "q").total,
            Queue(engine_->TakeSnapshot(), "s1", "q").total);

  // A counter layout of neither size is refused, naming it.
  std::string odd = b;
  const std::uint32_t size = 168;
  std::memcpy(odd.data() + 8, &size, sizeof size);
  EXPECT_FALSE(again.LoadLegacyState(odd, &err));
  EXPECT_NE(err.find("counter layout (168 bytes"), std::string::npos) << err;
}

// Answered and abandoned calls whose wait the source did not give count in volume and in the
// abandon rate, never within T or short, and in no wait sum or histogram. T = 20 s, short
// abandon 5 s (defaults). Five calls offered:
//   c0 answered after 10 s       answered, in T, wait 10 s
//   c1 answered, wait unknown    answered, answered_wait_unknown (its wait_ms 0 means nothing)
//   c2 abandoned, wait unknown   abandoned, abandoned_wait_unknown: not in T, not short
//   c3 abandoned after 3 s       abandoned, in T, short, wait 3 s
//   c4 lost (600 s)              unanswered, reason lost
// standard SL = 1 / ((2 - 1) + (2 - 1) + 1 - 1) = 1/2 (it would have been 2/3 reading c1 and c2
// as 0 s waits); abandon rate = (2 - 1) / (5 - 1) = 1/4 (c2 is a real abandon); ASA = 10 s / 1.
TEST_F(EngineTest, UnknownWaitsCountInVolumeButInNoWaitFigure) {
  Make();
  const std::int64_t t = clock_.NowMs() - 5 * kMin;
  for (int i = 0; i < 5; ++i) Call(t, CallKind::kOffered, "billing", "c" + std::to_string(i));
  auto outcome = [&](CallKind kind, std::string_view id, std::uint32_t wait_ms, bool unknown,
                     UnansweredReason reason = UnansweredReason::kNone) {
    CallEvent c;
    c.kind = kind;
    c.queue = "billing";
    c.call_id = id;
    c.wait_ms = wait_ms;
    c.wait_unknown = unknown;
    c.reason = reason;
    return engine_->Apply("s1", "i1", Event{++seq_, t + 30 * kS, c}).kind;
  };
  ASSERT_EQ(outcome(CallKind::kAnswered, "c0", 10'000, false), ApplyResult::Kind::kAccepted);
  ASSERT_EQ(outcome(CallKind::kAnswered, "c1", 0, true), ApplyResult::Kind::kAccepted);
  ASSERT_EQ(outcome(CallKind::kAbandoned, "c2", 0, true), ApplyResult::Kind::kAccepted);
  ASSERT_EQ(outcome(CallKind::kAbandoned, "c3", 3'000, false), ApplyResult::Kind::kAccepted);
  ASSERT_EQ(outcome(CallKind::kUnanswered, "c4", 600'000, false, UnansweredReason::kLost),
            ApplyResult::Kind::kAccepted);

  const Snapshot s = engine_->TakeSnapshot();
  const QueueView& q = Queue(s, "s1", "billing");
  Counts want;
  want.offered = 5;
  want.answered = 2;
  want.answered_in_threshold = 1;
  want.answered_wait_unknown = 1;
  want.abandoned = 2;
  want.abandoned_in_threshold = 1;
  want.abandoned_wait_unknown = 1;
  want.short_abandoned = 1;
  want.unanswered[static_cast<std::size_t>(UnansweredReason::kLost)] = 1;
  want.answered_wait_ms = 10'000;
  want.abandoned_wait_ms = 3'000;
  EXPECT_EQ(q.total, want);
  EXPECT_EQ(q.windows[0], want);
  EXPECT_EQ(q.calls_waiting, 0u);
  EXPECT_DOUBLE_EQ(*ServiceLevel(q.total, SlFormula::kStandard), 1.0 / 2.0);
  EXPECT_DOUBLE_EQ(*AbandonRate(q.total), 1.0 / 4.0);
  EXPECT_DOUBLE_EQ(*AsaSeconds(q.total), 10.0);
  // Only the known waits are observed.
  EXPECT_EQ(q.answered_wait.count, 1u);
  EXPECT_DOUBLE_EQ(q.answered_wait.sum_seconds, 10.0);
  EXPECT_EQ(q.abandoned_wait.count, 1u);
  EXPECT_DOUBLE_EQ(q.abandoned_wait.sum_seconds, 3.0);

  // The ledger row carries the same terms.
  clock_.Advance(2 * 3600 * kS);
  engine_->Tick();
  const auto rows = engine_->Ledger("", "");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].counts, want);
}

TEST_F(EngineTest, ReplayGivesTheSameLedgerAsLive) {
  // The same events, applied once in order and once in one batch long after, close into the
  // same ledger rows because closing follows event time, not arrival time.
  auto run = [&](std::int64_t clock_at_apply) {
    FakeClock clock(clock_at_apply);
    Engine e(CoreConfig{}, clock);
    std::uint64_t seq = 0;
    for (int i = 0; i < 120; ++i) {
      CallEvent c;
      c.kind = i % 3 == 2 ? CallKind::kAbandoned : CallKind::kAnswered;
      c.queue = "q";
      c.wait_ms = static_cast<std::uint32_t>((i * 7919) % 45'000);
      e.Apply("s", "i", Event{++seq, kDay + i * 2 * kMin, c});
    }
    // The PBX goes quiet: a minute on, rows the site's clock has passed close.
    clock.Advance(kMin);
    e.Tick();
    return e.Ledger("", "2026-11-26");
  };
  const auto live = run(kDay + 4 * 3600 * kS + 10 * kMin);
  const auto replay = run(kDay + 30 * 24 * 3600 * kS);
  ASSERT_EQ(live.size(), 8u);  // 4 h of calls in 30-min intervals
  ASSERT_EQ(replay.size(), live.size());
  for (std::size_t i = 0; i < live.size(); ++i) {
    EXPECT_EQ(live[i].start_ms, replay[i].start_ms);
    EXPECT_EQ(live[i].counts, replay[i].counts);
    EXPECT_EQ(live[i].SlResult(), replay[i].SlResult());
  }
}

TEST_F(EngineTest, AgentsByStateFollowMemberAndCallEvents) {
  Make();
  const std::int64_t t = clock_.NowMs() - 10 * kMin;
  State(t, "ann", AgentState::kReady, "billing");
  State(t, "bob", AgentState::kReady, "billing");
  State(t, "bob", AgentState::kReady, "sales");
  State(t + kMin, "bob", AgentState::kNotReady);  // paused on every queue
  auto s = engine_->TakeSnapshot();
  const auto ready = static_cast<int>(AgentState::kReady);
  const auto not_ready = static_cast<int>(AgentState::kNotReady);
  const auto on_call = static_cast<int>(AgentState::kOnCall);
  EXPECT_EQ(Queue(s, "s1", "billing").agents_by_state[ready], 1u);
  EXPECT_EQ(Queue(s, "s1", "billing").agents_by_state[not_ready], 1u);
  EXPECT_EQ(Queue(s, "s1", "sales").agents_by_state[not_ready], 1u);
  // Ann answers: on call; completion returns her to ready.
  CallEvent c;
  c.kind = CallKind::kAnswered;
  c.queue = "billing";
  c.call_id = "x";
  c.agent = "ann";
  engine_->Apply("s1", "i1", Event{++seq_, t + 2 * kMin, c});
  s = engine_->TakeSnapshot();
  EXPECT_EQ(Queue(s, "s1", "billing").agents_by_state[on_call], 1u);
  EXPECT_EQ(Queue(s, "s1", "billing").agents_by_state[ready], 0u);
  c.kind = CallKind::kCompleted;
  c.talk_ms = 120'000;
  engine_->Apply("s1", "i1", Event{++seq_, t + 4 * kMin, c});
  State(t + 5 * kMin, "bob", AgentState::kLoggedOut, "sales");
  s = engine_->TakeSnapshot();
  EXPECT_EQ(Queue(s, "s1", "billing").agents_by_state[ready], 1u);
  EXPECT_EQ(Queue(s, "s1", "billing").agents_by_state[on_call], 0u);
  EXPECT_EQ(Queue(s, "s1", "sales").agents_by_state[not_ready], 0u);
  EXPECT_EQ(Queue(s, "s1", "billing").agents_by_state[not_ready], 1u);
  // Billing ready time: Ann 2 min before her call, Bob 1 min before his pause; on call: Ann
  // 2 min. Occupancy 2 / (2 + 3). AHT = 120 s.
  const QueueView& b = Queue(s, "s1", "billing");
  EXPECT_EQ(b.agent_state_ms[on_call], 2 * 60'000u);
  EXPECT_DOUBLE_EQ(*AhtSeconds(b.windows[0]), 120.0);
  EXPECT_DOUBLE_EQ(*Occupancy(b.windows[0]), 120.0 / 300.0);
}

// States that follow a call from the queue_log reader: a wrap-up pause set during the call
// changes what the agent returns to, not the call; "ccmon:call-end" ends the call on the
// roster before its completed event (held for after-call work) arrives; states that follow a
// call do not bring back an agent that logged out during it.
TEST_F(EngineTest, StatesThatFollowACall) {
  Make();
  const std::int64_t t = clock_.NowMs() - 10 * kMin;
  const auto ready = static_cast<int>(AgentState::kReady);
  const auto on_call = static_cast<int>(AgentState::kOnCall);
  const auto acw = static_cast<int>(AgentState::kAfterCallWork);
  State(t, "ann", AgentState::kReady, "billing");
  CallEvent c;
  c.kind = CallKind::kAnswered;
  c.queue = "billing";
  c.call_id = "x";
  c.agent = "ann";
  engine_->Apply("s1", "i1", Event{++seq_, t + kMin, c});
  State(t + 2 * kMin, "ann", AgentState::kAfterCallWork, {}, "Wrapup");  // desktop, mid-call
  auto s = engine_->TakeSnapshot();
  EXPECT_EQ(Queue(s, "s1", "billing").agents_by_state[on_call], 1u);
  // The call ends at 3 min: the reader says so at once; the completed event comes at 4 min.
  State(t + 3 * kMin, "ann", AgentState::kAfterCallWork, {}, kReasonCallEnd);
  s = engine_->TakeSnapshot();
  EXPECT_EQ(Queue(s, "s1", "billing").agents_by_state[acw], 1u);
  c.kind = CallKind::kCompleted;
  c.talk_ms = 120'000;
  c.acw_ms = 60'000;
  engine_->Apply("s1", "i1", Event{++seq_, t + 4 * kMin, c});
  State(t + 4 * kMin, "ann", AgentState::kReady);
  s = engine_->TakeSnapshot();
  EXPECT_EQ(Queue(s, "s1", "billing").agents_by_state[ready], 1u);
  // State time: ready 1 min, on call 2 min (the pause did not cut the talk), ACW 1 min.
  const QueueView& b = Queue(s, "s1", "billing");
  EXPECT_EQ(b.agent_state_ms[ready], 60'000u);
  EXPECT_EQ(b.agent_state_ms[on_call], 2 * 60'000u);
  EXPECT_EQ(b.agent_state_ms[acw], 60'000u);
  // A completed event with no state of its own returns a paused agent to the pause's state.
  c.kind = CallKind::kAnswered;
  c.call_id = "y";
  engine_->Apply("s1", "i1", Event{++seq_, t + 5 * kMin, c});
  State(t + 5 * kMin + kS, "ann", AgentState::kAfterCallWork, {}, "Wrapup");
  c.kind = CallKind::kCompleted;
  engine_->Apply("s1", "i1", Event{++seq_, t + 6 * kMin, c});
  s = engine_->TakeSnapshot();
  EXPECT_EQ(Queue(s, "s1", "billing").agents_by_state[acw], 1u);
  // Logged out during a call: its end, wrap-up and wrap-up end leave the agent logged out.
  State(t + 7 * kMin, "ann", AgentState::kReady);
  c.kind = CallKind::kAnswered;
  c.call_id = "z";
  engine_->Apply("s1", "i1", Event{++seq_, t + 7 * kMin, c});
  State(t + 8 * kMin, "ann", AgentState::kLoggedOut);
  State(t + 9 * kMin, "ann", AgentState::kReady, {}, kReasonCallEnd);
  State(t + 9 * kMin, "ann", AgentState::kAfterCallWork, {}, kReasonWrapup);
  State(t + 9 * kMin + 10 * kS, "ann", AgentState::kReady, {}, kReasonWrapupEnd);
  s = engine_->TakeSnapshot();
  for (int st = 1; st < kAgentStateCount; ++st) {
    if (st != static_cast<int>(AgentState::kLoggedOut)) {
      EXPECT_EQ(Queue(s, "s1", "billing").agents_by_state[st], 0u) << st;
    }
  }
}

TEST_F(EngineTest, HeartbeatReportsSkewAndBacklogAndLinksKeepLatest) {
  Make();
  Heartbeat hb;
  hb.agent_time_ms = clock_.NowMs() + 7 * kS;
  hb.spool_backlog_events = 42;
  hb.events_dropped = 3;
  engine_->Apply("s1", "i1", Event{++seq_, hb.agent_time_ms, hb});
  LinkSample l;
  l.link = "wan";
  l.rtt_ms = 40;
  engine_->Apply("s1", "i1", Event{++seq_, clock_.NowMs(), l});
  l.rtt_ms = 999;
  engine_->Apply("s1", "i1", Event{++seq_, clock_.NowMs() - kS, l});  // older: ignored
  l.loss_ratio = 2;
  EXPECT_EQ(engine_->Apply("s1", "i1", Event{++seq_, clock_.NowMs(), l}).reason, "out_of_range");
  const Snapshot s = engine_->TakeSnapshot();
  ASSERT_EQ(s.sites.size(), 1u);
  EXPECT_EQ(s.sites[0].clock_skew_ms, 7 * kS);
  EXPECT_EQ(s.sites[0].spool_backlog_events, 42u);
  EXPECT_EQ(s.sites[0].spool_dropped_events, 3u);
  ASSERT_EQ(s.links.size(), 1u);
  EXPECT_DOUBLE_EQ(s.links[0].rtt_ms, 40);
}

// Live status (sent beside the spool) says what waits now: spooled heartbeats, which arrive
// as late as the events ahead of them, no longer set the backlog or the pause while the agent
// streams, and the status is a sign of life. A disconnected agent is neither paused nor live.
TEST_F(EngineTest, LiveStatusOutranksSpooledHeartbeats) {
  Make();
  EXPECT_EQ(engine_->OpenStream("s1", "i1", "v"), 0u);
  Heartbeat hb;
  hb.agent_time_ms = clock_.NowMs();
  hb.spool_backlog_events = 10;
  engine_->Apply("s1", "i1", Event{++seq_, hb.agent_time_ms, hb});
  EXPECT_EQ(engine_->TakeSnapshot().sites[0].spool_backlog_events, 10u);
  clock_.Advance(30 * kS);
  engine_->ApplyAgentStatus("s1", 14018, true);
  Snapshot s = engine_->TakeSnapshot();
  EXPECT_EQ(s.sites[0].spool_backlog_events, 14018u);
  EXPECT_TRUE(s.sites[0].spool_paused);
  EXPECT_EQ(s.sites[0].last_seen_ms, clock_.NowMs());
  hb.spool_backlog_events = 0;  // written long ago, delivered now
  engine_->Apply("s1", "i1", Event{++seq_, hb.agent_time_ms, hb});
  EXPECT_EQ(engine_->TakeSnapshot().sites[0].spool_backlog_events, 14018u);
  engine_->CloseStream("s1", "i1");
  EXPECT_FALSE(engine_->TakeSnapshot().sites[0].spool_paused);
  hb.spool_backlog_events = 5;  // an agent without live status: heartbeats say it again
  engine_->Apply("s1", "i1", Event{++seq_, hb.agent_time_ms, hb});
  EXPECT_EQ(engine_->TakeSnapshot().sites[0].spool_backlog_events, 5u);
}

TEST_F(EngineTest, VoiceQualityAveragesOverFiveMinutes) {
  Make();
  VoiceQuality v;
  v.queue = "q";
  v.mos = 4.0;
  engine_->Apply("s1", "i1", Event{++seq_, clock_.NowMs() - kMin, v});
  v.mos = 3.0;
  engine_->Apply("s1", "i1", Event{++seq_, clock_.NowMs(), v});
  v.mos = 1.0;
  engine_->Apply("s1", "i1", Event{++seq_, clock_.NowMs() - 10 * kMin, v});  // outside 5 min
  const Snapshot snap_q = engine_->TakeSnapshot();
  const QueueView& q = Queue(snap_q, "s1", "q");
  ASSERT_TRUE(q.mos_5m.has_value());
  EXPECT_DOUBLE_EQ(*q.mos_5m, 3.5);
  EXPECT_EQ(q.mos_samples_5m, 2u);
}

TEST_F(EngineTest, AgentsRequiredUsesLastHalfHourLoad) {
  Make();
  const std::int64_t now = clock_.NowMs();
  // 100 calls in the last 30 min, each handled 180 s: 10 Erlangs -> 14 agents for 80/20.
  for (int i = 0; i < 100; ++i) {
    const std::string id = "c" + std::to_string(i);
    CallEvent c;
    c.queue = "q";
    c.call_id = id;
    c.kind = CallKind::kOffered;
    engine_->Apply("s1", "i1", Event{++seq_, now - 29 * kMin + i * 10 * kS, c});
    c.kind = CallKind::kCompleted;
    c.talk_ms = 180'000;
    engine_->Apply("s1", "i1", Event{++seq_, now - 29 * kMin + i * 10 * kS, c});
  }
  EXPECT_EQ(Queue(engine_->TakeSnapshot(), "s1", "q").agents_required, 14u);
}

}  // namespace
}  // namespace ccmon::collector
