// ReplicaAcks: the spool forgets an event only once every followed replica has it; a replica
// away (no stream) for a while when the spool is full, while a connected replica is ahead, is
// given up, and follows again once it has caught up. Connected replicas, or replicas all
// away (a site's WAN down), are never given up.
#include "ccmon/agent/replica_acks.h"

#include <gtest/gtest.h>

namespace ccmon::agent {
namespace {

constexpr std::int64_t kAway = 30'000;

TEST(ReplicaAcksTest, TheSpoolMayForgetOnlyWhatEveryReplicaHas) {
  ReplicaAcks acks(2, 0, 0);
  EXPECT_EQ(acks.Welcome(0, 0), 0u);
  EXPECT_EQ(acks.Ack(0, 100), 0u);  // B has nothing yet
  EXPECT_EQ(acks.Welcome(1, 40), 40u);
  EXPECT_EQ(acks.Ack(1, 120), 100u);
  EXPECT_EQ(acks.Ack(0, 90), 100u);  // acks never move back
  EXPECT_EQ(acks.Min(), 100u);
}

TEST(ReplicaAcksTest, StartsFromWhatTheSpoolAlreadyForgot) {
  ReplicaAcks acks(2, 500, 0);  // an agent restarted with acked events behind it
  EXPECT_EQ(acks.Min(), 500u);
  EXPECT_EQ(acks.Welcome(0, 650), 500u);
  // B not connected yet, and the spool full: not away long enough to be given up.
  EXPECT_TRUE(acks.GiveUpAway(kAway - 1, kAway).empty());
}

TEST(ReplicaAcksTest, AWelcomeBelowTheOldAckIsBelieved) {
  ReplicaAcks acks(2, 0, 0);
  acks.Welcome(0, 0);
  acks.Welcome(1, 0);
  acks.Ack(0, 300);
  acks.Ack(1, 300);
  acks.Disconnected(1, 1000);
  // B came back rebuilt from an older copy: it has only up to 200, and the spool must keep
  // what it lacks (the spool's own Ack never moves back; this is what it may forget next).
  EXPECT_EQ(acks.Welcome(1, 200), 200u);
}

TEST(ReplicaAcksTest, OneReplicaIsTheSingleCollectorCase) {
  ReplicaAcks acks(1, 0, 0);
  EXPECT_EQ(acks.Welcome(0, 7), 7u);
  acks.Disconnected(0, 10);
  EXPECT_TRUE(acks.GiveUpAway(10 + kAway * 10, kAway).empty());  // nobody to go on for
  EXPECT_EQ(acks.given_up_total(), 0u);
}

TEST(ReplicaAcksTest, AReplicaAwayIsGivenUpAndFollowsAgainOnceCaughtUp) {
  ReplicaAcks acks(3, 0, 0);
  for (std::size_t r = 0; r < 3; ++r) acks.Welcome(r, 0);
  acks.Ack(0, 500);
  acks.Ack(1, 480);
  acks.Ack(2, 120);
  acks.Disconnected(2, 1'000);
  EXPECT_EQ(acks.Min(), 120u);
  EXPECT_TRUE(acks.GiveUpAway(1'000 + kAway - 1, kAway).empty());  // not away long enough
  const auto given_up = acks.GiveUpAway(1'000 + kAway, kAway);
  ASSERT_EQ(given_up.size(), 1u);
  EXPECT_EQ(given_up[0], 2u);
  EXPECT_TRUE(acks.given_up(2));
  EXPECT_FALSE(acks.given_up(1));  // connected, merely slower: never given up
  EXPECT_EQ(acks.Min(), 480u);     // the spool goes on for the others
  EXPECT_EQ(acks.given_up_total(), 1u);
  // Back, but behind: still given up; the others move on.
  EXPECT_EQ(acks.Welcome(2, 300), 480u);
  EXPECT_TRUE(acks.given_up(2));
  acks.Ack(0, 700);
  acks.Ack(1, 650);
  // Caught up with the slowest followed replica: followed again.
  EXPECT_EQ(acks.Ack(2, 650), 650u);
  EXPECT_FALSE(acks.given_up(2));
}

// An import: B delivered everything and closed its stream; A was never reachable. B was heard
// from within the away time, so A is given up and the import goes on.
TEST(ReplicaAcksTest, AReplicaHeardFromLatelyCountsAsLive) {
  ReplicaAcks acks(2, 0, 0);
  acks.Welcome(1, 0);
  acks.Contact(1, 400);
  acks.Ack(1, 100);
  acks.Disconnected(1, 500);
  const auto given_up = acks.GiveUpAway(kAway, kAway);
  ASSERT_EQ(given_up.size(), 1u);
  EXPECT_EQ(given_up[0], 0u);
  EXPECT_EQ(acks.Min(), 100u);
}

TEST(ReplicaAcksTest, NoneIsGivenUpWhileAllAreAway) {
  ReplicaAcks acks(2, 0, 0);
  acks.Welcome(0, 0);
  acks.Welcome(1, 0);
  acks.Ack(0, 20);
  acks.Ack(1, 10);
  acks.Disconnected(0, 100);
  acks.Disconnected(1, 100);
  // The site's WAN is down: nobody connected is ahead, the block policy holds the input.
  EXPECT_TRUE(acks.GiveUpAway(100 + kAway * 10, kAway).empty());
  EXPECT_EQ(acks.Min(), 10u);
}

}  // namespace
}  // namespace ccmon::agent
