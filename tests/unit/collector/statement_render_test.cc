// The statement's renderings over a statement built by hand: JSON is valid and says what the
// statement says, CSV quotes and counts right, and every number in the HTML is the JSON's.
#include <absl/time/civil_time.h>
#include <absl/time/time.h>
#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ccmon/collector/statement.h"

namespace ccmon::collector {
namespace {

// ---------------------------------------------------------------------------------------------
// A strict RFC 8259 parser that keeps each number's text, so the HTML's data-value can be
// compared with the JSON character for character.

struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  std::string text;  // number: its literal text; string: decoded UTF-8; bool: true/false
  std::vector<Json> items;
  std::vector<std::string> keys;  // object members: keys[i] names values[i]
  std::vector<Json> values;

  const Json* Find(std::string_view key) const {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return &values[i];
    }
    return nullptr;
  }
};

class JsonParser {
 public:
  explicit JsonParser(std::string_view s) : s_(s) {}

  // The whole input must be one value surrounded only by whitespace.
  std::optional<Json> Parse() {
    Json v;
    SkipWs();
    if (!Value(&v, 0)) return std::nullopt;
    SkipWs();
    if (i_ != s_.size()) return Fail("trailing characters");
    return v;
  }
  const std::string& error() const { return error_; }

 private:
  std::nullopt_t Fail(const std::string& what) {
    if (error_.empty()) error_ = what + " at offset " + std::to_string(i_);
    return std::nullopt;
  }
  bool Error(const std::string& what) {
    Fail(what);
    return false;
  }
  void SkipWs() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }
  bool Literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return Error("bad literal");
    i_ += word.size();
    return true;
  }
  bool Value(Json* v, int depth) {
    if (depth > 64) return Error("too deep");
    if (i_ >= s_.size()) return Error("unexpected end");
    const char c = s_[i_];
    if (c == '{') return Object(v, depth);
    if (c == '[') return Array(v, depth);
    if (c == '"') {
      v->kind = Json::Kind::kString;
      return String(&v->text);
    }
    if (c == 't' || c == 'f') {
      v->kind = Json::Kind::kBool;
      v->text = c == 't' ? "true" : "false";
      return Literal(v->text);
    }
    if (c == 'n') {
      v->kind = Json::Kind::kNull;
      v->text = "null";
      return Literal("null");
    }
    return Number(v);
  }
  bool Digits() {
    const std::size_t start = i_;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
    return i_ > start;
  }
  bool Number(Json* v) {
    const std::size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    if (i_ < s_.size() && s_[i_] == '0') {
      ++i_;
    } else if (!Digits()) {
      return Error("bad number");
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (!Digits()) return Error("bad fraction");
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!Digits()) return Error("bad exponent");
    }
    v->kind = Json::Kind::kNumber;
    v->text = std::string(s_.substr(start, i_ - start));
    return true;
  }
  static void AppendUtf8(std::string* out, std::uint32_t cp) {
    if (cp < 0x80) {
      *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *out += static_cast<char>(0xC0 | (cp >> 6));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *out += static_cast<char>(0xE0 | (cp >> 12));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      *out += static_cast<char>(0xF0 | (cp >> 18));
      *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool Hex4(std::uint32_t* cp) {
    if (i_ + 4 > s_.size()) return Error("short \\u escape");
    *cp = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[i_++];
      *cp <<= 4;
      if (h >= '0' && h <= '9') {
        *cp |= static_cast<std::uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        *cp |= static_cast<std::uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        *cp |= static_cast<std::uint32_t>(h - 'A' + 10);
      } else {
        return Error("bad hex digit");
      }
    }
    return true;
  }
  bool String(std::string* out) {
    ++i_;  // opening quote
    while (true) {
      if (i_ >= s_.size()) return Error("unterminated string");
      const char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return Error("raw control character in string");
      if (c != '\\') {
        *out += c;
        continue;
      }
      if (i_ >= s_.size()) return Error("unterminated escape");
      const char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          *out += e;
          break;
        case 'b':
          *out += '\b';
          break;
        case 'f':
          *out += '\f';
          break;
        case 'n':
          *out += '\n';
          break;
        case 'r':
          *out += '\r';
          break;
        case 't':
          *out += '\t';
          break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t lo = 0;
            if (s_.substr(i_, 2) != "\\u") return Error("lone high surrogate");
            i_ += 2;
            if (!Hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return Error("bad low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Error("lone low surrogate");
          }
          AppendUtf8(out, cp);
          break;
        }
        default:
          return Error("bad escape");
      }
    }
  }
  bool Array(Json* v, int depth) {
    v->kind = Json::Kind::kArray;
    ++i_;
    SkipWs();
    if (i_ < s_.size() && s_[i_] == ']') {
      ++i_;
      return true;
    }
    while (true) {
      SkipWs();
      Json item;
      if (!Value(&item, depth + 1)) return false;
      v->items.push_back(std::move(item));
      SkipWs();
      if (i_ >= s_.size()) return Error("unterminated array");
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (s_[i_] == ']') {
        ++i_;
        return true;
      }
      return Error("expected , or ]");
    }
  }
  bool Object(Json* v, int depth) {
    v->kind = Json::Kind::kObject;
    ++i_;
    SkipWs();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      return true;
    }
    while (true) {
      SkipWs();
      if (i_ >= s_.size() || s_[i_] != '"') return Error("expected key");
      std::string key;
      if (!String(&key)) return false;
      if (v->Find(key) != nullptr) return Error("duplicate key " + key);
      SkipWs();
      if (i_ >= s_.size() || s_[i_] != ':') return Error("expected :");
      ++i_;
      SkipWs();
      Json member;
      if (!Value(&member, depth + 1)) return false;
      v->keys.push_back(std::move(key));
      v->values.push_back(std::move(member));
      SkipWs();
      if (i_ >= s_.size()) return Error("unterminated object");
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (s_[i_] == '}') {
        ++i_;
        return true;
      }
      return Error("expected , or }");
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::string error_;
};

