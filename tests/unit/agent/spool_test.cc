#include "ccmon/agent/spool.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

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

// Two readers (two collector replicas) interleave their reads at their own places, one
// ahead of the other: each gets exactly the records after its own position, in order.
TEST_F(SpoolTest, ReadersKeepTheirOwnPlaces) {
  opt_.segment_bytes = 4096;  // several segments
  auto s = Open();
  for (int i = 0; i < 20; ++i) Put(*s, 10, "pos");
  std::uint64_t a = 0, b = 0;
  std::vector<std::uint64_t> got_a, got_b;
  while (a < 200 || b < 200) {
    for (const auto& r : s->Read(a, 7, 0)) got_a.push_back(a = r.seq);
    if (a % 3 == 0 || a >= 200) {
      for (const auto& r : s->Read(b, 3, 1)) got_b.push_back(b = r.seq);
    }
  }
  ASSERT_EQ(got_a.size(), 200u);
  ASSERT_EQ(got_b.size(), 200u);
  for (std::uint64_t i = 0; i < 200; ++i) {
    EXPECT_EQ(got_a[i], i + 1);
    EXPECT_EQ(got_b[i], i + 1);
  }
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

// Damage anywhere in an unsent segment (a flipped byte or a zeroed run, random offsets over
// many runs) loses only the events whose records it touched: every other committed event is
// still read with its payload, cursors of intact commits stand, the loss is counted as
// dropped and reported by offset, and the repaired spool takes new events.
TEST_F(SpoolTest, DamageLosesOnlyTheEventsItTouches) {
  struct Rec {
    std::size_t begin, end;
    std::uint64_t seq;  // 0: a commit record
  };
  std::vector<Rec> recs;
  {
    auto s = Open();
    std::string err;
    std::size_t at = 0;
    for (int chunk = 0; chunk < 30; ++chunk) {
      for (int i = 0; i < 4; ++i) {
        const std::string payload = "event-" + std::to_string(s->next_seq());
        recs.push_back({at, at + 8 + 13 + payload.size(), s->next_seq()});
        at = recs.back().end;
        ASSERT_TRUE(s->Append(payload, &err)) << err;
      }
      const std::string cursor = "pos-" + std::to_string(chunk);
      recs.push_back({at, at + 8 + 13 + 3 + cursor.size(), 0});
      at = recs.back().end;
      ASSERT_TRUE(s->Commit("src", cursor, &err)) << err;
    }
  }
  std::string seg;
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().filename().string().starts_with("seg-")) seg = e.path().string();
  }
  std::string clean;
  {
    std::ifstream in(seg, std::ios::binary);
    clean.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_EQ(clean.size(), recs.back().end);
  const std::string instance = [&] {
    std::ifstream in(dir_ / "instance");
    std::string id;
    std::getline(in, id);
    return id;
  }();
  std::mt19937 rng(4122026);
  for (int run = 0; run < 300; ++run) {
    std::string damaged = clean;
    const std::size_t from = rng() % damaged.size();
    const std::size_t n = run % 3 == 0 ? 1 + rng() % 60 : 1;
    const std::size_t to = std::min(damaged.size(), from + n);
    for (std::size_t i = from; i < to; ++i) {
      damaged[i] = n == 1 ? static_cast<char>(damaged[i] ^ (1 << (rng() % 8))) : '\0';
    }
    if (damaged == clean) continue;
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    {
      std::ofstream(dir_ / "instance") << instance << "\n";
      std::ofstream out(seg, std::ios::binary);
      out << damaged;
    }
    auto touched = [&](const Rec& r) {
      return r.begin < to && from < r.end &&
             damaged.compare(r.begin, r.end - r.begin, clean, r.begin, r.end - r.begin) != 0;
    };
    // Expected: every untouched event up to the last untouched commit; the chunk after that
    // commit is uncommitted (its commit was damaged at the end) and is cut, to be re-read.
    std::size_t last_commit = 0;
    for (std::size_t i = 0; i < recs.size(); ++i) {
      if (recs[i].seq == 0 && !touched(recs[i])) last_commit = i;
    }
    std::set<std::uint64_t> expected;
    std::uint64_t lost = 0;
    for (std::size_t i = 0; i < last_commit; ++i) {
      if (recs[i].seq == 0) continue;
      if (touched(recs[i])) {
        ++lost;
      } else {
        expected.insert(recs[i].seq);
      }
    }
    auto s = Open();
    std::set<std::uint64_t> got;
    for (const auto& r : s->Read(0, 1000)) {
      EXPECT_EQ(r.payload, "event-" + std::to_string(r.seq)) << "run " << run;
      got.insert(r.seq);
    }
    std::string diff;
    for (auto q : expected)
      if (!got.count(q)) diff += " missing " + std::to_string(q);
    for (auto q : got)
      if (!expected.count(q)) diff += " extra " + std::to_string(q);
    for (std::size_t i = 0; i < recs.size(); ++i) {
      if (touched(recs[i]))
        diff += " touched#" + std::to_string(i) + "(seq " + std::to_string(recs[i].seq) + " " +
                std::to_string(recs[i].begin) + "-" + std::to_string(recs[i].end) + ")";
    }
    diff += " size " + std::to_string(clean.size()) + " last_commit#" + std::to_string(last_commit);
    ASSERT_EQ(got, expected) << "run " << run << ": damage at " << from << "-" << to << diff << "\n"
                             << s->recovery_report();
    EXPECT_EQ(s->stats().damaged_events_lost, lost) << "run " << run;
    EXPECT_EQ(s->stats().dropped_events, lost) << "run " << run;
    const auto commit_end = recs.begin() + static_cast<std::ptrdiff_t>(last_commit);
    const bool any = std::any_of(recs.begin(), commit_end, touched);
    EXPECT_EQ(any, !s->recovery_report().empty()) << "run " << run;
    const int chunk = static_cast<int>(
        std::count_if(recs.begin(), commit_end + 1, [](const Rec& r) { return r.seq == 0; }));
    EXPECT_EQ(s->Cursor("src"), "pos-" + std::to_string(chunk - 1)) << "run " << run;
    Put(*s, 1, "more");
    s.reset();
    auto again = Open();
    EXPECT_TRUE(again->recovery_report().empty()) << again->recovery_report();
    EXPECT_EQ(again->Read(0, 1000).size(), expected.size() + 1) << "run " << run;
  }
}

