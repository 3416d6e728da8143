#include "ccmon/agent/queue_log.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace ccmon::agent {
namespace {

struct Tally {
  std::map<CallKind, int> calls;
  std::map<UnansweredReason, int> unanswered;
  int reconstructed = 0;
  int states = 0;
  std::vector<std::uint32_t> answered_waits;
};

// Feeds lines through parser and state machine, tallying what comes out per queue.
struct Harness {
  std::map<std::string, Tally> by_queue;
  std::vector<std::pair<std::string, AgentState>> states;
  QueueLogStateMachine machine{[this](const Event& e) { Record(e); }};

  void Record(const Event& e) {
    if (const auto* c = std::get_if<CallEvent>(&e.body)) {
      Tally& t = by_queue[std::string(c->queue)];
      ++t.calls[c->kind];
      if (c->kind == CallKind::kUnanswered) ++t.unanswered[c->reason];
      if (c->reconstructed) ++t.reconstructed;
      if (c->kind == CallKind::kAnswered) t.answered_waits.push_back(c->wait_ms);
    } else if (const auto* s = std::get_if<AgentStateEvent>(&e.body)) {
      states.emplace_back(std::string(s->agent), s->state);
    }
  }

  void Feed(std::string_view text) {
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t nl = text.find('\n', start);
      if (nl == std::string_view::npos) nl = text.size();
      QueueLogLine l;
      auto& st = machine.mutable_stats();
      ++st.lines;
      const ParseResult r = ParseQueueLogLine(text.substr(start, nl - start), &l);
      if (r.status == ParseStatus::kOk) machine.Process(l);
      if (r.status == ParseStatus::kBlank) ++st.blank;
      if (r.status == ParseStatus::kMalformed) ++st.malformed;
      start = nl + 1;
    }
  }
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(QueueLogParseTest, SplitsFields) {
  QueueLogLine l;
  ASSERT_EQ(
      ParseQueueLogLine("1546015425|1546015415.757927|201|Paty Marin|CONNECT|10|x.1|9", &l).status,
      ParseStatus::kOk);
  EXPECT_EQ(l.time_ms, 1546015425000);
  EXPECT_EQ(l.call_id, "1546015415.757927");
  EXPECT_EQ(l.queue, "201");
  EXPECT_EQ(l.agent, "Paty Marin");
  EXPECT_EQ(l.event, "CONNECT");
  ASSERT_EQ(l.data_count, 3u);
  EXPECT_EQ(l.data[0], "10");
  EXPECT_EQ(l.data[2], "9");
}

TEST(QueueLogParseTest, FractionalTimestampsAndCrLf) {
  QueueLogLine l;
  ASSERT_EQ(ParseQueueLogLine("1546015425.25|c|q|a|ABANDON|1|1|3\r", &l).status, ParseStatus::kOk);
  EXPECT_EQ(l.time_ms, 1546015425250);
  EXPECT_EQ(l.data[2], "3");
}

TEST(QueueLogParseTest, LeadingNulBytesAreSkipped) {
  std::string line(78, '\0');
  line += "1665492726|NONE|NONE|NONE|QUEUESTART|";
  QueueLogLine l;
  ASSERT_EQ(ParseQueueLogLine(line, &l).status, ParseStatus::kOk);
  EXPECT_EQ(l.event, "QUEUESTART");
}

// A power cut can zero the unwritten tail of a line up to where the next line starts: the
// next line is read, and the torn text before the zeros is reported, not read.
TEST(QueueLogParseTest, ALineAfterZerosInTheMiddleOfOneIsRead) {
  std::string line = "1700000000|1700000000.1|support|SIP/1001|CONN";
  line += std::string(78, '\0');
  line += "1700000050|1700000050.2|support|NONE|ENTERQUEUE||5551234|1";
  QueueLogLine l;
  const ParseResult r = ParseQueueLogLine(line, &l);
  ASSERT_EQ(r.status, ParseStatus::kOk) << r.error;
  EXPECT_TRUE(r.torn_prefix);
  EXPECT_EQ(l.event, "ENTERQUEUE");
  EXPECT_EQ(l.call_id, "1700000050.2");
  EXPECT_EQ(l.time_ms, 1700000050000);
  const ParseResult only = ParseQueueLogLine(line.substr(0, 45 + 78), &l);
  EXPECT_EQ(only.status, ParseStatus::kBlank);
  EXPECT_TRUE(only.torn_prefix);
  EXPECT_FALSE(
      ParseQueueLogLine(std::string(78, '\0') + "1665492726|NONE|NONE|NONE|QUEUESTART|", &l)
          .torn_prefix);
  // The zeros ended inside the next line's timestamp: what is left is not a time.
  const ParseResult cut = ParseQueueLogLine("1700000000|1700000000.1|sup" + std::string(20, '\0') +
                                                "700000123|1.9|support|NONE|CONNECT|5",
                                            &l);
  EXPECT_EQ(cut.status, ParseStatus::kMalformed);
  EXPECT_TRUE(cut.torn_prefix);
}

TEST(QueueLogParseTest, RejectsMalformedLines) {
  QueueLogLine l;
  EXPECT_EQ(ParseQueueLogLine("", &l).status, ParseStatus::kBlank);
  EXPECT_EQ(ParseQueueLogLine(std::string(5, '\0'), &l).status, ParseStatus::kBlank);
  EXPECT_EQ(ParseQueueLogLine("garbage", &l).status, ParseStatus::kMalformed);
  EXPECT_EQ(ParseQueueLogLine("abc|c|q|a|CONNECT", &l).status, ParseStatus::kMalformed);
  EXPECT_EQ(ParseQueueLogLine("-5|c|q|a|CONNECT", &l).status, ParseStatus::kMalformed);
  EXPECT_EQ(ParseQueueLogLine("12|c|q|a|", &l).status, ParseStatus::kMalformed);
  EXPECT_EQ(ParseQueueLogLine("12|c|q\x01|a|X", &l).status, ParseStatus::kMalformed);
  EXPECT_EQ(ParseQueueLogLine("99999999999999999999|c|q|a|X", &l).status, ParseStatus::kMalformed);
}

// Names saved in Latin-1 (an old queues.conf) are not UTF-8, which protobuf strings require:
// the line is read as Latin-1, so the call and its agent keep one consistent name, and valid
// UTF-8 (or plain ASCII) is left untouched.
TEST(QueueLogParseTest, InvalidUtf8IsReadAsLatin1) {
  QueueLogLine l;
  ASSERT_EQ(ParseQueueLogLine("1795600825|c1|caf\xe9|Jos\xe9|CONNECT|15|c1.2|3", &l).status,
            ParseStatus::kOk);
  EXPECT_TRUE(l.was_recoded);
  EXPECT_EQ(l.queue, "caf\xc3\xa9");
  EXPECT_EQ(l.agent, "Jos\xc3\xa9");
  EXPECT_EQ(l.data[0], "15");
  ASSERT_EQ(ParseQueueLogLine("1795600825|c1|caf\xc3\xa9|SIP/1|CONNECT|15|c1.2|3", &l).status,
            ParseStatus::kOk);
  EXPECT_FALSE(l.was_recoded);
  EXPECT_EQ(l.queue, "caf\xc3\xa9");
  // Overlong forms and surrogates are not UTF-8 either.
  ASSERT_EQ(ParseQueueLogLine("1795600825|c1|q\xc0\xaf|SIP/1|CONNECT|15|c1.2|3", &l).status,
            ParseStatus::kOk);
  EXPECT_TRUE(l.was_recoded);
  EXPECT_EQ(l.queue, "q\xc3\x80\xc2\xaf");
  ASSERT_EQ(ParseQueueLogLine("1795600825|c1|q\xed\xa0\x80|SIP/1|CONNECT|15|c1.2|3", &l).status,
            ParseStatus::kOk);
  EXPECT_TRUE(l.was_recoded);
}

TEST(QueueLogParseTest, ExtraFieldsStayInTheLastDataField) {
  QueueLogLine l;
  ASSERT_EQ(ParseQueueLogLine("1|c|q|a|INFO|1|2|3|4|5|6|7|8", &l).status, ParseStatus::kOk);
  EXPECT_EQ(l.data[5], "6|7|8");
}

TEST(QueueLogStateMachineTest, BasicFileMatchesHandComputedFigures) {
  Harness h;
  h.Feed(ReadFile(std::string(CCMON_TEST_DATA) + "/queue_log.basic"));
  const Tally& b = h.by_queue["billing"];
  EXPECT_EQ(b.calls.at(CallKind::kOffered), 5);
  EXPECT_EQ(b.calls.at(CallKind::kAnswered), 3);
  EXPECT_EQ(b.answered_waits, (std::vector<std::uint32_t>{15000, 20000, 45000}));
  EXPECT_EQ(b.calls.at(CallKind::kAbandoned), 2);
  EXPECT_EQ(b.calls.at(CallKind::kCompleted), 2);
  EXPECT_EQ(b.calls.at(CallKind::kTransferred), 1);
  EXPECT_EQ(b.calls.at(CallKind::kRingNoAnswer), 1);
  const Tally& s = h.by_queue["support"];
  EXPECT_EQ(s.calls.at(CallKind::kOffered), 6);
  EXPECT_EQ(s.calls.at(CallKind::kAnswered), 1);
  EXPECT_EQ(s.calls.at(CallKind::kTransferred), 1);  // the 6-field ATTENDEDTRANSFER LINK form
  EXPECT_EQ(s.unanswered.at(UnansweredReason::kTimeout), 1);
  EXPECT_EQ(s.unanswered.at(UnansweredReason::kKey), 1);
  EXPECT_EQ(s.unanswered.at(UnansweredReason::kEmpty), 1);
  EXPECT_EQ(s.unanswered.at(UnansweredReason::kWithdraw), 1);
  EXPECT_EQ(b.reconstructed + s.reconstructed, 0);
  const auto& st = h.machine.stats();
  EXPECT_EQ(st.malformed, 1u);
  EXPECT_EQ(st.blank, 1u);
  EXPECT_EQ(st.duplicates, 1u);
  EXPECT_EQ(st.unknown_kinds, 1u);
  EXPECT_EQ(st.ignored, 2u);  // QUEUESTART, DID
  // Three ADDMEMBERs, PAUSE and UNPAUSE.
  ASSERT_EQ(h.states.size(), 5u);
  EXPECT_EQ(h.states[3], std::make_pair(std::string("SIP/101"), AgentState::kNotReady));
  EXPECT_EQ(h.states[4], std::make_pair(std::string("SIP/101"), AgentState::kReady));
}

TEST(QueueLogStateMachineTest, TransferredCallReportsTalkAndHold) {
  std::vector<CallEvent> out;
  std::vector<std::string> agents;
  QueueLogStateMachine m([&](const Event& e) {
    if (const auto* c = std::get_if<CallEvent>(&e.body)) {
      out.push_back(*c);
      agents.emplace_back(c->agent);
    }
  });
  QueueLogLine l;
  for (const char* line : {"100|c1|q|NONE|ENTERQUEUE||+1555|1", "110|c1|q|SIP/1|CONNECT|10|x|2",
                           "200|c1|q|SIP/1|TRANSFER|2000|ctx|10|90|1"}) {
    ASSERT_EQ(ParseQueueLogLine(line, &l).status, ParseStatus::kOk);
    m.Process(l);
  }
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].kind, CallKind::kTransferred);
  EXPECT_EQ(out[2].wait_ms, 10000u);
  EXPECT_EQ(out[2].talk_ms, 90000u);
  EXPECT_EQ(agents[2], "SIP/1");
}

