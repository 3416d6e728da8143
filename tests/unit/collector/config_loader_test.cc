#include <gtest/gtest.h>

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
        BadCase{"defaults:\n  sl_formula: genesys\n", "bad.yaml:2:15: field 'defaults.sl_formula'"},
        BadCase{"defaults:\n  sl_target: 1.5\n", "field 'defaults.sl_target': must be within"},
        BadCase{"defaults:\n  interval_minutes: 45\n", "must be 15, 30 or 60"},
        BadCase{"sites:\n  - id: x\n    timezone: Mars/Olympus\n",
                "bad.yaml:3:15: field 'sites[0].timezone': unknown IANA time zone"},
        BadCase{"clients:\n  - name: a\n    queues: [q]\n  - name: b\n    queues: [q]\n",
                "queue 'q' claimed by more than one client"},
        BadCase{"clients:\n  - queues: [q]\n", "field 'clients[0].name': is required"},
        BadCase{"defaults:\n  sl_target: abc\n", "field 'defaults.sl_target': has the wrong type"},
        BadCase{"listen: [unclosed\n", "bad.yaml:2:"},
        BadCase{"limits:\n  max_queues_per_site: 0\n", "limits.max_queues_per_site"}));

}  // namespace
}  // namespace ccmon::collector
