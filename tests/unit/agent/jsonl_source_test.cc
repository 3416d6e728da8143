#include "sources/jsonl_source.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ccmon::agent
