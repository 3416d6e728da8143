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
    // That last commit does not count when its chunk (every record since the untouched
    // commit before it) looks torn by a power cut: each run of touched records holds a
    // 512-byte sector, clipped to the chunk, of zeros. Then the spool ends at the commit
    // before it, and the chunk is read again from the source.
    std::size_t last_commit = 0;
    for (std::size_t i = 0; i < recs.size(); ++i) {
      if (recs[i].seq == 0 && !touched(recs[i])) last_commit = i;
    }
    std::size_t chunk_start = 0;
    for (std::size_t i = 0; i < last_commit; ++i) {
      if (recs[i].seq == 0 && !touched(recs[i])) chunk_start = i + 1;
    }
    const std::size_t chunk_begin = recs[chunk_start].begin;
    bool gaps = false, torn = true;
    for (std::size_t i = chunk_start; i < last_commit;) {
      if (!touched(recs[i])) {
        ++i;
        continue;
      }
      std::size_t j = i;
      while (touched(recs[j])) ++j;
      gaps = true;
      bool zero_sector = false;
      for (std::size_t at = recs[i].begin / 512 * 512; at < recs[j].begin; at += 512) {
        const std::size_t lo = std::max(at, chunk_begin);
        if (lo < recs[i].begin || at + 512 > recs[j].begin) continue;
        zero_sector = zero_sector || damaged.find_first_not_of('\0', lo) >= at + 512;
      }
      torn = torn && zero_sector;
      i = j;
    }
    if (gaps && torn) {
      ASSERT_GT(chunk_start, 0u) << "run " << run;  // damage never reaches every commit
      last_commit = chunk_start - 1;
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

// The segment being written lies in zeros laid down ahead of its records (so a commit does
// not change the file's size); closing the spool cuts the file to its records.
TEST_F(SpoolTest, SegmentIsWrittenIntoZerosAndCutToItsRecordsWhenClosed) {
  auto s = Open();
  Put(*s, 10, "a");
  const fs::path seg = dir_ / "seg-00000000000000000001.log";
  const auto records = s->stats().bytes;
  ASSERT_GT(fs::file_size(seg), records);
  {
    std::ifstream in(seg, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(data.find_first_not_of('\0', records), std::string::npos);
  }
  const auto size_open = fs::file_size(seg);
  Put(*s, 10, "b");  // within the zeros: the file keeps its size
  EXPECT_EQ(fs::file_size(seg), size_open);
  const auto bytes = s->stats().bytes;
  s.reset();
  EXPECT_EQ(fs::file_size(seg), bytes);
  auto again = Open();
  EXPECT_EQ(again->stats().torn_bytes_cut, 0u);
  EXPECT_EQ(again->Read(0, 100).size(), 20u);
}

// A disk with room for records but not for the zeros laid down ahead of them (here a
// file-size limit below the first 64 KiB of zeros): records still go in, each one extending
// the file by its own size, and nothing of the failed zeros is left for recovery to cut.
TEST_F(SpoolTest, WithoutRoomForTheZerosRecordsStillGoIn) {
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit lim = old;
  lim.rlim_cur = 40 << 10;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
  {
    auto s = Open();
    std::string err;
    for (int i = 0; i < 40; ++i) {  // about 27 KiB
      for (int e = 0; e < 5; ++e) ASSERT_TRUE(s->Append(std::string(100, 'x'), &err)) << err;
      ASSERT_TRUE(s->Commit("src", "c" + std::to_string(i), &err)) << err;
    }
    EXPECT_EQ(s->Read(0, 1000).size(), 200u);
  }
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  auto again = Open();
  EXPECT_EQ(again->stats().torn_bytes_cut, 0u);
  EXPECT_EQ(again->Cursor("src"), "c39");
  EXPECT_EQ(again->Read(0, 1000).size(), 200u);
}

// What a crash leaves on disk (kill -9 or power cut while the spool is open): the records,
// the zeros ahead of them and, when a write was cut short, the torn start of a record lying
// in those zeros. Recovery keeps every committed event, counts only the torn bytes, and the
// spool goes on from its last commit.
TEST_F(SpoolTest, ACrashInsideTheZerosKeepsEveryCommittedEvent) {
  const fs::path crashed = dir_.string() + "-crashed";
  fs::remove_all(crashed);
  std::uint64_t records = 0;
  {
    auto s = Open();
    Put(*s, 4, "a");
    Put(*s, 3, "b");
    records = s->stats().bytes;
    fs::copy(dir_, crashed);  // the files as they are while the spool is open
  }
  const fs::path seg = crashed / "seg-00000000000000000001.log";
  ASSERT_GT(fs::file_size(seg), records);
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(records));
    f.write("\x40\x00\x00\x00torn", 8);  // a record header and the start of its body
  }
  SpoolOptions o = opt_;
  o.dir = crashed.string();
  {
    Spool s;
    std::string err;
    ASSERT_TRUE(s.Open(o, &err)) << err;
    EXPECT_EQ(s.stats().torn_bytes_cut, 8u);
    EXPECT_EQ(s.Cursor("src"), "b");
    EXPECT_EQ(s.next_seq(), 8u);
    ASSERT_EQ(s.Read(0, 100).size(), 7u);
    Put(s, 2, "c");
  }
  Spool s;
  std::string err;
  ASSERT_TRUE(s.Open(o, &err)) << err;
  EXPECT_EQ(s.stats().torn_bytes_cut, 0u);
  EXPECT_EQ(s.Cursor("src"), "c");
  const auto recs = s.Read(0, 100);
  ASSERT_EQ(recs.size(), 9u);
  EXPECT_EQ(recs.back().payload, "event-9");
  fs::remove_all(crashed);
}