// "queues.0.periods.3.offered": object keys and array indices separated by dots.
const Json* At(const Json& root, std::string_view path) {
  const Json* node = &root;
  while (!path.empty()) {
    const std::size_t dot = path.find('.');
    const std::string part(path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    if (node->kind == Json::Kind::kObject) {
      node = node->Find(part);
    } else if (node->kind == Json::Kind::kArray) {
      char* end = nullptr;
      const unsigned long idx = std::strtoul(part.c_str(), &end, 10);
      if (part.empty() || *end != '\0' || idx >= node->items.size()) return nullptr;
      node = &node->items[idx];
    } else {
      return nullptr;
    }
    if (node == nullptr) return nullptr;
  }
  return node;
}

Json ParseOrDie(const std::string& text) {
  JsonParser parser(text);
  auto v = parser.Parse();
  EXPECT_TRUE(v.has_value()) << parser.error() << "\n" << text;
  return v.value_or(Json{});
}

std::string Num(const Json& root, std::string_view path) {
  const Json* v = At(root, path);
  if (v == nullptr) return "<missing " + std::string(path) + ">";
  if (v->kind != Json::Kind::kNumber && v->kind != Json::Kind::kNull) {
    return "<not a number at " + std::string(path) + ">";
  }
  return v->text;
}

std::string Str(const Json& root, std::string_view path) {
  const Json* v = At(root, path);
  if (v == nullptr) return "<missing " + std::string(path) + ">";
  if (v->kind != Json::Kind::kString) return "<not a string at " + std::string(path) + ">";
  return v->text;
}

double Dbl(const Json& root, std::string_view path) {
  return std::strtod(Num(root, path).c_str(), nullptr);
}

// ---------------------------------------------------------------------------------------------
// The statement: acme, four days of November 2026 in New York; "billing" has a met, a missed,
// an excluded and a not-judged day over two sites, "support & care" one empty period.

std::int64_t UtcMs(int y, int mo, int d, int h, int mi) {
  return absl::ToUnixMillis(
      absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::UTCTimeZone()));
}

constexpr std::size_t kTimeout = static_cast<std::size_t>(UnansweredReason::kTimeout);
constexpr std::size_t kKey = static_cast<std::size_t>(UnansweredReason::kKey);

Figures Make(const Counts& c, SlFormula f = SlFormula::kStandard) {
  Figures fig;
  fig.counts = c;
  fig.service_level = ServiceLevel(c, f);
  fig.abandon_rate = AbandonRate(c);
  fig.asa_s = AsaSeconds(c);
  return fig;
}

// 400 offered, 360 answered (330 in T), 30 abandoned (20 in T, 6 short), 4 timeouts:
// SL = 330 / (360 + 30 + 4 - 6) = 330 / 388.
Counts Day1() {
  Counts c;
  c.offered = 400;
  c.answered = 360;
  c.answered_in_threshold = 330;
  c.abandoned = 30;
  c.abandoned_in_threshold = 20;
  c.short_abandoned = 6;
  c.unanswered[kTimeout] = 4;
  c.answered_wait_ms = 1'234'567;
  c.abandoned_wait_ms = 300'000;
  c.handled = 355;
  c.handle_ms = 71'000'000;
  return c;
}

// 300 offered, 250 answered (200 in T), 45 abandoned (5 short), 2 key exits:
// SL = 200 / (250 + 45 + 2 - 5) = 200 / 292.
Counts Day2() {
  Counts c;
  c.offered = 300;
  c.answered = 250;
  c.answered_in_threshold = 200;
  c.abandoned = 45;
  c.abandoned_in_threshold = 10;
  c.short_abandoned = 5;
  c.unanswered[kKey] = 2;
  c.answered_wait_ms = 5'000'000;
  return c;
}

// 20 offered, all answered, 19 in T: below the minimum volume of 50.
Counts Day4() {
  Counts c;
  c.offered = 20;
  c.answered = 20;
  c.answered_in_threshold = 19;
  c.answered_wait_ms = 100'000;
  return c;
}

StatementPeriod MakePeriod(std::string label, int day, const Counts& c, PeriodResult r,
                           std::string note, std::uint32_t rows) {
  StatementPeriod p;
  p.label = std::move(label);
  p.start_ms = UtcMs(2026, 11, day, 5, 0);
  p.end_ms = UtcMs(2026, 11, day + 1, 5, 0);
  p.figures = Make(c);
  p.target = 0.8;
  p.result = r;
  p.note = std::move(note);
  p.rows = rows;
  return p;
}

