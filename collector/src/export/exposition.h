// The Prometheus text exposition format (version 0.0.4) written straight into a string: the
// same text prometheus::TextSerializer writes for the same families, without an ostream per
// value (a scrape of a large collector renders hundreds of thousands of lines, and the
// stream machinery was most of its cost). Numbers are written as printf's "%.16g" would
// write them, NaN as "Nan" and infinities as "+Inf"/"-Inf"; label values escape backslash,
// double quote and newline. HELP text escapes backslash and newline, as the format asks.
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ccmon::collector {

// Appends the exposition of `families` to `out`.
void WriteExposition(const std::vector<prometheus::MetricFamily>& families, std::string* out);

std::string RenderExposition(const std::vector<prometheus::MetricFamily>& families);

struct ExpositionLabel {
  std::string_view name;
  std::string_view value;
};

// Appends `name="value"` pairs joined by commas, values escaped: the text inside a series'
// braces. Labels shared by many series (a queue's client, site and queue) are written once
// this way and passed to TextFamily as `written`.
void AppendLabelText(std::string* out, std::span<const ExpositionLabel> labels);

// One family written as its samples arrive, in the text WriteExposition writes for the same
// samples: a scrape can write each family's lines while it walks the queues once, without
// building a MetricFamily per line first.
class TextFamily {
 public:
  // `buffer` is storage to write the lines into (its text is dropped, its capacity kept).
  TextFamily(std::string_view name, std::string_view help, prometheus::MetricType type,
             std::string buffer = {});
  // A counter, gauge or untyped sample: its leading labels already written as text
  // (AppendLabelText; empty if none), then `labels`.
  void Add(std::string_view written, std::span<const ExpositionLabel> labels, double value);
  // A histogram sample: counts[i] observations fell in the bucket with upper bound bounds[i]
  // (a missing count is 0), `count` in all (the +Inf bucket).
  void AddHistogram(std::string_view written, std::span<const ExpositionLabel> labels,
                    std::span<const double> bounds, std::span<const std::uint64_t> counts,
                    std::uint64_t count, double sum);
  bool empty() const { return lines_.empty(); }
  std::size_t bytes() const { return lines_.size(); }
  // Appends the HELP and TYPE lines, then the samples.
  void AppendTo(std::string* out) const;
  // The storage of the lines, for the next family to reuse.
  std::string TakeBuffer() { return std::move(lines_); }

 private:
  std::string name_;
  std::string help_;
  prometheus::MetricType type_;
  std::string lines_;
};

}  // namespace ccmon::collector
