#include "pipeline/pipeline.h"

#include <pthread.h>

#include <cstdlib>

namespace ccmon::collector {

namespace {
// A published snapshot serves readers until work changes the engine or the clock has moved
// this far past it (live windows and ages are judged at the snapshot's time).
constexpr std::int64_t kSnapshotFreshMs = 100;
}  // namespace

Pipeline::Pipeline(CoreConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(clock), engine_(config_, clock) {}

Pipeline::~Pipeline() { Stop(); }

void Pipeline::Start() {
  std::lock_guard inline_lock(inline_mu_);
  std::lock_guard lock(mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "ccmon-apply");  // tells it from gRPC's in top -H
    Loop();
  });
  apply_id_ = thread_.get_id();
}

void Pipeline::Stop() {
  // Inline callers wait until the apply thread has drained what was queued before Stop.
  std::lock_guard inline_lock(inline_mu_);
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    running_ = false;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::lock_guard lock(mu_);
  apply_id_ = {};
}

bool Pipeline::Enqueue(const Entry& entry, bool urgent) {
  bool on_apply_thread = false;
  {
    std::unique_lock lock(mu_);
    on_apply_thread = std::this_thread::get_id() == apply_id_;
    if (running_ && !on_apply_thread) {
      if (urgent) {
        urgent_.push_back(entry);
        urgent_pending_.store(true);
      } else {
        queue_.push_back(entry);
      }
      const bool wake = idle_;
      idle_ = false;
      lock.unlock();
      if (wake) cv_.notify_one();
      return true;
    }
  }
  // Work handed in by work already on the apply thread runs in place; without an apply thread
  // (start-up, shutdown) one caller at a time runs it, and work it hands in runs in place.
  thread_local bool running_inline = false;
  std::unique_lock<std::mutex> inline_lock;
  if (!on_apply_thread && !running_inline) inline_lock = std::unique_lock(inline_mu_);
  const bool outer = !running_inline;
  running_inline = true;
  entry.fn(entry.ctx, engine_);
  if (outer) running_inline = false;
  if (entry.mutates) applied_.fetch_add(1);
  if (entry.done != nullptr) entry.done(entry.ctx);
  return false;
}

void Pipeline::Execute(void (*fn)(void*, Engine&), void* ctx, bool mutates, bool urgent) {
  thread_local Waiter waiter;
  {
    std::lock_guard lock(waiter.mu);
    waiter.done = false;
  }
  if (!Enqueue({fn, nullptr, ctx, &waiter, mutates}, urgent)) return;
  std::unique_lock lock(waiter.mu);
  waiter.cv.wait(lock, [] { return waiter.done; });
}

void Pipeline::Submit(const Job& job) { Enqueue({job.run, job.done, job.ctx, nullptr, true}); }

void Pipeline::Complete(const Entry& e) {
  if (e.mutates) applied_.fetch_add(1);
  if (e.done != nullptr) {
    e.done(e.ctx);  // the job's owner may reuse or free ctx from here on
  } else if (e.waiter != nullptr) {
    // Told under its lock: the waiting thread (and its thread-local waiter) cannot go before
    // this returns.
    std::lock_guard lock(e.waiter->mu);
    e.waiter->done = true;
    e.waiter->cv.notify_one();
  }
}

void Pipeline::RunUrgent() {
  std::vector<Entry> urgent;
  {
    std::lock_guard lock(mu_);
    urgent.swap(urgent_);
    urgent_pending_.store(false);
  }
  for (const Entry& e : urgent) {
    e.fn(e.ctx, engine_);
    Complete(e);
  }
}

void Pipeline::Loop() {
  std::vector<Entry> group;
  std::unique_lock lock(mu_);
  while (true) {
    if (queue_.empty() && urgent_.empty() && !stopping_) {
      idle_ = true;
      cv_.wait(lock, [this] { return !queue_.empty() || !urgent_.empty() || stopping_; });
      idle_ = false;
    }
    if (queue_.empty() && urgent_.empty()) break;  // stopping, and everything queued is done
    group.swap(queue_);
    lock.unlock();
    if (urgent_pending_.load()) RunUrgent();
    for (const Entry& e : group) {
      e.fn(e.ctx, engine_);
      Complete(e);
      if (urgent_pending_.load()) RunUrgent();
    }
    group.clear();
    lock.lock();
  }
}

std::shared_ptr<const Snapshot> Pipeline::Current() {
  const std::uint64_t want = applied_.load();
  {
    std::lock_guard lock(snap_mu_);
    if (published_ && published_at_ >= want &&
        std::llabs(clock_.NowMs() - published_->now_ms) < kSnapshotFreshMs) {
      return published_;
    }
  }
  Execute(
      [](void* c, Engine& e) {
        auto* self = static_cast<Pipeline*>(c);
        const std::uint64_t at = self->applied_.load();
        {
          // Another reader's request, ahead of this one, published it already.
          std::lock_guard lock(self->snap_mu_);
          if (self->published_ && self->published_at_ >= at &&
              std::llabs(self->clock_.NowMs() - self->published_->now_ms) < kSnapshotFreshMs) {
            return;
          }
        }
        auto snap = std::make_shared<const Snapshot>(e.TakeSnapshot());
        std::lock_guard lock(self->snap_mu_);
        self->published_ = std::move(snap);
        self->published_at_ = at;
        ++self->counters_.snapshots_published;
      },
      this, false, /*urgent=*/true);
  std::lock_guard lock(snap_mu_);
  return published_;
}

}  // namespace ccmon::collector