Statement Sample() {
  Statement s;
  s.client = "acme";
  s.label = "2026-11";
  s.from_date = "2026-11-01";
  s.to_date = "2026-11-04";
  s.timezone = "America/New_York";
  s.generated_ms = UtcMs(2026, 12, 1, 13, 30);  // 08:30 in New York

  StatementQueue billing;
  billing.queue = "billing";
  billing.contract.sl_target = 0.8;
  billing.contract.sl_threshold_s = 20;
  billing.terms.timezone = "America/New_York";
  billing.terms.period = Period::kDay;
  billing.terms.all_hours = false;
  for (int d = 1; d <= 5; ++d) billing.terms.measured_hours[d] = {DayRange{8 * 60, 20 * 60}};
  billing.terms.measured_hours[6] = {DayRange{9 * 60, 13 * 60}};
  billing.terms.holidays = {"2026-12-25"};
  billing.terms.min_volume = 50;
  billing.terms.monthly_fee = 120000;
  billing.terms.currency = "USD";
  billing.terms.credits = {{0.01, 2}, {5, 5}, {10, 10}};
  billing.terms.credit_cap_percent = 12;
  billing.terms.incentives = {{3, 1}};
  billing.terms.incentive_cap_percent = 3;
  billing.terms.over_forecast = OverForecastPolicy::kRelaxed;
  billing.terms.relaxed_sl_target = 0.7;

  StatementPeriod excluded;
  excluded.label = "2026-11-03";
  excluded.start_ms = UtcMs(2026, 11, 3, 5, 0);
  excluded.end_ms = UtcMs(2026, 11, 4, 5, 0);
  excluded.target = 0.8;
  excluded.result = PeriodResult::kExcluded;
  excluded.note = "excluded: SiteDark \"typhoon\"";
  excluded.excluded_rows = 24;
  billing.periods = {
      MakePeriod("2026-11-01", 1, Day1(), PeriodResult::kMet, "", 48),
      MakePeriod("2026-11-02", 2, Day2(), PeriodResult::kMissed, "", 48),
      excluded,
      MakePeriod("2026-11-04", 4, Day4(), PeriodResult::kNotJudged,
                 "below minimum volume (20 < 50), not judged", 24),
  };
  billing.periods[1].amended_rows = 2;

  Counts span = Day1();
  span += Day2();
  span += Day4();
  billing.figures = Make(span);
  billing.result = PeriodResult::kMissed;
  billing.periods_met = 1;
  billing.periods_missed = 1;
  billing.periods_excluded = 1;
  billing.periods_not_judged = 1;
  billing.shortfall = 4.5;
  billing.service_credit_percent = 2;

  Counts mnl = Day1();
  mnl += Day4();
  billing.sites = {{"mnl-1", Make(mnl)}, {"ceb-2", Make(Day2())}};
  billing.days = {{"2026-11-01", 330.0 / 388.0},
                  {"2026-11-02", 200.0 / 292.0},
                  {"2026-11-03", std::nullopt},
                  {"2026-11-04", 19.0 / 20.0}};

  StatementQueue support;
  support.queue = "support & care";
  support.contract.sl_formula = SlFormula::kAnsweredOnly;
  support.contract.sl_target = 0.9;
  support.contract.sl_threshold_s = 30;
  support.terms.timezone = "America/New_York";
  support.terms.period = Period::kMonth;
  StatementPeriod empty;
  empty.label = "2026-11";
  empty.start_ms = UtcMs(2026, 11, 1, 4, 0);
  empty.end_ms = UtcMs(2026, 11, 5, 5, 0);
  empty.target = 0.9;
  empty.result = PeriodResult::kNotJudged;
  empty.note = "no calls";
  support.periods = {empty};
  support.days = {{"2026-11-01", std::nullopt}};

  s.queues = {billing, support};
  s.service_credit_percent = 2;

  Exclusion accepted;
  accepted.id = 7;
  accepted.client = "acme";
  accepted.site = "ceb-2";
  accepted.alert = "SiteDark";
  accepted.from_ms = UtcMs(2026, 11, 3, 14, 0);  // 09:00 EST
  accepted.to_ms = UtcMs(2026, 11, 3, 18, 0);
  accepted.reason = "Typhoon <Odette> & \"signal 4\"";
  accepted.state = Exclusion::State::kAccepted;
  accepted.proposed_by = "vendor:ana";
  accepted.proposed_ms = UtcMs(2026, 11, 3, 19, 0);
  accepted.decided_by = "client:joe";
  accepted.decided_ms = UtcMs(2026, 11, 4, 15, 0);
  accepted.decision_note = "ok, it's\nconfirmed \\ by PAGASA";
  Exclusion proposed;
  proposed.id = 8;
  proposed.client = "acme";
  proposed.alert = "LinkDown";
  proposed.from_ms = UtcMs(2026, 11, 4, 14, 0);
  proposed.to_ms = UtcMs(2026, 11, 4, 15, 0);
  proposed.reason = "fibre cut";
  proposed.proposed_by = "vendor:ana";
  proposed.proposed_ms = UtcMs(2026, 11, 4, 16, 0);
  s.exclusions = {accepted, proposed};
  s.incomplete_sites = {{"ceb-1", std::numeric_limits<std::int64_t>::max(),
                         UtcMs(2026, 11, 4, 22, 0), 1200, false, UtcMs(2026, 11, 4, 22, 0)},
                        {"manila-1", UtcMs(2026, 11, 4, 23, 30), UtcMs(2026, 11, 5, 0, 10), 0, true,
                         UtcMs(2026, 11, 5, 0, 10)}};
  return s;
}

// ---------------------------------------------------------------------------------------------
// JSON

