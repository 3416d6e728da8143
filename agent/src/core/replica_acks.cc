#include "ccmon/agent/replica_acks.h"

#include <algorithm>
#include <limits>

namespace ccmon::agent {

ReplicaAcks::ReplicaAcks(std::size_t replicas)
    : acked_(std::max<std::size_t>(replicas, 1), 0),
      given_up_(std::max<std::size_t>(replicas, 1), false) {}

std::uint64_t ReplicaAcks::Min() const {
  std::uint64_t min = std::numeric_limits<std::uint64_t>::max();
  for (std::size_t r = 0; r < acked_.size(); ++r) {
    if (!given_up_[r]) min = std::min(min, acked_[r]);
  }
  // Every replica given up cannot happen (GiveUpLagging keeps the leaders), but an empty
  // minimum must never let the spool forget what nobody has.
  return min == std::numeric_limits<std::uint64_t>::max() ? 0 : min;
}

std::uint64_t ReplicaAcks::Ack(std::size_t r, std::uint64_t seq) {
  acked_[r] = std::max(acked_[r], seq);
  // A replica given up follows again once it has what the others have.
  if (given_up_[r] && acked_[r] >= Min()) given_up_[r] = false;
  return Min();
}

std::vector<std::size_t> ReplicaAcks::GiveUpLagging() {
  std::uint64_t lead = 0;
  for (std::size_t r = 0; r < acked_.size(); ++r) {
    if (!given_up_[r]) lead = std::max(lead, acked_[r]);
  }
  const std::uint64_t min = Min();
  std::vector<std::size_t> out;
  if (lead == min) return out;
  for (std::size_t r = 0; r < acked_.size(); ++r) {
    if (!given_up_[r] && acked_[r] == min) {
      given_up_[r] = true;
      ++given_up_total_;
      out.push_back(r);
    }
  }
  return out;
}

}  // namespace ccmon::agent
