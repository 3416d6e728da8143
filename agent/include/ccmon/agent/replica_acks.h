// What a set of collector replicas has acknowledged. Every event goes to each replica; the
// spool may forget an event only once every replica it still follows has acknowledged it. A
// replica that has been away (no stream, no ack) for a while when the spool is full, while
// another replica heard from within that while is ahead of it, is given up: the spool no longer
// waits for it, so the others go on. A connected replica is never given up (a slow one holds
// input back, as one collector would), nor is any when none was heard from lately (a WAN
// outage: the block policy holds).
// A replica given up follows again once it has caught up with the others.
// Not thread-safe: callers hold the spool's mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ccmon::agent {

class ReplicaAcks {
 public:
  // Every replica starts at what the spool has already forgotten (`acked`) and away since
  // `now_ms`.
  ReplicaAcks(std::size_t replicas, std::uint64_t acked, std::int64_t now_ms);

  std::size_t size() const { return acked_.size(); }
  // Replica r has applied everything up to seq (acks only move forward). Returns the sequence
  // number every followed replica has acknowledged: what the spool may forget.
  std::uint64_t Ack(std::size_t r, std::uint64_t seq);
  // Replica r's stream opened with the collector at `seq`, which may be lower than what it
  // acknowledged before (a replica rebuilt from an older copy). Returns what the spool may forget.
  std::uint64_t Welcome(std::size_t r, std::uint64_t seq);
  // Replica r was heard from (a welcome or an ack) at now_ms.
  void Contact(std::size_t r, std::int64_t now_ms) { last_contact_ms_[r] = now_ms; }
  // Replica r's stream closed at now_ms.
  void Disconnected(std::size_t r, std::int64_t now_ms);
  std::uint64_t acked(std::size_t r) const { return acked_[r]; }
  bool connected(std::size_t r) const { return connected_[r]; }
  // The lowest ack among the followed replicas.
  std::uint64_t Min() const;
  // The spool is full: gives up the followed replicas not heard from for `away_ms` while a
  // followed replica heard from within it is ahead of them. Returns the replicas given up now.
  std::vector<std::size_t> GiveUpAway(std::int64_t now_ms, std::int64_t away_ms);
  bool given_up(std::size_t r) const { return given_up_[r]; }
  // Times a replica was given up since the agent started.
  std::uint64_t given_up_total() const { return given_up_total_; }

 private:
  std::vector<std::uint64_t> acked_;
  std::vector<bool> given_up_;
  std::vector<bool> connected_;
  std::vector<std::int64_t> last_contact_ms_;
  std::uint64_t given_up_total_ = 0;
};

}  // namespace ccmon::agent
