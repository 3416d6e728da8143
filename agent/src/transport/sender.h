// Streams spooled events to a collector over gRPC: hello, resume from the collector's last
// applied sequence number, batches with a bounded number in flight, cumulative acks;
// reconnects with exponential backoff and jitter. A SenderSet runs one Sender per collector
// replica: each replica gets every event, and the spool forgets an event once every replica
// it follows has acknowledged it. Thread-safe: each Sender runs on its own thread and touches
// the spool (and the replicas' acks) only under the shared mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "ccmon/agent/replica_acks.h"
#include "ccmon/agent/spool.h"

namespace ccmon::agent {

struct SenderOptions {
  std::string collector;  // HOST:PORT (a SenderSet: HOST:PORT,HOST:PORT... one per replica)
  std::string site;
  std::string version;
  std::size_t batch_max = 256;
  std::size_t max_in_flight_batches = 8;
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{10000};
  // PEM contents (not paths); empty tls_ca means plaintext.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string token;
  // Called (on the sender's thread) with each Welcome's contract SL thresholds: per queue
  // the collector names, and the default for the others.
  std::function<void(const std::map<std::string, double>&, double)> on_thresholds;
  // Live status (AgentStatus) period, and whether the agent has paused its sources now (called
  // on the sender's thread; may be empty).
  std::chrono::milliseconds status_interval{2000};
  std::function<bool()> paused;
  // Input files the agent cannot read now (called on the sender's thread; may be empty).
  std::function<std::uint32_t()> sources_waiting;
};

class Sender {
 public:
  // `acks` (guarded by spool_mu) holds what each replica acknowledged; this sender is replica
  // `replica` of it.
  Sender(SenderOptions options, Spool& spool, std::mutex& spool_mu, ReplicaAcks& acks,
         std::size_t replica);
  ~Sender();

  // Runs sessions until Stop(). `paused` (may be empty) holds the sender back while true,
  // e.g. during a simulated WAN outage.
  void Run(const std::function<bool()>& paused);
  // Runs sessions until everything committed so far is acked or the deadline passes, or
  // `give_up` (may be empty) says this replica was given up.
  bool DrainUntilAcked(std::chrono::steady_clock::time_point deadline,
                       const std::function<bool()>& give_up = {});
  void Stop();
  // Waits (while Run goes on) until everything up to seq is acked; false at the deadline.
  bool WaitAcked(std::uint64_t seq, std::chrono::steady_clock::time_point deadline);
  // Wakes the sender after new events were committed.
  void Notify();

  bool connected() const { return connected_.load(); }
  // The connection to the collector is up now (a stream may or may not be open on it).
  bool reachable() const;
  // The collector refused this agent's identity (wrong certificate or token): retrying cannot
  // help until someone fixes the configuration.
  bool refused() const { return refused_.load(); }
  std::uint64_t acked() const { return acked_.load(); }

 private:
  struct Channel;
  // One stream; returns true if it got a welcome (resets the backoff).
  bool Session(const std::function<bool()>& done);
  void Backoff(std::chrono::milliseconds* delay);
  void ReportFailure(const std::string& address, const std::string& why);

  // Records replica_'s ack and lets the spool forget what every followed replica has.
  void AckLocked(std::uint64_t seq);

  SenderOptions opt_;
  Spool& spool_;
  std::mutex& spool_mu_;
  ReplicaAcks& acks_;
  const std::size_t replica_;
  std::unique_ptr<Channel> channel_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::atomic<bool> refused_{false};
  bool not_connected_ = false;  // the last session found no connection (sender thread only)
  std::string last_failure_;    // the last reason a stream was not accepted (sender thread)
  // Spooled events go on the wire as stored. Once a collector has refused a stream as
  // unparseable, each record is decoded first and one that does not decode goes as an empty
  // event with its seq, so that one bad record cannot stop delivery; once the collector has
  // acknowledged past what was committed at the refusal, events go as stored again (sender
  // thread only).
  bool verify_records_ = false;
  std::uint64_t verify_until_ = 0;
  std::atomic<std::uint64_t> acked_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t wake_ = 0;
};

// The collector replicas of an agent: one Sender each, the same interface as one Sender. An
// event counts as delivered (acked(), DrainUntilAcked) once every replica has it.
class SenderSet {
 public:
  // options.collector lists the replicas, comma-separated.
  SenderSet(const SenderOptions& options, Spool& spool, std::mutex& spool_mu);
  ~SenderSet();

  void Run(const std::function<bool()>& paused);  // every replica, until Stop()
  bool DrainUntilAcked(std::chrono::steady_clock::time_point deadline);
  void Stop();
  bool WaitAcked(std::uint64_t seq, std::chrono::steady_clock::time_point deadline);
  void Notify();
  // The lowest ack of the replicas followed.
  std::uint64_t acked() const;
  // The spool is full: gives up the replicas furthest behind the others (logged at error and
  // counted in given_up_total()) so that the others go on. Caller holds spool_mu.
  void GiveUpLaggingLocked();
  std::uint64_t given_up_total_locked() const { return acks_.given_up_total(); }
  std::size_t size() const { return senders_.size(); }

 private:
  Spool& spool_;
  std::mutex& spool_mu_;
  std::vector<std::string> addresses_;
  ReplicaAcks acks_;
  std::vector<std::unique_ptr<Sender>> senders_;
};

}  // namespace ccmon::agent
