// Link quality from successive probe results: loss over a sliding window of probes and
// RFC 3550-style interarrival jitter computed on successive round-trip times. Pure; not
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

namespace ccmon::agent {

struct LinkFigures {
  bool up = false;        // the last probe succeeded
  double rtt_ms = 0;      // of the last successful probe
  double jitter_ms = 0;   // J += (|D| - J) / 16 over successive successful RTTs
  double loss_ratio = 0;  // failed probes / probes in the window
};

class LinkStats {
 public:
  explicit LinkStats(std::size_t window = 20) : window_(window) {}
  // One probe's result. `timed` false: answered, but its round trip is ambiguous (the
  // answer may be to a retransmission: Karn's rule) and is left out of rtt and jitter.
  void Record(bool ok, double rtt_ms, bool timed = true);
  LinkFigures figures() const { return f_; }

 private:
  std::size_t window_;
  std::deque<bool> results_;
  std::size_t failures_ = 0;
  bool have_rtt_ = false;
  LinkFigures f_;
};

}  // namespace ccmon::agent
