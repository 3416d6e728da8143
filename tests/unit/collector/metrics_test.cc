#include "export/metrics.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "export/exposition.h"

namespace ccmon::collector {
namespace {

constexpr std::int64_t kNow = 1795687200000;  // 2026-11-26 10:00 UTC

// An engine with every kind of state, so every family is exported.
Snapshot FullSnapshot(FakeClock& clock) {
  Engine e(CoreConfig{}, clock);
  std::uint64_t seq = 0;
  auto call = [&](CallKind k, const char* id, std::uint32_t wait, std::int64_t t) {
    CallEvent c;
    c.kind = k;
    c.queue = "billing";
    c.call_id = id;
    c.agent = "ann";
    c.wait_ms = wait;
    c.talk_ms = 60'000;
    if (k == CallKind::kUnanswered) c.reason = UnansweredReason::kTimeout;
    e.Apply("s1", "i1", Event{++seq, t, c});
  };
  AgentStateEvent st;
  st.agent = "ann";
  st.queue = "billing";
  st.state = AgentState::kReady;
  e.Apply("s1", "i1", Event{++seq, kNow - 600'000, st});
  for (const char* id : {"a", "b", "c", "d"}) call(CallKind::kOffered, id, 0, kNow - 300'000);
  call(CallKind::kAnswered, "a", 12'000, kNow - 288'000);
  call(CallKind::kCompleted, "a", 12'000, kNow - 228'000);
  call(CallKind::kAbandoned, "b", 3'000, kNow - 297'000);
  call(CallKind::kUnanswered, "c", 60'000, kNow - 240'000);
  LinkSample l;
  l.link = "wan";
  l.rtt_ms = 40;
  e.Apply("s1", "i1", Event{++seq, kNow, l});
  LinkSample trunk;
  trunk.link = "carrier";
  trunk.kind = LinkKind::kSipTrunk;
  trunk.sip_status = 503;
  trunk.up = false;
  trunk.rtt_ms = 18;
  e.Apply("s1", "i1", Event{++seq, kNow, trunk});
  VoiceQuality v;
  v.queue = "billing";
  v.mos = 4.2;
  e.Apply("s1", "i1", Event{++seq, kNow, v});
  Heartbeat hb;
  hb.agent_time_ms = kNow;
  e.Apply("s1", "i1", Event{++seq, kNow, hb});
  e.Apply("s1", "i1", Event{++seq, kNow + 25 * 3600'000LL, hb});  // future: invalid, counted
  // Close an interval so the ledger counters have a value.
  call(CallKind::kOffered, "e", 0, kNow + 600'000);
  e.Tick();
  return e.TakeSnapshot();
}

// What /metrics serves.
std::string Render(const Snapshot& s) { return RenderMetrics(s, nullptr); }

TEST(MetricsTest, CountersAndRatiosMatchHandComputedValues) {
  FakeClock clock(kNow);
  const std::string text = Render(FullSnapshot(clock));
  auto has = [&](const std::string& line) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << "missing: " << line;
  };
  const std::string q = R"({client="default",site="s1",queue="billing"})";
  has("ccmon_calls_offered_total" + q + " 5");
  has("ccmon_calls_answered_total" + q + " 1");
  has("ccmon_calls_answered_in_threshold_total" + q + " 1");
  has("ccmon_calls_abandoned_total" + q + " 1");
  has("ccmon_calls_short_abandoned_total" + q + " 1");
  has(R"(ccmon_calls_unanswered_total{client="default",site="s1",queue="billing",reason="timeout"} 1)");
  has("ccmon_calls_waiting" + q + " 2");  // d, and e an hour later
  // 15 m window: offered a-d (4), answered 1 within, abandoned 1 short, unanswered 1.
  // standard SL = 1 / (1 + 1 + 1 - 1) = 0.5; abandon = (1 - 1) / (4 - 1) = 0.
  has(R"(ccmon_service_level_ratio{client="default",site="s1",queue="billing",window="15m"} 0.5)");
  has(R"(ccmon_abandon_ratio{client="default",site="s1",queue="billing",window="15m"} 0)");
  has(R"(ccmon_asa_seconds{client="default",site="s1",queue="billing",window="15m"} 12)");
  has(R"(ccmon_call_wait_seconds_bucket{client="default",site="s1",queue="billing",le="20"} 1)");
  has(R"(ccmon_call_wait_seconds_bucket{client="default",site="s1",queue="billing",le="10"} 0)");
  has(R"(ccmon_link_rtt_seconds{site="s1",link="wan"} 0.04)");
  // A SIP trunk: the same link series, its status, and its kind on the info family only.
  has(R"(ccmon_link_up{site="s1",link="carrier"} 0)");
  has(R"(ccmon_link_rtt_seconds{site="s1",link="carrier"} 0.018)");
  has(R"(ccmon_link_sip_status{site="s1",link="carrier"} 503)");
  has(R"(ccmon_link_info{site="s1",link="carrier",kind="sip_trunk"} 1)");
  has(R"(ccmon_link_info{site="s1",link="wan",kind="network"} 1)");
  EXPECT_EQ(text.find(R"(ccmon_link_sip_status{site="s1",link="wan"})"), std::string::npos);
  has(R"(ccmon_ingest_events_total{result="invalid",reason="future_timestamp"} 1)");
  has("ccmon_sl_target_ratio" + q + " 0.8");
  has("ccmon_sl_threshold_seconds" + q + " 20");
  has(R"(ccmon_client_service_level_ratio{client="default",queue="billing",window="15m"} 0.5)");
}

// A journal that only reports figures (the WAL families read its stats and its directory).
class StatsJournal final : public Journal {
 public:
  std::uint32_t Frame(std::string_view, std::string_view, std::string_view,
                      std::string*) const override {
    return 0;
  }
  std::uint64_t Append(std::string_view, std::uint32_t) override { return 0; }
  bool WaitForRoom(std::chrono::milliseconds) override { return true; }
  bool WaitDurable(std::uint64_t, std::chrono::milliseconds) override { return true; }
  void Listen(DurableListener*) override {}
  void Unlisten(DurableListener*) override {}
  std::uint64_t last_lsn() const override { return 12; }
  std::uint64_t durable_lsn() const override { return 9; }
  WalStats stats() const override {
    WalStats w;
    w.bytes = 123456;
    w.segments = 2;
    w.healthy = true;
    w.last_lsn = 12;
    w.durable_lsn = 9;
    return w;
  }
  const std::string& dir() const override { return dir_; }

 private:
  std::string dir_ = "/";
};

// The text /metrics serves, written family by family as the snapshot is walked, is what
// prometheus-cpp's serializer writes for the same figures built as MetricFamily objects:
// every family the collector exports, with the figures a full snapshot holds, the pipeline's
// own families (an active alert whose labels need escaping, a receiver), and an escaped site.
TEST(MetricsTest, TheServedTextIsWhatTheReferenceSerializerWrites) {
  FakeClock clock(kNow);
  Pipeline pipeline(CoreConfig{}, clock);
  StatsJournal journal;
  pipeline.set_journal(&journal);
  Alert alert;
  alert.name = "SiteDark";
  alert.severity = "critical";
  alert.client = "acme \"east\"";
  alert.site = "s1";
  alert.link = "wan\\1\n";
  pipeline.alerts().Update({alert}, {});
  pipeline.set_receiver_stats([] {
    ReceiverStats r;
    r.receiver = "alertmanager:http://am:9093";
    r.sent = 7;
    r.failed = 1;
    return std::vector<ReceiverStats>{r};
  });
  Snapshot s = FullSnapshot(clock);
  ASSERT_FALSE(s.sites.empty());
  s.sites.push_back(s.sites.front());
  s.sites.back().site = "odd \"site\"\\";
  // More queues after the first, with quotes, backslashes and a newline in every label they
  // share across their series (written once per queue and copied into each).
  ASSERT_FALSE(s.queues.empty());
  for (const char* name : {"q \"two\"", "q\\three\n"}) {
    QueueView q = s.queues.front();
    q.client = std::string("client ") + name;
    q.site = std::string("site ") + name;
    q.queue = name;
    s.queues.push_back(q);
  }
  const Pipeline* none = nullptr;
  for (const Pipeline* p : {none, static_cast<const Pipeline*>(&pipeline)}) {
    // An empty snapshot too: families without samples are left out of both.
    EXPECT_EQ(RenderMetrics(Snapshot{}, p),
              prometheus::TextSerializer().Serialize(BuildFamilies(Snapshot{}, p)));
    const auto families = BuildFamilies(s, p);
    const std::string served = RenderMetrics(s, p);
    EXPECT_EQ(served, prometheus::TextSerializer().Serialize(families));
    if (p != nullptr) {
      EXPECT_NE(served.find("ccmon_wal_unacked_records 3\n"), std::string::npos);
      EXPECT_NE(served.find("ccmon_alert_receiver_up{receiver=\"alertmanager:http://am:9093\"} 1"),
                std::string::npos);
    }
  }
  EXPECT_NE(RenderMetrics(s, &pipeline).find(R"(client="acme \"east\"")"), std::string::npos);
  EXPECT_NE(RenderMetrics(s, &pipeline).find(R"(site="odd \"site\"\\")"), std::string::npos);
  EXPECT_NE(RenderMetrics(s, nullptr)
                .find(R"(ccmon_call_wait_seconds_bucket{client="client q\\three\n",)"
                      R"(site="site q\\three\n",queue="q\\three\n",le="5"})"),
            std::string::npos);
}

// Calls of unknown wait and a lost call: their own counters, and the gauges computed without
// them. Offered a-d; a answered after 12 s, b answered and c abandoned with no wait given, d
// lost. 15 m window: standard SL = 1 / ((2 - 1) + (1 - 1) + 1 - 0) = 0.5; abandon rate =
// (1 - 0) / (4 - 0) = 0.25 (c is a real abandon, not a short one); ASA = 12 s / 1.
TEST(MetricsTest, UnknownWaitsAndLostCallsHaveTheirOwnCounters) {
  FakeClock clock(kNow);
  Engine e(CoreConfig{}, clock);
  std::uint64_t seq = 0;
  auto call = [&](CallKind k, const char* id, std::uint32_t wait, bool unknown) {
    CallEvent c;
    c.kind = k;
    c.queue = "billing";
    c.call_id = id;
    c.wait_ms = wait;
    c.wait_unknown = unknown;
    if (k == CallKind::kUnanswered) c.reason = UnansweredReason::kLost;
    e.Apply("s1", "i1", Event{++seq, kNow - 120'000, c});
  };
  for (const char* id : {"a", "b", "c", "d"}) call(CallKind::kOffered, id, 0, false);
  call(CallKind::kAnswered, "a", 12'000, false);
  call(CallKind::kAnswered, "b", 0, true);
  call(CallKind::kAbandoned, "c", 0, true);
  call(CallKind::kUnanswered, "d", 900'000, false);
  const std::string text = Render(e.TakeSnapshot());
  auto has = [&](const std::string& line) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << "missing: " << line;
  };
  const std::string q = R"({client="default",site="s1",queue="billing"})";
  has("ccmon_calls_answered_total" + q + " 2");
  has("ccmon_calls_answered_in_threshold_total" + q + " 1");
  has("ccmon_calls_answered_wait_unknown_total" + q + " 1");
  has("ccmon_calls_abandoned_total" + q + " 1");
  has("ccmon_calls_abandoned_in_threshold_total" + q + " 0");
  has("ccmon_calls_abandoned_wait_unknown_total" + q + " 1");
  has("ccmon_calls_short_abandoned_total" + q + " 0");
  has(R"(ccmon_calls_unanswered_total{client="default",site="s1",queue="billing",reason="lost"} 1)");
  has(R"(ccmon_service_level_ratio{client="default",site="s1",queue="billing",window="15m"} 0.5)");
  has(R"(ccmon_abandon_ratio{client="default",site="s1",queue="billing",window="15m"} 0.25)");
  has(R"(ccmon_asa_seconds{client="default",site="s1",queue="billing",window="15m"} 12)");
  has("ccmon_call_wait_seconds_count" + q + " 1");
  has("ccmon_call_abandon_wait_seconds_count" + q + " 0");
}

// Today's closed intervals of a client's queue: SL by the contract's formula, calls offered,
// and met (1) or missed (0) against the target; nothing for an interval without calls.
TEST(MetricsTest, ClosedIntervalsOfTheDayAreExportedPerClientQueue) {
  Snapshot s;
  QueueView q;
  q.client = "acme";
  q.queue = "billing";
  q.contract.sl_target = 0.8;
  Counts met;
  met.offered = 4;
  met.answered = 4;
  met.answered_in_threshold = 4;
  Counts missed;
  missed.offered = 5;
  missed.answered = 5;
  missed.answered_in_threshold = 3;
  q.closed_today = {{0, "09:30", met}, {1, "10:00", missed}, {2, "10:30", Counts{}}};
  s.client_queues.push_back(q);
  const std::string text = Render(s);
  auto has = [&](const std::string& line) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << "missing: " << line;
  };
  has(R"(ccmon_client_interval_service_level_ratio{client="acme",queue="billing",interval="09:30"} 1)");
  has(R"(ccmon_client_interval_service_level_ratio{client="acme",queue="billing",interval="10:00"} 0.6)");
  has(R"(ccmon_client_interval_sl_met{client="acme",queue="billing",interval="09:30"} 1)");
  has(R"(ccmon_client_interval_sl_met{client="acme",queue="billing",interval="10:00"} 0)");
  has(R"(ccmon_client_interval_calls_offered{client="acme",queue="billing",interval="10:30"} 0)");
  EXPECT_EQ(
      text.find(R"(ccmon_client_interval_sl_met{client="acme",queue="billing",interval="10:30"})"),
      std::string::npos);
}

// Every exported family is in docs/metrics.md and every catalogued one is exported.
TEST(MetricsTest, CatalogueMatchesExport) {
  FakeClock clock(kNow);
  std::set<std::string> exported;
  for (const auto& f : BuildFamilies(FullSnapshot(clock), nullptr)) exported.insert(f.name);
  // Pipeline and WAL families need the host and a data dir; they are listed explicitly (the
  // durability integration test scrapes them from a real collector).
  for (const char* n : {"ccmon_ingest_batches_total",
                        "ccmon_ingest_batches_refused_total",
                        "ccmon_ledger_store_write_failures_total",
                        "ccmon_ledger_revisions_written_total",
                        "ccmon_ledger_store_refused_rows_total",
                        "ccmon_ledger_store_rows_waiting",
                        "ccmon_ingest_streams_refused_total",
                        "ccmon_ingest_concurrent_instances_total",
                        "ccmon_ingest_apply_seconds_total",
                        "ccmon_ingest_backpressure_waits_total",
                        "ccmon_checkpoint_refused_timestamp_seconds",
                        "ccmon_pipeline_snapshots_total",
                        "ccmon_wal_bytes",
                        "ccmon_wal_segments",
                        "ccmon_wal_healthy",
                        "ccmon_wal_write_errors_total",
                        "ccmon_wal_torn_bytes_cut_total",
                        "ccmon_wal_damaged_records_skipped_total",
                        "ccmon_wal_files_lost_total",
                        "ccmon_wal_unacked_records",
                        "ccmon_checkpoints_total",
                        "ccmon_checkpoint_last_success_timestamp_seconds",
                        "ccmon_data_disk_available_bytes",
                        "ccmon_data_disk_size_bytes",
                        "ccmon_alerts_active",
                        "ccmon_site_up",
                        "ccmon_alert_notifications_total",
                        "ccmon_alert_queue_length",
                        "ccmon_alert_receiver_up"}) {
    exported.insert(n);
  }
  std::ifstream in(std::string(CCMON_SOURCE_DIR) + "/docs/metrics.md");
  ASSERT_TRUE(in) << "docs/metrics.md missing";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  std::set<std::string> catalogued;
  const std::regex row(R"(^\| `(ccmon_[a-z0-9_]+)` \|)", std::regex::multiline);
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), row); it != std::sregex_iterator();
       ++it) {
    catalogued.insert((*it)[1]);
  }
  for (const auto& n : exported) EXPECT_TRUE(catalogued.count(n)) << n << " not in docs/metrics.md";
  for (const auto& n : catalogued) {
    EXPECT_TRUE(exported.count(n)) << n << " catalogued but not exported";
  }
}

}  // namespace
}  // namespace ccmon::collector
