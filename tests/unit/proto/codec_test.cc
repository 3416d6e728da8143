// wire::DecodeBatch against hand-built wire bytes: what each field decodes to, the protobuf
// merge and oneof rules, and the exact boundary of what the generated parser accepts (which
// the differential fuzz target batch_fuzz explores at random).
#include "ccmon/wire/codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ccmon/v1/ingest.pb.h"

namespace ccmon::wire {
namespace {

// One length-delimited field: tag byte(s), length, bytes.
std::string Field(int number, const std::string& bytes) {
  std::string out;
  std::uint32_t tag = static_cast<std::uint32_t>(number) << 3 | 2;
  while (tag >= 0x80) {
    out += static_cast<char>(tag | 0x80);
    tag >>= 7;
  }
  out += static_cast<char>(tag);
  std::size_t n = bytes.size();
  while (n >= 0x80) {
    out += static_cast<char>(n | 0x80);
    n >>= 7;
  }
  out += static_cast<char>(n);
  return out + bytes;
}
std::string Events(const std::vector<std::string>& events) {
  std::string out;
  for (const auto& e : events) out += Field(1, e);
  return out;
}
bool Generated(const std::string& bytes) {
  v1::EventBatch batch;
  return batch.ParseFromString(bytes);
}

// Every field of a decoded heartbeat against what was encoded.
void ExpectHeartbeat(const Heartbeat& got, const Heartbeat& want) {
  EXPECT_EQ(got.agent_time_ms, want.agent_time_ms);
  EXPECT_EQ(got.spool_backlog_events, want.spool_backlog_events);
  EXPECT_EQ(got.spool_backlog_bytes, want.spool_backlog_bytes);
  EXPECT_EQ(got.events_dropped, want.events_dropped);
  EXPECT_EQ(got.agent_version, want.agent_version);
  EXPECT_EQ(got.interval_ms, want.interval_ms);
  EXPECT_EQ(got.spool_paused, want.spool_paused);
  EXPECT_EQ(got.lines_rejected, want.lines_rejected);
  EXPECT_EQ(got.replicas_given_up, want.replicas_given_up);
  EXPECT_EQ(got.sources_waiting, want.sources_waiting);
}

TEST(DecodeBatch, EveryFieldOfEveryBodyDecodesToItsValue) {
  v1::EventBatch batch;
  auto* e = batch.add_events();
  e->set_seq(7);
  e->set_event_time_ms(1795651200123);
  auto* c = e->mutable_call();
  c->set_kind(v1::CallEvent::KIND_COMPLETED);
  c->set_queue("billing");
  c->set_call_id("1700000000.42");
  c->set_agent("SIP/101");
  c->set_caller_id("+15551234567");
  c->set_wait_ms(12000);
  c->set_talk_ms(180000);
  c->set_hold_ms(5000);
  c->set_acw_ms(30000);
  c->set_ring_ms(4000);
  c->set_position(3);
  c->set_reason(v1::UNANSWERED_REASON_KEY);
  c->set_hung_up_by(v1::PARTY_AGENT);
  c->set_reconstructed(true);
  c->set_wait_unknown(true);
  auto* a = batch.add_events();
  a->set_seq(8);
  a->mutable_agent_state()->set_agent("SIP/102");
  a->mutable_agent_state()->set_queue("sales");
  a->mutable_agent_state()->set_state(v1::AgentStateEvent::STATE_NOT_READY);
  a->mutable_agent_state()->set_reason("lunch");
  auto* l = batch.add_events();
  l->set_seq(9);
  l->mutable_link()->set_link("wan-1");
  l->mutable_link()->set_rtt_ms(41.5);
  l->mutable_link()->set_jitter_ms(2.25);
  l->mutable_link()->set_loss_ratio(0.125);
  auto* v = batch.add_events();
  v->set_seq(10);
  v->mutable_voice()->set_call_id("c9");
  v->mutable_voice()->set_queue("q");
  v->mutable_voice()->set_agent("SIP/103");
  v->mutable_voice()->set_mos(3.5);
  v->mutable_voice()->set_jitter_ms(9);
  v->mutable_voice()->set_loss_ratio(0.5);
  v->mutable_voice()->set_rtt_ms(120);
  auto* h = batch.add_events();
  h->set_seq(11);
  h->mutable_heartbeat()->set_agent_time_ms(-5);
  h->mutable_heartbeat()->set_spool_backlog_events(1ULL << 40);
  h->mutable_heartbeat()->set_spool_backlog_bytes(3);
  h->mutable_heartbeat()->set_events_dropped(4);
  h->mutable_heartbeat()->set_agent_version("1.2.3");
  h->mutable_heartbeat()->set_interval_ms(5000);
  h->mutable_heartbeat()->set_spool_paused(true);
  h->mutable_heartbeat()->set_lines_rejected(6);
  h->mutable_heartbeat()->set_replicas_given_up(2);
  h->mutable_heartbeat()->set_sources_waiting(3);
  batch.add_events()->set_seq(12);  // no body
  const std::string bytes = batch.SerializeAsString();

  std::vector<DecodedEvent> out;
  ASSERT_TRUE(DecodeBatch(bytes, &out));
  ASSERT_EQ(out.size(), 6u);

  EXPECT_EQ(out[0].bad, "");
  EXPECT_EQ(out[0].event.seq, 7u);
  EXPECT_EQ(out[0].event.time_ms, 1795651200123);
  const auto& call = std::get<CallEvent>(out[0].event.body);
  EXPECT_EQ(call.kind, CallKind::kCompleted);
  EXPECT_EQ(call.queue, "billing");
  EXPECT_EQ(call.call_id, "1700000000.42");
  EXPECT_EQ(call.agent, "SIP/101");
  EXPECT_EQ(call.caller_id, "+15551234567");
  EXPECT_EQ(call.wait_ms, 12000u);
  EXPECT_EQ(call.talk_ms, 180000u);
  EXPECT_EQ(call.hold_ms, 5000u);
  EXPECT_EQ(call.acw_ms, 30000u);
  EXPECT_EQ(call.ring_ms, 4000u);
  EXPECT_EQ(call.position, 3u);
  EXPECT_EQ(call.reason, UnansweredReason::kKey);
  EXPECT_EQ(call.hung_up_by, Party::kAgent);
  EXPECT_TRUE(call.reconstructed);
  EXPECT_TRUE(call.wait_unknown);
  // Views into the input, not copies.
  EXPECT_GE(call.queue.data(), bytes.data());
  EXPECT_LT(call.queue.data(), bytes.data() + bytes.size());

  const auto& state = std::get<AgentStateEvent>(out[1].event.body);
  EXPECT_EQ(state.agent, "SIP/102");
  EXPECT_EQ(state.queue, "sales");
  EXPECT_EQ(state.state, AgentState::kNotReady);
  EXPECT_EQ(state.reason, "lunch");

  const auto& link = std::get<LinkSample>(out[2].event.body);
  EXPECT_EQ(link.link, "wan-1");
  EXPECT_EQ(link.rtt_ms, 41.5);
  EXPECT_EQ(link.jitter_ms, 2.25);
  EXPECT_EQ(link.loss_ratio, 0.125);
  EXPECT_FALSE(link.up);  // the proto default, unlike LinkSample's

  const auto& voice = std::get<VoiceQuality>(out[3].event.body);
  EXPECT_EQ(voice.call_id, "c9");
  EXPECT_EQ(voice.queue, "q");
  EXPECT_EQ(voice.agent, "SIP/103");
  EXPECT_EQ(voice.mos, 3.5);
  EXPECT_EQ(voice.jitter_ms, 9);
  EXPECT_EQ(voice.loss_ratio, 0.5);
  EXPECT_EQ(voice.rtt_ms, 120);

  ExpectHeartbeat(std::get<Heartbeat>(out[4].event.body),
                  Heartbeat{-5, 1ULL << 40, 3, 4, "1.2.3", 5000, true, 6, 2, 3});

  EXPECT_EQ(out[5].bad, "no_body");
  EXPECT_EQ(out[5].event.seq, 12u);
}

TEST(DecodeBatch, RepeatedSubMessagesMergeAndLaterScalarsWin) {
  v1::Event first, second;
  first.set_seq(1);
  first.mutable_call()->set_kind(static_cast<v1::CallEvent::Kind>(99));  // unknown alone
  first.mutable_call()->set_queue("a");
  first.mutable_call()->set_wait_ms(5);
  second.set_seq(2);
  second.mutable_call()->set_kind(v1::CallEvent::KIND_ANSWERED);
  second.mutable_call()->set_call_id("x");
  // Concatenated serialisations are one Event: seq 2, the call merged.
  const std::string bytes = Events({first.SerializeAsString() + second.SerializeAsString()});
  std::vector<DecodedEvent> out;
  ASSERT_TRUE(DecodeBatch(bytes, &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].bad, "");
  EXPECT_EQ(out[0].event.seq, 2u);
  const auto& c = std::get<CallEvent>(out[0].event.body);
  EXPECT_EQ(c.kind, CallKind::kAnswered);
  EXPECT_EQ(c.queue, "a");
  EXPECT_EQ(c.call_id, "x");
  EXPECT_EQ(c.wait_ms, 5u);

  // The other way round the unknown kind wins and the event is refused as such.
  ASSERT_TRUE(DecodeBatch(Events({second.SerializeAsString() + first.SerializeAsString()}), &out));
  EXPECT_EQ(out[0].bad, "unknown_enum");
}

TEST(DecodeBatch, AnotherOneofMemberReplacesTheBody) {
  v1::Event call, link, call_again;
  call.mutable_call()->set_kind(v1::CallEvent::KIND_OFFERED);
  call.mutable_call()->set_queue("a");
  link.mutable_link()->set_rtt_ms(3);
  call_again.mutable_call()->set_kind(v1::CallEvent::KIND_OFFERED);
  std::vector<DecodedEvent> out;
  ASSERT_TRUE(DecodeBatch(Events({call.SerializeAsString() + link.SerializeAsString()}), &out));
  const auto& l = std::get<LinkSample>(out[0].event.body);
  EXPECT_EQ(l.rtt_ms, 3);
  EXPECT_FALSE(l.up);
  // Back to call: it starts afresh, the first call's queue is gone.
  ASSERT_TRUE(DecodeBatch(Events({call.SerializeAsString() + link.SerializeAsString() +
                                  call_again.SerializeAsString()}),
                          &out));
  EXPECT_EQ(std::get<CallEvent>(out[0].event.body).queue, "");
}

TEST(DecodeBatch, UnknownFieldsAndKnownNumbersOfAnotherWireTypeAreSkipped) {
  v1::Event e;
  e.set_seq(3);
  e.mutable_call()->set_kind(v1::CallEvent::KIND_OFFERED);
  std::string bytes = e.SerializeAsString();
  bytes += std::string("\xc8\x3e\x05", 3);              // field 1001 varint 5
  bytes += std::string("\x0d\x01\x02\x03\x04", 5);      // field 1 (seq) as fixed32: unknown
  bytes += std::string("\xa3\x06\x08\x01\xa4\x06", 6);  // group 100 { field 1: 1 }
  std::vector<DecodedEvent> out;
  ASSERT_TRUE(Generated(Events({bytes})));
  ASSERT_TRUE(DecodeBatch(Events({bytes}), &out));
  EXPECT_EQ(out[0].event.seq, 3u);
  EXPECT_EQ(std::get<CallEvent>(out[0].event.body).kind, CallKind::kOffered);
}

TEST(DecodeBatch, InvalidUtf8InAStringFailsTheBatchLikeTheGeneratedParser) {
  v1::Event e;
  e.mutable_call()->set_kind(v1::CallEvent::KIND_OFFERED);
  e.mutable_call()->set_queue("ok");
  std::string bytes = Events({e.SerializeAsString()});
  std::vector<DecodedEvent> out;
  ASSERT_TRUE(DecodeBatch(bytes, &out));
  bytes[bytes.find("ok")] = static_cast<char>(0xff);
  EXPECT_FALSE(Generated(bytes));
  EXPECT_FALSE(DecodeBatch(bytes, &out));
}

TEST(DecodeBatch, EveryTruncationIsJudgedLikeTheGeneratedParser) {
  v1::EventBatch batch;
  for (int i = 0; i < 3; ++i) {
    auto* e = batch.add_events();
    e->set_seq(static_cast<std::uint64_t>(i) + 1);
    e->set_event_time_ms(1795651200000);
    e->mutable_call()->set_kind(v1::CallEvent::KIND_OFFERED);
    e->mutable_call()->set_call_id("id-" + std::to_string(i));
  }
  const std::string bytes = batch.SerializeAsString();
  std::vector<DecodedEvent> out;
  int accepted = 0;
  for (std::size_t n = 0; n <= bytes.size(); ++n) {
    const std::string prefix = bytes.substr(0, n);
    ASSERT_EQ(DecodeBatch(prefix, &out), Generated(prefix)) << "prefix of " << n << " bytes";
    accepted += Generated(prefix) ? 1 : 0;
  }
  EXPECT_EQ(accepted, 4);  // empty, and after each whole event
}

// Nesting: the generated parser allows 100 levels of sub-messages and groups; so does the
// decoder. Unknown groups nested inside a call, from well inside to just past the limit.
TEST(DecodeBatch, NestingLimitIsTheGeneratedParsersOne) {
  int accepted = 0;
  for (int depth = 90; depth <= 105; ++depth) {
    std::string groups;
    for (int i = 0; i < depth; ++i) groups += "\xa3\x06";  // start group 100
    for (int i = 0; i < depth; ++i) groups += "\xa4\x06";  // end group 100
    const std::string bytes = Events({Field(10, groups)});
    std::vector<DecodedEvent> out;
    ASSERT_EQ(DecodeBatch(bytes, &out), Generated(bytes)) << depth << " nested groups";
    accepted += Generated(bytes) ? 1 : 0;
  }
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, 16);
}

TEST(DecodeBatch, MalformedTagsFailLikeTheGeneratedParser) {
  v1::Event e;
  e.set_seq(1);
  const std::string event = e.SerializeAsString();
  std::vector<DecodedEvent> out;
  const std::vector<std::string> cases = {
      std::string("\x00", 1),                          // tag 0
      std::string("\x02\x00", 2),                      // field number 0
      std::string("\x0c", 1),                          // stray end group
      std::string("\x0e\x00", 2),                      // wire type 6
      std::string("\x88\x80\x80\x80\x00\x01", 6),      // 5-byte tag: accepted
      std::string("\x88\x80\x80\x80\x80\x00\x01", 7),  // 6-byte tag: refused
      std::string("\x0a\x80\x80\x80\x80\x80\x00", 7),  // 6-byte length
      std::string("\x0b\x08\x01\x14", 4),              // group 1 closed by end group 2
  };
  int accepted = 0;
  for (const auto& c : cases) {
    const std::string bytes = Events({event + c});
    ASSERT_EQ(DecodeBatch(bytes, &out), Generated(bytes)) << testing::PrintToString(c);
    accepted += Generated(bytes) ? 1 : 0;
  }
  EXPECT_EQ(accepted, 1);
}

// Varint truncation: enums are int32 (a negative or >32-bit value is out of range, refused as
// an unknown enum), uint32 fields keep the low 32 bits.
TEST(DecodeBatch, OutOfRangeVarintsAreTruncatedLikeTheGeneratedParser) {
  const auto call_with = [](const std::string& fields) {
    return Events({Field(10, std::string("\x08\x01", 2) + fields)});  // kind offered, then these
  };
  const std::string minus_one("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);
  const std::string two_pow_32_plus_1("\x81\x80\x80\x80\x10", 5);
  std::vector<DecodedEvent> out;
  // kind = -1 (10-byte varint): unknown enum.
  ASSERT_TRUE(DecodeBatch(call_with("\x08" + minus_one), &out));
  EXPECT_EQ(out[0].bad, "unknown_enum");
  // kind = 2^32 + 1: int32 keeps 1, offered.
  ASSERT_TRUE(DecodeBatch(call_with("\x08" + two_pow_32_plus_1), &out));
  EXPECT_EQ(out[0].bad, "");
  EXPECT_EQ(std::get<CallEvent>(out[0].event.body).kind, CallKind::kOffered);
  // wait_ms = 2^32 + 1: uint32 keeps 1.
  ASSERT_TRUE(DecodeBatch(call_with("\x30" + two_pow_32_plus_1), &out));
  EXPECT_EQ(std::get<CallEvent>(out[0].event.body).wait_ms, 1u);
  // Each agrees with the generated parser and FromProto.
  for (const std::string& b : {call_with("\x08" + minus_one), call_with("\x08" + two_pow_32_plus_1),
                               call_with("\x30" + two_pow_32_plus_1)}) {
    v1::EventBatch batch;
    ASSERT_TRUE(batch.ParseFromString(b));
    Event e;
    ASSERT_TRUE(DecodeBatch(b, &out));
    EXPECT_EQ(FromProto(batch.events(0), &e), out[0].bad);
  }
}

// A oneof switch resets the raw enums too: a call with an unknown reason, then a link, then a
// call again is a valid call.
TEST(DecodeBatch, AOneofSwitchForgetsTheEarlierMembersEnums) {
  v1::Event bad_call, link, call;
  bad_call.mutable_call()->set_kind(v1::CallEvent::KIND_OFFERED);
  bad_call.mutable_call()->set_reason(static_cast<v1::UnansweredReason>(99));
  link.mutable_link()->set_up(true);
  call.mutable_call()->set_kind(v1::CallEvent::KIND_OFFERED);
  call.mutable_call()->set_queue("q");
  const std::string bytes =
      Events({bad_call.SerializeAsString() + link.SerializeAsString() + call.SerializeAsString()});
  std::vector<DecodedEvent> out;
  ASSERT_TRUE(DecodeBatch(bytes, &out));
  EXPECT_EQ(out[0].bad, "");
  EXPECT_EQ(std::get<CallEvent>(out[0].event.body).reason, UnansweredReason::kNone);
}

// A SIP trunk sample: kind and status survive DecodeBatch, FromProto, ToProto and JSON lines;
// a kind this build does not know is refused like any unknown enum.
TEST(DecodeBatch, SipTrunkKindAndStatusRoundTrip) {
  v1::Event trunk;
  trunk.set_seq(3);
  trunk.mutable_link()->set_link("carrier-a");
  trunk.mutable_link()->set_kind(v1::LINK_KIND_SIP_TRUNK);
  trunk.mutable_link()->set_sip_status(503);
  trunk.mutable_link()->set_rtt_ms(18);
  v1::Event plain;
  plain.mutable_link()->set_link("wan");
  plain.mutable_link()->set_up(true);
  v1::Event unknown = trunk;
  unknown.mutable_link()->set_kind(static_cast<v1::LinkKind>(7));
  std::vector<DecodedEvent> out;
  ASSERT_TRUE(DecodeBatch(
      Events({trunk.SerializeAsString(), plain.SerializeAsString(), unknown.SerializeAsString()}),
      &out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].bad, "");
  const auto& l = std::get<LinkSample>(out[0].event.body);
  EXPECT_EQ(l.kind, LinkKind::kSipTrunk);
  EXPECT_EQ(l.sip_status, 503u);
  EXPECT_FALSE(l.up);
  const auto& p = std::get<LinkSample>(out[1].event.body);
  EXPECT_EQ(p.kind, LinkKind::kNetwork);  // absent: a plain link, as before the field existed
  EXPECT_EQ(p.sip_status, 0u);
  EXPECT_EQ(out[2].bad, "unknown_enum");
  Event e;
  EXPECT_EQ(FromProto(unknown, &e), "unknown_enum");

  ASSERT_EQ(FromProto(trunk, &e), "");
  v1::Event back;
  ToProto(e, &back);
  EXPECT_EQ(back.SerializeAsString(), trunk.SerializeAsString());

  v1::Event storage;
  ASSERT_EQ(FromJsonLine(R"({"eventTimeMs":"1795600800000","link":{"link":"carrier-a",)"
                         R"("kind":"LINK_KIND_SIP_TRUNK","rttMs":18,"sipStatus":404,"up":true}})",
                         &storage, &e),
            "");
  EXPECT_EQ(std::get<LinkSample>(e.body).kind, LinkKind::kSipTrunk);
  EXPECT_EQ(std::get<LinkSample>(e.body).sip_status, 404u);
  EXPECT_EQ(FromJsonLine(R"({"eventTimeMs":"1795600800000","link":{"link":"x","kind":"TRUNK"}})",
                         &storage, &e)
                .substr(0, 17),
            "not a ccmon event");
}

// A call closed as lost with an unknown wait: reason LOST and wait_unknown survive DecodeBatch,
// FromProto, ToProto and JSON lines; the reason after LOST is still refused.
TEST(DecodeBatch, LostReasonAndUnknownWaitRoundTrip) {
  v1::Event lost;
  lost.set_seq(5);
  lost.set_event_time_ms(1795600800000);
  lost.mutable_call()->set_kind(v1::CallEvent::KIND_UNANSWERED);
  lost.mutable_call()->set_queue("billing");
  lost.mutable_call()->set_call_id("c7");
  lost.mutable_call()->set_reason(v1::UNANSWERED_REASON_LOST);
  lost.mutable_call()->set_wait_unknown(true);
  v1::Event abandoned;
  abandoned.set_seq(6);
  abandoned.mutable_call()->set_kind(v1::CallEvent::KIND_ABANDONED);
  abandoned.mutable_call()->set_queue("billing");
  abandoned.mutable_call()->set_wait_unknown(true);
  v1::Event plain;
  plain.mutable_call()->set_kind(v1::CallEvent::KIND_ANSWERED);
  plain.mutable_call()->set_wait_ms(4000);
  v1::Event beyond = lost;
  beyond.mutable_call()->set_reason(static_cast<v1::UnansweredReason>(6));
  std::vector<DecodedEvent> out;
  ASSERT_TRUE(DecodeBatch(Events({lost.SerializeAsString(), abandoned.SerializeAsString(),
                                  plain.SerializeAsString(), beyond.SerializeAsString()}),
                          &out));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].bad, "");
  const auto& l = std::get<CallEvent>(out[0].event.body);
  EXPECT_EQ(l.reason, UnansweredReason::kLost);
  EXPECT_TRUE(l.wait_unknown);
  EXPECT_EQ(out[1].bad, "");
  EXPECT_TRUE(std::get<CallEvent>(out[1].event.body).wait_unknown);
  EXPECT_FALSE(std::get<CallEvent>(out[2].event.body).wait_unknown);  // absent: known
  EXPECT_EQ(out[3].bad, "unknown_enum");
  Event e;
  EXPECT_EQ(FromProto(beyond, &e), "unknown_enum");