TEST(StatementJsonTest, IsValidJsonWithTheStatementsFigures) {
  const Json j = ParseOrDie(StatementJson(Sample()));
  ASSERT_EQ(j.kind, Json::Kind::kObject);
  EXPECT_EQ(Str(j, "client"), "acme");
  EXPECT_EQ(Str(j, "label"), "2026-11");
  EXPECT_EQ(Str(j, "from"), "2026-11-01");
  EXPECT_EQ(Str(j, "to"), "2026-11-04");
  EXPECT_EQ(Str(j, "timezone"), "America/New_York");
  EXPECT_EQ(Num(j, "generated_ms"), std::to_string(UtcMs(2026, 12, 1, 13, 30)));
  EXPECT_EQ(Num(j, "service_credit_percent"), "2");
  EXPECT_EQ(Num(j, "incentive_percent"), "0");
  EXPECT_EQ(Num(j, "service_credit_amount"), "2400");  // 2% of 120000
  EXPECT_EQ(At(j, "provisional")->text, "true");
  EXPECT_EQ(At(j, "span_open")->text, "false");  // made on 1 December
  EXPECT_EQ(Str(j, "incomplete_sites.0.site"), "ceb-1");
  EXPECT_EQ(Num(j, "incomplete_sites.0.reported_until_ms"),
            std::to_string(UtcMs(2026, 11, 4, 22, 0)));
  EXPECT_EQ(Num(j, "incomplete_sites.0.backlog_events"), "1200");
  EXPECT_EQ(At(j, "incomplete_sites.0.connected")->text, "false");
  EXPECT_EQ(At(j, "incomplete_sites.0.first_open_ms")->kind, Json::Kind::kNull);
  EXPECT_EQ(Num(j, "incomplete_sites.1.first_open_ms"), std::to_string(UtcMs(2026, 11, 4, 23, 30)));
  ASSERT_EQ(At(j, "queues")->items.size(), 2u);

  // Queue terms and span figures.
  EXPECT_EQ(Str(j, "queues.0.queue"), "billing");
  EXPECT_EQ(Str(j, "queues.0.sl_formula"), "standard");
  EXPECT_EQ(Num(j, "queues.0.sl_threshold_s"), "20");
  EXPECT_EQ(Num(j, "queues.0.target"), "0.8");
  EXPECT_EQ(Num(j, "queues.0.offered"), "720");                // 400 + 300 + 20
  EXPECT_EQ(Num(j, "queues.0.answered_in_threshold"), "549");  // 330 + 200 + 19
  EXPECT_EQ(Num(j, "queues.0.unanswered"), "6");               // 4 timeouts + 2 key exits
  EXPECT_EQ(Num(j, "queues.0.unanswered_by_reason.timeout"), "4");
  EXPECT_EQ(Num(j, "queues.0.unanswered_by_reason.key"), "2");
  EXPECT_EQ(Num(j, "queues.0.unanswered_by_reason.empty"), "0");
  EXPECT_EQ(Num(j, "queues.0.unanswered_by_reason.withdraw"), "0");
  EXPECT_EQ(Num(j, "queues.0.unanswered_by_reason.lost"), "0");
  EXPECT_EQ(At(j, "queues.0.unanswered_by_reason.other"), nullptr);
  EXPECT_EQ(Num(j, "queues.0.answered_wait_unknown"), "0");
  EXPECT_EQ(Num(j, "queues.0.abandoned_wait_unknown"), "0");
  // 549 / (630 + 75 + 6 - 11)
  EXPECT_DOUBLE_EQ(Dbl(j, "queues.0.service_level"), 549.0 / 700.0);
  EXPECT_EQ(Str(j, "queues.0.result"), "missed");
  EXPECT_EQ(Num(j, "queues.0.periods_met"), "1");
  EXPECT_EQ(Num(j, "queues.0.periods_missed"), "1");
  EXPECT_EQ(Num(j, "queues.0.periods_excluded"), "1");
  EXPECT_EQ(Num(j, "queues.0.periods_not_judged"), "1");
  EXPECT_EQ(Num(j, "queues.0.shortfall"), "4.5");
  EXPECT_EQ(Num(j, "queues.0.service_credit_percent"), "2");
  EXPECT_EQ(Num(j, "queues.0.service_credit_amount"), "2400");

  // Periods: raw terms, ratios as fractions, null without a value.
  EXPECT_EQ(Str(j, "queues.0.periods.0.label"), "2026-11-01");
  EXPECT_EQ(Num(j, "queues.0.periods.0.start_ms"), std::to_string(UtcMs(2026, 11, 1, 5, 0)));
  EXPECT_EQ(Num(j, "queues.0.periods.0.offered"), "400");
  EXPECT_EQ(Num(j, "queues.0.periods.0.answered"), "360");
  EXPECT_EQ(Num(j, "queues.0.periods.0.abandoned_in_threshold"), "20");
  EXPECT_EQ(Num(j, "queues.0.periods.0.short_abandoned"), "6");
  EXPECT_EQ(Num(j, "queues.0.periods.0.answered_wait_s"), "1234.567");
  EXPECT_EQ(Num(j, "queues.0.periods.0.abandoned_wait_s"), "300");
  EXPECT_EQ(Num(j, "queues.0.periods.0.handle_s"), "71000");
  EXPECT_DOUBLE_EQ(Dbl(j, "queues.0.periods.0.service_level"), 330.0 / 388.0);
  EXPECT_DOUBLE_EQ(Dbl(j, "queues.0.periods.0.asa_s"), 1234.567 / 360);
  EXPECT_EQ(Num(j, "queues.0.periods.0.target"), "0.8");
  EXPECT_EQ(Str(j, "queues.0.periods.0.result"), "met");
  EXPECT_EQ(Num(j, "queues.0.periods.0.rows"), "48");
  EXPECT_EQ(Str(j, "queues.0.periods.1.result"), "missed");
  EXPECT_DOUBLE_EQ(Dbl(j, "queues.0.periods.1.service_level"), 200.0 / 292.0);
  EXPECT_EQ(Num(j, "queues.0.periods.1.amended_rows"), "2");
  EXPECT_EQ(Str(j, "queues.0.periods.2.result"), "excluded");
  EXPECT_EQ(At(j, "queues.0.periods.2.service_level")->kind, Json::Kind::kNull);
  EXPECT_EQ(At(j, "queues.0.periods.2.abandon_rate")->kind, Json::Kind::kNull);
  EXPECT_EQ(At(j, "queues.0.periods.2.asa_s")->kind, Json::Kind::kNull);
  EXPECT_EQ(Num(j, "queues.0.periods.2.excluded_rows"), "24");
  EXPECT_EQ(Str(j, "queues.0.periods.2.note"), "excluded: SiteDark \"typhoon\"");
  EXPECT_EQ(Str(j, "queues.0.periods.3.result"), "not_judged");
  EXPECT_EQ(Num(j, "queues.0.periods.3.unmeasured_rows"), "0");

  // Sites and days.
  EXPECT_EQ(Str(j, "queues.0.sites.1.site"), "ceb-2");
  EXPECT_EQ(Num(j, "queues.0.sites.0.offered"), "420");
  EXPECT_EQ(Str(j, "queues.0.days.2.date"), "2026-11-03");
  EXPECT_EQ(At(j, "queues.0.days.2.service_level")->kind, Json::Kind::kNull);
  EXPECT_DOUBLE_EQ(Dbl(j, "queues.0.days.3.service_level"), 0.95);

  // Terms.
  EXPECT_EQ(Str(j, "queues.0.terms.period"), "day");
  EXPECT_EQ(Num(j, "queues.0.terms.min_volume"), "50");
  EXPECT_EQ(Str(j, "queues.0.terms.min_volume_policy"), "not_judged");
  EXPECT_EQ(Str(j, "queues.0.terms.credit_basis"), "month_shortfall");
  EXPECT_EQ(Num(j, "queues.0.terms.credits.0.shortfall"), "0.01");
  EXPECT_EQ(Num(j, "queues.0.terms.credits.2.percent"), "10");
  EXPECT_EQ(Num(j, "queues.0.terms.credit_cap_percent"), "12");
  EXPECT_EQ(Num(j, "queues.0.terms.incentives.0.surplus"), "3");
  EXPECT_EQ(Str(j, "queues.0.terms.exclusion_alerts.0"), "SiteDark");
  EXPECT_EQ(Num(j, "queues.0.terms.forecast_tolerance"), "0.1");
  EXPECT_EQ(Str(j, "queues.0.terms.over_forecast"), "relaxed");
  EXPECT_EQ(Num(j, "queues.0.terms.relaxed_sl_target"), "0.7");
  EXPECT_EQ(Str(j, "queues.0.terms.holidays.0"), "2026-12-25");
  EXPECT_EQ(Str(j, "queues.0.terms.measured_hours.mon.0"), "08:00-20:00");
  EXPECT_EQ(Str(j, "queues.0.terms.measured_hours.sat.0"), "09:00-13:00");
  ASSERT_NE(At(j, "queues.0.terms.measured_hours.sun"), nullptr);
  EXPECT_TRUE(At(j, "queues.0.terms.measured_hours.sun")->items.empty());
  EXPECT_EQ(Str(j, "queues.1.terms.measured_hours"), "all");

  // A queue without calls has no ratios, and no amounts without a fee.
  EXPECT_EQ(Str(j, "queues.1.queue"), "support & care");
  EXPECT_EQ(Str(j, "queues.1.sl_formula"), "answered_only");
  EXPECT_EQ(At(j, "queues.1.service_level")->kind, Json::Kind::kNull);
  EXPECT_EQ(At(j, "queues.1.periods.0.service_level")->kind, Json::Kind::kNull);
  EXPECT_EQ(At(j, "queues.1.service_credit_amount")->kind, Json::Kind::kNull);

  // Exclusions, every state, text round-tripped.
  EXPECT_EQ(Num(j, "exclusions.0.id"), "7");
  EXPECT_EQ(Str(j, "exclusions.0.reason"), "Typhoon <Odette> & \"signal 4\"");
  EXPECT_EQ(Str(j, "exclusions.0.decision_note"), "ok, it's\nconfirmed \\ by PAGASA");
  EXPECT_EQ(Str(j, "exclusions.0.state"), "accepted");
  EXPECT_EQ(Num(j, "exclusions.0.from_ms"), std::to_string(UtcMs(2026, 11, 3, 14, 0)));
  EXPECT_EQ(Str(j, "exclusions.1.state"), "proposed");
  EXPECT_EQ(Str(j, "exclusions.1.site"), "");
  EXPECT_EQ(At(j, "exclusions.1.decided_ms")->kind, Json::Kind::kNull);
}

