// The write-ahead journal as the pipeline sees it: the apply thread appends each applied batch
// in apply order, stream threads frame records beforehand and ack them once the journal
// tells them they are durable (DurableListener). storage/wal.h implements it.
// Implementations are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace ccmon::collector {

struct WalStats {
  std::uint64_t bytes = 0;  // on disk, all segments
  std::uint64_t segments = 0;
  std::uint64_t last_lsn = 0;
  std::uint64_t durable_lsn = 0;
  std::uint64_t write_errors = 0;
  std::uint64_t torn_bytes_cut = 0;
  // Damaged records found between intact ones at Open: skipped, the records after them kept.
  std::uint64_t damaged_bytes_skipped = 0;
  std::uint64_t damaged_records_lost = 0;
  std::uint64_t files_lost = 0;  // times the segment being written vanished from disk
  bool healthy = true;
  std::string last_error;
};

// Told when the record it waits for becomes durable: how an ack writer learns, without a
// thread of its own waiting in the journal, that its acks may go.
class DurableListener {
 public:
  // The LSN it waits for (0: none). Read without a lock by whoever makes records durable,
  // after durable_lsn() has moved: a listener that sets it, then reads durable_lsn(), either
  // sees its record durable or is told (both sequentially consistent atomics).
  virtual std::uint64_t Awaited() const = 0;
  // Everything through lsn (at least what Awaited() gave when the journal read it) is
  // durable. Called on the journal's flusher after a group commit, or on the thread
  // recovering lost files, holding the journal's listener lock (so Unlisten can wait for it):
  // it may take only locks held briefly, must not call Listen or Unlisten, and Unlisten must
  // not be called holding a lock this takes.
  virtual void OnDurable(std::uint64_t lsn) = 0;

 protected:
  ~DurableListener() = default;
};

class Journal {
 public:
  virtual ~Journal() = default;
  // The record of a received batch (site, instance and the batch bytes as received) into
  // *record, reusing its capacity; returns the record's checksum. Any thread: stream threads
  // frame before handing the batch over, so the apply thread only copies bytes.
  virtual std::uint32_t Frame(std::string_view site, std::string_view instance,
                              std::string_view batch, std::string* record) const = 0;
  // Appends a framed record and returns its LSN. Never blocks on I/O.
  virtual std::uint64_t Append(std::string_view record, std::uint32_t record_crc) = 0;
  // Blocks while the unwritten buffer is over its bound (disk trouble); false on timeout.
  virtual bool WaitForRoom(std::chrono::milliseconds timeout) = 0;
  // Waits until lsn is durable; false on timeout or when stopping.
  virtual bool WaitDurable(std::uint64_t lsn, std::chrono::milliseconds timeout) = 0;
  // From Listen until Unlisten returns, the listener may be told when what it awaits becomes
  // durable: it is sure to be only when it sets Awaited() and then finds durable_lsn() short
  // of it (an LSN durable already when awaited may never be told). Unlisten waits for a call
  // in progress.
  virtual void Listen(DurableListener* listener) = 0;
  virtual void Unlisten(DurableListener* listener) = 0;
  virtual std::uint64_t last_lsn() const = 0;
  // Takes no lock; a sequentially consistent load (DurableListener relies on it).
  virtual std::uint64_t durable_lsn() const = 0;
  virtual WalStats stats() const = 0;
  // The directory the journal lives in (for the data disk's free space).
  virtual const std::string& dir() const = 0;
};

}  // namespace ccmon::collector
