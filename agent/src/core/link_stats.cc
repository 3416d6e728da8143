#include "ccmon/agent/link_stats.h"

#include <cmath>

namespace ccmon::agent {

void LinkStats::Record(bool ok, double rtt_ms, bool timed) {
  results_.push_back(ok);
  if (!ok) ++failures_;
  if (results_.size() > window_) {
    if (!results_.front()) --failures_;
    results_.pop_front();
  }
  f_.up = ok;
  f_.loss_ratio = static_cast<double>(failures_) / static_cast<double>(results_.size());
  if (!ok || !timed) return;
  if (have_rtt_) f_.jitter_ms += (std::fabs(rtt_ms - f_.rtt_ms) - f_.jitter_ms) / 16.0;
  f_.rtt_ms = rtt_ms;
  have_rtt_ = true;
}

}  // namespace ccmon::agent
