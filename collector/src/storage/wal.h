// Write-ahead log of accepted batches: records are appended by the apply thread (so WAL
// order is apply order) into a memory buffer that a flusher thread writes and fdatasyncs in
// groups (group commit). Callers ack only once their record is on disk: the flusher tells
// each DurableListener awaiting it (WaitDurable() serves callers that can block).
// When the disk fails (full, I/O error) the flusher keeps the buffer and retries every second;
// acks stop meanwhile and resume by themselves. Thread-safe.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pipeline/journal.h"

namespace ccmon::collector {

struct WalOptions {
  std::string dir;
  // Group-commit window: the flusher waits this long after the first pending record.
  std::chrono::milliseconds fsync_interval{5};
  // Adaptive group commit: under a heavy load (at least gap_min_bytes already waiting) a write
  // starts no sooner than min_sync_gap after the previous one started, so each fdatasync
  // carries more batches (fewer syncs, less CPU). Small groups (latency-bound senders: tiny
  // batches, few streams) and an idle log are written at once. 1.5 ms from a sweep against
  // the bare sink (docs/benchmarks.md): longer gaps starve senders of smaller batches.
  std::chrono::microseconds min_sync_gap{1500};
  std::uint64_t gap_min_bytes = 16 << 10;
  std::uint64_t segment_bytes = 64ULL << 20;
  // Appends block (backpressure) while this much is buffered and not yet written.
  std::uint64_t max_pending_bytes = 256ULL << 20;
  // A write (with its fdatasync) that has not returned after this long makes the WAL
  // unhealthy in stats(): a hung disk.
  std::chrono::milliseconds hung_after{5000};
  // Test hook standing in for write(2), to inject disk-full and short writes.
  std::function<ssize_t(int, const void*, std::size_t)> write_fn;
};

// A record of the log: site, instance and the serialised EventBatch as received, into *out (its
// capacity is reused).
void EncodeWalRecord(std::string_view site, std::string_view instance, std::string_view batch_bytes,
                     std::string* out);
// Splits a record; the views point into `record`. *batch is the serialised EventBatch.
bool DecodeWalRecord(std::string_view record, std::string_view* site, std::string_view* instance,
                     std::string_view* batch);

class Wal final : public Journal {
 public:
  Wal() = default;
  ~Wal() override;
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Opens the directory and checks every segment: damaged records between intact ones are
  // skipped (the segment is rewritten without them), a torn tail is cut; both are reported
  // with their offsets in stats and *report. Does not start the flusher.
  bool Open(const WalOptions& options, std::string* error, std::string* report);
  // Calls fn for every intact record with lsn > after_lsn, in order.
  bool Replay(std::uint64_t after_lsn,
              const std::function<void(std::uint64_t lsn, std::string_view record)>& fn,
              std::string* error);
  void Start();
  // Writes what is buffered (best effort) and stops the flusher.
  void Stop();

  // Blocks while the unwritten buffer is over its bound (disk trouble); false on timeout.
  // Call it before taking locks that readers need, then Append.
  bool WaitForRoom(std::chrono::milliseconds timeout) override;
  // Appends a record and returns its LSN. Never blocks on I/O.
  std::uint64_t Append(std::string_view record) { return Append(record, RecordCrc(record)); }
  // The same with the record's CRC computed beforehand (RecordCrc), outside whatever lock the
  // caller holds around Append: under the lock only the bytes are copied.
  std::uint64_t Append(std::string_view record, std::uint32_t record_crc) override;
  // The record of a received batch (wal_record.h) and its CRC.
  std::uint32_t Frame(std::string_view site, std::string_view instance, std::string_view batch,
                      std::string* record) const override;
  static std::uint32_t RecordCrc(std::string_view record);
  std::uint64_t last_lsn() const override { return last_lsn_.load(); }
  std::uint64_t durable_lsn() const override { return durable_lsn_.load(); }
  // Waits until lsn is durable; false on timeout or when stopping.
  bool WaitDurable(std::uint64_t lsn, std::chrono::milliseconds timeout) override;
  void Listen(DurableListener* listener) override;
  void Unlisten(DurableListener* listener) override;
  // Everything up to lsn is in a checkpoint: delete segments holding only older records and
  // start a new segment if the current one holds only such records.
  void TruncateThrough(std::uint64_t lsn);

