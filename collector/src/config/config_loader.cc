// YAML -> CollectorOptions. yaml-cpp exceptions stop here.
#include <absl/strings/str_cat.h>
#include <absl/time/civil_time.h>
#include <absl/time/time.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "ccmon/collector/options.h"
#include "ccmon/collector/statement.h"
#include "config/forecast.h"
#include "config/yaml_reader.h"

namespace ccmon::collector {

namespace {

bool ParseClock(std::string_view s, int* minutes);
bool ParseDate(const std::string& s, absl::CivilDay* day);

class Reader : public YamlReader {
 public:
  using YamlReader::YamlReader;

  // The statement terms of a contract mapping (docs/contracts.md). Fields absent keep *t.
  absl::Status TermsAt(const YAML::Node& n, const std::string& path, StatementTerms* t,
                       std::string* forecast_file) const {
    absl::Status s;
    if (n["timezone"]) {
      std::string zone;
      if (s = Get(n, "timezone", path, &zone); !s.ok()) return s;
      absl::TimeZone tz;
      if (!absl::LoadTimeZone(zone, &tz)) {
        return Error(n["timezone"], Join(path, "timezone"),
                     "unknown IANA time zone '" + zone + "'");
      }
      t->timezone = zone;
      t->zone_named = true;
    }
    if (n["period"]) {
      std::string p;
      if (s = Get(n, "period", path, &p); !s.ok()) return s;
      auto parsed = ParsePeriod(p);
      if (!parsed) {
        return Error(n["period"], Join(path, "period"), "must be interval, day, week or month");
      }
      t->period = *parsed;
    }
    if (const auto mh = n["measured_hours"]) {
      if (s = MeasuredHours(mh, Join(path, "measured_hours"), t); !s.ok()) return s;
    }
    if (const auto h = n["holidays"]) {
      const std::string hp = Join(path, "holidays");
      if (!h.IsSequence()) return Error(h, hp, "must be a list of YYYY-MM-DD dates");
      t->holidays.clear();
      for (std::size_t i = 0; i < h.size(); ++i) {
        absl::CivilDay day;
        const std::string v = h[i].IsScalar() ? h[i].as<std::string>() : "";
        if (!ParseDate(v, &day)) {
          return Error(h[i], absl::StrCat(hp, "[", i, "]"), "must be a date YYYY-MM-DD");
        }
        t->holidays.push_back(v);
      }
    }
    if (s = Whole(n, "min_volume", path, 0, 1e9, &t->min_volume); !s.ok()) return s;
    if (n["min_volume_policy"]) {
      std::string p;
      if (s = Get(n, "min_volume_policy", path, &p); !s.ok()) return s;
      if (p != "not_judged" && p != "pool") {
        return Error(n["min_volume_policy"], Join(path, "min_volume_policy"),
                     "must be not_judged or pool");
      }
      t->min_volume_policy = p == "pool" ? MinVolumePolicy::kPool : MinVolumePolicy::kNotJudged;
    }
    if (s = Number(n, "monthly_fee", path, 0, 1e12, &t->monthly_fee); !s.ok()) return s;
    if (s = Get(n, "currency", path, &t->currency); !s.ok()) return s;
    if (const auto sc = n["service_credits"]) {
      const std::string sp = Join(path, "service_credits");
      if (s = Keys(sc, sp, {"basis", "tiers", "cap_percent"}); !s.ok()) return s;
      if (sc["basis"]) {
        std::string b;
        if (s = Get(sc, "basis", sp, &b); !s.ok()) return s;
        if (b != "month_shortfall" && b != "missed_periods") {
          return Error(sc["basis"], Join(sp, "basis"), "must be month_shortfall or missed_periods");
        }
        t->credit_basis =
            b == "missed_periods" ? CreditBasis::kMissedPeriods : CreditBasis::kMonthShortfall;
      }
      if (s = Number(sc, "cap_percent", sp, 0, 100, &t->credit_cap_percent); !s.ok()) return s;
      if (const auto tiers = sc["tiers"]) {
        t->credits.clear();
        if (!tiers.IsSequence()) return Error(tiers, Join(sp, "tiers"), "must be a list");
        for (std::size_t i = 0; i < tiers.size(); ++i) {
          const std::string tp = absl::StrCat(sp, ".tiers[", i, "]");
          if (s = Keys(tiers[i], tp, {"shortfall", "percent"}); !s.ok()) return s;
          if (!tiers[i]["shortfall"] || !tiers[i]["percent"]) {
            return Error(tiers[i], tp, "needs shortfall and percent");
          }
          CreditTier c;
          if (s = Number(tiers[i], "shortfall", tp, 0, 100, &c.shortfall); !s.ok()) return s;
          if (s = Number(tiers[i], "percent", tp, 0, 100, &c.percent); !s.ok()) return s;
          t->credits.push_back(c);
        }
      }
    }
    if (const auto in = n["incentives"]) {
      const std::string ip = Join(path, "incentives");
      if (s = Keys(in, ip, {"tiers", "cap_percent"}); !s.ok()) return s;
      if (s = Number(in, "cap_percent", ip, 0, 100, &t->incentive_cap_percent); !s.ok()) return s;
      if (const auto tiers = in["tiers"]) {
        t->incentives.clear();
        if (!tiers.IsSequence()) return Error(tiers, Join(ip, "tiers"), "must be a list");
        for (std::size_t i = 0; i < tiers.size(); ++i) {
          const std::string tp = absl::StrCat(ip, ".tiers[", i, "]");
          if (s = Keys(tiers[i], tp, {"surplus", "percent"}); !s.ok()) return s;
          if (!tiers[i]["surplus"] || !tiers[i]["percent"]) {
            return Error(tiers[i], tp, "needs surplus and percent");
          }
          IncentiveTier c;
          if (s = Number(tiers[i], "surplus", tp, 0, 100, &c.surplus); !s.ok()) return s;
          if (s = Number(tiers[i], "percent", tp, 0, 100, &c.percent); !s.ok()) return s;
          t->incentives.push_back(c);
        }
      }
    }
    if (const auto ex = n["exclusions"]) {
      const std::string ep = Join(path, "exclusions");
      if (s = Keys(ex, ep, {"alerts"}); !s.ok()) return s;
      if (const auto al = ex["alerts"]) {
        if (!al.IsSequence()) return Error(al, Join(ep, "alerts"), "must be a list of alert names");
        t->exclusion_alerts.clear();
        for (std::size_t i = 0; i < al.size(); ++i) {
          const std::string name = al[i].IsScalar() ? al[i].as<std::string>() : "";
          if (name != "SiteDark" && name != "StaffingCollapse" && name != "LinkDown") {
            return Error(al[i], absl::StrCat(ep, ".alerts[", i, "]"),
                         "must be SiteDark, StaffingCollapse or LinkDown");
          }
          t->exclusion_alerts.push_back(name);
        }
      }
    }
    if (const auto fc = n["forecast"]) {
      const std::string fp = Join(path, "forecast");
      if (s = Keys(fc, fp, {"file", "tolerance", "over_forecast", "relaxed_sl_target"}); !s.ok())
        return s;
      if (s = Get(fc, "file", fp, forecast_file); !s.ok()) return s;
      if (s = Number(fc, "tolerance", fp, 0, 10, &t->forecast_tolerance); !s.ok()) return s;
      if (s = Number(fc, "relaxed_sl_target", fp, 0, 1, &t->relaxed_sl_target); !s.ok()) return s;
      if (fc["over_forecast"]) {
        std::string p;
        if (s = Get(fc, "over_forecast", fp, &p); !s.ok()) return s;
        if (p != "exclude" && p != "relaxed") {
          return Error(fc["over_forecast"], Join(fp, "over_forecast"),
                       "must be exclude or relaxed");
        }
        t->over_forecast =
            p == "relaxed" ? OverForecastPolicy::kRelaxed : OverForecastPolicy::kExclude;
        if (p == "relaxed" && !(t->relaxed_sl_target > 0)) {
          return Error(fc, fp, "over_forecast: relaxed needs relaxed_sl_target");
        }
      }
    }
    return absl::OkStatus();
  }

