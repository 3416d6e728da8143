// The engine behind one mutex, shared by ingest, Monitor, export and the ticker.
// Thread-safe: every access goes through With().
#pragma once

#include <atomic>
#include <mutex>

#include "ccmon/collector/engine.h"
#include "storage/wal.h"

namespace ccmon::collector {

class EngineHost {
 public:
  EngineHost(CoreConfig config, const Clock& clock) : clock_(clock), engine_(std::move(config), clock) {}

  template <typename F>
  auto With(F&& f) {
    std::lock_guard lock(mu_);
    return f(engine_);
  }

  const Clock& clock() const { return clock_; }

  // Pipeline self-metrics kept outside the engine's lock.
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> batches_refused{0};
  std::atomic<std::uint64_t> streams_refused{0};
  std::atomic<std::uint64_t> apply_ns_total{0};
  std::atomic<std::uint64_t> checkpoints_ok{0};
  std::atomic<std::uint64_t> checkpoints_failed{0};
  std::atomic<std::int64_t> checkpoint_last_ms{0};
  // Set when the collector has a data directory; null means in-memory only.
  Wal* wal = nullptr;

 private:
  const Clock& clock_;
  std::mutex mu_;
  Engine engine_;
};

}  // namespace ccmon::collector
