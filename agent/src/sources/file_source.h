// Follows a line-oriented log file: reads complete lines from a saved position, survives
// rename-and-create and copytruncate rotation (also while the agent was down: the rotated
// file is found by its inode) and hands each line to the subclass. The cursor saved in the
// spool is the position plus the subclass's state, so a restart resumes exactly.
// Not thread-safe; owned by the agent's io thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <set>
#include <string>
#include <string_view>

#include "ccmon/time/clock.h"

namespace ccmon::agent {

class FileSource {
 public:
  explicit FileSource(std::string path);
  virtual ~FileSource();
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  // Restores from a cursor saved by Cursor(); with an empty cursor starts at the beginning
  // (from_start) or at the current end of the file. A missing or unreadable file is waited
  // for (Poll() opens it when it appears, reading it from its start); false only for a path
  // that cannot be a log (a directory) or an unreadable stdin.
  bool Start(const std::string& cursor, bool from_start, std::string* error);

  // True while the file is missing or unreadable.
  bool waiting() const { return file_ == nullptr && !stream_; }
  // Waiting for a file that exists but is unreadable, from a position taken when it could not
  // be read (Start): Cursor() holds it, and should be committed so that a restart before the
  // file can be read keeps it.
  bool WaitsAtPosition() const { return waiting() && (dev_ != 0 || ino_ != 0); }

  // The clock whose monotonic time times rotation grace and repeated warnings (the agent's
  // injected clock; a SystemClock by default). Not owned.
  void set_clock(const ccmon::Clock& clock) {
    clock_ = &clock;
    last_growth_ = Now();
  }
  const ccmon::Clock& clock() const { return *clock_; }

  // Reads complete lines, up to about max_read_bytes of input per call (so that the caller
  // can commit and check its spool between chunks). Returns the number of lines consumed;
  // more() says whether input was left unread.
  std::size_t Poll();
  bool more() const { return more_; }

  // Limits: a line longer than max_line_bytes is skipped whole (counted, logged with its
  // number) without ever being held in memory; each Poll reads about max_read_bytes.
  void set_limits(std::size_t max_line_bytes, std::size_t max_read_bytes) {
    max_line_ = max_line_bytes;
    max_read_ = max_read_bytes;
  }
  std::uint64_t oversized_lines() const { return oversized_; }

  // Position and subclass state after the last consumed line, for the spool's commit record.
  std::string Cursor() const;

  const std::string& path() const { return path_; }

 protected:
  // For pipes (stdin): no rotation checks; reads block until end of input only when
  // `until_eof` (a --once import), else they take what is there.
  void set_stream(bool until_eof) {
    stream_ = true;
    until_eof_ = until_eof;
  }
  virtual void OnLine(std::string_view line, std::uint64_t line_no) = 0;
  // Whether a line says the writer started afresh (Asterisk's QUEUESTART): after a file's end
  // was lost, the lines from such a start on are new (see FollowTruncated). Asked only then;
  // while reading, OnLine reports the starts it reads with WriterStartRead().
  virtual bool StartsAnew(std::string_view /*line*/) const { return false; }
  // From OnLine: the line handed over is a start of the writer.
  void WriterStartRead() { new_starts_from_ = line_at_ + 1; }
  // The time a line was written, in any unit that grows with it (0: unknown), to tell a
  // rotated file that comes before the lines read from one that comes after them.
  virtual std::int64_t LineTime(std::string_view /*line*/) const { return 0; }
  // How far a rotated file's first line may start before the last line read (a clock set
  // back a little) and still come after it, in LineTime's unit.
  std::int64_t line_time_slack_ = 0;
  virtual std::string SaveState() const { return {}; }
  virtual bool RestoreState(std::string_view /*blob*/) { return true; }