  // measured_hours: {mon: ["08:00-20:00"], sat-sun: [...]} by weekday or weekday range.
  absl::Status MeasuredHours(const YAML::Node& mh, const std::string& path,
                             StatementTerms* t) const {
    static constexpr std::array<const char*, 7> kDays = {"sun", "mon", "tue", "wed",
                                                         "thu", "fri", "sat"};
    if (!mh.IsMap()) return Error(mh, path, "must map weekdays (mon, mon-fri...) to time ranges");
    auto day_index = [](std::string_view d) {
      for (int i = 0; i < 7; ++i) {
        if (d == kDays[static_cast<std::size_t>(i)]) return i;
      }
      return -1;
    };
    t->measured_hours = {};
    t->all_hours = false;
    for (const auto& kv : mh) {
      const std::string key = kv.first.as<std::string>();
      const std::string kp = Join(path, key);
      int first = -1, last = -1;
      if (const auto dash = key.find('-'); dash != std::string::npos) {
        first = day_index(std::string_view(key).substr(0, dash));
        last = day_index(std::string_view(key).substr(dash + 1));
      } else {
        first = last = day_index(key);
      }
      if (first < 0 || last < 0) {
        return Error(kv.first, kp, "must be a weekday (sun..sat) or a range like mon-fri");
      }
      std::vector<DayRange> ranges;
      const YAML::Node& v = kv.second;
      if (!v.IsNull()) {
        if (!v.IsSequence()) return Error(v, kp, "must be a list of \"HH:MM-HH:MM\"");
        for (std::size_t i = 0; i < v.size(); ++i) {
          const std::string r = v[i].IsScalar() ? v[i].as<std::string>() : "";
          DayRange d;
          if (r.size() != 11 || r[5] != '-' || !ParseClock(r.substr(0, 5), &d.from_min) ||
              !ParseClock(r.substr(6), &d.to_min) || d.from_min >= d.to_min) {
            return Error(v[i], absl::StrCat(kp, "[", i, "]"),
                         "must be \"HH:MM-HH:MM\" with the start before the end");
          }
          ranges.push_back(d);
        }
      }
      // mon-fri walks forward through the week (fri-mon wraps over the weekend).
      for (int d = first;; d = (d + 1) % 7) {
        t->measured_hours[static_cast<std::size_t>(d)] = ranges;
        if (d == last) break;
      }
    }
    return absl::OkStatus();
  }

