#include "sources/jsonl_source.h"

#include <gtest/gtest.h>

#include <fstream>

#include "ccmon/v1/events.pb.h"

namespace ccmon::agent {
namespace {

TEST(JsonlParseTest, AcceptsEveryEventKindInProtobufJson) {
  v1::Event storage;
  Event e;
  EXPECT_EQ(JsonlSource::Parse(R"({"eventTimeMs":"1795600800000","call":{"kind":"KIND_ANSWERED",)"
                               R"("queue":"billing","callId":"c1","waitMs":12000,"agent":"ann"}})",
                               &storage, &e),
            "");
  const auto& c = std::get<CallEvent>(e.body);
  EXPECT_EQ(e.time_ms, 1795600800000);
  EXPECT_EQ(c.kind, CallKind::kAnswered);
  EXPECT_EQ(c.queue, "billing");
  EXPECT_EQ(c.wait_ms, 12000u);
  // snake_case field names and numeric int64 work too (FreeSWITCH exporters write either).
  EXPECT_EQ(JsonlSource::Parse(R"({"event_time_ms":1795600800000,"agent_state":{"agent":"bob",)"
                               R"("state":"STATE_NOT_READY","reason":"lunch"}})",
                               &storage, &e),
            "");
  EXPECT_EQ(std::get<AgentStateEvent>(e.body).reason, "lunch");
  EXPECT_EQ(JsonlSource::Parse(R"({"eventTimeMs":"1795600800000","voice":{"queue":"q",)"
                               R"("jitterMs":12.5,"lossRatio":0.02,"rttMs":180}})",
                               &storage, &e),
            "");
  EXPECT_DOUBLE_EQ(std::get<VoiceQuality>(e.body).loss_ratio, 0.02);
}

TEST(JsonlParseTest, RejectsBadLinesWithAReason) {
  v1::Event storage;
  Event e;
  EXPECT_NE(JsonlSource::Parse("not json", &storage, &e).find("not a ccmon event"),
            std::string::npos);
  EXPECT_NE(JsonlSource::Parse(R"({"eventTimeMs":"1","call":{"queu":"x"}})", &storage, &e)
                .find("not a ccmon event"),
            std::string::npos);  // misspelt field
  EXPECT_NE(JsonlSource::Parse(R"({"call":{"kind":"KIND_OFFERED","queue":"x"}})", &storage, &e)
                .find("event_time_ms"),
            std::string::npos);
  EXPECT_NE(JsonlSource::Parse(R"({"eventTimeMs":"5"})", &storage, &e).find("no event body"),
            std::string::npos);
  EXPECT_NE(JsonlSource::Parse(R"({"eventTimeMs":"5","call":{"kind":"KIND_NOPE"}})", &storage, &e),
            "");
}

// A line over the limit is skipped whole while reading in small chunks, also when the agent
// restarts from a cursor saved in the middle of it: the rest of it is not read as a line of
// its own, and the lines after it keep their numbers.
TEST(JsonlSourceTest, OversizedLineIsSkippedAcrossChunksAndRestarts) {
  const std::string path = ::testing::TempDir() + "/oversized.jsonl";
  auto good = [](int id) {
    return R"({"eventTimeMs":"1795600800000","call":{"kind":"KIND_OFFERED","queue":"q","callId":"c)" +
           std::to_string(id) + "\"}}\n";
  };
  {
    std::ofstream out(path, std::ios::trunc);
    out << good(1) << std::string(10000, 'x') << "\n" << good(2) << good(3);
  }
  std::vector<std::string> ids;
  auto sink = [&](const Event& e) { ids.emplace_back(std::get<CallEvent>(e.body).call_id); };
  std::string cursor;
  {
    JsonlSource src(path, sink, false);
    src.set_limits(1024, 2048);
    std::string err;
    ASSERT_TRUE(src.Start("", true, &err)) << err;
    src.Poll();  // line 1 and the start of the long one
    src.Poll();
    EXPECT_TRUE(src.more());
    cursor = src.Cursor();
    EXPECT_NE(cursor.find(" skip"), std::string::npos) << cursor;
  }
  JsonlSource src(path, sink, false);
  src.set_limits(1024, 2048);
  std::string err;
  ASSERT_TRUE(src.Start(cursor, false, &err)) << err;
  while (src.Poll() > 0 || src.more()) {
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"c1", "c2", "c3"}));
  EXPECT_EQ(src.stats().rejected, 0u) << "the long line's tail was parsed as a line";
  // The cursor's head is "dev ino offset lines [skip] [tail=...]": 4 lines read.
  std::istringstream head(src.Cursor());
  std::uint64_t dev = 0, ino = 0, offset = 0, lines = 0;
  ASSERT_TRUE(head >> dev >> ino >> offset >> lines) << src.Cursor();
  EXPECT_EQ(lines, 4u) << src.Cursor();
}

// A power cut zeroes a JSONL line's unwritten end, and the writer appends after the zeros:
// the torn text is one rejected line, the line after the zeros is read, within the limit or
// over it (the zeros alone over it).
TEST(JsonlSourceTest, ZerosEndATornLineAndTheNextLineIsRead) {
  const std::string path = ::testing::TempDir() + "/zeros.jsonl";
  auto good = [](int id) {
    return R"({"eventTimeMs":"1795600800000","call":{"kind":"KIND_OFFERED","queue":"q","callId":"c)" +
           std::to_string(id) + "\"}}\n";
  };
  {
    std::ofstream out(path, std::ios::trunc | std::ios::binary);
    out << good(1) << R"({"eventTimeMs":"17956)" << std::string(100, '\0') << good(2)
        << std::string(5000, '\0') << good(3);
  }
  std::vector<std::string> ids;
  JsonlSource src(
      path, [&](const Event& e) { ids.emplace_back(std::get<CallEvent>(e.body).call_id); }, false);
  src.set_limits(1024, 1 << 20);
  std::string err;
  ASSERT_TRUE(src.Start("", true, &err)) << err;
  src.Poll();
  EXPECT_EQ(ids, (std::vector<std::string>{"c1", "c2", "c3"}));
  EXPECT_EQ(src.stats().rejected, 1u);  // the torn line before the first zeros
  EXPECT_EQ(src.oversized_lines(), 0u);
}

}  // namespace
}  // namespace ccmon::agent
