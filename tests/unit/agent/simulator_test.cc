// Simulator: determinism, ground truth against an independent recount of the emitted events,
// and the visible effect of each disaster scenario. Simulated time only; no sleeps.
#include "ccmon/agent/simulator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace ccmon::agent {
namespace {

constexpr std::int64_t kStartMs = 1709542800000;  // 2024-03-04 09:00:00 UTC
constexpr std::int64_t kMinuteMs = 60'000;

// An owned copy of an Event: the simulator's views are valid only during the sink call.
struct Recorded {
  std::int64_t time_ms = 0;
  std::size_t type = 0;  // EventBody index
  CallEvent call;
  AgentStateEvent agent;
  LinkSample link;
  VoiceQuality voice;
  std::string queue, call_id, agent_name, caller_id, reason, link_name;
  std::string line;  // everything above in one comparable string
};

Recorded Record(const Event& e) {
  Recorded r;
  r.time_ms = e.time_ms;
  r.type = e.body.index();
  r.line = std::to_string(e.time_ms) + " ";
  std::visit(
      [&r](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, CallEvent>) {
          r.call = b;
          r.queue = b.queue;
          r.call_id = b.call_id;
          r.agent_name = b.agent;
          r.caller_id = b.caller_id;
          r.line += "call " + std::to_string(static_cast<int>(b.kind)) + " " + r.queue + " " +
                    r.call_id + " " + r.agent_name + " " + r.caller_id + " " +
                    std::to_string(b.wait_ms) + " " + std::to_string(b.talk_ms) + " " +
                    std::to_string(b.position) + " " + std::to_string(static_cast<int>(b.reason)) +
                    " " + std::to_string(static_cast<int>(b.hung_up_by));
        } else if constexpr (std::is_same_v<T, AgentStateEvent>) {
          r.agent = b;
          r.agent_name = b.agent;
          r.queue = b.queue;
          r.reason = b.reason;
          r.line += "agent " + r.agent_name + " " + r.queue + " " + std::string(ToString(b.state)) +
                    " " + r.reason;
        } else if constexpr (std::is_same_v<T, LinkSample>) {
          r.link = b;
          r.link_name = b.link;
          r.line += "link " + r.link_name + " " + std::to_string(b.rtt_ms) + " " +
                    std::to_string(b.jitter_ms) + " " + std::to_string(b.loss_ratio) + " " +
                    (b.up ? "up" : "down");
        } else if constexpr (std::is_same_v<T, VoiceQuality>) {
          r.voice = b;
          r.call_id = b.call_id;
          r.queue = b.queue;
          r.agent_name = b.agent;
          r.line += "voice " + r.call_id + " " + r.queue + " " + r.agent_name + " " +
                    std::to_string(b.mos) + " " + std::to_string(b.jitter_ms) + " " +
                    std::to_string(b.loss_ratio);
        } else {
          r.line += "heartbeat";
        }
      },
      e.body);
  // Views are dropped from the copies so nothing outlives the simulator's storage.
  r.call.queue = r.call.call_id = r.call.agent = r.call.caller_id = {};
  r.agent.agent = r.agent.queue = r.agent.reason = {};
  r.link.link = {};
  r.voice.call_id = r.voice.queue = r.voice.agent = {};
  return r;
}

// Advances in steps of `step`, as the agent's poll loop does, up to until_ms inclusive.
std::vector<Recorded> Simulate(Simulator& sim, std::int64_t until_ms,
                               std::chrono::milliseconds step) {
  std::vector<Recorded> out;
  const EventSink sink = [&out](const Event& e) {
    EXPECT_EQ(e.seq, 0U);
    out.push_back(Record(e));
  };
  for (std::int64_t t = kStartMs; t < until_ms; t += step.count()) sim.Advance(t, sink);
  sim.Advance(until_ms, sink);
  return out;
}

std::vector<Recorded> Simulate(const SimulatorOptions& o, std::int64_t duration_ms,
                               std::chrono::milliseconds step = std::chrono::seconds(1)) {
  Simulator sim(o, kStartMs);
  return Simulate(sim, kStartMs + duration_ms, step);
}

std::vector<std::string> Lines(const std::vector<Recorded>& events) {
  std::vector<std::string> lines;
  lines.reserve(events.size());
  for (const auto& e : events) lines.push_back(e.line);
  return lines;
}

bool IsCall(const Recorded& r, CallKind kind) { return r.type == 0 && r.call.kind == kind; }

SimulatorOptions Scenario(const std::string& name) {
  SimulatorOptions o;
  o.scenario = name;
  o.seed = 42;
  return o;
}

std::int64_t DisasterBeginMs(const SimulatorOptions& o) {
  return kStartMs + static_cast<std::int64_t>(o.disaster_at_s * 1000);
}

