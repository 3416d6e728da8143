// The engine's interval ledger: rows closed on the site's (or contract's) local clock, the
// day's closed intervals in the snapshot, and the same ledger from a replay as live.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>

#include "ccmon/collector/engine.h"
#include "engine_fixture.h"

namespace ccmon::collector {
namespace {

using namespace engine_fixture;  // NOLINT(google-build-using-namespace)

// The closed intervals of the contract's day so far, summed across the sites serving the
// queue: a liaison's per-interval table. Yesterday's rows and the open interval are not in it.
TEST_F(EngineTest, SnapshotHoldsTodaysClosedIntervalsAcrossSites) {
  CoreConfig cfg;
  cfg.sites.push_back({"pune", "Asia/Kolkata"});
  cfg.sites.push_back({"delhi", "Asia/Kolkata"});
  cfg.allowed_lateness_ms = 0;
  ClientConfig acme;
  acme.name = "acme";
  StatementTerms terms;
  terms.timezone = "Asia/Kolkata";
  terms.zone_named = true;
  acme.queues.push_back({"billing", Contract{}, terms});
  cfg.clients.push_back(acme);
  Make(cfg);
  // 18:20 UTC the day before = 23:50 IST: yesterday's last interval (23:30 IST).
  const std::int64_t yesterday = kDay - (5 * 60 + 40) * kMin;
  // 04:40 UTC = 10:10 IST: the 10:00 IST interval.
  const std::int64_t t = kDay + (4 * 60 + 40) * kMin;
  clock_.Set(yesterday);
  std::string instance = "yesterday";  // an agent of its own: a 10-hour jump is an anomaly
  auto call = [&](const char* site, std::int64_t at, CallKind k, const std::string& id,
                  std::uint32_t wait) {
    CallEvent c;
    c.kind = k;
    c.queue = "billing";
    c.call_id = id;
    c.wait_ms = wait;
    return engine_->Apply(site, instance + site, Event{++seq_, at, c});
  };
  call("pune", yesterday, CallKind::kOffered, "y", 0);
  call("pune", yesterday + kS, CallKind::kAnswered, "y", 1'000);
  instance = "today";
  clock_.Set(t);
  // pune: 2 offered, both answered within 20 s; delhi: 2 offered, 1 within, 1 after 40 s.
  for (const char* site : {"pune", "delhi"}) {
    for (int i = 0; i < 2; ++i) {
      const std::string id = std::string(site) + std::to_string(i);
      const bool slow = std::string(site) == "delhi" && i == 1;
      call(site, t, CallKind::kOffered, id, 0);
      call(site, t + 5 * kS, CallKind::kAnswered, id, slow ? 40'000 : 5'000);
    }
  }
  // Both sites' event time passes 10:30 IST: the 10:00 row closes; 10:30 stays open.
  const std::int64_t next = kDay + (5 * 60 + 5) * kMin;
  clock_.Set(next);
  // (Two calls each: one call far ahead of an agent's timeline is held as a possible glitch.)
  for (const char* id : {"next1", "next2"}) {
    call("pune", next, CallKind::kOffered, std::string("p-") + id, 0);
    call("delhi", next, CallKind::kOffered, std::string("d-") + id, 0);
  }
  const Snapshot s = engine_->TakeSnapshot();
  ASSERT_EQ(s.client_queues.size(), 1u);
  const auto& days = s.client_queues[0].closed_today;
  ASSERT_EQ(days.size(), 1u);
  EXPECT_EQ(days[0].local_start, "10:00");
  EXPECT_EQ(days[0].start_ms, kDay + (4 * 60 + 30) * kMin);
  EXPECT_EQ(days[0].counts.offered, 4u);
  EXPECT_EQ(days[0].counts.answered_in_threshold, 3u);
}

// The hour an autumn night repeats (New York, 2026-11-01: 01:00-02:00 EDT, then 01:00-02:00
// EST): its intervals share their local start, so each carries its UTC offset from the moment
// it closes (a label is never renamed) and no two series of the client row share one. The
// other intervals keep plain HH:MM.
TEST_F(EngineTest, TheRepeatedHourOfADstNightIsLabelledWithItsOffsets) {
  CoreConfig cfg;
  cfg.default_timezone = "America/New_York";  // the contract's day zone
  cfg.sites.push_back({"nyc", "America/New_York"});
  cfg.allowed_lateness_ms = 0;
  ClientConfig acme;
  acme.name = "acme";
  acme.queues.push_back({"billing", Contract{}, {}});
  cfg.clients.push_back(acme);
  // 2026-11-01 05:00 UTC = 01:00 EDT; 06:00 UTC = 01:00 EST.
  const std::int64_t edt_one = kDay - 25 * 24 * 3600 * kS + 5 * 3600 * kS;
  clock_.Set(edt_one - 3600 * kS);
  Make(cfg);
  auto offered = [&](std::int64_t at) {
    clock_.Set(at);
    Offered("nyc", "billing", at);
  };
  auto labels_now = [&] {
    const Snapshot snap = engine_->TakeSnapshot();
    std::vector<std::string> labels;
    for (const auto& iv : snap.client_queues.at(0).closed_today) labels.push_back(iv.local_start);
    return labels;
  };
  // 00:40 EDT, 01:10 EDT, then 01:40 EDT twice: the 01:00 EDT interval closes before the
  // night repeats it, already with its offset.
  for (std::int64_t m : {-20, 10, 40, 41}) offered(edt_one + m * kMin);
  EXPECT_EQ(labels_now(), (std::vector<std::string>{"00:30", "01:00 UTC-04:00"}));
  // 01:10 EST, 02:10 EST; then 03:10 EST closes them all.
  for (std::int64_t m : {70, 130, 190, 191}) offered(edt_one + m * kMin);
  const Snapshot s = engine_->TakeSnapshot();
  ASSERT_EQ(s.client_queues.size(), 1u);
  std::vector<std::string> labels;
  for (const auto& iv : s.client_queues[0].closed_today) labels.push_back(iv.local_start);
  EXPECT_EQ(labels, (std::vector<std::string>{"00:30", "01:00 UTC-04:00", "01:30 UTC-04:00",
                                              "01:00 UTC-05:00", "02:00"}));
}

// A day's last interval closes after midnight: the day's series stay until the new day's
// first interval can have closed (its end plus the allowed lateness), so the last one shows
// for a whole interval before they give way to the new day's.
TEST_F(EngineTest, TheLastIntervalOfADayShowsUntilTheNextDaysFirstCanClose) {
  CoreConfig cfg;
  cfg.allowed_lateness_ms = 2 * kMin;  // the default zone and the site's: UTC
  clock_.Set(kDay - 40 * kMin);
  Make(cfg);
  auto labels_at = [&](std::int64_t at) {
    clock_.Set(at);
    Offered("s1", "billing", at);  // moves the site's event time, closing what is due
    const Snapshot snap = engine_->TakeSnapshot();
    std::vector<std::string> labels;
    for (const auto& iv : snap.client_queues.at(0).closed_today) labels.push_back(iv.local_start);
    return labels;
  };
  labels_at(kDay - 40 * kMin);  // 23:20: the 23:00 interval
  labels_at(kDay - 20 * kMin);  // 23:40: the 23:30 interval
  EXPECT_EQ(labels_at(kDay + 3 * kMin), (std::vector<std::string>{"23:00", "23:30"}));
  EXPECT_EQ(labels_at(kDay + 31 * kMin), (std::vector<std::string>{"23:00", "23:30"}));
  EXPECT_EQ(labels_at(kDay + 32 * kMin), (std::vector<std::string>{"00:00"}));
}

// With several sites, the day's series stay until the new day's first interval can have
// closed at each of them, by its own event time, so the last interval's figure is whole; a
// site lagging more than max_instance_lag (15 minutes) no longer holds them.
TEST_F(EngineTest, TheLastIntervalWaitsForEverySiteServingTheQueue) {
  CoreConfig cfg;
  cfg.allowed_lateness_ms = 2 * kMin;
  clock_.Set(kDay - 20 * kMin);
  Make(cfg);
  // Two calls at each step: a site's event time follows a jump once another call confirms it.
  auto two_calls = [&](const char* site, std::int64_t at) {
    Offered(site, "billing", at);
    Offered(site, "billing", at);
  };
  two_calls("a", kDay - 20 * kMin);  // 23:40
  two_calls("b", kDay - 20 * kMin);
  two_calls("b", kDay + 3 * kMin);   // b closes its 23:30
  two_calls("a", kDay + 10 * kMin);  // a closes its 23:30
  two_calls("a", kDay + 32 * kMin);  // and its 00:00
  auto intervals_at = [&](std::int64_t at) {
    clock_.Set(at);
    return engine_->TakeSnapshot().client_queues.at(0).closed_today;
  };
  const auto held = intervals_at(kDay + 32 * kMin);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].local_start, "23:30");
  EXPECT_EQ(held[0].counts.offered, 4u);
  // b lags 15 minutes past the point where its 00:00 could close (00:32): the new day shows.
  const auto still = intervals_at(kDay + 46 * kMin);
  ASSERT_EQ(still.size(), 1u);
  EXPECT_EQ(still[0].local_start, "23:30");
  EXPECT_EQ(still[0].counts.offered, 4u);
  const auto moved = intervals_at(kDay + 48 * kMin);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].local_start, "00:00");
  EXPECT_EQ(moved[0].counts.offered, 2u);  // a's; b's calls wait in its open row
}

