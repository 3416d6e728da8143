// Erlang C staffing and the E-model MOS estimate. Pure functions; thread-safe.
#pragma once

#include <cstdint>

namespace ccmon::collector {

// Probability that a call waits (Erlang C) with `agents` servers and `traffic_erlangs` load.
// Returns 1 when agents <= traffic (the queue is unstable).
double ErlangC(std::uint32_t agents, double traffic_erlangs);

// Fraction of calls answered within threshold_s under Erlang C assumptions.
double ErlangCServiceLevel(std::uint32_t agents, double arrivals_per_s, double aht_s,
                           double threshold_s);

// Smallest number of agents whose Erlang C service level reaches `target` (0 when there is no
// load); capped at max_agents.
std::uint32_t ErlangCAgentsRequired(double arrivals_per_s, double aht_s, double threshold_s,
                                    double target, std::uint32_t max_agents = 5000);

// Mean opinion score (1..4.5) from network figures by the simplified ITU-T G.107 E-model
// for G.711: effective latency from one-way delay and jitter, impairment from loss.
double MosFromNetwork(double rtt_ms, double jitter_ms, double loss_ratio);

}  // namespace ccmon::collector