TEST(StatementJsonTest, EscapesStringsAndNeverWritesNonFiniteNumbers) {
  Statement s;
  s.client = std::string("a\"b\\c\x01\t\n/\xC3\xA9") + "\xFF" + "z";  // é then a stray byte
  StatementQueue q;
  q.queue = "q";
  q.figures.service_level = std::numeric_limits<double>::quiet_NaN();
  q.figures.asa_s = std::numeric_limits<double>::infinity();
  q.shortfall = 1e300 * 1e300;
  s.queues = {q};
  const std::string text = StatementJson(s);
  // The strict parser below rejects bare tokens too; these name what a printf would write.
  for (const char* bad : {"NaN", ":nan", ":-nan", ":inf", ":-inf", "Infinity"}) {
    EXPECT_EQ(text.find(bad), std::string::npos) << bad;
  }
  EXPECT_NE(text.find(R"("a\"b\\c\u0001\t\n/)"), std::string::npos) << text;
  const Json j = ParseOrDie(text);
  EXPECT_EQ(Str(j, "client"), "a\"b\\c\x01\t\n/\xC3\xA9\xEF\xBF\xBDz");
  EXPECT_EQ(At(j, "queues.0.service_level")->kind, Json::Kind::kNull);
  EXPECT_EQ(At(j, "queues.0.asa_s")->kind, Json::Kind::kNull);
  EXPECT_EQ(At(j, "queues.0.shortfall")->kind, Json::Kind::kNull);
}

TEST(StatementJsonTest, DoublesRoundTrip) {
  Statement s;
  StatementQueue q;
  q.figures.service_level = 0.1 + 0.2;  // 0.30000000000000004
  q.shortfall = 1.0 / 3.0;
  q.service_credit_percent = 1e-7;
  s.queues = {q};
  const Json j = ParseOrDie(StatementJson(s));
  EXPECT_EQ(std::strtod(Num(j, "queues.0.service_level").c_str(), nullptr), 0.1 + 0.2);
  EXPECT_EQ(std::strtod(Num(j, "queues.0.shortfall").c_str(), nullptr), 1.0 / 3.0);
  EXPECT_EQ(std::strtod(Num(j, "queues.0.service_credit_percent").c_str(), nullptr), 1e-7);
}

// Money is rounded half up to the cent (1,005 x 0.5% = 5.025 is 5.03, although 5.025 is
// held in binary just below), and the total is the sum of the queue lines, so they reconcile:
// 10.06, not 1,005 x 1% = 10.05. When the cap cuts the sum, the total is the capped amount.
TEST(StatementJsonTest, AmountsRoundHalfUpAndTheTotalIsTheSumOfTheLines) {
  Statement s;
  StatementQueue q;
  q.terms.monthly_fee = 1005;
  q.service_credit_percent = 0.5;
  s.queues = {q, q};
  s.service_credit_percent = 1.0;
  Json j = ParseOrDie(StatementJson(s));
  EXPECT_EQ(Num(j, "queues.0.service_credit_amount"), "5.03");
  EXPECT_EQ(Num(j, "queues.1.service_credit_amount"), "5.03");
  EXPECT_EQ(Num(j, "service_credit_amount"), "10.06");
  EXPECT_NE(StatementHtml(s).find("data-path=\"service_credit_amount\" data-value=\"10.06\""),
            std::string::npos);
  s.service_credit_percent = 0.6;  // capped
  j = ParseOrDie(StatementJson(s));
  EXPECT_EQ(Num(j, "service_credit_amount"), "6.03");
}

// A service level just below its target is never printed as the target: 3999 / 4999 =
// 79.996% is 79.99%, and a target held as 0.7999999999999999 is still 80.00%.
TEST(StatementHtmlTest, PercentagesAreCutNotRoundedUp) {
  Statement s;
  StatementQueue q;
  q.figures.service_level = 3999.0 / 4999.0;
  q.contract.sl_target = 0.8 - 1e-16;
  s.queues = {q};
  const std::string html = StatementHtml(s);
  EXPECT_NE(
      html.find("data-path=\"queues.0.service_level\" data-value=\"0.7999599919983997\">79.99%<"),
      std::string::npos);
  EXPECT_NE(html.find("data-path=\"queues.0.target\" data-value=\"0.7999999999999999\">80.00%<"),
            std::string::npos);
}

