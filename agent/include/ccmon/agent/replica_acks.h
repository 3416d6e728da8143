// What a set of collector replicas has acknowledged. Every event goes to each replica; the
// spool may forget an event only once every replica it still follows has acknowledged it. A
// replica that stays away until the spool is full is given up (the others go on): the spool
// no longer waits for it, and it follows again once it has caught up with the others.
// Not thread-safe: callers hold the spool's mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ccmon::agent {

class ReplicaAcks {
 public:
  explicit ReplicaAcks(std::size_t replicas);

  std::size_t size() const { return acked_.size(); }
  // Replica r has applied everything up to seq (acks only move forward). Returns the sequence
  // number every followed replica has acknowledged: what the spool may forget.
  std::uint64_t Ack(std::size_t r, std::uint64_t seq);
  std::uint64_t acked(std::size_t r) const { return acked_[r]; }
  // The lowest ack among the followed replicas.
  std::uint64_t Min() const;
  // The spool is full and waiting: gives up the followed replicas furthest behind when another
  // followed replica is ahead of them. Returns the replicas given up now (none when all are
  // level, e.g. every collector down: the block policy then holds input back).
  std::vector<std::size_t> GiveUpLagging();
  bool given_up(std::size_t r) const { return given_up_[r]; }
  // Times a replica was given up since the agent started.
  std::uint64_t given_up_total() const { return given_up_total_; }

 private:
  std::vector<std::uint64_t> acked_;
  std::vector<bool> given_up_;
  std::uint64_t given_up_total_ = 0;
};

}  // namespace ccmon::agent