  absl::Status ContractAt(const YAML::Node& n, const std::string& path, Contract* c,
                          StatementTerms* t, std::string* forecast_file) const {
    if (auto s = Keys(n, path, {"sl_threshold_s",   "sl_target",      "sl_formula",
                                "short_abandon_s",  "abandon_target", "asa_target_s",
                                "interval_minutes", "warning_band",   "calls_waiting_limit",
                                "timezone",         "period",         "measured_hours",
                                "holidays",         "min_volume",     "min_volume_policy",
                                "monthly_fee",      "currency",       "service_credits",
                                "incentives",       "exclusions",     "forecast"});
        !s.ok()) {
      return s;
    }
    if (auto s = TermsAt(n, path, t, forecast_file); !s.ok()) return s;
    absl::Status s;
    if (s = Number(n, "sl_threshold_s", path, 1, 3600, &c->sl_threshold_s); !s.ok()) return s;
    if (s = Number(n, "sl_target", path, 0.01, 1, &c->sl_target); !s.ok()) return s;
    if (s = Number(n, "short_abandon_s", path, 0, 600, &c->short_abandon_s); !s.ok()) return s;
    if (s = Number(n, "abandon_target", path, 0, 1, &c->abandon_target); !s.ok()) return s;
    if (s = Number(n, "asa_target_s", path, 0, 3600, &c->asa_target_s); !s.ok()) return s;
    if (s = Number(n, "warning_band", path, 0, 0.5, &c->warning_band); !s.ok()) return s;
    double limit = c->calls_waiting_limit;
    if (s = Number(n, "calls_waiting_limit", path, 0, 1e6, &limit); !s.ok()) return s;
    c->calls_waiting_limit = static_cast<std::uint32_t>(limit);
    if (n["interval_minutes"]) {
      int m = 0;
      if (s = Get(n, "interval_minutes", path, &m); !s.ok()) return s;
      if (m != 15 && m != 30 && m != 60) {
        return Error(n["interval_minutes"], Join(path, "interval_minutes"), "must be 15, 30 or 60");
      }
      c->interval_minutes = m;
    }
    if (n["sl_formula"]) {
      std::string f;
      if (s = Get(n, "sl_formula", path, &f); !s.ok()) return s;
      auto parsed = ParseSlFormula(f);
      if (!parsed) {
        return Error(n["sl_formula"], Join(path, "sl_formula"),
                     "must be one of standard, answered_only, removed_within, "
                     "ignore_abandoned_within, over_offered");
      }
      c->sl_formula = *parsed;
    }
    // A short abandon is a misdial or a hang-up before anyone could answer: one that waited
    // past T would be excluded as short and missed at once. Checked on the terms in force at
    // this level (inherited ones included).
    if (c->short_abandon_s > c->sl_threshold_s) {
      const char* key = n["short_abandon_s"] ? "short_abandon_s" : "sl_threshold_s";
      return Error(n[key] ? n[key] : n, Join(path, key),
                   absl::StrCat("short_abandon_s (", c->short_abandon_s,
                                " s) must not exceed sl_threshold_s (", c->sl_threshold_s,
                                " s) in the terms in force here"));
    }
    return absl::OkStatus();
  }
};

// "HH:MM" -> minutes after midnight ("24:00" allowed as the end of a day).
bool ParseClock(std::string_view s, int* minutes) {
  if (s.size() != 5 || s[2] != ':') return false;
  for (int i : {0, 1, 3, 4}) {
    if (s[static_cast<std::size_t>(i)] < '0' || s[static_cast<std::size_t>(i)] > '9') return false;
  }
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return false;
  *minutes = h * 60 + m;
  return true;
}

bool ParseDate(const std::string& s, absl::CivilDay* day) {
  return s.size() == 10 && absl::ParseCivilTime(s, day);
}

// A secret kept in its own file (mode 0600, not in the config): first line, trimmed.
absl::Status ReadSecret(const Reader& r, const YAML::Node& map, const char* key,
                        const std::string& path, std::string* out) {
  std::string file;
  if (auto s = r.Get(map, key, path, &file); !s.ok() || file.empty()) return s;
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return r.Error(map[key], Reader::Join(path, key), "cannot read " + file);
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  *out = line;
  return absl::OkStatus();
}

// A path in the config is relative to the config file's directory.
std::string ResolvePath(const std::string& config_file, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  const auto slash = config_file.rfind('/');
  return slash == std::string::npos ? path : config_file.substr(0, slash + 1) + path;
}

// Forecast CSV: "queue,interval_start,offered" (a header line is allowed), interval_start local
// "YYYY-MM-DD HH:MM" in the contract's zone. Errors name file and line.
// A file named in `defaults` is shared: each client takes its own queues' lines. A client's own
// file may name only its queues.
absl::StatusOr<std::vector<ForecastEntry>> LoadForecast(const std::string& path,
                                                        const ClientConfig& c, bool shared) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat(path, ": cannot open forecast file"));
  std::stringstream text;
  text << file.rdbuf();
  return ParseForecast(text.str(), path, c, shared);
}

}  // namespace

