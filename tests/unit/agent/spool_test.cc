#include "ccmon/agent/spool.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace ccmon::agent {
namespace {

namespace fs = std::filesystem;

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ccmon-spool-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    opt_.dir = dir_.string();
    opt_.fsync_on_commit = false;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Spool> Open() {
    auto s = std::make_unique<Spool>();
    std::string err;
    EXPECT_TRUE(s->Open(opt_, &err)) << err;
    return s;
  }

  static void Put(Spool& s, int n, const std::string& cursor) {
    std::string err;
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(s.Append("event-" + std::to_string(s.next_seq()), &err)) << err;
    }
    ASSERT_TRUE(s.Commit("src", cursor, &err)) << err;
  }

  fs::path dir_;
  SpoolOptions opt_;
};

TEST_F(SpoolTest, AppendCommitReadAcrossReopen) {
  std::string id;
  {
    auto s = Open();
    id = s->instance_id();
    EXPECT_EQ(id.size(), 32u);
    Put(*s, 5, "pos-5");
    const auto recs = s->Read(0, 100);
    ASSERT_EQ(recs.size(), 5u);
    EXPECT_EQ(recs[0].seq, 1u);
    EXPECT_EQ(recs[4].payload, "event-5");
    EXPECT_EQ(s->Read(3, 1).at(0).seq, 4u);
  }
  auto s = Open();
  EXPECT_EQ(s->instance_id(), id);
  EXPECT_EQ(s->next_seq(), 6u);
  EXPECT_EQ(s->Cursor("src"), "pos-5");
  EXPECT_EQ(s->Read(0, 100).size(), 5u);
}

TEST_F(SpoolTest, UncommittedEventsAreInvisibleAndCutOnRecovery) {
  {
    auto s = Open();
    Put(*s, 3, "pos-3");
    std::string err;
    ASSERT_TRUE(s->Append("uncommitted", &err));
    EXPECT_EQ(s->Read(0, 100).size(), 3u);
  }  // "crash" before the commit
  auto s = Open();
  EXPECT_EQ(s->next_seq(), 4u);  // the uncommitted event's seq is reused for the re-read line
  EXPECT_EQ(s->Cursor("src"), "pos-3");
  EXPECT_GT(s->stats().torn_bytes_cut, 0u);
  EXPECT_EQ(s->Read(0, 100).size(), 3u);
}

TEST_F(SpoolTest, TornTailIsDetectedAndCut) {
  {
    auto s = Open();
    Put(*s, 2, "a");
    Put(*s, 2, "b");
  }
  // Simulate kill -9 mid-record: half a header and garbage at the end of the segment.
  std::string seg;
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().filename().string().starts_with("seg-")) seg = e.path().string();
  }
  {
    std::ofstream out(seg, std::ios::app | std::ios::binary);
    out.write("\x10\x00\x00\x00garb", 8);
  }
  const auto size_before = fs::file_size(seg);
  auto s = Open();
  EXPECT_EQ(s->stats().torn_bytes_cut, 8u);
  EXPECT_EQ(fs::file_size(seg), size_before - 8);
  EXPECT_EQ(s->Cursor("src"), "b");
  EXPECT_EQ(s->Read(0, 100).size(), 4u);
}

TEST_F(SpoolTest, CorruptRecordInTheMiddleCutsFromThere) {
  {
    auto s = Open();
    Put(*s, 2, "a");
    Put(*s, 2, "b");
  }
  std::string seg;
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().filename().string().starts_with("seg-")) seg = e.path().string();
  }
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(seg) - 3));
    f.put('X');  // flips a byte of the last commit record: its CRC fails
  }
  auto s = Open();
  EXPECT_EQ(s->Cursor("src"), "a");
  EXPECT_EQ(s->next_seq(), 3u);
}

TEST_F(SpoolTest, AckDeletesFullyAckedSegmentsAndCursorsSurviveRolls) {
  opt_.segment_bytes = 200;
  {
    auto s = Open();
    for (int i = 0; i < 10; ++i) Put(*s, 3, "pos-" + std::to_string(i));
    EXPECT_GT(s->stats().segments, 3u);
    s->Ack(30);
    EXPECT_EQ(s->stats().segments, 1u);
    EXPECT_TRUE(s->Read(30, 10).empty());
  }
  auto s = Open();
  EXPECT_EQ(s->Cursor("src"), "pos-9");
  EXPECT_EQ(s->next_seq(), 31u);
  Put(*s, 1, "pos-10");
  ASSERT_EQ(s->Read(0, 10).size(), 1u);
  EXPECT_EQ(s->Read(0, 10)[0].seq, 31u);
}

TEST_F(SpoolTest, BlockPolicyReportsFull) {
  opt_.max_bytes = 300;
  opt_.segment_bytes = 100;
  auto s = Open();
  EXPECT_FALSE(s->Full());
  for (int i = 0; i < 10; ++i) Put(*s, 2, "x");
  EXPECT_TRUE(s->Full());
  EXPECT_EQ(s->stats().dropped_events, 0u);
  s->Ack(s->stats().committed_seq);
  EXPECT_FALSE(s->Full());
}

TEST_F(SpoolTest, DropOldestPolicyBoundsBytesAndCountsDrops) {
  opt_.max_bytes = 300;
  opt_.segment_bytes = 100;
  opt_.overflow = OverflowPolicy::kDropOldest;
  auto s = Open();
  for (int i = 0; i < 20; ++i) Put(*s, 2, "x");
  EXPECT_LE(s->stats().bytes, 300u + 100u);
  EXPECT_GT(s->stats().dropped_events, 0u);
  const auto recs = s->Read(0, 1000);
  ASSERT_FALSE(recs.empty());
  // What is readable plus what was dropped is everything.
  EXPECT_EQ(recs.size() + s->stats().dropped_events, 40u);
  EXPECT_EQ(recs.back().seq, 40u);
}

TEST_F(SpoolTest, SkipToRenumbersAfterCollectorsSequence) {
  auto s = Open();
  s->SkipTo(100);
  EXPECT_EQ(s->next_seq(), 101u);
  Put(*s, 1, "c");
  EXPECT_EQ(s->Read(0, 10).at(0).seq, 101u);
}

TEST(Crc32Test, KnownVector) { EXPECT_EQ(Crc32("123456789"), 0xCBF43926u); }

}  // namespace
}  // namespace ccmon::agent
