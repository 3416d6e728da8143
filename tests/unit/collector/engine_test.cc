// The engine on calls: outcomes against the contract's thresholds, live queue figures,
// dedupe and validation, rolling windows, client sums and staffing.
#include "ccmon/collector/engine.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>

#include "engine_fixture.h"

namespace ccmon::collector {
namespace {

using namespace engine_fixture;  // NOLINT(google-build-using-namespace)

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

// Client rows: one per (client, queue), summing every site serving it, in client then queue
// order; site rows in client, site, queue order. acme claims billing and sales; misc is the
// default client's. Offered: billing 2 at s1 + 3 at s2, sales 1 at s2, misc 4 at s1.
TEST_F(EngineTest, ClientRowsSumTheirSitesInClientAndQueueOrder) {
  CoreConfig cfg;
  ClientConfig acme;
  acme.name = "acme";
  for (const char* name : {"sales", "billing"}) {
    QueueConfig q;
    q.name = name;
    acme.queues.push_back(q);
  }
  cfg.clients.push_back(acme);
  Make(cfg);
  const std::int64_t t = clock_.NowMs();
  int id = 0;
  auto offer = [&](std::string_view site, std::string_view queue, int n) {
    for (int i = 0; i < n; ++i) {
      Call(t, CallKind::kOffered, queue, "c" + std::to_string(++id), 0, site);
    }
  };
  offer("s2", "sales", 1);
  offer("s1", "misc", 4);
  offer("s2", "billing", 3);
  offer("s1", "billing", 2);
  const Snapshot s = engine_->TakeSnapshot();
  std::vector<std::string> rows;
  for (const auto& q : s.queues) rows.push_back(q.client + "/" + q.site + "/" + q.queue);
  EXPECT_EQ(rows, (std::vector<std::string>{"acme/s1/billing", "acme/s2/billing", "acme/s2/sales",
                                            "default/s1/misc"}));
  std::vector<std::string> clients;
  for (const auto& c : s.client_queues) {
    clients.push_back(c.client + "/" + c.queue + "=" + std::to_string(c.total.offered));
  }
  EXPECT_EQ(clients,
            (std::vector<std::string>{"acme/billing=5", "acme/sales=1", "default/misc=4"}));
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