  for (const v1::Event* in : {&lost, &abandoned}) {
    ASSERT_EQ(FromProto(*in, &e), "");
    v1::Event back;
    ToProto(e, &back);
    EXPECT_EQ(back.SerializeAsString(), in->SerializeAsString());
  }

  v1::Event storage;
  ASSERT_EQ(
      FromJsonLine(R"({"eventTimeMs":"1795600800000","call":{"kind":"KIND_UNANSWERED",)"
                   R"("queue":"billing","reason":"UNANSWERED_REASON_LOST","waitUnknown":true}})",
                   &storage, &e),
      "");
  EXPECT_EQ(std::get<CallEvent>(e.body).reason, UnansweredReason::kLost);
  EXPECT_TRUE(std::get<CallEvent>(e.body).wait_unknown);
  ASSERT_EQ(FromJsonLine(R"({"eventTimeMs":"1795600800000","call":{"kind":"KIND_ANSWERED",)"
                         R"("queue":"billing","wait_unknown":true}})",
                         &storage, &e),
            "");
  EXPECT_TRUE(std::get<CallEvent>(e.body).wait_unknown);
  EXPECT_EQ(FromJsonLine(R"({"eventTimeMs":"1795600800000","call":{"kind":"KIND_UNANSWERED",)"
                         R"("queue":"q","reason":"UNANSWERED_REASON_MISSING"}})",
                         &storage, &e)
                .substr(0, 17),
            "not a ccmon event");
}