// A contract that names no zone reads its days in the collector's default_timezone, so its
// interval series do too, even when every site serving it is in another zone (the ledger
// rows still follow the sites' clock: 10:00 IST is 04:30 UTC). A queue no client configures
// is read the same way.
TEST_F(EngineTest, IntervalsOfAContractWithoutAZoneAreLabelledInTheDefaultZone) {
  CoreConfig cfg;
  cfg.sites.push_back({"pune", "Asia/Kolkata"});
  cfg.sites.push_back({"delhi", "Asia/Kolkata"});
  cfg.allowed_lateness_ms = 0;  // default_timezone: UTC
  ClientConfig acme;
  acme.name = "acme";
  acme.queues.push_back({"billing", Contract{}, {}});
  cfg.clients.push_back(acme);
  const std::int64_t t = kDay + (4 * 60 + 40) * kMin;  // 10:10 IST
  clock_.Set(t);
  Make(cfg);
  Offered("pune", "billing", t);
  Offered("delhi", "billing", t);
  Offered("pune", "unlisted", t);
  const std::int64_t later = kDay + (5 * 60 + 10) * kMin;
  clock_.Set(later);
  for (const char* site : {"pune", "delhi", "pune", "delhi"}) Offered(site, "billing", later);
  const Snapshot s = engine_->TakeSnapshot();
  ASSERT_EQ(s.client_queues.size(), 2u);
  for (const QueueView& row : s.client_queues) {
    ASSERT_EQ(row.closed_today.size(), 1u) << row.queue;
    EXPECT_EQ(row.closed_today[0].local_start, "04:30") << row.queue;
    EXPECT_EQ(row.closed_today[0].counts.offered, row.queue == "billing" ? 2u : 1u);
  }
}