TEST(StatementJsonTest, EmptyStatementIsValid) {
  const Json j = ParseOrDie(StatementJson(Statement{}));
  EXPECT_TRUE(At(j, "queues")->items.empty());
  EXPECT_TRUE(At(j, "exclusions")->items.empty());
  EXPECT_EQ(At(j, "service_credit_amount")->kind, Json::Kind::kNull);
}

// ---------------------------------------------------------------------------------------------
// CSV

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') quoted = !quoted;
    if (text[i] == '\n' && !quoted) {
      out.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  if (start < text.size()) out.push_back(text.substr(start));
  return out;
}

TEST(StatementCsvTest, HeaderOneLinePerPeriodAndATotalPerQueue) {
  const std::string csv = StatementCsv(Sample());
  ASSERT_FALSE(csv.empty());
  EXPECT_EQ(csv.back(), '\n');
  const auto lines = Lines(csv);
  // Header, billing's 4 periods + TOTAL, support's 1 period + TOTAL.
  ASSERT_EQ(lines.size(), 8u) << csv;
  EXPECT_EQ(lines[0],
            "client,queue,period,start_ms,end_ms,offered,answered,answered_in_threshold,"
            "abandoned,abandoned_in_threshold,short_abandoned,unanswered,answered_wait_unknown,"
            "abandoned_wait_unknown,answered_wait_s,service_level,target,result,note,rows,"
            "excluded_rows,amended_rows,provisional");
  const std::string d1 = std::to_string(UtcMs(2026, 11, 1, 5, 0));
  const std::string d2 = std::to_string(UtcMs(2026, 11, 2, 5, 0));
  char sl[64];
  std::snprintf(sl, sizeof sl, "%.17g", 330.0 / 388.0);
  const std::string& line1 = lines[1];
  EXPECT_EQ(
      line1.rfind(
          "acme,billing,2026-11-01," + d1 + "," + d2 + ",400,360,330,30,20,6,4,0,0,1234.567,", 0),
      0u)
      << line1;
  EXPECT_NE(line1.find(",0.8,met,,48,0,0,true"), std::string::npos) << line1;
  // The SL field reads back as the exact double.
  const std::size_t sl_start = line1.find("1234.567,") + 9;
  EXPECT_EQ(std::strtod(line1.c_str() + sl_start, nullptr), 330.0 / 388.0) << sl;
  EXPECT_NE(lines[2].find(",missed,,48,0,2"), std::string::npos) << lines[2];
  // Quotes doubled inside a quoted field; an absent SL is an empty field.
  EXPECT_NE(lines[3].find(
                ",0,0,0,0,0,0,0,0,0,0,,0.8,excluded,\"excluded: SiteDark \"\"typhoon\"\"\",0,24,0"),
            std::string::npos)
      << lines[3];
  EXPECT_NE(lines[4].find(",not_judged,\"below minimum volume (20 < 50), not judged\",24,0,0"),
            std::string::npos)
      << lines[4];
  // TOTAL: span figures, the contract target, summed row counts.
  const std::string end4 = std::to_string(UtcMs(2026, 11, 5, 5, 0));
  EXPECT_EQ(lines[5].rfind("acme,billing,TOTAL," + d1 + "," + end4 + ",720,630,549,75,30,11,6,", 0),
            0u)
      << lines[5];
  EXPECT_NE(lines[5].find(",0.8,missed,,120,24,2"), std::string::npos) << lines[5];
  // A name with a comma-free ampersand needs no quotes.
  EXPECT_EQ(lines[6].rfind("acme,support & care,2026-11,", 0), 0u) << lines[6];
  EXPECT_NE(lines[6].find(",,0.9,not_judged,no calls,0,0,0"), std::string::npos) << lines[6];
  EXPECT_EQ(lines[7].rfind("acme,support & care,TOTAL,", 0), 0u) << lines[7];
  EXPECT_NE(lines[7].find(",,0.9,not_judged,,0,0,0"), std::string::npos) << lines[7];
  // Every line says whether the statement may still change (the sample has sites short of its
  // end): true here, false once complete, empty when rebuilt as of an earlier time.
  for (std::size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].substr(lines[i].rfind(',') + 1), "true") << lines[i];
  }
  Statement complete = Sample();
  complete.incomplete_sites.clear();
  for (const auto& line : Lines(StatementCsv(complete))) {
    if (line.rfind("client,", 0) == 0) continue;
    EXPECT_EQ(line.substr(line.rfind(',') + 1), "false") << line;
  }
  Statement as_of = Sample();
  as_of.as_of_ms = UtcMs(2026, 11, 20, 0, 0);
  for (const auto& line : Lines(StatementCsv(as_of))) {
    if (line.rfind("client,", 0) == 0) continue;
    EXPECT_EQ(line.back(), ',') << line;
  }
}

TEST(StatementCsvTest, QuotesCommasQuotesAndNewlines) {
  Statement s = Sample();
  s.client = "acme, \"inc\"";
  s.queues[1].periods[0].note = "line one\nline two";
  const auto lines = Lines(StatementCsv(s));
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[1].rfind("\"acme, \"\"inc\"\"\",billing,", 0), 0u) << lines[1];
  EXPECT_NE(lines[6].find(",\"line one\nline two\","), std::string::npos) << lines[6];
}

// ---------------------------------------------------------------------------------------------
// HTML

std::string Unescape(std::string_view s) {
  static const std::pair<std::string_view, std::string_view> kEntities[] = {
      {"&amp;", "&"}, {"&lt;", "<"},    {"&gt;", ">"},  {"&quot;", "\""},
      {"&#39;", "'"}, {"&minus;", "-"}, {"&nbsp;", " "}};
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    bool replaced = false;
    if (s[i] == '&') {
      for (const auto& [entity, text] : kEntities) {
        if (s.substr(i, entity.size()) == entity) {
          out += text;
          i += entity.size();
          replaced = true;
          break;
        }
      }
      if (!replaced) ADD_FAILURE() << "unknown entity at " << s.substr(i, 12);
    }
    if (!replaced) out += s[i++];
  }
  return out;
}

std::optional<std::string> Attr(std::string_view tag, std::string_view name) {
  const std::string key = " " + std::string(name) + "=\"";
  const std::size_t at = tag.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const std::size_t start = at + key.size();
  const std::size_t end = tag.find('"', start);
  return Unescape(tag.substr(start, end - start));
}