TEST(QueueLogStateMachineTest, DuplicatesAndOrphansInProductionFixture) {
  // xalakox fixture: 6 repeated ENTERQUEUE lines for a finished call, a CONNECT and a
  // COMPLETECALLER whose ENTERQUEUE is missing, the same COMPLETEAGENT four times.
  const std::string path =
      std::string(CCMON_REALDATA) + "/asterisk/xalakox__asterisk2slack/queue_log";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "real data absent: " << path;
  Harness h;
  h.Feed(ReadFile(path));
  const Tally& q = h.by_queue["201"];
  // Calls: .757927 (entered, answered 10 s, completed), .761192 (entered, answered 14 s),
  // .760296 (CONNECT 6 s without entry: offer reconstructed; completed once),
  // .760166 (COMPLETECALLER only: offer and answer at 10 s reconstructed).
  EXPECT_EQ(q.calls.at(CallKind::kOffered), 4);
  EXPECT_EQ(q.calls.at(CallKind::kAnswered), 4);
  EXPECT_EQ(q.calls.at(CallKind::kCompleted), 3);
  EXPECT_EQ(q.reconstructed, 3);
  EXPECT_EQ(h.machine.stats().duplicates, 9u);
  EXPECT_EQ(h.machine.stats().blank, 2u);
  EXPECT_EQ(h.machine.stats().malformed, 0u);
}

