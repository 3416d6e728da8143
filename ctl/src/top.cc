// `ccmon-ctl top`: a live terminal wallboard drawn from the Monitor API's WatchSnapshots stream.
#include "top.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace ccmon::ctl {

namespace {

std::atomic<bool> g_quit{false};
std::atomic<bool> g_resized{true};

void OnQuit(int) { g_quit = true; }
void OnResize(int) { g_resized = true; }

// Puts the terminal in raw, alternate-screen mode and always restores it.
class Terminal {
 public:
  explicit Terminal(bool tty) : tty_(tty) {
    if (!tty_) return;
    tcgetattr(STDIN_FILENO, &saved_);
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    std::fputs("\x1b[?1049h\x1b[?25l", stdout);
    std::fflush(stdout);
  }
  ~Terminal() {
    if (!tty_) return;
    std::fputs("\x1b[?25h\x1b[?1049l", stdout);
    std::fflush(stdout);
    tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

 private:
  bool tty_;
  termios saved_{};
};

std::string Fmt(const char* f, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

const v1::WindowKpis* Window(const v1::QueueSnapshot& q, const std::string& name) {
  for (const auto& w : q.windows()) {
    if (w.window() == name) return &w;
  }
  return nullptr;
}

std::string Pad(std::string s, std::size_t n) {
  if (s.size() > n) s.resize(n);
  s.append(n - s.size(), ' ');
  return s;
}

}  // namespace

std::string RenderTop(const v1::Snapshot& snap, const TopView& view, int width, int height,
                      bool color, const std::string& target) {
  std::ostringstream o;
  auto col = [&](const char* code) { return color ? std::string(code) : std::string(); };
  const std::string reset = col("\x1b[0m");
  const std::time_t now = static_cast<std::time_t>(snap.now_ms() / 1000);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  std::vector<std::string> lines;
  lines.push_back(col("\x1b[1m") + "ccmon top  " + target + "  " + when + reset);
  lines.push_back("sort: " + view.sort +
                  "  client: " + (view.client.empty() ? "all" : view.client) +
                  "  site: " + (view.site.empty() ? "all" : view.site) +
                  "   [q] quit [s] sort [c] client [S] site");
  lines.emplace_back();
  lines.push_back(col("\x1b[1m") +
                  "CLIENT      SITE         QUEUE        SL 30m  TARGET  WAIT  OLDEST  READY "
                  "ONCALL NOTRDY  ABAND    ASA  NEED" +
                  reset);
  std::vector<const v1::QueueSnapshot*> rows;
  for (const auto& q : snap.queues()) {
    if (!view.client.empty() && q.client() != view.client) continue;
    if (!view.site.empty() && q.site() != view.site) continue;
    rows.push_back(&q);
  }
  auto sl_of = [](const v1::QueueSnapshot* q) {
    const auto* w = Window(*q, "30m");
    return w != nullptr && w->has_service_level() ? w->service_level() : 2.0;
  };
  std::stable_sort(rows.begin(), rows.end(), [&](auto* a, auto* b) {
    if (view.sort == "sl") return sl_of(a) < sl_of(b);
    if (view.sort == "waiting") return a->calls_waiting() > b->calls_waiting();
    return std::tie(a->client(), a->queue(), a->site()) <
           std::tie(b->client(), b->queue(), b->site());
  });
  for (const auto* q : rows) {
    const auto* w = Window(*q, "30m");
    std::string sl = "     -";
    std::string sl_color;
    if (w != nullptr && w->has_service_level()) {
      sl = Fmt("%5.1f%%", w->service_level() * 100);
      sl_color = w->service_level() < q->sl_target()    ? col("\x1b[31m")
                 : w->service_level() < q->sl_warning() ? col("\x1b[33m")
                                                        : col("\x1b[32m");
    }
    auto agents = [&](const char* st) {
      auto it = q->agents_by_state().find(st);
      return it == q->agents_by_state().end() ? 0u : it->second;
    };
    std::string line =
        Pad(q->client(), 12) + Pad(q->site().empty() ? "(all sites)" : q->site(), 13) +
        Pad(q->queue(), 12) + " " + sl_color + sl + (sl_color.empty() ? "" : reset) +
        Fmt("  %5.0f%%", q->sl_target() * 100) + Fmt("  %4.0f", q->calls_waiting()) +
        Fmt("  %5.0fs", q->oldest_wait_seconds()) + Fmt("  %5.0f", agents("ready")) +
        Fmt("  %5.0f", agents("on_call")) + Fmt("  %5.0f", agents("not_ready")) +
        (w != nullptr && w->has_abandon_rate() ? Fmt("  %5.1f%%", w->abandon_rate() * 100)
                                               : std::string("      -")) +
        (w != nullptr && w->has_asa() ? Fmt("  %5.1fs", w->asa_seconds())
                                      : std::string("       -")) +
        Fmt("  %4.0f", q->agents_required());
    lines.push_back(line);
  }
  lines.emplace_back();
  lines.push_back(col("\x1b[1m") + "SITE         LINK       LAST SEEN  BACKLOG  SKEW" + reset);
  for (const auto& s : snap.sites()) {
    if (!view.site.empty() && s.site() != view.site) continue;
    const double ago = s.last_seen_ms() == 0 ? -1 : (snap.now_ms() - s.last_seen_ms()) / 1000.0;
    lines.push_back(
        Pad(s.site(), 13) +
        (s.connected() ? col("\x1b[32m") + "connected  " : col("\x1b[31m") + "DOWN       ") +
        reset + (ago < 0 ? std::string("never    ") : Fmt("%6.0fs ago", ago)) +
        Fmt("  %7.0f", static_cast<double>(s.spool_backlog_events())) +
        Fmt("  %5.1fs", s.clock_skew_ms() / 1000.0));
  }
  lines.emplace_back();
  lines.push_back(col("\x1b[1m") + "ALERTS (" + std::to_string(snap.alerts_size()) + ")" + reset);
  for (const auto& a : snap.alerts()) {
    if (!view.site.empty() && a.site() != view.site) continue;
    lines.push_back((a.severity() == "critical" ? col("\x1b[31m") : col("\x1b[33m")) +
                    Pad(a.name(), 18) + reset + Pad(a.client(), 10) + Pad(a.site(), 12) +
                    a.summary());
  }
  if (snap.alerts_size() == 0) lines.push_back("none firing");
  const int max_lines = std::max(1, height);
  for (int i = 0; i < static_cast<int>(lines.size()) && i < max_lines; ++i) {
    std::string l = lines[static_cast<std::size_t>(i)];
    // Cut long lines at the terminal width, counting only visible characters.
    int visible = 0;
    for (std::size_t k = 0; k < l.size(); ++k) {
      if (l[k] == '\x1b') {
        while (k < l.size() && l[k] != 'm') ++k;
        continue;
      }
      if (++visible > width) {
        l.resize(k);
        if (color) l += reset;
        break;
      }
    }
    o << l << (color ? "\x1b[K" : "") << "\n";
  }
  return o.str();
}

int RunTop(v1::Monitor::Stub& stub, const std::string& target, const TopView& initial,
           const std::string& token, std::ostream& err) {
  const bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
  signal(SIGINT, OnQuit);
  signal(SIGTERM, OnQuit);
  signal(SIGWINCH, OnResize);
  grpc::ClientContext ctx;
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  v1::SnapshotRequest req;
  req.set_client(initial.client);
  req.set_interval_ms(1000);
  auto reader = stub.WatchSnapshots(&ctx, req);
  std::mutex mu;
  v1::Snapshot latest;
  bool have = false, fresh = false, ended = false;
  std::thread rd([&] {
    v1::Snapshot s;
    while (reader->Read(&s)) {
      std::lock_guard lock(mu);
      latest.Swap(&s);
      have = fresh = true;
    }
    std::lock_guard lock(mu);
    ended = true;
  });
  TopView view = initial;
  int status = 0;
  {
    Terminal term(tty);
    while (!g_quit) {
      bool redraw = g_resized.exchange(false);
      if (tty) {
        pollfd pfd{STDIN_FILENO, POLLIN, 0};
        if (::poll(&pfd, 1, 100) > 0) {
          char c = 0;
          if (::read(STDIN_FILENO, &c, 1) == 1) {
            std::lock_guard lock(mu);
            std::vector<std::string> clients{""}, sites{""};
            for (const auto& q : latest.queues()) {
              if (std::find(clients.begin(), clients.end(), q.client()) == clients.end()) {
                clients.push_back(q.client());
              }
            }
            for (const auto& s : latest.sites()) sites.push_back(s.site());
            auto next = [](const std::vector<std::string>& v, const std::string& cur) {
              auto it = std::find(v.begin(), v.end(), cur);
              return it == v.end() || it + 1 == v.end() ? v.front() : *(it + 1);
            };
            if (c == 'q' || c == 'Q') g_quit = true;
            if (c == 's')
              view.sort = view.sort == "queue" ? "sl" : view.sort == "sl" ? "waiting" : "queue";
            if (c == 'c') view.client = next(clients, view.client);
            if (c == 'S') view.site = next(sites, view.site);
            redraw = true;
          }
        }
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      std::string frame;
      {
        std::lock_guard lock(mu);
        if (ended) break;
        if (!have || !(redraw || fresh)) continue;
        fresh = false;
        winsize ws{};
        int width = 120, height = 50;
        if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
          width = ws.ws_col;
          height = ws.ws_row;
        }
        frame = RenderTop(latest, view, width, height, tty, target);
      }
      if (tty) std::fputs("\x1b[H", stdout);
      std::fputs(frame.c_str(), stdout);
      if (tty) std::fputs("\x1b[J", stdout);
      std::fflush(stdout);
    }
  }
  ctx.TryCancel();
  rd.join();
  const auto s = reader->Finish();
  if (!g_quit && !s.ok()) {
    err << "ccmon-ctl: collector " << target << " stream ended: " << s.error_message() << "\n";
    status = 1;
  }
  return status;
}

}  // namespace ccmon::ctl
