#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ccmon/collector/options.h"

namespace ccmon::collector {
namespace {

constexpr const char* kGood = R"(listen: 127.0.0.1:7500
metrics_listen: 127.0.0.1:9500
default_timezone: UTC
allowed_lateness_s: 120
defaults:
  sl_threshold_s: 20
  sl_target: 0.8
clients:
  - name: acme
    contract:
      sl_formula: answered_only
      interval_minutes: 15
    queues:
      - billing
      - name: vip
        contract:
          sl_threshold_s: 10
          sl_target: 0.9
  - name: globex
    queues: [support]
sites:
  - id: manila-1
    timezone: Asia/Manila
  - id: pune-1
    timezone: Asia/Kolkata
limits:
  max_queues_per_site: 50
)";

TEST(ConfigLoaderTest, ParsesAFullConfigWithInheritance) {
  auto o = ParseCollectorOptions(kGood, "good.yaml");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->listen, "127.0.0.1:7500");
  EXPECT_EQ(o->core.allowed_lateness_ms, 120000);
  ASSERT_EQ(o->core.clients.size(), 2u);
  const auto& acme = o->core.clients[0];
  ASSERT_EQ(acme.queues.size(), 2u);
  // billing inherits the client's contract, which inherits the defaults.
  EXPECT_EQ(acme.queues[0].contract.sl_formula, SlFormula::kAnsweredOnly);
  EXPECT_EQ(acme.queues[0].contract.interval_minutes, 15);
  EXPECT_DOUBLE_EQ(acme.queues[0].contract.sl_threshold_s, 20);
  // vip overrides threshold and target, keeps the client's formula.
  EXPECT_DOUBLE_EQ(acme.queues[1].contract.sl_threshold_s, 10);
  EXPECT_DOUBLE_EQ(acme.queues[1].contract.sl_target, 0.9);
  EXPECT_EQ(acme.queues[1].contract.sl_formula, SlFormula::kAnsweredOnly);
  EXPECT_EQ(o->core.clients[1].queues[0].name, "support");
  EXPECT_EQ(o->core.sites[1].timezone, "Asia/Kolkata");
  EXPECT_EQ(o->core.limits.max_queues_per_site, 50u);
}

TEST(ConfigLoaderTest, EmptyConfigIsTheEmbeddedDefaults) {
  auto o = ParseCollectorOptions("", "empty.yaml");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->listen, "127.0.0.1:7400");
  EXPECT_EQ(o->metrics_listen, "127.0.0.1:9464");
  EXPECT_EQ(o->shard, "default");
  EXPECT_DOUBLE_EQ(o->core.default_contract.sl_target, 0.8);
  EXPECT_DOUBLE_EQ(o->core.default_contract.sl_threshold_s, 20);
  EXPECT_DOUBLE_EQ(o->core.default_contract.short_abandon_s, 5);
  EXPECT_EQ(o->core.default_contract.interval_minutes, 30);
}

struct BadCase {
  const char* text;
  const char* expect;  // substring of the error
};

class ConfigErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigErrorTest, NamesFileLineAndField) {
  auto o = ParseCollectorOptions(GetParam().text, "bad.yaml");
  ASSERT_FALSE(o.ok());
  EXPECT_NE(std::string(o.status().message()).find(GetParam().expect), std::string::npos)
      << o.status();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigErrorTest,
    ::testing::Values(
        BadCase{"listen: a\nlisen: b\n", "bad.yaml:2:1: field 'lisen': unknown key"},
        BadCase{
            "shard: asia pacific\n",
            "bad.yaml: field 'shard': 'asia pacific' must be 1-64 characters of [A-Za-z0-9._-]"},
        BadCase{"defaults:\n  sl_target: 0.8\n  sl_target: 0.9\n",
                "bad.yaml:3:3: field 'defaults.sl_target': duplicate key"},
        BadCase{"defaults:\n  sl_formula: genesys\n", "bad.yaml:2:15: field 'defaults.sl_formula'"},
        BadCase{"defaults:\n  sl_target: 1.5\n", "field 'defaults.sl_target': must be within"},
        BadCase{"defaults:\n  interval_minutes: 45\n", "must be 15, 30 or 60"},
        BadCase{"sites:\n  - id: x\n    timezone: Mars/Olympus\n",
                "bad.yaml:3:15: field 'sites[0].timezone': unknown IANA time zone"},
        BadCase{"clients:\n  - name: a\n    queues: [q]\n  - name: b\n    queues: [q]\n",
                "bad.yaml:5:14: field 'clients[1].queues[0]': queue 'q' is claimed by more than "
                "one client"},
        BadCase{"clients:\n  - queues: [q]\n", "field 'clients[0].name': is required"},
        BadCase{"sites:\n  - id: manila 1\n",
                "bad.yaml:2:9: field 'sites[0].id': site id "
                "'manila 1' cannot be an agent's --site"},
        BadCase{"sites:\n  - id: a\n  - id: a\n",
                "bad.yaml:3:9: field 'sites[1].id': site 'a' is defined twice"},
        BadCase{"clients:\n  - name: a\n  - name: a\n",
                "bad.yaml:3:11: field 'clients[1].name': client 'a' is defined twice"},
        BadCase{"defaults:\n  sl_target: abc\n", "field 'defaults.sl_target': has the wrong type"},
        BadCase{"listen: [unclosed\n", "bad.yaml:2:"},
        BadCase{"limits:\n  max_queues_per_site: 0\n", "limits.max_queues_per_site"},
        BadCase{"defaults:\n  sl_threshold_s: 20\n  short_abandon_s: 30\n",
                "bad.yaml:3:20: field 'defaults.short_abandon_s': short_abandon_s (30 s) must not "
                "exceed sl_threshold_s (20 s)"},
        // Inherited: the default short abandon (5 s) under a queue's 3 s threshold.
        BadCase{"clients:\n  - name: a\n    queues:\n      - name: q\n        contract:\n"
                "          sl_threshold_s: 3\n",
                "bad.yaml:6:27: field 'clients[0].queues[0].contract.sl_threshold_s': "
                "short_abandon_s (5 s)"}));

// ---- Contract statement terms (docs/contracts.md) and the ledger's top-level keys ----

constexpr const char* kTerms = R"(default_timezone: Europe/London
clients:
  - name: acme
    contract:
      timezone: America/New_York
      period: day
      measured_hours:
        mon-fri: ["08:00-12:00", "13:00-20:00"]
        sat: ["09:00-13:00"]
      holidays: [2026-11-26, 2026-12-25]
      min_volume: 50
      min_volume_policy: pool
      monthly_fee: 120000
      currency: USD
      service_credits:
        basis: missed_periods
        tiers:
          - {shortfall: 0.01, percent: 2}
          - {shortfall: 5, percent: 5}
        cap_percent: 12
      incentives:
        tiers: [{surplus: 3, percent: 1}]
        cap_percent: 3
      exclusions:
        alerts: [SiteDark, LinkDown]
      forecast:
        tolerance: 0.2
        over_forecast: relaxed
        relaxed_sl_target: 0.7
    queues:
      - billing
      - name: vip
        contract:
          period: week
          holidays: [2026-12-24]
          measured_hours:
            fri-mon: ["00:00-24:00"]
  - name: globex
    queues: [support]
)";

// "from-to,from-to" in minutes after midnight, to compare measured hours at a glance.
std::string Hours(const std::vector<DayRange>& ranges) {
  std::string out;
  for (const auto& r : ranges) {
    out += (out.empty() ? "" : ",") + std::to_string(r.from_min) + "-" + std::to_string(r.to_min);
  }
  return out;
}