TEST(QueueLogStateMachineTest, NulPrefixedLineInRealRotationIsRead) {
  const std::string path =
      std::string(CCMON_REALDATA) + "/asterisk/karthik0112__synk_bug/queue_log";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "real data absent: " << path;
  Harness h;
  h.Feed(ReadFile(path));
  const Tally& q = h.by_queue["500"];
  EXPECT_EQ(q.calls.at(CallKind::kOffered), 2);
  EXPECT_EQ(q.calls.at(CallKind::kAbandoned), 2);
  EXPECT_EQ(h.machine.stats().malformed, 0u);
  EXPECT_EQ(h.machine.stats().unknown_kinds, 0u);
  // 7 ADDMEMBER + 7 REMOVEMEMBER + 7 UNPAUSE + 7 UNPAUSEALL.
  EXPECT_EQ(h.states.size(), 28u);
}

TEST(QueueLogStateMachineTest, SavedStateResumesOpenCalls) {
  std::vector<CallEvent> out;
  auto sink = [&](const Event& e) {
    if (const auto* c = std::get_if<CallEvent>(&e.body)) out.push_back(*c);
  };
  QueueLogLine l;
  QueueLogStateMachine first(sink);
  ASSERT_EQ(ParseQueueLogLine("100|c1|q|NONE|ENTERQUEUE||+1555|1", &l).status, ParseStatus::kOk);
  first.Process(l);
  const std::string saved = first.SaveState();
  QueueLogStateMachine second(sink);
  ASSERT_TRUE(second.RestoreState(saved));
  ASSERT_EQ(ParseQueueLogLine("110|c1|q|SIP/1|CONNECT|10|x|2", &l).status, ParseStatus::kOk);
  second.Process(l);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(out[1].reconstructed);  // the offer was known: nothing reconstructed
  EXPECT_FALSE(second.RestoreState("QLSM1\x05garbage"));
  EXPECT_TRUE(second.RestoreState(""));
}

