// Probes named links by timing TCP connects at an interval on the agent's io_context and
// reports link samples. Single-threaded: everything runs on the io_context's thread.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ccmon/agent/event_sink.h"
#include "ccmon/agent/link_stats.h"
#include "ccmon/agent/probe_target.h"
#include "ccmon/model/event.h"
#include "ccmon/time/clock.h"

namespace ccmon::agent {

class LinkProber {
 public:
  LinkProber(asio::io_context& io, std::vector<ProbeTarget> targets,
             std::chrono::milliseconds interval, EventSink sink, const Clock& clock);
  void Start();

 private:
  struct Probe;
  void Schedule(const std::shared_ptr<Probe>& p);
  void Run(const std::shared_ptr<Probe>& p);

  asio::io_context& io_;
  std::chrono::milliseconds interval_;
  EventSink sink_;
  const Clock& clock_;  // stamps the samples
  std::vector<std::shared_ptr<Probe>> probes_;
};

}  // namespace ccmon::agent
