// Gives every value of an engine state that is not a key a distinct non-zero value (keys,
// vector sizes and sentinels keep what the engine made), so that a codec or an import that
// drops, swaps or truncates any field shows in a comparison.
#pragma once

#include <cstdint>

#include "ccmon/collector/engine_state.h"

namespace ccmon::collector::testing {

inline void FillDistinct(EngineState* state) {
  std::uint64_t v = 1000;
  auto u = [&] { return v++; };
  auto i = [&] { return static_cast<std::int64_t>(v++); };
  auto counts = [&](Counts* c) {
    for (std::uint64_t* f :
         {&c->offered, &c->answered, &c->answered_in_threshold, &c->abandoned,
          &c->abandoned_in_threshold, &c->short_abandoned, &c->answered_wait_unknown,
          &c->abandoned_wait_unknown, &c->completed, &c->transferred, &c->handled,
          &c->answered_wait_ms, &c->abandoned_wait_ms, &c->handle_ms, &c->on_call_ms, &c->acw_ms,
          &c->ready_ms}) {
      *f = u();
    }
    for (auto& n : c->unanswered) n = u();
  };
  auto histogram = [&](EngineState::Histogram* h) {
    for (auto& n : h->counts) n = u();
    h->sum_ms = u();
    h->count = u();
  };
  IngestStats& st = state->stats;
  for (std::uint64_t* f :
       {&st.accepted, &st.duplicate, &st.late, &st.reconstructed, &st.sequence_gaps,
        &st.intervals_closed, &st.clock_anomaly, &st.ledger_amendments, &st.ledger_too_old}) {
    *f = u();
  }
  for (auto& [reason, n] : st.invalid_by_reason) n = u();
  for (EngineState::Site& s : state->sites) {
    s.last_seen_ms = i();
    s.event_watermark_ms = i();
    s.close_watermark_ms = i();
    s.clock_skew_ms = i();
    s.spool_backlog = u();
    s.spool_dropped = u();
    s.lines_rejected = u();
    s.replicas_given_up = u();
    s.heartbeat_interval_ms = static_cast<std::uint32_t>(u());
    s.last_instance = "instance-" + std::to_string(u());
    s.version = "v" + std::to_string(u());
    for (EngineState::Instance& in : s.instances) {
      in.last_seq = u();
      in.watermark_ms = i();
      for (auto& t : in.held) t = i();
      in.held_n = 3;  // below the engine's bound
      in.held_call = u();
    }
    for (EngineState::Queue& q : s.queues) {
      counts(&q.total);
      for (EngineState::Minute& m : q.ring) {
        counts(&m.counts);
        m.mos_milli_sum = u();
        m.mos_samples = u();
      }
      // Each earlier day before its newest, as the engine keeps them.
      q.earlier_day = i();
      counts(&q.earlier);
      q.today_day = i();
      counts(&q.today);
      q.contract_earlier_day = i();
      counts(&q.contract_earlier);
      q.contract_day = i();
      counts(&q.contract_today);
      for (EngineState::Row& r : q.rows) {
        counts(&r.counts);
        r.late = u();
        r.rebuilt = u();
        r.pending_late = u();
        r.closed_ms = i();
        r.changed_ms = i();
        r.revision = static_cast<std::uint32_t>(u());
        r.closed = true;
        r.dirty = true;
      }
      histogram(&q.answered_wait);
      histogram(&q.abandoned_wait);
      histogram(&q.handle_time);
      for (EngineState::Waiting& w : q.waiting) w.since_ms = i();
      q.ledger_met = u();
      q.ledger_missed = u();
      for (auto& ms : q.agent_state_ms) ms = u();
      for (EngineState::Abandoned& a : q.abandoned) {
        a.time_ms = i();
        a.wait_ms = static_cast<std::uint32_t>(u());
        a.caller_id = "+1555" + std::to_string(u());
      }
    }
    for (EngineState::Agent& a : s.agents) {
      a.state = AgentState::kOnCall;
      a.paused = true;
      a.pause_state = AgentState::kAfterCallWork;
      a.since_ms = i();
    }
    for (EngineState::Link& l : s.links) {
      l.up = true;
      l.rtt_ms = static_cast<double>(u()) + 0.25;
      l.jitter_ms = static_cast<double>(u()) + 0.5;
      l.loss_ratio = 0.125;
      l.last_ms = i();
    }
  }
}

}  // namespace ccmon::collector::testing