// A machine with a dedupe memory of `max_tracked` calls, fed line by line; its call events.
struct Fed {
  std::vector<CallEvent> out;
  QueueLogStateMachine m;
  explicit Fed(std::size_t max_tracked) : m([this](const Event& e) { Record(e); }, max_tracked) {}
  void Record(const Event& e) {
    if (const auto* c = std::get_if<CallEvent>(&e.body)) out.push_back(*c);
  }
  static void Feed(QueueLogStateMachine& machine, const std::string& line) {
    QueueLogLine l;
    ASSERT_EQ(ParseQueueLogLine(line, &l).status, ParseStatus::kOk) << line;
    machine.Process(l);
  }
  void Feed(const std::string& line) { Feed(m, line); }
};

// The saved state holds exactly the calls still open, in the order they began, however many
// ended calls are kept for dedupe; a call id begun again after it ended stays open when its
// first ending is forgotten, and a restored machine saves the same state again.
TEST(QueueLogStateMachineTest, SavedStateHoldsTheOpenCallsOnly) {
  Fed f(3);
  f.Feed("1795600800|a|q|NONE|ENTERQUEUE||+1|1");
  f.Feed("1795600801|a|q|NONE|ABANDON|1|1|1");
  f.Feed("1795600802|a|q|NONE|ENTERQUEUE||+1|1");  // a begun again
  f.Feed("1795600803|b|q|NONE|ENTERQUEUE||+2|1");
  for (int i = 0; i < 5; ++i) {  // more endings than are kept: a's first one is forgotten
    const std::string id = "x" + std::to_string(i);
    f.Feed("179560081" + std::to_string(i) + "|" + id + "|q|NONE|ENTERQUEUE||+3|1");
    f.Feed("179560081" + std::to_string(i) + "|" + id + "|q|NONE|ABANDON|1|1|0");
  }
  const std::string saved = f.m.SaveState();
  QueueLogStateMachine restored([&f](const Event& e) { f.Record(e); });
  ASSERT_TRUE(restored.RestoreState(saved));
  EXPECT_EQ(restored.SaveState(), saved);
  f.out.clear();
  Fed::Feed(restored, "1795600830|a|q|SIP/1|CONNECT|28|x|2");
  Fed::Feed(restored, "1795600831|b|q|SIP/2|CONNECT|28|y|2");
  ASSERT_EQ(f.out.size(), 2u);
  for (const auto& c : f.out) {
    EXPECT_EQ(c.kind, CallKind::kAnswered) << c.call_id;
    EXPECT_FALSE(c.reconstructed) << c.call_id;  // both were still open
  }
  // Only a and b: the ended calls are not in it.
  EXPECT_EQ(saved.find("x0"), std::string::npos);
  EXPECT_NE(saved.find("a|q"), std::string::npos);
  EXPECT_NE(saved.find("b|q"), std::string::npos);
}

