// Whether a HOST:PORT address stays on this machine, judged on what HOST resolves to, not on
// how it is spelt: "127.0.0.1", "localhost" and "[::1]" are loopback; "127.evil.example" is
// whatever its DNS says; an empty host or a wildcard (0.0.0.0, ::) listens everywhere.
#pragma once

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

namespace ccmon::net {

inline bool IsLoopbackAddress(const std::string& host_port) {
  const auto colon = host_port.rfind(':');
  std::string host = colon == std::string::npos ? host_port : host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return false;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) return false;
  bool all = true;
  for (const addrinfo* a = res; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
      all = all && (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    } else if (a->ai_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
      const bool v4_loop =
          IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
      all = all && (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) || v4_loop);
    } else {
      all = false;
    }
  }
  freeaddrinfo(res);
  return all;
}

}  // namespace ccmon::net
