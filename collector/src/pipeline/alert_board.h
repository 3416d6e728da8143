// Firing alerts and a bounded history of changes, published by alert evaluation and read by
// /metrics and the Monitor API. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "ccmon/collector/continuity.h"

namespace ccmon::collector {

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

}  // namespace ccmon::collector
