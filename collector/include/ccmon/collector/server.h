// The collector process: engine, gRPC (Ingest, Monitor, health, reflection), /metrics and the
// ticker, wired together. Thread-safe.
#pragma once

#include <absl/status/statusor.h>

#include <memory>

#include "ccmon/collector/clock.h"
#include "ccmon/collector/options.h"

namespace ccmon::collector {

class Server {
 public:
  // What Start would refuse in the configuration (plaintext off loopback, TLS files that
  // cannot be read, a continuity rules file that does not load), without opening the data
  // directory or the ledger, listening, or sending alerts.
  static absl::Status CheckConfig(const CollectorOptions& options);
  // Binds every listener (port 0 picks a free port) and starts serving.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const CollectorOptions& options,
                                                       const Clock& clock);
  virtual ~Server() = default;
  virtual int grpc_port() const = 0;
  virtual int metrics_port() const = 0;
  // Stops taking streams, lets open RPCs finish within the deadline, stops the ticker.
  virtual void Shutdown() = 0;
};

}  // namespace ccmon::collector
