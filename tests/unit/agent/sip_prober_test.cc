// SipProber against a scripted SIP peer on loopback (port 0): what it reports for each kind of
// answer, over UDP and TCP, that what does not answer the probe in flight is ignored, and
// that each sample is stamped by the injected clock.
#include "sources/sip_prober.h"

#include <gtest/gtest.h>

#include <array>
#include <asio.hpp>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace ccmon::agent {
namespace {

struct Seen {
  bool up = false;
  std::uint32_t status = 0;
  double rtt_ms = 0;
  double loss_ratio = 0;
  LinkKind kind = LinkKind::kNetwork;
  std::string link;
};

// The answer a peer gives to `request`: its Via, From, To, Call-ID and CSeq copied back.
std::string AnswerTo(const std::string& request, const std::string& status_line,
                     const std::string& body = "") {
  std::istringstream in(request);
  std::string line, out = status_line + "\r\n";
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    for (const char* h : {"Via:", "From:", "To:", "Call-ID:", "CSeq:"}) {
      if (line.rfind(h, 0) == 0) out += line + "\r\n";
    }
  }
  return out + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  return at == std::string::npos ? s : s.replace(at, from.size(), to);
}

class SipProberTest : public ::testing::Test {
 protected:
  // Runs the prober until it has reported `n` samples (or 10 s have passed).
  std::vector<Seen> Probe(const ProbeTarget& target, std::size_t n,
                          std::chrono::milliseconds interval = std::chrono::milliseconds(200)) {
    std::vector<Seen> seen;
    SipProber prober(
        io_, {target}, interval,
        [&](const Event& e) {
          EXPECT_EQ(e.time_ms, kStampMs);  // the injected clock, not the system's
          const auto& l = std::get<LinkSample>(e.body);
          seen.push_back({l.up, l.sip_status, l.rtt_ms, l.loss_ratio, l.kind, std::string(l.link)});
          if (seen.size() == n) io_.stop();
        },
        clock_);
    asio::steady_timer guard(io_);
    guard.expires_after(std::chrono::seconds(10));
    guard.async_wait([this](const asio::error_code& ec) {
      if (!ec) io_.stop();
    });
    prober.Start();
    io_.run();
    return seen;
  }

  ProbeTarget Target(std::uint16_t port, SipTransport transport) {
    ProbeTarget t;
    t.name = "carrier";
    t.host = "127.0.0.1";
    t.port = std::to_string(port);
    t.kind = LinkKind::kSipTrunk;
    t.transport = transport;
    return t;
  }

  static constexpr std::int64_t kStampMs = 1'793'577'600'000;
  FakeClock clock_{kStampMs};
  asio::io_context io_;
};

// A UDP peer that answers the i-th request with what script[i] sends (nothing for {}).
class UdpPeer {
 public:
  using Script = std::vector<std::function<std::vector<std::string>(const std::string&)>>;
  UdpPeer(asio::io_context& io, Script script)
      : socket_(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        script_(std::move(script)) {
    Receive();
  }
  std::uint16_t port() const { return socket_.local_endpoint().port(); }

 private:
  void Receive() {
    socket_.async_receive_from(asio::buffer(buf_), from_,
                               [this](asio::error_code ec, std::size_t n) {
                                 if (ec) return;
                                 const std::string request(buf_.data(), n);
                                 if (i_ < script_.size()) {
                                   for (const std::string& d : script_[i_](request))
                                     socket_.send_to(asio::buffer(d), from_);
                                 }
                                 ++i_;
                                 Receive();
                               });
  }
  asio::ip::udp::socket socket_;
  asio::ip::udp::endpoint from_;
  std::array<char, 65536> buf_{};
  Script script_;
  std::size_t i_ = 0;
};

TEST_F(SipProberTest, UdpReportsStatusAndIgnoresWhatDoesNotAnswerTheProbe) {
  std::string first;
  UdpPeer peer(io_, {
                        // 1: garbage, another transaction's answer, a provisional, then 503.
                        [&](const std::string& r) -> std::vector<std::string> {
                          first = r;
                          return {"\x16\x03garbage",
                                  AnswerTo(Replace(r, "branch=z9hG4bK", "branch=z9hG4bKx"),
                                           "SIP/2.0 200 OK"),
                                  AnswerTo(r, "SIP/2.0 100 Trying"),
                                  AnswerTo(r, "SIP/2.0 503 Service Unavailable")};
                        },
                        // 2: 404 (refuses OPTIONS, but answers: up).
                        [](const std::string& r) -> std::vector<std::string> {
                          return {AnswerTo(r, "SIP/2.0 404 Not Found")};
                        },
                        // 3: silence.
                        [](const std::string&) -> std::vector<std::string> { return {}; },
                        // 4: the first probe's answer again (late), then nothing for this one.
                        [&](const std::string&) -> std::vector<std::string> {
                          return {AnswerTo(first, "SIP/2.0 200 OK")};
                        },
                        // 5: 200.
                        [](const std::string& r) -> std::vector<std::string> {
                          return {AnswerTo(r, "SIP/2.0 200 OK")};
                        },
                    });
  const auto seen = Probe(Target(peer.port(), SipTransport::kUdp), 5);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0].link, "carrier");
  EXPECT_EQ(seen[0].kind, LinkKind::kSipTrunk);
  EXPECT_EQ(seen[0].status, 503u);
  EXPECT_FALSE(seen[0].up);
  EXPECT_GT(seen[0].rtt_ms, 0);  // a 503 is an answer: it has a round trip and no loss
  EXPECT_EQ(seen[0].loss_ratio, 0);
  EXPECT_EQ(seen[1].status, 404u);
  EXPECT_TRUE(seen[1].up);
  EXPECT_EQ(seen[2].status, 0u);  // no answer within the deadline
  EXPECT_FALSE(seen[2].up);
  EXPECT_DOUBLE_EQ(seen[2].loss_ratio, 1.0 / 3);
  EXPECT_EQ(seen[3].status, 0u) << "a late answer to an earlier probe was taken for this one";
  EXPECT_EQ(seen[4].status, 200u);
  EXPECT_TRUE(seen[4].up);
  // Every probe is a new transaction and dialog.
  EXPECT_NE(first.find("OPTIONS sip:127.0.0.1:"), std::string::npos) << first;
  EXPECT_NE(first.find("Max-Forwards: 70\r\n"), std::string::npos) << first;
}

