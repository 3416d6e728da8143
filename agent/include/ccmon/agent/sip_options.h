// SIP trunk probing, the pure part: the OPTIONS request a probe sends (RFC 3261 section 11)
// and the reading of a response far enough to match it to its request (status line, topmost
// Via branch, Call-ID, CSeq) and to know where it ends. No sockets, clocks or randomness:
// callers supply the identifiers. Stateless and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ccmon::agent {

enum class SipTransport : std::uint8_t { kUdp, kTcp };

constexpr std::string_view ToString(SipTransport t) {
  return t == SipTransport::kTcp ? "tcp" : "udp";
}

// RFC 3261 section 8.1.1.7: every branch this agent creates starts with the magic cookie.
inline constexpr std::string_view kSipBranchCookie = "z9hG4bK";

// What one OPTIONS request carries. Hosts are names or IP literals (IPv6 without brackets;
// they are added where a URI needs them).
struct SipOptionsRequest {
  std::string_view target_host;  // Request-URI and To
  std::uint16_t target_port = 5060;
  SipTransport transport = SipTransport::kUdp;
  std::string_view local_host;  // Via sent-by and Contact: the socket's local address
  std::uint16_t local_port = 0;
  std::string_view branch;   // the whole Via branch, cookie included (SipBranch())
  std::string_view call_id;  // SipCallId()
  std::string_view from_tag;
  std::uint32_t cseq = 1;
  std::string_view user_agent = "ccmon-agent";
};

// The request text, CRLF line ends, Content-Length 0 and no body.
std::string BuildSipOptions(const SipOptionsRequest& r);

// Fresh identifiers from caller-supplied random bits: a branch ("z9hG4bK" + 16 hex digits), a
// Call-ID (32 hex digits @ host) and a From tag (16 hex digits).
std::string SipBranch(std::uint64_t random);
std::string SipCallId(std::uint64_t random_hi, std::uint64_t random_lo, std::string_view host);
std::string SipTag(std::uint64_t random);

// A response head; views into the parsed buffer.
struct SipResponse {
  int status = 0;  // 100..699
  std::string_view reason;
  std::string_view branch;  // branch parameter of the topmost Via ("" when it has none)
  std::string_view call_id;
  std::uint32_t cseq = 0;
  std::string_view cseq_method;
  std::size_t content_length = 0;  // 0 when the header is absent
  // Status line, headers and the empty line that ends them: the body starts here.
  std::size_t header_bytes = 0;
};

enum class SipParseStatus : std::uint8_t {
  kOk,
  kIncomplete,  // the empty line ending the headers is not in the data yet (TCP: read more)
  kInvalid,
};

struct SipParseResult {
  SipParseStatus status = SipParseStatus::kOk;
  const char* error = "";  // why a response is invalid, naming the part at fault
};

// Head of a response larger than this is refused (a probe answer is a few hundred bytes).
inline constexpr std::size_t kMaxSipHeaderBytes = 16384;
// Bodies larger than this are refused (an OPTIONS answer may carry SDP, nothing more).
inline constexpr std::size_t kMaxSipBodyBytes = 65536;

// Parses the head of one SIP response at the start of `data`, which may hold more (its body,
// the next message on a TCP stream). Accepts CRLF or bare LF line ends, header folding,
// compact header names (v, i, l) and any letter case in header names; requires a SIP/2.0
// status line, Via, Call-ID and CSeq. A request, binary garbage or a malformed header is
// kInvalid with the reason.
SipParseResult ParseSipResponse(std::string_view data, SipResponse* out);

// Whether a parsed response answers the OPTIONS request with these identifiers.
bool AnswersSipOptions(const SipResponse& r, std::string_view branch, std::string_view call_id,
                       std::uint32_t cseq);

}  // namespace ccmon::agent
