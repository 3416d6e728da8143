// Link samples through the engine: a SIP trunk's kind and status reach the snapshot the
// continuity rules and the exporter read, and statuses that cannot be a final answer are refused.
#include <gtest/gtest.h>

#include "ccmon/collector/continuity.h"
#include "ccmon/collector/engine.h"
#include "engine_fixture.h"

namespace ccmon::collector {
namespace {

constexpr std::int64_t kT0 = 1795651200000;  // 2026-11-26 00:00:00 UTC
constexpr std::int64_t kS = 1000;

class EngineLinkTest : public ::testing::Test {
 protected:
  ApplyResult Sample(std::uint32_t status, LinkKind kind = LinkKind::kSipTrunk) {
    LinkSample l;
    l.link = "carrier-a";
    l.kind = kind;
    l.sip_status = status;
    l.up = status >= 200 && status < 500;
    l.rtt_ms = 18;
    return engine_.Apply("pune-1", "i1", Event{++seq_, clock_.NowMs(), l});
  }

  FakeClock clock_{kT0};
  Engine engine_{CoreConfig{}, clock_};
  std::uint64_t seq_ = 0;
};

TEST_F(EngineLinkTest, TrunkKindAndStatusReachTheSnapshot) {
  ASSERT_EQ(Sample(200).kind, ApplyResult::Kind::kAccepted);
  Snapshot s = engine_.TakeSnapshot();
  ASSERT_EQ(s.links.size(), 1u);
  EXPECT_EQ(s.links[0].kind, LinkKind::kSipTrunk);
  EXPECT_EQ(s.links[0].sip_status, 200u);
  EXPECT_TRUE(s.links[0].up);
  clock_.Advance(kS);
  ASSERT_EQ(Sample(0).kind, ApplyResult::Kind::kAccepted);  // no answer
  s = engine_.TakeSnapshot();
  EXPECT_EQ(s.links[0].sip_status, 0u);
  EXPECT_FALSE(s.links[0].up);
}

TEST_F(EngineLinkTest, StatusesThatAreNoFinalAnswerAreRefused) {
  for (std::uint32_t bad : {1u, 100u, 180u, 700u, 99999u}) {
    const ApplyResult r = Sample(bad);
    EXPECT_EQ(r.kind, ApplyResult::Kind::kInvalid) << bad;
    EXPECT_EQ(r.reason, "out_of_range") << bad;
  }
  // A plain network link carries no SIP status.
  EXPECT_EQ(Sample(200, LinkKind::kNetwork).reason, "out_of_range");
  EXPECT_EQ(Sample(0, LinkKind::kNetwork).kind, ApplyResult::Kind::kAccepted);
}

// From samples to the alert, on the engine's fake clock: a trunk answering 503 raises TrunkDown
// 30 s after the first 503, and a 404 (an answer) resolves it 30 s later.
TEST_F(EngineLinkTest, A503TrunkRaisesTrunkDownThroughTheEngine) {
  ContinuityEngine rules{ContinuityRules{}};
  int fired = 0, resolved = 0;
  auto tick = [&](std::uint32_t status) {
    clock_.Advance(kS);
    Sample(status);
    for (const AlertTransition& t : rules.Evaluate(engine_.TakeSnapshot())) {
      if (t.alert.name != "TrunkDown") continue;
      (t.firing ? fired : resolved) += 1;
    }
  };
  for (int i = 0; i < 10; ++i) tick(200);
  for (int i = 0; i < 30; ++i) tick(503);
  EXPECT_EQ(fired, 0) << "before trunk_down.for_s";
  tick(503);
  EXPECT_EQ(fired, 1);
  for (int i = 0; i < 30; ++i) tick(404);
  EXPECT_EQ(resolved, 0) << "before resolve_after_s";
  tick(404);
  EXPECT_EQ(resolved, 1);
}

// Heartbeats, live status and voice samples through the engine.
using namespace engine_fixture;  // NOLINT(google-build-using-namespace)

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
  engine_->ApplyAgentStatus("s1", "i1", {14018, true, 0});
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

// The input files an agent cannot read: its latest heartbeat's word while it streams, its
// live status's once it sends one (heartbeats arrive as late as the events ahead of them), and
// nothing once it disconnects. Two agent instances under one site id each count their own.
TEST_F(EngineTest, SourcesWaitingAreEachStreamingAgentsLatestWord) {
  Make();
  engine_->OpenStream("s1", "i1", "v");
  Heartbeat hb;
  hb.agent_time_ms = clock_.NowMs();
  auto beat = [&](const char* instance, std::uint32_t waiting) {
    hb.sources_waiting = waiting;
    return engine_->Apply("s1", instance, Event{++seq_, hb.agent_time_ms, hb}).kind;
  };
  auto waiting = [&] { return engine_->TakeSnapshot().sites[0].sources_waiting; };
  ASSERT_EQ(beat("i1", 0), ApplyResult::Kind::kAccepted);
  EXPECT_EQ(waiting(), 0u);
  beat("i1", 2);
  EXPECT_EQ(waiting(), 2u);
  beat("i1", 1);  // one of the two files appeared
  EXPECT_EQ(waiting(), 1u);

  // A second agent under the same site id (another PBX) has its own files.
  std::uint64_t i2_seq = engine_->OpenStream("s1", "i2", "v");
  hb.sources_waiting = 1;
  engine_->Apply("s1", "i2", Event{++i2_seq, hb.agent_time_ms, hb});
  EXPECT_EQ(waiting(), 2u);
  hb.sources_waiting = 0;
  engine_->Apply("s1", "i2", Event{++i2_seq, hb.agent_time_ms, hb});
  EXPECT_EQ(waiting(), 1u) << "i2's files are all read; i1 still waits for one";

  // Live status outranks the spooled heartbeats that follow it, for the agent that sends it:
  // the other agent's heartbeats still count.
  engine_->ApplyAgentStatus("s1", "i1", {0, false, 3});
  EXPECT_EQ(waiting(), 3u);
  beat("i1", 0);  // written long ago, delivered now
  EXPECT_EQ(waiting(), 3u);
  hb.sources_waiting = 1;
  engine_->Apply("s1", "i2", Event{++i2_seq, hb.agent_time_ms, hb});
  EXPECT_EQ(waiting(), 4u);
  engine_->CloseStream("s1", "i2");
  engine_->ApplyAgentStatus("s1", "i1", {0, false, 0});
  EXPECT_EQ(waiting(), 0u);

  // Disconnected: it says nothing, and heartbeats applied without a stream (the WAL's replay
  // at a collector's start) are history, not now.
  engine_->ApplyAgentStatus("s1", "i1", {0, false, 2});
  engine_->CloseStream("s1", "i1");
  EXPECT_EQ(waiting(), 0u);
  beat("i1", 4);
  EXPECT_EQ(waiting(), 0u);
  engine_->ApplyAgentStatus("s1", "i1", {0, false, 4});
  EXPECT_EQ(waiting(), 0u);
  engine_->OpenStream("s1", "i1", "v");  // back: nothing said yet on this stream
  EXPECT_EQ(waiting(), 0u);
  beat("i1", 1);  // an agent without live status on this stream: its heartbeats say it
  EXPECT_EQ(waiting(), 1u);
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

}  // namespace
}  // namespace ccmon::collector
