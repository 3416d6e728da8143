// Prometheus exposition built from an engine snapshot at scrape time (no per-event registry
// work). /metrics renders the pipeline's published snapshot, shared with other readers, and
// takes nothing ingest waits on.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "pipeline/pipeline.h"

namespace ccmon::collector {

// Builds the families from a snapshot plus the pipeline's counters, journal and alerts (none
// when pipeline is null); exposed for tests.
std::vector<prometheus::MetricFamily> BuildFamilies(const Snapshot& s, const Pipeline* pipeline);

// The same families written straight as exposition text (what /metrics serves): the text
// RenderExposition(BuildFamilies(s, pipeline)) gives, without building the families.
std::string RenderMetrics(const Snapshot& s, const Pipeline* pipeline);

}  // namespace ccmon::collector
