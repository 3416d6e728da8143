#include "export/exposition.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string_view>

namespace ccmon::collector {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

void WriteUint(std::string* out, std::uint64_t v) {
  std::array<char, 24> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out->append(buf.data(), r.ptr);
}

void WriteDouble(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("Nan");
    return;
  }
  if (std::isinf(v)) {
    out->append(v < 0 ? "-Inf" : "+Inf");
    return;
  }
  std::array<char, 32> buf{};
  // Most figures are whole numbers (counts, seconds, timestamps): "%.16g" writes those below
  // 1e16 as plain integers, which an integer conversion does far faster.
  constexpr double kPlainIntegerBelow = 1e15;
  if (std::fabs(v) < kPlainIntegerBelow && v == std::trunc(v) && !(v == 0 && std::signbit(v))) {
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), static_cast<std::int64_t>(v));
    out->append(buf.data(), r.ptr);
    return;
  }
  // to_chars' general format with a precision is specified as printf's %.*g.
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::general,
                               std::numeric_limits<double>::max_digits10 - 1);
  out->append(buf.data(), r.ptr);
}

// Appends v with backslash, newline and (in label values) double quote escaped, copying the
// runs between them whole: label values rarely hold any.
void AppendEscaped(std::string* out, std::string_view v, bool quotes) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    const char* escaped = nullptr;
    if (c == '\\') {
      escaped = "\\\\";
    } else if (c == '\n') {
      escaped = "\\n";
    } else if (c == '"' && quotes) {
      escaped = "\\\"";
    } else {
      continue;
    }
    out->append(v.data() + run, i - run);
    out->append(escaped);
    run = i + 1;
  }
  out->append(v.data() + run, v.size() - run);
}

void WriteHelp(std::string* out, std::string_view help) { AppendEscaped(out, help, false); }

// `name="value"` pairs joined by commas, values escaped; a comma first unless `first`.
template <typename LabelRange>
void WriteLabelPairs(std::string* out, const LabelRange& labels, bool first) {
  for (const auto& label : labels) {
    if (!first) out->push_back(',');
    first = false;
    out->append(label.name);
    out->append("=\"");
    AppendEscaped(out, label.value, true);
    out->push_back('"');
  }
}

// One line's name and labels, up to and including the space before the value: the labels
// already written as text (`written`, see AppendLabelText), then `labels`, then an extra
// numeric label (a histogram's `le`, a summary's `quantile`) when extra_value is not null.
// Labels are any range of items with `name` and `value`.
template <typename LabelRange>
void WriteHead(std::string* out, std::string_view name, const char* suffix,
               std::string_view written, const LabelRange& labels, const char* extra_name = nullptr,
               const double* extra_value = nullptr) {
  out->append(name);
  out->append(suffix);
  if (!written.empty() || !std::empty(labels) || extra_value != nullptr) {
    out->push_back('{');
    out->append(written);
    WriteLabelPairs(out, labels, written.empty());
    if (extra_value != nullptr) {
      if (!written.empty() || !std::empty(labels)) out->push_back(',');
      out->append(extra_name);
      out->append("=\"");
      WriteDouble(out, *extra_value);
      out->push_back('"');
    }
    out->push_back('}');
  }
  out->push_back(' ');
}

void WriteHead(std::string* out, const MetricFamily& family, const ClientMetric& metric,
               const char* suffix, const char* extra_name = nullptr,
               const double* extra_value = nullptr) {
  WriteHead(out, family.name, suffix, {}, metric.label, extra_name, extra_value);
}

void WriteTail(std::string* out, const ClientMetric& metric) {
  if (metric.timestamp_ms != 0) {
    out->push_back(' ');
    std::array<char, 24> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), metric.timestamp_ms);
    out->append(buf.data(), r.ptr);
  }
  out->push_back('\n');
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Summary:
      return "summary";
    case MetricType::Histogram:
      return "histogram";
    case MetricType::Untyped:
      break;
  }
  return "untyped";
}

