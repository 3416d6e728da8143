// Fuzzes the agent's SIP response parser (trunk probes read whatever a UDP peer or TCP stream
// sends). Checks that an accepted head lies inside the input, parses the same on its own, and
// that a response built from what was parsed matches the request it names.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ccmon/agent/sip_options.h"

namespace {

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using ccmon::agent::SipParseStatus;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  ccmon::agent::SipResponse r;
  const ccmon::agent::SipParseResult res = ccmon::agent::ParseSipResponse(in, &r);
  if (res.status == SipParseStatus::kInvalid) {
    if (res.error == nullptr || *res.error == '\0') __builtin_trap();  // always a reason
    return 0;
  }
  if (res.status == SipParseStatus::kIncomplete) {
    if (size >= ccmon::agent::kMaxSipHeaderBytes) __builtin_trap();  // bounded wait for more
    return 0;
  }
  if (r.header_bytes == 0 || r.header_bytes > size || r.status < 100 || r.status > 699 ||
      r.content_length > ccmon::agent::kMaxSipBodyBytes || r.call_id.empty()) {
    __builtin_trap();
  }
  for (std::string_view v : {r.reason, r.branch, r.call_id, r.cseq_method}) {
    if (!Inside(v, in.substr(0, r.header_bytes))) __builtin_trap();
  }
  // The head alone parses to the same response (what follows it is not part of it).
  const std::string head(in.substr(0, r.header_bytes));
  ccmon::agent::SipResponse again;
  if (ccmon::agent::ParseSipResponse(head, &again).status != SipParseStatus::kOk ||
      again.status != r.status || again.branch != r.branch || again.call_id != r.call_id ||
      again.cseq != r.cseq || again.cseq_method != r.cseq_method ||
      again.content_length != r.content_length || again.header_bytes != r.header_bytes) {
    __builtin_trap();
  }
  const bool options = r.cseq_method == "OPTIONS" && !r.branch.empty();
  if (ccmon::agent::AnswersSipOptions(r, r.branch, r.call_id, r.cseq) != options) {
    __builtin_trap();
  }
  return 0;
}
