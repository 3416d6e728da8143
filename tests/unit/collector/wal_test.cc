#include "storage/wal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <set>
#include <thread>

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

  // A write(2) that fails with ENOSPC while `full` is set.
  static std::function<ssize_t(int, const void*, std::size_t)> FullWhile(
      const std::atomic<bool>& full) {
    return [&full](int fd, const void* p, std::size_t n) -> ssize_t {
      if (full) {
        errno = ENOSPC;
        return -1;
      }
      return ::write(fd, p, n);
    };
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

// Damage anywhere in a segment (one flipped byte, or a run of zeroed bytes, at random offsets
// over many runs) loses exactly the records whose bytes it touched, as long as a later write
// group proves the damaged one was on disk whole; damage in the last write group is a torn
// write and cuts the segment from the first damaged record (those records were never
// acknowledged). Every record kept replays with its payload intact, the damage is reported,
// and a second open finds a clean log that appends continue on.
TEST_F(WalTest, DamageLosesOnlyTheRecordsItTouchesBeforeTheLastGroup) {
  constexpr int kRecords = 150;
  std::vector<std::string> payloads;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;  // [begin, end) per record
  {
    Wal w;
    std::string err, report;
    ASSERT_TRUE(w.Open(opt_, &err, &report)) << err;
    w.Start();
    std::uint64_t at = 0;
    for (int i = 0; i < kRecords; ++i) {
      payloads.push_back("record-" + std::to_string(i) +
                         std::string(static_cast<std::size_t>(i % 37), 'x'));
      spans.emplace_back(at, at + 16 + payloads.back().size());
      at = spans.back().second;
      const std::uint64_t lsn = w.Append(payloads.back());
      if (i % 10 == 9) {
        ASSERT_TRUE(w.WaitDurable(lsn, milliseconds(5000)));  // one write group
      }
    }
  }
  std::string seg;
  for (const auto& e : fs::directory_iterator(dir_)) seg = e.path().string();
  std::string clean;
  {
    std::ifstream in(seg, std::ios::binary);
    clean.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_EQ(clean.size(), spans.back().second);
  auto group_end = [](const std::string& bytes, std::uint64_t at) {
    return (static_cast<unsigned char>(bytes[at + 3]) & 0x80) != 0;
  };
  int groups = 0;
  for (const auto& sp : spans) groups += group_end(clean, sp.first) ? 1 : 0;
  ASSERT_GE(groups, 15);
  std::mt19937 rng(20261204);
  int cut_runs = 0, skip_runs = 0;
  for (int run = 0; run < 300; ++run) {
    std::string damaged = clean;
    const std::size_t from = rng() % damaged.size();
    const std::size_t n = run % 3 == 0 ? 1 + rng() % 100 : 1;
    const std::size_t to = std::min(damaged.size(), from + n);
    for (std::size_t i = from; i < to; ++i) {
      damaged[i] = n == 1 ? static_cast<char>(damaged[i] ^ (1 << (rng() % 8))) : '\0';
    }
    // A record is damaged when its bytes differ, leaving aside the group mark (bit 31 of its
    // length), which is not covered by the CRC and changes no payload.
    auto touched = [&](int i) {
      for (std::uint64_t k = spans[i].first; k < spans[i].second; ++k) {
        const char mask = k == spans[i].first + 3 ? 0x7f : static_cast<char>(0xff);
        if ((damaged[k] & mask) != (clean[k] & mask)) return true;
      }
      return false;
    };
    int first = -1;
    for (int i = 0; i < kRecords && first < 0; ++i) first = touched(i) ? i : -1;
    if (first < 0) continue;
    // The last group end, among intact records, with an intact record after it.
    int proven = -1;
    for (int i = 0; i < kRecords; ++i) {
      if (touched(i) || !group_end(damaged, spans[i].first)) continue;
      for (int j = i + 1; j < kRecords; ++j) {
        if (!touched(j)) {
          proven = i;
          break;
        }
      }
    }
    std::set<std::uint64_t> expected;
    for (int i = 0; i < kRecords; ++i) {
      const bool lost = first > proven ? i >= first : touched(i);
      if (!lost) expected.insert(static_cast<std::uint64_t>(i + 1));
    }
    (first > proven ? cut_runs : skip_runs)++;
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    {
      std::ofstream out(seg, std::ios::binary);
      out << damaged;
    }
    Wal w;
    std::string err, report;
    ASSERT_TRUE(w.Open(opt_, &err, &report)) << err;
    std::set<std::uint64_t> got;
    for (const auto& [lsn, rec] : ReplayAll(w)) {
      ASSERT_GE(lsn, 1u);
      ASSERT_LE(lsn, static_cast<std::uint64_t>(kRecords));
      EXPECT_EQ(rec, payloads[lsn - 1]) << "run " << run;
      got.insert(lsn);
    }
    ASSERT_EQ(got, expected) << "run " << run << ": damage at " << from << "-" << to
                             << ", first damaged record " << first << ", proven through " << proven
                             << "\n"
                             << report;
    EXPECT_FALSE(report.empty()) << "run " << run << ": damage not reported";
    w.Start();
    const std::uint64_t next = w.Append("after");
    ASSERT_TRUE(w.WaitDurable(next, milliseconds(5000)));
    w.Stop();
    Wal again;
    std::string report2;
    ASSERT_TRUE(again.Open(opt_, &err, &report2)) << err;
    EXPECT_TRUE(report2.empty()) << "run " << run << ": " << report2;
    EXPECT_EQ(ReplayAll(again).size(), expected.size() + 1) << "run " << run;
  }
  EXPECT_GT(skip_runs, 100) << "too few runs damaged a proven group";
  EXPECT_GT(cut_runs, 5) << "too few runs damaged the last group";
}

// The adversarial case that used to lose the whole log: 100 zero bytes at offset 1000, with
// later write groups on disk, loses only the records the zeroes cover.
TEST_F(WalTest, AZeroedBlockInTheMiddleKeepsEverythingAfterIt) {
  {
    Wal w;
    std::string err, report;
    ASSERT_TRUE(w.Open(opt_, &err, &report)) << err;
    w.Start();
    for (int i = 0; i < 200; ++i) {
      const std::uint64_t lsn = w.Append("event-batch-" + std::to_string(i));
      if (i % 20 == 19) {
        ASSERT_TRUE(w.WaitDurable(lsn, milliseconds(5000)));
      }
    }
  }
  std::string seg;
  for (const auto& e : fs::directory_iterator(dir_)) seg = e.path().string();
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1000);
    const std::string zeros(100, '\0');
    f.write(zeros.data(), 100);
  }
  Wal w;
  std::string err, report;
  ASSERT_TRUE(w.Open(opt_, &err, &report)) << err;
  // Records are 16 + 16 or 17 bytes: the 100 bytes touch four to five of them.
  const auto recs = ReplayAll(w);
  EXPECT_GE(recs.size(), 195u);
  EXPECT_LE(recs.size(), 196u);
  EXPECT_EQ(recs.back().first, 200u);
  EXPECT_NE(report.find("damaged bytes at offsets"), std::string::npos) << report;
  EXPECT_EQ(w.stats().damaged_records_lost, 200u - recs.size());
}

