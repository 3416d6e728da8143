// The exposition text writer (export/exposition.h) against prometheus-cpp's TextSerializer,
// the reference for the format: the same families give the same bytes, for every kind of
// metric and for numbers across the ranges where "%.16g" changes shape.
#include "export/exposition.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

namespace ccmon::collector {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::string Reference(const std::vector<MetricFamily>& families) {
  return prometheus::TextSerializer().Serialize(families);
}

// Numbers where the text changes shape: signs, zero, whole numbers on both sides of the
// plain-integer limit, fractions, exponents, subnormals, the extremes and non-finite values.
std::vector<double> EdgeValues() {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> v = {0.0,
                           -0.0,
                           1,
                           -1,
                           0.1,
                           0.8,
                           0.1 + 0.2,
                           1.0 / 3,
                           -4.25,
                           2.5e-7,
                           1e-5,
                           1e-4,
                           123456.789,
                           999999999999999.0,
                           1e15,
                           1e15 + 1,
                           -1e15,
                           9999999999999998.0,
                           1e16,
                           9007199254740993.0,
                           1.234567890123457e17,
                           1e300,
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::lowest(),
                           std::numeric_limits<double>::min(),
                           std::numeric_limits<double>::denorm_min(),
                           std::numeric_limits<double>::quiet_NaN(),
                           inf,
                           -inf};
  for (int e = -20; e <= 20; ++e) v.push_back(std::pow(10.0, e) * 1.5);
  return v;
}

MetricFamily Family(const std::string& name, MetricType type) {
  return MetricFamily{name, "Help for " + name + ", with \"quotes\".", type, {}};
}

TEST(ExpositionTest, GaugesAndCountersMatchTheReferenceForEdgeValues) {
  MetricFamily g = Family("ccmon_g", MetricType::Gauge);
  MetricFamily c = Family("ccmon_c_total", MetricType::Counter);
  MetricFamily u = Family("ccmon_u", MetricType::Untyped);
  for (const double v : EdgeValues()) {
    ClientMetric m;
    m.label = {{"site", "manila"}, {"queue", "billing"}};
    m.gauge.value = v;
    m.counter.value = v;
    m.untyped.value = v;
    g.metric.push_back(m);
    c.metric.push_back(m);
    u.metric.push_back(m);
  }
  const std::vector<MetricFamily> families = {g, c, u};
  const std::string text = RenderExposition(families);
  EXPECT_EQ(text, Reference(families));
  // Spot checks by hand, so that a change in the reference cannot carry both along.
  EXPECT_NE(text.find("ccmon_g{site=\"manila\",queue=\"billing\"} 1000000000000000\n"),
            std::string::npos);
  EXPECT_NE(text.find("ccmon_g{site=\"manila\",queue=\"billing\"} 1e+16\n"), std::string::npos);
  EXPECT_NE(text.find("ccmon_g{site=\"manila\",queue=\"billing\"} 0.3\n"), std::string::npos);
  EXPECT_NE(text.find("ccmon_g{site=\"manila\",queue=\"billing\"} -0\n"), std::string::npos);
  EXPECT_NE(text.find("ccmon_g{site=\"manila\",queue=\"billing\"} Nan\n"), std::string::npos);
  EXPECT_NE(text.find("ccmon_g{site=\"manila\",queue=\"billing\"} -Inf\n"), std::string::npos);
}

TEST(ExpositionTest, RandomValuesMatchTheReference) {
  std::mt19937_64 rng(20261205);
  MetricFamily g = Family("ccmon_random", MetricType::Gauge);
  std::uniform_int_distribution<std::int64_t> whole(-(1LL << 54), 1LL << 54);
  std::uniform_real_distribution<double> unit(-1000, 1000);
  for (int i = 0; i < 20000; ++i) {
    ClientMetric m;
    switch (i % 3) {
      case 0:  // any bit pattern: every exponent, NaN payloads, subnormals
        m.gauge.value = std::bit_cast<double>(rng());
        break;
      case 1:
        m.gauge.value = static_cast<double>(whole(rng));
        break;
      default:
        m.gauge.value = unit(rng);
    }
    g.metric.push_back(m);
  }
  const std::vector<MetricFamily> families = {g};
  EXPECT_EQ(RenderExposition(families), Reference(families));
}

TEST(ExpositionTest, LabelValuesAreEscapedAsTheReferenceEscapesThem) {
  MetricFamily g = Family("ccmon_labels", MetricType::Gauge);
  for (const std::string value :
       {"", "plain", "back\\slash", "quote\"d", "new\nline", "\\\"\n", "Bogotá ☎", "a,b=c}"}) {
    ClientMetric m;
    m.label = {{"queue", value}, {"site", "s"}};
    m.gauge.value = 1;
    g.metric.push_back(m);
  }
  ClientMetric bare;  // no labels at all
  bare.gauge.value = 2;
  g.metric.push_back(bare);
  const std::vector<MetricFamily> families = {g};
  const std::string text = RenderExposition(families);
  EXPECT_EQ(text, Reference(families));
  EXPECT_NE(text.find("ccmon_labels{queue=\"\\\\\\\"\\n\",site=\"s\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("\nccmon_labels 2\n"), std::string::npos);
}

TEST(ExpositionTest, HistogramsSummariesAndTimestampsMatchTheReference) {
  MetricFamily h = Family("ccmon_wait_seconds", MetricType::Histogram);
  ClientMetric with_inf;
  with_inf.label = {{"queue", "q1"}};
  with_inf.histogram.sample_count = 7;
  with_inf.histogram.sample_sum = 12.5;
  with_inf.histogram.bucket = {{2, 5}, {5, 20}, {7, std::numeric_limits<double>::infinity()}};
  ClientMetric without_inf;  // the reference adds the +Inf bucket itself
  without_inf.label = {{"queue", "q2"}};
  without_inf.histogram.sample_count = 3;
  without_inf.histogram.sample_sum = 0.25;
  without_inf.histogram.bucket = {{1, 0.5}, {3, 1}};
  without_inf.timestamp_ms = 1764900000123;
  h.metric = {with_inf, without_inf};

  MetricFamily s = Family("ccmon_summary", MetricType::Summary);
  ClientMetric sm;
  sm.summary.sample_count = 4;
  sm.summary.sample_sum = 2.75;
  sm.summary.quantile = {{0.5, 0.5}, {0.99, 1.25}};
  ClientMetric labelled = sm;
  labelled.label = {{"site", "pune"}};
  s.metric = {sm, labelled};

  MetricFamily no_help{"ccmon_no_help", "", MetricType::Gauge, {}};
  no_help.metric.emplace_back();

  const std::vector<MetricFamily> families = {h, s, no_help};
  const std::string text = RenderExposition(families);
  EXPECT_EQ(text, Reference(families));
  EXPECT_NE(text.find("ccmon_wait_seconds_bucket{queue=\"q2\",le=\"+Inf\"} 3 1764900000123\n"),
            std::string::npos);
  EXPECT_NE(text.find("ccmon_summary{site=\"pune\",quantile=\"0.99\"} 1.25\n"), std::string::npos);
}

TEST(ExpositionTest, HelpEscapesBackslashAndNewlineAsTheFormatAsks) {
  // The one place the writer departs from the reference, which writes HELP text raw (a
  // newline in it would end the comment line and leave the rest as a malformed sample).
  MetricFamily g{"ccmon_h", "line one\nline two \\ end", MetricType::Gauge, {}};
  g.metric.emplace_back();
  EXPECT_EQ(RenderExposition({g}),
            "# HELP ccmon_h line one\\nline two \\\\ end\n# TYPE ccmon_h gauge\nccmon_h 0\n");
}

}  // namespace
}  // namespace ccmon::collector
