// The forecast CSV a contract names (docs/contracts.md): "queue,interval_start,offered" lines,
// interval_start local "YYYY-MM-DD HH:MM" in the contract's zone. Thread-safe (pure).
#pragma once

#include <absl/status/statusor.h>

#include <string>
#include <vector>

#include "ccmon/collector/config.h"

namespace ccmon::collector {

// Parses `text` (read from `path`, named in errors as path:line) for client `c`. A `shared`
// file (named in defaults) gives each client its own queues' lines; a client's own file may
// name only its queues. Every mistake is an error: unknown queue, duplicate interval, a start
// off the queue's interval boundary or skipped by a DST change, a bad count.
absl::StatusOr<std::vector<ForecastEntry>> ParseForecast(const std::string& text,
                                                         const std::string& path,
                                                         const ClientConfig& c, bool shared);

}  // namespace ccmon::collector
