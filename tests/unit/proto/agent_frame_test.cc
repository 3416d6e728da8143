// AgentFrame (the agent's request type) and AgentMessage (the collector's) are one wire
// format: a frame carrying spooled event bytes is, byte for byte, the AgentMessage with those
// events, and the collector's parser reads every kind of frame back unchanged.
#include <gtest/gtest.h>

#include <string>

#include "ccmon/v1/agent_frame.pb.h"
#include "ccmon/v1/ingest.pb.h"

namespace ccmon::v1 {
namespace {

Event OfferedCall(std::uint64_t seq, const std::string& call_id) {
  Event e;
  e.set_seq(seq);
  e.set_event_time_ms(1764900000000 + static_cast<std::int64_t>(seq));
  auto* c = e.mutable_call();
  c->set_kind(CallEvent::KIND_OFFERED);
  c->set_queue("billing");
  c->set_call_id(call_id);
  return e;
}

TEST(AgentFrameTest, ABatchOfEncodedEventsIsTheSameBytesAsTheEventBatch) {
  AgentMessage message;
  AgentFrame frame;
  for (std::uint64_t seq = 1; seq <= 300; ++seq) {  // lengths past one varint byte
    const Event e = OfferedCall(seq, "call-" + std::string(seq % 200, 'x'));
    *message.mutable_batch()->add_events() = e;
    frame.mutable_batch()->add_events(e.SerializeAsString());
  }
  const std::string bytes = frame.SerializeAsString();
  EXPECT_EQ(bytes, message.SerializeAsString());

  AgentMessage read;
  ASSERT_TRUE(read.ParseFromString(bytes));
  ASSERT_EQ(read.batch().events_size(), 300);
  EXPECT_EQ(read.batch().events(299).seq(), 300u);
  EXPECT_EQ(read.batch().events(299).call().call_id(), "call-" + std::string(100, 'x'));
}

TEST(AgentFrameTest, HelloAndStatusAreTheSameBytesAsTheirAgentMessages) {
  AgentFrame hello;
  hello.mutable_hello()->set_site("manila");
  hello.mutable_hello()->set_agent_instance("inst-1");
  hello.mutable_hello()->set_agent_version("1.2.3");
  AgentMessage hello_message;
  *hello_message.mutable_hello() = hello.hello();
  EXPECT_EQ(hello.SerializeAsString(), hello_message.SerializeAsString());

  AgentFrame status;
  status.mutable_status()->set_spool_backlog_events(42);
  status.mutable_status()->set_spool_paused(true);
  AgentMessage read;
  ASSERT_TRUE(read.ParseFromString(status.SerializeAsString()));
  ASSERT_EQ(read.msg_case(), AgentMessage::kStatus);
  EXPECT_EQ(read.status().spool_backlog_events(), 42u);
  EXPECT_TRUE(read.status().spool_paused());
}

// The two request types cannot drift apart: every field of AgentMessage (and of EventBatch)
// has its twin in AgentFrame (EncodedEventBatch) with the same number, name, oneof and wire
// type, events being bytes on the agent's side.
void ExpectTwins(const google::protobuf::Descriptor& wire,
                 const google::protobuf::Descriptor& frame) {
  ASSERT_EQ(wire.field_count(), frame.field_count()) << wire.full_name();
  for (int i = 0; i < wire.field_count(); ++i) {
    const auto* w = wire.field(i);
    const auto* f = frame.FindFieldByNumber(w->number());
    ASSERT_NE(f, nullptr) << w->full_name();
    EXPECT_EQ(f->name(), w->name());
    EXPECT_EQ(f->is_repeated(), w->is_repeated()) << w->full_name();
    EXPECT_EQ(f->containing_oneof() != nullptr, w->containing_oneof() != nullptr) << w->full_name();
    if (w->full_name() == "ccmon.v1.EventBatch.events") {
      EXPECT_EQ(f->type(), google::protobuf::FieldDescriptor::TYPE_BYTES);
    } else if (w->full_name() == "ccmon.v1.AgentMessage.batch") {
      ExpectTwins(*w->message_type(), *f->message_type());
    } else {
      EXPECT_EQ(f->type(), w->type()) << w->full_name();
      if (w->message_type() != nullptr) {
        EXPECT_EQ(f->message_type(), w->message_type()) << w->full_name();
      }
    }
  }
}

TEST(AgentFrameTest, EveryFieldOfTheCollectorsTypeHasItsTwin) {
  ExpectTwins(*AgentMessage::descriptor(), *AgentFrame::descriptor());
}

TEST(AgentFrameTest, AnEmptyBatchIsStillABatch) {
  AgentFrame frame;
  frame.mutable_batch();
  AgentMessage read;
  ASSERT_TRUE(read.ParseFromString(frame.SerializeAsString()));
  EXPECT_EQ(read.msg_case(), AgentMessage::kBatch);
  EXPECT_EQ(read.batch().events_size(), 0);
}

}  // namespace
}  // namespace ccmon::v1
