// The collector's state with one owner. A single apply thread runs everything that touches the
// engine (batches, stream opens and closes, agent status, ticks, ledger drains, checkpoints)
// in the order it is handed work, and is the only appender of the journal, so journal order
// is apply order. Readers (/metrics, the Monitor API, alert evaluation) take the last
// published snapshot, immutable and shared between them: a scrape renders without holding
// anything ingest waits on, and many watchers cost one snapshot, not one each.
//
// Stream threads decode and frame their batches in parallel and hand them over without waiting
// (Submit), each from a fixed set of batch slots: a stream whose slots are all queued or
// waiting for their acks stops reading (gRPC flow control holds its agent), which bounds the
// queue and is counted. Everything else (stream opens and closes, ticks, drains, checkpoints)
// waits for its result (Run).
//
// Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "ccmon/collector/delivery_options.h"
#include "ccmon/collector/engine.h"
#include "pipeline/alert_board.h"
#include "pipeline/journal.h"

namespace ccmon::collector {

// Counters the adapters keep about themselves, beside the engine's own: read by /metrics
// and the Monitor API.
struct PipelineCounters {
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> batches_refused{0};
  // Streams refused: a malformed hello or protocol violation, and a token or certificate that
  // does not grant the site (TLS handshakes that fail never reach the service).
  std::atomic<std::uint64_t> streams_refused{0};
  std::atomic<std::uint64_t> streams_unauthorized{0};
  // Streams opened for a site while another agent instance of it was streaming.
  std::atomic<std::uint64_t> concurrent_instances{0};
  // Time the apply thread spent applying batches.
  std::atomic<std::uint64_t> apply_ns_total{0};
  // Times a stream had every batch slot in the pipeline or waiting for its ack, and waited:
  // ingest back-pressure.
  std::atomic<std::uint64_t> backpressure_waits{0};
  std::atomic<std::uint64_t> snapshots_published{0};
  std::atomic<std::uint64_t> checkpoints_ok{0};
  std::atomic<std::uint64_t> checkpoints_failed{0};
  std::atomic<std::int64_t> checkpoint_last_ms{0};
  // When the checkpoint found at start could not be loaded and was set aside (the state
  // rebuilt from the WAL alone); 0: it loaded.
  std::atomic<std::int64_t> checkpoint_refused_ms{0};
  std::atomic<std::uint64_t> ledger_write_failures{0};
  std::atomic<std::uint64_t> ledger_rows_waiting{0};
  std::atomic<std::uint64_t> ledger_revisions_written{0};
  std::atomic<std::uint64_t> ledger_rows_refused{0};
};

class Pipeline {
 public:
  Pipeline(CoreConfig config, const Clock& clock);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Starts the apply thread. Before Start and after Stop, Run executes on the caller's thread
  // (one caller at a time): start-up recovery and the final checkpoint.
  void Start();
  void Stop();

  // Runs f(engine) on the apply thread and returns what it returns; the caller waits. No
  // allocation: f is passed by address. f must not block on anything but the engine.
  template <typename F>
  auto Run(F&& f) {
    using R = std::invoke_result_t<F&, Engine&>;
    if constexpr (std::is_void_v<R>) {
      auto call = [&f](Engine& e) { f(e); };
      Execute(&Invoke<decltype(call)>, &call, true, false);
    } else {
      std::optional<R> out;
      auto call = [&f, &out](Engine& e) { out.emplace(f(e)); };
      Execute(&Invoke<decltype(call)>, &call, true, false);
      return std::move(*out);
    }
  }

  // The same for work that only reads: it does not make readers' snapshots stale.
  template <typename F>
  auto Read(F&& f) {
    std::optional<std::invoke_result_t<F&, const Engine&>> out;
    auto call = [&f, &out](Engine& e) { out.emplace(f(static_cast<const Engine&>(e))); };
    Execute(&Invoke<decltype(call)>, &call, false, false);
    return std::move(*out);
  }

  // Work handed over without waiting: run(ctx, engine), then done(ctx), both on the apply
  // thread, in order with all other work; ctx must stay valid until done has run (and the
  // pipeline touches nothing of it after). Before Start and after Stop, both run at once on
  // the caller's thread.
  struct Job {
    void (*run)(void* ctx, Engine& engine) = nullptr;
    void (*done)(void* ctx) = nullptr;
    void* ctx = nullptr;
  };
  void Submit(const Job& job);

