// Asterisk as it really logs: each test feeds a hand-written queue_log pattern (or a real
// PBX's log) through the parser and state machine and checks the events against counts worked
// out by hand from the lines, with the Asterisk behaviour each rule follows named.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ccmon/agent/asterisk_config.h"
#include "ccmon/agent/queue_log.h"

namespace ccmon::agent {
namespace {

struct Out {
  std::int64_t t = 0;
  CallEvent call;  // views copied into the owned strings below
  std::string queue, call_id, agent;
  bool is_state = false;
  AgentState state = AgentState::kReady;
};

// Feeds lines and keeps every event with owned strings.
struct Machine {
  std::vector<Out> out;
  QueueLogStateMachine m;

  explicit Machine(QueueLogOptions o = {})
      : m([this](const Event& e) { Record(e); }, std::move(o)) {}

  void Record(const Event& e) {
    Out o;
    o.t = e.time_ms;
    if (const auto* c = std::get_if<CallEvent>(&e.body)) {
      o.call = *c;
      o.queue = c->queue;
      o.call_id = c->call_id;
      o.agent = c->agent;
    } else if (const auto* s = std::get_if<AgentStateEvent>(&e.body)) {
      o.is_state = true;
      o.state = s->state;
      o.queue = s->queue;
      o.agent = s->agent;
    } else {
      return;
    }
    out.push_back(std::move(o));
  }

  void Feed(std::string_view text) {
    while (!text.empty()) {
      const auto nl = text.find('\n');
      QueueLogLine l;
      if (ParseQueueLogLine(text.substr(0, nl), &l).status == ParseStatus::kOk) m.Process(l);
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    }
  }

