#include "ccmon/agent/replica_acks.h"

#include <algorithm>
#include <limits>

namespace ccmon::agent {

ReplicaAcks::ReplicaAcks(std::size_t replicas, std::uint64_t acked, std::int64_t now_ms)
    : acked_(std::max<std::size_t>(replicas, 1), acked),
      given_up_(acked_.size(), false),
      connected_(acked_.size(), false),
      last_contact_ms_(acked_.size(), now_ms) {}

std::uint64_t ReplicaAcks::Min() const {
  std::uint64_t min = std::numeric_limits<std::uint64_t>::max();
  for (std::size_t r = 0; r < acked_.size(); ++r) {
    if (!given_up_[r]) min = std::min(min, acked_[r]);
  }
  // Every replica given up cannot happen (GiveUpAway keeps a connected one), but an empty
  // minimum must never let the spool forget what nobody has.
  return min == std::numeric_limits<std::uint64_t>::max() ? 0 : min;
}

std::uint64_t ReplicaAcks::Ack(std::size_t r, std::uint64_t seq) {
  acked_[r] = std::max(acked_[r], seq);
  // A replica given up follows again once it has what the others have.
  if (given_up_[r] && acked_[r] >= Min()) given_up_[r] = false;
  return Min();
}

std::uint64_t ReplicaAcks::Welcome(std::size_t r, std::uint64_t seq) {
  connected_[r] = true;
  acked_[r] = seq;
  if (given_up_[r] && acked_[r] >= Min()) given_up_[r] = false;
  return Min();
}

void ReplicaAcks::Disconnected(std::size_t r, std::int64_t now_ms) {
  if (connected_[r]) last_contact_ms_[r] = now_ms;
  connected_[r] = false;
}

std::vector<std::size_t> ReplicaAcks::GiveUpAway(std::int64_t now_ms, std::int64_t away_ms) {
  // The replicas heard from lately, and how far the furthest of them has got.
  std::uint64_t live_lead = 0;
  bool any_live = false;
  for (std::size_t r = 0; r < acked_.size(); ++r) {
    if (!given_up_[r] && (connected_[r] || now_ms - last_contact_ms_[r] <= away_ms)) {
      any_live = true;
      live_lead = std::max(live_lead, acked_[r]);
    }
  }
  std::vector<std::size_t> out;
  if (!any_live) return out;
  for (std::size_t r = 0; r < acked_.size(); ++r) {
    if (given_up_[r] || connected_[r] || acked_[r] >= live_lead) continue;
    if (now_ms - last_contact_ms_[r] < away_ms) continue;
    given_up_[r] = true;
    ++given_up_total_;
    out.push_back(r);
  }
  return out;
}

}  // namespace ccmon::agent