// The last chunk written, then its bytes on disk changed by `damage`, and the spool recovered:
// a first chunk (cursor "a", events 1-2) and a last one (cursor "b", `events` events of
// `payload` bytes). `whole` is where the last chunk starts, `commit` where its commit record
// starts.
struct LastChunk {
  std::string first_payload;
  int events = 1;
  std::size_t payload = 40;
};

class SpoolLastChunkTest : public SpoolTest {
 protected:
  template <typename Damage>
  std::unique_ptr<Spool> Recover(const LastChunk& c, Damage damage) {
    std::uint64_t whole = 0, commit = 0;
    {
      auto s = Open();
      std::string err;
      EXPECT_TRUE(s->Append("event-1", &err) && s->Append(c.first_payload, &err)) << err;
      EXPECT_TRUE(s->Commit("src", "a", &err)) << err;
      whole = s->stats().bytes;
      for (int i = 0; i < c.events; ++i) {
        EXPECT_TRUE(s->Append(std::string(c.payload, 'y'), &err)) << err;
      }
      commit = s->stats().bytes;
      EXPECT_TRUE(s->Commit("src", "b", &err)) << err;
      fs::copy(dir_, crashed_);  // the files as a crash leaves them: zeros past the records
    }
    {
      std::fstream f(crashed_ / "seg-00000000000000000001.log",
                     std::ios::in | std::ios::out | std::ios::binary);
      damage(f, whole, commit);
    }
    fs::remove_all(dir_);
    fs::rename(crashed_, dir_);
    return Open();
  }
  // What a power cut leaves of a sector that did not reach the disk: its part in the chunk
  // still holds the zeros laid down ahead.
  static void Unwritten(std::fstream& f, std::uint64_t whole, std::uint64_t sector) {
    const std::uint64_t from = std::max(whole, sector * 512);
    const std::string zeros((sector + 1) * 512 - from, '\0');
    f.seekp(static_cast<std::streamoff>(from));
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  void TearDown() override {
    fs::remove_all(crashed_);
    SpoolTest::TearDown();
  }
  fs::path crashed_ =
      fs::temp_directory_path() / ("ccmon-spool-crashed-" + std::to_string(::getpid()));
};

// A power cut during a commit can leave a later sector of the chunk on disk (with its commit
// record) and an earlier one not, still holding the zeros laid down ahead. That chunk was
// never whole, so recovery ends at the commit before it (the source reads the chunk again,
// under the same sequence numbers) instead of taking the later commit and its cursor past
// events that are not there; nothing is counted lost. Holes of any size are caught: a whole
// sector inside a big chunk, or 22 bytes of a one-event chunk whose first sector was not
// written.
TEST_F(SpoolLastChunkTest, AChunkTornByAPowerCutIsNotCommitted) {
  struct Case {
    LastChunk chunk;
    std::uint64_t sector;  // the sector that did not reach the disk
  };
  for (const Case& c : {Case{{"event-2", 40, 60}, 0}, Case{{"event-2", 40, 60}, 2},
                        Case{{std::string(416, 'x'), 1, 40}, 0}}) {
    auto s = Recover(c.chunk, [&](std::fstream& f, std::uint64_t whole, std::uint64_t commit) {
      ASSERT_LE((c.sector + 1) * 512, commit);  // the commit record itself reached the disk
      ASSERT_GT((c.sector + 1) * 512, whole);
      Unwritten(f, whole, c.sector);
    });
    EXPECT_EQ(s->Cursor("src"), "a") << c.sector;
    EXPECT_EQ(s->next_seq(), 3u) << c.sector;
    EXPECT_EQ(s->Read(0, 100).size(), 2u);
    EXPECT_EQ(s->stats().damaged_events_lost, 0u);
    EXPECT_EQ(s->stats().dropped_events, 0u);
    EXPECT_GT(s->stats().torn_bytes_cut, 0u);
    EXPECT_TRUE(s->recovery_report().empty()) << s->recovery_report();
    s.reset();
    fs::remove_all(dir_);
  }
}

// Damage in the last chunk that a power cut cannot leave (a flipped bit, a few bytes zeroed in
// the middle of a sector) is damage: the chunk was on disk and may have been sent, so its
// commit counts and only the event it hit is lost, counted as dropped. Reading it again would
// give its sequence numbers to whatever the sources hand over first.
TEST_F(SpoolLastChunkTest, OtherDamageInTheLastChunkLosesOnlyItsEvents) {
  const LastChunk chunk{"event-2", 40, 60};
  auto flip = [](std::fstream& f, std::uint64_t, std::uint64_t) {
    f.seekp(700);
    f.put('\x7f');
  };
  auto zeros = [](std::fstream& f, std::uint64_t, std::uint64_t) {
    f.seekp(700);
    f.write("\0\0\0", 3);
  };
  for (int run = 0; run < 2; ++run) {
    auto s = run == 0 ? Recover(chunk, flip) : Recover(chunk, zeros);
    EXPECT_EQ(s->Cursor("src"), "b") << run;
    EXPECT_EQ(s->next_seq(), 43u) << run;
    EXPECT_EQ(s->Read(0, 100).size(), 41u) << run;
    EXPECT_EQ(s->stats().damaged_events_lost, 1u) << run;
    EXPECT_FALSE(s->recovery_report().empty()) << run;
    s.reset();
    fs::remove_all(dir_);
  }
}

// A roll writes the new segment under a temporary name until its head is on disk; one left
// by a crash is removed when the spool opens, and is never taken for the segment being
// written.
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
}

