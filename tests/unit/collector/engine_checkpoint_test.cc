// The engine's state out and back: checkpoint round trips, damaged checkpoints refused, and
// checkpoints of the former binary formats loaded.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>

#include "ccmon/collector/engine.h"
#include "engine_fixture.h"
#include "engine_state_fill.h"

namespace ccmon::collector {
namespace {

using namespace engine_fixture;  // NOLINT(google-build-using-namespace)

TEST_F(EngineTest, CheckpointRoundTripRestoresEverything) {
  CoreConfig cfg;
  cfg.sites.push_back({"s1", "Asia/Manila"});
  Make(cfg);
  const std::int64_t t = clock_.NowMs() - 40 * kMin;
  State(t, "ann", AgentState::kReady, "billing");
  for (int i = 0; i < 30; ++i) {
    const std::string id = "c" + std::to_string(i);
    Call(t + i * kMin, CallKind::kOffered, "billing", id);
    if (i % 4 == 0) {
      Call(t + i * kMin + 30 * kS, CallKind::kAbandoned, "billing", id, 30'000);
    } else if (i < 28) {
      Call(t + i * kMin + 10 * kS, CallKind::kAnswered, "billing", id, 10'000 + i * 500);
    }
  }
  LinkSample l;
  l.link = "wan";
  l.rtt_ms = 41;
  engine_->Apply("s1", "i1", Event{++seq_, clock_.NowMs(), l});
  engine_->Tick();
  const EngineState saved = engine_->ExportState();
  const Snapshot before = engine_->TakeSnapshot();
  const auto ledger_before = engine_->Ledger("", "");

  Engine restored(cfg, clock_);
  std::string err;
  ASSERT_TRUE(restored.ImportState(saved, &err)) << err;
  // It exports what was imported: rows, ring, agents, links, dedupe state and counters.
  EXPECT_TRUE(restored.ExportState() == saved);
  const Snapshot after = restored.TakeSnapshot();
  ASSERT_EQ(after.queues.size(), before.queues.size());
  const QueueView& a = after.queues[0];
  const QueueView& b = before.queues[0];
  EXPECT_EQ(a.total, b.total);
  for (std::size_t i = 0; i < a.windows.size(); ++i) EXPECT_EQ(a.windows[i], b.windows[i]) << i;
  EXPECT_EQ(a.interval, b.interval);
  EXPECT_EQ(a.answered_wait.counts, b.answered_wait.counts);
  EXPECT_EQ(a.calls_waiting, b.calls_waiting);
  EXPECT_EQ(a.agents_by_state, b.agents_by_state);
  EXPECT_EQ(after.links.size(), 1u);
  EXPECT_EQ(after.ingest.accepted, before.ingest.accepted);
  ASSERT_EQ(restored.Ledger("", "").size(), ledger_before.size());
  EXPECT_EQ(restored.Ledger("", "")[0].counts, ledger_before[0].counts);
  // Dedupe state survives: the same sequence numbers are duplicates after a restart.
  EXPECT_EQ(restored.LastApplied("s1", "i1"), seq_);
  CallEvent c;
  c.kind = CallKind::kOffered;
  c.queue = "billing";
  EXPECT_EQ(restored.Apply("s1", "i1", Event{seq_, clock_.NowMs(), c}).kind,
            ApplyResult::Kind::kDuplicate);
  // With a distinct value in every field, an import exports exactly what it was given.
  EngineState distinct = saved;
  testing::FillDistinct(&distinct);
  Engine filled(cfg, clock_);
  ASSERT_TRUE(filled.ImportState(distinct, &err)) << err;
  EXPECT_TRUE(filled.ExportState() == distinct);
  // A checkpoint of the restored engine restores to the same figures again.
  Engine again(cfg, clock_);
  ASSERT_TRUE(again.ImportState(restored.ExportState(), &err)) << err;
  EXPECT_TRUE(again.TakeSnapshot().queues[0].total == b.total);
}

TEST_F(EngineTest, DamagedCheckpointIsRefusedAndStateKept) {
  Make();
  Call(clock_.NowMs(), CallKind::kOffered, "q", "a");
  std::string err;
  EXPECT_FALSE(engine_->LoadLegacyState("garbage", &err));
  EXPECT_NE(err.find("not a ccmon engine checkpoint"), std::string::npos) << err;
  std::string header(12, '\0');
  const std::uint32_t magic = 0x43434d53, version = 9;
  std::memcpy(header.data(), &magic, 4);
  std::memcpy(header.data() + 4, &version, 4);
  EXPECT_FALSE(engine_->LoadLegacyState(header, &err));
  EXPECT_NE(err.find("version 9"), std::string::npos) << err;
  // An agent in a state this build does not know (a newer build's) and a link whose figures
  // are not numbers are left out; the rest of the state loads.
  EngineState state = engine_->ExportState();
  state.sites[0].agents.push_back(
      {"ann", static_cast<AgentState>(42), false, AgentState::kNotReady, 0, {}});
  state.sites[0].links.push_back({"wan", true, std::nan(""), 0, 0, clock_.NowMs()});
  ASSERT_TRUE(engine_->ImportState(state, &err)) << err;
  const EngineState back = engine_->ExportState();
  EXPECT_TRUE(back.sites[0].agents.empty());
  EXPECT_TRUE(back.sites[0].links.empty());
  EXPECT_EQ(Queue(engine_->TakeSnapshot(), "s1", "q").total.offered, 1u);
}

// A checkpoint written by the previous format (version 2: closed intervals in one list, one
// watermark per site) loads: its closed interval becomes a closed row drained once more (so the
// store gets it), its open interval an open row, and dedupe state carries on.
TEST_F(EngineTest, ACheckpointOfTheFormerFormatLoads) {
  std::string b;
  auto pod = [&](const auto& v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); };
  auto str = [&](std::string_view v) {
    pod(static_cast<std::uint32_t>(v.size()));
    b.append(v);
  };
  const std::int64_t closed_start = kDay + 8 * 3600 * kS, open_start = closed_start + 30 * kMin;
  Counts closed_counts;
  closed_counts.offered = 12;
  closed_counts.answered = 10;
  closed_counts.answered_in_threshold = 9;
  Counts open_counts;
  open_counts.offered = 3;
  pod(std::uint32_t{0x43434d53});
  pod(std::uint32_t{2});
  pod(static_cast<std::uint32_t>(sizeof(CountsV1)));  // the counts of that time
  for (int i = 0; i < 6; ++i) pod(std::uint64_t{0});  // ingest stats
  pod(std::uint32_t{0});                              // invalid reasons
  pod(std::uint32_t{1});                              // ledger entries
  str("default");
  str("s1");
  str("q");
  pod(closed_start);
  pod(int{30});
  str("2026-11-26");
  str("08:00");
  pod(Contract{});
  pod(OldLayout(closed_counts));
  for (int i = 0; i < 3; ++i) pod(std::uint8_t{1});
  pod(std::uint32_t{1});  // sites
  str("s1");
  pod(clock_.NowMs());          // last seen
  pod(open_start + 10 * kMin);  // watermark
  pod(std::int64_t{0});         // skew
  pod(std::uint64_t{0});        // backlog
  pod(std::uint64_t{0});        // dropped
  pod(std::uint32_t{0});        // heartbeat interval
  str("i1");
  str("0.1.0");
  pod(std::uint32_t{1});
  str("i1");
  pod(std::uint64_t{7});
  pod(std::uint32_t{1});  // queues
  str("q");
  pod(OldLayout(closed_counts));  // total
  struct Bucket {
    std::int64_t minute = std::numeric_limits<std::int64_t>::min();
    CountsV1 counts;
    std::uint64_t mos_milli_sum = 0, mos_samples = 0;
  };
  for (int i = 0; i < 60; ++i) pod(Bucket{});
  pod(std::int64_t{0});  // today's day
  pod(CountsV1{});
  pod(std::uint32_t{1});  // open intervals
  pod(open_start);
  pod(OldLayout(open_counts));
  for (int h = 0; h < 3; ++h) {  // histograms with no bounds (ignored: bounds differ)
    pod(std::uint32_t{0});
    pod(std::uint64_t{0});
    pod(std::uint64_t{0});
  }
  pod(std::uint32_t{0});  // waiting
  pod(std::uint64_t{1});  // ledger met
  pod(std::uint64_t{0});
  pod(std::array<std::uint64_t, kAgentStateCount>{});
  pod(std::uint32_t{0});  // abandoned
  pod(std::uint32_t{0});  // agents
  pod(std::uint32_t{0});  // links

  Make();
  std::string err;
  ASSERT_TRUE(engine_->LoadLegacyState(b, &err)) << err;
  EXPECT_EQ(engine_->LastApplied("s1", "i1"), 7u);
  const auto drained = engine_->DrainLedger();
  ASSERT_EQ(drained.size(), 1u);
  EXPECT_EQ(drained[0].start_ms, closed_start);
  EXPECT_EQ(drained[0].counts, closed_counts);
  EXPECT_EQ(drained[0].revision, 1u);
  // The open interval is still open, and takes the next event of its interval.
  EXPECT_EQ(engine_->Ledger("", "").size(), 1u);
  CallEvent c;
  c.kind = CallKind::kOffered;
  c.queue = "q";
  ASSERT_EQ(engine_->Apply("s1", "i1", Event{8, open_start + kMin, c}).kind,
            ApplyResult::Kind::kAccepted);
  // The site's clock passes the open row: it closes with the old and the new offer.
  clock_.Set(open_start + 2 * 3600 * kS);
  engine_->Tick();
  const auto rows = engine_->Ledger("", "");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].start_ms, open_start);
  EXPECT_EQ(rows[1].counts.offered, 4u);
}

// A version 3 checkpoint of the counter layout before `lost` and the unknown-wait counters
// (the previous build's) loads: every count lands in its field (each has its own value), the
// new ones start at 0, and the state goes on counting and saves in the current layout.
TEST_F(EngineTest, ACheckpointOfThePreviousCounterLayoutLoads) {
  std::string b;
  auto pod = [&](const auto& v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); };
  auto str = [&](std::string_view v) {
    pod(static_cast<std::uint32_t>(v.size()));
    b.append(v);
  };
  const std::int64_t now = clock_.NowMs();  // 10:00 UTC
  const std::int64_t closed_start = kDay + 8 * 3600 * kS, open_start = kDay + 9 * 3600 * kS;
  const Counts total = Distinct(1000), today = Distinct(2000), minute = Distinct(3000),
               closed = Distinct(4000);
  Counts open;
  open.offered = 3;
  pod(std::uint32_t{0x43434d53});
  pod(std::uint32_t{3});
  pod(static_cast<std::uint32_t>(sizeof(CountsV1)));
  for (int i = 0; i < 6; ++i) pod(std::uint64_t{0});  // ingest stats
  pod(std::uint32_t{0});                              // invalid reasons
  for (int i = 0; i < 3; ++i) pod(std::uint64_t{0});  // anomalies, amendments, too old
  pod(std::uint32_t{1});                              // sites
  str("s1");
  pod(now);                     // last seen
  pod(open_start + 10 * kMin);  // event watermark
  pod(open_start + 10 * kMin);  // close watermark
  pod(std::int64_t{0});         // skew
  pod(std::uint64_t{0});        // backlog
  pod(std::uint64_t{0});        // dropped
  pod(std::uint32_t{0});        // heartbeat interval
  str("i1");
  str("0.1.0");
  pod(std::uint32_t{1});  // instances
  str("i1");
  pod(std::uint64_t{7});
  pod(open_start + 10 * kMin);
  pod(std::array<std::int64_t, 8>{});
  pod(std::uint32_t{0});
  pod(std::uint64_t{0});
  pod(std::uint32_t{1});  // queues
  str("q");
  pod(OldLayout(total));
  struct Bucket {
    std::int64_t minute = std::numeric_limits<std::int64_t>::min();
    CountsV1 counts;
    std::uint64_t mos_milli_sum = 0, mos_samples = 0;
  };
  const std::int64_t m = now / kMin - 2;  // two minutes ago: in every window
  for (std::int64_t i = 0; i < 60; ++i) {
    Bucket bucket;
    if (i == m % 60) {
      bucket.minute = m;
      bucket.counts = OldLayout(minute);
      bucket.mos_milli_sum = 4000;
      bucket.mos_samples = 1;
    }
    pod(bucket);
  }
  pod(now / (24 * 3600 * kS));  // today (UTC site)
  pod(OldLayout(today));
  pod(std::uint32_t{2});  // rows
  for (const auto& [start, counts, flags] : {std::tuple{closed_start, closed, std::uint8_t{1}},
                                             std::tuple{open_start, open, std::uint8_t{0}}}) {
    pod(start);
    pod(OldLayout(counts));
    pod(std::uint64_t{0});                                         // late
    pod(std::uint64_t{0});                                         // rebuilt
    pod(std::uint64_t{0});                                         // pending late
    pod(flags != 0 ? closed_start + 35 * kMin : std::int64_t{0});  // closed
    pod(flags != 0 ? closed_start + 35 * kMin : std::int64_t{0});  // changed
    pod(std::uint32_t{flags});                                     // revision
    pod(flags);
  }
  for (int h = 0; h < 3; ++h) {  // histograms with no bounds (ignored: bounds differ)
    pod(std::uint32_t{0});
    pod(std::uint64_t{0});
    pod(std::uint64_t{0});
  }
  pod(std::uint32_t{0});  // waiting
  pod(std::uint64_t{1});  // ledger met
  pod(std::uint64_t{0});
  pod(std::array<std::uint64_t, kAgentStateCount>{});
  pod(std::uint32_t{0});  // abandoned
  pod(std::uint32_t{0});  // agents
  pod(std::uint32_t{0});  // links

