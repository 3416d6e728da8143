// A link the agent probes (a WAN path timed by TCP connect, or a SIP trunk asked with
// OPTIONS), as the probers and the agent's options both name it.
#pragma once

#include <absl/status/statusor.h>

#include <string>
#include <string_view>

#include "ccmon/agent/sip_options.h"
#include "ccmon/model/event.h"

namespace ccmon::agent {

struct ProbeTarget {
  std::string name;
  std::string host;
  std::string port;
  // kNetwork: the probe times a TCP connect; kSipTrunk: it sends SIP OPTIONS over `transport`.
  LinkKind kind = LinkKind::kNetwork;
  SipTransport transport = SipTransport::kUdp;
};

// Parses one probe as given to --probe or in the config's `probes:` list:
//   NAME=HOST:PORT                          a network link, timed by TCP connect
//   sip:NAME=HOST[:PORT][;transport=udp|tcp]  a SIP trunk, probed with OPTIONS (5060, UDP)
// HOST may be a name, an IPv4 literal or an IPv6 literal in brackets. The error says what is
// wrong and echoes the spec.
absl::StatusOr<ProbeTarget> ParseProbeSpec(std::string_view spec);

}  // namespace ccmon::agent
