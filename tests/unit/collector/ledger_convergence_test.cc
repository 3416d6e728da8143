// The ledger converges to the truth whatever the arrival: a seeded site day is fed through
// the engine the hard way (lines out of order, one call stamped 50 minutes ahead, a second
// agent instance lagging 40 minutes, a 7-hour dark spell followed by the spool's replay), its
// drained rows are written to a real (in-memory) SQLite ledger store as the collector does,
// and every stored row must equal a per-interval recomputation written here from the calls'
// own timestamps. Rows the watermark had closed too early carry revisions and an audit trail;
// none is duplicated; the early clock glitch closes nothing early.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "ccmon/collector/engine.h"
#include "storage/ledger_store.h"

namespace ccmon::collector {
namespace {

constexpr std::int64_t kS = 1000;
constexpr std::int64_t kMin = 60 * kS;
constexpr std::int64_t kHour = 60 * kMin;
// 2026-11-26 00:00 in Manila (UTC+8, no DST) is 2026-11-25 16:00 UTC.
constexpr std::int64_t kManilaMidnight = 1795651200000 - 8 * kHour;

class FakeClock : public Clock {
 public:
  std::int64_t NowMs() const override { return now; }
  std::int64_t MonotonicMs() const override { return now; }
  std::int64_t now = 0;
};

// One line of the day as the PBX logged it: which agent instance reads it and when (its
// stamped time, which may be wrong: the recomputation uses it all the same).
struct Line {
  std::string instance;
  std::int64_t t = 0;
  CallKind kind = CallKind::kOffered;
  std::string queue;
  std::string call_id;
  std::uint32_t wait_ms = 0;
  std::uint32_t talk_ms = 0;
  UnansweredReason reason = UnansweredReason::kNone;
  std::int64_t written = 0;  // when the PBX wrote it (true time, give or take): stream order
};

// The recomputation: a 30-minute interval of Manila time, by arithmetic on the offset.
std::int64_t IntervalOf(std::int64_t t) {
  const std::int64_t local = t + 8 * kHour;
  return local - local % (30 * kMin) - 8 * kHour;
}

struct Truth {
  std::uint64_t offered = 0, answered = 0, ait = 0, abandoned = 0, abandoned_in = 0, short_ab = 0,
                timeout = 0, completed = 0, answered_wait = 0, abandoned_wait = 0, handle = 0;
};

std::vector<Line> SeededDay(std::mt19937& rng) {
  std::vector<Line> day;
  std::uniform_int_distribution<int> gap(20, 110), wait(0, 70), talk(60, 400), fate(0, 9);
  int n = 0;
  for (const auto& [queue, instance] : {std::pair{"billing", "pbx-a"}, {"support", "pbx-b"}}) {
    // 08:00 to 18:00 local.
    for (std::int64_t t = kManilaMidnight + 8 * kHour; t < kManilaMidnight + 18 * kHour;
         t += gap(rng) * kS) {
      const std::string id = std::string(queue) + "-" + std::to_string(++n);
      const auto w = static_cast<std::uint32_t>(wait(rng) * kS);
      day.push_back({instance, t, CallKind::kOffered, queue, id});
      const int f = fate(rng);
      if (f < 7) {
        const auto talk_ms = static_cast<std::uint32_t>(talk(rng) * kS);
        day.push_back({instance, t + w, CallKind::kAnswered, queue, id, w});
        day.push_back({instance, t + w + talk_ms, CallKind::kCompleted, queue, id, w, talk_ms});
      } else if (f < 9) {
        day.push_back({instance, t + w, CallKind::kAbandoned, queue, id, w});
      } else {
        day.push_back({instance, t + 600 * kS, CallKind::kUnanswered, queue, id, 600'000, 0,
                       UnansweredReason::kTimeout});
      }
    }
  }
  return day;
}

std::map<std::tuple<std::string, std::int64_t>, Truth> Recompute(const std::vector<Line>& day) {
  std::map<std::tuple<std::string, std::int64_t>, Truth> truth;
  for (const Line& l : day) {
    Truth& x = truth[{l.queue, IntervalOf(l.t)}];
    switch (l.kind) {
      case CallKind::kOffered:
        ++x.offered;
        break;
      case CallKind::kAnswered:
        ++x.answered;
        x.ait += l.wait_ms <= 20'000 ? 1 : 0;
        x.answered_wait += l.wait_ms;
        break;
      case CallKind::kAbandoned:
        ++x.abandoned;
        x.abandoned_in += l.wait_ms <= 20'000 ? 1 : 0;
        x.short_ab += l.wait_ms < 5'000 ? 1 : 0;
        x.abandoned_wait += l.wait_ms;
        break;
      case CallKind::kUnanswered:
        ++x.timeout;
        break;
      case CallKind::kCompleted:
        ++x.completed;
        x.handle += l.talk_ms;
        break;
      default:
        break;
    }
  }
  return truth;
}

TEST(LedgerConvergenceTest, RowsEqualTheRecomputationWhateverTheArrival) {
  std::mt19937 rng(20261126);
  std::vector<Line> day = SeededDay(rng);
  // A PBX clock glitch: every line of one billing call around 09:10 is stamped 50 min ahead.
  std::string glitched;
  for (const Line& l : day) {
    if (l.queue == "billing" && l.kind == CallKind::kOffered &&
        l.t >= kManilaMidnight + 9 * kHour + 10 * kMin) {
      glitched = l.call_id;
      break;
    }
  }
  for (Line& l : day) {
    if (l.call_id == glitched) l.t += 50 * kMin;
  }
  const auto truth = Recompute(day);

  // Each instance reads its lines in the order written: by true time, with neighbours up to
  // 90 s out of order (lines are written as events finish, not in stamp order).
  std::map<std::string, std::vector<Line>> streams;
  for (const Line& l : day) streams[l.instance].push_back(l);
  std::uniform_int_distribution<int> jitter(-90, 90);
  for (auto& [instance, lines] : streams) {
    for (Line& l : lines) {
      l.written = (l.call_id == glitched ? l.t - 50 * kMin : l.t) + jitter(rng) * kS;
    }
    std::stable_sort(lines.begin(), lines.end(),
                     [](const Line& a, const Line& b) { return a.written < b.written; });
  }

  CoreConfig cfg;
  cfg.sites.push_back({"manila", "Asia/Manila"});
  ClientConfig acme;
  acme.name = "acme";
  acme.queues.push_back({"billing", Contract{}, {}});
  acme.queues.push_back({"support", Contract{}, {}});
  cfg.clients.push_back(acme);
  FakeClock clock;
  clock.now = kManilaMidnight + 8 * kHour;
  Engine engine(cfg, clock);
  auto store = LedgerStore::Open(":memory:");
  ASSERT_TRUE(store.ok()) << store.status();
  auto flush = [&] {
    auto written = (*store)->Write(engine.DrainLedger());
    ASSERT_TRUE(written.ok()) << written.status();
  };
  std::map<std::string, std::uint64_t> seq;
  std::map<std::string, std::size_t> next;  // next line of each stream
  auto deliver = [&](const std::string& instance, std::int64_t through_ms) {
    auto& lines = streams[instance];
    std::size_t& i = next[instance];
    for (; i < lines.size() && lines[i].written <= through_ms; ++i) {
      const Line& l = lines[i];
      CallEvent c;
      c.kind = l.kind;
      c.queue = l.queue;
      c.call_id = l.call_id;
      c.wait_ms = l.wait_ms;
      c.talk_ms = l.talk_ms;
      c.reason = l.reason;
      const auto r = engine.Apply("manila", instance, Event{++seq[instance], l.t, c});
      ASSERT_EQ(r.kind, ApplyResult::Kind::kAccepted) << r.detail;
    }
  };
  auto heartbeat = [&](const std::string& instance) {
    Heartbeat hb;
    hb.agent_time_ms = clock.now;
    engine.Apply("manila", instance, Event{++seq[instance], clock.now, hb});
  };
  for (const char* i : {"pbx-a", "pbx-b"}) engine.OpenStream("manila", i, "test");

  // Live until 12:00: the collector's clock is the true time; pbx-b delivers 40 min late.
  const std::int64_t dark_from = kManilaMidnight + 12 * kHour;
  for (; clock.now < dark_from; clock.now += 30 * kS) {
    deliver("pbx-a", clock.now);
    deliver("pbx-b", clock.now - 40 * kMin);
    heartbeat("pbx-a");
    engine.Tick();
    flush();
  }
  // The site goes dark for 7 hours: streams drop, the PBXs keep logging into the spool.
  for (const char* i : {"pbx-a", "pbx-b"}) engine.CloseStream("manila", i);
  for (; clock.now < dark_from + 7 * kHour; clock.now += kMin) {
    engine.Tick();
    flush();
  }
  // Back: the spools replay everything logged since, then the day goes on live.
  for (const char* i : {"pbx-a", "pbx-b"}) engine.OpenStream("manila", i, "test");
  for (int burst = 0; burst < 20; ++burst) {
    deliver("pbx-a", clock.now);
    deliver("pbx-b", clock.now);
    heartbeat("pbx-a");
    engine.Tick();
    flush();
  }
  for (const char* i : {"pbx-a", "pbx-b"}) engine.CloseStream("manila", i);
  clock.now += 2 * kMin;  // idle: every row closes
  engine.Tick();
  flush();

  LedgerQuery all;
  auto rows = (*store)->Rows(all);
  ASSERT_TRUE(rows.ok()) << rows.status();
  // No duplicates: one row per (client, site, queue, start), and exactly the recomputed set.
  std::map<std::tuple<std::string, std::int64_t>, const LedgerRow*> stored;
  for (const LedgerRow& r : *rows) {
    EXPECT_EQ(r.client, "acme");
    EXPECT_EQ(r.site, "manila");
    EXPECT_TRUE(stored.emplace(std::tuple{r.queue, r.start_ms}, &r).second)
        << "duplicate row " << r.queue << " " << r.LocalStart();
  }
  ASSERT_EQ(stored.size(), truth.size());
  std::size_t amended = 0;
  for (const auto& [key, want] : truth) {
    const auto it = stored.find(key);
    ASSERT_NE(it, stored.end()) << std::get<0>(key) << " " << std::get<1>(key);
    const LedgerRow& r = *it->second;
    const Counts& c = r.counts;
    SCOPED_TRACE(r.queue + " " + r.LocalStart() + " revision " + std::to_string(r.revision));
    EXPECT_EQ(c.offered, want.offered);
    EXPECT_EQ(c.answered, want.answered);
    EXPECT_EQ(c.answered_in_threshold, want.ait);
    EXPECT_EQ(c.abandoned, want.abandoned);
    EXPECT_EQ(c.abandoned_in_threshold, want.abandoned_in);
    EXPECT_EQ(c.short_abandoned, want.short_ab);
    EXPECT_EQ(c.unanswered[static_cast<std::size_t>(UnansweredReason::kTimeout)], want.timeout);
    EXPECT_EQ(c.completed, want.completed);
    EXPECT_EQ(c.handled, want.completed);
    EXPECT_EQ(c.answered_wait_ms, want.answered_wait);
    EXPECT_EQ(c.abandoned_wait_ms, want.abandoned_wait);
    EXPECT_EQ(c.handle_ms, want.handle);
    EXPECT_EQ(r.LocalStart().substr(16), "+08:00");
    if (r.revision > 1) {
      ++amended;
      EXPECT_GT(r.late_events, 0u);
      // The audit trail: revisions 1..n, each with its reason.
      auto revs = (*store)->Revisions(r.client, r.site, r.queue, r.start_ms);
      ASSERT_TRUE(revs.ok());
      ASSERT_EQ(revs->size(), r.revision);
      for (std::size_t i = 0; i < revs->size(); ++i) {
        EXPECT_EQ((*revs)[i].row.revision, i + 1);
        EXPECT_FALSE((*revs)[i].reason.empty());
      }
      EXPECT_EQ(revs->back().row.counts, r.counts);
      EXPECT_EQ(revs->back().row.change, RowChange::kAmended);
      EXPECT_NE(revs->back().reason.find("late event"), std::string::npos) << revs->back().reason;
    }
    // Billing's morning rows: the glitched call moved no watermark, so they closed once, whole
    // (its own rows at +50 min were open anyway).
    if (r.queue == "billing" && r.start_ms < kManilaMidnight + 11 * kHour) {
      EXPECT_EQ(r.revision, 1u);
      EXPECT_EQ(r.late_events, 0u);
    }
    // Support's morning rows: pbx-b ran 40 min behind, past max_instance_lag (15 min), so the
    // site's close watermark (pbx-a's time) passed its rows before it sent them: they count as
    // late, and are written when pbx-b has caught up with them, once or twice each, not once
    // per batch it sent.
    if (r.queue == "support" && r.start_ms < kManilaMidnight + 11 * kHour + 30 * kMin) {
      EXPECT_GT(r.late_events, 0u);
      EXPECT_LE(r.revision, 2u);
    }
  }
  // The row of the interval the site went dark in was closed by the quiet and amended by the
  // replay.
  const LedgerRow* dark = stored.at({"billing", dark_from});
  EXPECT_EQ(dark->revision, 2u);
  EXPECT_GT(dark->late_events, 10u);
  EXPECT_GE(amended, 2u);
  EXPECT_GE(engine.TakeSnapshot().ingest.clock_anomaly, 2u);
}

}  // namespace
}  // namespace ccmon::collector