  int Count(std::string_view queue, CallKind kind) const {
    return static_cast<int>(std::count_if(out.begin(), out.end(), [&](const Out& o) {
      return !o.is_state && o.queue == queue && o.call.kind == kind;
    }));
  }
  const Out* Find(std::string_view queue, CallKind kind, int nth = 0) const {
    for (const auto& o : out) {
      if (!o.is_state && o.queue == queue && o.call.kind == kind && nth-- == 0) return &o;
    }
    return nullptr;
  }
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

QueueLogOptions FromDir(const std::string& dir) {
  AsteriskConfig ac;
  std::string err;
  EXPECT_TRUE(LoadAsteriskConfig(dir, {}, &ac, &err)) << err;
  QueueLogOptions o;
  ApplyAsteriskConfig(ac, &o);
  return o;
}

// Attended transfers into a queue as app_queue.c logs them (log_attended_transfer writes one
// line per queue call in the transfer, after the channels swapped ids), from the lines of
// asterisk/asterisk#759 (tests/data/queue_log.attended_transfer):
// 1. Agent 1 answers the caller in support, dials sales (the consultation enters sales under
//    its own id, caller id 7009) and completes the transfer before sales answers ("APP|Queue"):
//    support's ATTENDEDTRANSFER carries the consultation's id; sales' CONNECT and COMPLETE then
//    carry the caller's id, which never entered sales. The caller entered each queue once:
//    support answered 8 s, transferred after 62 - 8 = 54 s of talk; sales answered after 15 s
//    (the consultation's entry, which the caller took over), completed after 225 s.
// 2. The transfer after Agent 2 answered the consultation ("BRIDGE"): one line per queue call,
//    in the same second, each under its own id; nothing follows. Both calls end transferred.
TEST(QueueLogPatternsTest, AttendedTransferIntoAQueueIsOneCallPerQueue) {
  for (const bool with_config : {true, false}) {
    Machine h(with_config ? FromDir(std::string(CCMON_TEST_DATA) + "/asterisk")
                          : QueueLogOptions{});
    h.Feed(ReadFile(std::string(CCMON_TEST_DATA) + "/queue_log.attended_transfer"));
    h.m.Advance(1795603680000 + 2 * 3600 * 1000);  // nothing left open to close as lost
    for (const char* q : {"support", "sales"}) {
      EXPECT_EQ(h.Count(q, CallKind::kOffered), 2) << q;
      EXPECT_EQ(h.Count(q, CallKind::kAnswered), 2) << q;
      EXPECT_EQ(h.Count(q, CallKind::kUnanswered), 0) << q;
    }
    EXPECT_EQ(h.Count("support", CallKind::kTransferred), 2);
    EXPECT_EQ(h.Count("sales", CallKind::kCompleted), 1);
    EXPECT_EQ(h.Count("sales", CallKind::kTransferred), 1);
    for (const auto& o : h.out) EXPECT_FALSE(!o.is_state && o.call.reconstructed);
    const Out* x = h.Find("support", CallKind::kTransferred, 0);
    ASSERT_NE(x, nullptr);
    EXPECT_EQ(x->t, 1795600062000);
    EXPECT_EQ(x->call_id, "1795600000.10");
    EXPECT_EQ(x->agent, "Agent 1");
    EXPECT_EQ(x->call.talk_ms, 54000u);
    EXPECT_EQ(h.Find("sales", CallKind::kAnswered, 0)->call.wait_ms, 15000u);
    EXPECT_EQ(h.Find("sales", CallKind::kAnswered, 0)->agent, "Agent 2");
    EXPECT_EQ(h.Find("sales", CallKind::kCompleted, 0)->call.talk_ms, 225000u);
    EXPECT_EQ(h.Find("support", CallKind::kTransferred, 1)->call.talk_ms, 75000u);
    EXPECT_EQ(h.Find("sales", CallKind::kTransferred, 0)->call.talk_ms, 17000u);
    EXPECT_EQ(h.m.stats().transfer_merges, 1u);
    EXPECT_EQ(h.m.stats().duplicates, 0u);
    if (with_config) {
      // Support's wrapuptime from the template; Agent 2's own 5 s in sales.
      EXPECT_EQ(x->call.acw_ms, 15000u);
      EXPECT_EQ(h.Find("sales", CallKind::kCompleted, 0)->call.acw_ms, 5000u);
    }
  }
}

// Case 2 with its two lines in the other order gives the same counts.
TEST(QueueLogPatternsTest, AttendedTransferLinesInEitherOrder) {
  Machine h;
  h.Feed(
      "1795603600|C2|support|NONE|ENTERQUEUE||+15550111|1\n"
      "1795603605|C2|support|Agent 1|CONNECT|5|C2b|2\n"
      "1795603660|X2|sales|NONE|ENTERQUEUE||7009|1\n"
      "1795603663|X2|sales|Agent 2|CONNECT|3|X2b|3\n"
      "1795603680|C2|support|Agent 1|ATTENDEDTRANSFER|BRIDGE|c9a1|5|75|1\n"
      "1795603680|X2|sales|Agent 2|ATTENDEDTRANSFER|BRIDGE|c9a1|3|17|1\n");
  EXPECT_EQ(h.Count("support", CallKind::kTransferred), 1);
  EXPECT_EQ(h.Count("sales", CallKind::kTransferred), 1);
  EXPECT_EQ(h.Count("sales", CallKind::kOffered), 1);
  // The caller re-enters sales later under the same id: a new call, not the old one.
  h.Feed(
      "1795604000|C2|sales|NONE|ENTERQUEUE||+15550111|1\n"
      "1795604004|C2|sales|Agent 3|CONNECT|4|C2c|1\n");
  EXPECT_EQ(h.Count("sales", CallKind::kOffered), 2);
  EXPECT_EQ(h.Count("sales", CallKind::kAnswered), 2);
}

// A lost outcome line: L1's ABANDON has a NUL byte mid-line and is rejected, so L1 has no
// outcome. With max_wait 600 s it is closed as lost at entry + 600 s (…600) with a 600 s wait;
// L2 is unaffected. Calls waiting never freeze.
TEST(QueueLogPatternsTest, CallWithLostOutcomeLineIsClosedAsLost) {
  QueueLogOptions o;
  o.max_wait_ms = 600 * 1000;
  Machine h(o);
  std::string text =
      "1795600000|L1|support|NONE|ENTERQUEUE||+15550200|1\n"
      "1795600010|L2|support|NONE|ENTERQUEUE||+15550201|2\n"
      "1795600030|L2|support|Agent 1|CONNECT|20|L2b|5\n"
      "1795600040|L1|support|NONE|ABAN?DON|1|1|40\n"
      "1795600400|L2|support|Agent 1|COMPLETEAGENT|20|370|2\n";
  text[text.find('?')] = '\0';
  h.Feed(text);
  EXPECT_EQ(h.Count("support", CallKind::kUnanswered), 0);  // not yet: 400 s < 600 s
  h.m.Advance(1795600599000);
  EXPECT_EQ(h.Count("support", CallKind::kUnanswered), 0);
  h.m.Advance(1795600600000);
  const Out* lost = h.Find("support", CallKind::kUnanswered);
  ASSERT_NE(lost, nullptr);
  EXPECT_EQ(lost->call.reason, UnansweredReason::kLost);
  EXPECT_EQ(lost->call_id, "L1");
  EXPECT_EQ(lost->t, 1795600000000);  // dated at its entry, with the wait it was given up at
  EXPECT_EQ(lost->call.wait_ms, 600000u);
  EXPECT_TRUE(lost->call.reconstructed);
  EXPECT_EQ(h.Count("support", CallKind::kOffered), 2);
  EXPECT_EQ(h.Count("support", CallKind::kCompleted), 1);
  EXPECT_EQ(h.m.stats().lost, 1u);
  // A late real outcome for a call closed as lost is not counted twice.
  h.Feed("1795600700|L1|support|NONE|ABANDON|1|1|700\n");
  EXPECT_EQ(h.Count("support", CallKind::kAbandoned), 0);
}

// Empty or garbage wait fields (Asterisk writes "%ld"): the wait is recomputed from the call's
// ENTERQUEUE when it was read, else the step is flagged wait_unknown so the collector leaves
// it out of SL instead of counting 0 s (an answer within threshold, a short abandon).
TEST(QueueLogPatternsTest, MissingWaitIsRecomputedOrFlaggedUnknown) {
  Machine h;
  h.Feed(
      "100|E1|q|NONE|ENTERQUEUE||+1|1\n"
      "130|E1|q|Agent 1|CONNECT||E1b|2\n"     // recomputed: 130 - 100 = 30 s
      "200|E2|q|Agent 2|CONNECT|abc|E2b|1\n"  // no ENTERQUEUE: unknown
      "300|E3|q|NONE|ENTERQUEUE||+3|1\n"
      "303|E3|q|NONE|ABANDON|1|1|\n"    // recomputed: 3 s
      "400|E4|q|NONE|ABANDON|1|1|-5\n"  // no ENTERQUEUE: unknown
      "500|E5|q|NONE|ENTERQUEUE||+5|1\n"
      "512|E5|q|NONE|EXITWITHKEY|5|1|1|x\n"             // recomputed: 12 s
      "600|E6|q|Agent 3|CONNECT|99999999999|E6b|1\n");  // 3 171 years: unknown, not clamped
  const Out* a1 = h.Find("q", CallKind::kAnswered, 0);
  const Out* a2 = h.Find("q", CallKind::kAnswered, 1);
  ASSERT_TRUE(a1 && a2);
  EXPECT_EQ(a1->call.wait_ms, 30000u);
  EXPECT_FALSE(a1->call.wait_unknown);
  EXPECT_TRUE(a2->call.wait_unknown);
  const Out* ab1 = h.Find("q", CallKind::kAbandoned, 0);
  const Out* ab2 = h.Find("q", CallKind::kAbandoned, 1);
  ASSERT_TRUE(ab1 && ab2);
  EXPECT_EQ(ab1->call.wait_ms, 3000u);
  EXPECT_FALSE(ab1->call.wait_unknown);
  EXPECT_TRUE(ab2->call.wait_unknown);
  EXPECT_EQ(h.Find("q", CallKind::kUnanswered)->call.wait_ms, 12000u);
  const Out* a3 = h.Find("q", CallKind::kAnswered, 2);
  ASSERT_TRUE(a3);
  EXPECT_TRUE(a3->call.wait_unknown);
  EXPECT_EQ(h.m.stats().invalid_wait, 6u);
  EXPECT_EQ(h.m.stats().wait_recomputed, 3u);
  EXPECT_EQ(h.Count("q", CallKind::kOffered), 6);  // E2, E4 and E6 reconstructed
}

// RINGCANCELED is written when the caller hangs up (or leaves) while members ring
// (app_queue.c wait_for_answer): not the member's no-answer. RINGNOANSWER is.
TEST(QueueLogPatternsTest, RingCanceledIsTheCallersEvent) {
  Machine h;
  h.Feed(
      "100|R1|q|NONE|ENTERQUEUE||+1|1\n"
      "105|R1|q|Agent 1|RINGNOANSWER|5000\n"
      "112|R1|q|Agent 2|RINGCANCELED|7000\n"
      "112|R1|q|NONE|ABANDON|1|1|12\n");
  EXPECT_EQ(h.Count("q", CallKind::kRingNoAnswer), 1);
  EXPECT_EQ(h.Find("q", CallKind::kRingNoAnswer)->agent, "Agent 1");
  EXPECT_EQ(h.Count("q", CallKind::kAbandoned), 1);
  EXPECT_EQ(h.Find("q", CallKind::kAbandoned)->call.wait_ms, 12000u);
  EXPECT_EQ(h.m.stats().ring_canceled, 1u);
}

// wrapuptime: after each call the member is in after-call work for the queue's wrapuptime
// (app_queue.c get_wrapuptime: the member's own value first), counted in the call's handle
// time, then ready. A pause during wrap-up ends it (the pause wins).
TEST(QueueLogPatternsTest, WrapupTimeIsAfterCallWork) {
  QueueLogOptions o;
  o.wrapup_ms["q"] = 10000;
  Machine h(o);
  h.Feed(
      "100|W1|q|NONE|ENTERQUEUE||+1|1\n"
      "104|W1|q|Agent 1|CONNECT|4|W1b|1\n"
      "160|W1|q|Agent 1|COMPLETECALLER|4|56|1\n");
  const Out* done = h.Find("q", CallKind::kCompleted);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->call.talk_ms, 56000u);
  EXPECT_EQ(done->call.acw_ms, 10000u);
  ASSERT_TRUE(h.out.back().is_state);
  EXPECT_EQ(h.out.back().state, AgentState::kAfterCallWork);
  EXPECT_EQ(h.out.back().t, 160000);
  h.m.Advance(169999);
  EXPECT_EQ(h.out.back().state, AgentState::kAfterCallWork);
  h.m.Advance(170000);
  EXPECT_EQ(h.out.back().state, AgentState::kReady);
  EXPECT_EQ(h.out.back().t, 170000);
  // Second call, paused during wrap-up for a break: no ready at the wrap-up's end.
  h.Feed(
      "200|W2|q|NONE|ENTERQUEUE||+2|1\n"
      "202|W2|q|Agent 1|CONNECT|2|W2b|1\n"
      "230|W2|q|Agent 1|COMPLETEAGENT|2|28|1\n"
      "233|NONE|q|Agent 1|PAUSE|Lunch\n");
  h.m.Advance(300000);
  EXPECT_EQ(h.out.back().state, AgentState::kNotReady);
  // An unpause during wrap-up changes nothing until the wrap-up ends (can_ring_entry).
  h.Feed(
      "500|W3|q|NONE|ENTERQUEUE||+3|1\n"
      "502|W3|q|Agent 1|CONNECT|2|W3b|1\n"
      "530|W3|q|Agent 1|COMPLETEAGENT|2|28|1\n"
      "532|NONE|q|Agent 1|UNPAUSE|\n");
  EXPECT_EQ(h.out.back().state, AgentState::kAfterCallWork);
  h.m.Advance(540000);
  EXPECT_EQ(h.out.back().state, AgentState::kReady);
  EXPECT_EQ(h.out.back().t, 540000);
  // A pause during the call outlives the wrap-up: not ready at its end, not ready again.
  h.Feed(
      "560|W4|q|NONE|ENTERQUEUE||+4|1\n"
      "562|W4|q|Agent 1|CONNECT|2|W4b|1\n"
      "570|NONE|q|Agent 1|PAUSE|Coaching\n"
      "590|W4|q|Agent 1|COMPLETECALLER|2|28|1\n");
  EXPECT_EQ(h.out.back().state, AgentState::kAfterCallWork);
  h.m.Advance(600000);
  EXPECT_EQ(h.out.back().state, AgentState::kNotReady);
  EXPECT_EQ(h.out.back().t, 600000);
}

// After-call work done by pausing (agent desktops): a pause whose reason is listed in
// acw_pause_reasons is the after_call_work state, and when it follows a call (within 10 s of
// its end, or set during it) its span is that call's after-call work: the call's end is held
// until the pause ends and counted then, as ACDs count handled calls, with acw_ms = the span
// (or the wrapuptime if longer).
TEST(QueueLogPatternsTest, AfterCallWorkByPausingIsInHandleTime) {
  QueueLogOptions o;
  o.acw_pause_reasons = {"Wrapup"};
  Machine h(o);
  auto last_state = [&h] {
    for (auto it = h.out.rbegin(); it != h.out.rend(); ++it) {
      if (it->is_state) return *it;
    }
    return Out{};
  };
  // 1. Paused for wrap-up 3 s after the call, for 40 s.
  h.Feed(
      "100|NONE|q|Agent 1|ADDMEMBER|\n"
      "110|A1|q|NONE|ENTERQUEUE||+1|1\n"
      "112|A1|q|Agent 1|CONNECT|2|A1b|1\n"
      "150|A1|q|Agent 1|COMPLETECALLER|2|38|1\n");
  EXPECT_EQ(h.Count("q", CallKind::kCompleted), 0);   // held: a wrap-up pause may follow
  EXPECT_EQ(last_state().state, AgentState::kReady);  // what the member is meanwhile
  EXPECT_EQ(last_state().t, 150000);
  h.Feed("153|NONE|q|Agent 1|PAUSE|Wrapup\n");
  EXPECT_EQ(last_state().state, AgentState::kAfterCallWork);
  h.m.Advance(190000);
  EXPECT_EQ(h.Count("q", CallKind::kCompleted), 0);  // still in after-call work
  h.Feed("193|NONE|q|Agent 1|UNPAUSE|\n");
  const Out* a1 = h.Find("q", CallKind::kCompleted, 0);
  ASSERT_NE(a1, nullptr);
  EXPECT_EQ(a1->call_id, "A1");
  EXPECT_EQ(a1->t, 193000);
  EXPECT_EQ(a1->call.talk_ms, 38000u);
  EXPECT_EQ(a1->call.acw_ms, 40000u);
  // 2. No pause within 10 s: counted as it ended, with no after-call work.
  h.Feed(
      "200|A2|q|NONE|ENTERQUEUE||+2|1\n"
      "201|A2|q|Agent 1|CONNECT|1|A2b|1\n"
      "230|A2|q|Agent 1|COMPLETEAGENT|1|29|1\n");
  h.m.Advance(240000);  // a pause stamped 240 would still count
  EXPECT_EQ(h.Count("q", CallKind::kCompleted), 1);
  h.m.Advance(240001);
  const Out* a2 = h.Find("q", CallKind::kCompleted, 1);
  ASSERT_NE(a2, nullptr);
  EXPECT_EQ(a2->t, 230000);
  EXPECT_EQ(a2->call.acw_ms, 0u);
  // 3. A break (a reason not listed) right after the call is not after-call work.
  h.Feed(
      "300|A3|q|NONE|ENTERQUEUE||+3|1\n"
      "301|A3|q|Agent 1|CONNECT|1|A3b|1\n"
      "330|A3|q|Agent 1|COMPLETEAGENT|1|29|1\n"
      "332|NONE|q|Agent 1|PAUSE|Lunch\n");
  const Out* a3 = h.Find("q", CallKind::kCompleted, 2);
  ASSERT_NE(a3, nullptr);
  EXPECT_EQ(a3->t, 330000);
  EXPECT_EQ(a3->call.acw_ms, 0u);
  EXPECT_EQ(last_state().state, AgentState::kNotReady);
  // 4. Wrap-up pause set during the call, forgotten: counted for 30 minutes at most.
  h.Feed(
      "400|NONE|q|Agent 1|UNPAUSE|\n"
      "410|A4|q|NONE|ENTERQUEUE||+4|1\n"
      "411|A4|q|Agent 1|CONNECT|1|A4b|1\n"
      "420|NONE|q|Agent 1|PAUSE|Wrapup\n"
      "440|A4|q|Agent 1|COMPLETECALLER|1|29|1\n");
  EXPECT_EQ(h.Count("q", CallKind::kCompleted), 3);
  // Saved and restored meanwhile (an agent restart): the held end survives.
  Machine r(o);
  ASSERT_TRUE(r.m.RestoreState(h.m.SaveState()));
  r.m.Advance(440000 + 30 * 60 * 1000);
  const Out* a4 = r.Find("q", CallKind::kCompleted, 0);
  ASSERT_NE(a4, nullptr);
  EXPECT_EQ(a4->call_id, "A4");
  EXPECT_EQ(a4->t, 440000 + 30 * 60 * 1000);
  EXPECT_EQ(a4->call.acw_ms, 30u * 60 * 1000);
  // 5. The end of an import releases what is held, the pause ending at the last line.
  h.Feed("500|NONE|q|Agent 1|UNPAUSEALL|\n");  // releases A4 here: 60 s of after-call work
  EXPECT_EQ(h.Find("q", CallKind::kCompleted, 3)->call.acw_ms, 60000u);
  h.Feed(
      "510|A5|q|NONE|ENTERQUEUE||+5|1\n"
      "511|A5|q|Agent 1|CONNECT|1|A5b|1\n"
      "520|A5|q|Agent 1|COMPLETECALLER|1|9|1\n"
      "521|NONE|q|Agent 1|PAUSE|Wrapup\n"
      "530|NONE|q|Agent 2|ADDMEMBER|\n");
  h.m.ReleaseAllHeld();
  const Out* a5 = h.Find("q", CallKind::kCompleted, 4);
  ASSERT_NE(a5, nullptr);
  EXPECT_EQ(a5->t, 530000);
  EXPECT_EQ(a5->call.acw_ms, 9000u);
}

// A pause outlives the call it was taken in: after the wrap-up the member is in the state the
// pause gave (after-call work for a reason named so); a logout ends it, so the member added
// again is ready after the next call.
TEST(QueueLogPatternsTest, APauseLastsUntilUnpauseOrLogout) {
  QueueLogOptions o;
  o.wrapup_ms["q"] = 10000;
  o.acw_pause_reasons = {"Wrapup"};
  Machine h(o);
  h.Feed(
      "100|NONE|q|Agent 1|ADDMEMBER|\n"
      "110|P1|q|NONE|ENTERQUEUE||+1|1\n"
      "112|P1|q|Agent 1|CONNECT|2|P1b|1\n"
      "120|NONE|q|Agent 1|PAUSE|Wrapup\n"
      "150|P1|q|Agent 1|COMPLETECALLER|2|38|1\n");
  h.m.Advance(160000);
  EXPECT_EQ(h.out.back().t, 160000);
  EXPECT_EQ(h.out.back().state, AgentState::kAfterCallWork);
  h.Feed(
      "200|NONE|q|Agent 1|REMOVEMEMBER|\n"
      "300|NONE|q|Agent 1|ADDMEMBER|\n"
      "310|P2|q|NONE|ENTERQUEUE||+2|1\n"
      "312|P2|q|Agent 1|CONNECT|2|P2b|1\n"
      "350|P2|q|Agent 1|COMPLETECALLER|2|38|1\n");
  h.m.Advance(360000);
  EXPECT_EQ(h.out.back().t, 360000);
  EXPECT_EQ(h.out.back().state, AgentState::kReady);
}

// The agent restarted (state saved and restored), then Asterisk: the call in progress ends at
// the last time the saved machine knew the PBX alive, not at 0 s of talk.
TEST(QueueLogPatternsTest, RestartAfterTheAgentRestartedUsesTheSavedClock) {
  Machine a;
  a.Feed(
      "100|R1|q|NONE|ENTERQUEUE||+1|1\n"
      "110|R1|q|Agent 1|CONNECT|10|R1b|1\n");
  a.m.Advance(170000);  // the source's clock ran on after the last line
  Machine b;
  ASSERT_TRUE(b.m.RestoreState(a.m.SaveState()));
  b.Feed("400|NONE|NONE|NONE|QUEUESTART|\n");
  const Out* done = b.Find("q", CallKind::kCompleted);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->t, 170000);
  EXPECT_EQ(done->call.talk_ms, 60000u);
  EXPECT_TRUE(done->call.reconstructed);
}

// With wrapuptime as well: a wrap-up pause taken during the wrap-up (here 30 s) belongs to the
// call and counts from the call's end (Asterisk kept the member from calls since); the member
// is told ready at the call's end only when no wrap-up says otherwise; a restart ends an open
// wrap-up pause at the old process's last line, not at the 30-minute cap.
TEST(QueueLogPatternsTest, AfterCallWorkByPausingWithWrapupAndRestart) {
  QueueLogOptions o;
  o.wrapup_ms["q"] = 30000;
  o.acw_pause_reasons = {"Wrapup"};
  Machine h(o);
  h.Feed(
      "100|NONE|q|Agent 1|ADDMEMBER|\n"
      "110|B1|q|NONE|ENTERQUEUE||+1|1\n"
      "112|B1|q|Agent 1|CONNECT|2|B1b|1\n"
      "150|B1|q|Agent 1|COMPLETECALLER|2|38|1\n");
  ASSERT_TRUE(h.out.back().is_state);
  EXPECT_EQ(h.out.back().state, AgentState::kAfterCallWork);  // the wrap-up, not "ready"
  h.Feed(
      "175|NONE|q|Agent 1|PAUSE|Wrapup\n"
      "240|NONE|q|Agent 1|UNPAUSE|\n");
  const Out* b1 = h.Find("q", CallKind::kCompleted);
  ASSERT_NE(b1, nullptr);
  EXPECT_EQ(b1->t, 240000);
  EXPECT_EQ(b1->call.acw_ms, 90000u);  // 150 -> 240
  // A pause open when Asterisk died: ended at the last line before QUEUESTART.
  h.Feed(
      "300|B2|q|NONE|ENTERQUEUE||+2|1\n"
      "301|B2|q|Agent 1|CONNECT|1|B2b|1\n"
      "320|B2|q|Agent 1|COMPLETECALLER|1|19|1\n"
      "321|NONE|q|Agent 1|PAUSE|Wrapup\n"
      "400|NONE|NONE|NONE|CONFIGRELOAD|\n"
      "9000|NONE|NONE|NONE|QUEUESTART|\n");
  const Out* b2 = h.Find("q", CallKind::kCompleted, 1);
  ASSERT_NE(b2, nullptr);
  EXPECT_EQ(b2->t, 400000);
  EXPECT_EQ(b2->call.acw_ms, 80000u);  // 320 -> 400
}

// A member removed during a call and added again within the wrap-up is ready at once: a
// member added anew has no last call for the wrap-up to follow (only an unpause waits).
TEST(QueueLogPatternsTest, ALoginEndsTheWrapup) {
  QueueLogOptions o;
  o.wrapup_ms["q"] = 30000;
  Machine h(o);
  h.Feed(
      "100|NONE|q|Agent 1|ADDMEMBER|\n"
      "110|L1|q|NONE|ENTERQUEUE||+1|1\n"
      "112|L1|q|Agent 1|CONNECT|2|L1b|1\n"
      "120|NONE|q|Agent 1|REMOVEMEMBER|\n"
      "150|L1|q|Agent 1|COMPLETECALLER|2|38|1\n"
      "160|NONE|q|Agent 1|ADDMEMBER|\n");
  ASSERT_TRUE(h.out.back().is_state);
  EXPECT_EQ(h.out.back().state, AgentState::kReady);
  EXPECT_EQ(h.out.back().t, 160000);
  h.m.Advance(200000);  // the wrap-up's timer says nothing more
  EXPECT_EQ(h.out.back().t, 160000);
}

// One line hours away from the others (a PBX booting with a wrong clock before NTP, a
// corrupt timestamp) does not carry the timers off: a waiting call is not closed as lost by
// it. Three lines in a row agreeing on the new time are a real step (a backfill's night).
TEST(QueueLogPatternsTest, OneLineFarAwayDoesNotStepTheClock) {
  QueueLogOptions o;
  o.max_wait_ms = 600 * 1000;
  Machine h(o);
  h.Feed(
      "1795600000|S1|q|NONE|ENTERQUEUE||+1|1\n"
      "1795700000|NONE|NONE|NONE|CONFIGRELOAD|\n"
      "1795600020|S1|q|Agent 1|CONNECT|20|S1b|1\n");
  EXPECT_EQ(h.Count("q", CallKind::kUnanswered), 0);
  EXPECT_EQ(h.Count("q", CallKind::kAnswered), 1);
  EXPECT_EQ(h.m.stats().clock_steps, 0u);
  h.Feed(
      "1795610000|S2|q|NONE|ENTERQUEUE||+2|1\n"
      "1795700000|NONE|NONE|NONE|CONFIGRELOAD|\n"
      "1795700001|NONE|NONE|NONE|CONFIGRELOAD|\n"
      "1795700002|NONE|NONE|NONE|CONFIGRELOAD|\n");
  EXPECT_EQ(h.m.stats().clock_steps, 1u);
  const Out* lost = h.Find("q", CallKind::kUnanswered);
  ASSERT_NE(lost, nullptr);
  EXPECT_EQ(lost->call_id, "S2");
  EXPECT_EQ(lost->call.wait_ms, 600000u);
}

// Per agent, the time spent in each state from the events, as the collector accrues it.
std::map<std::string, std::map<AgentState, std::int64_t>> StateSeconds(const std::vector<Out>& out,
                                                                       std::int64_t end_ms) {
  std::map<std::string, std::pair<AgentState, std::int64_t>> cur;
  std::map<std::string, std::map<AgentState, std::int64_t>> total;
  for (const auto& o : out) {
    if (!o.is_state) continue;
    if (auto it = cur.find(o.agent); it != cur.end()) {
      total[o.agent][it->second.first] += o.t - it->second.second;
    }
    cur[o.agent] = {o.state, o.t};
  }
  for (const auto& [agent, s] : cur) total[agent][s.first] += end_ms - s.second;
  for (auto& [agent, by] : total) {
    for (auto& [state, ms] : by) ms /= 1000;
  }
  return total;
}

// The karthik0112 Issabel log (both rotations) with a queues.conf written for it: members
// are added over AMI by interface (SIP/1000, SIP/1001) while UNPAUSE names the person, so
// each ADDMEMBER is bound to the name Asterisk writes in the same second. One person is one
// agent, REMOVEMEMBER logs that person out, and a static member (Reception) is on the roster
// from the first line although it never logs anything. No call was ever answered, so occupancy
// is 0 for everyone; ready time is the sum of each person's ADDMEMBER..REMOVEMEMBER spans.
TEST(QueueLogPatternsTest, RealLogOnePersonIsOneAgent) {
  const std::string dir = std::string(CCMON_REALDATA) + "/asterisk/karthik0112__synk_bug";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "real data absent: " << dir;
  AsteriskConfig ac;
  std::string err;
  ASSERT_TRUE(ParseQueuesConf(
      "[500]\nwrapuptime=5\nservicelevel=20\n"
      "member => SIP/1002,0,Reception\n",
      "queues.conf", [](const std::string&) { return std::nullopt; }, &ac, &err))
      << err;
  QueueLogOptions o;
  ApplyAsteriskConfig(ac, &o);
  Machine h(o);
  h.Feed(ReadFile(dir + "/queue_log-20220707"));
  h.Feed(ReadFile(dir + "/queue_log"));
  const std::int64_t end = 1666843983000;
  h.m.Advance(end);
  std::map<std::string, AgentState> last;
  for (const auto& s : h.out) {
    if (s.is_state) last[s.agent] = s.state;
  }
  std::vector<std::string> names;
  names.reserve(last.size());
  for (const auto& [name, state] : last) names.push_back(name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"Agent 1", "Karthik", "Reception", "Sathish", "karthik"}));
  for (const auto& [name, state] : last) {
    EXPECT_EQ(state, name == "Reception" ? AgentState::kReady : AgentState::kLoggedOut) << name;
  }
  const auto secs = StateSeconds(h.out, end);
  // Ready spans by hand from the ADDMEMBER/REMOVEMEMBER pairs:
  // Agent 1: 249 + 733 + 10 + 7307 + 1545 + 3 + 9 = 9856; Karthik: 72;
  // karthik: 106 + 13 + 1769 = 1888; Sathish: 44 + 4 + 4 + 4130 = 4182.
  EXPECT_EQ(secs.at("Agent 1").at(AgentState::kReady), 9856);
  EXPECT_EQ(secs.at("Karthik").at(AgentState::kReady), 72);
  EXPECT_EQ(secs.at("karthik").at(AgentState::kReady), 1888);
  EXPECT_EQ(secs.at("Sathish").at(AgentState::kReady), 4182);
  for (const auto& [name, by] : secs) {
    const std::int64_t busy =
        (by.count(AgentState::kOnCall) ? by.at(AgentState::kOnCall) : 0) +
        (by.count(AgentState::kAfterCallWork) ? by.at(AgentState::kAfterCallWork) : 0);
    EXPECT_EQ(busy, 0) << name << ": occupancy must be 0 with no call answered";
  }
  EXPECT_EQ(h.m.stats().members_bound, 4u);  // SIP/1001 to Karthik, karthik, Sathish; SIP/1000
}