  Make();
  std::string err;
  // Cut anywhere, it is refused as damaged.
  EXPECT_FALSE(engine_->LoadLegacyState(b.substr(0, b.size() / 2), &err));
  EXPECT_NE(err.find("truncated or damaged"), std::string::npos) << err;
  ASSERT_TRUE(engine_->LoadLegacyState(b, &err)) << err;
  EXPECT_EQ(engine_->LastApplied("s1", "i1"), 7u);
  const std::size_t lost = static_cast<std::size_t>(UnansweredReason::kLost);
  const auto rows = engine_->Ledger("", "");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].start_ms, closed_start);
  EXPECT_EQ(rows[0].counts, closed);
  EXPECT_EQ(rows[0].counts.unanswered[static_cast<std::size_t>(UnansweredReason::kWithdraw)],
            4010u);
  EXPECT_EQ(rows[0].counts.completed, 4011u);
  EXPECT_EQ(rows[0].counts.ready_ms, 4019u);
  EXPECT_EQ(rows[0].counts.unanswered[lost], 0u);
  EXPECT_EQ(rows[0].counts.answered_wait_unknown, 0u);
  EXPECT_EQ(rows[0].counts.abandoned_wait_unknown, 0u);
  const Snapshot s = engine_->TakeSnapshot();
  const QueueView& q = Queue(s, "s1", "q");
  EXPECT_EQ(q.total, total);
  EXPECT_EQ(q.windows[0], minute);  // 15m
  EXPECT_EQ(q.windows[3], today);
  ASSERT_TRUE(q.mos_5m.has_value());
  EXPECT_DOUBLE_EQ(*q.mos_5m, 4.0);

  // It counts on: an abandon of unknown wait in the open row, which then closes.
  CallEvent c;
  c.kind = CallKind::kAbandoned;
  c.queue = "q";
  c.call_id = "x";
  c.wait_unknown = true;
  ASSERT_EQ(engine_->Apply("s1", "i1", Event{8, open_start + 20 * kMin, c}).kind,
            ApplyResult::Kind::kAccepted);
  clock_.Set(open_start + 2 * 3600 * kS);
  engine_->Tick();
  const auto after = engine_->Ledger("", "");
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[1].start_ms, open_start);
  EXPECT_EQ(after[1].counts.offered, 3u);
  EXPECT_EQ(after[1].counts.abandoned, 1u);
  EXPECT_EQ(after[1].counts.abandoned_wait_unknown, 1u);
  // Saved again, in the current layout, it reads back the same.
  Engine again(CoreConfig{}, clock_);
  ASSERT_TRUE(again.ImportState(engine_->ExportState(), &err)) << err;
  EXPECT_EQ(again.Ledger("", "")[1].counts, after[1].counts);
  EXPECT_EQ(Queue(again.TakeSnapshot(), "s1", "q").total,
            Queue(engine_->TakeSnapshot(), "s1", "q").total);

  // A counter layout of neither size is refused, naming it.
  std::string odd = b;
  const std::uint32_t size = 168;
  std::memcpy(odd.data() + 8, &size, sizeof size);
  EXPECT_FALSE(again.LoadLegacyState(odd, &err));
  EXPECT_NE(err.find("counter layout (168 bytes"), std::string::npos) << err;
}

}  // namespace
}  // namespace ccmon::collector