// A write the disk refuses (here the file-size limit, as a full disk would) fails the chunk:
// Rollback leaves the spool exactly as at its last commit, appends work again once there is
// room, and a reopen finds nothing torn.
TEST_F(SpoolTest, RollbackAfterAFailedWriteRestoresTheLastCommit) {
  auto s = Open();
  Put(*s, 3, "a");
  const auto bytes = s->stats().bytes;
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit lim = old;
  lim.rlim_cur = bytes + 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
  std::string err;
  bool failed = false;
  for (int i = 0; i < 1000 && !failed; ++i) {
    failed = !s->Append(std::string(100, 'x'), &err);
  }
  if (!failed) failed = !s->Commit("src", "b", &err);
  ASSERT_TRUE(failed) << "the size limit did not stop the writes";
  ASSERT_TRUE(s->Rollback(&err)) << err;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  EXPECT_EQ(s->next_seq(), 4u);
  EXPECT_EQ(s->stats().bytes, bytes);
  EXPECT_EQ(s->Read(0, 100).size(), 3u);
  Put(*s, 2, "c");
  s.reset();
  auto again = Open();
  EXPECT_EQ(again->stats().torn_bytes_cut, 0u);
  EXPECT_EQ(again->Cursor("src"), "c");
  const auto recs = again->Read(0, 100);
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs.back().seq, 5u);
}

// A roll writes the new segment under a temporary name until its head is on disk, so a crash
// cannot leave a half-made segment that recovery would take for the one being written; one
// left by a crash is removed when the spool opens.
TEST_F(SpoolTest, ASegmentLeftHalfMadeByARollIsRemoved) {
  {
    auto s = Open();
    Put(*s, 3, "a");
  }
  const fs::path tmp = dir_ / "seg-00000000000000000004.log.tmp";
  std::ofstream(tmp) << "half";
  auto s = Open();
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_EQ(s->Cursor("src"), "a");
  EXPECT_EQ(s->Read(0, 100).size(), 3u);
  Put(*s, 2, "b");
  EXPECT_EQ(s->Read(0, 100).size(), 5u);
}

