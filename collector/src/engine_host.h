// The engine behind one mutex, shared by ingest, Monitor, export and the ticker.
// Thread-safe: every access goes through With().
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

#include "ccmon/collector/continuity.h"
#include "ccmon/collector/engine.h"
#include "storage/ledger_store.h"
#include "storage/wal.h"

namespace ccmon::collector {

// Firing alerts and a bounded history of changes, for /metrics and the Monitor API.
// Thread-safe.
class AlertBoard {
 public:
  void Update(std::vector<Alert> active, const std::vector<AlertTransition>& changes) {
    {
      std::lock_guard lock(mu_);
      active_ = std::move(active);
      for (const auto& c : changes) {
        history_.push_back({++seq_, c});
        if (history_.size() > kHistory) history_.pop_front();
      }
    }
    if (!changes.empty()) cv_.notify_all();
  }
  std::vector<Alert> Active() const {
    std::lock_guard lock(mu_);
    return active_;
  }
  // Changes after `after` (a sequence number from a previous call); waits up to `wait` for one.
  // A watcher that fell more than the history behind gets the active set again (*resync).
  std::vector<AlertTransition> ChangesAfter(std::uint64_t* after, std::chrono::milliseconds wait,
                                            bool* resync) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [&] { return seq_ > *after; });
    std::vector<AlertTransition> out;
    *resync = !history_.empty() && history_.front().first > *after + 1;
    for (const auto& [seq, change] : history_) {
      if (seq > *after) out.push_back(change);
    }
    *after = seq_;
    return out;
  }
  std::uint64_t seq() const {
    std::lock_guard lock(mu_);
    return seq_;
  }

 private:
  static constexpr std::size_t kHistory = 10000;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Alert> active_;
  std::deque<std::pair<std::uint64_t, AlertTransition>> history_;
  std::uint64_t seq_ = 0;
};

class AlertDispatcher;

class EngineHost {
 public:
  EngineHost(CoreConfig config, const Clock& clock)
      : clock_(clock), engine_(std::move(config), clock) {}

  template <typename F>
  auto With(F&& f) {
    std::lock_guard lock(mu_);
    return f(engine_);
  }

  const Clock& clock() const { return clock_; }

  // Pipeline self-metrics kept outside the engine's lock.
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> batches_refused{0};
  // Streams refused: a malformed hello or protocol violation, and a token or certificate that
  // does not grant the site (TLS handshakes that fail never reach the service).
  // The collector's shard name (options), on ccmon_build_info. Set before serving.
  std::string shard = "default";
  std::atomic<std::uint64_t> streams_refused{0};
  std::atomic<std::uint64_t> streams_unauthorized{0};
  // Counts a refused stream in `counter` so that the next /metrics render shows it.
  void CountRefusal(std::atomic<std::uint64_t>& counter) {
    ++counter;
    ++changes;
  }
  // Bumped by everything that changes what /metrics shows besides batches (ticks, streams
  // opening and closing, live status, alerts): with `batches` it tells whether a rendered
  // exposition is still current.
  std::atomic<std::uint64_t> changes{0};
  std::uint64_t generation() const { return batches.load() + changes.load(); }
  // Streams opened for a site while another agent instance of it was streaming.
  std::atomic<std::uint64_t> concurrent_instances{0};
  std::atomic<std::uint64_t> apply_ns_total{0};
  std::atomic<std::uint64_t> checkpoints_ok{0};
  std::atomic<std::uint64_t> checkpoints_failed{0};
  std::atomic<std::int64_t> checkpoint_last_ms{0};
  // Set when the collector has a data directory; null means in-memory only.
  Wal* wal = nullptr;
  AlertBoard alerts;
  // Set once alert delivery runs (metrics read its counters).
  const AlertDispatcher* dispatcher = nullptr;
  // The ledger store (file or in memory); set before the services start.
  LedgerStore* ledger = nullptr;
  std::atomic<std::uint64_t> ledger_write_failures{0};
  std::atomic<std::uint64_t> ledger_rows_waiting{0};
  std::atomic<std::uint64_t> ledger_revisions_written{0};
  std::atomic<std::uint64_t> ledger_rows_refused{0};

 private:
  const Clock& clock_;
  std::mutex mu_;
  Engine engine_;
};

}  // namespace ccmon::collector
