// Typed, checked reads from yaml-cpp nodes for the config loaders. Every error reads
// "file:line:column: field 'path': what is wrong"; yaml-cpp exceptions never escape.
// Thread-compatible (immutable after construction).
#pragma once

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace ccmon::collector {

class YamlReader {
 public:
  explicit YamlReader(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }

  absl::Status Error(const YAML::Node& n, const std::string& field, const std::string& msg) const {
    const auto m = n.Mark();
    return absl::InvalidArgumentError(
        absl::StrCat(file_, ":", m.line + 1, ":", m.column + 1, ": field '", field, "': ", msg));
  }

  // Fails on keys not in `allowed`. An empty section (`key:` with nothing under it) is allowed.
  absl::Status Keys(const YAML::Node& map, const std::string& path,
                    std::initializer_list<const char*> allowed) const {
    if (!map || map.IsNull()) return absl::OkStatus();
    if (!map.IsMap()) return Error(map, path, "must be a mapping");
    std::vector<std::string> seen;
    for (const auto& kv : map) {
      const std::string key = kv.first.as<std::string>();
      bool ok = false;
      for (const char* a : allowed) ok = ok || key == a;
      if (!ok) return Error(kv.first, Join(path, key), "unknown key");
      // yaml-cpp keeps both and reads the first: a second value would be ignored unseen.
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        return Error(kv.first, Join(path, key), "duplicate key (only one value may be given)");
      }
      seen.push_back(key);
    }
    return absl::OkStatus();
  }

  static std::string Join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  template <typename T>
  absl::Status Get(const YAML::Node& map, const char* key, const std::string& path, T* out) const {
    if (!map || !map.IsMap()) return absl::OkStatus();
    const YAML::Node n = map[key];
    if (!n) return absl::OkStatus();
    const std::string field = Join(path, key);
    if (!n.IsScalar()) return Error(n, field, "must be a scalar");
    try {
      *out = n.as<T>();
    } catch (const YAML::Exception&) {
      return Error(n, field, "has the wrong type");
    }
    return absl::OkStatus();
  }

  absl::Status Number(const YAML::Node& map, const char* key, const std::string& path, double lo,
                      double hi, double* out) const {
    if (!map || !map.IsMap() || !map[key]) return absl::OkStatus();
    double v = *out;
    if (auto s = Get(map, key, path, &v); !s.ok()) return s;
    if (!(v >= lo && v <= hi)) {
      return Error(map[key], Join(path, key), absl::StrCat("must be within [", lo, ", ", hi, "]"));
    }
    *out = v;
    return absl::OkStatus();
  }

  // A duration given in seconds (fractions allowed), stored in milliseconds.
  absl::Status Seconds(const YAML::Node& map, const char* key, const std::string& path, double lo,
                       double hi, std::int64_t* out_ms) const {
    double s = static_cast<double>(*out_ms) / 1000.0;
    if (auto st = Number(map, key, path, lo, hi, &s); !st.ok()) return st;
    *out_ms = std::llround(s * 1000.0);
    return absl::OkStatus();
  }

  // A count: a whole number within [lo, hi].
  template <typename T>
  absl::Status Whole(const YAML::Node& map, const char* key, const std::string& path, double lo,
                     double hi, T* out) const {
    double v = static_cast<double>(*out);
    if (auto s = Number(map, key, path, lo, hi, &v); !s.ok()) return s;
    if (v != std::floor(v)) return Error(map[key], Join(path, key), "must be a whole number");
    *out = static_cast<T>(v);
    return absl::OkStatus();
  }

 private:
  std::string file_;
};

}  // namespace ccmon::collector