// With fsync_on_commit, a chunk is committed only once the name of the segment holding it is
// on disk too. Opening syncs the directory (what this run or a killed one made there); after
// that, a commit into a new segment (the first after a roll) syncs it first, and fails, to be
// rolled back and tried again, while the disk refuses. Other commits do not sync it.
TEST_F(SpoolTest, ACommitWaitsUntilItsSegmentsNameIsOnDisk) {
  opt_.fsync_on_commit = true;
  opt_.segment_bytes = 300;
  int syncs = 0;  // of the spool directory itself
  bool refuse = false;
  opt_.sync_dir = [&](const std::string& dir) {
    if (dir == opt_.dir) ++syncs;
    errno = EIO;
    return !refuse;
  };
  auto s = Open();
  EXPECT_EQ(syncs, 1);
  refuse = true;
  Put(*s, 1, "a");  // into the segment the open synced
  Put(*s, 1, "b");
  refuse = false;
  EXPECT_EQ(syncs, 1);
  while (s->stats().segments == 1) Put(*s, 1, "c");  // the last of these commits rolled
  EXPECT_EQ(syncs, 1);
  refuse = true;
  std::string err;
  ASSERT_TRUE(s->Append("event-" + std::to_string(s->next_seq()), &err)) << err;
  EXPECT_FALSE(s->Commit("src", "d", &err));
  EXPECT_NE(err.find("cannot sync the spool directory"), std::string::npos) << err;
  EXPECT_EQ(syncs, 2);
  ASSERT_TRUE(s->Rollback(&err)) << err;
  const std::size_t committed = s->Read(0, 1000).size();
  refuse = false;
  Put(*s, 2, "d");
  EXPECT_EQ(syncs, 3);
  Put(*s, 1, "e");
  EXPECT_EQ(syncs, 3);
  s.reset();
  auto again = Open();
  EXPECT_EQ(syncs, 4);
  EXPECT_EQ(again->stats().torn_bytes_cut, 0u);
  EXPECT_EQ(again->Cursor("src"), "e");
  EXPECT_EQ(again->Read(0, 1000).size(), committed + 3);
}

// A spool directory's own name, and those of the directories made for it, are synced in
// their parents when it opens; a refusal fails the open with the directory named.
TEST_F(SpoolTest, OpeningSyncsTheDirectoriesMadeForTheSpool) {
  opt_.dir = (dir_ / "a" / "b").string() + "/";
  std::set<std::string> synced;
  bool refuse = false;
  opt_.sync_dir = [&](const std::string& dir) {
    synced.insert(dir);
    return !refuse;
  };
  Open();
  EXPECT_EQ(synced, (std::set<std::string>{opt_.dir, (dir_ / "a").string(), dir_.string(),
                                           dir_.parent_path().string()}));
  refuse = true;
  Spool again;
  std::string err;
  EXPECT_FALSE(again.Open(opt_, &err));
  EXPECT_NE(err.find("cannot sync the spool directory " + opt_.dir), std::string::npos) << err;
}

// A jump in numbering is on disk, name and all, before SkipTo returns: while the directory
// cannot be synced, SkipTo fails and appends wait; once it can, the numbers follow the jump,
// after a restart too.
TEST_F(SpoolTest, ASkipWaitsUntilItsSegmentsNameIsOnDisk) {
  opt_.fsync_on_commit = true;
  int syncs = 0;
  bool refuse = false;
  opt_.sync_dir = [&](const std::string& dir) {
    if (dir == opt_.dir) ++syncs;
    return !refuse;
  };
  auto s = Open();
  Put(*s, 3, "a");
  refuse = true;
  std::string err;
  EXPECT_FALSE(s->SkipTo(100, &err));
  EXPECT_NE(err.find("cannot sync the spool directory"), std::string::npos) << err;
  EXPECT_FALSE(s->Append("event-101", &err));
  refuse = false;
  const int before = syncs;
  Put(*s, 1, "b");
  EXPECT_EQ(syncs, before + 1);
  const auto recs = s->Read(0, 100);
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs.back().seq, 101u);
  EXPECT_TRUE(s->SkipTo(200, &err)) << err;
  EXPECT_EQ(syncs, before + 2);  // synced before it returned
  s.reset();
  EXPECT_EQ(Open()->next_seq(), 201u);
}