// Property: whatever outcome lines are lost, no call waits longer than its queue's maximum:
// at every event's time each offered call without an outcome has waited at most max_wait, and
// once the clock passes the last entry + max_wait nothing waits.
TEST(QueueLogPatternsTest, NoCallWaitsLongerThanItsQueueMaximum) {
  for (std::uint32_t seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    QueueLogOptions o;
    o.max_wait_ms = 900 * 1000;
    o.max_wait_ms_by_queue["fast"] = 120 * 1000;
    std::map<std::string, std::int64_t> waiting;  // "id|queue" -> entered
    bool ok = true;
    std::int64_t now = 0;
    QueueLogStateMachine m(
        [&](const Event& e) {
          now = std::max(now, e.time_ms);
          const auto* c = std::get_if<CallEvent>(&e.body);
          if (c == nullptr) return;
          const std::string key = std::string(c->call_id) + "|" + std::string(c->queue);
          if (c->kind == CallKind::kOffered) {
            waiting[key] = e.time_ms;
          } else if (c->kind != CallKind::kRingNoAnswer) {
            waiting.erase(key);
          }
          for (const auto& [k, entered] : waiting) {
            const std::int64_t max = k.ends_with("|fast") ? 120000 : 900000;
            ok = ok && e.time_ms - entered <= max;
          }
        },
        o);
    std::vector<std::pair<std::int64_t, std::string>> lines;
    for (int i = 0; i < 200; ++i) {
      const std::int64_t t = 1795600000 + static_cast<std::int64_t>(rng() % 7200);
      const std::string q = rng() % 2 ? "fast" : "slow";
      const std::string id = "c" + std::to_string(i);
      lines.emplace_back(t, std::to_string(t) + "|" + id + "|" + q + "|NONE|ENTERQUEUE||+1|1");
      const auto wait = static_cast<std::int64_t>(rng() % 1500);
      switch (rng() % 4) {
        case 0:  // outcome line lost
          break;
        case 1:
          lines.emplace_back(t + wait, std::to_string(t + wait) + "|" + id + "|" + q +
                                           "|NONE|ABANDON|1|1|" + std::to_string(wait));
          break;
        default:
          lines.emplace_back(t + wait, std::to_string(t + wait) + "|" + id + "|" + q +
                                           "|Agent|CONNECT|" + std::to_string(wait) + "|x|1");
      }
    }
    std::stable_sort(lines.begin(), lines.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [t, text] : lines) {
      QueueLogLine l;
      ASSERT_EQ(ParseQueueLogLine(text, &l).status, ParseStatus::kOk) << text;
      m.Process(l);
    }
    m.Advance(lines.back().first * 1000 + 900 * 1000);
    EXPECT_TRUE(ok) << "seed " << seed << ": a call waited past its maximum";
    EXPECT_TRUE(waiting.empty()) << "seed " << seed << ": " << waiting.size() << " still waiting";
    EXPECT_GT(m.stats().lost, 0u) << "seed " << seed;
  }
}

