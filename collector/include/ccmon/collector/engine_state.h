// The engine's durable state as plain values: what a checkpoint holds. Engine::ExportState
// fills it and Engine::ImportState restores it; the storage adapter writes it as a versioned
// protobuf message (proto/ccmon/v1/checkpoint.proto), field by field, so a new field is a new
// message field and never shifts what an older checkpoint means.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ccmon/collector/kpi.h"
#include "ccmon/collector/snapshot.h"
#include "ccmon/model/event.h"

namespace ccmon::collector {

struct EngineState {
  static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min();
  struct Histogram {
    std::vector<std::uint64_t> counts;  // per bucket, the configured bounds' count + 1
    std::uint64_t sum_ms = 0;
    std::uint64_t count = 0;
    bool operator==(const Histogram&) const = default;
  };
  // One minute of a queue's 60-minute ring (the live windows).
  struct Minute {
    std::int64_t minute = 0;  // minutes since the epoch
    Counts counts;
    std::uint64_t mos_milli_sum = 0;
    std::uint64_t mos_samples = 0;
    bool operator==(const Minute&) const = default;
  };
  struct Row {
    std::int64_t start_ms = 0;
    Counts counts;
    std::uint64_t late = 0;
    std::uint64_t rebuilt = 0;
    std::uint64_t pending_late = 0;
    std::int64_t closed_ms = 0;
    std::int64_t changed_ms = 0;
    std::uint32_t revision = 0;
    bool closed = false;
    bool dirty = false;  // closed or amended, not yet drained to the store
    bool operator==(const Row&) const = default;
  };
  struct Waiting {
    std::string call_id;
    std::int64_t since_ms = 0;
    bool operator==(const Waiting&) const = default;
  };
  struct Abandoned {
    std::int64_t time_ms = 0;
    std::uint32_t wait_ms = 0;
    std::string call_id;
    std::string caller_id;
    bool operator==(const Abandoned&) const = default;
  };
  struct Queue {
    std::string name;
    Counts total;
    std::vector<Minute> ring;  // the minutes in use, any order
    // The latest day of the site's calls and the one kept before it (kNever: none).
    std::int64_t today_day = kNever;
    Counts today;
    std::int64_t earlier_day = kNever;
    Counts earlier;
    // The same by the contract's days when its zone is not the site's, and that zone's name
    // (contract_day kNever: not kept; the calls of the day holding now, and of a later day the
    // rows reach, are then summed again from them, as when the zone has changed).
    std::int64_t contract_day = kNever;
    Counts contract_today;
    std::int64_t contract_earlier_day = kNever;
    Counts contract_earlier;
    std::string contract_zone;
    std::vector<Row> rows;
    Histogram answered_wait;
    Histogram abandoned_wait;
    Histogram handle_time;
    std::vector<Waiting> waiting;
    std::uint64_t ledger_met = 0;
    std::uint64_t ledger_missed = 0;
    std::array<std::uint64_t, kAgentStateCount> agent_state_ms{};
    std::vector<Abandoned> abandoned;  // oldest first
    bool operator==(const Queue&) const = default;
  };
  struct Agent {
    std::string name;
    AgentState state = AgentState::kLoggedOut;
    bool paused = false;
    AgentState pause_state = AgentState::kNotReady;
    std::int64_t since_ms = 0;
    std::vector<std::string> queues;
    bool operator==(const Agent&) const = default;
  };
  struct Link {
    std::string name;
    bool up = false;
    double rtt_ms = 0;
    double jitter_ms = 0;
    double loss_ratio = 0;
    std::int64_t last_ms = 0;
    bool operator==(const Link&) const = default;
  };
  struct Instance {
    std::string name;
    std::uint64_t last_seq = 0;
    std::int64_t watermark_ms = kNever;
    std::vector<std::int64_t> held;  // event times held back from the watermark
    std::uint32_t held_n = 0;
    std::uint64_t held_call = 0;
    bool operator==(const Instance&) const = default;
  };
  struct Site {
    std::string id;
    std::int64_t last_seen_ms = 0;
    std::int64_t event_watermark_ms = kNever;
    std::int64_t close_watermark_ms = kNever;
    std::int64_t clock_skew_ms = 0;
    std::uint64_t spool_backlog = 0;
    std::uint64_t spool_dropped = 0;
    std::uint64_t lines_rejected = 0;
    std::uint64_t replicas_given_up = 0;
    std::uint32_t heartbeat_interval_ms = 0;
    std::string last_instance;
    std::string version;
    std::vector<Instance> instances;
    std::vector<Queue> queues;
    std::vector<Agent> agents;
    std::vector<Link> links;
    bool operator==(const Site&) const = default;
  };

  IngestStats stats;
  std::vector<Site> sites;
  bool operator==(const EngineState&) const = default;
};

}  // namespace ccmon::collector
