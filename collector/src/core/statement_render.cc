// Renderings of an SLA statement: JSON (the reference every other rendering agrees with), CSV
// (one line per judged period and queue) and one self-contained printable HTML page in which
// every number carries the JSON path and JSON text it was printed from.
#include <absl/time/time.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ccmon/collector/statement.h"
#include "ccmon/model/utf8.h"

namespace ccmon::collector {
namespace {

// Enum names: the ToString functions of statement.cc (one table each).
std::string_view PeriodName(Period p) { return ToString(p); }
std::string_view ResultName(PeriodResult r) { return ToString(r); }

// For people: the HTML shows "not judged" where the JSON says "not_judged".
std::string_view ResultText(PeriodResult r) {
  return r == PeriodResult::kNotJudged ? "not judged" : ResultName(r);
}

std::string_view StateName(Exclusion::State s) { return ToString(s); }

std::string_view MinVolumePolicyName(MinVolumePolicy p) {
  return p == MinVolumePolicy::kPool ? "pool" : "not_judged";
}

std::string_view CreditBasisName(CreditBasis b) {
  return b == CreditBasis::kMissedPeriods ? "missed_periods" : "month_shortfall";
}

std::string_view OverForecastName(OverForecastPolicy p) {
  return p == OverForecastPolicy::kRelaxed ? "relaxed" : "exclude";
}

// Weekday keys in StatementTerms::measured_hours order (0 = Sunday).
constexpr std::array<std::string_view, 7> kDayKeys = {"sun", "mon", "tue", "wed",
                                                      "thu", "fri", "sat"};
constexpr std::array<std::string_view, 7> kDayNames = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday"};

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// Walks UTF-8 text for an escaper: well-formed multi-byte sequences are copied to `out`,
// ill-formed bytes become U+FFFD, and each ASCII byte goes to `ascii` to escape.
template <typename Ascii>
void ForEachAscii(std::string& out, std::string_view s, Ascii ascii) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += kReplacementChar;
      ++i;
    } else if (n > 1) {
      out.append(s, i, n);
      i += n;
    } else {
      ascii(s[i++]);
    }
  }
}

// A JSON string (RFC 8259): quotes, backslashes and control characters escaped; ill-formed
// UTF-8 becomes U+FFFD so the document stays valid whatever a name contains.
void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  ForEachAscii(out, s, [&out](char c) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  });
  out += '"';
}

// JSON number text: the shortest decimal that reads back as the same double; null for NaN and
// infinities, which JSON cannot carry.
std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  if (v == 0) return "0";  // also -0
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}
std::string JsonNumber(std::uint64_t v) { return std::to_string(v); }
std::string JsonNumber(std::int64_t v) { return std::to_string(v); }
std::string JsonNumber(const std::optional<double>& v) { return v ? JsonNumber(*v) : "null"; }

// Money is rounded to cents, half up, before it is printed anywhere, so JSON and HTML agree.
// The nudge rounds a decimal half held in binary just below it (1.005 as 1.00499...) up.
double Cents(double v) { return std::round(v * 100 * (1 + 1e-12)) / 100; }
std::optional<double> Amount(double fee, double percent) {
  if (!(fee > 0)) return std::nullopt;
  return Cents(fee * percent / 100);
}

// Streams one JSON document; commas are placed from one flag: a value or a closing bracket
// needs a comma before whatever follows it at the same level.
class JsonWriter {
 public:
  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  void Key(std::string_view k) {
    Separate();
    AppendJsonString(out_, k);
    out_ += ':';
  }
  void String(std::string_view s) {
    Separate();
    AppendJsonString(out_, s);
    need_comma_ = true;
  }
  void Raw(std::string_view number_or_null) {
    Separate();
    out_ += number_or_null;
    need_comma_ = true;
  }
  void Null() { Raw("null"); }
  void FieldB(std::string_view k, bool v) {
    Key(k);
    Raw(v ? "true" : "false");
  }

  void FieldS(std::string_view k, std::string_view v) {
    Key(k);
    String(v);
  }
  void FieldD(std::string_view k, double v) {
    Key(k);
    Raw(JsonNumber(v));
  }
  void FieldU(std::string_view k, std::uint64_t v) {
    Key(k);
    Raw(JsonNumber(v));
  }
  void FieldI(std::string_view k, std::int64_t v) {
    Key(k);
    Raw(JsonNumber(v));
  }
  void FieldOpt(std::string_view k, const std::optional<double>& v) {
    Key(k);
    Raw(JsonNumber(v));
  }
  void FieldOptI(std::string_view k, const std::optional<std::int64_t>& v) {
    Key(k);
    Raw(v ? JsonNumber(*v) : std::string("null"));
  }

  std::string Take() { return std::move(out_); }

 private:
  void Separate() {
    if (need_comma_) out_ += ',';
    need_comma_ = false;
  }
  void Open(char c) {
    Separate();
    out_ += c;
  }
  void Close(char c) {
    out_ += c;
    need_comma_ = true;
  }

  std::string out_;
  bool need_comma_ = false;
};

double Seconds(std::uint64_t ms) { return static_cast<double>(ms) / 1000.0; }

void WriteFigures(JsonWriter& w, const Figures& f) {
  const Counts& c = f.counts;
  w.FieldU("offered", c.offered);
  w.FieldU("answered", c.answered);
  w.FieldU("answered_in_threshold", c.answered_in_threshold);
  w.FieldU("abandoned", c.abandoned);
  w.FieldU("abandoned_in_threshold", c.abandoned_in_threshold);
  w.FieldU("short_abandoned", c.short_abandoned);
  w.FieldU("unanswered", c.UnansweredTotal());
  w.Key("unanswered_by_reason");
  w.BeginObject();
  for (auto r : {UnansweredReason::kTimeout, UnansweredReason::kKey, UnansweredReason::kEmpty,
                 UnansweredReason::kWithdraw, UnansweredReason::kLost}) {
    w.FieldU(ToString(r), c.unanswered[static_cast<std::size_t>(r)]);
  }
  // Exits without a recorded reason: present only when there are some, so the reasons always
  // add up to "unanswered".
  if (const auto other = c.unanswered[static_cast<std::size_t>(UnansweredReason::kNone)]) {
    w.FieldU("other", other);
  }
  w.EndObject();
  w.FieldU("answered_wait_unknown", c.answered_wait_unknown);
  w.FieldU("abandoned_wait_unknown", c.abandoned_wait_unknown);
  w.FieldU("handled", c.handled);
  w.FieldD("answered_wait_s", Seconds(c.answered_wait_ms));
  w.FieldD("abandoned_wait_s", Seconds(c.abandoned_wait_ms));
  w.FieldD("handle_s", Seconds(c.handle_ms));
  w.FieldOpt("service_level", f.service_level);
  w.FieldOpt("abandon_rate", f.abandon_rate);
  w.FieldOpt("asa_s", f.asa_s);
}

std::string HourMinute(int minutes) {
  minutes = std::clamp(minutes, 0, 24 * 60);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minutes / 60, minutes % 60);
  return buf;
}

std::string RangeText(const DayRange& r) {
  return HourMinute(r.from_min) + "-" + HourMinute(r.to_min);
}

