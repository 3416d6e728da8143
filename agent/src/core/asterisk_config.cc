#include "ccmon/agent/asterisk_config.h"

#include <charconv>
#include <deque>
#include <fstream>
#include <sstream>

namespace ccmon::agent {

namespace {

constexpr int kMaxIncludeDepth = 10;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Asterisk's comment rule: ';' starts a comment unless escaped as "\;".
std::string StripComment(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == ';') {
      out.push_back(';');
      ++i;
    } else if (line[i] == ';') {
      break;
    } else {
      out.push_back(line[i]);
    }
  }
  return out;
}

// atoi as app_queue.c uses it: leading digits, anything else 0. Returns false when the
// value is not a plain non-negative number, so the caller can warn.
bool Seconds(std::string_view v, std::uint32_t* out) {
  v = Trim(v);
  std::uint32_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  *out = ec == std::errc() ? n : 0;
  return ec == std::errc() && p == v.data() + v.size();
}

std::vector<std::string_view> SplitComma(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    const auto comma = s.find(',');
    out.push_back(Trim(s.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

struct Section {
  std::string name;
  bool is_template = false;
  QueueConf conf;
};

class Parser {
 public:
  Parser(const IncludeReader& include, AsteriskConfig* out) : include_(include), out_(out) {}

  bool Parse(std::string_view text, const std::string& file, int depth, std::string* error) {
    if (depth > kMaxIncludeDepth) {
      *error = file + ": #include nested deeper than " + std::to_string(kMaxIncludeDepth);
      return false;
    }
    int line_no = 0;
    while (!text.empty()) {
      const auto nl = text.find('\n');
      const std::string raw(text.substr(0, nl));
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
      ++line_no;
      const std::string where = file + ":" + std::to_string(line_no);
      const std::string stripped = StripComment(raw);
      const std::string_view line = Trim(stripped);
      if (line.empty()) continue;
      if (line.front() == '#') {
        if (!Directive(line, where, depth, error)) return false;
        continue;
      }
      if (line.front() == '[') {
        if (!StartSection(line, where, error)) return false;
        continue;
      }
      std::size_t eq = line.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        *error = where + ": expected '[section]', '#include' or 'key = value', got '" +
                 std::string(line.substr(0, 80)) + "'";
        return false;
      }
      const std::string_view key = Trim(line.substr(0, eq));
      std::string_view value = line.substr(eq + 1);
      if (!value.empty() && value.front() == '>') value.remove_prefix(1);  // "member => ..."
      Setting(key, Trim(value), where);
    }
    return true;
  }

  void Finish() {
    for (auto& s : sections_) {
      if (s.is_template || s.name == "general") continue;
      out_->queues.insert_or_assign(s.name, std::move(s.conf));
    }
  }

 private:
  bool Directive(std::string_view line, const std::string& where, int depth, std::string* error) {
    const bool try_include = line.starts_with("#tryinclude");
    if (!try_include && !line.starts_with("#include")) {
      out_->warnings.push_back(where + ": directive '" + std::string(line.substr(0, 40)) +
                               "' not followed (only #include and #tryinclude are)");
      return true;
    }
    std::string_view path = Trim(line.substr(try_include ? 11 : 8));
    if (path.size() >= 2 && (path.front() == '"' || path.front() == '<')) {
      path = path.substr(1, path.size() - 2);
    }
    if (path.empty()) {
      *error = where + ": #include without a file name";
      return false;
    }
    if (path.find_first_of("*?[") != std::string_view::npos) {
      out_->warnings.push_back(where + ": wildcard include '" + std::string(path) +
                               "' not followed");
      return true;
    }
    const std::string name(path);
    const std::optional<std::string> text = include_(name);
    if (!text) {
      if (try_include) return true;
      *error = where + ": cannot read included file '" + name + "'";
      return false;
    }
    return Parse(*text, name, depth + 1, error);
  }

  bool StartSection(std::string_view line, const std::string& where, std::string* error) {
    const auto close = line.find(']');
    if (close == std::string_view::npos || close == 1) {
      *error = where + ": malformed section header '" + std::string(line.substr(0, 80)) + "'";
      return false;
    }
    const std::string name(Trim(line.substr(1, close - 1)));
    std::string_view opts = Trim(line.substr(close + 1));
    bool is_template = false, append = false;
    std::vector<std::string> bases;
    if (!opts.empty()) {
      if (opts.front() != '(' || opts.back() != ')') {
        *error = where + ": expected '(options)' after the section name";
        return false;
      }
      for (std::string_view o : SplitComma(opts.substr(1, opts.size() - 2))) {
        if (o == "!") {
          is_template = true;
        } else if (o == "+") {
          append = true;
        } else if (!o.empty()) {
          bases.emplace_back(o);
        }
      }
    }
    if (append) {
      for (auto& s : sections_) {
        if (s.name == name) {
          current_ = &s;
          return true;
        }
      }
      *error = where + ": '[" + name + "](+)' appends to a section not defined before";
      return false;
    }
    Section s;
    s.name = name;
    s.is_template = is_template;
    s.conf.origin = where;
    for (const auto& b : bases) {
      const Section* base = Find(b);
      if (base == nullptr) {
        *error = where + ": template '" + b + "' is not defined above";
        return false;
      }
      const std::string origin = s.conf.origin;
      s.conf = base->conf;
      s.conf.origin = origin;
    }
    sections_.push_back(std::move(s));
    current_ = &sections_.back();
    return true;
  }

  const Section* Find(const std::string& name) const {
    for (auto it = sections_.rbegin(); it != sections_.rend(); ++it) {
      if (it->name == name) return &*it;
    }
    return nullptr;
  }

  void Setting(std::string_view key, std::string_view value, const std::string& where) {
    if (current_ == nullptr) {
      out_->warnings.push_back(where + ": setting outside any section ignored");
      return;
    }
    QueueConf& q = current_->conf;
    auto number = [&](std::uint32_t* field) {
      if (!Seconds(value, field)) {
        out_->warnings.push_back(where + ": " + std::string(key) + " '" + std::string(value) +
                                 "' is not a whole number of seconds; read as " +
                                 std::to_string(*field) + " as Asterisk does");
      }
    };
    if (key == "wrapuptime") {
      number(&q.wrapup_s);
    } else if (key == "servicelevel") {
      number(&q.service_level_s);
    } else if (key == "timeout") {
      number(&q.ring_timeout_s);
    } else if (key == "member") {
      // interface,penalty,membername,state_interface,ringinuse,wrapuptime,paused
      const auto f = SplitComma(value);
      if (f.empty() || f[0].empty()) {
        out_->warnings.push_back(where + ": empty member definition ignored (as Asterisk does)");
        return;
      }
      StaticMember m;
      m.interface = std::string(f[0]);
      m.name = f.size() > 2 && !f[2].empty() ? std::string(f[2]) : m.interface;
      if (f.size() > 5 && !f[5].empty()) {
        std::uint32_t w = 0;
        Seconds(f[5], &w);
        m.wrapup_s = w;
      }
      m.paused = f.size() > 6 && (f[6] == "1" || f[6] == "yes" || f[6] == "true");
      for (auto& existing : q.members) {
        if (existing.interface == m.interface) {
          existing = m;  // app_queue keys members by interface: the last line wins
          return;
        }
      }
      q.members.push_back(std::move(m));
    }
  }

  const IncludeReader& include_;
  AsteriskConfig* out_;
  std::deque<Section> sections_;  // a deque: current_ stays valid as sections are added
  Section* current_ = nullptr;
};

void IndexMembers(AsteriskConfig* out) {
  for (const auto& [name, q] : out->queues) {
    for (const auto& m : q.members) {
      auto [it, inserted] = out->member_of_interface.emplace(m.interface, m.name);
      if (!inserted && it->second != m.name) {
        out->warnings.push_back(q.origin + ": interface " + m.interface + " is member '" + m.name +
                                "' here and '" + it->second + "' in another queue; using '" +
                                it->second + "'");
      }
    }
  }
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

bool ParseQueuesConf(std::string_view text, const std::string& file, const IncludeReader& include,
                     AsteriskConfig* out, std::string* error) {
  Parser p(include, out);
  if (!p.Parse(text, file, 0, error)) return false;
  p.Finish();
  IndexMembers(out);
  return true;
}

bool ParseMembersFile(std::string_view text, const std::string& file, AsteriskConfig* out,
                      std::string* error) {
  int line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (const auto hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = Trim(line);
    if (line.empty()) continue;
    const std::string where = file + ":" + std::to_string(line_no);
    const auto f = SplitComma(line);
    if (f.size() < 3 || f.size() > 4 || f[0].empty() || f[1].empty() || f[2].empty()) {
      *error = where + ": expected 'queue,interface,member name[,wrapuptime]'";
      return false;
    }
    StaticMember m;
    m.realtime = true;
    m.interface = std::string(f[1]);
    m.name = std::string(f[2]);
    if (f.size() == 4) {
      std::uint32_t w = 0;
      if (!Seconds(f[3], &w)) {
        *error = where + ": wrapuptime '" + std::string(f[3]) + "' is not a whole number";
        return false;
      }
      m.wrapup_s = w;
    }
    QueueConf& q = out->queues[std::string(f[0])];
    if (q.origin.empty()) q.origin = where;
    q.members.push_back(std::move(m));
  }
  out->member_of_interface.clear();
  IndexMembers(out);
  return true;
}

bool LoadAsteriskConfig(const std::string& dir, const std::string& members_file,
                        AsteriskConfig* out, std::string* error) {
  const std::string base = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  const std::string main = base + "queues.conf";
  const std::optional<std::string> text = ReadFile(main);
  if (!text) {
    *error = main + ": cannot read";
    return false;
  }
  const IncludeReader include = [&base](const std::string& path) {
    return ReadFile(!path.empty() && path.front() == '/' ? path : base + path);
  };
  if (!ParseQueuesConf(*text, main, include, out, error)) return false;
  if (!members_file.empty()) {
    const std::optional<std::string> members = ReadFile(members_file);
    if (!members) {
      *error = members_file + ": cannot read";
      return false;
    }
    if (!ParseMembersFile(*members, members_file, out, error)) return false;
  }
  return true;
}

}  // namespace ccmon::agent