// A lost datagram is not a dead trunk: the request goes again after 500 ms (RFC 3261 Timer E)
// within the probe's deadline (here 1.5 s), unchanged, and its answer counts as up.
TEST_F(SipProberTest, UdpRetransmitsARequestWithNoAnswer) {
  std::vector<std::string> requests;
  UdpPeer peer(io_, {
                        [&](const std::string& r) -> std::vector<std::string> {
                          requests.push_back(r);
                          return {};  // the first datagram "lost"
                        },
                        [&](const std::string& r) -> std::vector<std::string> {
                          requests.push_back(r);
                          return {AnswerTo(r, "SIP/2.0 200 OK")};
                        },
                    });
  const auto seen =
      Probe(Target(peer.port(), SipTransport::kUdp), 1, std::chrono::milliseconds(1500));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].status, 200u);
  EXPECT_TRUE(seen[0].up);
  // Which send does the answer answer? Neither round trip is known (Karn's rule): no
  // sample, so one lost datagram does not read as a 500 ms round trip and a jitter jump.
  EXPECT_EQ(seen[0].rtt_ms, 0);
  EXPECT_EQ(seen[0].loss_ratio, 0);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0], requests[1]) << "a retransmission is the same request";
}

TEST_F(SipProberTest, UdpPortUnreachableIsNoAnswerAtOnce) {
  std::uint16_t port = 0;
  {
    asio::ip::udp::socket closed(io_,
                                 asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = closed.local_endpoint().port();
  }
  const auto seen = Probe(Target(port, SipTransport::kUdp), 3);
  ASSERT_EQ(seen.size(), 3u);
  for (const Seen& s : seen) {
    EXPECT_EQ(s.status, 0u);
    EXPECT_FALSE(s.up);
  }
  EXPECT_DOUBLE_EQ(seen[2].loss_ratio, 1);
}

// A TCP peer: reads a request's head, answers 100 Trying and then the final answer with a body,
// in pieces.
TEST_F(SipProberTest, TcpSkipsProvisionalAnswersAndReadsTheBody) {
  asio::ip::tcp::acceptor acceptor(io_,
                                   asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::vector<std::string> finals = {"SIP/2.0 200 OK", "SIP/2.0 503 Service Unavailable"};
  std::size_t conn = 0;
  std::function<void()> accept = [&] {
    auto sock = std::make_shared<asio::ip::tcp::socket>(io_);
    acceptor.async_accept(*sock, [&, sock](asio::error_code ec) {
      if (ec) return;
      auto in = std::make_shared<asio::streambuf>();
      asio::async_read_until(
          *sock, *in, "\r\n\r\n", [&, sock, in](asio::error_code rec, std::size_t) {
            if (rec) return;
            const std::string request(asio::buffers_begin(in->data()),
                                      asio::buffers_end(in->data()));
            const std::string reply = AnswerTo(request, "SIP/2.0 100 Trying", "x") +
                                      AnswerTo(request, finals[conn++ % finals.size()], "v=0\r\n");
            // In two writes split mid-head, so the prober must read on.
            asio::write(*sock, asio::buffer(reply.data(), reply.size() / 2));
            asio::write(*sock, asio::buffer(reply.data() + reply.size() / 2,
                                            reply.size() - reply.size() / 2));
          });
      accept();
    });
  };
  accept();
  const auto seen = Probe(Target(acceptor.local_endpoint().port(), SipTransport::kTcp), 2);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].status, 200u);
  EXPECT_TRUE(seen[0].up);
  EXPECT_EQ(seen[1].status, 503u);
  EXPECT_FALSE(seen[1].up);
}

TEST_F(SipProberTest, TcpConnectionRefusedIsNoAnswer) {
  std::uint16_t port = 0;
  {
    asio::ip::tcp::acceptor closed(io_,
                                   asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = closed.local_endpoint().port();
  }
  const auto seen = Probe(Target(port, SipTransport::kTcp), 1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].status, 0u);
  EXPECT_FALSE(seen[0].up);
}

}  // namespace
}  // namespace ccmon::agent