void WriteTerms(JsonWriter& w, const StatementTerms& t) {
  w.BeginObject();
  w.FieldS("timezone", t.timezone);
  w.FieldS("period", PeriodName(t.period));
  w.FieldU("min_volume", t.min_volume);
  w.FieldS("min_volume_policy", MinVolumePolicyName(t.min_volume_policy));
  w.FieldD("monthly_fee", t.monthly_fee);
  w.FieldS("currency", t.currency);
  w.FieldS("credit_basis", CreditBasisName(t.credit_basis));
  w.Key("credits");
  w.BeginArray();
  for (const auto& tier : t.credits) {
    w.BeginObject();
    w.FieldD("shortfall", tier.shortfall);
    w.FieldD("percent", tier.percent);
    w.EndObject();
  }
  w.EndArray();
  w.FieldD("credit_cap_percent", t.credit_cap_percent);
  w.Key("incentives");
  w.BeginArray();
  for (const auto& tier : t.incentives) {
    w.BeginObject();
    w.FieldD("surplus", tier.surplus);
    w.FieldD("percent", tier.percent);
    w.EndObject();
  }
  w.EndArray();
  w.FieldD("incentive_cap_percent", t.incentive_cap_percent);
  w.Key("exclusion_alerts");
  w.BeginArray();
  for (const auto& a : t.exclusion_alerts) w.String(a);
  w.EndArray();
  w.FieldD("forecast_tolerance", t.forecast_tolerance);
  w.FieldS("over_forecast", OverForecastName(t.over_forecast));
  w.FieldD("relaxed_sl_target", t.relaxed_sl_target);
  w.Key("holidays");
  w.BeginArray();
  for (const auto& h : t.holidays) w.String(h);
  w.EndArray();
  w.Key("measured_hours");
  if (t.all_hours) {
    w.String("all");
  } else {
    w.BeginObject();
    for (std::size_t d = 0; d < kDayKeys.size(); ++d) {
      w.Key(kDayKeys[d]);
      w.BeginArray();
      for (const auto& r : t.measured_hours[d]) w.String(RangeText(r));
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndObject();
}

void WritePeriod(JsonWriter& w, const StatementPeriod& p) {
  w.BeginObject();
  w.FieldS("label", p.label);
  w.FieldI("start_ms", p.start_ms);
  w.FieldI("end_ms", p.end_ms);
  WriteFigures(w, p.figures);
  w.FieldD("target", p.target);
  w.FieldS("result", ResultName(p.result));
  w.FieldS("note", p.note);
  w.FieldU("rows", p.rows);
  w.FieldU("excluded_rows", p.excluded_rows);
  w.FieldU("unmeasured_rows", p.unmeasured_rows);
  w.FieldU("amended_rows", p.amended_rows);
  w.EndObject();
}

void WriteQueue(JsonWriter& w, const StatementQueue& q) {
  w.BeginObject();
  w.FieldS("queue", q.queue);
  w.FieldS("sl_formula", ToString(q.contract.sl_formula));
  w.FieldD("sl_threshold_s", q.contract.sl_threshold_s);
  w.FieldD("target", q.contract.sl_target);
  w.FieldD("short_abandon_s", q.contract.short_abandon_s);
  w.FieldD("abandon_target", q.contract.abandon_target);
  w.FieldD("asa_target_s", q.contract.asa_target_s);
  w.FieldI("interval_minutes", q.contract.interval_minutes);
  WriteFigures(w, q.figures);
  w.FieldS("result", ResultName(q.result));
  w.FieldU("periods_met", q.periods_met);
  w.FieldU("periods_missed", q.periods_missed);
  w.FieldU("periods_excluded", q.periods_excluded);
  w.FieldU("periods_not_judged", q.periods_not_judged);
  w.FieldD("shortfall", q.shortfall);
  w.FieldD("service_credit_percent", q.service_credit_percent);
  w.FieldD("incentive_percent", q.incentive_percent);
  w.FieldOpt("service_credit_amount", Amount(q.terms.monthly_fee, q.service_credit_percent));
  w.FieldOpt("incentive_amount", Amount(q.terms.monthly_fee, q.incentive_percent));
  w.Key("periods");
  w.BeginArray();
  for (const auto& p : q.periods) WritePeriod(w, p);
  w.EndArray();
  w.Key("sites");
  w.BeginArray();
  for (const auto& site : q.sites) {
    w.BeginObject();
    w.FieldS("site", site.site);
    WriteFigures(w, site.figures);
    w.EndObject();
  }
  w.EndArray();
  w.Key("days");
  w.BeginArray();
  for (const auto& d : q.days) {
    w.BeginObject();
    w.FieldS("date", d.date);
    w.FieldOpt("service_level", d.service_level);
    w.EndObject();
  }
  w.EndArray();
  w.Key("terms");
  WriteTerms(w, q.terms);
  w.EndObject();
}

// The fee the statement total is paid on: the first queue's, as its cap is (statement.h).
double StatementFee(const Statement& s) {
  return s.queues.empty() ? 0 : s.queues.front().terms.monthly_fee;
}
std::string StatementCurrency(const Statement& s) {
  return s.queues.empty() ? std::string() : s.queues.front().terms.currency;
}
// The statement's amount for a percentage: the sum of the queue lines' rounded amounts, so
// that lines and total reconcile to the cent; the capped percentage's amount when the cap cut
// the sum.
std::optional<double> TotalAmount(const Statement& s, double Statement::*total,
                                  double StatementQueue::*line) {
  const double fee = StatementFee(s);
  if (!(fee > 0)) return std::nullopt;
  double percent = 0;
  double amount = 0;
  for (const StatementQueue& q : s.queues) {
    percent += q.*line;
    amount += Amount(fee, q.*line).value_or(0);
  }
  // The cap cut the sum when it is below it by more than the sum's rounding (0.1 + 1.1 is
  // 1.2000000000000002, not above a cap of 1.2).
  return s.*total < percent - 1e-9 ? Amount(fee, s.*total) : Cents(amount);
}

// Whether the statement may still change (the span is not over, or rows of it may still
// change or arrive); unknown for one rebuilt as of an earlier time, as how the sites stood
// then is not kept.
std::optional<bool> Provisional(const Statement& s) {
  if (s.as_of_ms > 0) return std::nullopt;
  return s.span_open || !s.incomplete_sites.empty();
}

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180 quoting).

void AppendCsvField(std::string& out, std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string CsvRatio(const std::optional<double>& v) { return v ? JsonNumber(*v) : std::string(); }

void AppendCsvLine(std::string& out, const std::vector<std::string>& fields) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    AppendCsvField(out, fields[i]);
  }
  out += '\n';
}

// ---------------------------------------------------------------------------------------------
// HTML.

// Text and attribute values: &, <, >, " and ' escaped; ill-formed UTF-8 becomes U+FFFD.
std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  ForEachAscii(out, s, [&out](char c) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  });
  return out;
}