  // A snapshot taken after all work completed before this call (one is taken on the apply
  // thread when the last published one is older; concurrent readers share it). Taking it
  // goes ahead of queued batches: what they hold is not acknowledged yet, so no reader can
  // expect to see it, and a scrape does not wait for a stream's backlog.
  std::shared_ptr<const Snapshot> Current();

  // Work waiting for the apply thread (not counting what it runs now).
  std::size_t pending() const {
    std::lock_guard lock(mu_);
    return queue_.size() + urgent_.size();
  }

  const CoreConfig& config() const { return config_; }
  const Clock& clock() const { return clock_; }

  // Set before Start (null: no data directory, nothing is durable). Not owned.
  void set_journal(Journal* journal) { journal_ = journal; }
  Journal* journal() const { return journal_; }
  // Alert delivery's per-receiver counters, for /metrics; set before serving.
  void set_receiver_stats(std::function<std::vector<ReceiverStats>()> fn) {
    receiver_stats_ = std::move(fn);
  }
  std::vector<ReceiverStats> receiver_stats() const {
    return receiver_stats_ ? receiver_stats_() : std::vector<ReceiverStats>{};
  }

  PipelineCounters& counters() { return counters_; }
  const PipelineCounters& counters() const { return counters_; }
  AlertBoard& alerts() { return alerts_; }
  const AlertBoard& alerts() const { return alerts_; }
  // The collector's shard name (options), on ccmon_build_info. Set before serving.
  void set_shard(std::string shard) { shard_ = std::move(shard); }
  const std::string& shard() const { return shard_; }

  // Counts a refused stream in `counter` and marks what /metrics shows as changed.
  void CountRefusal(std::atomic<std::uint64_t>& counter) {
    ++counter;
    ++changes_;
  }
  // Marks what /metrics shows as changed by something besides applied work (alerts).
  void Changed() { ++changes_; }
  // Moves whenever what /metrics shows may have changed: with it a rendered exposition is
  // known to be current.
  std::uint64_t generation() const { return applied_.load() + changes_.load(); }

 private:
  // One piece of work in the queue. A waiting caller's thread-local Waiter is told when it is
  // done; a submitted job's done callback is called instead.
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
  };
  struct Entry {
    void (*fn)(void* ctx, Engine& engine);
    void (*done)(void* ctx);
    void* ctx;
    Waiter* waiter;
    bool mutates;  // false for snapshot publication: it changes nothing readers see
  };
  template <typename C>
  static void Invoke(void* ctx, Engine& e) {
    (*static_cast<C*>(ctx))(e);
  }
  // Queues the entry, or runs it in place without an apply thread (or on it); true if queued.
  // An urgent entry runs before queued work, as soon as the work being applied is done.
  bool Enqueue(const Entry& entry, bool urgent = false);
  void Execute(void (*fn)(void*, Engine&), void* ctx, bool mutates, bool urgent);
  void RunUrgent();
  void Complete(const Entry& entry);
  void Loop();

  const CoreConfig config_;
  const Clock& clock_;
  Engine engine_;
  Journal* journal_ = nullptr;
  std::function<std::vector<ReceiverStats>()> receiver_stats_;
  PipelineCounters counters_;
  AlertBoard alerts_;
  std::string shard_ = "default";

  mutable std::mutex mu_;  // queue_, urgent_, idle_, running_, stopping_
  std::condition_variable cv_;
  std::vector<Entry> queue_;
  std::vector<Entry> urgent_;  // snapshot publication: ahead of queued batches
  std::atomic<bool> urgent_pending_{false};
  bool idle_ = false;  // the apply thread waits for work (a push must wake it)
  bool running_ = false;
  bool stopping_ = false;
  std::thread thread_;
  std::thread::id apply_id_;
  std::mutex inline_mu_;  // Run without the apply thread: one caller at a time

  std::atomic<std::uint64_t> applied_{0};  // work that may have changed the engine, completed
  std::atomic<std::uint64_t> changes_{0};

  std::mutex snap_mu_;
  std::shared_ptr<const Snapshot> published_;
  std::uint64_t published_at_ = 0;  // applied_ when published_ was taken
};

}  // namespace ccmon::collector