void WriteMetric(std::string* out, const MetricFamily& family, const ClientMetric& metric) {
  switch (family.type) {
    case MetricType::Counter:
      WriteHead(out, family, metric, "");
      WriteDouble(out, metric.counter.value);
      WriteTail(out, metric);
      return;
    case MetricType::Gauge:
      WriteHead(out, family, metric, "");
      WriteDouble(out, metric.gauge.value);
      WriteTail(out, metric);
      return;
    case MetricType::Untyped:
      WriteHead(out, family, metric, "");
      WriteDouble(out, metric.untyped.value);
      WriteTail(out, metric);
      return;
    case MetricType::Summary: {
      const auto& s = metric.summary;
      WriteHead(out, family, metric, "_count");
      WriteUint(out, s.sample_count);
      WriteTail(out, metric);
      WriteHead(out, family, metric, "_sum");
      WriteDouble(out, s.sample_sum);
      WriteTail(out, metric);
      for (const auto& q : s.quantile) {
        WriteHead(out, family, metric, "", "quantile", &q.quantile);
        WriteDouble(out, q.value);
        WriteTail(out, metric);
      }
      return;
    }
    case MetricType::Histogram: {
      const auto& h = metric.histogram;
      WriteHead(out, family, metric, "_count");
      WriteUint(out, h.sample_count);
      WriteTail(out, metric);
      WriteHead(out, family, metric, "_sum");
      WriteDouble(out, h.sample_sum);
      WriteTail(out, metric);
      double last = -std::numeric_limits<double>::infinity();
      for (const auto& b : h.bucket) {
        WriteHead(out, family, metric, "_bucket", "le", &b.upper_bound);
        last = b.upper_bound;
        WriteUint(out, b.cumulative_count);
        WriteTail(out, metric);
      }
      if (last != std::numeric_limits<double>::infinity()) {
        const double inf = std::numeric_limits<double>::infinity();
        WriteHead(out, family, metric, "_bucket", "le", &inf);
        WriteUint(out, h.sample_count);
        WriteTail(out, metric);
      }
      return;
    }
  }
}

void WriteFamilyHeader(std::string* out, std::string_view name, std::string_view help,
                       MetricType type) {
  if (!help.empty()) {
    out->append("# HELP ");
    out->append(name);
    out->push_back(' ');
    WriteHelp(out, help);
    out->push_back('\n');
  }
  out->append("# TYPE ");
  out->append(name);
  out->push_back(' ');
  out->append(TypeName(type));
  out->push_back('\n');
}

}  // namespace

void AppendLabelText(std::string* out, std::span<const ExpositionLabel> labels) {
  WriteLabelPairs(out, labels, true);
}

void WriteExposition(const std::vector<MetricFamily>& families, std::string* out) {
  for (const MetricFamily& family : families) {
    WriteFamilyHeader(out, family.name, family.help, family.type);
    for (const ClientMetric& metric : family.metric) WriteMetric(out, family, metric);
  }
}

std::string RenderExposition(const std::vector<MetricFamily>& families) {
  std::string out;
  // About 100 bytes a line: one reservation instead of a doubling series for a large scrape.
  std::size_t lines = 0;
  for (const MetricFamily& f : families) {
    for (const ClientMetric& m : f.metric) {
      lines += 1 + (f.type == MetricType::Histogram ? m.histogram.bucket.size() + 2 : 0) +
               (f.type == MetricType::Summary ? m.summary.quantile.size() + 2 : 0);
    }
  }
  out.reserve(lines * 100 + families.size() * 160);
  WriteExposition(families, &out);
  return out;
}

TextFamily::TextFamily(std::string_view name, std::string_view help, MetricType type,
                       std::string buffer)
    : name_(name), help_(help), type_(type), lines_(std::move(buffer)) {
  lines_.clear();
}

void TextFamily::Add(std::string_view written, std::span<const ExpositionLabel> labels,
                     double value) {
  WriteHead(&lines_, name_, "", written, labels);
  WriteDouble(&lines_, value);
  lines_.push_back('\n');
}

void TextFamily::AddHistogram(std::string_view written, std::span<const ExpositionLabel> labels,
                              std::span<const double> bounds, std::span<const std::uint64_t> counts,
                              std::uint64_t count, double sum) {
  WriteHead(&lines_, name_, "_count", written, labels);
  WriteUint(&lines_, count);
  lines_.push_back('\n');
  WriteHead(&lines_, name_, "_sum", written, labels);
  WriteDouble(&lines_, sum);
  lines_.push_back('\n');
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += i < counts.size() ? counts[i] : 0;
    WriteHead(&lines_, name_, "_bucket", written, labels, "le", &bounds[i]);
    WriteUint(&lines_, cumulative);
    lines_.push_back('\n');
  }
  const double inf = std::numeric_limits<double>::infinity();
  WriteHead(&lines_, name_, "_bucket", written, labels, "le", &inf);
  WriteUint(&lines_, count);
  lines_.push_back('\n');
}

void TextFamily::AppendTo(std::string* out) const {
  WriteFamilyHeader(out, name_, help_, type_);
  out->append(lines_);
}

}  // namespace ccmon::collector
