// The pipeline: work handed in from many threads runs one piece at a time on the apply thread
// (never two at once, never on the caller's thread once started), the caller gets its result,
// readers see every change completed before they ask, share one snapshot while nothing
// changes, and Stop drains what was queued before running work on the caller's thread again.
#include "pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace ccmon::collector {
namespace {

constexpr std::int64_t kNow = 1'780'000'000'000;

// One offered call to queue q at `t` from site s1.
void Offer(Engine& e, std::uint64_t seq, std::int64_t t, const std::string& id) {
  CallEvent c;
  c.kind = CallKind::kOffered;
  c.queue = "q";
  c.call_id = id;
  e.Apply("s1", "i1", Event{seq, t, c});
}

std::uint64_t Offered(const Snapshot& s) {
  std::uint64_t n = 0;
  for (const QueueView& q : s.queues) n += q.total.offered;
  return n;
}

TEST(PipelineTest, BeforeStartWorkRunsOnTheCallersThreadAfterOnTheApplyThread) {
  FakeClock clock(kNow);
  Pipeline p(CoreConfig{}, clock);
  const auto caller = std::this_thread::get_id();
  EXPECT_EQ(p.Run([](Engine&) { return std::this_thread::get_id(); }), caller);
  p.Start();
  const auto apply = p.Run([](Engine&) { return std::this_thread::get_id(); });
  EXPECT_NE(apply, caller);
  // Work that hands in work (the apply thread calling Run) runs it in place, not deadlocked.
  EXPECT_EQ(p.Run([&p](Engine&) { return p.Run([](Engine&) { return 7; }); }), 7);
  p.Stop();
  EXPECT_EQ(p.Run([](Engine&) { return std::this_thread::get_id(); }), caller);
}

TEST(PipelineTest, WorkFromManyThreadsRunsOneAtATimeAndEveryCallerGetsItsResult) {
  FakeClock clock(kNow);
  Pipeline p(CoreConfig{}, clock);
  p.Start();
  constexpr int kThreads = 6;
  constexpr int kEach = 500;
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> wrong_results{0};
  std::uint64_t seq = 0;  // touched only by work, so only ever by one thread at a time
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string id = "c" + std::to_string(t) + "-" + std::to_string(i);
        const int got = p.Run([&](Engine& e) {
          if (inside.fetch_add(1) != 0) ++overlaps;
          Offer(e, ++seq, kNow - 1000, id);
          inside.fetch_sub(1);
          return t * kEach + i;
        });
        if (got != t * kEach + i) ++wrong_results;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(wrong_results.load(), 0);
  EXPECT_EQ(Offered(*p.Current()), static_cast<std::uint64_t>(kThreads * kEach));
  p.Stop();
}

TEST(PipelineTest, ReadersSeeCompletedWorkAndShareASnapshotWhileNothingChanges) {
  FakeClock clock(kNow);
  Pipeline p(CoreConfig{}, clock);
  p.Start();
  p.Run([](Engine& e) { Offer(e, 1, kNow - 1000, "a"); });
  const auto first = p.Current();
  EXPECT_EQ(Offered(*first), 1u);
  const std::uint64_t published = p.counters().snapshots_published.load();
  // Nothing changed and the clock stood still: the same snapshot, not a new one.
  EXPECT_EQ(p.Current(), first);
  EXPECT_EQ(p.counters().snapshots_published.load(), published);
  // A change is seen by the next reader.
  p.Run([](Engine& e) { Offer(e, 2, kNow - 1000, "b"); });
  const auto second = p.Current();
  EXPECT_NE(second, first);
  EXPECT_EQ(Offered(*second), 2u);
  EXPECT_EQ(Offered(*first), 2u - 1);  // a published snapshot never changes under its reader
  // Time alone makes a snapshot stale once it is 100 ms old: windows are judged at its time.
  clock.Advance(99);
  EXPECT_EQ(p.Current(), second);
  clock.Advance(1);
  const auto third = p.Current();
  EXPECT_NE(third, second);
  EXPECT_EQ(third->now_ms, kNow + 100);
  p.Stop();
}

// A submitted job runs after the work handed in before it and before the work after it, its
// done callback right after it, both on the apply thread; the submitter does not wait.
TEST(PipelineTest, SubmittedJobsRunInOrderWithWaitedWorkAndTellWhenDone) {
  FakeClock clock(kNow);
  Pipeline p(CoreConfig{}, clock);
  p.Start();
  struct Ctx {
    std::vector<std::string>* order;
    std::thread::id ran_on;
    std::thread::id done_on;
  };
  std::vector<std::string> order;  // touched only on the apply thread until the last Run
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  std::thread holder([&] {
    p.Run([&](Engine&) {
      entered = true;
      while (!release.load()) std::this_thread::yield();
      order.push_back("first");
    });
  });
  while (!entered.load()) std::this_thread::yield();
  Ctx ctx{&order, {}, {}};
  p.Submit({[](void* c, Engine&) {
              auto& x = *static_cast<Ctx*>(c);
              x.order->push_back("job");
              x.ran_on = std::this_thread::get_id();
            },
            [](void* c) {
              auto& x = *static_cast<Ctx*>(c);
              x.order->push_back("done");
              x.done_on = std::this_thread::get_id();
            },
            &ctx});
  release = true;
  const auto apply = p.Run([&](Engine&) {
    order.push_back("last");
    return std::this_thread::get_id();
  });
  holder.join();
  EXPECT_EQ(order, (std::vector<std::string>{"first", "job", "done", "last"}));
  EXPECT_EQ(ctx.ran_on, apply);
  EXPECT_EQ(ctx.done_on, apply);
  EXPECT_NE(apply, std::this_thread::get_id());
  p.Stop();
}

// A reader's snapshot goes ahead of queued work: it waits for the work being applied, not for
// the batches queued behind it (nothing of theirs is acknowledged yet).
TEST(PipelineTest, ASnapshotGoesAheadOfQueuedWork) {
  FakeClock clock(kNow);
  Pipeline p(CoreConfig{}, clock);
  p.Start();
  p.Run([](Engine& e) { Offer(e, 1, kNow - 1000, "a"); });
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  std::thread holder([&] {
    p.Run([&](Engine&) {
      entered = true;
      while (!release.load()) std::this_thread::yield();
    });
  });
  while (!entered.load()) std::this_thread::yield();
  p.Submit({[](void*, Engine& e) { Offer(e, 2, kNow - 1000, "b"); }, nullptr, nullptr});
  clock.Advance(100);  // the published snapshot is stale by time: a new one must be taken
  std::shared_ptr<const Snapshot> seen;
  std::thread reader([&] { seen = p.Current(); });
  while (p.pending() < 2) std::this_thread::yield();  // the job, then the snapshot request
  release = true;
  reader.join();
  holder.join();
  EXPECT_EQ(Offered(*seen), 1u);  // taken before the queued offer
  p.Run([](Engine&) {});
  EXPECT_EQ(Offered(*p.Current()), 2u);
  p.Stop();
}

TEST(PipelineTest, StopRunsWhatWasQueuedBeforeItFirst) {
  FakeClock clock(kNow);
  Pipeline p(CoreConfig{}, clock);
  p.Start();
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  std::atomic<int> done{0};
  // The first piece holds the apply thread until released; a job is queued behind it.
  std::thread holder([&] {
    p.Run([&](Engine&) {
      entered = true;
      while (!release.load()) std::this_thread::yield();
      ++done;
    });
  });
  while (!entered.load()) std::this_thread::yield();
  p.Submit({[](void* c, Engine&) { ++*static_cast<std::atomic<int>*>(c); }, nullptr, &done});
  int done_when_stopped = -1;
  std::thread stopper([&] {
    p.Stop();
    done_when_stopped = done.load();
  });
  release = true;
  holder.join();
  stopper.join();
  EXPECT_EQ(done_when_stopped, 2);  // Stop returned only after the queued job ran
  // After Stop, work runs on the caller's thread.
  EXPECT_EQ(p.Run([](Engine&) { return std::this_thread::get_id(); }), std::this_thread::get_id());
}

}  // namespace
}  // namespace ccmon::collector