struct DataElement {
  std::string path;
  std::optional<std::string> value;
  std::string text;  // unescaped text up to the element's end (data elements nest nothing)
};

std::vector<DataElement> DataElements(std::string_view html) {
  std::vector<DataElement> out;
  std::size_t pos = 0;
  while ((pos = html.find(" data-path=\"", pos)) != std::string_view::npos) {
    const std::size_t open = html.rfind('<', pos);
    const std::size_t close = html.find('>', pos);
    const std::string_view tag = html.substr(open, close - open + 1);
    const std::size_t text_end = html.find('<', close);
    out.push_back({*Attr(tag, "data-path"), Attr(tag, "data-value"),
                   Unescape(html.substr(close + 1, text_end - close - 1))});
    pos = close;
  }
  return out;
}

// The body's text outside data elements and the chart (where every digit must be).
std::string TextOutsideData(std::string_view html) {
  std::string out;
  std::size_t i = html.find("<body");
  bool skip_text = false;
  while (i < html.size()) {
    if (html[i] == '<') {
      const std::size_t close = html.find('>', i);
      const std::string_view tag = html.substr(i, close - i + 1);
      if (tag.rfind("<svg", 0) == 0) {
        i = html.find("</svg>", close) + 6;
        skip_text = false;
        continue;
      }
      skip_text = tag.find(" data-path=\"") != std::string_view::npos;
      i = close + 1;
      continue;
    }
    const std::size_t next = html.find('<', i);
    if (!skip_text) out += Unescape(html.substr(i, next - i));
    i = next;
  }
  return out;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

TEST(StatementHtmlTest, SelfContainedPrintableAndEscaped) {
  const std::string html = StatementHtml(Sample());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<title>SLA statement \xE2\x80\x94 acme \xE2\x80\x94 2026-11</title>"),
            std::string::npos);
  for (const char* banned : {"http://", "https://", "<link", "<script", "<img", "src=", "url(",
                             "@import", "<iframe", "<object"}) {
    EXPECT_EQ(html.find(banned), std::string::npos) << banned;
  }
  EXPECT_NE(html.find("<style>"), std::string::npos);
  EXPECT_NE(html.find("@media print"), std::string::npos);
  EXPECT_NE(html.find("<svg data-chart"), std::string::npos);
  EXPECT_NE(html.find("<polyline"), std::string::npos);
  EXPECT_NE(html.find("class=\"target\""), std::string::npos);
  EXPECT_NE(html.find(">100%</text>"), std::string::npos);
  EXPECT_NE(html.find(">0%</text>"), std::string::npos);
  // The exclusion reason and the queue name, escaped; never raw.
  EXPECT_NE(html.find("Typhoon &lt;Odette&gt; &amp; &quot;signal 4&quot;"), std::string::npos);
  EXPECT_EQ(html.find("<Odette>"), std::string::npos);
  EXPECT_NE(html.find("support &amp; care"), std::string::npos);
  EXPECT_NE(html.find("ok, it&#39;s"), std::string::npos);
  // Exclusion times on the contract zone's clock (EST after the DST change on 1 November).
  EXPECT_NE(html.find(">2026-11-03 09:00</time>"), std::string::npos);
  EXPECT_NE(html.find(">2026-11-03 13:00</time>"), std::string::npos);
  EXPECT_NE(html.find(">2026-12-01 08:30</time>"), std::string::npos);
  // A provisional statement says so at the top, naming the site (17:00 EST on the 4th).
  const auto banner = html.find("<p class=\"provisional\"><strong>Provisional.</strong>");
  ASSERT_NE(banner, std::string::npos);
  EXPECT_LT(banner, html.find("<main>"));
  EXPECT_NE(html.find("ceb-1</span> has sent its events up to <time"), std::string::npos);
  EXPECT_NE(html.find(">2026-11-04 17:00</time>, <span"), std::string::npos);
  EXPECT_NE(html.find(">1,200</span> events waiting in its spool (not connected); "),
            std::string::npos);
  EXPECT_NE(html.find("manila-1</span> has intervals open from <time"), std::string::npos);
  EXPECT_NE(html.find(">2026-11-04 18:30</time>. Generate it again"), std::string::npos);
  EXPECT_EQ(html.find("The span is not over yet."), std::string::npos);
  Statement complete = Sample();
  complete.incomplete_sites.clear();
  EXPECT_EQ(StatementHtml(complete).find("class=\"provisional\">"), std::string::npos);
  // Money when there is a fee; results in words as well as colour.
  EXPECT_NE(html.find(">USD 2,400.00<"), std::string::npos);
  EXPECT_NE(html.find("class=\"r r-missed\">missed<"), std::string::npos);
  EXPECT_NE(html.find("class=\"r r-not_judged\">not judged<"), std::string::npos);
  // The appendix names the formula each queue uses.
  EXPECT_NE(html.find("Appendix: definitions"), std::string::npos);
  EXPECT_NE(html.find("<code>ignore_abandoned_within</code>"), std::string::npos);
}

TEST(StatementHtmlTest, EveryNumberIsTheJsonsNumber) {
  const Statement s = Sample();
  const Json j = ParseOrDie(StatementJson(s));
  const std::string html = StatementHtml(s);
  const auto elements = DataElements(html);
  int numbers = 0;
  for (const auto& e : elements) {
    const Json* v = At(j, e.path);
    ASSERT_NE(v, nullptr) << "no JSON at " << e.path;
    if (e.value) {
      ++numbers;
      ASSERT_TRUE(v->kind == Json::Kind::kNumber || v->kind == Json::Kind::kNull) << e.path;
      EXPECT_EQ(*e.value, v->text) << e.path;
      // What the reader sees agrees with the value.
      if (EndsWith(e.path, "service_level") || EndsWith(e.path, ".target")) {
        if (v->kind == Json::Kind::kNull) {
          EXPECT_EQ(e.text, "\xE2\x80\x94") << e.path;
        } else {
          // Two decimals, cut: at most the value, and less than a hundredth below it.
          const double percent = std::strtod(v->text.c_str(), nullptr) * 100;
          ASSERT_TRUE(EndsWith(e.text, "%")) << e.path;
          const double shown = std::strtod(e.text.c_str(), nullptr);
          EXPECT_EQ(e.text.size() - e.text.find('.'), 4u) << e.text;
          EXPECT_LE(shown, percent + 1e-9) << e.path;
          EXPECT_LT(percent - shown, 0.01) << e.path;
        }
      }
      if (EndsWith(e.path, ".offered") || EndsWith(e.path, ".answered")) {
        std::string digits = e.text;
        std::erase(digits, ',');
        EXPECT_EQ(digits, v->text) << e.path;
      }
    } else {
      ASSERT_EQ(v->kind, Json::Kind::kString) << e.path;
      EXPECT_EQ(e.text, v->text) << e.path;
    }
  }
  EXPECT_GT(numbers, 30);
  // Spot checks that the cells are where a reader expects them.
  EXPECT_NE(html.find("data-path=\"queues.0.periods.0.offered\" data-value=\"400\">400<"),
            std::string::npos);
  EXPECT_NE(html.find("data-path=\"queues.0.periods.2.service_level\" data-value=\"null\">"),
            std::string::npos);
  EXPECT_NE(html.find("data-path=\"queues.0.sites.0.offered\" data-value=\"420\">420<"),
            std::string::npos);
  EXPECT_NE(html.find("data-path=\"service_credit_percent\" data-value=\"2\">2%<"),
            std::string::npos);
  EXPECT_NE(html.find("data-path=\"exclusions.0.reason\">"), std::string::npos);
}

