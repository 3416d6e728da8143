// The terminal wallboard of `ccmon-ctl top`.
#pragma once

#include <ostream>
#include <string>

#include "ccmon/v1/monitor.grpc.pb.h"

namespace ccmon::ctl {

struct TopView {
  std::string sort = "queue";  // queue | sl | waiting
  std::string client;          // empty: all
  std::string site;            // empty: all
};

// One frame as text (ANSI colours when color is set); exposed for tests.
std::string RenderTop(const v1::Snapshot& snap, const TopView& view, int width, int height,
                      bool color, const std::string& target);

// Runs until 'q', SIGINT or SIGTERM; restores the terminal. Returns the exit code.
int RunTop(v1::Monitor::Stub& stub, const std::string& target, const TopView& initial,
           const std::string& token, std::ostream& err);

}  // namespace ccmon::ctl
