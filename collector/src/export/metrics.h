// Prometheus exposition built from an engine snapshot at scrape time (no per-event
// registry work). Thread-safe: Collect() renders the pipeline's published snapshot, shared
// with other readers, and takes nothing ingest waits on.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "pipeline/pipeline.h"

namespace ccmon::collector {

class MetricsCollectable final : public prometheus::Collectable {
 public:
  explicit MetricsCollectable(Pipeline& pipeline) : pipeline_(pipeline) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  Pipeline& pipeline_;
};

// Builds the families from a snapshot plus the pipeline's counters, journal and alerts (none
// when pipeline is null); exposed for tests.
std::vector<prometheus::MetricFamily> BuildFamilies(const Snapshot& s, const Pipeline* pipeline);

}  // namespace ccmon::collector
