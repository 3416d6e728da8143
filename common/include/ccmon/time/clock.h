// Injected time, shared by the collector and the agent: production uses SystemClock, tests a
// FakeClock they set and advance by hand.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace ccmon {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, Unix epoch milliseconds. Thread-safe.
  virtual std::int64_t NowMs() const = 0;
  // Monotonic milliseconds from an arbitrary origin, for ages and grace periods that must not
  // jump when the wall clock is stepped. Thread-safe.
  virtual std::int64_t MonotonicMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  std::int64_t MonotonicMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

// One SystemClock for the process, for adapters nobody handed a clock.
inline const Clock& DefaultClock() {
  static const SystemClock clock;
  return clock;
}

// Thread-safe manual clock for tests. Advance moves both times; Set steps the wall clock
// alone, as an NTP step would, and leaves monotonic time where it is.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t now_ms = 0) : now_ms_(now_ms), monotonic_ms_(now_ms) {}
  std::int64_t NowMs() const override { return now_ms_.load(); }
  std::int64_t MonotonicMs() const override { return monotonic_ms_.load(); }
  void Set(std::int64_t now_ms) { now_ms_.store(now_ms); }
  void Advance(std::int64_t delta_ms) {
    now_ms_.fetch_add(delta_ms);
    monotonic_ms_.fetch_add(delta_ms);
  }

 private:
  std::atomic<std::int64_t> now_ms_;
  std::atomic<std::int64_t> monotonic_ms_;
};

}  // namespace ccmon
