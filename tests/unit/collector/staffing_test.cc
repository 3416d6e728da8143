#include "ccmon/collector/staffing.h"

#include <gtest/gtest.h>

namespace ccmon::collector {
namespace {

// Published Erlang C figures for 10 Erlangs (e.g. 100 calls per 30 min at 180 s AHT):
// probability of waiting 68.21% with 11 agents, 44.94% with 12, 28.53% with 13, 17.41% with
// 14; service level in 20 s 64.0%, 79.6% and 88.8% for 12, 13 and 14 agents.
TEST(StaffingTest, ErlangCMatchesPublishedTable) {
  EXPECT_NEAR(ErlangC(11, 10), 0.6821, 5e-4);
  EXPECT_NEAR(ErlangC(12, 10), 0.4494, 5e-4);
  EXPECT_NEAR(ErlangC(13, 10), 0.2853, 5e-4);
  EXPECT_NEAR(ErlangC(14, 10), 0.1741, 5e-4);
  const double rate = 100.0 / 1800.0;
  EXPECT_NEAR(ErlangCServiceLevel(12, rate, 180, 20), 0.640, 1e-3);
  EXPECT_NEAR(ErlangCServiceLevel(13, rate, 180, 20), 0.796, 1e-3);
  EXPECT_NEAR(ErlangCServiceLevel(14, rate, 180, 20), 0.888, 1e-3);
}

TEST(StaffingTest, AgentsRequiredIsTheSmallestMeetingTarget) {
  EXPECT_EQ(ErlangCAgentsRequired(100.0 / 1800.0, 180, 20, 0.80), 14u);
  EXPECT_EQ(ErlangCAgentsRequired(100.0 / 1800.0, 180, 20, 0.79), 13u);
  EXPECT_EQ(ErlangCAgentsRequired(0, 180, 20, 0.8), 0u);
}

// The single-pass search agrees with the definition (smallest n whose Erlang C service level
// meets the target) across light to very heavy traffic, and stops at max_agents.
TEST(StaffingTest, AgentsRequiredAgreesWithServiceLevelDefinition) {
  for (const double calls_per_30min : {1.0, 7.0, 100.0, 950.0, 4000.0, 20000.0}) {
    const double rate = calls_per_30min / 1800.0;
    const std::uint32_t n = ErlangCAgentsRequired(rate, 240, 20, 0.8);
    ASSERT_LT(n, 10000u) << calls_per_30min;
    EXPECT_GE(ErlangCServiceLevel(n, rate, 240, 20), 0.8) << calls_per_30min;
    EXPECT_LT(ErlangCServiceLevel(n - 1, rate, 240, 20), 0.8) << calls_per_30min;
  }
  EXPECT_EQ(ErlangCAgentsRequired(20000.0 / 1800.0, 240, 20, 0.8, 100), 100u);
}

// Heavy queues start the Erlang B recursion below the traffic instead of at one agent; the
// answer stays the definition's across a dense sweep of traffic (0.5 to 4,800 Erlangs),
// thresholds and targets, including where the start is far from the traffic.
TEST(StaffingTest, AgentsRequiredAgreesWithDefinitionAcrossHeavyTraffic) {
  int checked = 0;
  for (double erlangs = 0.5; erlangs < 4800; erlangs *= 1.09) {
    for (const double threshold_s : {10.0, 60.0}) {
      for (const double target : {0.5, 0.8, 0.99}) {
        const double rate = erlangs / 180.0;
        const std::uint32_t n = ErlangCAgentsRequired(rate, 180, threshold_s, target);
        ASSERT_GT(static_cast<double>(n), erlangs);
        EXPECT_GE(ErlangCServiceLevel(n, rate, 180, threshold_s), target) << erlangs;
        EXPECT_LT(ErlangCServiceLevel(n - 1, rate, 180, threshold_s), target) << erlangs;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 500);
}

TEST(StaffingTest, UnstableQueueNeedsMoreAgentsThanTraffic) {
  EXPECT_EQ(ErlangC(10, 10), 1.0);
  EXPECT_EQ(ErlangCServiceLevel(10, 10.0 / 180.0, 180, 20), 0.0);
}

TEST(StaffingTest, MosFromNetwork) {
  // A clean LAN path scores near G.711's ceiling; 8% loss on a 300 ms path drops below the 3.5
  // alert line.
  EXPECT_GT(MosFromNetwork(20, 2, 0), 4.3);
  EXPECT_LT(MosFromNetwork(300, 40, 0.08), 3.5);
  EXPECT_GE(MosFromNetwork(5000, 500, 1), 1.0);
}

}  // namespace
}  // namespace ccmon::collector
