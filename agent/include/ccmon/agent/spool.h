// Durable store-and-forward spool: every event is appended here before it is sent.
//
// Layout: <dir>/instance (the agent instance id) and segment files seg-<first seq>.log holding
// CRC32-checked records. Events are appended in chunks; a chunk ends with a commit record that
// carries the source's cursor (where in its input the chunk ends). Only committed events are
// readable, and recovery cuts a torn or uncommitted tail, so after kill -9 a source resumes from
// the last commit and no input is spooled twice under two sequence numbers.
// Not thread-safe; one owner (the agent's io thread).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ccmon::agent {

enum class OverflowPolicy : std::uint8_t {
  kBlock,       // stop taking input until the collector acks (lossless for file sources)
  kDropOldest,  // discard the oldest unacked segment and count the events as dropped
};

struct SpoolOptions {
  std::string dir;
  std::uint64_t max_bytes = 1ULL << 30;
  std::uint64_t segment_bytes = 16ULL << 20;
  OverflowPolicy overflow = OverflowPolicy::kBlock;
  bool fsync_on_commit = true;
  // Makes a directory's entries (new segment names, the instance file, the spool directory's
  // own name in its parent) durable; false when the disk refused. Empty: fsync of the
  // directory. Tests replace it to inject a failure.
  std::function<bool(const std::string& dir)> sync_dir;
};

struct SpoolStats {
  std::uint64_t bytes = 0;
  std::uint64_t committed_seq = 0;  // highest committed sequence number
  std::uint64_t acked_seq = 0;
  std::uint64_t dropped_events = 0;
  std::uint64_t torn_bytes_cut = 0;  // bytes removed by recovery
  // Events lost to damaged records found by recovery (also counted in dropped_events).
  std::uint64_t damaged_events_lost = 0;
  std::uint64_t segments = 0;
};

struct SpoolRecord {
  std::uint64_t seq = 0;
  std::string payload;
};

class Spool {
 public:
  // Opens (creating when absent) and recovers the spool. On failure returns false with a
  // message in *error naming the file at fault.
  bool Open(const SpoolOptions& options, std::string* error);
  ~Spool();

  const std::string& instance_id() const { return instance_id_; }
  std::uint64_t next_seq() const { return next_seq_; }

  // True when the spool is at its byte bound under the block policy.
  bool Full() const;
  // True while the spool is past its bound by more than the headroom kept for heartbeats and
  // probe samples (a sixteenth of the bound, at least 64 KiB): they too must wait then.
  bool OverHeadroom() const;
  // After a failed Append or Commit (disk full, I/O error): drops the uncommitted chunk from
  // the file and memory, so the spool is exactly as at its last commit and appends may be
  // tried again. False when even that fails (*error says why); the spool then refuses
  // appends until a later Rollback succeeds.
  bool Rollback(std::string* error);
  // Appends one event; its payload must already carry the sequence number next_seq().
  bool Append(std::string_view payload, std::string* error);
  // Ends the current chunk: records `cursor` for `source` and makes the chunk readable. With
  // fsync_on_commit, the chunk and the name of the segment holding it are on disk first.
  bool Commit(std::string_view source, std::string_view cursor, std::string* error);
  // The cursor last committed for `source` (empty when none).
  std::string Cursor(std::string_view source) const;

  // Reads up to `max` committed records with seq > after_seq. Each `reader` (one per
  // collector replica) keeps its own place, so sequential reads do not rescan a segment.
  std::vector<SpoolRecord> Read(std::uint64_t after_seq, std::size_t max, std::size_t reader = 0);
  // The collector has applied up to seq although this spool never produced it (the spool
  // was reset but kept its instance id): number new events after it so none is taken for a
  // duplicate. Call between chunks. The jump is written to disk (a segment named after the
  // first new number) before anything follows it: false when the disk refused (*error says
  // why); appends and commits then fail until it is written.
  bool SkipTo(std::uint64_t seq, std::string* error);
  // Everything up to seq is acknowledged: fully acked segments are deleted, once the names of
  // the segments after them are on disk (while the directory cannot be synced they stay until
  // a later Ack; a file that cannot be removed is left on disk and forgotten).
  void Ack(std::uint64_t seq);
  // How many times the disk refused to let a segment due to go (acknowledged, or dropped by
  // the overflow policy) go: a directory sync (retried at the next ack) or a removal (the
  // file left behind); and the last refusal's message naming the file.
  std::uint64_t cleanup_failures() const { return cleanup_failures_; }
  const std::string& cleanup_error() const { return cleanup_error_; }

  SpoolStats stats() const;
  // What recovery skipped as damaged, one line per range with offsets (empty when nothing).
  const std::string& recovery_report() const { return recovery_report_; }

 private:
  struct Segment {
    std::string path;
    std::uint64_t first_seq = 0;  // first event seq it may hold
    std::uint64_t last_seq = 0;   // last committed event seq in it (0: none)
    std::uint64_t bytes = 0;
  };
  bool Recover(std::string* error);
  bool ScanSegment(Segment& seg, bool last, std::string* error);
  bool WriteRecord(char type, std::uint64_t seq, std::string_view a, std::string_view b,
                   std::string* error);
  bool Roll(std::string* error);
  // Writes SkipTo's segment if it is not on disk yet.
  bool SkipOnDisk(std::string* error);
  // Opens the last segment for appending (creating it when absent).
  bool OpenForAppend(std::string* error);
  // Drops the oldest segment; false (nothing dropped) while the directory cannot be synced.
  bool DropOldest();
  // Removes the oldest segment's file once the newer names are on disk: false while the
  // directory cannot be synced; a file the disk will not remove is left behind. Refusals are
  // counted as cleanup failures.
  bool RemoveOldest();
  bool SyncPath(const std::string& dir) const;  // opt_.sync_dir, else SyncDirectory
  // Syncs the directory if a name in it changed since its last sync; false (*error says why)
  // when the disk refused.
  bool SyncDirIfNeeded(std::string* error);

  SpoolOptions opt_;
  std::string instance_id_;
  std::vector<Segment> segments_;
  std::FILE* out_ = nullptr;
  std::string record_;  // the record being written (its capacity reused)
  std::uint64_t next_seq_ = 1;
  std::uint64_t committed_seq_ = 0;
  std::uint64_t acked_seq_ = 0;
  std::uint64_t pending_bytes_ = 0;  // written since the last commit
  std::uint64_t pending_events_ = 0;
  bool skip_on_disk_ = true;  // false: SkipTo's segment is still to be written
  // A segment was created since the directory was last synced: the next commit syncs it
  // (its chunk is lost with the segment's name), as do a skip before it returns and an ack
  // or drop_oldest before it deletes an older segment.
  bool dir_unsynced_ = false;
  std::uint64_t dropped_ = 0;
  std::uint64_t torn_cut_ = 0;
  std::uint64_t damaged_lost_ = 0;
  std::uint64_t cleanup_failures_ = 0;
  std::string cleanup_error_;
  std::string recovery_report_;
  std::map<std::string, std::string, std::less<>> cursors_;
  // Where each reader's last Read stopped, so sequential reads do not rescan a segment.
  struct ReadHint {
    std::string path;
    long offset = 0;
    std::uint64_t seq = 0;
  };
  std::vector<ReadHint> hints_;
};

// CRC-32 (IEEE) of data.
std::uint32_t Crc32(std::string_view data);

}  // namespace ccmon::agent