// QUEUESTART is written once per Asterisk start: calls in progress died with the old process
// and no line will end them. Both end at the old process's last line (160 s, the last evidence
// of them): waiting ones are lost (dated at their entry), answered ones complete; with
// persistentmembers=no the dynamic members are gone, static ones are back.
TEST(QueueLogPatternsTest, RestartEndsCallsInProgress) {
  QueueLogOptions o;
  o.persistent_members = false;
  o.static_members.push_back({"q", "Static", false});
  Machine h(o);
  h.Feed(
      "100|MANAGER|q|Dyn|ADDMEMBER|\n"
      "110|A|q|NONE|ENTERQUEUE||+1|1\n"
      "115|A|q|Dyn|CONNECT|5|Ab|1\n"
      "120|B|q|NONE|ENTERQUEUE||+2|2\n"
      "160|NONE|NONE|NONE|CONFIGRELOAD|\n"
      "200|NONE|NONE|NONE|QUEUESTART|\n");
  const Out* lost = h.Find("q", CallKind::kUnanswered);
  ASSERT_NE(lost, nullptr);
  EXPECT_EQ(lost->call_id, "B");
  EXPECT_EQ(lost->call.reason, UnansweredReason::kLost);
  EXPECT_EQ(lost->t, 120000);
  EXPECT_EQ(lost->call.wait_ms, 40000u);
  EXPECT_TRUE(lost->call.reconstructed);
  const Out* done = h.Find("q", CallKind::kCompleted);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->t, 160000);
  EXPECT_EQ(done->call.talk_ms, 45000u);
  EXPECT_TRUE(done->call.reconstructed);
  std::map<std::string, AgentState> last;
  for (const auto& s : h.out) {
    if (s.is_state) last[s.agent] = s.state;
  }
  EXPECT_EQ(last.at("Dyn"), AgentState::kLoggedOut);
  EXPECT_EQ(last.at("Static"), AgentState::kReady);
}

