#include "ccmon/agent/sip_options.h"

#include <gtest/gtest.h>

#include <string>

#include "ccmon/model/event.h"

namespace ccmon::agent {
namespace {

SipOptionsRequest Request() {
  SipOptionsRequest r;
  r.target_host = "sbc.carrier.example";
  r.target_port = 5060;
  r.local_host = "10.1.2.3";
  r.local_port = 40123;
  r.branch = "z9hG4bK00000000000000ff";
  r.call_id = "0123456789abcdef0123456789abcdef@10.1.2.3";
  r.from_tag = "00000000deadbeef";
  r.cseq = 7;
  return r;
}

// What a peer answers: the request's Via, From, To (with a tag), Call-ID and CSeq copied back.
std::string Answer(const std::string& status_line, const SipOptionsRequest& r,
                   const std::string& extra = "") {
  return status_line + "\r\nVia: SIP/2.0/UDP " + std::string(r.local_host) + ":" +
         std::to_string(r.local_port) + ";branch=" + std::string(r.branch) +
         ";rport=40123;received=10.1.2.3\r\nFrom: <sip:ccmon@10.1.2.3>;tag=" +
         std::string(r.from_tag) +
         "\r\nTo: <sip:sbc.carrier.example:5060>;tag=as5f\r\nCall-ID: " + std::string(r.call_id) +
         "\r\nCSeq: " + std::to_string(r.cseq) + " OPTIONS\r\n" + extra +
         "Content-Length: 0\r\n\r\n";
}

TEST(SipOptionsTest, RequestCarriesEveryMandatoryHeader) {
  const std::string m = BuildSipOptions(Request());
  EXPECT_EQ(m,
            "OPTIONS sip:sbc.carrier.example:5060 SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 10.1.2.3:40123;branch=z9hG4bK00000000000000ff;rport\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:ccmon@10.1.2.3>;tag=00000000deadbeef\r\n"
            "To: <sip:sbc.carrier.example:5060>\r\n"
            "Call-ID: 0123456789abcdef0123456789abcdef@10.1.2.3\r\n"
            "CSeq: 7 OPTIONS\r\n"
            "Contact: <sip:ccmon@10.1.2.3:40123;transport=udp>\r\n"
            "Accept: application/sdp\r\n"
            "User-Agent: ccmon-agent\r\n"
            "Content-Length: 0\r\n"
            "\r\n");
}

TEST(SipOptionsTest, TcpAndIpv6RequestsBracketHostsAndDropRport) {
  SipOptionsRequest r = Request();
  r.transport = SipTransport::kTcp;
  r.target_host = "2001:db8::1";
  r.local_host = "::1";
  const std::string m = BuildSipOptions(r);
  EXPECT_EQ(m.rfind("OPTIONS sip:[2001:db8::1]:5060 SIP/2.0\r\n", 0), 0u) << m;
  EXPECT_NE(m.find("Via: SIP/2.0/TCP [::1]:40123;branch=z9hG4bK00000000000000ff\r\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("Contact: <sip:ccmon@[::1]:40123;transport=tcp>\r\n"), std::string::npos);
}

TEST(SipOptionsTest, IdentifiersAreFreshPerRandomInputAndCarryTheCookie) {
  EXPECT_EQ(SipBranch(0xff), "z9hG4bK00000000000000ff");
  EXPECT_NE(SipBranch(1), SipBranch(2));
  EXPECT_EQ(SipCallId(1, 2, "h"), "00000000000000010000000000000002@h");
  EXPECT_EQ(SipCallId(1, 2, ""), "00000000000000010000000000000002");
  EXPECT_EQ(SipTag(0xabc), "0000000000000abc");
}

TEST(SipOptionsTest, ParsesAndMatchesTheAnswerToItsRequest) {
  const SipOptionsRequest r = Request();
  const std::string a = Answer("SIP/2.0 200 OK", r);
  SipResponse resp;
  const SipParseResult res = ParseSipResponse(a, &resp);
  ASSERT_EQ(res.status, SipParseStatus::kOk) << res.error;
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.reason, "OK");
  EXPECT_EQ(resp.branch, r.branch);
  EXPECT_EQ(resp.call_id, r.call_id);
  EXPECT_EQ(resp.cseq, 7u);
  EXPECT_EQ(resp.cseq_method, "OPTIONS");
  EXPECT_EQ(resp.content_length, 0u);
  EXPECT_EQ(resp.header_bytes, a.size());
  EXPECT_TRUE(AnswersSipOptions(resp, r.branch, r.call_id, r.cseq));
  // Another probe's answer (a late one on the same UDP socket) does not match.
  EXPECT_FALSE(AnswersSipOptions(resp, "z9hG4bK0000000000000100", r.call_id, r.cseq));
  EXPECT_FALSE(AnswersSipOptions(resp, r.branch, "other@10.1.2.3", r.cseq));
  EXPECT_FALSE(AnswersSipOptions(resp, r.branch, r.call_id, 8));
  EXPECT_FALSE(AnswersSipOptions(resp, "", r.call_id, r.cseq));
}

TEST(SipOptionsTest, AnswerToAnotherMethodDoesNotMatch) {
  SipOptionsRequest r = Request();
  std::string a = Answer("SIP/2.0 200 OK", r);
  a.replace(a.find("7 OPTIONS"), 9, "7 INVITE");
  SipResponse resp;
  ASSERT_EQ(ParseSipResponse(a, &resp).status, SipParseStatus::kOk);
  EXPECT_FALSE(AnswersSipOptions(resp, r.branch, r.call_id, r.cseq));
}

TEST(SipOptionsTest, StatusClassesDecideUp) {
  EXPECT_TRUE(SipTrunkUp(200));
  EXPECT_TRUE(SipTrunkUp(302));
  EXPECT_TRUE(SipTrunkUp(404));  // answers, refuses OPTIONS: up
  EXPECT_TRUE(SipTrunkUp(401));  // a challenge: the PBX's calls would be challenged too
  EXPECT_TRUE(SipTrunkUp(499));
  EXPECT_FALSE(SipTrunkUp(403));  // our address refused: so are the site's calls
  EXPECT_FALSE(SipTrunkUp(408));  // the proxy got no answer behind it
  EXPECT_FALSE(SipTrunkUp(480));
  EXPECT_FALSE(SipTrunkUp(503));
  EXPECT_FALSE(SipTrunkUp(603));
  EXPECT_FALSE(SipTrunkUp(100));  // provisional: not an answer
  EXPECT_FALSE(SipTrunkUp(0));
}

TEST(SipOptionsTest, AcceptsCompactNamesFoldingBareLfAndAnyCase) {
  const std::string a =
      "SIP/2.0 503 Service Unavailable\n"
      "v: SIP/2.0/UDP 10.1.2.3:40123\n"
      "  ;branch=z9hG4bKabc ;rport=1\n"
      "VIA: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKsecond\n"
      "i: id-1@x\n"
      "cseq: 3\n"
      "\tOPTIONS\n"
      "l: 5\n"
      "Retry-After: 30\n"
      "\n"
      "hello";
  SipResponse r;
  const SipParseResult res = ParseSipResponse(a, &r);
  ASSERT_EQ(res.status, SipParseStatus::kOk) << res.error;
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.reason, "Service Unavailable");
  EXPECT_EQ(r.branch, "z9hG4bKabc");  // the topmost Via only
  EXPECT_EQ(r.call_id, "id-1@x");
  EXPECT_EQ(r.cseq, 3u);
  EXPECT_EQ(r.cseq_method, "OPTIONS");
  EXPECT_EQ(r.content_length, 5u);
  EXPECT_EQ(a.substr(r.header_bytes), "hello");
}

TEST(SipOptionsTest, TheTopmostViaMayHoldSeveralCommaSeparatedValues) {
  const std::string a =
      "SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/UDP a;x=\"1,2\";branch=z9hG4bKfirst, SIP/2.0/UDP b;branch=z9hG4bKnext\r\n"
      "Call-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n";
  SipResponse r;
  ASSERT_EQ(ParseSipResponse(a, &r).status, SipParseStatus::kOk);
  EXPECT_EQ(r.branch, "z9hG4bKfirst");
}

TEST(SipOptionsTest, AnIncompleteHeadAsksForMore) {
  const std::string a = Answer("SIP/2.0 100 Trying", Request());
  SipResponse r;
  for (std::size_t n :
       {std::size_t{0}, std::size_t{3}, std::size_t{8}, a.size() / 2, a.size() - 1}) {
    EXPECT_EQ(ParseSipResponse(std::string_view(a).substr(0, n), &r).status,
              SipParseStatus::kIncomplete)
        << n;
  }
  // A provisional response followed by the final one on a TCP stream: one at a time.
  const std::string both = a + Answer("SIP/2.0 200 OK", Request());
  ASSERT_EQ(ParseSipResponse(both, &r).status, SipParseStatus::kOk);
  EXPECT_EQ(r.status, 100);
  ASSERT_EQ(ParseSipResponse(std::string_view(both).substr(r.header_bytes), &r).status,
            SipParseStatus::kOk);
  EXPECT_EQ(r.status, 200);
}

TEST(SipOptionsTest, RefusesGarbageWithTheReason) {
  const SipOptionsRequest q = Request();
  const std::string ok = Answer("SIP/2.0 200 OK", q);
  struct Case {
    std::string input;
    std::string error;
  };
  auto without = [&](const std::string& header) {
    std::string s = ok;
    const auto at = s.find(header);
    return s.erase(at, s.find("\r\n", at) + 2 - at);
  };
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = ok;
    return s.replace(s.find(from), from.size(), to);
  };
  const Case cases[] = {
      {"HTTP/1.1 200 OK\r\n\r\n", "not a SIP/2.0 response"},
      {BuildSipOptions(q), "a SIP request, not a response"},
      {std::string("\x16\x03\x01\x02\x00", 5), "not a SIP/2.0 response"},
      {replaced("SIP/2.0 200 OK", "SIP/2.0 2x0 OK"), "malformed status line: the status code"},
      {replaced("SIP/2.0 200 OK", "SIP/2.0 099 Low"), "malformed status line: the status code"},
      {replaced("SIP/2.0 200 OK", "SIP/2.0 700 High"), "malformed status line: the status code"},
      {replaced("SIP/2.0 200 OK", "SIP/2.0 2000 OK"), "malformed status line: expected a space"},
      {without("Via:"), "no Via header"},
      {without("Call-ID:"), "no Call-ID header"},
      {without("CSeq:"), "no CSeq header"},
      {replaced("Via: SIP/2.0/UDP", "Via: SIP/3.0/UDP"), "malformed Via header"},
      {replaced("Via: SIP/2.0/UDP 10.1.2.3:40123", "Via: SIP/2.0/UDP"), "malformed Via header"},
      {replaced("CSeq: 7 OPTIONS", "CSeq: OPTIONS 7"), "malformed CSeq header"},
      {replaced("CSeq: 7 OPTIONS", "CSeq: 4294967296 OPTIONS"), "malformed CSeq header"},
      {replaced("CSeq: 7 OPTIONS", "CSeq: 7 OPT@ONS"), "malformed CSeq header: bad method"},
      {replaced("Content-Length: 0", "Content-Length: -1"), "malformed Content-Length"},
      {replaced("Content-Length: 0", "Content-Length: 999999"), "Content-Length above 65536"},
      {replaced("Content-Length: 0", "Content-Length: 0\r\nl: 0"),
       "more than one Content-Length header"},
      {replaced("CSeq: 7 OPTIONS", "CSeq: 7 OPTIONS\r\nCSeq: 8 OPTIONS"),
       "more than one CSeq header"},
      {replaced("Call-ID: ", "Call-ID: a b"), "malformed Call-ID header"},
      {replaced("Content-Length: 0", "Content-Length: 0\r\nX-Odd: ;;,,\"\"\\"), ""},
      {replaced("CSeq: 7", "CSeq 7"), "header line without a colon"},
      {replaced("\r\nFrom:", "\r\nFr om:"), "malformed header name"},
      {replaced("\r\nFrom:", "\r\n From:"), ""},  // a fold of the Via: still valid
      {std::string("SIP/2.0 200 OK\r\n\tx\r\n\r\n"), "folded line without a header"},
      {replaced("OK", std::string("O\0K", 3)), "control character"},
      {"SIP/2.0 200 OK\r\n" + std::string(kMaxSipHeaderBytes, 'a'), "response head above 16384"},
  };
  for (const Case& c : cases) {
    SipResponse r;
    const SipParseResult res = ParseSipResponse(c.input, &r);
    if (c.error.empty()) {
      EXPECT_EQ(res.status, SipParseStatus::kOk) << c.input << ": " << res.error;
      continue;
    }
    EXPECT_EQ(res.status, SipParseStatus::kInvalid) << c.input;
    EXPECT_EQ(std::string(res.error).rfind(c.error, 0), 0u)
        << "input: " << c.input << "\nerror: " << res.error << "\nexpected: " << c.error;
  }
}

}  // namespace
}  // namespace ccmon::agent