// Under a contract that names no zone, each site's intervals follow its own clock, and the
// client row labels them in the zone the contract's days are read in (the collector's
// default, here UTC), as statements do; intervals that start at the same instant add up
// under one label.
TEST_F(EngineTest, ClientIntervalsOfSitesInSeveralZonesAreLabelledInTheDefaultZone) {
  CoreConfig cfg;
  cfg.sites.push_back({"manila", "Asia/Manila"});  // UTC+08:00
  cfg.sites.push_back({"pune", "Asia/Kolkata"});   // UTC+05:30
  cfg.allowed_lateness_ms = 0;
  ClientConfig acme;
  acme.name = "acme";
  acme.queues.push_back({"billing", Contract{}, {}});
  cfg.clients.push_back(acme);
  const std::int64_t t = kDay + (4 * 60 + 40) * kMin;  // 04:40 UTC: 12:40 PHT, 10:10 IST
  clock_.Set(t);
  Make(cfg);
  Offered("manila", "billing", t);
  Offered("pune", "billing", t);
  Offered("pune", "billing", t);
  const std::int64_t later = kDay + (5 * 60 + 10) * kMin;  // both sites past 05:00 UTC
  clock_.Set(later);
  for (const char* site : {"manila", "pune", "manila", "pune"}) Offered(site, "billing", later);
  const Snapshot s = engine_->TakeSnapshot();
  ASSERT_EQ(s.client_queues.size(), 1u);
  const auto& days = s.client_queues[0].closed_today;
  ASSERT_EQ(days.size(), 1u);
  EXPECT_EQ(days[0].local_start, "04:30");
  EXPECT_EQ(days[0].start_ms, kDay + (4 * 60 + 30) * kMin);
  EXPECT_EQ(days[0].counts.offered, 3u);
}

