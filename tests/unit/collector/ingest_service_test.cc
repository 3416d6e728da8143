// The Ingest service over loopback gRPC against a real collector (Server::Start): batches are
// acked, written to the WAL as received (or serialised again when the message carries more
// than the batch) and replayed after a restart; bytes that are not an AgentMessage end the
// stream with INVALID_ARGUMENT and are counted. At start a checkpoint of the former binary
// format loads, and one this build must not load is set aside while the WAL rebuilds the state.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "ccmon/collector/server.h"
#include "ccmon/v1/checkpoint.pb.h"
#include "ccmon/v1/ingest.grpc.pb.h"
#include "ccmon/v1/monitor.grpc.pb.h"
#include "ingest/raw_message.h"
#include "storage/checkpoint.h"
#include "storage/wal.h"
#include "support/scrape.h"

namespace ccmon::collector {
namespace {

class IngestServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The loggers ccmon-collector's main creates.
    for (const char* name : {"collector", "ingest", "alerting"}) {
      if (!spdlog::get(name)) spdlog::stderr_color_mt(name);
    }
    spdlog::set_level(spdlog::level::warn);
    dir_ = std::filesystem::temp_directory_path() /
           ("ccmon-ingest-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    Start();
  }
  void TearDown() override {
    Stop();
    std::filesystem::remove_all(dir_);
  }

  void Start() {
    CollectorOptions o;
    o.listen = "127.0.0.1:0";
    o.metrics_listen = "127.0.0.1:0";
    o.data_dir = dir_.string();
    auto s = Server::Start(o, clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = *std::move(s);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->grpc_port()),
                                   grpc::InsecureChannelCredentials());
  }
  void Stop() {
    if (server_) server_->Shutdown();
    server_.reset();
  }

  static v1::AgentMessage Hello() {
    v1::AgentMessage m;
    m.mutable_hello()->set_site("s1");
    m.mutable_hello()->set_agent_instance("i1");
    return m;
  }
  // A batch of `n` offered calls to queue q, seqs from first_seq.
  v1::AgentMessage Batch(std::uint64_t first_seq, int n) const {
    v1::AgentMessage m;
    for (int i = 0; i < n; ++i) {
      auto* e = m.mutable_batch()->add_events();
      e->set_seq(first_seq + static_cast<std::uint64_t>(i));
      e->set_event_time_ms(clock_.NowMs() - 1000);
      e->mutable_call()->set_kind(v1::CallEvent::KIND_OFFERED);
      e->mutable_call()->set_queue("q");
      e->mutable_call()->set_call_id("c" + std::to_string(first_seq + i));
    }
    return m;
  }

  // Sends the messages (already serialised) on one stream after hello; returns the last
  // acked seq and adds the seqs the acks reported as rejected to *rejected.
  std::uint64_t Send(const std::vector<std::string>& messages,
                     std::vector<std::uint64_t>* rejected = nullptr) {
    v1::Ingest::Stub stub(channel_);
    grpc::ClientContext ctx;
    auto stream = stub.Stream(&ctx);
    v1::CollectorMessage in;
    EXPECT_TRUE(stream->Write(Hello()));
    EXPECT_TRUE(stream->Read(&in) && in.has_welcome());
    std::uint64_t acked = 0;
    for (const std::string& bytes : messages) {
      v1::AgentMessage m;
      EXPECT_TRUE(m.ParseFromString(bytes));
      EXPECT_TRUE(stream->Write(m));
    }
    stream->WritesDone();
    while (stream->Read(&in)) {
      if (!in.has_ack()) continue;
      acked = in.ack().acked_seq();
      for (const auto& r : in.ack().rejected()) {
        if (rejected != nullptr) rejected->push_back(r.seq());
      }
    }
    EXPECT_TRUE(stream->Finish().ok());
    return acked;
  }

