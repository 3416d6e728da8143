// A minimal HTTP receiver for webhook tests: accepts POSTs on 127.0.0.1 (port 0 unless given),
// prints "listening on PORT", appends each request body as one line to FILE, answers 200.
// usage: webhook_sink FILE [PORT]. Test tool.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: webhook_sink FILE [PORT]\n");
    return 2;
  }
  const int ls = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 0));
  if (::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(ls, 64) != 0) {
    std::perror("webhook_sink: bind/listen");
    return 1;
  }
  socklen_t len = sizeof addr;
  ::getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("listening on %d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  while (true) {
    const int c = ::accept(ls, nullptr, nullptr);
    if (c < 0) continue;
    std::string req;
    char buf[4096];
    std::size_t body_at = std::string::npos, want = 0;
    while (true) {
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      req.append(buf, static_cast<std::size_t>(n));
      if (body_at == std::string::npos && (body_at = req.find("\r\n\r\n")) != std::string::npos) {
        body_at += 4;
        std::string lower = req.substr(0, body_at);
        for (auto& ch : lower) ch = static_cast<char>(std::tolower(ch));
        const auto cl = lower.find("content-length:");
        want = cl == std::string::npos ? 0 : std::strtoul(lower.c_str() + cl + 15, nullptr, 10);
      }
      if (body_at != std::string::npos && req.size() >= body_at + want) break;
    }
    if (body_at != std::string::npos) {
      if (std::FILE* f = std::fopen(argv[1], "a")) {
        std::fprintf(f, "%s\n", req.substr(body_at, want).c_str());
        std::fclose(f);
      }
    }
    const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)!::write(c, ok, sizeof ok - 1);
    ::close(c);
  }
}
