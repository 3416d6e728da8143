#include "ccmon/agent/sip_options.h"

#include <cstdio>

namespace ccmon::agent {

namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Linear white space, including the CRLF of a folded header line.
bool IsLws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsLws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsLws(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 3261 25.1 token characters.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c)) return true;
  switch (c) {
    case '-':
    case '.':
    case '!':
    case '%':
    case '*':
    case '_':
    case '+':
    case '`':
    case '\'':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// A decimal number of at most `max`; false for anything else (signs, spaces, overflow).
bool ParseNumber(std::string_view s, std::uint64_t max, std::uint64_t* out) {
  if (s.empty() || s.size() > 10) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

std::string UriHost(std::string_view host) {
  if (host.find(':') != std::string_view::npos) return "[" + std::string(host) + "]";
  return std::string(host);
}

std::string Hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return std::string(buf, 16);
}

// The first via-parm of a Via value (they may be comma-separated), honouring quoted strings.
std::string_view FirstViaParm(std::string_view v) {
  bool quoted = false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (quoted && c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      return v.substr(0, i);
    }
  }
  return v;
}

// Reads the topmost Via's branch; false when the Via is not "SIP/2.0/<transport> <sent-by>".
bool ParseVia(std::string_view value, std::string_view* branch) {
  std::string_view v = Trim(FirstViaParm(value));
  // sent-protocol: SIP / 2.0 / transport, with optional LWS around the slashes.
  std::string_view parts[3];
  for (int i = 0; i < 3; ++i) {
    v = Trim(v);
    std::size_t n = 0;
    while (n < v.size() && IsTokenChar(v[n])) ++n;
    parts[i] = v.substr(0, n);
    v.remove_prefix(n);
    if (i < 2) {
      v = Trim(v);
      if (v.empty() || v.front() != '/') return false;
      v.remove_prefix(1);
    }
  }
  if (!EqualsNoCase(parts[0], "SIP") || parts[1] != "2.0" || parts[2].empty()) return false;
  if (v.empty() || !IsLws(v.front())) return false;
  v = Trim(v);
  const std::size_t semi = v.find(';');
  if (Trim(v.substr(0, semi)).empty()) return false;  // no sent-by
  *branch = {};
  while (true) {
    const std::size_t at = v.find(';');
    if (at == std::string_view::npos) break;
    v.remove_prefix(at + 1);
    const std::string_view param = v.substr(0, v.find(';'));
    const std::size_t eq = param.find('=');
    if (EqualsNoCase(Trim(param.substr(0, eq)), "branch") && eq != std::string_view::npos &&
        branch->empty()) {
      *branch = Trim(param.substr(eq + 1));
    }
  }
  return true;
}

SipParseResult Invalid(const char* why) { return {SipParseStatus::kInvalid, why}; }

// Applies one header (name, value with folds) to *out.
SipParseResult Header(std::string_view name, std::string_view value, SipResponse* out,
                      bool* have_via, bool* have_cseq, bool* have_length) {
  if (EqualsNoCase(name, "Via") || EqualsNoCase(name, "v")) {
    if (*have_via) return {};  // only the topmost Via matters
    *have_via = true;
    if (!ParseVia(value, &out->branch)) {
      return Invalid("malformed Via header: expected 'SIP/2.0/<transport> <host>;branch=...'");
    }
  } else if (EqualsNoCase(name, "Call-ID") || EqualsNoCase(name, "i")) {
    if (!out->call_id.empty()) return Invalid("more than one Call-ID header");
    out->call_id = Trim(value);
    if (out->call_id.empty()) return Invalid("empty Call-ID header");
    for (char c : out->call_id) {
      if (IsLws(c)) return Invalid("malformed Call-ID header: white space inside");
    }
  } else if (EqualsNoCase(name, "CSeq")) {
    if (*have_cseq) return Invalid("more than one CSeq header");
    *have_cseq = true;
    const std::string_view v = Trim(value);
    std::size_t n = 0;
    while (n < v.size() && IsDigit(v[n])) ++n;
    std::uint64_t seq = 0;
    if (n == 0 || n == v.size() || !IsLws(v[n]) || !ParseNumber(v.substr(0, n), 0x7fffffff, &seq)) {
      return Invalid("malformed CSeq header: expected '<number below 2^31> <method>'");
    }
    out->cseq = static_cast<std::uint32_t>(seq);
    out->cseq_method = Trim(v.substr(n));
    if (!IsToken(out->cseq_method)) return Invalid("malformed CSeq header: bad method");
  } else if (EqualsNoCase(name, "Content-Length") || EqualsNoCase(name, "l")) {
    if (*have_length) return Invalid("more than one Content-Length header");
    *have_length = true;
    std::uint64_t len = 0;
    if (!ParseNumber(Trim(value), 0xffffffff, &len)) {
      return Invalid("malformed Content-Length header: expected a number");
    }
    if (len > kMaxSipBodyBytes) return Invalid("Content-Length above 65536 bytes");
    out->content_length = static_cast<std::size_t>(len);
  }
  return {};
}

}  // namespace