// A client row's "today" is the day its contract is read in (here the collector's default,
// UTC), as its interval table and statements are, not each site's own day. At 19:30 UTC on
// the 26th both sites are in the 27th: the client row holds the UTC day's three calls and
// the agent's 3.5 ready hours, while each site row holds only its own new day.
TEST_F(EngineTest, AClientRowsTodayIsTheDayItsContractIsReadIn) {
  CoreConfig cfg;
  cfg.sites.push_back({"manila", "Asia/Manila"});  // UTC+08:00
  cfg.sites.push_back({"pune", "Asia/Kolkata"});   // UTC+05:30
  ClientConfig acme;
  acme.name = "acme";
  acme.queues.push_back({"billing", Contract{}, {}});
  cfg.clients.push_back(acme);
  constexpr std::int64_t kHour = 60 * kMin;
  clock_.Set(kDay + 12 * kHour);
  Make(cfg);
  auto agent = [&](std::int64_t t, AgentState state) { return AnnInBilling("manila", t, state); };
  agent(kDay + 12 * kHour, AgentState::kReady);                  // 20:00 PHT on the 26th
  Offered("manila", "billing", kDay + 15 * kHour);               // 23:00 PHT on the 26th
  agent(kDay + 15 * kHour + 30 * kMin, AgentState::kLoggedOut);  // 23:30 PHT on the 26th
  Offered("pune", "billing", kDay + 19 * kHour);                 // 00:30 IST on the 27th
  Offered("manila", "billing", kDay + 19 * kHour);               // 03:00 PHT on the 27th
  clock_.Set(kDay + 19 * kHour + 30 * kMin);
  const Snapshot s = engine_->TakeSnapshot();
  ASSERT_EQ(s.client_queues.size(), 1u);
  const Counts& client_today = s.client_queues[0].windows[kTodayWindow];
  EXPECT_EQ(client_today.offered, 3u);
  EXPECT_EQ(client_today.ready_ms, static_cast<std::uint64_t>(3 * kHour + 30 * kMin));
  const Counts& manila_today = Queue(s, "manila", "billing").windows[kTodayWindow];
  EXPECT_EQ(manila_today.offered, 1u);
  EXPECT_EQ(manila_today.ready_ms, 0u);
  EXPECT_EQ(Queue(s, "pune", "billing").windows[kTodayWindow].offered, 1u);
  // The rolling windows still add up the site rows: the last hour holds the two 19:00 calls.
  EXPECT_EQ(s.client_queues[0].windows[2].offered, 2u);
}

// The contract's day survives a checkpoint; a checkpoint that did not keep it (an older
// build's) sums the day's calls again from the ledger rows.
TEST_F(EngineTest, AClientRowsTodayComesBackFromACheckpointOrFromTheRows) {
  CoreConfig cfg;
  cfg.sites.push_back({"manila", "Asia/Manila"});
  constexpr std::int64_t kHour = 60 * kMin;
  clock_.Set(kDay + 15 * kHour);
  Make(cfg);
  Offered("manila", "billing", kDay + 15 * kHour);  // 23:00 PHT on the 26th
  Offered("manila", "billing", kDay + 16 * kHour);  // 00:00 PHT on the 27th
  Offered("manila", "billing", kDay + 17 * kHour);
  clock_.Set(kDay + 18 * kHour);
  EngineState state = engine_->ExportState();
  ASSERT_EQ(state.sites.size(), 1u);
  ASSERT_EQ(state.sites[0].queues.size(), 1u);
  EXPECT_EQ(state.sites[0].queues[0].contract_today.offered, 3u);
  EXPECT_EQ(state.sites[0].queues[0].today.offered, 2u);
  auto client_today = [&](const EngineState& from) {
    Engine restored(cfg, clock_);
    std::string err;
    EXPECT_TRUE(restored.ImportState(from, &err)) << err;
    const Snapshot s = restored.TakeSnapshot();
    EXPECT_EQ(s.client_queues.size(), 1u);
    return s.client_queues.empty() ? Counts{} : s.client_queues[0].windows[kTodayWindow];
  };
  state.sites[0].queues[0].contract_today.ready_ms = 5 * kMin;  // kept only by the checkpoint
  EXPECT_EQ(client_today(state).offered, 3u);
  EXPECT_EQ(client_today(state).ready_ms, static_cast<std::uint64_t>(5 * kMin));
  EngineState other_zone = state;  // the contract's zone has changed since
  other_zone.sites[0].queues[0].contract_zone = "America/New_York";
  EXPECT_EQ(client_today(other_zone).offered, 3u);
  EXPECT_EQ(client_today(other_zone).ready_ms, 0u);
  state.sites[0].queues[0].contract_day = EngineState::kNever;
  state.sites[0].queues[0].contract_today = {};
  state.sites[0].queues[0].contract_zone.clear();
  EXPECT_EQ(client_today(state).offered, 3u);
  EXPECT_EQ(client_today(state).ready_ms, 0u);
}