  WalStats stats() const override;
  // The directory the log lives in (for the data disk's free space).
  const std::string& dir() const override { return opt_.dir; }

  // Whether the segment being written is still the file on disk. A data directory deleted (or
  // replaced) while running leaves the WAL writing into an unlinked file, durable nowhere:
  // then the WAL turns unhealthy and stops making records durable (acks stop) until
  // Recreate. Call it periodically.
  bool CheckFiles();
  bool files_lost() const { return lost_.load(); }
  // Appenders are blocked in WaitForRoom: the unwritten buffer is at its bound (disk trouble),
  // so ingest streams are not being read.
  bool backpressured() const;
  // After lost files: the caller has just written a checkpoint of everything applied through
  // lsn. Recreates the directory, starts a new segment after lsn, drops what is buffered up to
  // it, and makes it durable: acks resume.
  bool Recreate(std::uint64_t lsn, std::string* error);

 private:
  struct Segment {
    std::string path;
    std::uint64_t first_lsn = 0;
    std::uint64_t last_lsn = 0;  // 0: empty
    std::uint64_t bytes = 0;
  };
  void FlushLoop();
  bool WriteAll(const std::string& buf);
  static void MarkGroupEnd(std::string* buf, bool on);
  static void TrimThrough(std::string* buf, std::uint64_t lsn);
  // Tells the listeners waiting for lsn or less that everything through lsn is durable; takes
  // listeners_mu_, called without mu_ or file_mu_. Called after durable_lsn_ is stored: against
  // a listener that stores Awaited and then loads durable_lsn, that order is what keeps a
  // wake-up from being lost.
  void TellListeners(std::uint64_t lsn);
  bool OpenSegment(std::uint64_t first_lsn, bool force_new, std::string* error);
  bool RecreateLocked(std::uint64_t lsn, std::string* error);  // Recreate's work, in mu_

  WalOptions opt_;
  // Appends and the pending buffer.
  mutable std::mutex mu_;
  std::condition_variable cv_;          // flusher: work to do; appenders: room available
  std::condition_variable durable_cv_;  // waiters: durable_lsn moved
  // Guards listeners_. Never held with mu_: OnDurable takes the streams' locks, and Append
  // (the apply thread) must not wait behind them.
  std::mutex listeners_mu_;
  std::vector<DurableListener*> listeners_;
  std::string pending_;
  std::uint64_t pending_last_lsn_ = 0;
  std::atomic<std::uint64_t> last_lsn_{0};
  // Written in mu_, so WaitDurable's predicate cannot miss its notify and the flusher's and
  // Recreate's max() do not race; read anywhere without it.
  std::atomic<std::uint64_t> durable_lsn_{0};
  bool stopping_ = false;
  std::atomic<bool> lost_{false};
  std::uint64_t recreated_through_ = 0;  // file_mu_: records a Recreate's checkpoint holds
  // Files; owned by the flusher while it runs (file_mu_ guards against TruncateThrough).
  mutable std::timed_mutex file_mu_;
  // stats() when file_mu_ is held too long (a hung disk): the last figures it could read.
  mutable std::mutex stats_mu_;
  mutable WalStats cached_;
  std::atomic<std::int64_t> write_started_ms_{0};  // steady ms of the write in progress, or 0
  std::vector<Segment> segments_;
  int fd_ = -1;
  std::uint64_t write_errors_ = 0;
  std::uint64_t torn_cut_ = 0;
  std::uint64_t skipped_bytes_ = 0;
  std::uint64_t skipped_records_ = 0;
  std::uint64_t files_lost_ = 0;
  bool healthy_ = true;
  std::string last_error_;
  std::thread flusher_;
};

}  // namespace ccmon::collector