// Binding an interface to a person only when nothing else can be meant: one ADDMEMBER per
// queue for the same interface, then the pause line, bind all of them; a pause of a member
// already logged in (colleagues logging in together) binds nothing; with
// log_membername_as_agent=yes the ADDMEMBER line names the member itself.
TEST(QueueLogPatternsTest, InterfaceBindingIsConservative) {
  Machine h;
  h.Feed(
      "100|MANAGER|q1|SIP/1000|ADDMEMBER|\n"
      "100|MANAGER|q2|SIP/1000|ADDMEMBER|\n"
      "100|NONE|NONE|Ana|UNPAUSEALL|\n"
      "150|NONE|q1|Bo|UNPAUSE|\n"  // Bo logs in through his own ADDMEMBER below
      "160|MANAGER|q1|SIP/1001|ADDMEMBER|\n"
      "160|NONE|q1|Ana|PAUSE|Break\n"  // Ana is logged in: not SIP/1001's name
      "300|MANAGER|q1|SIP/1000|REMOVEMEMBER|\n"
      "300|MANAGER|q2|SIP/1000|REMOVEMEMBER|\n");
  h.m.Advance(400000);
  std::map<std::string, AgentState> last;
  for (const auto& s : h.out) {
    if (s.is_state) last[s.agent] = s.state;
  }
  EXPECT_EQ(last.count("SIP/1000"), 0u);
  EXPECT_EQ(last.at("Ana"), AgentState::kLoggedOut);
  EXPECT_EQ(last.at("SIP/1001"), AgentState::kReady);  // unbound: the interface stands for it
  EXPECT_EQ(h.m.stats().members_bound, 1u);
  QueueLogOptions named;
  named.log_membername_as_agent = true;
  Machine n(named);
  n.Feed("100|MANAGER|q1|Ana|ADDMEMBER|\n");
  ASSERT_FALSE(n.out.empty());
  EXPECT_EQ(n.out.back().agent, "Ana");
}

