// Collector configuration as plain values. Loading and validation live in config_loader.h.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ccmon/collector/kpi.h"

namespace ccmon::collector {

// Targets a client's queue is held to. Defaults are the brief's embedded defaults.
struct Contract {
  double sl_threshold_s = 20;
  double sl_target = 0.80;
  SlFormula sl_formula = SlFormula::kStandard;
  double short_abandon_s = 5;
  double abandon_target = 0.05;
  double asa_target_s = 30;
  int interval_minutes = 30;
  // Amber band for wallboards: SL below sl_target + warning_band (or abandon rate above
  // abandon_target - warning_band) is amber; past the target is red.
  double warning_band = 0.05;
  // QueueSurge: calls waiting above this raise the alert; 0 disables the count test.
  std::uint32_t calls_waiting_limit = 0;
};

// How a contract is measured and paid for: read by the statement (statement.h).
// How long one judged period is. kInterval: each ledger interval is judged on its own.
enum class Period : std::uint8_t { kInterval, kDay, kWeek, kMonth };
const char* ToString(Period p);
std::optional<Period> ParsePeriod(std::string_view s);

// A span of local wall-clock time inside one day, minutes after midnight: [from, to).
// to = 1440 is midnight at the end of the day.
struct DayRange {
  int from_min = 0;
  int to_min = 1440;
};

// Service-credit tier: a shortfall of at least `shortfall` earns `percent` of the monthly fee.
// With CreditBasis::kMonthShortfall the shortfall is in SL points (target 0.80, month 0.76: 4);
// with kMissedPeriods it is the percentage of judged periods missed.
struct CreditTier {
  double shortfall = 0;
  double percent = 0;
};
enum class CreditBasis : std::uint8_t { kMonthShortfall, kMissedPeriods };

// Incentive tier: a month SL at least `surplus` points above target earns `percent` of the fee.
struct IncentiveTier {
  double surplus = 0;
  double percent = 0;
};

enum class MinVolumePolicy : std::uint8_t { kNotJudged, kPool };
enum class OverForecastPolicy : std::uint8_t { kExclude, kRelaxed };

struct StatementTerms {
  // IANA zone the contract's days, weeks, months, measured hours and holidays are read in.
  // When the contract names it (zone_named), ledger intervals align to it too; otherwise
  // they align to each site's zone and this holds the collector's default_timezone.
  std::string timezone = "UTC";
  bool zone_named = false;
  Period period = Period::kInterval;
  // Measured hours by weekday, index 0 = Sunday .. 6 = Saturday. An interval is measured
  // when its local start lies in one of its weekday's ranges. Empty (all seven) = all hours.
  std::array<std::vector<DayRange>, 7> measured_hours{};
  bool all_hours = true;
  // Local dates (YYYY-MM-DD) not measured at all.
  std::vector<std::string> holidays;
  // A period with fewer offered calls than this is not judged, or pooled with the following
  // periods until the pool reaches it (a pool still short at the end is not judged).
  std::uint64_t min_volume = 0;
  MinVolumePolicy min_volume_policy = MinVolumePolicy::kNotJudged;
  // Credits and incentives, in percent of the monthly fee (the fee itself is optional and
  // only used to print amounts).
  double monthly_fee = 0;
  std::string currency;
  CreditBasis credit_basis = CreditBasis::kMonthShortfall;
  std::vector<CreditTier> credits;  // any order; the highest tier reached applies
  double credit_cap_percent = 100;
  std::vector<IncentiveTier> incentives;
  double incentive_cap_percent = 100;
  // Continuity alerts whose periods the vendor may propose as force majeure.
  std::vector<std::string> exclusion_alerts = {"SiteDark", "StaffingCollapse", "LinkDown"};
  // Volume above forecast: an interval whose offered (across sites) exceeds
  // forecast x (1 + tolerance) is excluded, or judged at relaxed_sl_target.
  double forecast_tolerance = 0.10;
  OverForecastPolicy over_forecast = OverForecastPolicy::kExclude;
  double relaxed_sl_target = 0;
};

// Forecast offered calls of one queue (client level, across sites) for the interval starting
// at start_ms (UTC).
struct ForecastEntry {
  std::string queue;
  std::int64_t start_ms = 0;
  double offered = 0;
};

struct QueueConfig {
  std::string name;
  Contract contract;
  StatementTerms terms;
};

struct ClientConfig {
  std::string name;
  Contract contract;
  StatementTerms terms;
  // Forecast offered calls per queue and interval (imported from the contract's forecast file).
  std::vector<ForecastEntry> forecast;
  std::vector<QueueConfig> queues;
};

struct SiteConfig {
  std::string id;
  std::string timezone = "UTC";  // IANA name
};

struct Limits {
  std::uint32_t max_batch_events = 4096;
  std::uint32_t max_field_bytes = 128;
  // Events stamped further ahead of the collector's clock are rejected (0: no limit).
  std::int64_t max_future_ms = std::int64_t{24} * 3600 * 1000;
  // Events older than this are rejected (0: no limit; historical backfills need none).
  std::int64_t max_age_ms = 0;
  std::uint32_t max_queues_per_site = 500;
  std::uint32_t max_agents_per_site = 5000;
  std::uint32_t max_links_per_site = 64;
  // Live waiting calls tracked per queue; older ones are dropped first when full.
  std::uint32_t max_waiting_calls_per_queue = 10000;
};

struct CoreConfig {
  Contract default_contract;
  // Terms of queues no client claims (client "default").
  StatementTerms default_terms;
  std::vector<ClientConfig> clients;
  std::vector<SiteConfig> sites;
  std::string default_timezone = "UTC";
  // A ledger row closes once its site's close watermark (event time) is this far past the
  // row's end; events after that amend it (a new revision).
  std::int64_t allowed_lateness_ms = std::int64_t{5} * 60 * 1000;
  // An event this far ahead of its agent instance's watermark is held, not trusted: another
  // call or the agent's own state change confirms it (see Instance in core/engine_impl.h),
  // else it is a clock anomaly.
  std::int64_t clock_anomaly_ms = std::int64_t{10} * 60 * 1000;
  // A streaming instance this far behind the site's most advanced one no longer holds the
  // site's rows open; its events amend them.
  std::int64_t max_instance_lag_ms = std::int64_t{15} * 60 * 1000;
  // A site whose PBX has sent nothing for this long (collector clock) no longer holds open the
  // rows its own clock has passed (the end of a backfill, a quiet PBX, a dark site); events
  // that come later amend them.
  std::int64_t idle_close_ms = 60'000;
  // Closed rows stay in memory (amendable) this long; the store keeps them
  // ledger_retention_days.
  int ledger_amend_days = 35;
  int ledger_retention_days = 400;
  Limits limits;
};

}  // namespace ccmon::collector
