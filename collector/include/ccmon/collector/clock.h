// The collector's injected time source: the one clock of ccmon (ccmon/time/clock.h), named in
// the collector's namespace.
#pragma once

#include "ccmon/time/clock.h"

namespace ccmon::collector {

using ::ccmon::Clock;
using ::ccmon::FakeClock;
using ::ccmon::SystemClock;

}  // namespace ccmon::collector
