#include "sources/sip_prober.h"

#include <algorithm>
#include <array>
#include <string>

#include "ccmon/agent/link_stats.h"
#include "ccmon/agent/sip_options.h"
#include "log.h"

namespace ccmon::agent {

namespace {

// What a transition log says about a probe's outcome.
enum class Outcome : std::uint8_t { kNone, kUp, kDown, kSilent };

Outcome OutcomeOf(int status) {
  if (status == 0) return Outcome::kSilent;
  return SipTrunkUp(static_cast<std::uint32_t>(status)) ? Outcome::kUp : Outcome::kDown;
}

}  // namespace

struct SipProber::Probe {
  explicit Probe(asio::io_context& io)
      : timer(io),
        deadline(io),
        retransmit(io),
        udp_resolver(io),
        tcp_resolver(io),
        udp(io),
        tcp(io) {}
  ProbeTarget target;
  LinkStats stats;
  asio::steady_timer timer;
  asio::steady_timer deadline;
  asio::steady_timer retransmit;  // UDP: the request again, as a SIP client would (Timer E)
  asio::ip::udp::resolver udp_resolver;
  asio::ip::tcp::resolver tcp_resolver;
  asio::ip::udp::socket udp;
  asio::ip::udp::endpoint udp_peer;  // what `udp` is connected to
  std::uint64_t udp_gen = 0;         // bumped per socket opened, for its receive callbacks
  bool receiving = false;            // a receive is pending on `udp`
  bool resolve = true;               // look the host up again before the next UDP probe
  asio::ip::tcp::socket tcp;
  std::array<char, 65536> rx{};  // one datagram, or one TCP read
  std::string tcp_in;            // TCP bytes not yet consumed
  // The request in flight.
  std::string request;
  std::string branch;
  std::string call_id;
  std::uint32_t cseq = 0;
  std::chrono::steady_clock::time_point started;
  bool in_flight = false;
  std::uint64_t run = 0;  // bumped per probe, so callbacks of an earlier one do nothing
  Outcome last = Outcome::kNone;
  int last_status = 0;
  bool resent = false;  // the request in flight was retransmitted
};

SipProber::SipProber(asio::io_context& io, std::vector<ProbeTarget> targets,
                     std::chrono::milliseconds interval, EventSink sink, const Clock& clock)
    : io_(io),
      interval_(interval),
      timeout_(std::min<std::chrono::milliseconds>(interval, std::chrono::seconds(2))),
      sink_(std::move(sink)),
      clock_(clock),
      rng_([] {
        std::random_device rd;
        return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
      }()) {
  for (auto& t : targets) {
    auto p = std::make_shared<Probe>(io_);
    p->target = std::move(t);
    probes_.push_back(std::move(p));
  }
}

void SipProber::Start() {
  for (const auto& p : probes_) {
    Log()->info("SIP trunk probe {}: OPTIONS to {}:{} over {} every {} ms", p->target.name,
                p->target.host, p->target.port, ToString(p->target.transport), interval_.count());
    Run(p);
  }
}

void SipProber::Schedule(const ProbePtr& p) {
  p->timer.expires_after(interval_);
  p->timer.async_wait([this, p](const asio::error_code& ec) {
    if (!ec) Run(p);
  });
}

void SipProber::NewRequest(Probe& p, const std::string& local_host, std::uint16_t local_port) {
  // A fresh transaction and dialog identity per probe: nothing of an earlier probe's answer
  // can be taken for this one's.
  p.branch = SipBranch(rng_());
  p.call_id = SipCallId(rng_(), rng_(), local_host);
  const std::string tag = SipTag(rng_());
  SipOptionsRequest r;
  r.target_host = p.target.host;
  r.target_port = static_cast<std::uint16_t>(std::stoi(p.target.port));
  r.transport = p.target.transport;
  r.local_host = local_host;
  r.local_port = local_port;
  r.branch = p.branch;
  r.call_id = p.call_id;
  r.from_tag = tag;
  r.cseq = ++p.cseq;
  r.user_agent = "ccmon-agent/" CCMON_VERSION;
  p.request = BuildSipOptions(r);
}

void SipProber::Run(const ProbePtr& p) {
  p->in_flight = true;
  p->resent = false;
  const std::uint64_t run = ++p->run;
  p->started = std::chrono::steady_clock::now();  // a stopwatch, as in LinkProber::Run
  p->deadline.expires_after(timeout_);
  p->deadline.async_wait([this, p, run](const asio::error_code& ec) {
    if (!ec && p->run == run) Finish(p, 0, "no final answer within the deadline");
  });
  if (p->target.transport == SipTransport::kTcp) {
    RunTcp(p);
  } else {
    RunUdp(p);
  }
}

void SipProber::RunUdp(const ProbePtr& p) {
  if (p->udp.is_open() && !p->resolve) return SendUdp(p, p->udp_peer);
  const std::uint64_t run = p->run;
  p->udp_resolver.async_resolve(
      p->target.host, p->target.port,
      [this, p, run](const asio::error_code& ec,
                     const asio::ip::udp::resolver::results_type& results) {
        if (p->run != run || !p->in_flight) return;
        if (ec || results.empty()) {
          Log()->debug("SIP trunk {}: cannot resolve {}: {}", p->target.name, p->target.host,
                       ec ? ec.message() : "no address");
          return Finish(p, 0, "host not resolved");
        }
        p->resolve = false;
        SendUdp(p, results.begin()->endpoint());
      });
}

void SipProber::SendUdp(const ProbePtr& p, const asio::ip::udp::endpoint& to) {
  asio::error_code ec;
  if (!p->udp.is_open() || to != p->udp_peer) {
    // A new socket for a new address: the kernel then filters answers from anyone else, and
    // reports ICMP port-unreachable as a refused receive.
    p->udp.close(ec);
    p->receiving = false;
    ++p->udp_gen;
    p->udp.open(to.protocol(), ec);
    if (!ec) p->udp.connect(to, ec);
    if (ec) {
      Log()->debug("SIP trunk {}: cannot open a UDP socket to {}: {}", p->target.name,
                   to.address().to_string(), ec.message());
      p->udp.close(ec);
      return Finish(p, 0, "no UDP socket");
    }
    p->udp_peer = to;
  }
  const auto local = p->udp.local_endpoint(ec);
  if (ec) return Finish(p, 0, "no local address");
  NewRequest(*p, local.address().to_string(), local.port());
  if (!p->receiving) ReceiveUdp(p);
  SendUdpRequest(p, std::chrono::milliseconds(500));
}

// Sends the request in flight and arms its retransmission: RFC 3261 Timer E, from T1 = 500 ms
// doubling, so one lost datagram does not read as a dead trunk. The deadline ends it.
void SipProber::SendUdpRequest(const ProbePtr& p, std::chrono::milliseconds next) {
  const std::uint64_t run = p->run;
  p->udp.async_send(
      asio::buffer(p->request), [this, p, run](const asio::error_code& sec, std::size_t) {
        if (sec && p->run == run && p->in_flight) {
          Log()->debug("SIP trunk {}: send failed: {}", p->target.name, sec.message());
          Finish(p, 0, "send failed");
        }
      });
  p->retransmit.expires_after(next);
  p->retransmit.async_wait([this, p, run, next](const asio::error_code& ec) {
    if (ec || p->run != run || !p->in_flight || !p->udp.is_open()) return;
    p->resent = true;
    SendUdpRequest(p, std::min<std::chrono::milliseconds>(next * 2, std::chrono::seconds(4)));
  });
}

void SipProber::ReceiveUdp(const ProbePtr& p) {
  p->receiving = true;
  const std::uint64_t gen = p->udp_gen;
  p->udp.async_receive(
      asio::buffer(p->rx), [this, p, gen](const asio::error_code& ec, std::size_t n) {
        if (gen != p->udp_gen) return;  // a socket since replaced
        if (ec == asio::error::operation_aborted || !p->udp.is_open()) {
          p->receiving = false;
          return;
        }
        if (ec == asio::error::connection_refused) {
          // ICMP port unreachable for our last datagram: nobody listens there now.
          if (p->in_flight) Finish(p, 0, "port unreachable");
        } else if (ec) {
          Log()->debug("SIP trunk {}: receive failed: {}; reopening", p->target.name, ec.message());
          asio::error_code ignored;
          p->udp.close(ignored);
          p->receiving = false;
          p->resolve = true;
          return;
        } else {
          OnDatagram(p, std::string_view(p->rx.data(), n));
        }
        if (p->udp.is_open()) {
          ReceiveUdp(p);
        } else {
          p->receiving = false;
        }
      });
}

void SipProber::OnDatagram(const ProbePtr& p, std::string_view data) {
  SipResponse r;
  const SipParseResult res = ParseSipResponse(data, &r);
  if (res.status != SipParseStatus::kOk) {
    Log()->debug("SIP trunk {}: ignored a {}-byte datagram: {}", p->target.name, data.size(),
                 res.status == SipParseStatus::kIncomplete ? "truncated response" : res.error);
    return;
  }
  if (!p->in_flight || !AnswersSipOptions(r, p->branch, p->call_id, p->cseq)) {
    Log()->debug("SIP trunk {}: ignored a {} answering no probe in flight", p->target.name,
                 r.status);
    return;
  }
  if (r.status < 200) return;  // provisional: wait for the final answer
  Finish(p, r.status, r.reason);
}

void SipProber::RunTcp(const ProbePtr& p) {
  const std::uint64_t run = p->run;
  p->tcp_resolver.async_resolve(
      p->target.host, p->target.port,
      [this, p, run](const asio::error_code& ec,
                     const asio::ip::tcp::resolver::results_type& results) {
        if (p->run != run || !p->in_flight) return;
        if (ec) return Finish(p, 0, "host not resolved");
        asio::async_connect(
            p->tcp, results,
            [this, p, run](const asio::error_code& cec, const asio::ip::tcp::endpoint&) {
              if (p->run != run || !p->in_flight) return;
              if (cec) return Finish(p, 0, "connection refused or unreachable");
              asio::error_code lec;
              const auto local = p->tcp.local_endpoint(lec);
              if (lec) return Finish(p, 0, "no local address");
              NewRequest(*p, local.address().to_string(), local.port());
              p->tcp_in.clear();
              asio::async_write(p->tcp, asio::buffer(p->request),
                                [this, p, run](const asio::error_code& wec, std::size_t) {
                                  if (p->run != run || !p->in_flight) return;
                                  if (wec) return Finish(p, 0, "send failed");
                                  ReadTcp(p, run);
                                });
            });
      });
}

void SipProber::ReadTcp(const ProbePtr& p, std::uint64_t run) {
  p->tcp.async_read_some(asio::buffer(p->rx),
                         [this, p, run](const asio::error_code& ec, std::size_t n) {
                           if (p->run != run || !p->in_flight) return;
                           p->tcp_in.append(p->rx.data(), n);
                           if (ConsumeTcp(p)) return;
                           if (ec) return Finish(p, 0, "connection closed before a final answer");
                           ReadTcp(p, run);
                         });
}

bool SipProber::ConsumeTcp(const ProbePtr& p) {
  while (!p->tcp_in.empty()) {
    SipResponse r;
    const SipParseResult res = ParseSipResponse(p->tcp_in, &r);
    if (res.status == SipParseStatus::kIncomplete) return false;
    if (res.status == SipParseStatus::kInvalid) {
      // A stream cannot be resynchronised after garbage: the trunk gave no usable answer.
      Log()->debug("SIP trunk {}: bad answer on TCP: {}", p->target.name, res.error);
      Finish(p, 0, "malformed answer");
      return true;
    }
    const std::size_t size = r.header_bytes + r.content_length;
    if (p->tcp_in.size() < size) return false;  // the body is still coming
    if (r.status >= 200 && AnswersSipOptions(r, p->branch, p->call_id, p->cseq)) {
      Finish(p, r.status, r.reason);
      return true;
    }
    p->tcp_in.erase(0, size);  // provisional, or not ours
  }
  return false;
}

void SipProber::Finish(const ProbePtr& p, int status, std::string_view reason) {
  if (!p->in_flight) return;
  p->in_flight = false;
  ++p->run;
  p->deadline.cancel();
  p->retransmit.cancel();
  asio::error_code ignored;
  if (p->target.transport == SipTransport::kTcp) {
    p->tcp_resolver.cancel();
    p->tcp.close(ignored);
  } else {
    p->udp_resolver.cancel();
  }
  const double rtt_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - p->started)
          .count();
  const bool answered = status >= 200;
  // No answer may mean the trunk moved (DNS) or the socket broke: look it up again.
  if (!answered) p->resolve = true;
  // An answer after a retransmission may answer either send: no round trip from it.
  p->stats.Record(answered, rtt_ms, !p->resent);
  const LinkFigures f = p->stats.figures();
  LinkSample s;
  s.link = p->target.name;
  s.kind = LinkKind::kSipTrunk;
  s.sip_status = static_cast<std::uint32_t>(status);
  s.up = answered && SipTrunkUp(static_cast<std::uint32_t>(status));
  s.rtt_ms = f.rtt_ms;
  s.jitter_ms = f.jitter_ms;
  s.loss_ratio = f.loss_ratio;
  // One line per change of state, not per probe.
  const Outcome now = OutcomeOf(status);
  if (now != p->last || (now == Outcome::kDown && status != p->last_status)) {
    if (now == Outcome::kSilent) {
      Log()->warn("SIP trunk {} ({}:{}/{}): no answer ({})", p->target.name, p->target.host,
                  p->target.port, ToString(p->target.transport), reason);
    } else if (now == Outcome::kDown) {
      Log()->warn("SIP trunk {}: answers {} {} (down)", p->target.name, status, reason);
    } else {
      Log()->info("SIP trunk {}: answers {} {} in {:.1f} ms (up)", p->target.name, status, reason,
                  rtt_ms);
    }
  }
  p->last = now;
  p->last_status = status;
  sink_(Event{0, clock_.NowMs(), s});
  Schedule(p);
}

}  // namespace ccmon::agent
