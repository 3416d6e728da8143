#include "ccmon/collector/continuity_loader.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace ccmon::collector {
namespace {

constexpr const char* kGood = R"(runbook_base_url: https://wiki.example/runbooks/
defaults:
  resolve_after_s: 45
  hysteresis: 0.2
  site_dark: {heartbeats: 4, min_s: 20}
  link_degraded:
    rtt_ms: 250
    for_s: 90.5
  trunk_down: {for_s: 20}
clients:
  acme:
    sla_at_risk: {min_calls: 5, for_s: 30}
    link_degraded: {jitter_ms: 20}
  globex:
sites:
  cebu-2:
    site_dark:
      min_s: 45
    staffing_collapse: {drop_ratio: 0.4, min_high: 10}
    trunk_down:
      for_s: 90
)";

TEST(ContinuityLoaderTest, ParsesAFullFileWithInheritance) {
  auto r = ParseContinuityRules(kGood, "good.yaml");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->runbook_base_url, "https://wiki.example/runbooks/");
  const ContinuityThresholds builtin;
  // Defaults: changed keys, and the rest from the built-in values.
  EXPECT_EQ(r->defaults.resolve_after_ms, 45'000);
  EXPECT_DOUBLE_EQ(r->defaults.hysteresis, 0.2);
  EXPECT_DOUBLE_EQ(r->defaults.site_dark_heartbeats, 4);
  EXPECT_EQ(r->defaults.site_dark_min_ms, 20'000);
  EXPECT_DOUBLE_EQ(r->defaults.link_rtt_ms, 250);
  EXPECT_EQ(r->defaults.link_degraded_for_ms, 90'500);
  EXPECT_DOUBLE_EQ(r->defaults.link_jitter_ms, builtin.link_jitter_ms);
  EXPECT_EQ(r->defaults.link_down_for_ms, builtin.link_down_for_ms);
  EXPECT_EQ(builtin.trunk_down_for_ms, 30'000);
  EXPECT_EQ(r->defaults.trunk_down_for_ms, 20'000);

  // A client override starts from the file's defaults, not the built-in ones.
  ASSERT_EQ(r->clients.count("acme"), 1u);
  const ContinuityThresholds& acme = r->clients.at("acme");
  EXPECT_EQ(acme.sla_min_calls, 5u);
  EXPECT_EQ(acme.sla_for_ms, 30'000);
  EXPECT_DOUBLE_EQ(acme.link_jitter_ms, 20);
  EXPECT_DOUBLE_EQ(acme.link_rtt_ms, 250);
  EXPECT_EQ(acme.resolve_after_ms, 45'000);
  EXPECT_EQ(acme.trunk_down_for_ms, 20'000);
  // A client listed with nothing under it gets exactly the defaults.
  ASSERT_EQ(r->clients.count("globex"), 1u);
  EXPECT_EQ(r->clients.at("globex"), r->defaults);

  // A site override also starts from the defaults (not from any client's overrides).
  ASSERT_EQ(r->sites.count("cebu-2"), 1u);
  const ContinuityThresholds& cebu = r->sites.at("cebu-2");
  EXPECT_EQ(cebu.site_dark_min_ms, 45'000);
  EXPECT_DOUBLE_EQ(cebu.site_dark_heartbeats, 4);
  EXPECT_DOUBLE_EQ(cebu.staffing_drop_ratio, 0.4);
  EXPECT_EQ(cebu.staffing_min_high, 10u);
  EXPECT_EQ(cebu.sla_min_calls, builtin.sla_min_calls);
  EXPECT_DOUBLE_EQ(cebu.link_jitter_ms, builtin.link_jitter_ms);
  EXPECT_EQ(cebu.trunk_down_for_ms, 90'000);
}

TEST(ContinuityLoaderTest, EmptyFileIsTheBuiltInDefaults) {
  auto r = ParseContinuityRules("", "empty.yaml");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->defaults, ContinuityThresholds{});
  EXPECT_TRUE(r->clients.empty());
  EXPECT_TRUE(r->sites.empty());
  EXPECT_EQ(r->runbook_base_url, ContinuityRules{}.runbook_base_url);
}

TEST(ContinuityLoaderTest, ShippedRulesFileIsTheBuiltInDefaults) {
  auto r = LoadContinuityRules(CCMON_SOURCE_DIR "/rules/continuity.yaml");
  ASSERT_TRUE(r.ok()) << r.status();
  const ContinuityRules builtin;
  EXPECT_EQ(r->defaults, builtin.defaults);
  EXPECT_EQ(r->runbook_base_url, builtin.runbook_base_url);
  // The overrides in the shipped file are commented-out examples.
  EXPECT_TRUE(r->clients.empty());
  EXPECT_TRUE(r->sites.empty());
}

TEST(ContinuityLoaderTest, MissingFileIsNotFound) {
  auto r = LoadContinuityRules("/nonexistent/continuity.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(r.status().message()).find("/nonexistent/continuity.yaml"),
            std::string::npos);
}

struct BadCase {
  const char* text;
  const char* expect;  // the whole "file:line:column: field 'path'" prefix, or a substring
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << "expects " << c.expect; }

class ContinuityLoaderErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ContinuityLoaderErrorTest, NamesFileLineAndField) {
  auto r = ParseContinuityRules(GetParam().text, "bad.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(r.status().message()).find(GetParam().expect), std::string::npos)
      << r.status();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ContinuityLoaderErrorTest,
    ::testing::Values(
        // Typos are errors, at any depth.
        BadCase{"defualts: {}\n", "bad.yaml:1:1: field 'defualts': unknown key"},
        BadCase{"defaults:\n  site_dark:\n    min: 20\n",
                "bad.yaml:3:5: field 'defaults.site_dark.min': unknown key"},
        BadCase{"sites:\n  pune-1:\n    link_down: {for: 10}\n",
                "bad.yaml:3:17: field 'sites.pune-1.link_down.for': unknown key"},
        // Ranges.
        BadCase{"defaults:\n  link_degraded:\n    loss_ratio: 1.5\n",
                "bad.yaml:3:17: field 'defaults.link_degraded.loss_ratio': must be within [0, 1]"},
        BadCase{"clients:\n  acme:\n    hysteresis: 0.9\n",
                "bad.yaml:3:17: field 'clients.acme.hysteresis': must be within [0, 0.5]"},
        BadCase{"defaults:\n  voice_quality_low: {mos_min: 7}\n",
                "field 'defaults.voice_quality_low.mos_min': must be within [1, 5]"},
        BadCase{"defaults:\n  link_down: {for_s: -1}\n",
                "field 'defaults.link_down.for_s': must be within [0, 86400]"},
        BadCase{"defaults:\n  trunk_down:\n    for_s: 90000\n",
                "bad.yaml:3:12: field 'defaults.trunk_down.for_s': must be within [0, 86400]"},
        BadCase{"sites:\n  pune-1:\n    trunk_down: {for: 10}\n",
                "bad.yaml:3:18: field 'sites.pune-1.trunk_down.for': unknown key"},
        BadCase{"defaults:\n  trunk_down: 30\n",
                "bad.yaml:2:15: field 'defaults.trunk_down': must be a mapping"},
        // Types and shapes.
        BadCase{"defaults:\n  sla_at_risk:\n    min_calls: 2.5\n",
                "bad.yaml:3:16: field 'defaults.sla_at_risk.min_calls': must be a whole number"},
        BadCase{"defaults:\n  clock_skew:\n    max_skew_s: five\n",
                "bad.yaml:3:17: field 'defaults.clock_skew.max_skew_s': has the wrong type"},
        BadCase{"defaults:\n  queue_surge: 3\n",
                "bad.yaml:2:16: field 'defaults.queue_surge': must be a mapping"},
        BadCase{"clients: [acme]\n", "bad.yaml:1:10: field 'clients': must be a mapping"},
        BadCase{"defaults:\n  spool_backlog:\n    max_events: [1, 2]\n",
                "bad.yaml:3:17: field 'defaults.spool_backlog.max_events': must be a scalar"},
        BadCase{"runbook_base_url: ''\n", "field 'runbook_base_url': must not be empty"},
        // Rules between fields, checked on the merged set.
        BadCase{"sites:\n  pune-1:\n    staffing_collapse: {drop_within_s: 2400}\n",
                "bad.yaml:3:40: field 'sites.pune-1.staffing_collapse.drop_within_s': must not "
                "exceed high_window_s"},
        BadCase{"defaults:\n  spool_backlog: {for_s: 600}\n",
                "field 'defaults.spool_backlog.dropped_window_s': must be at least for_s"},
        // Broken YAML still names the place.
        BadCase{"defaults:\n  site_dark: {min_s: 3\n", "bad.yaml:3:"},
        BadCase{"defaults: [\n", "bad.yaml:2:"}));

}  // namespace
}  // namespace ccmon::collector