// A call id that ended, began again and ended again is remembered from its last ending: when
// the first ending is forgotten, a repeated line of the second is still a duplicate, not a new
// call.
TEST(QueueLogStateMachineTest, ACallEndedTwiceIsRememberedFromItsLastEnding) {
  Fed f(3);
  f.Feed("1795600800|a|q|NONE|ENTERQUEUE||+1|1");
  f.Feed("1795600801|a|q|NONE|ABANDON|1|1|1");
  f.Feed("1795600802|a|q|NONE|ENTERQUEUE||+1|1");
  f.Feed("1795600803|a|q|NONE|ABANDON|1|1|1");
  f.Feed("1795600804|x|q|NONE|ENTERQUEUE||+2|1");
  f.Feed("1795600805|x|q|NONE|ABANDON|1|1|1");
  f.Feed("1795600806|y|q|NONE|ENTERQUEUE||+3|1");
  f.Feed("1795600807|y|q|NONE|ABANDON|1|1|1");  // a's first ending is forgotten here
  const std::size_t events = f.out.size();
  const std::uint64_t duplicates = f.m.stats().duplicates;
  f.Feed("1795600803|a|q|NONE|ABANDON|1|1|1");  // the second ending's line, read again
  EXPECT_EQ(f.out.size(), events);
  EXPECT_EQ(f.m.stats().duplicates, duplicates + 1);
}

}  // namespace
}  // namespace ccmon::agent