  std::uint64_t Offered() {
    v1::Monitor::Stub stub(channel_);
    grpc::ClientContext ctx;
    v1::SnapshotRequest req;
    v1::Snapshot snap;
    EXPECT_TRUE(stub.GetSnapshot(&ctx, req, &snap).ok());
    for (const auto& q : snap.queues()) {
      if (q.site() == "s1" && q.queue() == "q") {
        for (const auto& w : q.windows()) {
          if (w.window() == "today") return w.offered();
        }
      }
    }
    return 0;
  }

  // A sample of the collector's /metrics, by its exact name and labels; -1 when absent.
  double Metric(const std::string& series) {
    return test_support::SeriesValue(MetricsBody(), series);
  }

  std::string MetricsBody() { return test_support::ScrapeMetrics(server_->metrics_port()); }

  std::filesystem::path dir_;
  FakeClock clock_{1'780'000'000'000};
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(IngestServiceTest, BatchesAreAckedAndReplayedFromTheWalAfterARestart) {
  // The second message carries the batch plus an unknown field (field 99, a string): it is
  // not the batch alone, so its WAL record is serialised again rather than copied.
  std::string second = Batch(4, 2).SerializeAsString();
  second += std::string("\x9a\x06\x03xyz", 6);
  ASSERT_EQ(Send({Batch(1, 3).SerializeAsString(), second}), 5u);
  EXPECT_EQ(Offered(), 5u);
  EXPECT_EQ(Metric("ccmon_ingest_batches_total"), 2);
  EXPECT_EQ(Metric("ccmon_ingest_streams_refused_total{reason=\"protocol\"}"), 0);
  // The WAL holds both batches, each decoding to the events sent (read by a second reader
  // while the collector idles: everything acked is durable).
  {
    Wal reader;
    std::string error;
    WalOptions options;
    options.dir = (dir_ / "wal").string();
    ASSERT_TRUE(reader.Open(options, &error, nullptr)) << error;
    std::vector<std::string> ids;
    reader.Replay(
        0,
        [&](std::uint64_t, std::string_view record) {
          std::string_view site, instance, bytes;
          ASSERT_TRUE(DecodeWalRecord(record, &site, &instance, &bytes));
          v1::EventBatch batch;
          ASSERT_TRUE(batch.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
          EXPECT_EQ(site, "s1");
          EXPECT_EQ(instance, "i1");
          for (const auto& e : batch.events()) {
            ids.push_back(std::to_string(e.seq()) + ":" + e.call().call_id());
          }
        },
        &error);
    EXPECT_EQ(ids, (std::vector<std::string>{"1:c1", "2:c2", "3:c3", "4:c4", "5:c5"}));
  }
  Stop();
  Start();
  EXPECT_EQ(Offered(), 5u);
  // The agent resumes after seq 5: a resent seq 5 is a duplicate, seq 6 is new.
  EXPECT_EQ(Send({Batch(5, 2).SerializeAsString()}), 6u);
  EXPECT_EQ(Offered(), 6u);
}

// RawMessage: a message in one slice is viewed in place, one in several is copied together;
// buffers are reused across messages of both kinds.
TEST(RawMessageTest, OneSliceIsViewedInPlaceSeveralAreCopiedTogether) {
  RawMessage raw;
  for (int round = 0; round < 2; ++round) {
    grpc::Slice one("abcdef", 6);
    ASSERT_TRUE(raw.Assign(grpc::ByteBuffer(&one, 1)));
    EXPECT_FALSE(raw.copied());
    EXPECT_EQ(raw.bytes(), "abcdef");

    std::string big(100000, 'x');  // too large to be inlined in a slice
    grpc::Slice big_slice(big);
    ASSERT_TRUE(raw.Assign(grpc::ByteBuffer(&big_slice, 1)));
    EXPECT_FALSE(raw.copied());
    EXPECT_EQ(raw.bytes().size(), big.size());

    std::vector<grpc::Slice> parts{grpc::Slice("ab", 2), grpc::Slice(std::string(70000, 'y')),
                                   grpc::Slice("z", 1)};
    ASSERT_TRUE(raw.Assign(grpc::ByteBuffer(parts.data(), parts.size())));
    EXPECT_TRUE(raw.copied());
    EXPECT_EQ(raw.bytes(), "ab" + std::string(70000, 'y') + "z");
  }
}

// A large message reaches the collector in several gRPC slices (RawMessage copies them
// together; its own test checks that path) rather than the one slice of a small batch: both
// give every event, and the WAL keeps the batch whole.
TEST_F(IngestServiceTest, ABatchInManySlicesIsDecodedWhole) {
  v1::AgentMessage big = Batch(1, 4000);
  for (auto& e : *big.mutable_batch()->mutable_events()) {
    e.mutable_call()->set_caller_id(std::string(80, '7'));  // ~100 bytes per event
  }
  const std::string bytes = big.SerializeAsString();
  ASSERT_GT(bytes.size(), 400000u);
  ASSERT_EQ(Send({bytes, Batch(4001, 2).SerializeAsString()}), 4002u);
  EXPECT_EQ(Offered(), 4002u);
  Stop();
  Start();  // replayed from the WAL
  EXPECT_EQ(Offered(), 4002u);
}

// Acks are cumulative and one ack may cover several batches made durable by the same WAL
// sync: every rejection of every batch still reaches the agent, once.
TEST_F(IngestServiceTest, RejectionsOfEveryBatchReachTheAgentWhenAcksAreMerged) {
  std::vector<std::string> batches;
  std::vector<std::uint64_t> invalid;
  for (int i = 0; i < 40; ++i) {
    const std::uint64_t first = 1 + static_cast<std::uint64_t>(i) * 4;
    v1::AgentMessage m = Batch(first, 4);
    m.mutable_batch()->mutable_events(2)->mutable_call()->clear_queue();  // missing_field
    invalid.push_back(first + 2);
    batches.push_back(m.SerializeAsString());
  }
  std::vector<std::uint64_t> rejected;
  EXPECT_EQ(Send(batches, &rejected), 160u);
  EXPECT_EQ(rejected, invalid);
  EXPECT_EQ(Offered(), 120u);
}

// Sends raw messages on one Ingest stream (no client-side serialisation), reads the replies
// until the server ends the stream, and returns its status.
grpc::Status SendRaw(const std::shared_ptr<grpc::Channel>& channel,
                     const std::vector<std::string>& messages) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(&ctx, "/ccmon.v1.Ingest/Stream", &cq);
  void* tag = nullptr;
  bool ok = false;
  call->StartCall(reinterpret_cast<void*>(1));
  EXPECT_TRUE(cq.Next(&tag, &ok) && ok);
  for (const std::string& m : messages) {
    grpc::Slice slice(m);
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, reinterpret_cast<void*>(2));
    if (!cq.Next(&tag, &ok) || !ok) break;  // the server ended the stream
  }
  // Read what the server sent (welcome, acks) so that its status can arrive.
  grpc::ByteBuffer reply;
  do {
    call->Read(&reply, reinterpret_cast<void*>(4));
  } while (cq.Next(&tag, &ok) && ok);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(3));
  while (cq.Next(&tag, &ok) && tag != reinterpret_cast<void*>(3)) {
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

TEST_F(IngestServiceTest, BytesThatAreNotAnAgentMessageEndTheStreamWithAClearError) {
  const grpc::Status status = SendRaw(channel_, {"\x0a\xff\xff\xff\xff\x0f not protobuf"});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("cannot parse"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(Offered(), 0u);
  EXPECT_EQ(Metric("ccmon_ingest_streams_refused_total{reason=\"protocol\"}"), 1);
}

// A batch in the agents' framing whose events do not decode (invalid UTF-8 in a string, which
// the generated parser refuses too) ends the stream with the same clear error; the batches
// before it stay applied and nothing of it is.
TEST_F(IngestServiceTest, ABatchThatDoesNotDecodeEndsTheStreamAndAppliesNothingOfIt) {
  std::string bad = Batch(3, 2).SerializeAsString();
  const std::size_t at = bad.find("c4");  // the second event's call id
  ASSERT_NE(at, std::string::npos);
  bad[at] = static_cast<char>(0xff);
  const grpc::Status status =
      SendRaw(channel_, {Hello().SerializeAsString(), Batch(1, 2).SerializeAsString(), bad});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("cannot parse"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(Offered(), 2u);
  EXPECT_EQ(Metric("ccmon_ingest_streams_refused_total{reason=\"protocol\"}"), 1);
}

// The framed checkpoint file of the format before the protobuf one (magic CCMONCK1, the WAL
// position, a CRC, the length, the state), with a version 3 binary state of site s1: agent
// instance i1 applied through seq 7, and queue q offered 5 calls today.
std::string LegacyCheckpointFile(std::int64_t now_ms) {
  std::string b;
  auto pod = [&](const auto& v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); };
  auto str = [&](std::string_view v) {
    pod(static_cast<std::uint32_t>(v.size()));
    b.append(v);
  };
  constexpr int kCounts = 23;  // the version 3 counter layout: 23 uint64
  auto counts = [&](std::uint64_t offered) {
    pod(offered);
    for (int i = 1; i < kCounts; ++i) pod(std::uint64_t{0});
  };
  pod(std::uint32_t{0x43434d53});
  pod(std::uint32_t{3});
  pod(static_cast<std::uint32_t>(kCounts * 8));
  pod(std::uint64_t{5});                              // accepted
  for (int i = 0; i < 5; ++i) pod(std::uint64_t{0});  // the other ingest stats
  pod(std::uint32_t{0});                              // invalid reasons
  for (int i = 0; i < 3; ++i) pod(std::uint64_t{0});  // anomalies, amendments, too old
  pod(std::uint32_t{1});                              // sites
  str("s1");
  pod(now_ms);           // last seen
  pod(now_ms - 60'000);  // event watermark
  pod(now_ms - 60'000);  // close watermark
  pod(std::int64_t{0});  // skew
  pod(std::uint64_t{0});
  pod(std::uint64_t{0});
  pod(std::uint32_t{0});
  str("i1");
  str("0.1.0");
  pod(std::uint32_t{1});  // instances
  str("i1");
  pod(std::uint64_t{7});
  pod(now_ms - 60'000);
  for (int i = 0; i < 8; ++i) pod(std::int64_t{0});  // held
  pod(std::uint32_t{0});
  pod(std::uint64_t{0});
  pod(std::uint32_t{1});  // queues
  str("q");
  counts(5);  // total
  for (int i = 0; i < 60; ++i) {
    pod(std::numeric_limits<std::int64_t>::min());  // an empty minute
    counts(0);
    pod(std::uint64_t{0});
    pod(std::uint64_t{0});
  }
  pod(now_ms / 86'400'000);  // today (UTC)
  counts(5);
  pod(std::uint32_t{0});  // rows
  for (int h = 0; h < 3; ++h) {
    pod(std::uint32_t{0});
    pod(std::uint64_t{0});
    pod(std::uint64_t{0});
  }
  pod(std::uint32_t{0});  // waiting
  pod(std::uint64_t{0});
  pod(std::uint64_t{0});
  for (int i = 0; i < 6; ++i) pod(std::uint64_t{0});  // agent state time
  pod(std::uint32_t{0});                              // abandoned
  pod(std::uint32_t{0});                              // agents
  pod(std::uint32_t{0});                              // links
  std::string file("CCMONCK1", 8);
  const std::uint64_t lsn = 0, len = b.size();
  const auto crc = static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(b.data()), static_cast<uInt>(b.size())));
  file.append(reinterpret_cast<const char*>(&lsn), 8);
  file.append(reinterpret_cast<const char*>(&crc), 4);
  file.append(reinterpret_cast<const char*>(&len), 8);
  return file + b;
}

// A collector upgraded over a checkpoint of the binary format loads it: its counts show, and
// its dedupe state holds (seq 7 is a duplicate, 8 is new). Its next checkpoint is protobuf.
TEST_F(IngestServiceTest, ACheckpointOfTheFormerBinaryFormatLoadsAtStart) {
  Stop();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  {
    std::ofstream out(dir_ / "checkpoint", std::ios::binary);
    out << LegacyCheckpointFile(clock_.NowMs());
  }
  Start();
  EXPECT_EQ(Offered(), 5u);
  EXPECT_EQ(Send({Batch(7, 2).SerializeAsString()}), 8u);
  EXPECT_EQ(Offered(), 6u);
  EXPECT_EQ(Metric("ccmon_checkpoint_refused_timestamp_seconds"), 0);
  Stop();
  std::ifstream in(dir_ / "checkpoint", std::ios::binary);
  std::string magic(8, '\0');
  in.read(magic.data(), 8);
  EXPECT_EQ(magic, "CCMONCK2");
  Start();
  EXPECT_EQ(Offered(), 6u);
}

// A checkpoint this build must not load (here: the format of a newer collector) does not stop
// the collector: it is moved aside, said in a metric, and the state is rebuilt from the WAL.
TEST_F(IngestServiceTest, ACheckpointOfANewerFormatIsSetAsideAndTheWalReplayed) {
  ASSERT_EQ(Send({Batch(1, 3).SerializeAsString(), Batch(4, 2).SerializeAsString()}), 5u);
  // Everything acked is durable: a copy of the WAL now holds all five calls (the final
  // checkpoint at Stop lets the collector drop them from its own).
  const auto wal_copy = dir_.string() + "-wal";
  std::filesystem::remove_all(wal_copy);
  std::filesystem::copy(dir_ / "wal", wal_copy, std::filesystem::copy_options::recursive);
  Stop();
  std::filesystem::remove_all(dir_ / "wal");
  std::filesystem::rename(wal_copy, dir_ / "wal");
  v1::EngineCheckpoint newer;
  newer.set_format(kCheckpointFormat + 1);
  std::string err;
  ASSERT_TRUE(WriteCheckpoint(dir_.string(), 5, newer.SerializeAsString(), &err)) << err;

  Start();
  EXPECT_EQ(Offered(), 5u);
  EXPECT_EQ(Metric("ccmon_checkpoint_refused_timestamp_seconds"),
            static_cast<double>(clock_.NowMs()) / 1000.0);
  int aside = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir_)) {
    aside += f.path().filename().string().rfind("checkpoint.refused-", 0) == 0 ? 1 : 0;
  }
  EXPECT_EQ(aside, 1);
  // Dedupe state came back with the calls: the agent resumes after seq 5.
  EXPECT_EQ(Send({Batch(5, 2).SerializeAsString()}), 6u);
  EXPECT_EQ(Offered(), 6u);
}

// A checkpoint that the release before the protobuf format wrote (tests/data/checkpoint-v3:
// two simulated sites, an hour of calls, `ccmon-agent --simulate --seed 3|5 --once`, then a
// clean stop) loads into this build: every figure that state holds shows on /metrics exactly
// as that collector showed it just before it stopped (expected_metrics.txt, scraped at the
// time in scraped_at; the clock is set back to it so that windows cover the same minutes;
// README.md there says what is left out and why).
TEST_F(IngestServiceTest, TheLastBinaryReleasesCheckpointShowsTheSameFigures) {
  const std::filesystem::path golden =
      std::filesystem::path(CCMON_SOURCE_DIR) / "tests/data/checkpoint-v3";
  Stop();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  std::filesystem::copy_file(golden / "checkpoint", dir_ / "checkpoint");
  std::int64_t scraped_at = 0;
  std::ifstream(golden / "scraped_at") >> scraped_at;
  ASSERT_GT(scraped_at, 0);
  clock_.Set(scraped_at * 1000);
  Start();
  const std::string body = "\n" + MetricsBody();
  std::ifstream expected(golden / "expected_metrics.txt");
  std::string line;
  int checked = 0;
  while (std::getline(expected, line)) {
    ++checked;
    EXPECT_NE(body.find("\n" + line + "\n"), std::string::npos) << line;
  }
  EXPECT_EQ(checked, 582);
  EXPECT_EQ(Metric("ccmon_checkpoint_refused_timestamp_seconds"), 0);
}

}  // namespace
}  // namespace ccmon::collector