TEST(ConfigLoaderTermsTest, ParsesEveryStatementTerm) {
  auto o = ParseCollectorOptions(kTerms, "terms.yaml");
  ASSERT_TRUE(o.ok()) << o.status();
  ASSERT_EQ(o->core.clients.size(), 2u);
  const StatementTerms& t = o->core.clients[0].terms;
  EXPECT_EQ(t.timezone, "America/New_York");
  EXPECT_TRUE(t.zone_named);
  EXPECT_EQ(t.period, Period::kDay);
  EXPECT_FALSE(t.all_hours);
  // Index 0 is Sunday: mon-fri is 1..5, sat is 6, and Sunday is not listed so not measured.
  EXPECT_EQ(Hours(t.measured_hours[0]), "");
  for (int d = 1; d <= 5; ++d) {
    EXPECT_EQ(Hours(t.measured_hours[static_cast<std::size_t>(d)]), "480-720,780-1200") << d;
  }
  EXPECT_EQ(Hours(t.measured_hours[6]), "540-780");
  EXPECT_EQ(t.holidays, (std::vector<std::string>{"2026-11-26", "2026-12-25"}));
  EXPECT_EQ(t.min_volume, 50u);
  EXPECT_EQ(t.min_volume_policy, MinVolumePolicy::kPool);
  EXPECT_DOUBLE_EQ(t.monthly_fee, 120000);
  EXPECT_EQ(t.currency, "USD");
  EXPECT_EQ(t.credit_basis, CreditBasis::kMissedPeriods);
  ASSERT_EQ(t.credits.size(), 2u);
  EXPECT_DOUBLE_EQ(t.credits[0].shortfall, 0.01);
  EXPECT_DOUBLE_EQ(t.credits[0].percent, 2);
  EXPECT_DOUBLE_EQ(t.credits[1].shortfall, 5);
  EXPECT_DOUBLE_EQ(t.credits[1].percent, 5);
  EXPECT_DOUBLE_EQ(t.credit_cap_percent, 12);
  ASSERT_EQ(t.incentives.size(), 1u);
  EXPECT_DOUBLE_EQ(t.incentives[0].surplus, 3);
  EXPECT_DOUBLE_EQ(t.incentives[0].percent, 1);
  EXPECT_DOUBLE_EQ(t.incentive_cap_percent, 3);
  EXPECT_EQ(t.exclusion_alerts, (std::vector<std::string>{"SiteDark", "LinkDown"}));
  EXPECT_DOUBLE_EQ(t.forecast_tolerance, 0.2);
  EXPECT_EQ(t.over_forecast, OverForecastPolicy::kRelaxed);
  EXPECT_DOUBLE_EQ(t.relaxed_sl_target, 0.7);
  EXPECT_TRUE(o->core.clients[0].forecast.empty());
}

TEST(ConfigLoaderTermsTest, AQueueInheritsItsClientsTermsAndOverridesWhatItNames) {
  auto o = ParseCollectorOptions(kTerms, "terms.yaml");
  ASSERT_TRUE(o.ok()) << o.status();
  const ClientConfig& acme = o->core.clients[0];
  ASSERT_EQ(acme.queues.size(), 2u);
  const StatementTerms& billing = acme.queues[0].terms;
  EXPECT_EQ(billing.timezone, "America/New_York");
  EXPECT_EQ(billing.period, Period::kDay);
  EXPECT_EQ(Hours(billing.measured_hours[3]), "480-720,780-1200");
  EXPECT_EQ(billing.holidays, (std::vector<std::string>{"2026-11-26", "2026-12-25"}));
  EXPECT_EQ(billing.min_volume, 50u);
  EXPECT_EQ(billing.credits.size(), 2u);
  EXPECT_EQ(billing.over_forecast, OverForecastPolicy::kRelaxed);

  const StatementTerms& vip = acme.queues[1].terms;
  EXPECT_EQ(vip.period, Period::kWeek);
  EXPECT_EQ(vip.timezone, "America/New_York");
  EXPECT_TRUE(vip.zone_named);
  // A list given at a level replaces the inherited one as a whole.
  EXPECT_EQ(vip.holidays, (std::vector<std::string>{"2026-12-24"}));
  // fri-mon wraps over the weekend: Friday, Saturday, Sunday, Monday; the rest unmeasured.
  EXPECT_EQ(Hours(vip.measured_hours[5]), "0-1440");
  EXPECT_EQ(Hours(vip.measured_hours[6]), "0-1440");
  EXPECT_EQ(Hours(vip.measured_hours[0]), "0-1440");
  EXPECT_EQ(Hours(vip.measured_hours[1]), "0-1440");
  EXPECT_EQ(Hours(vip.measured_hours[2]), "");
  EXPECT_EQ(Hours(vip.measured_hours[3]), "");
  EXPECT_EQ(Hours(vip.measured_hours[4]), "");
  EXPECT_EQ(vip.min_volume, 50u);
  EXPECT_EQ(vip.credits.size(), 2u);
  EXPECT_DOUBLE_EQ(vip.credit_cap_percent, 12);
  EXPECT_EQ(vip.currency, "USD");
}