std::int64_t DisasterEndMs(const SimulatorOptions& o) {
  return DisasterBeginMs(o) + static_cast<std::int64_t>(o.disaster_for_s * 1000);
}

TEST(SimulatorTest, SameSeedGivesIdenticalEvents) {
  SimulatorOptions o;
  o.seed = 7;
  const auto a = Lines(Simulate(o, 30 * kMinuteMs));
  const auto b = Lines(Simulate(o, 30 * kMinuteMs));
  ASSERT_GT(a.size(), 100U);
  EXPECT_EQ(a, b);
}

TEST(SimulatorTest, DifferentSeedsGiveDifferentEvents) {
  SimulatorOptions o;
  o.seed = 7;
  const auto a = Lines(Simulate(o, 30 * kMinuteMs));
  o.seed = 8;
  const auto b = Lines(Simulate(o, 30 * kMinuteMs));
  EXPECT_NE(a, b);
}

// Determinism must not depend on how the agent's poll loop slices time.
TEST(SimulatorTest, AdvanceGranularityDoesNotChangeEvents) {
  SimulatorOptions o = Scenario("typhoon");
  const auto fine = Lines(Simulate(o, 20 * kMinuteMs, std::chrono::milliseconds(250)));
  const auto coarse = Lines(Simulate(o, 20 * kMinuteMs, std::chrono::minutes(7)));
  EXPECT_EQ(fine, coarse);
}

TEST(SimulatorTest, NormalTwoHoursKeepsInvariantsAndTruthMatchesEvents) {
  SimulatorOptions o;
  o.seed = 3;
  Simulator sim(o, kStartMs);
  const std::int64_t end_ms = kStartMs + 120 * kMinuteMs;
  const auto events = Simulate(sim, end_ms, std::chrono::seconds(5));
  ASSERT_FALSE(events.empty());

  std::map<std::string, SimTruth> recount;
  for (const auto& q : o.queues) recount[q];
  struct CallSeen {
    std::int64_t offered_ms = -1;
    std::string outcome;
    std::string agent;
    std::uint32_t wait_ms = 0;
    int voice = 0;
  };
  std::map<std::string, CallSeen> calls;
  std::map<std::string, std::string> agent_call;  // agent -> call it is on
  std::int64_t last_ms = kStartMs;
  for (const auto& e : events) {
    ASSERT_GE(e.time_ms, last_ms) << e.line;
    ASSERT_LE(e.time_ms, end_ms) << e.line;
    last_ms = e.time_ms;
    if (e.type == 3) {
      auto& c = calls[e.call_id];
      EXPECT_EQ(c.outcome, "completed") << e.line;
      ++c.voice;
      EXPECT_GE(e.voice.mos, 4.0);
      continue;
    }
    if (e.type == 2) {
      EXPECT_TRUE(e.link.up);
      continue;
    }
    if (e.type != 0) continue;
    ASSERT_EQ(recount.count(e.queue), 1U) << e.line;
    SimTruth& t = recount[e.queue];
    CallSeen& c = calls[e.call_id];
    switch (e.call.kind) {
      case CallKind::kOffered:
        EXPECT_EQ(c.offered_ms, -1) << "call id reused: " << e.line;
        EXPECT_GE(e.call.position, 1U);
        EXPECT_EQ(e.caller_id.rfind("+1555000", 0), 0U) << e.line;
        c.offered_ms = e.time_ms;
        ++t.offered;
        break;
      case CallKind::kAnswered:
        EXPECT_TRUE(c.outcome.empty()) << e.line;
        EXPECT_EQ(e.time_ms - c.offered_ms, e.call.wait_ms) << e.line;
        EXPECT_TRUE(agent_call[e.agent_name].empty()) << "agent busy: " << e.line;
        agent_call[e.agent_name] = e.call_id;
        c.outcome = "answered";
        c.agent = e.agent_name;
        c.wait_ms = e.call.wait_ms;
        ++t.answered;
        if (e.call.wait_ms <= 20000) ++t.answered_within_20s;
        break;
      case CallKind::kAbandoned:
        EXPECT_TRUE(c.outcome.empty()) << e.line;
        EXPECT_EQ(e.time_ms - c.offered_ms, e.call.wait_ms) << e.line;
        c.outcome = "abandoned";
        ++t.abandoned;
        if (e.call.wait_ms < 5000) ++t.short_abandoned_5s;
        break;
      case CallKind::kUnanswered:
        EXPECT_TRUE(c.outcome.empty()) << e.line;
        EXPECT_EQ(e.call.reason, UnansweredReason::kTimeout);
        EXPECT_GE(e.call.wait_ms, 600000U);
        c.outcome = "timed_out";
        ++t.timed_out;
        break;
      case CallKind::kCompleted:
        EXPECT_EQ(c.outcome, "answered") << e.line;
        EXPECT_EQ(c.agent, e.agent_name) << e.line;
        EXPECT_EQ(c.wait_ms, e.call.wait_ms) << e.line;
        EXPECT_EQ(e.call.acw_ms, 0U);
        EXPECT_NE(e.call.hung_up_by, Party::kUnknown);
        EXPECT_EQ(agent_call[e.agent_name], e.call_id);
        agent_call[e.agent_name].clear();
        c.outcome = "completed";
        ++t.completed;
        break;
      default:
        ADD_FAILURE() << "unexpected call kind: " << e.line;
    }
  }

  const auto& truth = sim.truth();
  ASSERT_EQ(truth.size(), o.queues.size());
  std::uint64_t offered = 0;
  for (const auto& [queue, t] : truth) {
    SCOPED_TRACE(queue);
    const SimTruth& r = recount[queue];
    EXPECT_EQ(t.offered, r.offered);
    EXPECT_EQ(t.answered, r.answered);
    EXPECT_EQ(t.answered_within_20s, r.answered_within_20s);
    EXPECT_EQ(t.abandoned, r.abandoned);
    EXPECT_EQ(t.short_abandoned_5s, r.short_abandoned_5s);
    EXPECT_EQ(t.timed_out, r.timed_out);
    EXPECT_EQ(t.completed, r.completed);
    EXPECT_LE(t.answered + t.abandoned + t.timed_out, t.offered);
    EXPECT_LE(t.answered_within_20s, t.answered);
    EXPECT_LE(t.short_abandoned_5s, t.abandoned);
    EXPECT_LE(t.completed, t.answered);
    EXPECT_GT(t.answered, 0U);
    EXPECT_GT(t.abandoned, 0U);
    offered += t.offered;
  }
  // 3 queues x 2/min x 120 min, scaled by the morning part of the intraday curve.
  EXPECT_GT(offered, 300U);
  EXPECT_LT(offered, 2000U);
  for (const auto& [id, c] : calls) {
    EXPECT_EQ(c.voice, c.outcome == "completed" ? 1 : 0) << id;
  }
  EXPECT_FALSE(sim.WanDown(kStartMs + 60 * kMinuteMs));
}

