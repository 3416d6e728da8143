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
}

}  // namespace
}  // namespace ccmon::collector
