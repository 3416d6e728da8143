// Where every event source of the agent (queue_log, JSON lines, the simulator, link and SIP
// probes) hands the events it makes: one type for all of them.
#pragma once

#include <functional>

#include "ccmon/model/event.h"

namespace ccmon::agent {

using EventSink = std::function<void(const Event&)>;

}  // namespace ccmon::agent
