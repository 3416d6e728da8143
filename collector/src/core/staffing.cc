#include "ccmon/collector/staffing.h"

#include <algorithm>
#include <cmath>

namespace ccmon::collector {

namespace {

// Erlang B at n agents from Erlang B at n - 1 (the numerically stable recursion; B(0) = 1).
double NextErlangB(double b, std::uint32_t n, double a) {
  return a * b / (static_cast<double>(n) + a * b);
}
// Erlang C (probability of waiting) at n > a agents from Erlang B at n.
double ErlangCFromB(double b, double n, double a) { return n * b / (n - a * (1 - b)); }
// Share answered within the threshold, given the probability of waiting c at n > a agents.
double ServiceLevelFromC(double c, double n, double a, double aht_s, double threshold_s) {
  return 1 - c * std::exp(-(n - a) * threshold_s / aht_s);
}

}  // namespace

double ErlangC(std::uint32_t agents, double traffic_erlangs) {
  if (traffic_erlangs <= 0) return 0;
  if (agents == 0 || static_cast<double>(agents) <= traffic_erlangs) return 1;
  double b = 1;
  for (std::uint32_t n = 1; n <= agents; ++n) b = NextErlangB(b, n, traffic_erlangs);
  return ErlangCFromB(b, agents, traffic_erlangs);
}

double ErlangCServiceLevel(std::uint32_t agents, double arrivals_per_s, double aht_s,
                           double threshold_s) {
  const double a = arrivals_per_s * aht_s;
  if (a <= 0) return 1;
  if (static_cast<double>(agents) <= a) return 0;
  return ServiceLevelFromC(ErlangC(agents, a), agents, a, aht_s, threshold_s);
}

std::uint32_t ErlangCAgentsRequired(double arrivals_per_s, double aht_s, double threshold_s,
                                    double target, std::uint32_t max_agents) {
  const double a = arrivals_per_s * aht_s;
  if (a <= 0 || aht_s <= 0) return 0;
  // Fewer agents than the traffic in Erlangs never clear the queue.
  if (a + 1 >= static_cast<double>(max_agents)) return max_agents;
  // One pass of the Erlang B recursion, so each candidate n costs O(1) (recomputing ErlangC(n)
  // from scratch made this quadratic in the traffic, and it runs for every queue on every
  // snapshot). Below the traffic the recursion forgets where it started by a factor n / a per
  // step, so it starts 10 standard deviations (10 sqrt(a)) below a from the heavy-traffic value
  // 1 - n / a: what is left of that start by n = a is below exp(-50), under a double's
  // rounding. Heavy queues then cost O(sqrt(a)) steps, not O(a).
  std::uint32_t n0 = 0;
  double b = 1;
  if (const double below = a - 10 * std::sqrt(a); below >= 1) {
    n0 = static_cast<std::uint32_t>(below);
    b = 1 - static_cast<double>(n0) / a;
  }
  for (std::uint32_t n = n0 + 1; n < max_agents; ++n) {
    b = NextErlangB(b, n, a);
    if (n <= a) continue;
    if (ServiceLevelFromC(ErlangCFromB(b, n, a), n, a, aht_s, threshold_s) >= target) return n;
  }
  return max_agents;
}

double MosFromNetwork(double rtt_ms, double jitter_ms, double loss_ratio) {
  // Cole & Rosenbluth's reduction of G.107 for G.711 with packet loss concealment.
  const double effective_latency = rtt_ms / 2 + 2 * jitter_ms + 10;
  double r = 93.2;
  r -= effective_latency < 160 ? effective_latency / 40 : (effective_latency - 120) / 10;
  r -= 2.5 * std::clamp(loss_ratio, 0.0, 1.0) * 100;
  if (r <= 0) return 1;
  r = std::min(r, 100.0);
  const double mos = 1 + 0.035 * r + 0.000007 * r * (r - 60) * (100 - r);
  return std::clamp(mos, 1.0, 4.5);
}

}  // namespace ccmon::collector
