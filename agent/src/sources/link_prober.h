// Probes named links by timing TCP connects at an interval on the agent's io_context and
// reports link samples. Single-threaded: everything runs on the io_context's thread.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ccmon/agent/agent.h"
#include "ccmon/agent/link_stats.h"
#include "ccmon/model/event.h"

namespace ccmon::agent {

class LinkProber {
 public:
  using Sink = std::function<void(const Event&)>;
  LinkProber(asio::io_context& io, std::vector<ProbeTarget> targets,
             std::chrono::milliseconds interval, Sink sink);
  void Start();

 private:
  struct Probe;
  void Schedule(const std::shared_ptr<Probe>& p);
  void Run(const std::shared_ptr<Probe>& p);

  asio::io_context& io_;
  std::chrono::milliseconds interval_;
  Sink sink_;
  std::vector<std::shared_ptr<Probe>> probes_;
};

}  // namespace ccmon::agent
