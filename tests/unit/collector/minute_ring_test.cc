// The per-minute ring behind rolling windows: a minute takes its slot (emptied when it held an
// older minute), a minute older than its slot's is dropped, and a window sums exactly the
// minutes it spans, before the epoch too.
#include "core/minute_ring.h"

#include <gtest/gtest.h>

#include <array>
#include <limits>

namespace ccmon::collector {
namespace {

struct Bucket {
  std::int64_t minute = std::numeric_limits<std::int64_t>::min();
  int calls = 0;
};
using Ring = std::array<Bucket, 5>;

int Window(const Ring& r, std::int64_t now, int minutes) {
  int sum = 0;
  ForRingWindow(r, now, minutes, [&](const Bucket& b) { sum += b.calls; });
  return sum;
}

TEST(MinuteRingTest, SlotsWrapAndNegativeMinutesFindTheirOwn) {
  EXPECT_EQ(RingSlot<5>(0), 0u);
  EXPECT_EQ(RingSlot<5>(7), 2u);
  EXPECT_EQ(RingSlot<5>(-1), 4u);
  EXPECT_EQ(RingSlot<5>(-5), 0u);
}

TEST(MinuteRingTest, AMinuteTakesItsSlotAndAnOlderOneIsDropped) {
  Ring r{};
  RingAt(r, 100)->calls += 2;
  RingAt(r, 100)->calls += 1;  // the same minute adds
  EXPECT_EQ(Window(r, 100, 1), 3);
  RingAt(r, 105)->calls = 7;  // same slot, newer minute: 100 is gone
  EXPECT_EQ(Window(r, 105, 5), 7);
  EXPECT_EQ(RingAt(r, 100), nullptr);  // older than its slot's minute: left out
  EXPECT_EQ(Window(r, 105, 10), 7);
}

TEST(MinuteRingTest, AWindowSumsTheMinutesItSpansOnly) {
  Ring r{};
  for (std::int64_t m = -2; m <= 2; ++m) RingAt(r, m)->calls = static_cast<int>(m + 10);
  // minutes -2..2 hold 8, 9, 10, 11, 12
  EXPECT_EQ(Window(r, 2, 1), 12);
  EXPECT_EQ(Window(r, 2, 3), 10 + 11 + 12);
  EXPECT_EQ(Window(r, 2, 5), 8 + 9 + 10 + 11 + 12);
  EXPECT_EQ(Window(r, 0, 2), 9 + 10);  // minutes after `now` are not in it
  EXPECT_EQ(Window(r, 10, 5), 0);      // all older than the window
}

}  // namespace
}  // namespace ccmon::collector
