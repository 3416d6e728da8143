// ccmon-ctl: the operator's terminal face of the Monitor API.
#pragma once

#include <ostream>

namespace ccmon::ctl {

// Runs one ccmon-ctl command line; returns the process exit code (0 ok, 1 collector error or
// unreachable, 2 usage).
int Run(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace ccmon::ctl