TEST(SimulatorTest, AgentsStartReadyInEveryQueueAndTakeBreaks) {
  SimulatorOptions o;
  const auto events = Simulate(o, 120 * kMinuteMs, std::chrono::seconds(10));
  std::map<std::string, std::set<std::string>> membership;
  std::set<std::string> reasons;
  for (const auto& e : events) {
    if (e.type != 1) continue;
    if (!e.queue.empty()) membership[e.agent_name].insert(e.queue);
    if (e.agent.state == AgentState::kNotReady) reasons.insert(e.reason);
  }
  ASSERT_EQ(membership.size(), 12U);
  EXPECT_TRUE(membership.count("agent-01"));
  EXPECT_TRUE(membership.count("agent-12"));
  for (const auto& [agent, queues] : membership) {
    EXPECT_EQ(queues, (std::set<std::string>{"billing", "support", "sales"})) << agent;
  }
  EXPECT_TRUE(reasons.count("break"));
  for (const auto& r : reasons) EXPECT_TRUE(r == "break" || r == "lunch") << r;
}

TEST(SimulatorTest, TruthTextHasOneSortedLinePerQueue) {
  SimulatorOptions o;
  Simulator sim(o, kStartMs);
  Simulate(sim, kStartMs + 30 * kMinuteMs, std::chrono::minutes(1));
  std::string expected;
  for (const auto& [queue, t] : sim.truth()) {
    expected += queue + " " + std::to_string(t.offered) + " " + std::to_string(t.answered) + " " +
                std::to_string(t.answered_within_20s) + " " + std::to_string(t.abandoned) + " " +
                std::to_string(t.short_abandoned_5s) + " " + std::to_string(t.timed_out) + " " +
                std::to_string(t.completed) + "\n";
  }
  EXPECT_EQ(sim.TruthText(), expected);
  EXPECT_EQ(sim.TruthText().rfind("billing ", 0), 0U);
  EXPECT_NE(sim.TruthText().find("\nsales "), std::string::npos);
  EXPECT_NE(sim.TruthText().find("\nsupport "), std::string::npos);
}

