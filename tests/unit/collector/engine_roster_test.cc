// The engine's agent roster: agents by state from member and call events, and the states
// that follow a call.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>

#include "ccmon/collector/engine.h"
#include "engine_fixture.h"

namespace ccmon::collector {
namespace {

using namespace engine_fixture;  // NOLINT(google-build-using-namespace)

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

}  // namespace
}  // namespace ccmon::collector