// A power cut mid-write can leave a hole of zeroes inside the last, unsynced write group with
// later records of that group intact. They were never acknowledged; replaying them would make
// the collector skip the hole's events when their agent sends them again. The log is cut at
// the hole instead.
TEST_F(WalTest, AHoleInTheLastWriteGroupCutsTheLogThere) {
  {
    Wal w;
    std::string err, report;
    ASSERT_TRUE(w.Open(opt_, &err, &report)) << err;
    w.Start();
    for (int i = 0; i < 10; ++i) w.Append("synced-" + std::to_string(i));
    ASSERT_TRUE(w.WaitDurable(10, milliseconds(5000)));
    for (int i = 0; i < 10; ++i) w.Append("last-group-" + std::to_string(i));
    ASSERT_TRUE(w.WaitDurable(20, milliseconds(5000)));
  }
  std::string seg;
  for (const auto& e : fs::directory_iterator(dir_)) seg = e.path().string();
  const auto size = fs::file_size(seg);
  {
    // Zero the 13th record (in the last group) whole.
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    const std::uint64_t at = 10 * (16 + 8) + 2 * (16 + 12);
    f.seekp(static_cast<std::streamoff>(at));
    const std::string zeros(16 + 12, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  ASSERT_EQ(fs::file_size(seg), size);
  Wal w;
  std::string err, report;
  ASSERT_TRUE(w.Open(opt_, &err, &report)) << err;
  const auto recs = ReplayAll(w);
  ASSERT_EQ(recs.size(), 12u) << report;
  EXPECT_EQ(recs.back().second, "last-group-1");
  EXPECT_NE(report.find("cut"), std::string::npos) << report;
}

// A segment that a later segment follows was closed after a successful sync: damage in its
// last write group costs only the record it touched, not the records after it.
TEST_F(WalTest, DamageInASealedSegmentsLastGroupLosesOnlyThatRecord) {
  opt_.segment_bytes = 150;  // three groups of three 24-byte records per segment
  {
    Wal w;
    std::string err, report;
    ASSERT_TRUE(w.Open(opt_, &err, &report)) << err;
    w.Start();
    for (int i = 1; i <= 18; ++i) {
      char payload[16];
      std::snprintf(payload, sizeof payload, "rec-%04d", i);
      const std::uint64_t lsn = w.Append(payload);
      if (i % 3 == 0) {
        ASSERT_TRUE(w.WaitDurable(lsn, milliseconds(5000)));
      }
    }
  }
  std::vector<std::string> segs;
  for (const auto& e : fs::directory_iterator(dir_)) segs.push_back(e.path().string());
  std::sort(segs.begin(), segs.end());
  ASSERT_GE(segs.size(), 2u);
  ASSERT_EQ(fs::file_size(segs[0]), 9u * 24u);
  {
    std::fstream f(segs[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(6 * 24 + 16 + 2);  // a payload byte of record 7, first of the segment's last group
    f.put('X');
  }
  Wal w;
  std::string err, report;
  ASSERT_TRUE(w.Open(opt_, &err, &report)) << err;
  std::vector<std::uint64_t> lsns;
  for (const auto& [lsn, rec] : ReplayAll(w)) lsns.push_back(lsn);
  std::vector<std::uint64_t> expected;
  for (std::uint64_t i = 1; i <= 18; ++i) {
    if (i != 7) expected.push_back(i);
  }
  EXPECT_EQ(lsns, expected) << report;
}

TEST_F(WalTest, DiskFullHoldsDurabilityAndRecoversByItself) {
  std::atomic<bool> full{true};
  opt_.write_fn = FullWhile(full);
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

// What an ack writer relies on: a listener is told once the record it awaits is on disk (a
// full disk holds it back, and the write that succeeds afterwards tells it), and by Recreate
// when lost files are replaced; after Unlisten it is told nothing more.
TEST_F(WalTest, ListenersAreToldWhenWhatTheyAwaitIsDurableUntilTheyStopListening) {
  Wal w;
  struct Recorder final : DurableListener {
    explicit Recorder(const Wal& wal) : wal(wal) {}
    const Wal& wal;
    std::mutex mu;
    std::condition_variable cv;
    std::atomic<std::uint64_t> awaited{0};
    std::uint64_t told = 0;
    std::uint64_t Awaited() const override { return awaited.load(); }
    void OnDurable(std::uint64_t lsn) override {
      EXPECT_GE(wal.durable_lsn(), lsn);  // told only after it is published
      EXPECT_GE(lsn, awaited.load());
      std::lock_guard lock(mu);
      told = std::max(told, lsn);
      cv.notify_all();
    }
    bool WaitTold(std::uint64_t lsn) {
      std::unique_lock lock(mu);
      return cv.wait_for(lock, milliseconds(5000), [&] { return told >= lsn; });
    }
    std::uint64_t Told() {
      std::lock_guard lock(mu);
      return told;
    }
  } listener(w);
  std::atomic<bool> full{true};
  opt_.write_fn = FullWhile(full);
  std::string err, report;
  ASSERT_TRUE(w.Open(opt_, &err, &report));
  w.Listen(&listener);
  w.Start();
  // Each record is awaited before it is appended: a wrong tell cannot slip in between.
  const auto first = w.last_lsn() + 1;
  listener.awaited = first;
  ASSERT_EQ(w.Append("held"), first);
  EXPECT_FALSE(w.WaitDurable(first, milliseconds(300)));
  EXPECT_LT(listener.Told(), first);
  full = false;
  ASSERT_TRUE(listener.WaitTold(first));
  EXPECT_GE(w.durable_lsn(), listener.Told());

  // Files lost: nothing becomes durable until Recreate, which tells the listener itself.
  fs::remove_all(dir_);
  ASSERT_FALSE(w.CheckFiles());
  const auto second = w.last_lsn() + 1;
  listener.awaited = second;
  ASSERT_EQ(w.Append("held while the files are lost"), second);
  EXPECT_FALSE(w.WaitDurable(second, milliseconds(300)));
  EXPECT_LT(listener.Told(), second);
  ASSERT_TRUE(w.Recreate(second, &err)) << err;
  EXPECT_EQ(listener.Told(), second);

  w.Unlisten(&listener);
  const auto third = w.last_lsn() + 1;
  listener.awaited = third;
  ASSERT_EQ(w.Append("not told"), third);
  ASSERT_TRUE(w.WaitDurable(third, milliseconds(5000)));
  w.Stop();  // the flusher has told whoever it was going to tell
  EXPECT_EQ(listener.Told(), second);
}

// A listener that awaits nothing, or a record not yet durable, is not told.
TEST_F(WalTest, OnlyListenersAwaitingWhatIsDurableAreTold) {
  struct Counter final : DurableListener {
    std::atomic<std::uint64_t> awaited{0};
    std::atomic<int> calls{0};
    std::uint64_t Awaited() const override { return awaited.load(); }
    void OnDurable(std::uint64_t) override { ++calls; }
  } idle, later, waiting;
  Wal w;
  std::string err, report;
  ASSERT_TRUE(w.Open(opt_, &err, &report));
  for (Counter* c : {&idle, &later, &waiting}) w.Listen(c);
  w.Start();
  const auto lsn = w.last_lsn() + 1;  // awaited before it is appended: it may be durable at once
  waiting.awaited = lsn;
  later.awaited = lsn + 1;
  ASSERT_EQ(w.Append("one"), lsn);
  ASSERT_TRUE(w.WaitDurable(lsn, milliseconds(5000)));
  w.Stop();
  EXPECT_EQ(waiting.calls.load(), 1);
  EXPECT_EQ(idle.calls.load(), 0);
  EXPECT_EQ(later.calls.load(), 0);
}

// Unlisten does not return while the listener is being told: after it, the listener may go.
TEST_F(WalTest, UnlistenWaitsForATellInProgress) {
  struct Blocking final : DurableListener {
    std::atomic<std::uint64_t> awaited{0};
    std::mutex mu;
    std::condition_variable cv;
    bool entered = false;
    bool release = false;
    std::uint64_t Awaited() const override { return awaited.load(); }
    void OnDurable(std::uint64_t) override {
      std::unique_lock lock(mu);
      entered = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
    }
  } listener;
  Wal w;
  std::string err, report;
  ASSERT_TRUE(w.Open(opt_, &err, &report));
  w.Listen(&listener);
  w.Start();
  listener.awaited = w.last_lsn() + 1;
  w.Append("one");
  {
    std::unique_lock lock(listener.mu);
    ASSERT_TRUE(listener.cv.wait_for(lock, milliseconds(5000), [&] { return listener.entered; }));
  }
  std::atomic<bool> unlistened{false};
  std::thread t([&] {
    w.Unlisten(&listener);
    unlistened = true;
  });
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_FALSE(unlistened.load());
  {
    std::lock_guard lock(listener.mu);
    listener.release = true;
  }
  listener.cv.notify_all();
  t.join();
  EXPECT_TRUE(unlistened.load());
  w.Stop();
}

// A disk that hangs inside write(2) holds the flusher's file lock: stats() (and so /healthz
// and /metrics) still answers at once, with the last figures, and says the WAL is unhealthy
// once the write has been stuck for longer than hung_after.
TEST_F(WalTest, AHungWriteIsReportedWithoutBlockingStats) {
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool hang = true, in_write = false;
  opt_.hung_after = milliseconds(100);
  opt_.write_fn = [&](int fd, const void* p, std::size_t n) {
    std::unique_lock lock(gate_mu);
    in_write = true;
    gate_cv.notify_all();
    gate_cv.wait(lock, [&] { return !hang; });
    return ::write(fd, p, n);
  };
  Wal w;
  std::string err, report;
  ASSERT_TRUE(w.Open(opt_, &err, &report)) << err;
  w.Start();
  const std::uint64_t lsn = w.Append("stuck");
  {
    std::unique_lock lock(gate_mu);
    ASSERT_TRUE(gate_cv.wait_for(lock, std::chrono::seconds(5), [&] { return in_write; }));
  }
  // Unhealthy once the write has been stuck past hung_after; each call returns promptly.
  bool unhealthy = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!unhealthy && std::chrono::steady_clock::now() < deadline) {
    const auto before = std::chrono::steady_clock::now();
    const WalStats s = w.stats();
    EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(2));
    unhealthy = !s.healthy;
    if (unhealthy) {
      EXPECT_NE(s.last_error.find("disk hung"), std::string::npos) << s.last_error;
    }
  }
  EXPECT_TRUE(unhealthy);
  EXPECT_FALSE(w.WaitDurable(lsn, milliseconds(1)));
  {
    std::lock_guard lock(gate_mu);
    hang = false;
  }
  gate_cv.notify_all();
  ASSERT_TRUE(w.WaitDurable(lsn, milliseconds(5000)));
  EXPECT_TRUE(w.stats().healthy);
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
  CheckpointPayload payload = CheckpointPayload::kLegacy;
  ASSERT_TRUE(ReadCheckpoint(dir_.string(), &lsn, &state, &payload, &err));  // none yet
  EXPECT_EQ(lsn, 0u);
  ASSERT_TRUE(WriteCheckpoint(dir_.string(), 42, "engine-state", &err)) << err;
  ASSERT_TRUE(ReadCheckpoint(dir_.string(), &lsn, &state, &payload, &err)) << err;
  EXPECT_EQ(lsn, 42u);
  EXPECT_EQ(state, "engine-state");
  EXPECT_EQ(payload, CheckpointPayload::kProtobuf);
  {
    std::fstream f(dir_ / "checkpoint", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-2, std::ios::end);
    f.put('Z');
  }
  EXPECT_FALSE(ReadCheckpoint(dir_.string(), &lsn, &state, &payload, &err));
  EXPECT_NE(err.find("checksum"), std::string::npos) << err;
}

}  // namespace
}  // namespace ccmon::collector
