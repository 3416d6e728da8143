#include "ccmon/collector/kpi.h"

#include <gtest/gtest.h>

namespace ccmon::collector {
namespace {

// 20 offered; 14 answered (10 within T); 4 abandoned with waits 3 s, 15 s, 30 s, 60 s against
// T = 20 s and short abandon 5 s (so 2 within T, 1 short); 1 timeout and 1 key exit.
Counts Sample() {
  Counts c;
  c.offered = 20;
  c.answered = 14;
  c.answered_in_threshold = 10;
  c.abandoned = 4;
  c.abandoned_in_threshold = 2;
  c.short_abandoned = 1;
  c.unanswered[static_cast<int>(UnansweredReason::kTimeout)] = 1;
  c.unanswered[static_cast<int>(UnansweredReason::kKey)] = 1;
  c.answered_wait_ms = 14 * 12'500;  // ASA 12.5 s
  c.handled = 8;
  c.handle_ms = 8 * 200'000 + 4'000;  // AHT 200.5 s
  c.on_call_ms = 600'000;
  c.acw_ms = 150'000;
  c.ready_ms = 250'000;
  return c;
}

TEST(KpiTest, StandardFormulaRemovesShortAbandonsAndCountsUnanswered) {
  // 10 / (14 + 4 + 2 - 1)
  EXPECT_DOUBLE_EQ(*ServiceLevel(Sample(), SlFormula::kStandard), 10.0 / 19.0);
}

TEST(KpiTest, AnsweredOnlyIsAsteriskSl) {
  EXPECT_DOUBLE_EQ(*ServiceLevel(Sample(), SlFormula::kAnsweredOnly), 10.0 / 14.0);
}

TEST(KpiTest, RemovedWithinIsAsteriskSl2) {
  // (10 + 2) / (14 + 4)
  EXPECT_DOUBLE_EQ(*ServiceLevel(Sample(), SlFormula::kRemovedWithin), 12.0 / 18.0);
}

TEST(KpiTest, IgnoreAbandonedWithin) {
  // 10 / (14 + (4 - 2))
  EXPECT_DOUBLE_EQ(*ServiceLevel(Sample(), SlFormula::kIgnoreAbandonedWithin), 10.0 / 16.0);
}

TEST(KpiTest, OverOffered) {
  EXPECT_DOUBLE_EQ(*ServiceLevel(Sample(), SlFormula::kOverOffered), 10.0 / 20.0);
}

TEST(KpiTest, AbandonRateExcludesShortAbandons) {
  // (4 - 1) / (20 - 1)
  EXPECT_DOUBLE_EQ(*AbandonRate(Sample()), 3.0 / 19.0);
}

TEST(KpiTest, AsaAhtOccupancy) {
  EXPECT_DOUBLE_EQ(*AsaSeconds(Sample()), 12.5);
  EXPECT_DOUBLE_EQ(*AhtSeconds(Sample()), 200.5);
  EXPECT_DOUBLE_EQ(*Occupancy(Sample()), 750.0 / 1000.0);
}

TEST(KpiTest, EmptyDenominatorsHaveNoValue) {
  const Counts empty;
  for (std::size_t f = 0; f < kSlFormulaNames.size(); ++f) {
    EXPECT_FALSE(ServiceLevel(empty, static_cast<SlFormula>(f)).has_value()) << kSlFormulaNames[f];
  }
  EXPECT_FALSE(AbandonRate(empty).has_value());
  EXPECT_FALSE(AsaSeconds(empty).has_value());
  EXPECT_FALSE(AhtSeconds(empty).has_value());
  EXPECT_FALSE(Occupancy(empty).has_value());
  // Only short abandons: every call is removed from the standard denominator.
  Counts only_short;
  only_short.offered = 2;
  only_short.abandoned = 2;
  only_short.short_abandoned = 2;
  only_short.abandoned_in_threshold = 2;
  EXPECT_FALSE(ServiceLevel(only_short, SlFormula::kStandard).has_value());
  EXPECT_FALSE(AbandonRate(only_short).has_value());
  EXPECT_DOUBLE_EQ(*ServiceLevel(only_short, SlFormula::kOverOffered), 0.0);
}

// Sample() and six more offered calls: 3 answered and 2 abandoned whose wait the source did
// not give, and 1 lost (no outcome logged before the queue's maximum wait). So: offered 26;
// answered 17, of which 3 of unknown wait (10 within T among the 14 known); abandoned 6, of
// which 2 of unknown wait (2 within T and 1 short among the 4 known); unanswered 3 (timeout,
// key, lost); answered wait 175 s over the 14 known.
Counts WithUnknownWaits() {
  Counts c = Sample();
  c.offered += 6;
  c.answered += 3;
  c.answered_wait_unknown = 3;
  c.abandoned += 2;
  c.abandoned_wait_unknown = 2;
  c.unanswered[static_cast<int>(UnansweredReason::kLost)] = 1;
  return c;
}

// Known answered 17 - 3 = 14 and known abandoned 6 - 2 = 4, by hand for each formula:
//   standard                 10 / (14 + 4 + 3 - 1)  = 10/20  (lost is unanswered-other: in)
//   answered_only            10 / 14
//   removed_within           (10 + 2) / (14 + 4)    = 12/18
//   ignore_abandoned_within  10 / (14 + 4 - 2)      = 10/16
//   over_offered             10 / (26 - 3 - 2)      = 10/21
// answered_only, removed_within and ignore_abandoned_within give what Sample() gave (the
// unknowns are simply out of them); standard and over_offered also count the lost call.
TEST(KpiTest, EveryFormulaLeavesOutUnknownWaits) {
  const Counts c = WithUnknownWaits();
  EXPECT_DOUBLE_EQ(*ServiceLevel(c, SlFormula::kStandard), 10.0 / 20.0);
  EXPECT_DOUBLE_EQ(*ServiceLevel(c, SlFormula::kAnsweredOnly), 10.0 / 14.0);
  EXPECT_DOUBLE_EQ(*ServiceLevel(c, SlFormula::kRemovedWithin), 12.0 / 18.0);
  EXPECT_DOUBLE_EQ(*ServiceLevel(c, SlFormula::kIgnoreAbandonedWithin), 10.0 / 16.0);
  EXPECT_DOUBLE_EQ(*ServiceLevel(c, SlFormula::kOverOffered), 10.0 / 21.0);
}

// ASA: 175 s / 14 known = 12.5 s (not 175 / 17). Abandon rate: (6 - 1) / (26 - 1) = 5/25: the
// two unknown-wait abandons are real abandons, not short ones.
TEST(KpiTest, AsaAndAbandonRateWithUnknownWaits) {
  const Counts c = WithUnknownWaits();
  EXPECT_DOUBLE_EQ(*AsaSeconds(c), 12.5);
  EXPECT_DOUBLE_EQ(*AbandonRate(c), 5.0 / 25.0);
}

TEST(KpiTest, OnlyUnknownWaitsLeaveNoServiceLevel) {
  // 2 offered, both answered with unknown wait: no SL by any formula, no ASA.
  Counts answered;
  answered.offered = 2;
  answered.answered = 2;
  answered.answered_wait_unknown = 2;
  for (std::size_t f = 0; f < kSlFormulaNames.size(); ++f) {
    EXPECT_FALSE(ServiceLevel(answered, static_cast<SlFormula>(f)).has_value())
        << kSlFormulaNames[f];
  }
  EXPECT_FALSE(AsaSeconds(answered).has_value());
  EXPECT_DOUBLE_EQ(*AbandonRate(answered), 0.0);  // 0 / 2
  // 1 offered, abandoned with unknown wait: no SL, and an abandon rate of (1 - 0) / (1 - 0),
  // where reading the empty wait as 0 s made it a short abandon and the rate had no value.
  Counts abandoned;
  abandoned.offered = 1;
  abandoned.abandoned = 1;
  abandoned.abandoned_wait_unknown = 1;
  for (std::size_t f = 0; f < kSlFormulaNames.size(); ++f) {
    EXPECT_FALSE(ServiceLevel(abandoned, static_cast<SlFormula>(f)).has_value())
        << kSlFormulaNames[f];
  }
  EXPECT_DOUBLE_EQ(*AbandonRate(abandoned), 1.0);
}

TEST(KpiTest, FormulaNamesRoundTrip) {
  for (std::size_t f = 0; f < kSlFormulaNames.size(); ++f) {
    EXPECT_EQ(ParseSlFormula(kSlFormulaNames[f]), static_cast<SlFormula>(f));
  }
  EXPECT_FALSE(ParseSlFormula("genesys").has_value());
}

TEST(KpiTest, CountsAddAndSubtract) {
  Counts a = Sample();
  a += Sample();
  EXPECT_EQ(a.offered, 40u);
  EXPECT_EQ(a.UnansweredTotal(), 4u);
  a -= Sample();
  EXPECT_EQ(a, Sample());
  a += WithUnknownWaits();
  EXPECT_EQ(a.answered_wait_unknown, 3u);
  EXPECT_EQ(a.abandoned_wait_unknown, 2u);
  EXPECT_EQ(a.unanswered[static_cast<int>(UnansweredReason::kLost)], 1u);
  EXPECT_EQ(a.UnansweredTotal(), 5u);
  EXPECT_NE(a, Sample());
  a -= WithUnknownWaits();
  EXPECT_EQ(a, Sample());
  Counts b = Sample();
  b.abandoned_wait_unknown = 1;  // == sees every field
  EXPECT_NE(b, Sample());
}

}  // namespace
}  // namespace ccmon::collector