// Asterisk matches queue names without regard to case: a dialplan's Queue(Support) logs
// "Support" on ENTERQUEUE while CONNECT names the configured [support]. With queues.conf the
// call is one call of "support".
TEST(QueueLogPatternsTest, QueueNamesMatchWithoutCase) {
  Machine h(FromDir(std::string(CCMON_TEST_DATA) + "/asterisk"));
  h.Feed(
      "100|K1|Support|NONE|ENTERQUEUE||+1|1\n"
      "104|K1|support|Agent 1|CONNECT|4|K1b|1\n"
      "150|K1|support|Agent 1|COMPLETEAGENT|4|46|1\n");
  EXPECT_EQ(h.Count("support", CallKind::kOffered), 1);
  EXPECT_EQ(h.Count("support", CallKind::kCompleted), 1);
  EXPECT_EQ(h.Count("Support", CallKind::kOffered), 0);
  for (const auto& o : h.out) EXPECT_FALSE(!o.is_state && o.call.reconstructed);
}

// State survives a restart: open calls, the caller's id naming a consultation's entry, the
// learned interface binding, wrap-up.
TEST(QueueLogPatternsTest, SavedStateKeepsTransfersBindingsAndWrapup) {
  QueueLogOptions o;
  o.wrapup_ms["support"] = 15000;
  Machine a(o);
  const std::string text = ReadFile(std::string(CCMON_TEST_DATA) + "/queue_log.attended_transfer");
  const auto cut = text.find("1795600075");  // after support's transfer line, before sales' CONNECT
  a.Feed(text.substr(0, cut));
  a.Feed("1795600070|MANAGER|sales|SIP/1001|ADDMEMBER|\n1795600070|NONE|NONE|Maria|UNPAUSEALL|\n");
  Machine b(o);
  ASSERT_TRUE(b.m.RestoreState(a.m.SaveState()));
  b.Feed(text.substr(cut));
  b.Feed("1795604000|MANAGER|sales|SIP/1001|REMOVEMEMBER|\n");
  EXPECT_EQ(b.Count("sales", CallKind::kAnswered), 2);  // case 1's under the caller's id
  EXPECT_EQ(b.Count("sales", CallKind::kOffered), 1);   // only case 2's consultation is new
  EXPECT_EQ(b.Count("sales", CallKind::kCompleted), 1);
  EXPECT_EQ(b.out.back().agent, "Maria");  // the binding came through the restart
  EXPECT_EQ(b.out.back().state, AgentState::kLoggedOut);
  // Old-format state (open calls only) still restores; garbage does not.
  EXPECT_TRUE(b.m.RestoreState(std::string("QLSM1")));
  EXPECT_FALSE(b.m.RestoreState(std::string("QLSM2\x01\x02", 7)));
}

}  // namespace
}  // namespace ccmon::agent