absl::StatusOr<std::vector<ForecastEntry>> ParseForecast(const std::string& text,
                                                         const std::string& path,
                                                         const ClientConfig& c, bool shared) {
  std::istringstream in(text);
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(c.terms.timezone, &tz)) tz = absl::UTCTimeZone();
  std::vector<ForecastEntry> out;
  std::set<std::pair<std::string, std::int64_t>> seen;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    auto err = [&](const std::string& what) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", n, ": ", what));
    };
    const auto a = line.find(',');
    const auto b = a == std::string::npos ? a : line.find(',', a + 1);
    if (b == std::string::npos) return err("expected queue,interval_start,offered");
    ForecastEntry e;
    e.queue = line.substr(0, a);
    const std::string when = line.substr(a + 1, b - a - 1);
    const std::string count = line.substr(b + 1);
    if (n == 1 && count == "offered") continue;  // header
    absl::CivilMinute m;
    if (when.size() != 16 || when[10] != ' ' ||
        !absl::ParseCivilTime(when.substr(0, 10) + "T" + when.substr(11), &m)) {
      return err("interval_start must be local \"YYYY-MM-DD HH:MM\", not '" + when + "'");
    }
    char* end = nullptr;
    e.offered = std::strtod(count.c_str(), &end);
    if (count.empty() || end != count.c_str() + count.size() || !(e.offered >= 0)) {
      return err("offered must be a number >= 0, not '" + count + "'");
    }
    const QueueConfig* q = nullptr;
    for (const auto& qc : c.queues) {
      if (qc.name == e.queue) q = &qc;
    }
    if (q == nullptr) {
      if (shared) continue;
      return err("queue '" + e.queue + "' is not one of client " + c.name + "'s");
    }
    if (m.year() < 2000 || m.year() > 2100) {
      return err("interval_start " + when + " is not a plausible forecast date (2000-2100)");
    }
    if (m.minute() % q->contract.interval_minutes != 0) {
      return err(absl::StrCat("interval_start ", when, " is not on a ",
                              q->contract.interval_minutes, "-minute interval boundary"));
    }
    const auto conv = tz.At(m);
    if (conv.kind == absl::TimeZone::TimeInfo::SKIPPED) {
      return err("interval_start " + when + " does not exist in " + c.terms.timezone +
                 " (the clocks skip it)");
    }
    e.start_ms = absl::ToUnixMillis(conv.pre);
    if (!seen.emplace(e.queue, e.start_ms).second) {
      return err("a second forecast for " + e.queue + " at " + when);
    }
    out.push_back(std::move(e));
  }
  return out;
}

