// Deterministic call-centre simulator for demos and tests: Poisson arrivals with an intraday
// curve, patience and handle-time distributions, agents with states, breaks, after-call work
// and reason codes, link samples and voice quality, and named disaster scenarios.
// Driven by the caller's clock (Advance); no threads, no I/O. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ccmon/agent/event_sink.h"
#include "ccmon/model/event.h"

namespace ccmon::agent {

struct SimulatorOptions {
  std::uint64_t seed = 1;
  // normal | typhoon | wan-outage | voice-degradation | surge
  std::string scenario = "normal";
  std::vector<std::string> queues = {"billing", "support", "sales"};
  int agents = 12;
  // Mean arrivals per queue per minute at the intraday curve's mean.
  double calls_per_minute = 0.8;
  double mean_handle_s = 180;
  double mean_patience_s = 90;
  double mean_acw_s = 15;
  // Queue timeout (EXITWITHTIMEOUT) in seconds.
  double queue_timeout_s = 600;
  // When the scenario's disaster begins and how long it lasts, relative to start.
  double disaster_at_s = 120;
  double disaster_for_s = 180;
  // Name of the simulated WAN link in link samples; empty disables link samples.
  std::string link = "wan";
  double link_sample_every_s = 5;
};

// Ground truth per queue, counted by the simulator as it emits (for tests).
struct SimTruth {
  std::uint64_t offered = 0;
  std::uint64_t answered = 0;
  std::uint64_t answered_within_20s = 0;
  std::uint64_t abandoned = 0;
  std::uint64_t short_abandoned_5s = 0;  // wait < 5 s
  std::uint64_t timed_out = 0;
  std::uint64_t completed = 0;
};

class Simulator {
 public:
  // Simulated time starts at start_ms (Unix ms).
  Simulator(SimulatorOptions options, std::int64_t start_ms);
  ~Simulator();

  // Emits, in time order, every event with time <= now_ms. Calls still waiting or talking at
  // now_ms are emitted later. Event seq fields are 0 (the spool numbers them).
  void Advance(std::int64_t now_ms, const EventSink& sink);

  // True while the scenario's WAN outage is on (the agent then holds its sender back).
  bool WanDown(std::int64_t now_ms) const;

  const std::map<std::string, SimTruth>& truth() const;
  // Truth as "queue offered answered answered_within_20s abandoned short_abandoned_5s
  // timed_out completed" lines, sorted by queue.
  std::string TruthText() const;

  static bool KnownScenario(const std::string& name);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ccmon::agent
