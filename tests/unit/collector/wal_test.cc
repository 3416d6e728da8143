#include "storage/wal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "storage/checkpoint.h"

namespace ccmon::collector {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ccmon-wal-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    opt_.dir = dir_.string();
    opt_.fsync_interval = milliseconds(1);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::pair<std::uint64_t, std::string>> ReplayAll(Wal& w, std::uint64_t after = 0) {
    std::vector<std::pair<std::uint64_t, std::string>> out;
    std::string err;
    w.Replay(
        after, [&](std::uint64_t lsn, std::string_view r) { out.emplace_back(lsn, r); }, &err);
    return out;
  }

  fs::path dir_;
  WalOptions opt_;
};

TEST_F(WalTest, AppendedRecordsBecomeDurableAndReplayAfterReopen) {
  {
    Wal w;
    std::string err, report;
    ASSERT_TRUE(w.Open(opt_, &err, &report)) << err;
    w.Start();
    std::uint64_t last = 0;
    for (int i = 0; i < 100; ++i) last = w.Append("record-" + std::to_string(i));
    EXPECT_EQ(last, 100u);
    ASSERT_TRUE(w.WaitDurable(last, milliseconds(5000)));
    EXPECT_EQ(w.stats().durable_lsn, 100u);
  }
  Wal w;
  std::string err, report;
  ASSERT_TRUE(w.Open(opt_, &err, &report)) << err;
  EXPECT_TRUE(report.empty()) << report;
  const auto recs = ReplayAll(w, 90);
  ASSERT_EQ(recs.size(), 10u);
  EXPECT_EQ(recs.front(), std::make_pair(std::uint64_t{91}, std::string("record-90")));
  EXPECT_EQ(w.last_lsn(), 100u);
  w.Start();
  EXPECT_EQ(w.Append("next"), 101u);
}

TEST_F(WalTest, TornTailIsCutAndReported) {
  {
    Wal w;
    std::string err, report;
    ASSERT_TRUE(w.Open(opt_, &err, &report));
    w.Start();
    w.Append("a");
    ASSERT_TRUE(w.WaitDurable(w.Append("b"), milliseconds(5000)));
  }
  std::string seg;
  for (const auto& e : fs::directory_iterator(dir_)) seg = e.path().string();
  {
    std::ofstream out(seg, std::ios::app | std::ios::binary);
    out.write("\x05\x00\x00\x00\x01\x02\x03", 7);  // half a header: kill -9 mid-write
  }
  Wal w;
  std::string err, report;
  ASSERT_TRUE(w.Open(opt_, &err, &report)) << err;
  EXPECT_NE(report.find("cut 7 bytes"), std::string::npos) << report;
  EXPECT_EQ(w.stats().torn_bytes_cut, 7u);
  EXPECT_EQ(ReplayAll(w).size(), 2u);
  w.Start();
  EXPECT_EQ(w.Append("c"), 3u);
  ASSERT_TRUE(w.WaitDurable(3, milliseconds(5000)));
  Wal again;
  ASSERT_TRUE(again.Open(opt_, &err, &report));
  EXPECT_EQ(ReplayAll(again).size(), 3u);
}

TEST_F(WalTest, DiskFullHoldsDurabilityAndRecoversByItself) {
  std::atomic<bool> full{true};
  opt_.write_fn = [&](int fd, const void* p, std::size_t n) -> ssize_t {
    if (full) {
      errno = ENOSPC;
      return -1;
    }
    return ::write(fd, p, n);
  };
  Wal w;
  std::string err, report;
  ASSERT_TRUE(w.Open(opt_, &err, &report));
  w.Start();
  const auto lsn = w.Append("held");
  EXPECT_FALSE(w.WaitDurable(lsn, milliseconds(300)));
  EXPECT_FALSE(w.stats().healthy);
  EXPECT_GE(w.stats().write_errors, 1u);
  EXPECT_NE(w.stats().last_error.find("No space"), std::string::npos) << w.stats().last_error;
  full = false;
  ASSERT_TRUE(w.WaitDurable(lsn, milliseconds(5000)));
  EXPECT_TRUE(w.stats().healthy);
  w.Stop();
  Wal again;
  ASSERT_TRUE(again.Open(opt_, &err, &report));
  const auto recs = ReplayAll(again);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].second, "held");
}

TEST_F(WalTest, ShortWritesDoNotTearRecords) {
  int calls = 0;
  opt_.write_fn = [&](int fd, const void* p, std::size_t n) -> ssize_t {
    if (++calls == 1) {
      ::write(fd, p, n / 2);  // half goes out, then the disk fills
      errno = ENOSPC;
      return -1;
    }
    return ::write(fd, p, n);
  };
  Wal w;
  std::string err, report;
  ASSERT_TRUE(w.Open(opt_, &err, &report));
  w.Start();
  // The hook writes half the buffer and then reports failure: the WAL must cut the half
  // record before retrying, or the log would hold a torn record in its middle.
  const auto lsn = w.Append(std::string(1000, 'x'));
  ASSERT_TRUE(w.WaitDurable(lsn, milliseconds(5000)));
  w.Stop();
  Wal again;
  ASSERT_TRUE(again.Open(opt_, &err, &report));
  EXPECT_TRUE(report.empty()) << report;
  EXPECT_EQ(ReplayAll(again).size(), 1u);
}

TEST_F(WalTest, TruncateThroughDropsCheckpointedSegments) {
  opt_.segment_bytes = 200;
  Wal w;
  std::string err, report;
  ASSERT_TRUE(w.Open(opt_, &err, &report));
  w.Start();
  std::uint64_t lsn = 0;
  for (int i = 0; i < 50; ++i) {
    lsn = w.Append(std::string(50, 'r'));
    ASSERT_TRUE(w.WaitDurable(lsn, milliseconds(5000)));
  }
  EXPECT_GT(w.stats().segments, 5u);
  w.TruncateThrough(40);
  EXPECT_LE(w.stats().segments, 4u);
  const auto recs = ReplayAll(w, 40);
  ASSERT_EQ(recs.size(), 10u);
  EXPECT_EQ(recs.front().first, 41u);
}

TEST_F(WalTest, CheckpointFileRoundTripAndDamage) {
  fs::create_directories(dir_);
  std::string err, state;
  std::uint64_t lsn = 7;
  ASSERT_TRUE(ReadCheckpoint(dir_.string(), &lsn, &state, &err));  // none yet
  EXPECT_EQ(lsn, 0u);
  ASSERT_TRUE(WriteCheckpoint(dir_.string(), 42, "engine-state", &err)) << err;
  ASSERT_TRUE(ReadCheckpoint(dir_.string(), &lsn, &state, &err)) << err;
  EXPECT_EQ(lsn, 42u);
  EXPECT_EQ(state, "engine-state");
  {
    std::fstream f(dir_ / "checkpoint", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-2, std::ios::end);
    f.put('Z');
  }
  EXPECT_FALSE(ReadCheckpoint(dir_.string(), &lsn, &state, &err));
  EXPECT_NE(err.find("checksum"), std::string::npos) << err;
}

}  // namespace
}  // namespace ccmon::collector
