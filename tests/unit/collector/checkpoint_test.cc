// The checkpoint's engine state as a protobuf message: every field of a busy engine's state
// comes back as it was written, a later build's added fields are skipped, and a state this
// build must not load (a newer format, bytes that do not parse) is refused by name.
#include "storage/checkpoint.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "ccmon/collector/engine.h"
#include "ccmon/v1/checkpoint.pb.h"
#include "engine_state_fill.h"

namespace ccmon::collector {
namespace {

constexpr std::int64_t kNow = 1'780'000'000'000;
constexpr std::int64_t kMin = 60'000;

// Manila keeps its own day beside the contract's (the default zone, UTC).
CoreConfig BusyConfig() {
  CoreConfig cfg;
  cfg.sites.push_back({"manila-1", "Asia/Manila"});
  return cfg;
}

// An engine with calls in two queues of two sites (answered, abandoned, waiting), an agent in
// a queue, a link and closed ledger rows: its exported state touches every message field.
EngineState BusyState(FakeClock& clock) {
  Engine e(BusyConfig(), clock);
  std::uint64_t seq = 0;
  auto call = [&](std::string_view site, std::int64_t t, CallKind kind, std::string_view queue,
                  std::string_view id, std::uint32_t wait_ms) {
    CallEvent c;
    c.kind = kind;
    c.queue = queue;
    c.call_id = id;
    c.caller_id = "+15550001234";
    c.wait_ms = wait_ms;
    c.talk_ms = 60'000;
    e.Apply(site, "i1", Event{++seq, t, c});
  };
  const std::int64_t t = kNow - 50 * kMin;
  AgentStateEvent ready;
  ready.agent = "ann";
  ready.state = AgentState::kReady;
  ready.queue = "billing";
  e.Apply("manila-1", "i1", Event{++seq, t, ready});
  for (int i = 0; i < 12; ++i) {
    const std::string id = "c" + std::to_string(i);
    const std::string_view site = i % 2 == 0 ? "manila-1" : "pune-1";
    call(site, t + i * 4 * kMin, CallKind::kOffered, "billing", id, 0);
    if (i % 3 == 0) {
      call(site, t + i * 4 * kMin + 30'000, CallKind::kAbandoned, "billing", id, 30'000);
    } else if (i < 10) {
      call(site, t + i * 4 * kMin + 10'000, CallKind::kAnswered, "billing", id, 10'000);
      call(site, t + i * 4 * kMin + 70'000, CallKind::kCompleted, "billing", id, 10'000);
    }
  }
  LinkSample l;
  l.link = "wan";
  l.rtt_ms = 41.5;
  l.loss_ratio = 0.25;
  e.Apply("manila-1", "i1", Event{++seq, kNow - 1000, l});
  e.Reject("pune-1", "i1", ++seq, "bad_body");
  e.Tick();
  return e.ExportState();
}

TEST(CheckpointCodecTest, EveryFieldOfABusyEngineRoundTrips) {
  FakeClock clock(kNow);
  const EngineState state = BusyState(clock);
  ASSERT_EQ(state.sites.size(), 2u);
  ASSERT_FALSE(state.sites[0].queues.empty());
  EXPECT_FALSE(state.sites[0].queues[0].rows.empty());
  EXPECT_FALSE(state.sites[0].queues[0].ring.empty());
  EXPECT_FALSE(state.sites[0].agents.empty());
  EXPECT_FALSE(state.sites[0].links.empty());
  EXPECT_FALSE(state.sites[0].queues[0].abandoned.empty());
  EXPECT_NE(state.sites[0].queues[0].contract_day, EngineState::kNever);
  EXPECT_EQ(state.stats.invalid_by_reason.at("bad_body"), 1u);

  const std::string bytes = EncodeEngineState(state);
  EngineState back;
  std::string err;
  ASSERT_TRUE(DecodeEngineState(bytes, &back, &err)) << err;
  EXPECT_TRUE(back == state);
  // And an engine fed the decoded state exports the same again.
  Engine restored(BusyConfig(), clock);
  ASSERT_TRUE(restored.ImportState(back, &err)) << err;
  EXPECT_TRUE(restored.ExportState() == state);
}

// The full names of the fields set somewhere in m (non-default scalars, non-empty repeated).
void FieldsSet(const google::protobuf::Message& m, std::set<std::string>* out) {
  const auto* refl = m.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  refl->ListFields(m, &fields);
  for (const auto* f : fields) {
    out->insert(f->full_name());
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      for (int i = 0; i < refl->FieldSize(m, f); ++i) {
        FieldsSet(refl->GetRepeatedMessage(m, f, i), out);
      }
    } else {
      FieldsSet(refl->GetMessage(m, f), out);
    }
  }
}

// Every field of every message reachable from d.
void AllFields(const google::protobuf::Descriptor* d, std::set<std::string>* out) {
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (!out->insert(f->full_name()).second) continue;
    if (f->message_type() != nullptr) AllFields(f->message_type(), out);
  }
}

// With a distinct value in every field, the state comes back exactly, and the message it
// makes sets every field checkpoint.proto has: a field the codec forgot to write, or a new
// one in the .proto nobody fills, fails here.
TEST(CheckpointCodecTest, ADistinctValueInEveryFieldComesBackAndEveryMessageFieldIsWritten) {
  FakeClock clock(kNow);
  EngineState state = BusyState(clock);
  testing::FillDistinct(&state);
  const std::string bytes = EncodeEngineState(state);
  EngineState back;
  std::string err;
  ASSERT_TRUE(DecodeEngineState(bytes, &back, &err)) << err;
  EXPECT_TRUE(back == state);
  v1::EngineCheckpoint m;
  ASSERT_TRUE(m.ParseFromString(bytes));
  std::set<std::string> set, all;
  FieldsSet(m, &set);
  AllFields(v1::EngineCheckpoint::descriptor(), &all);
  for (const std::string& f : all) {
    EXPECT_TRUE(set.count(f) == 1) << f << " is never written";
  }
}

TEST(CheckpointCodecTest, FieldsOfALaterBuildAreSkipped) {
  FakeClock clock(kNow);
  const EngineState state = BusyState(clock);
  v1::EngineCheckpoint m;
  ASSERT_TRUE(m.ParseFromString(EncodeEngineState(state)));
  // A later build adds a site field (number 99) and a count to the unanswered breakdown.
  m.mutable_sites(0)->GetReflection()->MutableUnknownFields(m.mutable_sites(0))->AddVarint(99, 5);
  m.mutable_sites(0)->mutable_queues(0)->mutable_total()->add_unanswered(777);
  EngineState back;
  std::string err;
  ASSERT_TRUE(DecodeEngineState(m.SerializeAsString(), &back, &err)) << err;
  EXPECT_TRUE(back == state);
}

TEST(CheckpointCodecTest, ANewerFormatAndUnparseableBytesAreRefusedByName) {
  v1::EngineCheckpoint m;
  m.set_format(kCheckpointFormat + 1);
  EngineState back;
  std::string err;
  EXPECT_FALSE(DecodeEngineState(m.SerializeAsString(), &back, &err));
  EXPECT_NE(err.find("checkpoint format " + std::to_string(kCheckpointFormat + 1)),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("newer collector"), std::string::npos) << err;
  m.set_format(0);  // not written by any build
  EXPECT_FALSE(DecodeEngineState(m.SerializeAsString(), &back, &err));
  EXPECT_FALSE(DecodeEngineState(std::string("\xff\xff\xff", 3), &back, &err));
  EXPECT_NE(err.find("does not parse"), std::string::npos) << err;
}

}  // namespace
}  // namespace ccmon::collector