// Zeros inside an earlier chunk are damage, not a torn write (a commit returns only once its
// chunk is on disk, so only the last one can be torn): the chunks after it, the last one
// included, are kept with their cursors, and only the events the zeros hit are lost.
TEST_F(SpoolTest, AHoleBeforeTheLastChunkLosesOnlyItsEvents) {
  std::uint64_t whole = 0;
  {
    auto s = Open();
    Put(*s, 3, "a");
    whole = s->stats().bytes;  // 109: three 28-byte events and a 25-byte commit
    Put(*s, 30, "b");
    Put(*s, 3, "c");
  }
  ASSERT_EQ(whole, 109u);
  const fs::path seg = dir_ / "seg-00000000000000000001.log";
  {
    // Chunk "b" from its start to the end of the first sector: events 4-18 (the 15th of them
    // crosses into the next sector).
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(whole));
    const std::string zeros(512 - whole, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  auto s = Open();
  EXPECT_EQ(s->Cursor("src"), "c");
  EXPECT_EQ(s->next_seq(), 37u);
  EXPECT_EQ(s->Read(0, 100).size(), 21u);
  EXPECT_EQ(s->stats().damaged_events_lost, 15u);
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
  s->SkipTo(100);
  EXPECT_EQ(s->next_seq(), 101u);
  Put(*s, 1, "c");
  EXPECT_EQ(s->Read(0, 10).at(0).seq, 101u);
}

TEST(Crc32Test, KnownVector) { EXPECT_EQ(Crc32("123456789"), 0xCBF43926u); }

}  // namespace
}  // namespace ccmon::agent