std::string BuildSipOptions(const SipOptionsRequest& r) {
  const std::string target = UriHost(r.target_host) + ":" + std::to_string(r.target_port);
  const std::string local = UriHost(r.local_host);
  const std::string local_port = std::to_string(r.local_port);
  const bool udp = r.transport == SipTransport::kUdp;
  std::string m;
  m.reserve(512);
  m.append("OPTIONS sip:").append(target).append(" SIP/2.0\r\n");
  // rport (RFC 3581): answer to the address and port the request came from, through NAT too.
  m.append("Via: SIP/2.0/").append(udp ? "UDP " : "TCP ").append(local).append(":");
  m.append(local_port).append(";branch=").append(r.branch).append(udp ? ";rport\r\n" : "\r\n");
  m.append("Max-Forwards: 70\r\n");
  m.append("From: <sip:ccmon@").append(local).append(">;tag=").append(r.from_tag).append("\r\n");
  m.append("To: <sip:").append(target).append(">\r\n");
  m.append("Call-ID: ").append(r.call_id).append("\r\n");
  m.append("CSeq: ").append(std::to_string(r.cseq)).append(" OPTIONS\r\n");
  m.append("Contact: <sip:ccmon@").append(local).append(":").append(local_port);
  m.append(";transport=").append(ToString(r.transport)).append(">\r\n");
  m.append("Accept: application/sdp\r\n");
  m.append("User-Agent: ").append(r.user_agent).append("\r\n");
  m.append("Content-Length: 0\r\n\r\n");
  return m;
}

std::string SipBranch(std::uint64_t random) { return std::string(kSipBranchCookie) + Hex(random); }

std::string SipCallId(std::uint64_t random_hi, std::uint64_t random_lo, std::string_view host) {
  std::string id = Hex(random_hi) + Hex(random_lo);
  if (!host.empty()) id.append("@").append(host);
  return id;
}

std::string SipTag(std::uint64_t random) { return Hex(random); }

SipParseResult ParseSipResponse(std::string_view data, SipResponse* out) {
  *out = SipResponse{};
  // Refuse what cannot become a response early, so a TCP peer talking something else is not
  // waited on until it has sent a whole head's worth of bytes.
  constexpr std::string_view kVersion = "SIP/2.0 ";
  const std::size_t prefix = data.size() < kVersion.size() ? data.size() : kVersion.size();
  if (!EqualsNoCase(data.substr(0, prefix), kVersion.substr(0, prefix))) {
    const std::size_t sp = data.find(' ');
    if (sp != std::string_view::npos && sp > 0 && IsToken(data.substr(0, sp)) &&
        EqualsNoCase(data.substr(sp + 1, 4), "sip:")) {
      return Invalid("a SIP request, not a response");
    }
    return Invalid("not a SIP/2.0 response: the status line must start with 'SIP/2.0 '");
  }

  // Lines up to the empty one; the last line's content may be folded over several.
  std::size_t pos = 0;
  std::size_t line_no = 0;
  std::string_view name, value;
  const char* value_begin = nullptr;
  bool have_via = false, have_cseq = false, have_length = false;
  auto flush = [&]() -> SipParseResult {
    if (value_begin == nullptr) return {};
    value_begin = nullptr;
    return Header(name, value, out, &have_via, &have_cseq, &have_length);
  };
  while (true) {
    const std::size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos || nl >= kMaxSipHeaderBytes) {
      if (data.size() >= kMaxSipHeaderBytes) return Invalid("response head above 16384 bytes");
      return {SipParseStatus::kIncomplete, ""};
    }
    std::string_view line = data.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    for (char c : line) {
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
        return Invalid("control character in the response head");
      }
    }
    const std::size_t begin = pos;
    pos = nl + 1;
    if (line_no++ == 0) {
      // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
      const std::string_view code = line.substr(kVersion.size(), 3);
      std::uint64_t status = 0;
      if (code.size() != 3 || !ParseNumber(code, 699, &status) || status < 100) {
        return Invalid("malformed status line: the status code must be 3 digits within 100-699");
      }
      const std::string_view rest = line.substr(kVersion.size() + 3);
      if (!rest.empty() && rest.front() != ' ') {
        return Invalid("malformed status line: expected a space after the status code");
      }
      out->status = static_cast<int>(status);
      out->reason = Trim(rest);
      continue;
    }
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') {
      if (value_begin == nullptr) return Invalid("folded line without a header before it");
      value = std::string_view(
          value_begin, static_cast<std::size_t>(data.data() + begin + line.size() - value_begin));
      continue;
    }
    if (auto r = flush(); r.status != SipParseStatus::kOk) return r;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Invalid("header line without a colon");
    std::string_view n = line.substr(0, colon);
    while (!n.empty() && (n.back() == ' ' || n.back() == '\t')) n.remove_suffix(1);
    if (!IsToken(n)) return Invalid("malformed header name");
    name = n;
    value = line.substr(colon + 1);
    value_begin = value.data();
  }
  if (auto r = flush(); r.status != SipParseStatus::kOk) return r;
  if (!have_via) return Invalid("no Via header");
  if (out->call_id.empty()) return Invalid("no Call-ID header");
  if (!have_cseq) return Invalid("no CSeq header");
  out->header_bytes = pos;
  return {};
}

bool AnswersSipOptions(const SipResponse& r, std::string_view branch, std::string_view call_id,
                       std::uint32_t cseq) {
  // RFC 3261 17.1.3 matches a response to its client transaction by the top Via's branch and
  // the CSeq method; Call-ID and CSeq number guard against a peer that echoes branches.
  return !branch.empty() && r.branch == branch && r.cseq_method == "OPTIONS" && r.cseq == cseq &&
         r.call_id == call_id;
}

}  // namespace ccmon::agent
