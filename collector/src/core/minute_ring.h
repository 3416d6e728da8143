// A ring of per-minute buckets: the last N minutes of a queue's figures, for rolling windows.
// A bucket is any struct with an `std::int64_t minute` (the minute it holds, since the epoch)
// and its figures. Writing a minute takes its slot, emptied first if it held an older minute;
// a minute older than the one its slot holds has left the ring (its events count in totals,
// not in windows).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ccmon::collector {

// The slot of `minute` in a ring of N (minutes before the epoch included).
template <std::size_t N>
constexpr std::size_t RingSlot(std::int64_t minute) {
  constexpr auto n = static_cast<std::int64_t>(N);
  return static_cast<std::size_t>(((minute % n) + n) % n);
}

// The bucket of `minute`, emptied first if its slot held an older minute; nullptr when the slot
// holds a newer one.
template <typename Bucket, std::size_t N>
Bucket* RingAt(std::array<Bucket, N>& ring, std::int64_t minute) {
  Bucket& b = ring[RingSlot<N>(minute)];
  if (b.minute < minute) {
    b = Bucket{};
    b.minute = minute;
  }
  return b.minute == minute ? &b : nullptr;
}

// Calls f(bucket) for every bucket of the `minutes` minutes ending with `now_minute` (included);
// minutes after it (events stamped ahead of the clock) are left out.
template <typename Bucket, std::size_t N, typename F>
void ForRingWindow(const std::array<Bucket, N>& ring, std::int64_t now_minute, int minutes, F&& f) {
  for (const Bucket& b : ring) {
    if (b.minute > now_minute - minutes && b.minute <= now_minute) f(b);
  }
}

}  // namespace ccmon::collector
