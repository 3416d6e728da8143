// The Prometheus text exposition format (version 0.0.4) written straight into a string: the
// same text prometheus::TextSerializer writes for the same families, without an ostream per
// value (a scrape of a large collector renders hundreds of thousands of lines, and the
// stream machinery was most of its cost). Numbers are written as printf's "%.16g" would
// write them, NaN as "Nan" and infinities as "+Inf"/"-Inf"; label values escape backslash,
// double quote and newline. HELP text escapes backslash and newline, as the format asks.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace ccmon::collector {

// Appends the exposition of `families` to `out`.
void WriteExposition(const std::vector<prometheus::MetricFamily>& families, std::string* out);

std::string RenderExposition(const std::vector<prometheus::MetricFamily>& families);

}  // namespace ccmon::collector