// Acknowledged segments are deleted only once the names of the segments after them are on
// disk: a power cut must not keep the deletion and lose the newer name.
TEST_F(SpoolTest, AcksDeleteNothingUntilTheNewerSegmentsNamesAreOnDisk) {
  opt_.fsync_on_commit = true;
  opt_.segment_bytes = 300;
  bool refuse = false;
  opt_.sync_dir = [&](const std::string&) { return !refuse; };
  auto s = Open();
  while (s->stats().segments == 1) Put(*s, 1, "a");  // the last commit rolled
  const auto files = [&] {
    return std::distance(fs::directory_iterator(dir_), fs::directory_iterator());
  };
  const auto before = files();
  refuse = true;
  s->Ack(s->stats().committed_seq);
  EXPECT_EQ(s->stats().segments, 2u);
  EXPECT_EQ(files(), before);
  EXPECT_EQ(s->cleanup_failures(), 1u);
  EXPECT_NE(s->cleanup_error().find("cannot sync the spool directory " + dir_.string()),
            std::string::npos)
      << s->cleanup_error();
  refuse = false;
  s->Ack(s->stats().committed_seq);
  EXPECT_EQ(s->stats().segments, 1u);
  EXPECT_EQ(files(), before - 1);
  EXPECT_EQ(s->cleanup_failures(), 1u);
}

// An acknowledged segment the disk will not remove is left on disk, counted with a message
// naming it, and forgotten: it holds neither later segments nor the spool's bound.
TEST_F(SpoolTest, AnAcknowledgedSegmentThatCannotBeRemovedIsLeftAndForgotten) {
  opt_.segment_bytes = 300;
  auto s = Open();
  while (s->stats().segments == 1) Put(*s, 1, "a");  // the last commit rolled
  std::vector<fs::path> segs;
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().filename().string().starts_with("seg-")) segs.push_back(e.path());
  }
  std::sort(segs.begin(), segs.end());
  ASSERT_EQ(segs.size(), 2u);
  // A non-empty directory in its place: remove() refuses it, even for root.
  fs::remove(segs[0]);
  fs::create_directories(segs[0] / "in-the-way");
  const auto bytes = s->stats().bytes;
  s->Ack(s->stats().committed_seq);
  EXPECT_EQ(s->stats().segments, 1u);
  EXPECT_LT(s->stats().bytes, bytes);
  EXPECT_EQ(s->cleanup_failures(), 1u);
  EXPECT_NE(s->cleanup_error().find("cannot remove " + segs[0].string() + " (left on disk)"),
            std::string::npos)
      << s->cleanup_error();
  EXPECT_TRUE(fs::exists(segs[0] / "in-the-way"));
  EXPECT_TRUE(fs::exists(segs[1]));
}

// Under drop_oldest too, the oldest segment goes only once the names after it are on disk:
// while the directory cannot be synced the spool stays over its bound (the chunk then fails
// at its commit, as on a full disk), and drops once it can.
TEST_F(SpoolTest, DropOldestDropsNothingUntilTheNewerSegmentsNamesAreOnDisk) {
  opt_.fsync_on_commit = true;
  opt_.overflow = OverflowPolicy::kDropOldest;
  opt_.max_bytes = 45'000;  // segments of 16 KiB
  bool refuse = false;
  opt_.sync_dir = [&](const std::string&) { return !refuse; };
  auto s = Open();
  const std::string big(8000, 'x');
  std::string err;
  bool rolled_past_bound = false;  // the last commit rolled, and the next append must drop
  for (int i = 0; i < 50 && !rolled_past_bound; ++i) {
    ASSERT_TRUE(s->Append(big, &err)) << err;
    const auto segments = s->stats().segments;
    ASSERT_TRUE(s->Commit("src", "a", &err)) << err;
    rolled_past_bound = s->stats().segments > segments && s->stats().bytes >= opt_.max_bytes;
  }
  ASSERT_TRUE(rolled_past_bound);
  const auto dropped = s->stats().dropped_events;
  const auto segments = s->stats().segments;
  refuse = true;
  ASSERT_TRUE(s->Append(big, &err)) << err;
  EXPECT_EQ(s->stats().dropped_events, dropped);
  EXPECT_EQ(s->stats().segments, segments);
  EXPECT_FALSE(s->Commit("src", "b", &err));
  ASSERT_TRUE(s->Rollback(&err)) << err;
  refuse = false;
  ASSERT_TRUE(s->Append(big, &err)) << err;
  EXPECT_GT(s->stats().dropped_events, dropped);
  EXPECT_LT(s->stats().segments, segments + 1);
  EXPECT_TRUE(s->Commit("src", "b", &err)) << err;
}

