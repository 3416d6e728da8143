#include "sources/link_prober.h"

#include <algorithm>

namespace ccmon::agent {

struct LinkProber::Probe {
  explicit Probe(asio::io_context& io) : timer(io), deadline(io), resolver(io), socket(io) {}
  ProbeTarget target;
  LinkStats stats;
  asio::steady_timer timer;
  asio::steady_timer deadline;
  asio::ip::tcp::resolver resolver;
  asio::ip::tcp::socket socket;
  std::chrono::steady_clock::time_point started;
  bool done = false;
};

LinkProber::LinkProber(asio::io_context& io, std::vector<ProbeTarget> targets,
                       std::chrono::milliseconds interval, EventSink sink, const Clock& clock)
    : io_(io), interval_(interval), sink_(std::move(sink)), clock_(clock) {
  for (auto& t : targets) {
    auto p = std::make_shared<Probe>(io_);
    p->target = std::move(t);
    probes_.push_back(std::move(p));
  }
}

void LinkProber::Start() {
  for (const auto& p : probes_) Run(p);
}

void LinkProber::Schedule(const std::shared_ptr<Probe>& p) {
  p->timer.expires_after(interval_);
  p->timer.async_wait([this, p](const asio::error_code& ec) {
    if (!ec) Run(p);
  });
}

void LinkProber::Run(const std::shared_ptr<Probe>& p) {
  p->done = false;
  // A stopwatch on a real network exchange (asio's timers run on real time too), not time
  // the agent reasons about: it stays on the steady clock, not the injected one.
  p->started = std::chrono::steady_clock::now();
  auto finish = [this, p](bool ok) {
    if (p->done) return;
    p->done = true;
    p->deadline.cancel();
    asio::error_code ignored;
    p->socket.close(ignored);
    const double rtt_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - p->started)
            .count();
    p->stats.Record(ok, rtt_ms);
    const LinkFigures f = p->stats.figures();
    LinkSample s;
    s.link = p->target.name;
    s.up = f.up;
    s.rtt_ms = f.rtt_ms;
    s.jitter_ms = f.jitter_ms;
    s.loss_ratio = f.loss_ratio;
    sink_(Event{0, clock_.NowMs(), s});
    Schedule(p);
  };
  // A probe that takes longer than the interval (or 2 s) counts as lost.
  p->deadline.expires_after(
      std::min<std::chrono::milliseconds>(interval_, std::chrono::seconds(2)));
  p->deadline.async_wait([p, finish](const asio::error_code& ec) {
    if (!ec) finish(false);
  });
  p->resolver.async_resolve(p->target.host, p->target.port,
                            [p, finish](const asio::error_code& ec,
                                        const asio::ip::tcp::resolver::results_type& results) {
                              if (ec || p->done) return finish(false);
                              asio::async_connect(
                                  p->socket, results,
                                  [finish](const asio::error_code& cec,
                                           const asio::ip::tcp::endpoint&) { finish(!cec); });
                            });
}

}  // namespace ccmon::agent