// A oneof switch away from a link with an unknown kind forgets that kind.
TEST(DecodeBatch, AOneofSwitchForgetsAnUnknownLinkKind) {
  v1::Event bad_link, call, link;
  bad_link.mutable_link()->set_kind(static_cast<v1::LinkKind>(9));
  call.mutable_call()->set_kind(v1::CallEvent::KIND_OFFERED);
  link.mutable_link()->set_link("wan");
  const std::string bytes =
      Events({bad_link.SerializeAsString() + call.SerializeAsString() + link.SerializeAsString()});
  std::vector<DecodedEvent> out;
  ASSERT_TRUE(DecodeBatch(bytes, &out));
  EXPECT_EQ(out[0].bad, "");
  EXPECT_EQ(std::get<LinkSample>(out[0].event.body).kind, LinkKind::kNetwork);
}

TEST(DecodeBatch, AnOverLongButFiveByteLengthIsAccepted) {
  v1::Event e;
  e.set_seq(4);
  const std::string event = e.SerializeAsString();
  // events field, length in 5 bytes (over-long encoding of a small number).
  std::string bytes("\x0a", 1);
  bytes += static_cast<char>(0x80 | event.size());
  bytes += std::string("\x80\x80\x80\x00", 4);
  bytes += event;
  std::vector<DecodedEvent> out;
  ASSERT_TRUE(Generated(bytes));
  ASSERT_TRUE(DecodeBatch(bytes, &out));
  EXPECT_EQ(out[0].event.seq, 4u);
}

