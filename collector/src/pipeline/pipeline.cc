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

void Pipeline::Execute(Work& w) {
  bool on_apply_thread = false;
  {
    std::unique_lock lock(mu_);
    on_apply_thread = std::this_thread::get_id() == apply_id_;
    if (running_ && !on_apply_thread) {
      if (busy_ || !queue_.empty()) ++counters_.apply_waits;
      queue_.push_back(&w);
      lock.unlock();
      cv_.notify_one();
      std::unique_lock done(done_mu_);
      done_cv_.wait(done, [&w] { return w.done; });
      return;
    }
  }
  // Work handed in by work already on the apply thread runs in place; without an apply thread
  // (start-up, shutdown) one caller at a time runs it.
  std::unique_lock<std::mutex> inline_lock;
  if (!on_apply_thread) inline_lock = std::unique_lock(inline_mu_);
  w.fn(w.ctx, engine_);
  if (w.mutates) applied_.fetch_add(1);
}

void Pipeline::Loop() {
  std::vector<Work*> group;
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) break;  // stopping, and everything queued before it is done
    group.swap(queue_);
    busy_ = true;
    lock.unlock();
    for (Work* w : group) {
      w->fn(w->ctx, engine_);
      if (w->mutates) applied_.fetch_add(1);
    }
    {
      std::lock_guard done(done_mu_);
      for (Work* w : group) w->done = true;
    }
    done_cv_.notify_all();
    group.clear();
    lock.lock();
    busy_ = false;
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
  Work w{[](void* c, Engine& e) {
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
         this, false};
  Execute(w);
  std::lock_guard lock(snap_mu_);
  return published_;
}

}  // namespace ccmon::collector
