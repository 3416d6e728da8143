// Collector configuration as plain values. Loading and validation live in config_loader.h.
#pragma once

#include <cstdint>
#include <string>
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

struct QueueConfig {
  std::string name;
  Contract contract;
};

struct ClientConfig {
  std::string name;
  Contract contract;
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
  std::int64_t max_future_ms = std::int64_t{3600} * 1000;
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
  std::vector<ClientConfig> clients;
  std::vector<SiteConfig> sites;
  std::string default_timezone = "UTC";
  // Outcomes may arrive this late (event time behind the site's newest event time) and still
  // count in their ledger interval; later ones are counted as late.
  std::int64_t allowed_lateness_ms = std::int64_t{5} * 60 * 1000;
  int ledger_retention_days = 35;
  Limits limits;
};

}  // namespace ccmon::collector