// A call stamped far ahead (a PBX glitch) is held off the site's timeline. When the site then
// stays quiet for longer than clock_anomaly and its next real call confirms a jump, the
// timeline moves to that call, not to the glitch: only the rows whose interval is over close.
TEST_F(EngineTest, AQuietSpellAfterAGlitchedCallMovesTheTimelineToTheNextRealCall) {
  Make();
  const std::int64_t now = clock_.NowMs();  // 10:00 UTC; 30-minute rows, 5 minutes' lateness
  constexpr std::int64_t kHour = 60 * kMin;
  Call(now - 20 * kMin, CallKind::kOffered, "q", "a");
  Call(now + 20 * kHour, CallKind::kOffered, "q", "glitch");
  Call(now + 20 * kHour + kMin, CallKind::kAnswered, "q", "glitch");
  clock_.Set(now + 15 * kMin);
  Call(now + 15 * kMin, CallKind::kOffered, "q", "b");
  std::vector<std::int64_t> closed;
  for (const LedgerRow& r : engine_->DrainLedger()) closed.push_back(r.start_ms);
  EXPECT_EQ(closed, std::vector<std::int64_t>{now - 30 * kMin});  // 09:30 only, not 10:00
  EXPECT_EQ(engine_->TakeSnapshot().ingest.clock_anomaly, 2u);    // the glitch's two lines
}

// The lines that follow a glitched call carry its time too: a member's ring attempt, the
// agent going on the call, her call end and wrap-up (as the queue_log reader emits them), a
// voice sample. None of them confirms the jump, so no row closes on it; the site's next line
// on its own time counts the call's held lines as clock anomalies.
TEST_F(EngineTest, TheLinesThatFollowAGlitchedCallDoNotConfirmItsTime) {
  Make();
  const std::int64_t now = clock_.NowMs();  // 10:00 UTC
  constexpr std::int64_t kHour = 60 * kMin;
  Call(now - 20 * kMin, CallKind::kOffered, "q", "a");
  const std::int64_t ahead = now + 20 * kHour;
  Call(ahead, CallKind::kOffered, "q", "glitch");
  Call(ahead + 10 * kS, CallKind::kRingNoAnswer, "q", "glitch");
  Call(ahead + kMin, CallKind::kAnswered, "q", "glitch");
  State(ahead + kMin, "ann", AgentState::kOnCall, "q");  // as a JSONL source sends it
  State(ahead + 5 * kMin, "ann", AgentState::kReady, "q", kReasonCallEnd);
  State(ahead + 5 * kMin, "ann", AgentState::kAfterCallWork, "q", kReasonWrapup);
  State(ahead + 6 * kMin, "ann", AgentState::kReady, "q", kReasonWrapupEnd);
  VoiceQuality v;
  v.queue = "q";
  v.call_id = "glitch";
  v.mos = 4.1;
  engine_->Apply("s1", "i1", Event{++seq_, ahead + 5 * kMin, v});
  EXPECT_TRUE(engine_->DrainLedger().empty());
  Call(now - 10 * kMin, CallKind::kOffered, "q", "b");
  EXPECT_TRUE(engine_->DrainLedger().empty());
  EXPECT_EQ(engine_->TakeSnapshot().ingest.clock_anomaly, 2u);  // the offer and the answer
}

