#include "ccmon/agent/asterisk_config.h"

#include <glob.h>

#include <algorithm>
#include <cctype>
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

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ast_true(): yes, true, y, t, 1, on.
bool True(std::string_view v) {
  const std::string l = Lower(Trim(v));
  return l == "yes" || l == "true" || l == "y" || l == "t" || l == "1" || l == "on";
}

// atoi as app_queue.c uses it. Returns false when the value is not a plain number, so the
// caller can warn; *out is what atoi would give.
bool Number(std::string_view v, long* out) {
  v = Trim(v);
  long n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  *out = ec == std::errc() ? n : 0;
  return ec == std::errc() && p == v.data() + v.size();
}

bool Seconds(std::string_view v, std::uint32_t* out) {
  long n = 0;
  const bool ok = Number(v, &n);
  *out = n > 0 ? static_cast<std::uint32_t>(std::min<long>(n, 86400L * 366)) : 0;
  return ok && n >= 0;
}

// AST_STANDARD_APP_ARGS (ast_app_separate_args): ',' splits except inside quotes or
// parentheses; quotes are removed, a backslash keeps the next character; fields are trimmed.
std::vector<std::string> SplitArgs(std::string_view s) {
  std::vector<std::string> out(1);
  int parens = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      out.back().push_back(s[++i]);
    } else if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && c == '(') {
      ++parens;
      out.back().push_back(c);
    } else if (!quoted && c == ')' && parens > 0) {
      --parens;
      out.back().push_back(c);
    } else if (!quoted && parens == 0 && c == ',') {
      out.emplace_back();
    } else {
      out.back().push_back(c);
    }
  }
  for (auto& f : out) f = std::string(Trim(f));
  return out;
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

struct Var {
  std::string key;  // lower case
  std::string value;
  std::string where;
};

struct Section {
  std::string name;
  std::string lname;
  bool is_template = false;
  std::vector<Var> vars;  // inherited ones first, in template order, as ast_category_inherit
  std::string where;
};

class Parser {
 public:
  Parser(const IncludeReader& include, AsteriskConfig* out) : include_(include), out_(out) {}

