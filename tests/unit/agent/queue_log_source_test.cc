#include "sources/queue_log_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ccmon::agent {
namespace {

namespace fs = std::filesystem;

// Rotation styles logrotate applies to /var/log/asterisk/queue_log, with zero loss and zero
// duplicates required of each.
class QueueLogSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ccmon-qls-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "queue_log").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Append(const std::string& path, int from, int to) {
    std::ofstream out(path, std::ios::app);
    for (int i = from; i <= to; ++i) {
      out << 1795600800 + i << "|call-" << i << "|q|NONE|ENTERQUEUE||+1555|1\n";
    }
  }

  std::unique_ptr<QueueLogSource> Make() {
    auto src = std::make_unique<QueueLogSource>(path_, [this](const Event& e) {
      if (const auto* c = std::get_if<CallEvent>(&e.body)) ids_.emplace_back(c->call_id);
    });
    src->set_clock(clock_);
    return src;
  }

  // A source started at the file's beginning that has read what is there.
  std::unique_ptr<QueueLogSource> Following() {
    auto src = Make();
    std::string err;
    EXPECT_TRUE(src->Start("", true, &err)) << err;
    src->Poll();
    return src;
  }

  // Lines 1-5 read and their position saved, then the file's end lost from line 3 on (a power
  // cut): the position saved.
  std::string CursorThenEndLost() {
    Append(path_, 1, 2);
    const auto cut = fs::file_size(path_);
    Append(path_, 3, 5);
    std::string cursor = Following()->Cursor();
    ids_.clear();
    fs::resize_file(path_, cut);
    return cursor;
  }

  // logrotate's copytruncate: the file copied to `copy`, then cut to nothing.
  void CopyTruncate(const std::string& copy) {
    fs::copy_file(path_, copy);
    fs::resize_file(path_, 0);
  }

  // Zeros in place of the file's last n bytes, as a power cut leaves blocks never written.
  void ZeroLastBytes(std::size_t n) {
    const auto size = fs::file_size(path_);
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - n));
    f.write(std::string(n, '\0').data(), static_cast<std::streamsize>(n));
  }

  // The position a source started from `cursor` saves after one poll of about a line.
  std::string CursorAfterALine(const std::string& cursor) {
    auto src = Make();
    src->set_limits(4096, 50);
    std::string err;
    EXPECT_TRUE(src->Start(cursor, true, &err)) << err;
    src->Poll();
    return src->Cursor();
  }

  // A source started from `cursor` that has read all there is.
  std::unique_ptr<QueueLogSource> ReadFrom(const std::string& cursor) {
    auto src = Make();
    std::string err;
    EXPECT_TRUE(src->Start(cursor, true, &err)) << err;
    while (src->Poll() > 0 || src->more()) {
    }
    return src;
  }

  std::vector<std::string> Expected(int from, int to) {
    std::vector<std::string> v;
    for (int i = from; i <= to; ++i) v.push_back("call-" + std::to_string(i));
    return v;
  }

  fs::path dir_;
  std::string path_;
  std::vector<std::string> ids_;
  ccmon::FakeClock clock_;  // the sources' clock
};