// Without fsync_on_commit, only opening syncs the directory: rolls, commits and acks never
// do, so a refusal never stops them.
TEST_F(SpoolTest, WithoutFsyncOnlyOpeningSyncsTheDirectory) {
  opt_.segment_bytes = 300;
  int syncs = 0;
  bool refuse = false;
  opt_.sync_dir = [&](const std::string&) {
    ++syncs;
    return !refuse;
  };
  auto s = Open();
  const int at_open = syncs;
  EXPECT_GE(at_open, 2);  // the spool directory and its parent
  refuse = true;
  for (int i = 0; i < 20; ++i) Put(*s, 1, "a");
  EXPECT_GT(s->stats().segments, 1u);
  s->Ack(s->stats().committed_seq);
  EXPECT_EQ(s->stats().segments, 1u);
  EXPECT_EQ(syncs, at_open);
}

// A spool bound smaller than the default segment: segments shrink to an eighth of it, so the
// block policy stops a backlog near the bound and drop_oldest can drop.
TEST_F(SpoolTest, SegmentsFollowASmallBound) {
  opt_.max_bytes = 200'000;
  opt_.overflow = OverflowPolicy::kDropOldest;
  auto s = Open();
  for (int i = 0; i < 2000; ++i) Put(*s, 5, "x");
  EXPECT_LE(s->stats().bytes, 200'000u + 25'000u);
  EXPECT_GT(s->stats().dropped_events, 0u);
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
  std::string err;
  ASSERT_TRUE(s->SkipTo(100, &err)) << err;
  EXPECT_EQ(s->next_seq(), 101u);
  Put(*s, 1, "c");
  EXPECT_EQ(s->Read(0, 10).at(0).seq, 101u);
}

// Numbers after a skip are on disk as they were given out: a restart resumes after them, and
// the events spooled on both sides of the jump are read back with their numbers.
TEST_F(SpoolTest, NumbersAfterASkipSurviveARestart) {
  {
    auto s = Open();
    Put(*s, 3, "a");
    std::string err;
    ASSERT_TRUE(s->SkipTo(100, &err)) << err;
    Put(*s, 2, "b");
  }
  auto s = Open();
  EXPECT_EQ(s->next_seq(), 103u);
  EXPECT_EQ(s->Cursor("src"), "b");
  std::vector<std::uint64_t> seqs;
  for (const auto& r : s->Read(0, 10)) seqs.push_back(r.seq);
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2, 3, 101, 102}));
  EXPECT_EQ(s->stats().torn_bytes_cut, 0u);
}

// A skip is durable before any event follows it: if the first chunk after it never reaches
// the disk, a restart still numbers after the collector's number, so what the source reads
// again is not taken for duplicates of what the collector already has.
TEST_F(SpoolTest, ASkipHoldsWhenTheChunkAfterItIsLost) {
  {
    auto s = Open();
    Put(*s, 3, "a");
    std::string err;
    ASSERT_TRUE(s->SkipTo(100, &err)) << err;
    ASSERT_TRUE(s->Append("event-101", &err)) << err;
    // No commit: the chunk is cut by recovery.
  }
  auto s = Open();
  EXPECT_EQ(s->next_seq(), 101u);
  EXPECT_EQ(s->Cursor("src"), "a");
  EXPECT_EQ(s->Read(0, 10).size(), 3u);
}

