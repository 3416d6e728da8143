// ReplicaAcks: the spool forgets an event only once every followed replica has it; a replica
// left behind while the spool is full is given up and follows again once it has caught up.
#include "ccmon/agent/replica_acks.h"

#include <gtest/gtest.h>

namespace ccmon::agent {
namespace {

TEST(ReplicaAcksTest, TheSpoolMayForgetOnlyWhatEveryReplicaHas) {
  ReplicaAcks acks(2);
  EXPECT_EQ(acks.Ack(0, 100), 0u);  // B has nothing yet
  EXPECT_EQ(acks.Ack(1, 40), 40u);
  EXPECT_EQ(acks.Ack(1, 120), 100u);
  EXPECT_EQ(acks.Ack(0, 90), 100u);  // acks never move back
  EXPECT_EQ(acks.Min(), 100u);
}

TEST(ReplicaAcksTest, OneReplicaIsTheSingleCollectorCase) {
  ReplicaAcks acks(1);
  EXPECT_EQ(acks.Ack(0, 7), 7u);
  EXPECT_TRUE(acks.GiveUpLagging().empty());  // nobody to go on for
  EXPECT_EQ(acks.given_up_total(), 0u);
}

TEST(ReplicaAcksTest, AReplicaLeftBehindIsGivenUpAndFollowsAgainOnceCaughtUp) {
  ReplicaAcks acks(3);
  acks.Ack(0, 500);
  acks.Ack(1, 500);
  acks.Ack(2, 120);
  EXPECT_EQ(acks.Min(), 120u);
  const auto given_up = acks.GiveUpLagging();
  ASSERT_EQ(given_up.size(), 1u);
  EXPECT_EQ(given_up[0], 2u);
  EXPECT_TRUE(acks.given_up(2));
  EXPECT_EQ(acks.Min(), 500u);  // the spool goes on for the others
  EXPECT_EQ(acks.given_up_total(), 1u);
  // Back, but behind: still given up; the others move on.
  EXPECT_EQ(acks.Ack(2, 300), 500u);
  EXPECT_TRUE(acks.given_up(2));
  acks.Ack(0, 700);
  acks.Ack(1, 650);
  // Caught up with the slowest followed replica: followed again.
  EXPECT_EQ(acks.Ack(2, 650), 650u);
  EXPECT_FALSE(acks.given_up(2));
}

TEST(ReplicaAcksTest, ReplicasAllLevelAreNotGivenUp) {
  ReplicaAcks acks(2);
  acks.Ack(0, 10);
  acks.Ack(1, 10);
  // Every collector down: nobody is ahead, so nobody is given up and the block policy holds.
  EXPECT_TRUE(acks.GiveUpLagging().empty());
  EXPECT_EQ(acks.Min(), 10u);
}

}  // namespace
}  // namespace ccmon::agent
