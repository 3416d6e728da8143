// Continuity and disaster alerts (the brief's alert catalogue), evaluated against engine
// snapshots on the collector's 1 s tick, with `for` durations and hysteresis so nothing flaps.
// Pure: no I/O, time comes from the snapshot (Snapshot::now_ms). Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ccmon/collector/snapshot.h"

namespace ccmon::collector {

// Thresholds of every alert; defaults are the brief's. One set applies per site and client:
// defaults, then the client's overrides, then the site's overrides.
struct ContinuityThresholds {
  // SiteDark: no event or heartbeat for `site_dark_heartbeats` heartbeat intervals, but never
  // less than site_dark_min_ms (a site that has not announced its interval uses 5 s).
  double site_dark_heartbeats = 3;
  std::int64_t site_dark_min_ms = 15'000;
  // LinkDown: 100% loss (or up == false) for this long. For a SIP trunk the network figures
  // count (no answer at all), not the SIP status: that is TrunkDown's.
  std::int64_t link_down_for_ms = 30'000;
  // TrunkDown: a SIP trunk gives no final answer to OPTIONS, or a 5xx/6xx one, for this long.
  std::int64_t trunk_down_for_ms = 30'000;
  // LinkDegraded: loss above, rtt above or jitter above, for this long.
  double link_loss_ratio = 0.01;
  double link_rtt_ms = 300;
  double link_jitter_ms = 30;
  std::int64_t link_degraded_for_ms = 120'000;
  // VoiceQualityLow: mean MOS of the last 5 min below, with at least this many samples.
  double mos_min = 3.5;
  std::uint64_t mos_min_samples = 10;
  std::int64_t voice_for_ms = 0;
  // StaffingCollapse: logged-in agents at the site fall by drop_ratio or more from their high
  // of the last drop_within_ms (a collapse, not a shift winding down); the alert holds until
  // they recover against their high of the last high_window_ms or that high ages out.
  double staffing_drop_ratio = 0.5;
  std::int64_t staffing_high_window_ms = 1'800'000;  // 30 min
  std::int64_t staffing_drop_within_ms = 600'000;    // 10 min
  std::uint32_t staffing_min_high = 4;               // floors smaller than this are not judged
  // QueueSurge: oldest wait above factor x the SL threshold, or calls waiting above the
  // contract's calls_waiting_limit (when set).
  double surge_wait_factor = 2;
  std::int64_t surge_for_ms = 30'000;
  // SlaAtRisk: current interval SL below target or abandon rate above target, with at least
  // this many calls offered in the interval.
  std::uint64_t sla_min_calls = 10;
  std::int64_t sla_for_ms = 60'000;
  // ClockSkew: agent clock off by more than this.
  std::int64_t clock_skew_ms = 5'000;
  std::int64_t clock_skew_for_ms = 30'000;
  // SpoolBacklog: unsent backlog above this, or the agent's dropped-events count grew within
  // the last spool_dropped_window_ms (drops are a counter: the alert is about new losses).
  std::uint64_t spool_backlog_events = 10'000;
  std::int64_t spool_dropped_window_ms = 300'000;  // 5 min
  std::int64_t spool_for_ms = 60'000;
  // Hysteresis: a firing alert resolves only once its condition has been false for this long
  // (and, for numeric thresholds, once the value is back past the threshold by this margin,
  // as a fraction of the threshold; for service level, which cannot pass 100%, as a fraction
  // of the gap between target and 100%).
  std::int64_t resolve_after_ms = 30'000;
  double hysteresis = 0.1;

  bool operator==(const ContinuityThresholds&) const = default;
};

struct ContinuityRules {
  ContinuityThresholds defaults;
  std::map<std::string, ContinuityThresholds> clients;  // by client name
  std::map<std::string, ContinuityThresholds> sites;    // by site id
  std::string runbook_base_url =
      "https://github.com/ccmon/ccmon/blob/main/docs/runbooks/";  // + lowercase name + ".md"
};

struct Alert {
  std::string name;      // SiteDark, LinkDown, ...
  std::string severity;  // critical | warning
  std::string client;    // every alert names the client it concerns
  std::string site;
  std::string queue;  // queue-level alerts
  std::string link;   // link and trunk alerts
  std::string summary;
  std::string description;
  std::string runbook_url;
  std::int64_t starts_ms = 0;
  std::int64_t ends_ms = 0;  // 0 while firing
  // Identity: name + client + site + queue + link.
  std::string Key() const;
};

struct AlertTransition {
  Alert alert;
  bool firing = true;  // false: resolved (alert.ends_ms set)
};

class ContinuityEngine {
 public:
  explicit ContinuityEngine(ContinuityRules rules);
  ~ContinuityEngine();

  // Evaluates every rule at snapshot.now_ms; returns alerts that started firing or resolved
  // since the last call.
  std::vector<AlertTransition> Evaluate(const Snapshot& snapshot);
  // Alerts firing now, sorted by key.
  std::vector<Alert> Active() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ccmon::collector