 private:
  bool OpenCurrent(std::uint64_t offset, std::string* error);
  bool Wait();
  bool Reopen();
  std::size_t Drain();
  void OversizedLine(std::uint64_t line_no, std::size_t seen);
  // With no newline within max_line_: drops the unfinished line through its last zero byte
  // (see the definition); 1 if it moved the position, else 0.
  std::size_t DropZeros();
  std::string FindRotated(dev_t dev, ino_t ino) const;
  // After the file being read was rotated away and read to its end: the rotated sibling
  // written next (the oldest modified since, not compressed), or empty for the current file.
  std::string FindNext() const;
  // After copytruncate: the sibling copy whose bytes before offset_ end with tail_.
  std::string FindCopy() const;
  // Whether the bytes before offset_ in the file (an open descriptor, or a path) are tail_:
  // kChanged when they differ or the file is shorter than offset_; kUnknown when nothing can
  // be compared (no tail, not a regular file, a read error).
  enum class Tail : std::uint8_t { kSame, kChanged, kUnknown };
  Tail TailAt(int fd) const;
  Tail TailIn(const std::string& path) const;
  // Keeps tail_ the last bytes consumed, whatever consumed them (lines, skipped bytes).
  void Consumed(std::string_view bytes);
  // The bytes before offset_ changed (copytruncate, a power cut, a rewrite in place): opens the
  // copy holding what followed offset_, if there is one, at offset_ (finished as a renamed
  // file is, without its wait). Else a file that still starts as read had its end lost: it is
  // read from its start passing over the lines read before (resume_after_); one that does not
  // is new and read from its start. With neither head nor line times known (older cursors,
  // JSONL): from its start when shorter than offset_, else on from offset_ (reading it again
  // would count its lines twice). False when none can be opened.
  bool FollowTruncated();
  // Keeps head_ the file's first kHead bytes (fewer while it is shorter).
  void ReadHead();
  // Whether the file at path_ starts with head_ (the file read, whatever became of its end).
  bool StartsAsRead() const;

  std::string path_;
  bool stream_ = false;
  bool until_eof_ = false;
  std::FILE* file_ = nullptr;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::uint64_t offset_ = 0;  // of the first byte not yet consumed
  std::uint64_t line_no_ = 0;
  std::string partial_;
  // Inside a line longer than max_line_: its bytes are skipped up to its newline. Saved in the
  // cursor, so a restart mid-line does not read the rest as a line of its own.
  bool skipping_ = false;
  std::size_t max_line_ = 64 << 10;
  std::size_t max_read_ = 1 << 20;
  bool more_ = false;
  bool finishing_copy_ = false;  // the open file is a copytruncate copy being finished
  std::uint64_t oversized_ = 0;
  // The last bytes consumed (up to kTail; the cursor keeps kSavedTail of them), to tell the
  // file at offset_ is still the one read and to recognise a copytruncate copy.
  static constexpr std::size_t kTail = 256;
  static constexpr std::size_t kSavedTail = 64;
  std::string tail_;
  static constexpr std::size_t kHead = 64;
  std::string head_;
  // After a file's end was lost: lines whose LineTime is at most resume_after_ and that start
  // before resume_end_ (the position read then) were read before and are passed over (see
  // FollowTruncated); 0 when reading as usual. Saved in the cursor.
  std::int64_t resume_after_ = 0;
  std::uint64_t resume_end_ = 0;
  std::uint64_t passed_over_ = 0;
  std::int64_t max_line_time_ = 0;  // the latest LineTime read (lines may come out of order)
  std::uint64_t line_at_ = 0;       // the position of the text of the line handed to OnLine
  // A writer start at or after this position was not read before (one before it was: the last
  // start read, or where reading began); 0: any.
  std::uint64_t new_starts_from_ = 0;
  // Rotated files read to their end since the current file was last followed.
  std::set<std::pair<dev_t, ino_t>> finished_;
  std::int64_t last_line_time_ = 0;  // LineTime of the last line read
  std::chrono::steady_clock::time_point waiting_since_, last_waiting_log_;
  // The clock's monotonic time as a steady_clock time point.
  std::chrono::steady_clock::time_point Now() const {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(clock_->MonotonicMs()));
  }
  const ccmon::Clock* clock_ = &ccmon::DefaultClock();
  std::chrono::steady_clock::time_point last_growth_ = Now();
  // When the current file was first seen renamed away (zero: not renamed), and when that
  // was last warned about.
  std::chrono::steady_clock::time_point renamed_seen_, renamed_warned_;
};

}  // namespace ccmon::agent