// Calls stamped in a later day (a PBX clock's glitch, within limits.max_future) start that
// day without wiping the day still running: the site and client rows' "today" keep counting
// the running day, each by its own calendar, until the clock reaches the next, and a call of
// a day older than both is not counted. So after a checkpoint, and after a restore that sums
// the client's days again from the ledger rows; then the next day shows, holding the early
// calls. A damaged checkpoint's days are put back in order.
TEST_F(EngineTest, ACallStampedInALaterDayLeavesTheRunningDaysToday) {
  CoreConfig cfg;
  cfg.sites.push_back({"manila", "Asia/Manila"});  // UTC+08:00; the contract reads UTC days
  ClientConfig acme;
  acme.name = "acme";
  acme.queues.push_back({"billing", Contract{}, {}});
  cfg.clients.push_back(acme);
  constexpr std::int64_t kHour = 60 * kMin;
  clock_.Set(kDay + 2 * kHour);  // 10:00 PHT, 02:00 UTC on the 26th
  Make(cfg);
  auto agent = [&](std::int64_t t, AgentState state) { return AnnInBilling("manila", t, state); };
  Offered("manila", "billing", kDay + 1 * kHour);
  agent(kDay + 1 * kHour, AgentState::kReady);
  Offered("manila", "billing", kDay + 2 * kHour);
  Offered("manila", "billing", kDay + 17 * kHour);  // 01:00 PHT on the 27th, 17:00 UTC on the 26th
  Offered("manila", "billing", kDay + 25 * kHour);  // 09:00 PHT, 01:00 UTC on the 27th
  Offered("manila", "billing", kDay + 2 * kHour + 5 * kMin);
  Offered("manila", "billing", kDay - 9 * kHour);              // 23:00 PHT, 15:00 UTC on the 25th
  agent(kDay + 2 * kHour + 5 * kMin, AgentState::kLoggedOut);  // her hour counts in the 26th
  clock_.Set(kDay + 2 * kHour + 10 * kMin);
  using Today = std::pair<std::uint64_t, std::uint64_t>;  // site row, client row
  auto today = [&](const Engine& e) {
    const Snapshot s = e.TakeSnapshot();
    EXPECT_EQ(s.client_queues.size(), 1u);
    return Today(Queue(s, "manila", "billing").windows[kTodayWindow].offered,
                 s.client_queues.empty() ? 0 : s.client_queues[0].windows[kTodayWindow].offered);
  };
  EXPECT_EQ(today(*engine_), Today(3, 4));
  {
    const Snapshot s = engine_->TakeSnapshot();
    const auto ready = static_cast<std::uint64_t>(kHour + 5 * kMin);
    EXPECT_EQ(Queue(s, "manila", "billing").windows[kTodayWindow].ready_ms, ready);
    ASSERT_EQ(s.client_queues.size(), 1u);
    EXPECT_EQ(s.client_queues[0].windows[kTodayWindow].ready_ms, ready);
  }
  Engine restored(cfg, clock_);
  std::string err;
  ASSERT_TRUE(restored.ImportState(engine_->ExportState(), &err)) << err;
  EXPECT_EQ(today(restored), Today(3, 4));
  // As an older build wrote it: one site day (the later one the glitch started; that build
  // had dropped the running one), no contract days, which are summed again from the rows.
  EngineState without = engine_->ExportState();
  ASSERT_EQ(without.sites.size(), 1u);
  ASSERT_EQ(without.sites[0].queues.size(), 1u);
  EngineState::Queue& old = without.sites[0].queues[0];
  old.earlier_day = old.contract_day = old.contract_earlier_day = EngineState::kNever;
  old.earlier = old.contract_today = old.contract_earlier = {};
  Engine rebuilt(cfg, clock_);
  ASSERT_TRUE(rebuilt.ImportState(without, &err)) << err;
  EXPECT_EQ(today(rebuilt), Today(0, 4));
  clock_.Set(kDay + 25 * kHour + kMin);
  EXPECT_EQ(today(*engine_), Today(2, 1));
  EXPECT_EQ(today(restored), Today(2, 1));
  EXPECT_EQ(today(rebuilt), Today(2, 1));
  // A damaged checkpoint holding the site's days the wrong way round loads them in order: a
  // call stamped in the day after (00:01 PHT on the 28th) then pushes the 26th out, not the
  // running 27th.
  EngineState swapped = engine_->ExportState();
  EngineState::Queue& sq = swapped.sites[0].queues[0];
  std::swap(sq.today_day, sq.earlier_day);
  std::swap(sq.today, sq.earlier);
  Make(cfg);
  ASSERT_TRUE(engine_->ImportState(swapped, &err)) << err;
  EXPECT_EQ(today(*engine_), Today(2, 1));
  Offered("manila", "billing", kDay + 40 * kHour + kMin);
  EXPECT_EQ(today(*engine_), Today(2, 2));
}

// Under a contract that names no zone, a site's rows follow its own clock: with 60-minute
// intervals in India (UTC+05:30) the row of 05:00-06:00 IST runs 23:30-00:30 UTC and belongs
// to the UTC day it starts in, as in the interval series and the statement. Its calls after
// UTC midnight are not in the client row's new day; the next row's are.
TEST_F(EngineTest, AClientRowsDayHoldsTheCallsOfTheRowsItHolds) {
  CoreConfig cfg;
  cfg.sites.push_back({"pune", "Asia/Kolkata"});
  ClientConfig acme;
  acme.name = "acme";
  Contract hourly;
  hourly.interval_minutes = 60;
  acme.queues.push_back({"billing", hourly, {}});
  cfg.clients.push_back(acme);
  clock_.Set(kDay + 10 * kMin);
  Make(cfg);
  Offered("pune", "billing", kDay + 10 * kMin);  // 05:40 IST, in the row from 23:30 UTC
  Offered("pune", "billing", kDay + 35 * kMin);  // 06:05 IST, in the row from 00:30 UTC
  clock_.Set(kDay + 40 * kMin);
  const Snapshot s = engine_->TakeSnapshot();
  ASSERT_EQ(s.client_queues.size(), 1u);
  EXPECT_EQ(s.client_queues[0].windows[kTodayWindow].offered, 1u);
  EXPECT_EQ(Queue(s, "pune", "billing").windows[kTodayWindow].offered, 2u);
}