TEST(ConfigLoaderTermsTest, AClientWithoutTermsHasTheDefaultsInTheCollectorsZone) {
  auto o = ParseCollectorOptions(kTerms, "terms.yaml");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->core.default_terms.timezone, "Europe/London");
  const StatementTerms& t = o->core.clients[1].terms;
  EXPECT_EQ(t.timezone, "Europe/London");
  EXPECT_FALSE(t.zone_named);
  EXPECT_EQ(t.period, Period::kInterval);
  EXPECT_TRUE(t.all_hours);
  EXPECT_TRUE(t.holidays.empty());
  EXPECT_EQ(t.min_volume, 0u);
  EXPECT_EQ(t.min_volume_policy, MinVolumePolicy::kNotJudged);
  EXPECT_EQ(t.credit_basis, CreditBasis::kMonthShortfall);
  EXPECT_TRUE(t.credits.empty());
  EXPECT_DOUBLE_EQ(t.credit_cap_percent, 100);
  EXPECT_DOUBLE_EQ(t.incentive_cap_percent, 100);
  EXPECT_EQ(t.exclusion_alerts,
            (std::vector<std::string>{"SiteDark", "StaffingCollapse", "LinkDown"}));
  EXPECT_DOUBLE_EQ(t.forecast_tolerance, 0.10);
  EXPECT_EQ(t.over_forecast, OverForecastPolicy::kExclude);
  EXPECT_EQ(o->core.clients[1].queues[0].terms.timezone, "Europe/London");
}

TEST(ConfigLoaderTermsTest, DefaultsTermsFlowToClientsAndQueues) {
  auto o = ParseCollectorOptions(R"(defaults:
  timezone: Asia/Manila
  min_volume: 10
  service_credits:
    tiers: [{shortfall: 1, percent: 3}]
clients:
  - name: acme
    contract: {period: month}
    queues:
      - name: billing
        contract:
          min_volume: 20
          service_credits: {tiers: [{shortfall: 2, percent: 4}]}
)",
                                 "defaults.yaml");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->core.default_terms.timezone, "Asia/Manila");
  EXPECT_EQ(o->core.default_terms.min_volume, 10u);
  const ClientConfig& acme = o->core.clients[0];
  EXPECT_EQ(acme.terms.timezone, "Asia/Manila");
  EXPECT_TRUE(acme.terms.zone_named);
  EXPECT_EQ(acme.terms.period, Period::kMonth);
  EXPECT_EQ(acme.terms.min_volume, 10u);
  const StatementTerms& q = acme.queues[0].terms;
  EXPECT_EQ(q.period, Period::kMonth);
  EXPECT_EQ(q.min_volume, 20u);
  // A queue's own tiers replace the inherited ones; the cap stays the client's.
  ASSERT_EQ(q.credits.size(), 1u);
  EXPECT_DOUBLE_EQ(q.credits[0].percent, 4);
  ASSERT_EQ(acme.terms.credits.size(), 1u);
  EXPECT_DOUBLE_EQ(acme.terms.credits[0].percent, 3);
}

TEST(ConfigLoaderTermsTest, MoneyBelongsToTheClientsContract) {
  // One fee and one cap per client, so a statement's total reconciles with its queue lines.
  for (const char* bad : {"monthly_fee: 5", "currency: EUR", "service_credits: {cap_percent: 5}",
                          "incentives: {cap_percent: 1}"}) {
    auto o = ParseCollectorOptions(std::string(R"(clients:
  - name: acme
    queues:
      - name: billing
        contract: {)") + bad + "}\n",
                                   "money.yaml");
    ASSERT_FALSE(o.ok()) << bad;
    EXPECT_NE(o.status().message().find("belongs to the client's contract"), std::string::npos)
        << o.status();
  }
}

