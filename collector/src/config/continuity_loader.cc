// YAML -> ContinuityRules (rules/continuity.yaml). yaml-cpp exceptions stop here. Follows
// config_loader.cc: every error is "file:line:column: field 'path': what is wrong".
#include "ccmon/collector/continuity_loader.h"

#include <absl/strings/str_cat.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <initializer_list>
#include <sstream>

#include "config/yaml_reader.h"

namespace ccmon::collector {

namespace {

class Reader : public YamlReader {
 public:
  using YamlReader::YamlReader;

  // One set of thresholds (the defaults, or a client's or site's overrides applied on top of
  // what `t` already holds).
  absl::Status ThresholdsAt(const YAML::Node& n, const std::string& path,
                            ContinuityThresholds* t) const {
    absl::Status s;
    if (s = Keys(n, path,
                 {"resolve_after_s", "hysteresis", "site_dark", "link_down", "trunk_down",
                  "link_degraded", "voice_quality_low", "staffing_collapse", "queue_surge",
                  "sla_at_risk", "clock_skew", "spool_backlog"});
        !s.ok()) {
      return s;
    }
    if (n.IsNull()) return absl::OkStatus();
    if (s = Seconds(n, "resolve_after_s", path, 0, 3600, &t->resolve_after_ms); !s.ok()) return s;
    if (s = Number(n, "hysteresis", path, 0, 0.5, &t->hysteresis); !s.ok()) return s;

    // One scope per alert: yaml-cpp's Node::operator= writes through to the document, so a
    // node variable is never reassigned.
    {
      const std::string p = Join(path, "site_dark");
      const YAML::Node a = n["site_dark"];
      if (s = Keys(a, p, {"heartbeats", "min_s"}); !s.ok()) return s;
      if (s = Number(a, "heartbeats", p, 1, 100, &t->site_dark_heartbeats); !s.ok()) return s;
      if (s = Seconds(a, "min_s", p, 1, 86400, &t->site_dark_min_ms); !s.ok()) return s;
    }
    {
      const std::string p = Join(path, "link_down");
      const YAML::Node a = n["link_down"];
      if (s = Keys(a, p, {"for_s"}); !s.ok()) return s;
      if (s = Seconds(a, "for_s", p, 0, 86400, &t->link_down_for_ms); !s.ok()) return s;
    }
    {
      const std::string p = Join(path, "trunk_down");
      const YAML::Node a = n["trunk_down"];
      if (s = Keys(a, p, {"for_s"}); !s.ok()) return s;
      if (s = Seconds(a, "for_s", p, 0, 86400, &t->trunk_down_for_ms); !s.ok()) return s;
    }
    {
      const std::string p = Join(path, "link_degraded");
      const YAML::Node a = n["link_degraded"];
      if (s = Keys(a, p, {"loss_ratio", "rtt_ms", "jitter_ms", "for_s"}); !s.ok()) return s;
      if (s = Number(a, "loss_ratio", p, 0, 1, &t->link_loss_ratio); !s.ok()) return s;
      if (s = Number(a, "rtt_ms", p, 1, 60000, &t->link_rtt_ms); !s.ok()) return s;
      if (s = Number(a, "jitter_ms", p, 1, 60000, &t->link_jitter_ms); !s.ok()) return s;
      if (s = Seconds(a, "for_s", p, 0, 86400, &t->link_degraded_for_ms); !s.ok()) return s;
    }
    {
      const std::string p = Join(path, "voice_quality_low");
      const YAML::Node a = n["voice_quality_low"];
      if (s = Keys(a, p, {"mos_min", "min_samples", "for_s"}); !s.ok()) return s;
      if (s = Number(a, "mos_min", p, 1, 5, &t->mos_min); !s.ok()) return s;
      if (s = Whole(a, "min_samples", p, 1, 1e6, &t->mos_min_samples); !s.ok()) return s;
      if (s = Seconds(a, "for_s", p, 0, 86400, &t->voice_for_ms); !s.ok()) return s;
    }
    {
      const std::string p = Join(path, "staffing_collapse");
      const YAML::Node a = n["staffing_collapse"];
      if (s = Keys(a, p, {"drop_ratio", "high_window_s", "drop_within_s", "min_high"}); !s.ok()) {
        return s;
      }
      if (s = Number(a, "drop_ratio", p, 0.05, 1, &t->staffing_drop_ratio); !s.ok()) return s;
      if (s = Seconds(a, "high_window_s", p, 60, 86400, &t->staffing_high_window_ms); !s.ok()) {
        return s;
      }
      if (s = Seconds(a, "drop_within_s", p, 1, 86400, &t->staffing_drop_within_ms); !s.ok()) {
        return s;
      }
      if (s = Whole(a, "min_high", p, 1, 1e6, &t->staffing_min_high); !s.ok()) return s;
    }
    {
      const std::string p = Join(path, "queue_surge");
      const YAML::Node a = n["queue_surge"];
      if (s = Keys(a, p, {"wait_factor", "for_s"}); !s.ok()) return s;
      if (s = Number(a, "wait_factor", p, 0.1, 100, &t->surge_wait_factor); !s.ok()) return s;
      if (s = Seconds(a, "for_s", p, 0, 86400, &t->surge_for_ms); !s.ok()) return s;
    }
    {
      const std::string p = Join(path, "sla_at_risk");
      const YAML::Node a = n["sla_at_risk"];
      if (s = Keys(a, p, {"min_calls", "for_s"}); !s.ok()) return s;
      if (s = Whole(a, "min_calls", p, 1, 1e6, &t->sla_min_calls); !s.ok()) return s;
      if (s = Seconds(a, "for_s", p, 0, 86400, &t->sla_for_ms); !s.ok()) return s;
    }
    {
      const std::string p = Join(path, "clock_skew");
      const YAML::Node a = n["clock_skew"];
      if (s = Keys(a, p, {"max_skew_s", "for_s"}); !s.ok()) return s;
      if (s = Seconds(a, "max_skew_s", p, 0.1, 86400, &t->clock_skew_ms); !s.ok()) return s;
      if (s = Seconds(a, "for_s", p, 0, 86400, &t->clock_skew_for_ms); !s.ok()) return s;
    }
    {
      const std::string p = Join(path, "spool_backlog");
      const YAML::Node a = n["spool_backlog"];
      if (s = Keys(a, p, {"max_events", "dropped_window_s", "for_s"}); !s.ok()) return s;
      if (s = Whole(a, "max_events", p, 1, 1e9, &t->spool_backlog_events); !s.ok()) return s;
      if (s = Seconds(a, "dropped_window_s", p, 0, 86400, &t->spool_dropped_window_ms); !s.ok()) {
        return s;
      }
      if (s = Seconds(a, "for_s", p, 0, 86400, &t->spool_for_ms); !s.ok()) return s;
    }

    return CrossCheck(n, path, *t);
  }

