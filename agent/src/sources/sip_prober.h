// Probes SIP trunks with OPTIONS at an interval on the agent's io_context and reports link
// samples of kind sip_trunk: up for a final answer of class 2xx-4xx, down for 5xx/6xx or no
// final answer within the deadline (the interval, at most 2 s). UDP: one connected socket per
// trunk, kept open across probes, answers matched to the probe in flight by Via branch, Call-ID
// and CSeq (a late answer to an earlier probe is ignored); the trunk must answer from the
// address it is probed at (symmetric SIP, RFC 4961). TCP: a connection per probe, read until
// the final answer's head and Content-Length body. Each probe is one request, never
// retransmitted: a lost datagram is a lost probe (the loss ratio). Single-threaded: everything
// runs on the io_context's thread.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string_view>
#include <vector>

#include "ccmon/agent/event_sink.h"
#include "ccmon/agent/probe_target.h"
#include "ccmon/model/event.h"
#include "ccmon/time/clock.h"

namespace ccmon::agent {

class SipProber {
 public:
  SipProber(asio::io_context& io, std::vector<ProbeTarget> targets,
            std::chrono::milliseconds interval, EventSink sink, const Clock& clock);
  void Start();

 private:
  struct Probe;
  using ProbePtr = std::shared_ptr<Probe>;
  void Schedule(const ProbePtr& p);
  void Run(const ProbePtr& p);
  void RunUdp(const ProbePtr& p);
  void SendUdp(const ProbePtr& p, const asio::ip::udp::endpoint& to);
  void SendUdpRequest(const ProbePtr& p, std::chrono::milliseconds next);
  void ReceiveUdp(const ProbePtr& p);
  void OnDatagram(const ProbePtr& p, std::string_view data);
  void RunTcp(const ProbePtr& p);
  void ReadTcp(const ProbePtr& p, std::uint64_t run);
  // Takes the answers complete in the TCP buffer; true once the probe has finished.
  bool ConsumeTcp(const ProbePtr& p);
  void NewRequest(Probe& p, const std::string& local_host, std::uint16_t local_port);
  // Ends the probe in flight: status 0 = no final answer. Reports the sample, schedules the next.
  void Finish(const ProbePtr& p, int status, std::string_view reason);

  asio::io_context& io_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds timeout_;
  EventSink sink_;
  const Clock& clock_;  // stamps the samples
  std::vector<ProbePtr> probes_;
  std::mt19937_64 rng_;
};

}  // namespace ccmon::agent