TEST(SimulatorTest, TyphoonHalvesLoggedInAgentsWithinTenMinutes) {
  const SimulatorOptions o = Scenario("typhoon");
  const auto events = Simulate(o, 30 * kMinuteMs);
  const std::int64_t begin = DisasterBeginMs(o);
  std::map<std::string, bool> logged_in;
  auto count = [&logged_in] {
    return std::count_if(logged_in.begin(), logged_in.end(),
                         [](const auto& kv) { return kv.second; });
  };
  long before = -1;
  long lowest = 1000;
  for (const auto& e : events) {
    if (e.time_ms >= begin && before < 0) before = count();
    if (e.type == 1) logged_in[e.agent_name] = e.agent.state != AgentState::kLoggedOut;
    if (e.time_ms >= begin && e.time_ms <= begin + 10 * kMinuteMs) {
      lowest = std::min<long>(lowest, count());
    }
  }
  EXPECT_EQ(before, 12);
  EXPECT_LE(lowest * 2, before);
  // Staff come back when the window ends.
  EXPECT_EQ(count(), 12);
}

TEST(SimulatorTest, VoiceDegradationLowersMosInWindowOnly) {
  const SimulatorOptions o = Scenario("voice-degradation");
  const auto events = Simulate(o, 30 * kMinuteMs);
  double in_sum = 0, out_sum = 0;
  int in_n = 0, out_n = 0;
  for (const auto& e : events) {
    if (e.type != 3) continue;
    if (e.time_ms >= DisasterBeginMs(o) && e.time_ms < DisasterEndMs(o)) {
      in_sum += e.voice.mos;
      ++in_n;
    } else {
      out_sum += e.voice.mos;
      ++out_n;
    }
  }
  ASSERT_GE(in_n, 5);
  ASSERT_GE(out_n, 20);
  EXPECT_LT(in_sum / in_n, 3.5);
  EXPECT_GT(out_sum / out_n, 4.0);
}

TEST(SimulatorTest, SurgeMoreThanDoublesArrivals) {
  SimulatorOptions o = Scenario("surge");
  o.disaster_at_s = 1800;
  o.disaster_for_s = 1800;
  const auto events = Simulate(o, 60 * kMinuteMs);
  int before = 0, during = 0;
  for (const auto& e : events) {
    if (!IsCall(e, CallKind::kOffered)) continue;
    if (e.time_ms < DisasterBeginMs(o)) {
      ++before;
    } else if (e.time_ms < DisasterEndMs(o)) {
      ++during;
    }
  }
  // Same window length, so counts compare as rates.
  ASSERT_GT(before, 50);
  EXPECT_GT(during, 2 * before);
}

TEST(SimulatorTest, WanOutageOnlyInsideWindow) {
  const SimulatorOptions o = Scenario("wan-outage");
  Simulator sim(o, kStartMs);
  const std::int64_t begin = DisasterBeginMs(o);
  const std::int64_t end = DisasterEndMs(o);
  EXPECT_FALSE(sim.WanDown(kStartMs));
  EXPECT_FALSE(sim.WanDown(begin - 1));
  EXPECT_TRUE(sim.WanDown(begin));
  EXPECT_TRUE(sim.WanDown(end - 1));
  EXPECT_FALSE(sim.WanDown(end));
  EXPECT_FALSE(sim.WanDown(end + 60 * kMinuteMs));

  const auto events = Simulate(sim, kStartMs + 15 * kMinuteMs, std::chrono::seconds(1));
  int down = 0, up = 0;
  for (const auto& e : events) {
    if (e.type != 2) continue;
    EXPECT_EQ(e.link_name, "wan");
    const bool in_window = e.time_ms >= begin && e.time_ms < end;
    EXPECT_EQ(e.link.up, !in_window) << e.line;
    if (in_window) {
      EXPECT_EQ(e.link.loss_ratio, 1.0);
      ++down;
    } else {
      EXPECT_EQ(e.link.loss_ratio, 0.0);
      EXPECT_GT(e.link.rtt_ms, 10.0);
      EXPECT_LT(e.link.rtt_ms, 100.0);
      ++up;
    }
  }
  EXPECT_EQ(down, 36);  // 180 s window, a sample every 5 s
  EXPECT_GT(up, 100);
}

TEST(SimulatorTest, NormalScenarioHasNoWanOutage) {
  SimulatorOptions o;
  Simulator sim(o, kStartMs);
  EXPECT_FALSE(sim.WanDown(DisasterBeginMs(o)));
  EXPECT_FALSE(sim.WanDown(DisasterBeginMs(o) + 1000));
}

TEST(SimulatorTest, KnownScenarioAcceptsExactlyTheFiveNames) {
  for (const char* name : {"normal", "typhoon", "wan-outage", "voice-degradation", "surge"}) {
    EXPECT_TRUE(Simulator::KnownScenario(name)) << name;
  }
  for (const char* name : {"", "Normal", "wan_outage", "earthquake", "surge "}) {
    EXPECT_FALSE(Simulator::KnownScenario(name)) << name;
  }
}

}  // namespace
}  // namespace ccmon::agent