std::string Grouped(std::uint64_t v) {
  std::string digits = std::to_string(v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

constexpr std::string_view kNone = "\xE2\x80\x94";  // em dash: no value

// Two decimals, never rounded towards the target: a finance reader must see that 79.996% is
// below an 80% service level target (cut down), and that 5.004% abandoned is above a 5% cap
// (`up` for figures where lower is better). The nudge keeps a value held as
// 0.7999999999999999 at 80.00%, and 0.05000000000000001 at 5.00%.
std::string Percent(const std::optional<double>& fraction, bool up = false) {
  if (!fraction || !std::isfinite(*fraction)) return std::string(kNone);
  char buf[32];
  const double hundredths =
      up ? std::ceil(*fraction * 10000 * (1 - 1e-12)) : std::trunc(*fraction * 10000 * (1 + 1e-12));
  std::snprintf(buf, sizeof buf, "%.2f%%", hundredths / 100);
  return buf;
}

// Up to two decimals, trailing zeros dropped: 2 -> "2", 2.5 -> "2.5", 4.000000000000004 -> "4".
std::string Short(double v, int decimals = 2) {
  if (!std::isfinite(v)) return std::string(kNone);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

std::string SecondsText(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return std::string(kNone);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", *v);
  return buf;
}

std::string Money(double v, std::string_view currency) {
  const double cents_total = std::round(std::fabs(v) * 100);
  const auto whole = static_cast<std::uint64_t>(cents_total / 100);
  const auto cents = static_cast<int>(cents_total - static_cast<double>(whole) * 100);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%02d", cents);
  std::string out;
  if (!currency.empty()) {
    out += currency;
    out += ' ';
  }
  if (v < 0 && cents_total > 0) out += '-';
  return out + Grouped(whole) + frac;
}

// One HTML page under construction. Every number goes through Num() so it carries data-path
// (its place in the JSON) and data-value (its exact JSON text); strings taken from the JSON go
// through Str() with their data-path. Such elements never nest other elements.
class Page {
 public:
  explicit Page(absl::TimeZone tz) : tz_(tz) {}

  void Raw(std::string_view html) { out_ += html; }
  void Text(std::string_view text) { out_ += Esc(text); }

  void Num(std::string_view tag, std::string_view cls, std::string_view path, std::string_view json,
           std::string_view display) {
    Open(tag, cls, path);
    out_ += " data-value=\"";
    out_ += Esc(json);
    out_ += "\">";
    out_ += Esc(display);
    Close(tag);
  }
  void Str(std::string_view tag, std::string_view cls, std::string_view path,
           std::string_view text) {
    Open(tag, cls, path);
    out_ += '>';
    out_ += Esc(text);
    Close(tag);
  }
  // A UTC instant shown in the statement's zone, data-value holding the JSON milliseconds.
  void Time(std::string_view cls, std::string_view path, std::int64_t ms) {
    const absl::Time t = absl::FromUnixMillis(ms);
    out_ += "<time datetime=\"";
    out_ += Esc(absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", t, tz_));
    out_ += '"';
    if (!cls.empty()) {
      out_ += " class=\"";
      out_ += cls;
      out_ += '"';
    }
    out_ += " data-path=\"";
    out_ += Esc(path);
    out_ += "\" data-value=\"";
    out_ += JsonNumber(ms);
    out_ += "\">";
    out_ += Esc(absl::FormatTime("%Y-%m-%d %H:%M", t, tz_));
    out_ += "</time>";
  }

  // Table cells.
  void Count(std::string_view path, std::uint64_t v) {
    Num("td", "n", path, JsonNumber(v), Grouped(v));
  }
  void Ratio(std::string_view path, const std::optional<double>& v) {
    Num("td", "n", path, JsonNumber(v), Percent(v));
  }
  void Secs(std::string_view path, const std::optional<double>& v) {
    Num("td", "n", path, JsonNumber(v), SecondsText(v));
  }
  void Cell(std::string_view path, std::string_view text) { Str("td", "", path, text); }
  void TimeCell(std::string_view path, std::int64_t ms) {
    out_ += "<td>";
    Time("", path, ms);
    out_ += "</td>";
  }

  std::string Take() { return std::move(out_); }

 private:
  void Open(std::string_view tag, std::string_view cls, std::string_view path) {
    out_ += '<';
    out_ += tag;
    if (!cls.empty()) {
      out_ += " class=\"";
      out_ += cls;
      out_ += '"';
    }
    out_ += " data-path=\"";
    out_ += Esc(path);
    out_ += '"';
  }
  void Close(std::string_view tag) {
    out_ += "</";
    out_ += tag;
    out_ += '>';
  }

  absl::TimeZone tz_;
  std::string out_;
};

constexpr std::string_view kStyle = R"css(
:root { --ink: #1d2329; --muted: #5b6670; --rule: #d5dbe0; --met: #1b6e35; --met-bg: #e4f4e8;
  --missed: #a61b1b; --missed-bg: #fbe5e5; --excluded: #4b5863; --excluded-bg: #eceff1;
  --nj: #7a5a00; --nj-bg: #fff4d6; }
* { box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "Helvetica Neue", Arial, sans-serif; color: var(--ink); margin: 2em auto;
  max-width: 76em; padding: 0 1em; font-size: 14px; line-height: 1.4; }
h1 { font-size: 1.6em; margin: 0 0 .2em; }
h2 { font-size: 1.25em; margin: 1.6em 0 .4em; border-bottom: 2px solid var(--ink); }
h3 { font-size: 1.05em; margin: 1.2em 0 .3em; }
.meta { color: var(--muted); margin: 0 0 1em; }
.provisional { border: 2px solid #b45309; padding: 0.5em 0.8em; background: #fffbeb; }
table { border-collapse: collapse; width: 100%; margin: .4em 0 1em; }
th, td { border-bottom: 1px solid var(--rule); padding: .25em .45em; text-align: left;
  vertical-align: top; }
th { background: #f3f5f7; font-weight: 600; }
th.n { text-align: right; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.periods td:first-child, table.sites td:first-child, table.exclusions time {
  white-space: nowrap; }
table.exclusions { font-size: .92em; }
tr.total td, tr.total th { border-top: 2px solid var(--ink); font-weight: 600; }
table.facts { width: auto; }
table.facts th { background: none; font-weight: normal; color: var(--muted); }
.r { font-weight: 600; white-space: nowrap; }
.r-met { color: var(--met); background: var(--met-bg); }
.r-missed { color: var(--missed); background: var(--missed-bg); }
.r-excluded { color: var(--excluded); background: var(--excluded-bg); }
.r-not_judged { color: var(--nj); background: var(--nj-bg); }
.chart { width: 100%; max-width: 760px; height: auto; display: block; margin: .4em 0 1em; }
.chart .grid { stroke: var(--rule); stroke-width: 1; }
.chart .axis { stroke: var(--ink); stroke-width: 1; }
.chart .target { stroke: var(--missed); stroke-width: 1.5; stroke-dasharray: 6 4; }
.chart .sl { fill: none; stroke: #1f5fa8; stroke-width: 2; }
.chart .pt { fill: #1f5fa8; }
.chart .pt.below { fill: var(--missed); }
.chart text { font-size: 11px; fill: var(--muted); }
.chart text.target-label { fill: var(--missed); }
dl.defs dt { font-weight: 600; margin-top: .6em; }
dl.defs dd { margin: .1em 0 0 1.2em; }
code { font-family: "SFMono-Regular", Consolas, monospace; font-size: .92em; }
.note { color: var(--muted); font-size: .92em; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 9.5pt; }
  h2 { break-after: avoid; page-break-after: avoid; }
  section.queue, section.appendix { break-before: page; page-break-before: always; }
  tr, .chart { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
}
)css";

void AppendResult(Page& page, PeriodResult r) {
  page.Raw("<td class=\"r r-");
  page.Raw(ResultName(r));
  page.Raw("\">");
  page.Text(ResultText(r));
  page.Raw("</td>");
}

// Day of month of a local date "YYYY-MM-DD", for the chart's x axis.
std::string DayOfMonth(std::string_view date) {
  if (date.size() < 10) return std::string(date);
  std::string_view d = date.substr(8, 2);
  if (d.front() == '0') d.remove_prefix(1);
  return std::string(d);
}

std::string Fixed1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

void AppendSvgLine(Page& page, std::string_view cls, double x1, double y1, double x2, double y2) {
  page.Raw("<line class=\"");
  page.Raw(cls);
  page.Raw("\" x1=\"");
  page.Raw(Fixed1(x1));
  page.Raw("\" y1=\"");
  page.Raw(Fixed1(y1));
  page.Raw("\" x2=\"");
  page.Raw(Fixed1(x2));
  page.Raw("\" y2=\"");
  page.Raw(Fixed1(y2));
  page.Raw("\"/>");
}

// Chart text: an axis label or title (the only numbers of the page outside data elements).
void AppendSvgText(Page& page, double x, double y, std::string_view anchor, std::string_view text,
                   std::string_view attrs = {}) {
  page.Raw("<text x=\"");
  page.Raw(Fixed1(x));
  page.Raw("\" y=\"");
  page.Raw(Fixed1(y));
  page.Raw("\" text-anchor=\"");
  page.Raw(anchor);
  page.Raw("\"");
  page.Raw(attrs);
  page.Raw(">");
  page.Text(text);
  page.Raw("</text>");
}

// SL per local day as a polyline (broken where a day has no value) against the target line.
void AppendChart(Page& page, const StatementQueue& q, std::string_view zone) {
  constexpr double kWidth = 760, kHeight = 260;
  constexpr double kLeft = 56, kRight = 20, kTop = 16, kBottom = 46;
  constexpr double kPlotW = kWidth - kLeft - kRight, kPlotH = kHeight - kTop - kBottom;
  constexpr double kBottomY = kTop + kPlotH;
  const std::size_t n = q.days.size();
  const auto y = [&](double v) { return kTop + kPlotH * (1 - std::clamp(v, 0.0, 1.0)); };
  const auto x = [&](std::size_t i) {
    return n <= 1 ? kLeft + kPlotW / 2
                  : kLeft + kPlotW * static_cast<double>(i) / static_cast<double>(n - 1);
  };
  const double target = q.contract.sl_target;

  page.Raw(
      "<svg data-chart class=\"chart\" viewBox=\"0 0 760 260\" role=\"img\" "
      "aria-label=\"Service level per day against the target\">");
  page.Raw("<title>Service level per day, queue ");
  page.Text(q.queue);
  page.Raw("</title>");
  for (int k = 0; k <= 4; ++k) {
    AppendSvgLine(page, "grid", kLeft, y(k / 4.0), kLeft + kPlotW, y(k / 4.0));
    AppendSvgText(page, kLeft - 6, y(k / 4.0) + 4, "end", std::to_string(k * 25) + "%");
  }
  AppendSvgLine(page, "axis", kLeft, kTop, kLeft, kBottomY);
  AppendSvgLine(page, "axis", kLeft, kBottomY, kLeft + kPlotW, kBottomY);
  const double mid_y = kTop + kPlotH / 2;
  AppendSvgText(page, 14, mid_y, "middle", "Service level",
                " transform=\"rotate(-90 14 " + Fixed1(mid_y) + ")\"");
  AppendSvgText(page, kLeft + kPlotW / 2, kHeight - 6, "middle",
                "Day of month (" + std::string(zone) + ")");

  // Day labels: at most about 16 so they stay legible.
  const std::size_t step = std::max<std::size_t>(1, (n + 15) / 16);
  for (std::size_t i = 0; i < n; i += step) {
    AppendSvgText(page, x(i), kBottomY + 16, "middle", DayOfMonth(q.days[i].date));
  }

  AppendSvgLine(page, "target", kLeft, y(target), kLeft + kPlotW, y(target));
  AppendSvgText(page, kLeft + kPlotW, y(target) - 5, "end", "target " + Percent(target),
                " class=\"target-label\"");

  // One polyline per run of days with a value, then a dot per day (red below target).
  std::size_t run = 0;
  for (std::size_t i = 0; i <= n; ++i) {
    const bool has = i < n && q.days[i].service_level.has_value();
    if (has) {
      page.Raw(run == 0 ? "<polyline class=\"sl\" points=\"" : " ");
      page.Raw(Fixed1(x(i)));
      page.Raw(",");
      page.Raw(Fixed1(y(*q.days[i].service_level)));
      ++run;
    } else if (run > 0) {
      page.Raw("\"/>");
      run = 0;
    }
  }
  bool any = false;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& sl = q.days[i].service_level;
    if (!sl) continue;
    any = true;
    page.Raw(*sl < target ? "<circle class=\"pt below\" cx=\"" : "<circle class=\"pt\" cx=\"");
    page.Raw(Fixed1(x(i)));
    page.Raw("\" cy=\"");
    page.Raw(Fixed1(y(*sl)));
    page.Raw("\" r=\"3\"><title>");
    page.Text(q.days[i].date);
    page.Text(": ");
    page.Text(Percent(sl));
    page.Raw("</title></circle>");
  }
  if (!any) {
    AppendSvgText(page, kLeft + kPlotW / 2, mid_y, "middle",
                  "No day has a service level in this span");
  }
  page.Raw("</svg>\n");
}

// The figure columns of a queue's tables; the two unknown-wait columns only for a queue that
// has such calls (`unknown`), so the usual statement keeps its width.
void AppendFiguresHeader(Page& page, bool unknown) {
  page.Raw(
      "<th class=\"n\">Offered</th><th class=\"n\">Answered</th>"
      "<th class=\"n\">Answered in T</th><th class=\"n\">Abandoned</th>"
      "<th class=\"n\">Short abandons</th><th class=\"n\">Unanswered</th>");
  if (unknown) {
    page.Raw(
        "<th class=\"n\">Answered, wait unknown</th>"
        "<th class=\"n\">Abandoned, wait unknown</th>");
  }
}

void AppendFiguresCells(Page& page, const std::string& path, const Counts& c, bool unknown) {
  page.Count(path + ".offered", c.offered);
  page.Count(path + ".answered", c.answered);
  page.Count(path + ".answered_in_threshold", c.answered_in_threshold);
  page.Count(path + ".abandoned", c.abandoned);
  page.Count(path + ".short_abandoned", c.short_abandoned);
  page.Count(path + ".unanswered", c.UnansweredTotal());
  if (unknown) {
    page.Count(path + ".answered_wait_unknown", c.answered_wait_unknown);
    page.Count(path + ".abandoned_wait_unknown", c.abandoned_wait_unknown);
  }
}

// Whether a queue's span has calls of unknown wait (its periods and sites are parts of it).
bool AnyWaitUnknown(const StatementQueue& q) {
  return q.figures.counts.answered_wait_unknown + q.figures.counts.abandoned_wait_unknown > 0;
}

bool AnyFee(const Statement& s) {
  return std::any_of(s.queues.begin(), s.queues.end(),
                     [](const StatementQueue& q) { return q.terms.monthly_fee > 0; });
}

void AppendSummary(Page& page, const Statement& s) {
  const bool fees = AnyFee(s);
  page.Raw("<h2>Summary</h2>\n<table class=\"summary\"><thead><tr><th>Queue</th>");
  page.Raw(
      "<th class=\"n\">Offered</th><th class=\"n\">Answered</th>"
      "<th class=\"n\">Service level</th><th class=\"n\">Target</th><th>Result</th>"
      "<th class=\"n\">Service credit</th><th class=\"n\">Incentive</th>");
  if (fees) page.Raw("<th class=\"n\">Credit amount</th><th class=\"n\">Incentive amount</th>");
  page.Raw("</tr></thead><tbody>\n");
  for (std::size_t i = 0; i < s.queues.size(); ++i) {
    const auto& q = s.queues[i];
    const std::string p = "queues." + std::to_string(i);
    page.Raw("<tr>");
    page.Cell(p + ".queue", q.queue);
    page.Count(p + ".offered", q.figures.counts.offered);
    page.Count(p + ".answered", q.figures.counts.answered);
    page.Ratio(p + ".service_level", q.figures.service_level);
    page.Ratio(p + ".target", q.contract.sl_target);
    AppendResult(page, q.result);
    page.Num("td", "n", p + ".service_credit_percent", JsonNumber(q.service_credit_percent),
             Short(q.service_credit_percent) + "%");
    page.Num("td", "n", p + ".incentive_percent", JsonNumber(q.incentive_percent),
             Short(q.incentive_percent) + "%");
    if (fees) {
      for (const auto& [key, pct] : {std::pair{".service_credit_amount", q.service_credit_percent},
                                     std::pair{".incentive_amount", q.incentive_percent}}) {
        if (const auto amount = Amount(q.terms.monthly_fee, pct)) {
          page.Num("td", "n", p + key, JsonNumber(*amount), Money(*amount, q.terms.currency));
        } else {
          page.Raw("<td class=\"n\">");
          page.Text(kNone);
          page.Raw("</td>");
        }
      }
    }
    page.Raw("</tr>\n");
  }
  page.Raw("<tr class=\"total\"><th colspan=\"6\">Statement total</th>");
  page.Num("td", "n", "service_credit_percent", JsonNumber(s.service_credit_percent),
           Short(s.service_credit_percent) + "%");
  page.Num("td", "n", "incentive_percent", JsonNumber(s.incentive_percent),
           Short(s.incentive_percent) + "%");
  if (fees) {
    const std::string currency = StatementCurrency(s);
    for (const auto& [key, amount] :
         {std::pair{"service_credit_amount", TotalAmount(s, &Statement::service_credit_percent,
                                                         &StatementQueue::service_credit_percent)},
          std::pair{"incentive_amount", TotalAmount(s, &Statement::incentive_percent,
                                                    &StatementQueue::incentive_percent)}}) {
      if (amount) {
        page.Num("td", "n", key, JsonNumber(*amount), Money(*amount, currency));
      } else {
        page.Raw("<td class=\"n\">");
        page.Text(kNone);
        page.Raw("</td>");
      }
    }
  }
  page.Raw("</tr>\n</tbody></table>\n");
  page.Raw(
      "<p class=\"note\">Service credits and incentives are percentages of the monthly fee. The "
      "statement total is the sum over the queues, capped by the contract of the first queue.");
  if (fees) {
    page.Raw(" Monthly fee: ");
    page.Num("span", "", "monthly_fee", JsonNumber(StatementFee(s)),
             Money(StatementFee(s), StatementCurrency(s)));
    page.Raw(".");
  }
  page.Raw("</p>\n");
}

void AppendFact(Page& page, std::string_view label) {
  page.Raw("<tr><th>");
  page.Text(label);
  page.Raw("</th>");
}

void AppendTerms(Page& page, const std::string& qp, const StatementTerms& t) {
  const std::string p = qp + ".terms";
  page.Raw("<h3>Contract terms</h3>\n<table class=\"facts\"><tbody>\n");
  AppendFact(page, "Contract zone");
  page.Cell(p + ".timezone", t.timezone);
  page.Raw("</tr>\n");
  AppendFact(page, "Measurement period");
  page.Cell(p + ".period", PeriodName(t.period));
  page.Raw("</tr>\n");
  AppendFact(page, "Measured hours");
  page.Raw("<td>");
  if (t.all_hours) {
    page.Text("all hours, every day");
  } else {
    for (std::size_t d = 0; d < kDayKeys.size(); ++d) {
      page.Text(kDayNames[d]);
      page.Raw(": ");
      if (t.measured_hours[d].empty()) page.Text("not measured");
      for (std::size_t r = 0; r < t.measured_hours[d].size(); ++r) {
        if (r) page.Raw(", ");
        page.Str("span", "",
                 p + ".measured_hours." + std::string(kDayKeys[d]) + "." + std::to_string(r),
                 RangeText(t.measured_hours[d][r]));
      }
      page.Raw("<br>");
    }
  }
  page.Raw("</td></tr>\n");
  AppendFact(page, "Holidays (not measured)");
  page.Raw("<td>");
  if (t.holidays.empty()) page.Text("none");
  for (std::size_t i = 0; i < t.holidays.size(); ++i) {
    if (i) page.Raw(", ");
    page.Str("span", "", p + ".holidays." + std::to_string(i), t.holidays[i]);
  }
  page.Raw("</td></tr>\n");
  AppendFact(page, "Minimum volume per period");
  page.Num("td", "", p + ".min_volume", JsonNumber(t.min_volume), Grouped(t.min_volume));
  page.Raw("</tr>\n");
  AppendFact(page, "Below the minimum");
  page.Cell(p + ".min_volume_policy", MinVolumePolicyName(t.min_volume_policy));
  page.Raw("</tr>\n");
  if (t.monthly_fee > 0) {
    AppendFact(page, "Monthly fee");
    page.Num("td", "", p + ".monthly_fee", JsonNumber(t.monthly_fee),
             Money(t.monthly_fee, t.currency));
    page.Raw("</tr>\n");
  }
  AppendFact(page, "Service credit basis");
  page.Cell(p + ".credit_basis", CreditBasisName(t.credit_basis));
  page.Raw("</tr>\n");
  const std::string_view unit =
      t.credit_basis == CreditBasis::kMissedPeriods ? "% of judged periods missed" : " points";
  AppendFact(page, "Service credit tiers");
  page.Raw("<td>");
  if (t.credits.empty()) page.Text("none");
  for (std::size_t i = 0; i < t.credits.size(); ++i) {
    const std::string tp = p + ".credits." + std::to_string(i);
    if (i) page.Raw("<br>");
    page.Text("shortfall from ");
    page.Num("span", "", tp + ".shortfall", JsonNumber(t.credits[i].shortfall),
             Short(t.credits[i].shortfall));
    page.Text(unit);
    page.Text(": ");
    page.Num("span", "", tp + ".percent", JsonNumber(t.credits[i].percent),
             Short(t.credits[i].percent) + "%");
    page.Text(" of the fee");
  }
  page.Raw("</td></tr>\n");
  AppendFact(page, "Service credit cap");
  page.Num("td", "", p + ".credit_cap_percent", JsonNumber(t.credit_cap_percent),
           Short(t.credit_cap_percent) + "%");
  page.Raw("</tr>\n");
  AppendFact(page, "Incentive tiers");
  page.Raw("<td>");
  if (t.incentives.empty()) page.Text("none");
  for (std::size_t i = 0; i < t.incentives.size(); ++i) {
    const std::string tp = p + ".incentives." + std::to_string(i);
    if (i) page.Raw("<br>");
    page.Text("month service level above target by ");
    page.Num("span", "", tp + ".surplus", JsonNumber(t.incentives[i].surplus),
             Short(t.incentives[i].surplus));
    page.Text(" points or more: ");
    page.Num("span", "", tp + ".percent", JsonNumber(t.incentives[i].percent),
             Short(t.incentives[i].percent) + "%");
    page.Text(" of the fee");
  }
  page.Raw("</td></tr>\n");
  AppendFact(page, "Incentive cap");
  page.Num("td", "", p + ".incentive_cap_percent", JsonNumber(t.incentive_cap_percent),
           Short(t.incentive_cap_percent) + "%");
  page.Raw("</tr>\n");
  AppendFact(page, "Alerts that may be excluded");
  page.Raw("<td>");
  if (t.exclusion_alerts.empty()) page.Text("none");
  for (std::size_t i = 0; i < t.exclusion_alerts.size(); ++i) {
    if (i) page.Raw(", ");
    page.Str("span", "", p + ".exclusion_alerts." + std::to_string(i), t.exclusion_alerts[i]);
  }
  page.Raw("</td></tr>\n");
  AppendFact(page, "Forecast tolerance");
  page.Num("td", "", p + ".forecast_tolerance", JsonNumber(t.forecast_tolerance),
           Percent(t.forecast_tolerance));
  page.Raw("</tr>\n");
  AppendFact(page, "Volume above forecast");
  page.Cell(p + ".over_forecast", OverForecastName(t.over_forecast));
  page.Raw("</tr>\n");
  if (t.over_forecast == OverForecastPolicy::kRelaxed) {
    AppendFact(page, "Relaxed SL target");
    page.Num("td", "", p + ".relaxed_sl_target", JsonNumber(t.relaxed_sl_target),
             Percent(t.relaxed_sl_target));
    page.Raw("</tr>\n");
  }
  page.Raw("</tbody></table>\n");
}

void AppendQueue(Page& page, const Statement& s, std::size_t qi, std::string_view zone) {
  const auto& q = s.queues[qi];
  const std::string qp = "queues." + std::to_string(qi);
  page.Raw("<section class=\"queue\">\n<h2>Queue ");
  page.Str("span", "", qp + ".queue", q.queue);
  page.Raw("</h2>\n<table class=\"facts\"><tbody>\n");
  AppendFact(page, "Service-level formula");
  page.Cell(qp + ".sl_formula", ToString(q.contract.sl_formula));
  page.Raw("</tr>\n");
  AppendFact(page, "Threshold T");
  page.Num("td", "", qp + ".sl_threshold_s", JsonNumber(q.contract.sl_threshold_s),
           Short(q.contract.sl_threshold_s) + " s");
  page.Raw("</tr>\n");
  AppendFact(page, "Short abandon: waited less than");
  page.Num("td", "", qp + ".short_abandon_s", JsonNumber(q.contract.short_abandon_s),
           Short(q.contract.short_abandon_s) + " s");
  page.Raw("</tr>\n");
  AppendFact(page, "Service-level target");
  page.Num("td", "", qp + ".target", JsonNumber(q.contract.sl_target),
           Percent(q.contract.sl_target));
  page.Raw("</tr>\n");
  AppendFact(page, "Service level over the span");
  page.Num("td", "", qp + ".service_level", JsonNumber(q.figures.service_level),
           Percent(q.figures.service_level));
  page.Raw("</tr>\n");
  AppendFact(page, "Result over the span");
  AppendResult(page, q.result);
  page.Raw("</tr>\n");
  AppendFact(page, "Abandon rate");
  page.Num("td", "", qp + ".abandon_rate", JsonNumber(q.figures.abandon_rate),
           Percent(q.figures.abandon_rate, /*up=*/true));
  page.Raw("</tr>\n");
  AppendFact(page, "Average speed of answer");
  page.Num("td", "", qp + ".asa_s", JsonNumber(q.figures.asa_s), SecondsText(q.figures.asa_s));
  page.Raw("</tr>\n");
  AppendFact(page, "Periods met / missed / excluded / not judged");
  page.Raw("<td>");
  const std::array<std::pair<const char*, std::uint32_t>, 4> tallies = {
      std::pair{".periods_met", q.periods_met}, std::pair{".periods_missed", q.periods_missed},
      std::pair{".periods_excluded", q.periods_excluded},
      std::pair{".periods_not_judged", q.periods_not_judged}};
  for (std::size_t i = 0; i < tallies.size(); ++i) {
    if (i) page.Raw(" / ");
    page.Num("span", "", qp + tallies[i].first, JsonNumber(std::uint64_t{tallies[i].second}),
             Grouped(tallies[i].second));
  }
  page.Raw("</td></tr>\n");
  AppendFact(page, q.terms.credit_basis == CreditBasis::kMissedPeriods
                       ? "Shortfall (% of judged periods missed)"
                       : "Shortfall (SL points below target)");
  // Four decimals: tiers are compared unrounded, and 4.996 must not read as 5.
  page.Num("td", "", qp + ".shortfall", JsonNumber(q.shortfall), Short(q.shortfall, 4));
  page.Raw("</tr>\n");
  AppendFact(page, "Service credit");
  page.Num("td", "", qp + ".service_credit_percent", JsonNumber(q.service_credit_percent),
           Short(q.service_credit_percent) + "% of the fee");
  page.Raw("</tr>\n");
  AppendFact(page, "Incentive");
  page.Num("td", "", qp + ".incentive_percent", JsonNumber(q.incentive_percent),
           Short(q.incentive_percent) + "% of the fee");
  page.Raw("</tr>\n</tbody></table>\n");

  page.Raw("<h3>Service level per day</h3>\n");
  AppendChart(page, q, zone);

  const bool unknown = AnyWaitUnknown(q);
  page.Raw("<h3>Periods</h3>\n<table class=\"periods\"><thead><tr><th>Period</th>");
  AppendFiguresHeader(page, unknown);
  page.Raw(
      "<th class=\"n\">Service level</th><th class=\"n\">Target</th><th>Result</th>"
      "<th>Note</th></tr></thead><tbody>\n");
  for (std::size_t i = 0; i < q.periods.size(); ++i) {
    const auto& per = q.periods[i];
    const std::string pp = qp + ".periods." + std::to_string(i);
    page.Raw("<tr>");
    page.Cell(pp + ".label", per.label);
    AppendFiguresCells(page, pp, per.figures.counts, unknown);
    page.Ratio(pp + ".service_level", per.figures.service_level);
    page.Ratio(pp + ".target", per.target);
    AppendResult(page, per.result);
    page.Cell(pp + ".note", per.note);
    page.Raw("</tr>\n");
  }
  page.Raw("<tr class=\"total\"><th>Span</th>");
  AppendFiguresCells(page, qp, q.figures.counts, unknown);
  page.Ratio(qp + ".service_level", q.figures.service_level);
  page.Ratio(qp + ".target", q.contract.sl_target);
  AppendResult(page, q.result);
  page.Raw("<td></td></tr>\n</tbody></table>\n");

  page.Raw("<h3>By site</h3>\n<table class=\"sites\"><thead><tr><th>Site</th>");
  AppendFiguresHeader(page, unknown);
  page.Raw(
      "<th class=\"n\">Service level</th><th class=\"n\">Abandon rate</th>"
      "<th class=\"n\">ASA</th></tr></thead><tbody>\n");
  for (std::size_t i = 0; i < q.sites.size(); ++i) {
    const auto& site = q.sites[i];
    const std::string sp = qp + ".sites." + std::to_string(i);
    page.Raw("<tr>");
    page.Cell(sp + ".site", site.site);
    AppendFiguresCells(page, sp, site.figures.counts, unknown);
    page.Ratio(sp + ".service_level", site.figures.service_level);
    page.Num("td", "n", sp + ".abandon_rate", JsonNumber(site.figures.abandon_rate),
             Percent(site.figures.abandon_rate, /*up=*/true));
    page.Secs(sp + ".asa_s", site.figures.asa_s);
    page.Raw("</tr>\n");
  }
  if (q.sites.empty()) {
    page.Raw(unknown ? "<tr><td colspan=\"12\">" : "<tr><td colspan=\"10\">");
    page.Raw("No site had calls in the measured hours.</td></tr>\n");
  }
  page.Raw("</tbody></table>\n");

  AppendTerms(page, qp, q.terms);
  page.Raw("</section>\n");
}

void AppendExclusions(Page& page, const Statement& s, std::string_view zone) {
  page.Raw("<section class=\"exclusions\">\n<h2>Exclusions</h2>\n");
  if (s.exclusions.empty()) {
    page.Raw("<p>No exclusion was proposed for this span.</p>\n</section>\n");
    return;
  }
  page.Raw("<p class=\"note\">Times in ");
  page.Text(zone);
  page.Raw(
      ". Only accepted exclusions remove intervals from the figures above.</p>\n"
      "<table class=\"exclusions\"><thead><tr><th class=\"n\">Id</th><th>Alert</th>"
      "<th>Site</th><th>Queue</th><th>From</th><th>To</th><th>Reason</th><th>State</th>"
      "<th>Proposed</th><th>Decided</th><th>Decision note</th></tr></thead><tbody>\n");
  for (std::size_t i = 0; i < s.exclusions.size(); ++i) {
    const auto& e = s.exclusions[i];
    const std::string ep = "exclusions." + std::to_string(i);
    page.Raw("<tr>");
    page.Num("td", "n", ep + ".id", JsonNumber(e.id), std::to_string(e.id));
    page.Cell(ep + ".alert", e.alert);
    if (e.site.empty()) {
      page.Raw("<td>every site</td>");
    } else {
      page.Cell(ep + ".site", e.site);
    }
    if (e.queue.empty()) {
      page.Raw("<td>every queue</td>");
    } else {
      page.Cell(ep + ".queue", e.queue);
    }
    page.TimeCell(ep + ".from_ms", e.from_ms);
    page.TimeCell(ep + ".to_ms", e.to_ms);
    page.Cell(ep + ".reason", e.reason);
    page.Raw("<td class=\"r r-");
    page.Raw(e.state == Exclusion::State::kAccepted   ? "met"
             : e.state == Exclusion::State::kRejected ? "missed"
                                                      : "not_judged");
    page.Raw("\" data-path=\"" + ep + ".state\">");
    page.Text(StateName(e.state));
    page.Raw("</td>");
    // Who, then when, in one cell each.
    page.Raw("<td>");
    page.Str("span", "", ep + ".proposed_by", e.proposed_by);
    page.Raw("<br>");
    page.Time("", ep + ".proposed_ms", e.proposed_ms);
    page.Raw("</td><td>");
    if (e.decided_ms != 0) {
      page.Str("span", "", ep + ".decided_by", e.decided_by);
      page.Raw("<br>");
      page.Time("", ep + ".decided_ms", e.decided_ms);
    } else {
      page.Text(kNone);
    }
    page.Raw("</td>");
    page.Cell(ep + ".decision_note", e.decision_note);
    page.Raw("</tr>\n");
  }
  page.Raw("</tbody></table>\n</section>\n");
}

// Names the queues (by JSON path) that use a formula, for the definitions.
void AppendUsedBy(Page& page, const Statement& s, SlFormula f) {
  bool first = true;
  for (std::size_t i = 0; i < s.queues.size(); ++i) {
    if (s.queues[i].contract.sl_formula != f) continue;
    page.Raw(first ? " <strong>In use on this statement for: " : ", ");
    page.Str("span", "", "queues." + std::to_string(i) + ".queue", s.queues[i].queue);
    first = false;
  }
  if (!first) page.Raw(".</strong>");
}

void AppendDefinitions(Page& page, const Statement& s) {
  page.Raw("<section class=\"appendix\">\n<h2>Appendix: definitions</h2>\n<dl class=\"defs\">\n");
  page.Raw(R"html(<dt>Ledger interval and rows</dt>
<dd>Calls are counted per site, queue and contract interval, in a ledger that keeps one row per
interval for ever. A call is offered in the interval in which it entered the queue; its outcome
(answer, abandon, exit) counts in the interval in which that outcome happened. Every figure on
this statement is a sum of these rows. <em>Rows</em> counts the rows a period includes;
<em>amended rows</em> are rows that changed after they first closed, because events arrived
late (each amendment raises the row's revision and is audited; a row is never duplicated).</dd>
<dt>Offered</dt><dd>Calls that entered the queue.</dd>
<dt>Answered</dt><dd>Calls connected to an agent.</dd>
<dt>Answered in T</dt><dd>Calls answered after a queue wait of at most the threshold T of the
contract (an answer at exactly T is within).</dd>
<dt>Abandoned</dt><dd>Calls whose caller hung up while queued. <em>Abandoned within T</em> are
those who hung up after at most T.</dd>
<dt>Short abandons</dt><dd>Abandoned calls that waited less than the short-abandon time of the
contract: callers who hung up almost at once, usually misdials.</dd>
<dt>Unanswered</dt><dd>Calls that left the queue without an answer and without hanging up:
the queue's maximum wait expired (timeout), the caller pressed a key to leave (key), no agent
was logged in (empty) or the call was withdrawn (withdraw); or the call was still waiting past
the queue's maximum wait and the telephone system never recorded how it ended (lost).</dd>
<dt>Wait unknown</dt><dd>Answered or abandoned calls for which the telephone system recorded no
usable queue wait (an empty or damaged field). They count as offered and as answered or
abandoned, and an abandoned one counts in the abandon rate as a real abandon (never a short
one); but nobody can tell whether they were within T, so they are left out of the service level
(its numerator and its denominator, in every formula) and of the ASA. Their columns appear for
a queue that has such calls.</dd>
<dt>Service level (SL)</dt><dd>The share of calls answered in T, by the formula the contract
names. Counts of every site and interval of a period are added up first and the ratio is taken
once, so a busy site weighs more than a quiet one. A period with no calls in the denominator has
no service level (shown as a dash), rather than zero or full marks. In every formula below,
answered, abandoned and offered leave out the calls of unknown wait.
<ul>
<li><code>standard</code>: answered in T / (answered + abandoned + unanswered &minus; short
abandons).)html");
  AppendUsedBy(page, s, SlFormula::kStandard);
  page.Raw(R"html(</li>
<li><code>answered_only</code>: answered in T / answered.)html");
  AppendUsedBy(page, s, SlFormula::kAnsweredOnly);
  page.Raw(R"html(</li>
<li><code>removed_within</code>: (answered in T + abandoned within T) / (answered +
abandoned).)html");
  AppendUsedBy(page, s, SlFormula::kRemovedWithin);
  page.Raw(R"html(</li>
<li><code>ignore_abandoned_within</code>: answered in T / (answered + abandoned &minus; abandoned
within T).)html");
  AppendUsedBy(page, s, SlFormula::kIgnoreAbandonedWithin);
  page.Raw(R"html(</li>
<li><code>over_offered</code>: answered in T / offered.)html");
  AppendUsedBy(page, s, SlFormula::kOverOffered);
  page.Raw(R"html(</li>
</ul></dd>
<dt>Abandon rate</dt><dd>(abandoned &minus; short abandons) / (offered &minus; short
abandons).</dd>
<dt>Average speed of answer (ASA)</dt><dd>Total queue wait of answered calls / answered
calls, both of known wait.</dd>
<dt>Contract zone</dt><dd>Days, weeks, months, measured hours and holidays are read on the wall
clock of the contract's time zone, and the times on this statement are shown in it.</dd>
<dt>Measurement period</dt><dd>The span each result is judged on: one interval, a local day,
an ISO week (Monday to Sunday) or a calendar month.</dd>
<dt>Measured hours and holidays</dt><dd>Only intervals whose local start falls inside the
measured hours of its weekday count; intervals on a contract holiday do not count at all. Calls
outside them are not on this statement.</dd>
<dt>Minimum volume and pooling</dt><dd>A period with fewer offered calls than the contract's
minimum is <em>not judged</em>. With pooling, such a period instead opens a pool that the
following periods join until the pool reaches the minimum, and the pool is judged as one; a
pool still short at the end of the span is not judged.</dd>
<dt>Exclusions (force majeure)</dt><dd>The vendor may propose to exclude the time a continuity
alert named in the contract (for example a site going dark) was active. Once the client
accepts, the ledger rows of the named site (or of every site) overlapping that time are left
out of every figure; proposed and rejected exclusions change nothing. A period all of whose
rows are excluded is <em>excluded</em>.</dd>
<dt>Forecast</dt><dd>When an interval's offered calls across all sites exceed the forecast by
more than the tolerance, that interval is excluded, or judged at the relaxed target, as the
contract says. A longer period is judged at the relaxed target when its offered calls exceed
its summed forecast by more than the tolerance.</dd>
<dt>Result</dt><dd><em>met</em> when the period's service level reaches its target,
<em>missed</em> when it does not, <em>excluded</em> and <em>not judged</em> as above. The span
result judges the service level of the whole span against the contract target.</dd>
<dt>Service credits</dt><dd>A percentage of the monthly fee the vendor owes when service falls
short. On the <code>month_shortfall</code> basis the shortfall is the target minus the span's
service level, in percentage points; on the <code>missed_periods</code> basis it is the share of
judged periods (met plus missed) that were missed, in percent. The credit is the highest tier
the shortfall reaches, limited by the cap.</dd>
<dt>Incentives</dt><dd>A percentage of the monthly fee earned when the span's service level
exceeds the target by at least a tier's surplus in percentage points, the span was met and no
service credit is due; the highest tier reached applies, limited by the cap.</dd>
<dt>Statement total</dt><dd>The sum of the queues' credits (or incentives), capped by the
contract of the first queue.</dd>
</dl>
</section>
)html");
}

}  // namespace

std::string StatementJson(const Statement& s) {
  JsonWriter w;
  w.BeginObject();
  w.FieldS("client", s.client);
  // "month": the YYYY-MM of a month statement (a span of days has none).
  const bool month = s.label.size() == 7 && s.from_date.starts_with(s.label) &&
                     s.to_date.starts_with(s.label) && s.from_date.ends_with("-01");
  if (month) {
    w.FieldS("month", s.label);
  } else {
    w.FieldOpt("month", std::nullopt);
  }
  w.FieldS("label", s.label);
  w.FieldS("from", s.from_date);
  w.FieldS("to", s.to_date);
  w.FieldS("timezone", s.timezone);
  w.FieldI("generated_ms", s.generated_ms);
  w.FieldOptI("as_of_ms", s.as_of_ms > 0 ? std::optional(s.as_of_ms) : std::nullopt);
  if (const auto provisional = Provisional(s)) {
    w.FieldB("provisional", *provisional);
  } else {
    w.FieldOpt("provisional", std::nullopt);
  }
  w.FieldB("span_open", s.span_open);
  w.Key("incomplete_sites");
  w.BeginArray();
  for (const SiteProgress& p : s.incomplete_sites) {
    w.BeginObject();
    w.FieldS("site", p.site);
    w.FieldOptI("first_open_ms", p.first_open_row_ms != std::numeric_limits<std::int64_t>::max()
                                     ? std::optional(p.first_open_row_ms)
                                     : std::nullopt);
    w.FieldI("reported_until_ms", p.reported_until_ms);
    w.FieldU("backlog_events", p.backlog_events);
    w.FieldB("connected", p.connected);
    w.EndObject();
  }
  w.EndArray();
  w.FieldD("service_credit_percent", s.service_credit_percent);
  w.FieldD("incentive_percent", s.incentive_percent);
  w.FieldD("monthly_fee", StatementFee(s));
  w.FieldS("currency", StatementCurrency(s));
  w.FieldOpt("service_credit_amount", TotalAmount(s, &Statement::service_credit_percent,
                                                  &StatementQueue::service_credit_percent));
  w.FieldOpt("incentive_amount",
             TotalAmount(s, &Statement::incentive_percent, &StatementQueue::incentive_percent));
  w.Key("queues");
  w.BeginArray();
  for (const auto& q : s.queues) WriteQueue(w, q);
  w.EndArray();
  w.Key("exclusions");
  w.BeginArray();
  for (const auto& e : s.exclusions) {
    w.BeginObject();
    w.FieldI("id", e.id);
    w.FieldS("site", e.site);
    w.FieldS("queue", e.queue);
    w.FieldS("alert", e.alert);
    w.FieldI("from_ms", e.from_ms);
    w.FieldI("to_ms", e.to_ms);
    w.FieldS("reason", e.reason);
    w.FieldS("state", StateName(e.state));
    w.FieldS("proposed_by", e.proposed_by);
    w.FieldI("proposed_ms", e.proposed_ms);
    w.FieldS("decided_by", e.decided_by);
    w.Key("decided_ms");
    if (e.decided_ms != 0) {
      w.Raw(JsonNumber(e.decided_ms));
    } else {
      w.Null();
    }
    w.FieldS("decision_note", e.decision_note);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::string out = w.Take();
  out += '\n';
  return out;
}

std::string StatementCsv(const Statement& s) {
  std::string out =
      "client,queue,period,start_ms,end_ms,offered,answered,answered_in_threshold,abandoned,"
      "abandoned_in_threshold,short_abandoned,unanswered,answered_wait_unknown,"
      "abandoned_wait_unknown,answered_wait_s,service_level,target,result,note,rows,"
      "excluded_rows,amended_rows,provisional\n";
  // On every line, so that a line copied elsewhere still says it may change: empty for a
  // statement rebuilt as of an earlier time (as the JSON's null).
  const auto known = Provisional(s);
  const std::string provisional = !known ? "" : *known ? "true" : "false";
  const auto figures = [](const Counts& c) {
    return std::vector<std::string>{JsonNumber(c.offered),
                                    JsonNumber(c.answered),
                                    JsonNumber(c.answered_in_threshold),
                                    JsonNumber(c.abandoned),
                                    JsonNumber(c.abandoned_in_threshold),
                                    JsonNumber(c.short_abandoned),
                                    JsonNumber(c.UnansweredTotal()),
                                    JsonNumber(c.answered_wait_unknown),
                                    JsonNumber(c.abandoned_wait_unknown),
                                    JsonNumber(Seconds(c.answered_wait_ms))};
  };
  for (const auto& q : s.queues) {
    std::uint64_t rows = 0;
    std::uint64_t excluded_rows = 0;
    std::uint64_t amended_rows = 0;
    for (const auto& p : q.periods) {
      std::vector<std::string> line = {s.client, q.queue, p.label, JsonNumber(p.start_ms),
                                       JsonNumber(p.end_ms)};
      const auto f = figures(p.figures.counts);
      line.insert(line.end(), f.begin(), f.end());
      line.insert(line.end(),
                  {CsvRatio(p.figures.service_level), JsonNumber(p.target),
                   std::string(ResultName(p.result)), p.note, JsonNumber(std::uint64_t{p.rows}),
                   JsonNumber(std::uint64_t{p.excluded_rows}),
                   JsonNumber(std::uint64_t{p.amended_rows}), provisional});
      AppendCsvLine(out, line);
      rows += p.rows;
      excluded_rows += p.excluded_rows;
      amended_rows += p.amended_rows;
    }
    std::vector<std::string> total = {
        s.client, q.queue, "TOTAL",
        q.periods.empty() ? std::string() : JsonNumber(q.periods.front().start_ms),
        q.periods.empty() ? std::string() : JsonNumber(q.periods.back().end_ms)};
    const auto f = figures(q.figures.counts);
    total.insert(total.end(), f.begin(), f.end());
    total.insert(total.end(), {CsvRatio(q.figures.service_level), JsonNumber(q.contract.sl_target),
                               std::string(ResultName(q.result)), std::string(), JsonNumber(rows),
                               JsonNumber(excluded_rows), JsonNumber(amended_rows), provisional});
    AppendCsvLine(out, total);
  }
  return out;
}

std::string StatementHtml(const Statement& s) {
  absl::TimeZone tz = absl::UTCTimeZone();
  std::string zone = "UTC";
  if (absl::TimeZone loaded; absl::LoadTimeZone(s.timezone, &loaded)) {
    tz = loaded;
    zone = s.timezone;
  }
  Page page(tz);
  page.Raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
  page.Raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
  page.Text("SLA statement \xE2\x80\x94 " + s.client + " \xE2\x80\x94 " + s.label);
  page.Raw("</title>\n<style>");
  page.Raw(kStyle);
  page.Raw("</style>\n</head>\n<body>\n<header>\n<h1>SLA statement \xE2\x80\x94 ");
  page.Str("span", "", "client", s.client);
  page.Raw(" \xE2\x80\x94 ");
  page.Str("span", "", "label", s.label);
  page.Raw("</h1>\n<p class=\"meta\">Local dates ");
  page.Str("span", "", "from", s.from_date);
  page.Raw(" to ");
  page.Str("span", "", "to", s.to_date);
  page.Raw(" in the contract zone ");
  page.Str("span", "", "timezone", s.timezone);
  if (zone != s.timezone) page.Raw(" (unknown to this system: times below are in UTC)");
  page.Raw(". Generated ");
  page.Time("", "generated_ms", s.generated_ms);
  page.Raw(" (");
  page.Text(zone);
  page.Raw(")");
  if (s.as_of_ms > 0) {
    page.Raw(", from the ledger as it stood at ");
    page.Time("", "as_of_ms", s.as_of_ms);
  }
  page.Raw(".</p>\n");
  if (Provisional(s).value_or(false)) {
    page.Raw("<p class=\"provisional\"><strong>Provisional.</strong> ");
    if (s.span_open) page.Raw("The span is not over yet. ");
    if (!s.incomplete_sites.empty()) page.Raw("Rows of this span may still change or arrive: ");
    for (std::size_t i = 0; i < s.incomplete_sites.size(); ++i) {
      const SiteProgress& p = s.incomplete_sites[i];
      const std::string path = "incomplete_sites." + std::to_string(i);
      if (i > 0) page.Raw("; ");
      page.Str("span", "", path + ".site", p.site);
      if (p.first_open_row_ms != std::numeric_limits<std::int64_t>::max()) {
        page.Raw(" has intervals open from ");
        page.Time("", path + ".first_open_ms", p.first_open_row_ms);
      } else {
        page.Raw(" has sent its events up to ");
        page.Time("", path + ".reported_until_ms", p.reported_until_ms);
      }
      if (p.backlog_events > 0) {
        page.Raw(", ");
        page.Num("span", "", path + ".backlog_events", JsonNumber(p.backlog_events),
                 Grouped(p.backlog_events));
        page.Raw(" events waiting in its spool");
      }
      if (!p.connected) page.Raw(" (not connected)");
    }
    if (!s.incomplete_sites.empty()) page.Raw(". ");
    page.Raw("Generate it again once the span is over and its rows are closed and sent.</p>\n");
  }
  page.Raw("</header>\n<main>\n");
  AppendSummary(page, s);
  for (std::size_t i = 0; i < s.queues.size(); ++i) AppendQueue(page, s, i, zone);
  AppendExclusions(page, s, zone);
  AppendDefinitions(page, s);
  page.Raw("</main>\n</body>\n</html>\n");
  return page.Take();
}

}  // namespace ccmon::collector
