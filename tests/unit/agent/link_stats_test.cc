#include "ccmon/agent/link_stats.h"

#include <gtest/gtest.h>

namespace ccmon::agent {
namespace {

TEST(LinkStatsTest, LossIsTheShareOfFailedProbesInTheWindow) {
  LinkStats s(4);
  s.Record(true, 10);
  s.Record(false, 0);
  EXPECT_DOUBLE_EQ(s.figures().loss_ratio, 0.5);
  EXPECT_FALSE(s.figures().up);
  s.Record(true, 10);
  s.Record(true, 10);
  EXPECT_DOUBLE_EQ(s.figures().loss_ratio, 0.25);
  s.Record(true, 10);  // the window is now fail, ok, ok, ok
  EXPECT_DOUBLE_EQ(s.figures().loss_ratio, 0.25);
  s.Record(true, 10);  // the failure leaves the 4-probe window
  EXPECT_DOUBLE_EQ(s.figures().loss_ratio, 0.0);
  EXPECT_TRUE(s.figures().up);
}

TEST(LinkStatsTest, JitterFollowsRfc3550Estimator) {
  LinkStats s;
  s.Record(true, 40);
  EXPECT_DOUBLE_EQ(s.figures().jitter_ms, 0);
  s.Record(true, 56);  // |D| = 16: J = 0 + (16 - 0) / 16 = 1
  EXPECT_DOUBLE_EQ(s.figures().jitter_ms, 1.0);
  s.Record(true, 40);  // |D| = 16: J = 1 + (16 - 1) / 16 = 1.9375
  EXPECT_DOUBLE_EQ(s.figures().jitter_ms, 1.9375);
  s.Record(false, 0);  // a lost probe changes neither rtt nor jitter
  EXPECT_DOUBLE_EQ(s.figures().jitter_ms, 1.9375);
  EXPECT_DOUBLE_EQ(s.figures().rtt_ms, 40);
  // Answered after a retransmission: up and not lost, but no round-trip sample (Karn).
  s.Record(true, 540, /*timed=*/false);
  EXPECT_TRUE(s.figures().up);
  EXPECT_DOUBLE_EQ(s.figures().rtt_ms, 40);
  EXPECT_DOUBLE_EQ(s.figures().jitter_ms, 1.9375);
  EXPECT_DOUBLE_EQ(s.figures().loss_ratio, 1.0 / 5);  // only the lost probe
}

}  // namespace
}  // namespace ccmon::agent