// A day with calls of unknown wait and a lost call: 2 more answered and 1 more abandoned of
// unknown wait, 1 lost, 4 more offered than Day1(). SL = 330 / ((362 - 2) + (31 - 1) + 5 - 6)
// = 330 / 389 (the lost call is unanswered-other; the unknowns are out); abandon rate =
// (31 - 6) / (404 - 6) = 25 / 398; ASA = 1234.567 s / 360.
Counts Day1WithUnknownWaits() {
  Counts c = Day1();
  c.offered += 4;
  c.answered += 2;
  c.answered_wait_unknown = 2;
  c.abandoned += 1;
  c.abandoned_wait_unknown = 1;
  c.unanswered[static_cast<std::size_t>(UnansweredReason::kLost)] = 1;
  return c;
}

Statement SampleWithUnknownWaits() {
  Statement s = Sample();
  StatementQueue& q = s.queues[0];
  q.periods[0].figures = Make(Day1WithUnknownWaits());
  Counts span = Day1WithUnknownWaits();
  span += Day2();
  span += Day4();
  q.figures = Make(span);
  Counts mnl = Day1WithUnknownWaits();
  mnl += Day4();
  q.sites[0].figures = Make(mnl);
  return s;
}

// The unknown-wait terms and the lost reason are in the JSON, the CSV and, for the queue that
// has them only, the HTML; every number there is still the JSON's.
TEST(StatementHtmlTest, UnknownWaitsAreShownForTheQueueThatHasThem) {
  const Statement s = SampleWithUnknownWaits();
  const Json j = ParseOrDie(StatementJson(s));
  EXPECT_DOUBLE_EQ(Dbl(j, "queues.0.periods.0.service_level"), 330.0 / 389.0);
  EXPECT_DOUBLE_EQ(Dbl(j, "queues.0.periods.0.abandon_rate"), 25.0 / 398.0);
  EXPECT_DOUBLE_EQ(Dbl(j, "queues.0.periods.0.asa_s"), 1234.567 / 360.0);
  EXPECT_EQ(Num(j, "queues.0.periods.0.answered_wait_unknown"), "2");
  EXPECT_EQ(Num(j, "queues.0.periods.0.abandoned_wait_unknown"), "1");
  EXPECT_EQ(Num(j, "queues.0.periods.0.unanswered_by_reason.lost"), "1");
  EXPECT_EQ(Num(j, "queues.0.periods.0.unanswered"), "5");
  EXPECT_EQ(Num(j, "queues.0.answered_wait_unknown"), "2");
  EXPECT_EQ(Num(j, "queues.0.sites.0.abandoned_wait_unknown"), "1");

  const auto lines = Lines(StatementCsv(s));
  EXPECT_NE(lines[1].find(",404,362,330,31,20,6,5,2,1,1234.567,"), std::string::npos) << lines[1];

  const std::string html = StatementHtml(s);
  for (const auto& e : DataElements(html)) {
    const Json* v = At(j, e.path);
    ASSERT_NE(v, nullptr) << "no JSON at " << e.path;
    if (e.value) {
      EXPECT_EQ(*e.value, v->text) << e.path;
    }
  }
  EXPECT_NE(html.find("data-path=\"queues.0.periods.0.answered_wait_unknown\" "
                      "data-value=\"2\">2<"),
            std::string::npos);
  EXPECT_NE(html.find("data-path=\"queues.0.abandoned_wait_unknown\" data-value=\"1\">1<"),
            std::string::npos);
  EXPECT_NE(html.find("data-path=\"queues.0.sites.0.answered_wait_unknown\""), std::string::npos);
  EXPECT_NE(html.find("Answered, wait unknown"), std::string::npos);
  EXPECT_NE(html.find("<dt>Wait unknown</dt>"), std::string::npos);
  // The other queue has none: no such columns for it, nor for any queue of Sample().
  EXPECT_EQ(html.find("data-path=\"queues.1.periods.0.answered_wait_unknown\""), std::string::npos);
  EXPECT_EQ(StatementHtml(Sample()).find("Answered, wait unknown"), std::string::npos);
}

TEST(StatementHtmlTest, NoNumberOutsideTaggedElementsAndTheChart) {
  const std::string text = TextOutsideData(StatementHtml(Sample()));
  ASSERT_FALSE(text.empty());
  for (char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      ADD_FAILURE() << "digit outside a data element in: " << text;
      break;
    }
  }
}

TEST(StatementHtmlTest, LargeCountsAreGroupedAndEmptyStatementRenders) {
  Statement s = Sample();
  s.queues[0].periods[0].figures.counts.offered = 1234567;
  const std::string html = StatementHtml(s);
  EXPECT_NE(html.find("data-value=\"1234567\">1,234,567<"), std::string::npos);

  const std::string empty = StatementHtml(Statement{});
  EXPECT_NE(empty.find("</html>"), std::string::npos);
  EXPECT_NE(empty.find("No exclusion"), std::string::npos);
}

}  // namespace
}  // namespace ccmon::collector