// The output vector's elements are reused: nothing of a previous batch shows through.
TEST(DecodeBatch, ReusedOutputHoldsOnlyTheNewBatch) {
  v1::EventBatch first;
  for (int i = 0; i < 3; ++i) {
    auto* e = first.add_events();
    e->set_seq(static_cast<std::uint64_t>(i) + 1);
    e->mutable_call()->set_kind(v1::CallEvent::KIND_ANSWERED);
    e->mutable_call()->set_queue("old");
    e->mutable_call()->set_wait_ms(9);
  }
  v1::EventBatch second;
  auto* a = second.add_events();
  a->set_seq(10);
  a->mutable_call()->set_kind(v1::CallEvent::KIND_OFFERED);  // no queue, no wait
  second.add_events()->set_seq(11);                          // no body
  std::vector<DecodedEvent> out;
  ASSERT_TRUE(DecodeBatch(first.SerializeAsString(), &out));
  ASSERT_TRUE(DecodeBatch(second.SerializeAsString(), &out));
  ASSERT_EQ(out.size(), 2u);
  const auto& c = std::get<CallEvent>(out[0].event.body);
  EXPECT_EQ(c.kind, CallKind::kOffered);
  EXPECT_EQ(c.queue, "");
  EXPECT_EQ(c.wait_ms, 0u);
  EXPECT_EQ(out[1].bad, "no_body");
  EXPECT_EQ(out[1].event.seq, 11u);
  EXPECT_EQ(out[1].event.time_ms, 0);
}