TEST_F(QueueLogSourceTest, FollowsRenameAndCreate) {
  Append(path_, 1, 3);
  auto src = Following();
  Append(path_, 4, 5);  // written before the rename, not yet read
  fs::rename(path_, path_ + ".1");
  Append(path_ + ".1", 6, 6);  // Asterisk still writing to the old file until it reopens
  Append(path_, 7, 8);
  src->Poll();
  EXPECT_EQ(ids_, Expected(1, 6));  // the old file is followed while it may still grow
  Append(path_ + ".1", 9, 9);       // a line Asterisk wrote just before its logger reload
  clock_.Advance(1000);
  src->Poll();
  ASSERT_EQ(ids_.size(), 7u);
  EXPECT_EQ(ids_.back(), "call-9");
  clock_.Advance(3'000);  // the old file quiet for 2 s and the new one written to
  src->Poll();
  std::vector<std::string> want = Expected(1, 6);
  want.push_back("call-9");
  for (const auto& id : Expected(7, 8)) want.push_back(id);
  EXPECT_EQ(ids_, want);
}

// With logrotate's "create" and no reload, the new file stays empty while Asterisk writes to
// the renamed one: the source stays with the old file, however quiet it has been, until the
// new file has data and the old has been quiet for 2 s.
TEST_F(QueueLogSourceTest, RenamedFileIsFollowedWhileTheNewOneIsEmpty) {
  Append(path_, 1, 1);
  auto src = Following();
  fs::rename(path_, path_ + ".1");
  std::ofstream(path_).close();
  for (int i = 2; i <= 4; ++i) {
    clock_.Advance(30'000);
    Append(path_ + ".1", i, i);
    src->Poll();
  }
  EXPECT_EQ(ids_, Expected(1, 4));
  clock_.Advance(10 * 60'000);  // a quiet night: still the old file
  src->Poll();
  Append(path_ + ".1", 5, 5);
  src->Poll();
  EXPECT_EQ(ids_, Expected(1, 5));
  Append(path_, 6, 6);  // Asterisk reopened its log at last
  src->Poll();          // the old file was written to just now: not yet
  clock_.Advance(3'000);
  src->Poll();
  EXPECT_EQ(ids_, Expected(1, 6));
}

TEST_F(QueueLogSourceTest, FollowsCopyTruncateWithoutLosingTheLastLines) {
  Append(path_, 1, 3);
  auto src = Following();
  Append(path_, 4, 5);  // appended after our last read, before logrotate copies
  CopyTruncate(path_ + "-20261126");
  Append(path_, 6, 7);
  src->Poll();
  EXPECT_EQ(ids_, Expected(1, 5));  // the copy, finished from where the last read stopped
  src->Poll();                      // then the cut file from its start: a copy has no wait
  EXPECT_EQ(ids_, Expected(1, 7));
}

// Copytruncate while the agent was stopped, the cut file already longer than the saved
// offset: the bytes before that offset are not the ones read, so the copy is finished from it
// and the cut file read from its start; nothing lost, nothing read from the middle of a line.
TEST_F(QueueLogSourceTest, CopyTruncateWhileStoppedIsFoundByWhatWasReadLast) {
  Append(path_, 1, 3);
  const std::string cursor = Following()->Cursor();
  Append(path_, 4, 5);
  CopyTruncate(path_ + ".1");
  Append(path_, 6, 20);
  auto src = Make();
  std::string err;
  ASSERT_TRUE(src->Start(cursor, true, &err)) << err;
  src->Poll();  // the copy from the saved position, then the cut file (a copy has no wait)
  EXPECT_EQ(ids_, Expected(1, 20));
}

// The same while the agent runs but does not read (input held at the spool's bound): the next
// poll sees the bytes before its offset changed although the file is longer than ever.
TEST_F(QueueLogSourceTest, CopyTruncateUnseenWhileInputWasHeldIsFoundByContent) {
  Append(path_, 1, 3);
  auto src = Following();
  Append(path_, 4, 5);
  CopyTruncate(path_ + ".1");
  Append(path_, 6, 20);
  src->Poll();
  EXPECT_EQ(ids_, Expected(1, 5));
  clock_.Advance(3'000);
  src->Poll();
  EXPECT_EQ(ids_, Expected(1, 20));
}

// With no copy to finish: a file whose bytes before the position changed but that still
// starts as it did (the zeros a power cut left in place of the last lines read) is read on
// after the lines read, not again from its start, which would count every line twice; a file
// cut to nothing and written anew is read from its start.
TEST_F(QueueLogSourceTest, AChangedFileWithoutACopyIsReadOnceOnly) {
  Append(path_, 1, 3);
  auto src = Following();
  ZeroLastBytes(20);
  Append(path_, 4, 5);
  src->Poll();
  EXPECT_EQ(ids_, Expected(1, 5));
  fs::resize_file(path_, 0);  // cut, no copy anywhere
  Append(path_, 10, 11);
  src->Poll();
  std::vector<std::string> want = Expected(1, 5);
  for (const auto& id : Expected(10, 11)) want.push_back(id);
  EXPECT_EQ(ids_, want);
}

TEST_F(QueueLogSourceTest, RotationWhileStoppedIsFoundByInode) {
  Append(path_, 1, 3);
  const std::string cursor = Following()->Cursor();
  Append(path_, 4, 4);
  fs::rename(path_, path_ + ".1");
  Append(path_, 5, 6);
  auto src = Make();
  std::string err;
  ASSERT_TRUE(src->Start(cursor, true, &err)) << err;
  src->Poll();  // the rotated file finished
  EXPECT_EQ(ids_, Expected(1, 4));
  clock_.Advance(3'000);  // quiet, and the new file has data: on to it
  src->Poll();
  EXPECT_EQ(ids_, Expected(1, 6));
}

// Rotated twice while stopped (or while input was held at the spool's bound): the file in
// the cursor is finished, then the file rotated after it, then the current one. Not read: a
// copy an administrator made, a compressed file, and an old rotation rewritten since (its
// time is new, its lines are not).
TEST_F(QueueLogSourceTest, RotationsWhileStoppedAreReadInTurn) {
  Append(path_, 1, 3);
  const std::string cursor = Following()->Cursor();
  // Hours apart, as logrotate runs them (the file times tell the order).
  const auto t0 = fs::file_time_type::clock::now() - std::chrono::hours(48);
  Append(path_, 4, 4);
  fs::last_write_time(path_, t0);
  fs::rename(path_, path_ + ".1");
  Append(path_, 5, 6);
  fs::last_write_time(path_, t0 + std::chrono::hours(24));
  fs::rename(path_ + ".1", path_ + ".2");
  fs::rename(path_, path_ + ".1");
  Append(path_, 7, 8);
  Append(path_ + ".bak", 100, 101);  // a copy made by hand after the rotations
  Append(path_ + ".3.gz", 200, 200);
  {
    std::ofstream old(path_ + ".4");  // last month's, scrubbed just now
    old << 1795000000 << "|old-1|q|NONE|ENTERQUEUE||+1555|1\n";
  }
  auto src = Make();
  std::string err;
  ASSERT_TRUE(src->Start(cursor, true, &err)) << err;
  src->Poll();
  EXPECT_EQ(ids_, Expected(1, 4));
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(3'000);
    src->Poll();
  }
  EXPECT_EQ(ids_, Expected(1, 8));
  Append(path_, 9, 9);
  src->Poll();
  EXPECT_EQ(ids_, Expected(1, 9));
}

// Two rotated files with one modification time (coarse clocks, `touch -r`) are each read once,
// in turn, then the current file: neither is taken again after the other.
TEST_F(QueueLogSourceTest, RotatedFilesWithOneTimeAreReadOnceEach) {
  Append(path_, 1, 2);
  auto src = Following();
  const auto t0 = fs::file_time_type::clock::now() - std::chrono::hours(1);
  fs::rename(path_, path_ + ".3");
  fs::last_write_time(path_ + ".3", t0 - std::chrono::hours(1));
  Append(path_ + ".2", 3, 4);
  Append(path_ + ".1", 5, 6);
  fs::last_write_time(path_ + ".2", t0);
  fs::last_write_time(path_ + ".1", t0);
  Append(path_, 7, 8);
  for (int i = 0; i < 6; ++i) {
    clock_.Advance(3'000);
    src->Poll();
  }
  ASSERT_EQ(ids_.size(), 8u);
  std::vector<std::string> got = ids_;
  std::sort(got.begin() + 2, got.begin() + 6);  // .1 and .2 in either order: one time
  EXPECT_EQ(got, Expected(1, 8));
}

TEST_F(QueueLogSourceTest, RestartResumesAtTheCursorAndIgnoresFromStart) {
  Append(path_, 1, 3);
  const std::string cursor = Following()->Cursor();
  Append(path_, 4, 5);
  auto src = Make();
  std::string err;
  ASSERT_TRUE(src->Start(cursor, true, &err)) << err;  // from_start must not re-read
  src->Poll();
  EXPECT_EQ(ids_, Expected(1, 5));
}

TEST_F(QueueLogSourceTest, PartialLastLineWaitsForItsNewline) {
  auto src = Make();
  std::string err;
  {
    std::ofstream out(path_);
    out << "1795600801|call-1|q|NONE|ENTERQ";
  }
  ASSERT_TRUE(src->Start("", true, &err)) << err;
  src->Poll();
  EXPECT_TRUE(ids_.empty());
  {
    std::ofstream out(path_, std::ios::app);
    out << "UEUE||+1555|1\n";
  }
  src->Poll();
  EXPECT_EQ(ids_, Expected(1, 1));
}

// A power cut leaves the blocks the kernel had not written as zeros, often more of them than a
// line may hold, and Asterisk appends after them once back. The text torn before the zeros is
// counted as malformed, the zeros are no line, and the line after them is read: whether the
// zeros are read before it is written or together with it. A restart at the cursor reads
// nothing twice.
TEST_F(QueueLogSourceTest, ZerosLongerThanALineDoNotTakeTheNextLine) {
  Append(path_, 1, 2);
  auto src = Following();
  src->set_limits(4096, 1 << 20);
  const auto append_raw = [&](const std::string& bytes) {
    std::ofstream out(path_, std::ios::app | std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  };
  append_raw("1795600803|call-3|q|NO" + std::string(10000, '\0'));  // torn, then zeros
  src->Poll();
  Append(path_, 4, 4);
  src->Poll();
  append_raw(std::string(10000, '\0') + "1795600805|call-5|q|NONE|ENTERQUEUE||+1555|1\n");
  Append(path_, 6, 6);
  src->Poll();
  std::vector<std::string> want = Expected(1, 2);
  for (const auto& id : Expected(4, 6)) want.push_back(id);
  EXPECT_EQ(ids_, want);
  EXPECT_EQ(src->oversized_lines(), 0u);
  EXPECT_EQ(src->stats().malformed, 1u);  // call-3's torn text
  auto again = Make();
  std::string err;
  ASSERT_TRUE(again->Start(src->Cursor(), true, &err)) << err;
  again->Poll();
  EXPECT_EQ(again->stats().lines, 0u);
  EXPECT_EQ(ids_, want);
}

// A line over the limit is being skipped up to its newline when a power cut's zeros end it:
// the line the PBX appends after the zeros is read, not skipped with it.
TEST_F(QueueLogSourceTest, ZerosEndALineBeingSkipped) {
  Append(path_, 1, 1);
  auto src = Following();
  src->set_limits(4096, 1 << 20);
  {
    std::ofstream out(path_, std::ios::app | std::ios::binary);
    out << std::string(10000, 'x');  // no newline: skipped as it comes
  }
  src->Poll();
  EXPECT_EQ(src->oversized_lines(), 1u);
  {
    std::ofstream out(path_, std::ios::app | std::ios::binary);
    out << std::string(50, '\0');
  }
  Append(path_, 2, 2);
  src->Poll();
  EXPECT_EQ(ids_, Expected(1, 2));
  EXPECT_EQ(src->oversized_lines(), 1u);
}

// Stopped with only zeros after the last line read (the cursor's last bytes are zeros), then
// the PBX appends: on restart the line after the zeros is read, once.
TEST_F(QueueLogSourceTest, ARestartAfterZerosReadsTheLineAfterThem) {
  Append(path_, 1, 1);
  std::string cursor;
  {
    auto src = Following();
    src->set_limits(4096, 1 << 20);
    std::ofstream out(path_, std::ios::app | std::ios::binary);
    out << std::string(10000, '\0');
    out.close();
    src->Poll();
    cursor = src->Cursor();
  }
  Append(path_, 2, 2);
  auto src = Make();
  src->set_limits(4096, 1 << 20);
  std::string err;
  ASSERT_TRUE(src->Start(cursor, true, &err)) << err;
  src->Poll();
  EXPECT_EQ(ids_, Expected(1, 2));
  EXPECT_EQ(src->stats().lines, 1u);
}

// Asterisk never syncs queue_log: a power cut can leave it shorter than the position the agent
// saved (the last lines lost), and the PBX appends after what is left once back. The file still
// starts as it did: the lines up to the last one read are not read again (each would count a
// second time), and the lines appended since are read, whether the file is now shorter than
// the position or already longer again.
TEST_F(QueueLogSourceTest, AFileWhoseEndWasLostIsReadOnAfterTheLastLineRead) {
  for (const int appended : {1, 8}) {
    SCOPED_TRACE(appended);
    fs::remove(path_);
    const std::string cursor = CursorThenEndLost();
    Append(path_, 6, 5 + appended);
    auto src = ReadFrom(cursor);
    EXPECT_EQ(ids_, Expected(6, 5 + appended));
    EXPECT_EQ(src->stats().duplicates, 0u);
    EXPECT_EQ(src->stats().lines, static_cast<std::uint64_t>(appended));
    EXPECT_EQ(ReadFrom(src->Cursor())->stats().lines, 0u);  // a restart reads nothing again
  }
}

// The same with the PBX's clock set back at boot (lines appended stamped before the last line
// read): only lines that start before the position read then are passed over; past it every
// line is new.
TEST_F(QueueLogSourceTest, AfterALostEndLinesPastThePositionReadAreReadWhateverTheirTime) {
  const std::string cursor = CursorThenEndLost();
  {
    std::ofstream out(path_, std::ios::app);
    for (int i = 6; i <= 9; ++i) {  // as long as lines 3-5 and 6 (one digit each), stamped early
      out << 1795600000 + i << "|call-" << i << "|q|NONE|ENTERQUEUE||+1555|1\n";
    }
  }
  auto src = Make();
  std::string err;
  ASSERT_TRUE(src->Start(cursor, true, &err)) << err;
  src->Poll();
  EXPECT_EQ(ids_, (std::vector<std::string>{"call-9"}));  // 6-8 lie where 3-5 were
}

// Lines appended by a writer started with its clock behind: Asterisk writes QUEUESTART at
// each start, and from a start not read before, every line is new whatever its time says.
TEST_F(QueueLogSourceTest, AfterALostEndAWriterStartEndsThePassingOver) {
  {
    std::ofstream out(path_);
    out << "1795600700|NONE|NONE|NONE|QUEUESTART|\n";  // the start read before the cut
  }
  Append(path_, 1, 2);
  const auto cut = fs::file_size(path_);
  Append(path_, 3, 5);
  const std::string cursor = Following()->Cursor();
  ids_.clear();
  fs::resize_file(path_, cut);
  {
    std::ofstream out(path_, std::ios::app);
    out << "1795600010|NONE|NONE|NONE|QUEUESTART|\n";  // booted an hour slow
    out << "1795600011|call-6|q|NONE|ENTERQUEUE||+1555|1\n";
  }
  auto src = Make();
  std::string err;
  ASSERT_TRUE(src->Start(cursor, true, &err)) << err;
  src->Poll();
  EXPECT_EQ(src->stats().lines, 2u);  // the new start and call 6, nothing read before
  EXPECT_EQ(src->stats().duplicates, 0u);
  ASSERT_FALSE(ids_.empty());
  EXPECT_EQ(ids_.back(), "call-6");  // after calls 1-5, lost with the restart
}

// An agent that began by tailing the file from its end never read the starts before that
// point: after a lost end, an old QUEUESTART near the file's start is passed over like the
// other lines read or skipped before, not taken for a new start.
TEST_F(QueueLogSourceTest, AfterALostEndAStartBeforeWhereReadingBeganIsOld) {
  {
    std::ofstream out(path_);
    out << "1795600700|NONE|NONE|NONE|QUEUESTART|\n";
  }
  Append(path_, 1, 2);
  auto first = Make();
  std::string err;
  ASSERT_TRUE(first->Start("", /*from_start=*/false, &err)) << err;
  Append(path_, 3, 3);
  const auto cut = fs::file_size(path_);
  Append(path_, 4, 5);
  first->Poll();
  const std::string cursor = first->Cursor();
  ids_.clear();
  fs::resize_file(path_, cut);
  Append(path_, 6, 6);
  auto src = Make();
  ASSERT_TRUE(src->Start(cursor, true, &err)) << err;
  src->Poll();
  EXPECT_EQ(ids_, Expected(6, 6));
  EXPECT_EQ(src->stats().lines, 1u);
}

// Asterisk stamps a line before it takes the log's lock, so a later stamp can be written
// before an earlier one: the lines passed over are those up to the latest time read, not the
// last line's.
TEST_F(QueueLogSourceTest, AfterALostEndLinesUpToTheLatestTimeReadArePassedOver) {
  {
    std::ofstream out(path_);
    out << "1795600801|call-1|q|NONE|ENTERQUEUE||+1555|1\n"
        << "1795600805|call-2|q|NONE|ENTERQUEUE||+1555|1\n"  // stamped later, written first
        << "1795600804|call-3|q|NONE|ENTERQUEUE||+1555|1\n";
  }
  const auto cut = fs::file_size(path_);
  {
    std::ofstream out(path_, std::ios::app);
    out << "1795600804|call-4|q|NONE|ENTERQUEUE||+1555|1\n";  // the last line read
  }
  const std::string cursor = Following()->Cursor();
  ids_.clear();
  fs::resize_file(path_, cut);
  Append(path_, 6, 6);
  auto src = Make();
  std::string err;
  ASSERT_TRUE(src->Start(cursor, true, &err)) << err;
  src->Poll();
  EXPECT_EQ(ids_, Expected(6, 6));
  EXPECT_EQ(src->stats().lines, 1u);  // none of calls 1-3 read again
}

// Zeros in place of the last bytes read (the file as long as ever) and the PBX, its clock
// behind, appending right after them: the line starts at the position read then, so it is new.
TEST_F(QueueLogSourceTest, AfterZerosInPlaceTheLineAtThePositionReadIsNew) {
  Append(path_, 1, 3);
  const std::string cursor = Following()->Cursor();
  ids_.clear();
  ZeroLastBytes(20);
  {
    std::ofstream out(path_, std::ios::app);
    out << "1795600010|call-4|q|NONE|ENTERQUEUE||+1555|1\n";  // stamped before line 1
  }
  auto src = Make();
  std::string err;
  ASSERT_TRUE(src->Start(cursor, true, &err)) << err;
  src->Poll();
  EXPECT_EQ(ids_, (std::vector<std::string>{"call-4"}));
}

// A restart while lines are being passed over (a poll reading a few bytes at a time) goes on
// passing over them: nothing is read twice, nothing new is missed.
TEST_F(QueueLogSourceTest, ARestartWhilePassingOverGoesOn) {
  const std::string cursor = CursorThenEndLost();
  Append(path_, 6, 7);
  const std::string mid = CursorAfterALine(cursor);
  ASSERT_NE(mid.find(" resume="), std::string::npos) << mid;
  auto src = ReadFrom(mid);
  EXPECT_EQ(ids_, Expected(6, 7));
  EXPECT_EQ(src->stats().lines, 2u);
}

// ... and a start of the writer appended after the cut, with its clock behind, is still new
// after such a restart.
TEST_F(QueueLogSourceTest, ARestartWhilePassingOverStillSeesANewStart) {
  const std::string cursor = CursorThenEndLost();
  {
    std::ofstream out(path_, std::ios::app);
    out << "1795600010|NONE|NONE|NONE|QUEUESTART|\n";  // booted an hour slow
    out << "1795600011|call-6|q|NONE|ENTERQUEUE||+1555|1\n";
  }
  const std::string mid = CursorAfterALine(cursor);
  ASSERT_NE(mid.find(" resume="), std::string::npos) << mid;
  auto src = ReadFrom(mid);
  EXPECT_EQ(src->stats().lines, 2u);  // the start and call 6
  ASSERT_FALSE(ids_.empty());
  EXPECT_EQ(ids_.back(), "call-6");
}

// Copytruncate with its copy gone (compressed at once) while the agent was stopped, and the
// new file already longer than the position read in the old one: all of it is new.
TEST_F(QueueLogSourceTest, ARefilledFileWithoutACopyIsReadFromItsStart) {
  Append(path_, 1, 3);
  const std::string cursor = Following()->Cursor();
  ids_.clear();
  fs::resize_file(path_, 0);
  Append(path_, 10, 16);
  auto src = Make();
  std::string err;
  ASSERT_TRUE(src->Start(cursor, true, &err)) << err;
  src->Poll();
  EXPECT_EQ(ids_, Expected(10, 16));
}

TEST_F(QueueLogSourceTest, WithoutFromStartTailsOnlyNewLines) {
  Append(path_, 1, 3);
  auto src = Make();
  std::string err;
  ASSERT_TRUE(src->Start("", false, &err)) << err;
  Append(path_, 4, 4);
  src->Poll();
  EXPECT_EQ(ids_, Expected(4, 4));
}

// tail -F: a queue_log that does not exist yet is waited for, and every line of it is read
// when it appears (it is new), even without from_start; a directory is a configuration error.
TEST_F(QueueLogSourceTest, MissingFileIsWaitedForAndReadFromItsStart) {
  auto src = Make();
  std::string err;
  ASSERT_TRUE(src->Start("", false, &err)) << err;
  EXPECT_TRUE(src->waiting());
  EXPECT_EQ(src->Poll(), 0u);
  Append(path_, 1, 3);
  src->Poll();
  EXPECT_FALSE(src->waiting());
  EXPECT_EQ(ids_, Expected(1, 3));
  QueueLogSource dir(dir_.string(), [](const Event&) {});
  EXPECT_FALSE(dir.Start("", false, &err));
  EXPECT_NE(err.find("is a directory"), std::string::npos) << err;
}

// Rotated while stopped and the new file not created yet: the rotated file is finished from
// the cursor, then the source waits for the new one and follows it.
TEST_F(QueueLogSourceTest, RotatedWhileStoppedAndNewFileLate) {
  Append(path_, 1, 2);
  const std::string cursor = Following()->Cursor();
  Append(path_, 3, 4);
  fs::rename(path_, path_ + ".1");
  auto src = Make();
  std::string err;
  ASSERT_TRUE(src->Start(cursor, false, &err)) << err;
  EXPECT_FALSE(src->waiting());  // following the rotated file, as Asterisk may still write it
  EXPECT_EQ(src->Poll(), 2u);
  EXPECT_EQ(ids_, Expected(1, 4));
  // A second restart before the new file appears resumes the rotated file where it was:
  // nothing read twice.
  const std::string after = src->Cursor();
  src.reset();
  src = Make();
  ASSERT_TRUE(src->Start(after, false, &err)) << err;
  src->Poll();
  EXPECT_EQ(ids_, Expected(1, 4));
  Append(path_ + ".1", 5, 5);  // Asterisk had not reopened its log yet
  src->Poll();
  Append(path_, 6, 7);
  clock_.Advance(3'000);
  src->Poll();
  EXPECT_EQ(ids_, Expected(1, 7));
}

// A source whose queue_log holds call-1's entry at 1795600801 and nothing more, read, its
// calls lost after 120 s; the reasons of the calls it closes unanswered.
std::unique_ptr<QueueLogSource> LostCallWatcher(const std::string& path,
                                                const ccmon::FakeClock& steady,
                                                std::vector<UnansweredReason>* reasons) {
  QueueLogOptions o;
  o.max_wait_ms = 120 * 1000;
  auto src = std::make_unique<QueueLogSource>(
      path,
      [reasons](const Event& e) {
        if (const auto* c = std::get_if<CallEvent>(&e.body);
            c && c->kind == CallKind::kUnanswered) {
          reasons->push_back(c->reason);
        }
      },
      o);
  src->set_clock(steady);
  src->set_limits(4096, 1 << 20);
  {
    std::ofstream out(path);
    out << "1795600801|call-1|q|NONE|ENTERQUEUE||+1555|1\n";
  }
  std::string err;
  EXPECT_TRUE(src->Start("", true, &err)) << err;
  src->Poll();
  return src;
}

// Between lines the machine's clock runs on the steady clock from the last line's PBX time:
// a call with no outcome is closed as lost max_wait after its entry although no line came.
TEST_F(QueueLogSourceTest, QuietLogStillClosesLostCalls) {
  ccmon::FakeClock steady(1000);
  std::vector<UnansweredReason> reasons;
  auto src = LostCallWatcher(path_, steady, &reasons);
  steady.Advance(119 * 1000);
  EXPECT_EQ(src->Poll(), 0u);
  EXPECT_TRUE(reasons.empty());
  steady.Advance(1000);
  EXPECT_EQ(src->Poll(), 1u);  // the lost event changed the cursor
  EXPECT_EQ(reasons, std::vector<UnansweredReason>{UnansweredReason::kLost});
}

// Between lines the PBX's time runs on from its last line: a poll that moves the position
// without reading a line (a power cut's zeros) does not set it back to that line's time, so a
// waiting call is still closed when its maximum wait is up.
TEST_F(QueueLogSourceTest, ZerosDoNotHoldTheClockBack) {
  ccmon::FakeClock steady(1000);
  std::vector<UnansweredReason> reasons;
  auto src = LostCallWatcher(path_, steady, &reasons);
  steady.Advance(60 * 1000);
  {
    std::ofstream out(path_, std::ios::app | std::ios::binary);
    out << std::string(10000, '\0');
  }
  src->Poll();  // the zeros are passed: the position moved, no line was read
  steady.Advance(60 * 1000);
  src->Poll();
  EXPECT_EQ(reasons, std::vector<UnansweredReason>{UnansweredReason::kLost});
}

}  // namespace
}  // namespace ccmon::agent