  bool Parse(std::string_view text, const std::string& file, int depth, std::string* error) {
    if (depth > kMaxIncludeDepth) {
      *error = file + ": #include nested deeper than " + std::to_string(kMaxIncludeDepth);
      return false;
    }
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a BOM, as config.c skips
    int line_no = 0;
    while (!text.empty()) {
      const auto nl = text.find('\n');
      const std::string_view raw = text.substr(0, nl);
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
      ++line_no;
      const std::string where = file + ":" + std::to_string(line_no);
      const std::string stripped = StripComments(raw);
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
      const std::size_t eq = line.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        // config.c: "No '=' (equal sign) in line": a warning, the line is skipped.
        out_->warnings.push_back(where + ": no '=' in '" + std::string(line.substr(0, 80)) +
                                 "'; line ignored (as Asterisk does)");
        continue;
      }
      std::string_view value = line.substr(eq + 1);
      if (!value.empty() && value.front() == '>') value.remove_prefix(1);  // "member => ..."
      if (current_ == nullptr) {
        out_->warnings.push_back(where + ": setting outside any section ignored");
        continue;
      }
      current_->vars.push_back({Lower(Trim(line.substr(0, eq))), std::string(Trim(value)), where});
    }
    return true;
  }

  void Finish() {
    for (const auto& s : sections_) {
      if (s.is_template) continue;
      if (s.lname == "general") {
        for (const auto& v : s.vars) {
          if (v.key == "log_membername_as_agent") out_->log_membername_as_agent = True(v.value);
          if (v.key == "persistentmembers") out_->persistent_members = True(v.value);
        }
        continue;
      }
      bool defined = false;
      for (const auto& [name, q] : out_->queues) defined = defined || Lower(name) == s.lname;
      if (defined) {
        // app_queue.c reload_queues: "Queue '%s' already defined! Skipping!"
        out_->warnings.push_back(s.where + ": queue '" + s.name +
                                 "' already defined; this one is skipped (as Asterisk does)");
        continue;
      }
      QueueConf q;
      q.origin = s.where;
      for (const auto& v : s.vars) Apply(v, &q);
      out_->queues.emplace(s.name, std::move(q));
    }
  }

 private:
  // ';' starts a comment unless escaped as "\;"; ";--" opens a block comment that "--;"
  // closes, possibly lines later (config.c, with nesting).
  std::string StripComments(std::string_view line) {
    std::string out;
    out.reserve(line.size());
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (block_ > 0) {
        if (line.substr(i, 3) == "--;") {
          --block_;
          i += 2;
        } else if (line.substr(i, 3) == ";--") {
          ++block_;
          i += 2;
        }
        continue;
      }
      if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == ';') {
        out.push_back(';');
        ++i;
      } else if (line.substr(i, 3) == ";--") {
        ++block_;
        i += 2;
      } else if (line[i] == ';') {
        break;
      } else {
        out.push_back(line[i]);
      }
    }
    return out;
  }

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
    const std::string name(path);
    const std::optional<std::string> text = include_(name);
    if (!text) {
      if (try_include) return true;
      *error = where + ": cannot read included file '" + name + "'";
      return false;
    }
    // As config.c: the included file starts in the last section defined or appended to
    // anywhere (ast_config_get_current_category), and the includer's next lines go back to
    // its own section (each file keeps its current category to itself).
    Section* const includer = current_;
    current_ = last_started_;
    const bool ok = Parse(*text, name, depth + 1, error);
    current_ = includer;
    return ok;
  }

  Section* Find(std::string_view lname) {
    for (auto it = sections_.rbegin(); it != sections_.rend(); ++it) {
      if (it->lname == lname) return &*it;
    }
    return nullptr;
  }

  bool StartSection(std::string_view line, const std::string& where, std::string* error) {
    const auto close = line.find(']');
    if (close == std::string_view::npos) {
      *error = where + ": section header without ']': '" + std::string(line.substr(0, 80)) + "'";
      return false;
    }
    const std::string name(line.substr(1, close - 1));
    // Options count only right after ']' (config.c: "[name] (opts)" has none).
    std::string_view opts = line.substr(close + 1);
    bool is_template = false, append = false;
    std::vector<std::string> bases;
    if (!opts.empty() && opts.front() == '(') {
      const auto end = opts.find(')');
      if (end == std::string_view::npos) {
        *error = where + ": '(' after the section name without ')'";
        return false;
      }
      for (std::string_view o : SplitComma(opts.substr(1, end - 1))) {
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
      if (Section* s = Find(Lower(name))) {
        current_ = last_started_ = s;
        return true;
      }
      *error = where + ": '[" + name + "](+)' appends to a section not defined before";
      return false;
    }
    Section s;
    s.name = name;
    s.lname = Lower(name);
    s.is_template = is_template;
    s.where = where;
    for (const auto& b : bases) {
      const Section* base = Find(Lower(b));
      if (base == nullptr) {
        *error = where + ": template '" + b + "' is not defined above";
        return false;
      }
      s.vars.insert(s.vars.end(), base->vars.begin(), base->vars.end());
    }
    sections_.push_back(std::move(s));
    current_ = last_started_ = &sections_.back();
    return true;
  }

  // queue_set_param (app_queue.c): each variable in order, so a later value wins.
  void Apply(const Var& v, QueueConf* q) {
    auto seconds = [&](std::uint32_t* field) {
      if (!Seconds(v.value, field)) {
        out_->warnings.push_back(v.where + ": " + v.key + " '" + v.value +
                                 "' is not a whole number of seconds; read as " +
                                 std::to_string(*field) + " as Asterisk does");
      }
    };
    if (v.key == "wrapuptime") {
      seconds(&q->wrapup_s);
    } else if (v.key == "servicelevel") {
      seconds(&q->service_level_s);
    } else if (v.key == "timeout") {
      long n = 0;
      if (Number(v.value, &n) && n < 0) {
        q->ring_timeout_s = 15;  // app_queue: a negative timeout means the default
      } else {
        seconds(&q->ring_timeout_s);
      }
    } else if (v.key == "member") {
      // interface,penalty,membername,state_interface,ringinuse,wrapuptime,paused
      const auto f = SplitArgs(v.value);
      if (f.empty() || f[0].empty()) {
        out_->warnings.push_back(v.where + ": empty member definition ignored (as Asterisk does)");
        return;
      }
      StaticMember m;
      m.interface = f[0];
      m.name = f.size() > 2 && !f[2].empty() ? f[2] : m.interface;
      if (f.size() > 5 && !f[5].empty()) {
        std::uint32_t w = 0;
        Seconds(f[5], &w);
        m.wrapup_s = w;
      }
      m.paused = f.size() > 6 && True(f[6]);
      for (auto& existing : q->members) {
        if (existing.interface == m.interface) {
          existing = m;  // app_queue keys members by interface: the last line wins
          return;
        }
      }
      q->members.push_back(std::move(m));
    }
  }

  const IncludeReader& include_;
  AsteriskConfig* out_;
  std::deque<Section> sections_;     // a deque: current_ stays valid as sections are added
  Section* current_ = nullptr;       // this file's section
  Section* last_started_ = nullptr;  // the last defined or appended to, in any file
  int block_ = 0;                    // open ";--" block comments
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
    if (f.size() < 2 || f.size() > 4 || f[0].empty() || f[1].empty()) {
      *error = where + ": expected 'queue,interface[,member name[,wrapuptime]]'";
      return false;
    }
    StaticMember m;
    m.realtime = true;
    m.interface = std::string(f[1]);
    m.name = f.size() > 2 && !f[2].empty() ? std::string(f[2]) : m.interface;
    if (f.size() == 4 && !f[3].empty()) {
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
  // config.c expands wildcard includes with glob(), in sorted order.
  const IncludeReader include = [&base](const std::string& path) -> std::optional<std::string> {
    const std::string full = !path.empty() && path.front() == '/' ? path : base + path;
    if (full.find_first_of("*?[") == std::string::npos) return ReadFile(full);
    glob_t g{};
    std::string text;
    if (glob(full.c_str(), 0, nullptr, &g) == 0) {
      for (std::size_t i = 0; i < g.gl_pathc; ++i) {
        if (auto t = ReadFile(g.gl_pathv[i])) text += *t + "\n";
      }
    }
    globfree(&g);
    return text;
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