// A skip the disk refuses to record (here its segment cannot be created: a directory holds
// the name) keeps the spool from numbering anything after it until it is recorded: appends,
// and commits without events, fail meanwhile (the agent pauses its sources) although the
// segment before the jump still takes writes; once the segment can be made they go on after
// the jump.
TEST_F(SpoolTest, AppendsWaitForASkipTheDiskRefused) {
  auto s = Open();
  Put(*s, 3, "a");
  const fs::path blocker = dir_ / "seg-00000000000000000101.log.tmp";
  fs::create_directories(blocker / "x");
  std::string err;
  EXPECT_FALSE(s->SkipTo(100, &err));
  EXPECT_NE(err.find("seg-00000000000000000101.log.tmp"), std::string::npos) << err;
  EXPECT_FALSE(s->Append("event-101", &err));
  EXPECT_FALSE(s->Commit("src", "no events", &err));
  ASSERT_TRUE(s->Rollback(&err)) << err;
  EXPECT_EQ(s->next_seq(), 101u);
  fs::remove_all(blocker);
  Put(*s, 2, "b");
  s.reset();
  auto again = Open();
  EXPECT_EQ(again->next_seq(), 103u);
  EXPECT_EQ(again->Cursor("src"), "b");
  std::vector<std::uint64_t> seqs;
  for (const auto& r : again->Read(0, 10)) seqs.push_back(r.seq);
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2, 3, 101, 102}));
}

// A spool that never committed anything has no cursor to head the skip's segment with: the
// empty segment's name alone carries the jump, through a chunk that fails and is rolled back,
// and through a restart.
TEST_F(SpoolTest, AnEmptySkipSegmentOutlivesAFailedChunk) {
  auto s = Open();
  std::string err;
  ASSERT_TRUE(s->SkipTo(100, &err)) << err;
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit lim = old;
  lim.rlim_cur = 4;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
  const bool written = s->Append("event-101", &err) && s->Commit("src", "a", &err);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  EXPECT_FALSE(written);
  ASSERT_TRUE(s->Rollback(&err)) << err;
  s.reset();
  auto again = Open();
  EXPECT_EQ(again->next_seq(), 101u);
  Put(*again, 1, "b");
  EXPECT_EQ(again->Read(0, 10).at(0).seq, 101u);
}

// Each skip starts its own segment; a restart resumes after the last one, and readers cross
// the gaps in order.
TEST_F(SpoolTest, TwoSkipsAndARestart) {
  {
    auto s = Open();
    Put(*s, 2, "a");
    std::string err;
    ASSERT_TRUE(s->SkipTo(50, &err)) << err;
    Put(*s, 1, "b");
    ASSERT_TRUE(s->SkipTo(500, &err)) << err;
  }
  auto s = Open();
  EXPECT_EQ(s->next_seq(), 501u);
  Put(*s, 1, "c");
  std::vector<std::uint64_t> seqs;
  for (std::uint64_t after = 0;;) {
    const auto recs = s->Read(after, 1);
    if (recs.empty()) break;
    seqs.push_back(after = recs[0].seq);
  }
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2, 51, 501}));
  s->Ack(51);
  EXPECT_EQ(s->stats().acked_seq, 51u);
  EXPECT_EQ(s->Read(0, 10).size(), 2u);  // 51 may still be in a segment kept for 501
}

// Events dropped under drop_oldest are counted as events, not as the numbers a skip jumped.
TEST_F(SpoolTest, DroppingASegmentBeforeASkipCountsItsEventsOnly) {
  opt_.max_bytes = 300;
  opt_.segment_bytes = 100;
  opt_.overflow = OverflowPolicy::kDropOldest;
  auto s = Open();
  Put(*s, 4, "a");
  std::string err;
  ASSERT_TRUE(s->SkipTo(1000, &err)) << err;
  for (int i = 0; i < 10; ++i) Put(*s, 2, "b");
  const auto recs = s->Read(0, 1000);
  ASSERT_FALSE(recs.empty());
  EXPECT_GT(recs.front().seq, 1000u);  // everything before the skip was dropped
  EXPECT_EQ(recs.size() + s->stats().dropped_events, 24u);
  EXPECT_EQ(recs.back().seq, 1020u);
}

TEST(Crc32Test, KnownVector) { EXPECT_EQ(Crc32("123456789"), 0xCBF43926u); }

}  // namespace
}  // namespace ccmon::agent