namespace {

absl::Status Parse(const YAML::Node& root, const Reader& r, CollectorOptions* o) {
  if (root.IsNull()) return absl::OkStatus();
  if (auto s = r.Keys(root, "",
                      {"listen",
                       "metrics_listen",
                       "data_dir",
                       "shard",
                       "ledger_database",
                       "alertmanagers",
                       "continuity_rules",
                       "log_level",
                       "allow_insecure_remote",
                       "tick_ms",
                       "wal_fsync_interval_ms",
                       "checkpoint_interval_s",
                       "default_timezone",
                       "allowed_lateness_s",
                       "ledger_retention_days",
                       "ledger_amend_days",
                       "clock_anomaly_s",
                       "max_instance_lag_s",
                       "idle_close_s",
                       "defaults",
                       "clients",
                       "sites",
                       "limits",
                       "alert_delivery",
                       "tls",
                       "monitor_tokens"});
      !s.ok()) {
    return s;
  }
  absl::Status s;
  if (s = r.Get(root, "listen", "", &o->listen); !s.ok()) return s;
  if (s = r.Get(root, "metrics_listen", "", &o->metrics_listen); !s.ok()) return s;
  if (s = r.Get(root, "data_dir", "", &o->data_dir); !s.ok()) return s;
  if (s = r.Get(root, "shard", "", &o->shard); !s.ok()) return s;
  if (s = r.Get(root, "ledger_database", "", &o->ledger_database); !s.ok()) return s;
  if (s = r.Get(root, "continuity_rules", "", &o->continuity_rules); !s.ok()) return s;
  if (s = r.Get(root, "log_level", "", &o->log_level); !s.ok()) return s;
  if (s = r.Get(root, "allow_insecure_remote", "", &o->allow_insecure_remote); !s.ok()) return s;
  if (s = r.Get(root, "tick_ms", "", &o->tick_ms); !s.ok()) return s;
  double fsync_ms = o->wal_fsync_interval_ms, ckpt_s = o->checkpoint_interval_s;
  if (s = r.Number(root, "wal_fsync_interval_ms", "", 0, 1000, &fsync_ms); !s.ok()) return s;
  if (s = r.Number(root, "checkpoint_interval_s", "", 1, 86400, &ckpt_s); !s.ok()) return s;
  o->wal_fsync_interval_ms = static_cast<int>(fsync_ms);
  o->checkpoint_interval_s = static_cast<int>(ckpt_s);
  if (s = r.Get(root, "default_timezone", "", &o->core.default_timezone); !s.ok()) return s;
  double lateness = static_cast<double>(o->core.allowed_lateness_ms) / 1000.0;
  if (s = r.Number(root, "allowed_lateness_s", "", 0, 86400, &lateness); !s.ok()) return s;
  o->core.allowed_lateness_ms = static_cast<std::int64_t>(lateness * 1000);
  double retention = o->core.ledger_retention_days;
  if (s = r.Number(root, "ledger_retention_days", "", 35, 3660, &retention); !s.ok()) return s;
  o->core.ledger_retention_days = static_cast<int>(retention);
  double amend = o->core.ledger_amend_days;
  if (s = r.Number(root, "ledger_amend_days", "", 1, 400, &amend); !s.ok()) return s;
  o->core.ledger_amend_days = static_cast<int>(amend);
  double anomaly = static_cast<double>(o->core.clock_anomaly_ms) / 1000.0;
  if (s = r.Number(root, "clock_anomaly_s", "", 60, 86400, &anomaly); !s.ok()) return s;
  o->core.clock_anomaly_ms = static_cast<std::int64_t>(anomaly * 1000);
  double idle = static_cast<double>(o->core.idle_close_ms) / 1000.0;
  if (s = r.Number(root, "idle_close_s", "", 1, 86400, &idle); !s.ok()) return s;
  o->core.idle_close_ms = static_cast<std::int64_t>(idle * 1000);
  double lag = static_cast<double>(o->core.max_instance_lag_ms) / 1000.0;
  if (s = r.Number(root, "max_instance_lag_s", "", 0, 86400, &lag); !s.ok()) return s;
  o->core.max_instance_lag_ms = static_cast<std::int64_t>(lag * 1000);
  if (const auto am = root["alertmanagers"]) {
    if (!am.IsSequence()) return r.Error(am, "alertmanagers", "must be a list of URLs");
    for (std::size_t i = 0; i < am.size(); ++i) {
      if (!am[i].IsScalar())
        return r.Error(am[i], absl::StrCat("alertmanagers[", i, "]"), "must be a URL");
      o->alertmanagers.push_back(am[i].as<std::string>());
    }
  }
  StatementTerms default_terms;
  default_terms.timezone = o->core.default_timezone;
  std::string default_forecast;
  if (const auto d = root["defaults"]) {
    if (s = r.ContractAt(d, "defaults", &o->core.default_contract, &default_terms,
                         &default_forecast);
        !s.ok()) {
      return s;
    }
  }
  o->core.default_terms = default_terms;
  if (const auto clients = root["clients"]) {
    if (!clients.IsSequence()) return r.Error(clients, "clients", "must be a list");
    std::set<std::string> client_names, queue_names;
    for (std::size_t i = 0; i < clients.size(); ++i) {
      const auto& cn = clients[i];
      const std::string path = absl::StrCat("clients[", i, "]");
      if (s = r.Keys(cn, path, {"name", "contract", "queues", "webhooks"}); !s.ok()) return s;
      ClientConfig c;
      c.contract = o->core.default_contract;
      c.terms = default_terms;
      std::string forecast_file = default_forecast;
      if (s = r.Get(cn, "name", path, &c.name); !s.ok()) return s;
      if (c.name.empty()) return r.Error(cn, path + ".name", "is required");
      if (!client_names.insert(c.name).second) {
        return r.Error(cn["name"], path + ".name", "client '" + c.name + "' is defined twice");
      }
      if (cn["contract"]) {
        if (s = r.ContractAt(cn["contract"], path + ".contract", &c.contract, &c.terms,
                             &forecast_file);
            !s.ok()) {
          return s;
        }
      }
      const auto queues = cn["queues"];
      if (queues && !queues.IsSequence())
        return r.Error(queues, path + ".queues", "must be a list");
      for (std::size_t j = 0; queues && j < queues.size(); ++j) {
        const auto& qn = queues[j];
        const std::string qpath = absl::StrCat(path, ".queues[", j, "]");
        QueueConfig q;
        q.contract = c.contract;
        q.terms = c.terms;
        if (qn.IsScalar()) {
          q.name = qn.as<std::string>();
        } else {
          if (s = r.Keys(qn, qpath, {"name", "contract"}); !s.ok()) return s;
          if (s = r.Get(qn, "name", qpath, &q.name); !s.ok()) return s;
        }
        if (!queue_names.insert(q.name).second) {
          return r.Error(qn.IsScalar() ? qn : qn["name"], qpath,
                         "queue '" + q.name + "' is claimed by more than one client");
        }
        if (!qn.IsScalar()) {
          if (qn["contract"]) {
            std::string queue_forecast;  // one forecast file per client
            if (s = r.ContractAt(qn["contract"], qpath + ".contract", &q.contract, &q.terms,
                                 &queue_forecast);
                !s.ok()) {
              return s;
            }
            // Money is the client's: one fee, one cap, so the statement's total reconciles.
            const YAML::Node qc = qn["contract"];
            for (const char* key : {"monthly_fee", "currency"}) {
              if (qc[key]) {
                return r.Error(qc[key], qpath + ".contract." + key,
                               "belongs to the client's contract (one fee per client)");
              }
            }
            for (const char* sect : {"service_credits", "incentives"}) {
              if (qc[sect] && qc[sect].IsMap() && qc[sect]["cap_percent"]) {
                return r.Error(qc[sect]["cap_percent"],
                               qpath + ".contract." + sect + ".cap_percent",
                               "belongs to the client's contract (one cap per client)");
              }
            }
            if (!queue_forecast.empty()) {
              return r.Error(qn["contract"]["forecast"], qpath + ".contract.forecast.file",
                             "a forecast file belongs to the client's contract (it names queues)");
            }
          }
        }
        if (q.name.empty()) return r.Error(qn, qpath + ".name", "is required");
        c.queues.push_back(std::move(q));
      }
      if (const auto hooks = cn["webhooks"]) {
        if (!hooks.IsSequence())
          return r.Error(hooks, path + ".webhooks", "must be a list of URLs");
        for (std::size_t j = 0; j < hooks.size(); ++j) {
          const std::string field = absl::StrCat(path, ".webhooks[", j, "]");
          if (!hooks[j].IsScalar()) return r.Error(hooks[j], field, "must be a URL");
          const std::string url = hooks[j].as<std::string>();
          if (!url.starts_with("http://") && !url.starts_with("https://")) {
            return r.Error(hooks[j], field, "must start with http:// or https://");
          }
          o->delivery.client_webhooks[c.name].push_back(url);
        }
      }
      if (!forecast_file.empty()) {
        auto f = LoadForecast(ResolvePath(r.file(), forecast_file), c,
                              forecast_file == default_forecast);
        if (!f.ok()) return f.status();
        c.forecast = *std::move(f);
      }
      o->core.clients.push_back(std::move(c));
    }
  }
  if (const auto sites = root["sites"]) {
    if (!sites.IsSequence()) return r.Error(sites, "sites", "must be a list");
    std::set<std::string> site_ids;
    for (std::size_t i = 0; i < sites.size(); ++i) {
      const std::string path = absl::StrCat("sites[", i, "]");
      if (s = r.Keys(sites[i], path, {"id", "timezone", "token", "token_file"}); !s.ok()) return s;
      SiteConfig sc;
      sc.timezone = o->core.default_timezone;
      if (s = r.Get(sites[i], "id", path, &sc.id); !s.ok()) return s;
      if (s = r.Get(sites[i], "timezone", path, &sc.timezone); !s.ok()) return s;
      if (sc.id.empty()) return r.Error(sites[i], path + ".id", "is required");
      // The agent's own rule for --site: an id it cannot send would never report.
      if (sc.id.size() > 64 ||
          sc.id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                  "._-") != std::string::npos) {
        return r.Error(sites[i]["id"], path + ".id",
                       "site id '" + sc.id +
                           "' cannot be an agent's --site: 1-64 characters of [A-Za-z0-9._-]");
      }
      if (!site_ids.insert(sc.id).second) {
        return r.Error(sites[i]["id"], path + ".id", "site '" + sc.id + "' is defined twice");
      }
      absl::TimeZone tz;
      if (!absl::LoadTimeZone(sc.timezone, &tz)) {
        return r.Error(sites[i]["timezone"] ? sites[i]["timezone"] : sites[i], path + ".timezone",
                       "unknown IANA time zone '" + sc.timezone + "'");
      }
      std::string token;
      if (s = r.Get(sites[i], "token", path, &token); !s.ok()) return s;
      if (s = ReadSecret(r, sites[i], "token_file", path, &token); !s.ok()) return s;
      if (!token.empty() && token.size() < 16) {
        return r.Error(sites[i], path + ".token", "must be at least 16 characters");
      }
      if (!token.empty()) o->security.site_tokens[sc.id] = token;
      o->core.sites.push_back(std::move(sc));
    }
  }
  if (const auto t = root["tls"]) {
    if (s = r.Keys(t, "tls", {"cert", "key", "client_ca"}); !s.ok()) return s;
    if (s = r.Get(t, "cert", "tls", &o->security.tls_cert); !s.ok()) return s;
    if (s = r.Get(t, "key", "tls", &o->security.tls_key); !s.ok()) return s;
    if (s = r.Get(t, "client_ca", "tls", &o->security.client_ca); !s.ok()) return s;
    if (o->security.tls_cert.empty() != o->security.tls_key.empty()) {
      return r.Error(t, "tls", "cert and key go together");
    }
  }
  if (const auto mt = root["monitor_tokens"]) {
    if (!mt.IsSequence()) return r.Error(mt, "monitor_tokens", "must be a list");
    for (std::size_t i = 0; i < mt.size(); ++i) {
      const std::string path = absl::StrCat("monitor_tokens[", i, "]");
      if (s = r.Keys(mt[i], path, {"token", "token_file", "client", "pii"}); !s.ok()) return s;
      SecurityOptions::MonitorToken m;
      if (s = r.Get(mt[i], "token", path, &m.token); !s.ok()) return s;
      if (s = ReadSecret(r, mt[i], "token_file", path, &m.token); !s.ok()) return s;
      if (s = r.Get(mt[i], "client", path, &m.client); !s.ok()) return s;
      if (s = r.Get(mt[i], "pii", path, &m.pii); !s.ok()) return s;
      if (m.token.size() < 16) {
        return r.Error(mt[i], path + ".token", "must be at least 16 characters");
      }
      o->security.monitor_tokens.push_back(std::move(m));
    }
  }
  if (const auto d = root["alert_delivery"]) {
    if (s = r.Keys(d, "alert_delivery",
                   {"queue_capacity", "resend_interval_s", "timeout_s", "backoff_initial_s",
                    "backoff_max_s", "max_attempts", "generator_url"});
        !s.ok()) {
      return s;
    }
    auto& dv = o->delivery;
    double v = static_cast<double>(dv.queue_capacity);
    if (s = r.Number(d, "queue_capacity", "alert_delivery", 1, 1e6, &v); !s.ok()) return s;
    dv.queue_capacity = static_cast<std::size_t>(v);
    struct Ms {
      const char* key;
      std::int64_t* field;
      double lo, hi;
    };
    for (const Ms& m : {Ms{"resend_interval_s", &dv.resend_interval_ms, 1, 3600},
                        Ms{"timeout_s", &dv.timeout_ms, 0.1, 300},
                        Ms{"backoff_initial_s", &dv.backoff_initial_ms, 0.01, 600},
                        Ms{"backoff_max_s", &dv.backoff_max_ms, 0.1, 3600}}) {
      v = static_cast<double>(*m.field) / 1000.0;
      if (s = r.Number(d, m.key, "alert_delivery", m.lo, m.hi, &v); !s.ok()) return s;
      *m.field = static_cast<std::int64_t>(v * 1000);
    }
    v = dv.max_attempts;
    if (s = r.Number(d, "max_attempts", "alert_delivery", 1, 100, &v); !s.ok()) return s;
    dv.max_attempts = static_cast<int>(v);
    if (s = r.Get(d, "generator_url", "alert_delivery", &dv.generator_url); !s.ok()) return s;
  }
  if (const auto l = root["limits"]) {
    if (s = r.Keys(l, "limits",
                   {"max_batch_events", "max_field_bytes", "max_future_s", "max_age_s",
                    "max_queues_per_site", "max_agents_per_site", "max_links_per_site",
                    "max_waiting_calls_per_queue"});
        !s.ok()) {
      return s;
    }
    auto& lim = o->core.limits;
    double v = 0;
    struct U32 {
      const char* key;
      std::uint32_t* field;
      double lo, hi;
    };
    for (const U32& u :
         {U32{"max_batch_events", &lim.max_batch_events, 1, 65536},
          U32{"max_field_bytes", &lim.max_field_bytes, 8, 4096},
          U32{"max_queues_per_site", &lim.max_queues_per_site, 1, 1e6},
          U32{"max_agents_per_site", &lim.max_agents_per_site, 1, 1e7},
          U32{"max_links_per_site", &lim.max_links_per_site, 1, 1e5},
          U32{"max_waiting_calls_per_queue", &lim.max_waiting_calls_per_queue, 1, 1e7}}) {
      v = *u.field;
      if (s = r.Number(l, u.key, "limits", u.lo, u.hi, &v); !s.ok()) return s;
      *u.field = static_cast<std::uint32_t>(v);
    }
    v = static_cast<double>(lim.max_future_ms) / 1000.0;
    if (s = r.Number(l, "max_future_s", "limits", 0, 1e9, &v); !s.ok()) return s;
    lim.max_future_ms = static_cast<std::int64_t>(v * 1000);
    v = static_cast<double>(lim.max_age_ms) / 1000.0;
    if (s = r.Number(l, "max_age_s", "limits", 0, 1e10, &v); !s.ok()) return s;
    lim.max_age_ms = static_cast<std::int64_t>(v * 1000);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CollectorOptions> ParseCollectorOptions(const std::string& text,
                                                       const std::string& name) {
  CollectorOptions o;
  Reader r(name);
  try {
    const YAML::Node root = YAML::Load(text);
    if (auto s = Parse(root, r, &o); !s.ok()) return s;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  if (auto s = ValidateCollectorOptions(o); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", s.message()));
  }
  return o;
}

absl::StatusOr<CollectorOptions> LoadCollectorOptions(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open config file"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseCollectorOptions(ss.str(), path);
}

absl::Status ValidateCollectorOptions(const CollectorOptions& o) {
  if (o.shard.empty() || o.shard.size() > 64 ||
      o.shard.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
          std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("field 'shard': '", o.shard, "' must be 1-64 characters of [A-Za-z0-9._-]"));
  }
  if (!o.ledger_database.empty() && !o.ledger_database.starts_with("postgresql://") &&
      !o.ledger_database.starts_with("postgres://")) {
    return absl::InvalidArgumentError(
        "field 'ledger_database': must be a postgresql:// URI (leave it out for the embedded "
        "SQLite ledger in data_dir)");
  }
  if (o.core.ledger_amend_days > o.core.ledger_retention_days) {
    // A late event for a row the store pruned would write a partial row back.
    return absl::InvalidArgumentError(
        "field 'ledger_amend_days': must not exceed ledger_retention_days");
  }
  std::set<std::string> queues, clients, sites;
  for (const auto& c : o.core.clients) {
    if (!clients.insert(c.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("client '", c.name, "' defined twice"));
    }
    for (const auto& q : c.queues) {
      if (!queues.insert(q.name).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("queue '", q.name, "' claimed by more than one client"));
      }
    }
  }
  for (const auto& s : o.core.sites) {
    if (!sites.insert(s.id).second) {
      return absl::InvalidArgumentError(absl::StrCat("site '", s.id, "' defined twice"));
    }
  }
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(o.core.default_timezone, &tz)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "field 'default_timezone': unknown IANA time zone '", o.core.default_timezone, "'"));
  }
  for (const auto* addr : {&o.listen, &o.metrics_listen}) {
    if (addr->find(':') == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("listen address '", *addr, "' is not HOST:PORT"));
    }
  }
  if (o.tick_ms < 10 || o.tick_ms > 60000) {
    return absl::InvalidArgumentError("field 'tick_ms': must be within [10, 60000]");
  }
  return absl::OkStatus();
}

}  // namespace ccmon::collector