TEST_F(EngineTest, LedgerClosesIntervalsInTheSiteTimeZone) {
  CoreConfig cfg;
  cfg.sites.push_back({"pune", "Asia/Kolkata"});  // UTC+05:30
  cfg.allowed_lateness_ms = 2 * kMin;
  ClientConfig acme;
  acme.name = "acme";
  acme.queues.push_back({"billing", Contract{}, {}});
  cfg.clients.push_back(acme);
  Make(cfg);
  // 04:40 UTC = 10:10 IST: in the 10:00-10:30 IST interval, which is 04:30-05:00 UTC.
  const std::int64_t t = kDay + (4 * 60 + 40) * kMin;
  clock_.Set(t);
  auto call = [&](std::int64_t at, CallKind k, const char* id, std::uint32_t wait) {
    CallEvent c;
    c.kind = k;
    c.queue = "billing";
    c.call_id = id;
    c.wait_ms = wait;
    return engine_->Apply("pune", "i1", Event{++seq_, at, c});
  };
  // 5 calls: 4 answered (3 within 20 s), 1 abandoned after 30 s.
  for (const char* id : {"a", "b", "c", "d", "e"}) call(t, CallKind::kOffered, id, 0);
  call(t + 5 * kS, CallKind::kAnswered, "a", 5'000);
  call(t + 10 * kS, CallKind::kAnswered, "b", 10'000);
  call(t + 15 * kS, CallKind::kAnswered, "c", 15'000);
  call(t + 40 * kS, CallKind::kAnswered, "d", 40'000);
  call(t + 30 * kS, CallKind::kAbandoned, "e", 30'000);
  EXPECT_TRUE(engine_->Ledger("acme", "2026-11-26").empty());
  // Event time reaches 05:01 UTC: past the interval end but within the 2 min lateness.
  const std::int64_t end = kDay + 5 * 60 * kMin;
  call(end + 1 * kMin, CallKind::kOffered, "f", 0);
  EXPECT_TRUE(engine_->Ledger("acme", "2026-11-26").empty());
  // A late answer for the open interval still counts in it.
  call(end - 1 * kS, CallKind::kOffered, "g", 0);
  call(end + 3 * kMin, CallKind::kOffered, "h", 0);  // watermark passes end + lateness
  const auto rows = engine_->Ledger("acme", "2026-11-26");
  ASSERT_EQ(rows.size(), 1u);
  const LedgerRow& r = rows[0];
  EXPECT_EQ(r.site, "pune");
  EXPECT_EQ(r.LocalTime(), "10:00");
  EXPECT_EQ(r.LocalStart(), "2026-11-26T10:00+05:30");
  EXPECT_EQ(r.start_ms, kDay + (4 * 60 + 30) * kMin);
  EXPECT_EQ(r.counts.offered, 6u);
  EXPECT_EQ(r.counts.answered, 4u);
  EXPECT_EQ(r.counts.answered_in_threshold, 3u);
  // standard SL = 3 / (4 + 1) = 60% < 80%: missed. Abandon 1/6 > 5%: missed. ASA 17.5 s: met.
  EXPECT_EQ(r.SlResult(), Judgement::kMissed);
  EXPECT_EQ(r.AbandonResult(), Judgement::kMissed);
  EXPECT_EQ(r.AsaResult(), Judgement::kMet);
  const auto first = engine_->DrainLedger();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].revision, 1u);
  EXPECT_EQ(first[0].change, RowChange::kClosed);
  // An outcome for the closed interval now is late: it amends the row (revision 2).
  call(end - 2 * kMin, CallKind::kOffered, "late", 0);
  EXPECT_EQ(engine_->TakeSnapshot().ingest.late, 1u);
  EXPECT_EQ(engine_->Ledger("acme", "2026-11-26")[0].counts.offered, 7u);
  const auto amended = engine_->DrainLedger();
  ASSERT_EQ(amended.size(), 1u);
  EXPECT_EQ(amended[0].revision, 2u);
  EXPECT_EQ(amended[0].change, RowChange::kAmended);
  EXPECT_EQ(amended[0].change_events, 1u);
  EXPECT_EQ(amended[0].late_events, 1u);
  EXPECT_EQ(amended[0].counts.offered, 7u);
  EXPECT_TRUE(engine_->DrainLedger().empty());
  // The live counter counts first closes: the row's judgement at close.
  EXPECT_EQ(Queue(engine_->TakeSnapshot(), "pune", "billing").ledger_missed, 1u);
  EXPECT_TRUE(engine_->Ledger("other", "2026-11-26").empty());
}

// One offered call at `at_ms` at `site`, then a heartbeat an hour later closes its interval;
// returns the interval's ledger row.
struct AlignCase {
  const char* site;
  const char* tz;
  int interval_minutes;
  std::int64_t at_ms;
  std::int64_t want_start_ms;
  const char* want_local_start;
  const char* want_local_date;
};

class IntervalAlignmentTest : public ::testing::TestWithParam<AlignCase> {};

TEST_P(IntervalAlignmentTest, StartsOnTheSiteLocalClock) {
  const AlignCase& c = GetParam();
  CoreConfig cfg;
  cfg.sites.push_back({c.site, c.tz});
  cfg.default_contract.interval_minutes = c.interval_minutes;
  FakeClock clock(c.at_ms);
  Engine e(cfg, clock);
  CallEvent call;
  call.kind = CallKind::kOffered;
  call.queue = "q";
  e.Apply(c.site, "i", Event{1, c.at_ms, call});
  // An hour on with the PBX quiet: the site's clock has passed the row, which closes.
  clock.Set(c.at_ms + 3600 * kS);
  e.Tick();
  const auto rows = e.Ledger("", c.want_local_date);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].start_ms, c.want_start_ms);
  EXPECT_EQ(rows[0].LocalTime(), c.want_local_start);
  EXPECT_EQ(rows[0].length_minutes, c.interval_minutes);
}

INSTANTIATE_TEST_SUITE_P(
    Zones, IntervalAlignmentTest,
    ::testing::Values(
        // Manila, UTC+8 all year: 01:47 UTC is 09:47 local, interval 09:30 = 01:30 UTC.
        AlignCase{"manila", "Asia/Manila", 30, 1795657620000, 1795656600000, "09:30", "2026-11-26"},
        // Bogota, UTC-5: 15:10 UTC is 10:10 local, interval 10:00 = 15:00 UTC.
        AlignCase{"bogota", "America/Bogota", 30, 1795705800000, 1795705200000, "10:00",
                  "2026-11-26"},
        // Pune, UTC+5:30, hourly intervals: 01:47 UTC is 07:17 IST, interval 07:00 = 01:30 UTC.
        AlignCase{"pune", "Asia/Kolkata", 60, 1795657620000, 1795656600000, "07:00", "2026-11-26"},
        // New York falls back on 2026-11-01 at 02:00 EDT: 01:00-01:30 happens twice.
        // 05:20 UTC is 01:20 EDT (UTC-4): interval 01:00 EDT = 05:00 UTC.
        AlignCase{"ny", "America/New_York", 30, 1793510400000, 1793509200000, "01:00",
                  "2026-11-01"},
        // 06:20 UTC is 01:20 EST (UTC-5): interval 01:00 EST = 06:00 UTC, same local label.
        AlignCase{"ny", "America/New_York", 30, 1793514000000, 1793512800000, "01:00",
                  "2026-11-01"},
        // Springs forward on 2026-03-08 at 02:00 EST: 07:10 UTC is 03:10 EDT, interval 03:00
        // EDT = 07:00 UTC; 06:50 UTC is 01:50 EST, interval 01:30 EST = 06:30 UTC.
        AlignCase{"ny", "America/New_York", 30, 1772953800000, 1772953200000, "03:00",
                  "2026-03-08"},
        AlignCase{"ny", "America/New_York", 30, 1772952600000, 1772951400000, "01:30",
                  "2026-03-08"}));

TEST_F(EngineTest, ReplayGivesTheSameLedgerAsLive) {
  // The same events, applied once in order and once in one batch long after, close into the
  // same ledger rows because closing follows event time, not arrival time.
  auto run = [&](std::int64_t clock_at_apply) {
    FakeClock clock(clock_at_apply);
    Engine e(CoreConfig{}, clock);
    std::uint64_t seq = 0;
    for (int i = 0; i < 120; ++i) {
      CallEvent c;
      c.kind = i % 3 == 2 ? CallKind::kAbandoned : CallKind::kAnswered;
      c.queue = "q";
      c.wait_ms = static_cast<std::uint32_t>((i * 7919) % 45'000);
      e.Apply("s", "i", Event{++seq, kDay + i * 2 * kMin, c});
    }
    // The PBX goes quiet: a minute on, rows the site's clock has passed close.
    clock.Advance(kMin);
    e.Tick();
    return e.Ledger("", "2026-11-26");
  };
  const auto live = run(kDay + 4 * 3600 * kS + 10 * kMin);
  const auto replay = run(kDay + 30 * 24 * 3600 * kS);
  ASSERT_EQ(live.size(), 8u);  // 4 h of calls in 30-min intervals
  ASSERT_EQ(replay.size(), live.size());
  for (std::size_t i = 0; i < live.size(); ++i) {
    EXPECT_EQ(live[i].start_ms, replay[i].start_ms);
    EXPECT_EQ(live[i].counts, replay[i].counts);
    EXPECT_EQ(live[i].SlResult(), replay[i].SlResult());
  }
}

}  // namespace
}  // namespace ccmon::collector
