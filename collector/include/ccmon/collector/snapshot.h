// Point-in-time copy of the engine's state, built under the engine's lock and then read
// without it by the Prometheus exporter and the Monitor API. Plain values.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ccmon/collector/config.h"
#include "ccmon/collector/kpi.h"

namespace ccmon::collector {

inline constexpr std::array<const char*, 4> kWindowNames = {"15m", "30m", "1h", "today"};
inline constexpr std::size_t kTodayWindow = 3;  // the day so far, not a rolling window
inline constexpr std::array<int, 3> kRollingWindowMinutes = {15, 30, 60};

struct Histogram {
  // Cumulative-free bucket counts: counts[i] is observations <= bounds[i] and > bounds[i-1];
  // the last element counts observations above every bound.
  std::vector<std::uint64_t> counts;
  double sum_seconds = 0;
  std::uint64_t count = 0;
};

// A closed contract interval of a client queue's local day: the figures its ledger rows hold
// now across the sites serving it, late calls included. The day and the label are in the zone
// the contract's days are read in, as statements read them: the one it names, else the
// collector's default_timezone.
struct IntervalView {
  std::int64_t start_ms = 0;
  // "HH:MM" in that zone; a start time the autumn night repeats has the interval's UTC
  // offset after it ("01:00 UTC-04:00", then "01:00 UTC-05:00").
  std::string local_start;
  Counts counts;
};

struct QueueView {
  std::string client;
  std::string site;
  std::string queue;
  Contract contract;
  Counts total;  // since the collector's state began
  // kWindowNames order. "today" is the site's local day in a site row; in a client row, the
  // day of the zone the contract's statements are read in (the zone it names, else the
  // collector's default_timezone).
  std::array<Counts, 4> windows{};
  Counts interval;  // the current (open) contract interval
  // Client rows only: the closed intervals of the day so far, oldest first.
  std::vector<IntervalView> closed_today;
  Histogram answered_wait;
  Histogram abandoned_wait;
  Histogram handle_time;
  std::uint32_t calls_waiting = 0;
  double oldest_wait_s = 0;
  std::array<std::uint32_t, 6> agents_by_state{};  // by AgentState
  std::array<std::uint64_t, 6> agent_state_ms{};   // cumulative, by AgentState
  std::uint64_t ledger_met = 0;                    // closed intervals whose SL target was met
  std::uint64_t ledger_missed = 0;
  // Start of the earliest ledger row still open (not yet closed), UTC; none: INT64_MAX.
  std::int64_t first_open_row_ms = std::numeric_limits<std::int64_t>::max();
  std::uint32_t agents_required = 0;  // Erlang C at the last 30 min's load; 0 without load
  std::optional<double> mos_5m;       // mean MOS of the last 5 minutes
  std::uint64_t mos_samples_5m = 0;
};

struct LinkView {
  std::string site;
  std::string link;
  bool up = true;
  double rtt_ms = 0;
  double jitter_ms = 0;
  double loss_ratio = 0;
  std::int64_t last_ms = 0;
  LinkKind kind = LinkKind::kNetwork;  // of the last sample
  std::uint32_t sip_status = 0;        // SIP trunks: the last probe's final answer, 0 none
};

struct SiteView {
  std::string site;
  bool connected = false;
  std::uint32_t open_streams = 0;
  std::int64_t last_seen_ms = 0;  // collector clock
  // Event time up to which the site's agent instances have reported (the ledger's close
  // watermark: heartbeats carry it on while the PBX is quiet; an instance far behind the
  // others is not waited for).
  std::int64_t reported_until_ms = 0;
  std::int64_t clock_skew_ms = 0;  // agent clock minus collector clock, at heartbeats
  // The last PBX event's time minus the collector's clock when it arrived, if positive.
  std::int64_t pbx_clock_ahead_ms = 0;
  std::uint64_t spool_backlog_events = 0;
  std::uint64_t spool_dropped_events = 0;
  // The agent stopped reading its sources (spool at its bound or its disk refusing writes).
  bool spool_paused = false;
  std::uint64_t lines_rejected = 0;     // input lines the agent skipped, since it started
  std::uint64_t replicas_given_up = 0;  // collector replicas the agent gave up, since it started
  // Input files (queue_log, JSONL) the connected agent is configured to read and cannot now:
  // missing or unreadable, waited for. 0 while no agent streams.
  std::uint32_t sources_waiting = 0;
  std::string agent_instance;
  std::uint64_t last_applied_seq = 0;
  std::string agent_version;
  // Heartbeat interval the agent announced (0 before its first heartbeat).
  std::uint32_t heartbeat_interval_ms = 0;
  // Distinct agents logged in (any state but logged_out) at the site now.
  std::uint32_t agents_logged_in = 0;
  // Clients whose queues this site serves, sorted (site-level alerts go to each of them).
  std::vector<std::string> clients;
};

struct IngestStats {
  std::uint64_t accepted = 0;
  std::uint64_t duplicate = 0;
  std::uint64_t late = 0;
  std::uint64_t reconstructed = 0;
  std::uint64_t sequence_gaps = 0;
  std::map<std::string, std::uint64_t> invalid_by_reason;
  std::uint64_t intervals_closed = 0;
  // Events stamped far ahead of their instance's timeline that the watermark refused.
  std::uint64_t clock_anomaly = 0;
  // Ledger rows given a new revision by events that arrived after they closed.
  std::uint64_t ledger_amendments = 0;
  // Outcomes for intervals older than ledger_amend_days: counted live, not in the ledger.
  std::uint64_t ledger_too_old = 0;
  bool operator==(const IngestStats&) const = default;
};

struct Snapshot {
  std::int64_t now_ms = 0;
  // Until this time the collector itself could not take events (its process stood still, or
  // ingest was blocked behind a full WAL buffer): sites are not blamed for silence before it.
  // Set by the process around the engine, not by the engine.
  std::int64_t collector_blind_until_ms = 0;
  std::vector<double> wait_bounds_s;    // histogram bounds for the wait histograms
  std::vector<double> handle_bounds_s;  // histogram bounds for handle time
  std::vector<QueueView> queues;        // sorted by client, site, queue
  // The same queues summed across the sites that serve them (site empty), by client, queue:
  // counts and windows add up, calls waiting add up, oldest wait is the oldest anywhere.
  std::vector<QueueView> client_queues;
  std::vector<LinkView> links;
  std::vector<SiteView> sites;
  IngestStats ingest;
};

// A call whose caller hung up while queued: a call-back candidate.
struct AbandonedView {
  std::int64_t abandoned_ms = 0;
  std::string client;
  std::string site;
  std::string queue;
  std::string call_id;
  std::string caller_id;  // unmasked: the adapter masks it for the caller's scope
  std::uint32_t wait_ms = 0;
};

}  // namespace ccmon::collector
