// Streams spooled events to the collector over gRPC: hello, resume from the collector's
// last applied sequence number, batches with a bounded number in flight, cumulative acks;
// reconnects with exponential backoff and jitter. Thread-safe: runs on its own thread and
// touches the spool only under the shared mutex.
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

#include "ccmon/agent/spool.h"

namespace ccmon::agent {

struct SenderOptions {
  std::string collector;  // HOST:PORT
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
};

class Sender {
 public:
  Sender(SenderOptions options, Spool& spool, std::mutex& spool_mu);
  ~Sender();

  // Runs sessions until Stop(). `paused` (may be empty) holds the sender back while true,
  // e.g. during a simulated WAN outage.
  void Run(const std::function<bool()>& paused);
  // Runs sessions until everything committed so far is acked or the deadline passes.
  bool DrainUntilAcked(std::chrono::steady_clock::time_point deadline);
  void Stop();
  // Waits (while Run goes on) until everything up to seq is acked; false at the deadline.
  bool WaitAcked(std::uint64_t seq, std::chrono::steady_clock::time_point deadline);
  // Wakes the sender after new events were committed.
  void Notify();

  bool connected() const { return connected_.load(); }
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

  SenderOptions opt_;
  Spool& spool_;
  std::mutex& spool_mu_;
  std::unique_ptr<Channel> channel_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::atomic<bool> refused_{false};
  bool not_connected_ = false;  // the last session found no connection (sender thread only)
  std::string last_failure_;    // the last reason a stream was not accepted (sender thread)
  std::atomic<std::uint64_t> acked_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t wake_ = 0;
};

}  // namespace ccmon::agent
