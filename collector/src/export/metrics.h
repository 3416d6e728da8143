// Prometheus exposition built from an engine snapshot at scrape time (no per-event
// registry work). Thread-safe: Collect() takes a snapshot under the engine lock and renders
// without it.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "engine_host.h"

namespace ccmon::collector {

class MetricsCollectable final : public prometheus::Collectable {
 public:
  explicit MetricsCollectable(EngineHost& host) : host_(host) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  EngineHost& host_;
};

// Builds the families from a snapshot plus pipeline counters; exposed for tests.
std::vector<prometheus::MetricFamily> BuildFamilies(const Snapshot& s, const EngineHost* host);

}  // namespace ccmon::collector