 private:
  // Rules between fields, judged on the merged set so an override cannot break them by
  // changing one side only. The error points at the field this set changed, if any.
  absl::Status CrossCheck(const YAML::Node& n, const std::string& path,
                          const ContinuityThresholds& t) const {
    auto at = [&](const char* section, const char* key) {
      const YAML::Node sec = n[section];
      if (sec && sec.IsMap() && sec[key]) return sec[key];
      return sec && sec.IsMap() ? sec : n;
    };
    if (t.staffing_drop_within_ms > t.staffing_high_window_ms) {
      return Error(at("staffing_collapse", "drop_within_s"),
                   Join(path, "staffing_collapse.drop_within_s"),
                   absl::StrCat("must not exceed high_window_s (",
                                static_cast<double>(t.staffing_high_window_ms) / 1000, ")"));
    }
    if (t.spool_dropped_window_ms < t.spool_for_ms) {
      return Error(
          at("spool_backlog", "dropped_window_s"), Join(path, "spool_backlog.dropped_window_s"),
          absl::StrCat("must be at least for_s (", static_cast<double>(t.spool_for_ms) / 1000,
                       "), or dropped events could never raise the alert"));
    }
    return absl::OkStatus();
  }
};

// `clients:` or `sites:`: a mapping of name -> partial overrides on top of the defaults.
absl::Status Overrides(const YAML::Node& root, const char* key, const Reader& r,
                       const ContinuityThresholds& defaults,
                       std::map<std::string, ContinuityThresholds>* out) {
  const YAML::Node map = root[key];
  if (!map || map.IsNull()) return absl::OkStatus();
  if (!map.IsMap()) return r.Error(map, key, "must be a mapping of name to overrides");
  for (const auto& kv : map) {
    if (!kv.first.IsScalar() || kv.first.Scalar().empty()) {
      return r.Error(kv.first, key, "names must be non-empty strings");
    }
    const std::string name = kv.first.Scalar();
    ContinuityThresholds t = defaults;
    if (auto s = r.ThresholdsAt(kv.second, absl::StrCat(key, ".", name), &t); !s.ok()) return s;
    (*out)[name] = t;
  }
  return absl::OkStatus();
}

absl::Status Parse(const YAML::Node& root, const Reader& r, ContinuityRules* rules) {
  if (root.IsNull()) return absl::OkStatus();
  if (!root.IsMap()) {
    return r.Error(root, "(top level)",
                   "must be a mapping of runbook_base_url, defaults, clients and sites");
  }
  if (auto s = r.Keys(root, "", {"runbook_base_url", "defaults", "clients", "sites"}); !s.ok()) {
    return s;
  }
  absl::Status s;
  if (s = r.Get(root, "runbook_base_url", "", &rules->runbook_base_url); !s.ok()) return s;
  if (root["runbook_base_url"] && rules->runbook_base_url.empty()) {
    return r.Error(root["runbook_base_url"], "runbook_base_url", "must not be empty");
  }
  if (const YAML::Node d = root["defaults"]) {
    if (s = r.ThresholdsAt(d, "defaults", &rules->defaults); !s.ok()) return s;
  }
  if (s = Overrides(root, "clients", r, rules->defaults, &rules->clients); !s.ok()) return s;
  return Overrides(root, "sites", r, rules->defaults, &rules->sites);
}

}  // namespace

absl::StatusOr<ContinuityRules> ParseContinuityRules(const std::string& text,
                                                     const std::string& name) {
  ContinuityRules rules;
  Reader r(name);
  try {
    const YAML::Node root = YAML::Load(text);
    if (auto s = Parse(root, r, &rules); !s.ok()) return s;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  return rules;
}

absl::StatusOr<ContinuityRules> LoadContinuityRules(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open continuity rules file"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseContinuityRules(ss.str(), path);
}

}  // namespace ccmon::collector