// An agent's message: BatchPayload finds the batch only in canonical framing, and decoding it
// as nested in the AgentMessage succeeds exactly when the generated AgentMessage parse does,
// up to the nesting limit.
TEST(BatchPayload, DecodingThePayloadAgreesWithParsingTheAgentMessage) {
  int accepted = 0;
  for (int depth = 90; depth <= 105; ++depth) {
    std::string groups;
    for (int i = 0; i < depth; ++i) groups += "\xa3\x06";
    for (int i = 0; i < depth; ++i) groups += "\xa4\x06";
    const std::string message = Field(2, Events({Field(10, groups)}));
    const std::string_view payload = BatchPayload(message);
    ASSERT_FALSE(payload.empty());
    v1::AgentMessage parsed;
    std::vector<DecodedEvent> out;
    ASSERT_EQ(DecodeBatch(payload, &out, 1), parsed.ParseFromString(message)) << depth;
    accepted += parsed.ParseFromString(message) ? 1 : 0;
  }
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, 16);
  // Over-long framings are left to the generated parser.
  EXPECT_TRUE(BatchPayload(std::string("\x92\x80\x80\x80\x80\x00\x02\x0a\x00", 9)).empty());
  EXPECT_TRUE(BatchPayload(std::string("\x12\x82\x80\x80\x80\x10\x0a\x00", 8)).empty());
  EXPECT_TRUE(BatchPayload(std::string("\x12\x80\x80\x80\x80\x80\x00", 7)).empty());
  EXPECT_EQ(BatchPayload(std::string("\x12\x02\x0a\x00", 4)), std::string("\x0a\x00", 2));
}

// The agent's heartbeat goes out through ToProto and comes back through FromProto (and the
// hand-written decoder above) with every field.
TEST(Heartbeat, EveryFieldRoundTripsThroughTheGeneratedMessage) {
  Event in;
  in.seq = 3;
  in.time_ms = 1000;
  in.body = Heartbeat{-5, 7, 8, 9, "2.0.0", 5000, true, 10, 11, 2};
  v1::Event proto;
  ToProto(in, &proto);
  Event out;
  ASSERT_EQ(FromProto(proto, &out), "");
  ExpectHeartbeat(std::get<Heartbeat>(out.body), std::get<Heartbeat>(in.body));
}

}  // namespace
}  // namespace ccmon::wire