TEST(ConfigLoaderTermsTest, LedgerKeysAndTheirDefaults) {
  auto d = ParseCollectorOptions("", "empty.yaml");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->core.ledger_retention_days, 400);
  EXPECT_EQ(d->core.ledger_amend_days, 35);
  EXPECT_EQ(d->core.clock_anomaly_ms, 600'000);
  EXPECT_EQ(d->core.max_instance_lag_ms, 900'000);
  EXPECT_EQ(d->core.idle_close_ms, 60'000);

  auto o = ParseCollectorOptions(R"(ledger_retention_days: 730
ledger_amend_days: 40
clock_anomaly_s: 120
max_instance_lag_s: 300
idle_close_s: 1.5
)",
                                 "ledger.yaml");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->core.ledger_retention_days, 730);
  EXPECT_EQ(o->core.ledger_amend_days, 40);
  EXPECT_EQ(o->core.clock_anomaly_ms, 120'000);
  EXPECT_EQ(o->core.max_instance_lag_ms, 300'000);
  EXPECT_EQ(o->core.idle_close_ms, 1'500);
}

class ConfigLoaderTermsErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigLoaderTermsErrorTest, NamesFileLineAndField) {
  auto o = ParseCollectorOptions(GetParam().text, "bad.yaml");
  ASSERT_FALSE(o.ok()) << GetParam().text;
  EXPECT_NE(std::string(o.status().message()).find(GetParam().expect), std::string::npos)
      << o.status();
}

INSTANTIATE_TEST_SUITE_P(
    Terms, ConfigLoaderTermsErrorTest,
    ::testing::Values(
        BadCase{"clients:\n  - name: acme\n    contract:\n      measured_hours:\n"
                "        mon-fry: [\"08:00-20:00\"]\n",
                "bad.yaml:5:9: field 'clients[0].contract.measured_hours.mon-fry': must be a "
                "weekday (sun..sat) or a range like mon-fri"},
        BadCase{"defaults:\n  measured_hours:\n    mon: [\"08:00-20:00\", \"20:00-19:00\"]\n",
                "bad.yaml:3:26: field 'defaults.measured_hours.mon[1]': must be \"HH:MM-HH:MM\""},
        BadCase{"defaults:\n  measured_hours:\n    sat: [\"09:00-24:30\"]\n",
                "field 'defaults.measured_hours.sat[0]'"},
        BadCase{"defaults:\n  measured_hours:\n    sat: [\"9:00-13:00\"]\n",
                "field 'defaults.measured_hours.sat[0]'"},
        BadCase{"defaults:\n  measured_hours: \"08:00-20:00\"\n",
                "bad.yaml:2:19: field 'defaults.measured_hours': must map weekdays"},
        BadCase{"defaults:\n  period: fortnight\n",
                "bad.yaml:2:11: field 'defaults.period': must be interval, day, week or month"},
        BadCase{"defaults:\n  timezone: Mars/Olympus\n",
                "bad.yaml:2:13: field 'defaults.timezone': unknown IANA time zone 'Mars/Olympus'"},
        BadCase{"defaults:\n  holidays: [2026-12-25, 2026-02-30]\n",
                "bad.yaml:2:26: field 'defaults.holidays[1]': must be a date YYYY-MM-DD"},
        BadCase{"defaults:\n  holidays: [2026-12-5]\n", "field 'defaults.holidays[0]'"},
        BadCase{"defaults:\n  holidays: 2026-12-25\n", "field 'defaults.holidays': must be a list"},
        BadCase{"defaults:\n  min_volume: -1\n", "field 'defaults.min_volume': must be within"},
        BadCase{"defaults:\n  min_volume_policy: sometimes\n",
                "bad.yaml:2:22: field 'defaults.min_volume_policy': must be not_judged or pool"},
        BadCase{"defaults:\n  service_credits:\n    basis: monthly\n",
                "bad.yaml:3:12: field 'defaults.service_credits.basis': must be month_shortfall "
                "or missed_periods"},
        BadCase{"defaults:\n  service_credits:\n    tiers:\n      - {shortfall: 1}\n",
                "bad.yaml:4:9: field 'defaults.service_credits.tiers[0]': needs shortfall and "
                "percent"},
        BadCase{"defaults:\n  service_credits:\n    cap_percent: 150\n",
                "field 'defaults.service_credits.cap_percent': must be within [0, 100]"},
        BadCase{"defaults:\n  service_credits:\n    cap: 5\n",
                "bad.yaml:3:5: field 'defaults.service_credits.cap': unknown key"},
        BadCase{"defaults:\n  incentives:\n    tiers: [{surplus: 3, pct: 1}]\n",
                "field 'defaults.incentives.tiers[0].pct': unknown key"},
        BadCase{"defaults:\n  exclusions:\n    alerts: [SiteDark, Earthquake]\n",
                "bad.yaml:3:24: field 'defaults.exclusions.alerts[1]': must be SiteDark, "
                "StaffingCollapse or LinkDown"},
        BadCase{"defaults:\n  forecast:\n    over_forecast: relaxed\n",
                "field 'defaults.forecast': over_forecast: relaxed needs relaxed_sl_target"},
        BadCase{"defaults:\n  forecast:\n    over_forecast: ignore\n",
                "bad.yaml:3:20: field 'defaults.forecast.over_forecast': must be exclude or "
                "relaxed"},
        BadCase{"defaults:\n  forecast:\n    tolerance: -0.1\n",
                "field 'defaults.forecast.tolerance': must be within"},
        BadCase{"defaults:\n  forecast:\n    relaxed_sl_target: 1.5\n",
                "field 'defaults.forecast.relaxed_sl_target': must be within [0, 1]"},
        BadCase{"clients:\n  - name: acme\n    queues:\n      - name: billing\n        contract:\n"
                "          forecast:\n            file: billing.csv\n",
                "bad.yaml:7:13: field 'clients[0].queues[0].contract.forecast.file': a forecast "
                "file belongs to the client's contract"},
        BadCase{"clients:\n  - name: acme\n    contract:\n      monthly_fees: 3\n",
                "bad.yaml:4:7: field 'clients[0].contract.monthly_fees': unknown key"},
        BadCase{"ledger_retention_days: 10\n",
                "bad.yaml:1:24: field 'ledger_retention_days': must be within [35, 3660]"},
        BadCase{"ledger_amend_days: 0\n", "field 'ledger_amend_days': must be within [1, 400]"},
        BadCase{"clock_anomaly_s: 5\n", "field 'clock_anomaly_s': must be within [60, 86400]"},
        BadCase{"max_instance_lag_s: -1\n", "field 'max_instance_lag_s': must be within"},
        BadCase{"idle_close_s: 0\n", "field 'idle_close_s': must be within [1, 86400]"}));

// A config file and its forecast CSV in a fresh directory, loaded with LoadCollectorOptions.
class ConfigLoaderForecastTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ccmon-forecast-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) const {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path dir_;
};

// 2026-11-02T00:00Z is day 20759 of the Unix epoch (56 * 365 + 14 leap days to 2026, + 305).
constexpr std::int64_t kNov2Utc = std::int64_t{20759} * 86'400'000;
constexpr std::int64_t kHourMs = 3'600'000;

TEST_F(ConfigLoaderForecastTest, LoadsTheCsvBesideTheConfigInTheContractZone) {
  Write("acme-forecast.csv",
        "queue,interval_start,offered\n"
        "# New York is on EST (UTC-5) from 1 November 2026\n"
        "billing,2026-11-02 08:00,14\n"
        "billing,2026-11-02 08:30,18.5\r\n"
        "\n"
        "vip,2026-11-01 01:30,3\n");
  const std::string config = Write("collector.yaml", R"(clients:
  - name: acme
    contract:
      timezone: America/New_York
      forecast:
        file: acme-forecast.csv
        tolerance: 0.15
    queues: [billing, vip]
)");
  auto o = LoadCollectorOptions(config);
  ASSERT_TRUE(o.ok()) << o.status();
  const auto& f = o->core.clients[0].forecast;
  ASSERT_EQ(f.size(), 3u);
  // 08:00 EST = 13:00Z.
  EXPECT_EQ(f[0].queue, "billing");
  EXPECT_EQ(f[0].start_ms, kNov2Utc + 13 * kHourMs);
  EXPECT_DOUBLE_EQ(f[0].offered, 14);
  EXPECT_EQ(f[1].start_ms, kNov2Utc + 13 * kHourMs + 30 * 60'000);
  EXPECT_DOUBLE_EQ(f[1].offered, 18.5);
  // 01:30 on the DST night is repeated; the first one is EDT (UTC-4): 05:30Z on 1 November.
  EXPECT_EQ(f[2].queue, "vip");
  EXPECT_EQ(f[2].start_ms, kNov2Utc - 24 * kHourMs + 5 * kHourMs + 30 * 60'000);
  EXPECT_DOUBLE_EQ(o->core.clients[0].terms.forecast_tolerance, 0.15);
}

TEST_F(ConfigLoaderForecastTest, AForecastInDefaultsIsReadInEachClientsZone) {
  // Shared by every client: each takes the lines of its own queues.
  Write("forecast.csv", "billing,2026-11-02 08:00,10\nsupport,2026-11-02 08:00,12\n");
  const std::string config = Write("collector.yaml", R"(default_timezone: Asia/Kolkata
defaults:
  forecast: {file: forecast.csv}
clients:
  - name: acme
    queues: [billing]
  - name: globex
    contract: {timezone: America/New_York}
    queues: [support]
)");
  auto o = LoadCollectorOptions(config);
  ASSERT_TRUE(o.ok()) << o.status();
  ASSERT_EQ(o->core.clients.size(), 2u);
  ASSERT_EQ(o->core.clients[0].forecast.size(), 1u);
  ASSERT_EQ(o->core.clients[1].forecast.size(), 1u);
  // 08:00 in Kolkata (UTC+5:30) is 02:30Z; in New York (UTC-5) 13:00Z.
  EXPECT_EQ(o->core.clients[0].forecast[0].start_ms, kNov2Utc + 2 * kHourMs + 30 * 60'000);
  EXPECT_EQ(o->core.clients[1].forecast[0].start_ms, kNov2Utc + 13 * kHourMs);
  EXPECT_EQ(o->core.clients[0].forecast[0].queue, "billing");
  EXPECT_EQ(o->core.clients[1].forecast[0].queue, "support");
}

TEST_F(ConfigLoaderForecastTest, ABadLineIsNamedByFileAndLine) {
  struct Case {
    const char* line3;
    const char* what;
  };
  for (const Case& c : {Case{"billing,2026-11-02 8:00,14", "interval_start must be local"},
                        Case{"billing,2026-11-02T08:00,14", "interval_start must be local"},
                        Case{"billing,2026-11-02 08:00,many", "offered must be a number"},
                        Case{"billing,2026-11-02 08:00,-3", "offered must be a number"},
                        Case{"billing,2026-11-02 08:00,", "offered must be a number"},
                        Case{"billing 2026-11-02 08:00 14", "expected queue,interval_start"}}) {
    const std::string csv =
        Write("bad.csv", std::string("queue,interval_start,offered\nbilling,2026-11-02 07:30,1\n") +
                             c.line3 + "\n");
    const std::string config = Write("collector.yaml",
                                     "clients:\n  - name: acme\n    contract:\n      forecast:\n"
                                     "        file: bad.csv\n    queues: [billing]\n");
    auto o = LoadCollectorOptions(config);
    ASSERT_FALSE(o.ok()) << c.line3;
    const std::string msg(o.status().message());
    EXPECT_NE(msg.find(csv + ":3: "), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.what), std::string::npos) << msg;
  }
}

TEST_F(ConfigLoaderForecastTest, AnAbsolutePathIsUsedAsIs) {
  const std::string csv = Write("elsewhere.csv", "billing,2026-11-02 08:00,7\n");
  std::filesystem::create_directory(dir_ / "etc");
  const std::string config = Write("etc/collector.yaml",
                                   "clients:\n  - name: acme\n    contract:\n      forecast:\n"
                                   "        file: " +
                                       csv + "\n    queues: [billing]\n");
  auto o = LoadCollectorOptions(config);
  ASSERT_TRUE(o.ok()) << o.status();
  ASSERT_EQ(o->core.clients[0].forecast.size(), 1u);
  // No zone named: the collector's default_timezone, UTC.
  EXPECT_EQ(o->core.clients[0].forecast[0].start_ms, kNov2Utc + 8 * kHourMs);
}

TEST_F(ConfigLoaderForecastTest, AMissingFileNamesItsPath) {
  const std::string config = Write("collector.yaml",
                                   "clients:\n  - name: acme\n    contract:\n      forecast:\n"
                                   "        file: nowhere.csv\n    queues: [billing]\n");
  auto o = LoadCollectorOptions(config);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(std::string(o.status().message()).find((dir_ / "nowhere.csv").string()),
            std::string::npos)
      << o.status();
}

}  // namespace
}  // namespace ccmon::collector
