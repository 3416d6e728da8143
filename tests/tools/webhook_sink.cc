// A minimal receiver for notification tests, on 127.0.0.1 (port 0 unless given); prints
// "listening on PORT" and appends what it receives to FILE.
//   webhook_sink FILE [PORT]          HTTP: each request body as one line; answers 200.
//   webhook_sink --paths FILE [PORT]  HTTP: each request as "PATH<TAB>BODY" on one line.
//   webhook_sink --smtp FILE [PORT]   SMTP: each mail as "RCPT<TAB>SUBJECT<TAB>BODY" on one line,
//                                     the body's quoted-printable undone and its line breaks
//                                     written as "\n".
// Test tool: one connection at a time, no TLS, no authentication.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

void Append(const char* file, const std::string& line) {
  if (std::FILE* f = std::fopen(file, "a")) {
    std::fprintf(f, "%s\n", line.c_str());
    std::fclose(f);
  }
}

void Send(int c, std::string_view s) { (void)!::write(c, s.data(), s.size()); }

void ServeHttp(int c, const char* file, bool paths) {
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
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      const auto cl = lower.find("content-length:");
      want = cl == std::string::npos ? 0 : std::strtoul(lower.c_str() + cl + 15, nullptr, 10);
    }
    if (body_at != std::string::npos && req.size() >= body_at + want) break;
  }
  if (body_at != std::string::npos) {
    std::string line;
    if (paths) {
      const auto sp1 = req.find(' ');
      const auto sp2 = sp1 == std::string::npos ? sp1 : req.find(' ', sp1 + 1);
      line = sp2 == std::string::npos ? "?" : req.substr(sp1 + 1, sp2 - sp1 - 1);
      line += '\t';
    }
    line += req.substr(body_at, want);
    Append(file, line);
  }
  Send(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

// Undoes quoted-printable (soft breaks and =XX) and writes line breaks as "\n".
std::string Unquote(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '=' && in.substr(i + 1, 2) == "\r\n") {
      i += 2;
    } else if (in[i] == '=' && i + 2 < in.size() &&
               std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (in[i] == '\r') {
    } else if (in[i] == '\n') {
      out += "\\n";
    } else {
      out += in[i];
    }
  }
  return out;
}

bool ReadLine(int c, std::string& pending, std::string& line) {
  char buf[4096];
  while (true) {
    if (const auto nl = pending.find("\r\n"); nl != std::string::npos) {
      line = pending.substr(0, nl);
      pending.erase(0, nl + 2);
      return true;
    }
    const ssize_t n = ::read(c, buf, sizeof buf);
    if (n <= 0) return false;
    pending.append(buf, static_cast<std::size_t>(n));
  }
}

void ServeSmtp(int c, const char* file) {
  Send(c, "220 webhook_sink ESMTP\r\n");
  std::string pending, line, rcpt;
  while (ReadLine(c, pending, line)) {
    std::string verb = line.substr(0, 4);
    for (auto& ch : verb) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (verb == "EHLO" || verb == "HELO") {
      Send(c, "250 webhook_sink\r\n");
    } else if (verb == "RCPT") {
      const auto lt = line.find('<'), gt = line.find('>');
      if (lt != std::string::npos && gt != std::string::npos && gt > lt) {
        if (!rcpt.empty()) rcpt += ',';
        rcpt += line.substr(lt + 1, gt - lt - 1);
      }
      Send(c, "250 OK\r\n");
    } else if (verb == "DATA") {
      Send(c, "354 go on\r\n");
      std::string mail, subject;
      while (ReadLine(c, pending, line) && line != ".") {
        if (subject.empty() && line.rfind("Subject: ", 0) == 0) subject = line.substr(9);
        mail += (line.rfind("..", 0) == 0 ? line.substr(1) : line) + "\r\n";
      }
      const auto body_at = mail.find("\r\n\r\n");
      Append(file, rcpt + '\t' + subject + '\t' +
                       Unquote(body_at == std::string::npos ? mail : mail.substr(body_at + 4)));
      rcpt.clear();
      Send(c, "250 OK queued\r\n");
    } else if (verb == "QUIT") {
      Send(c, "221 bye\r\n");
      return;
    } else {
      Send(c, "250 OK\r\n");  // MAIL, RSET, NOOP
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool paths = false, smtp = false;
  int arg = 1;
  for (; arg < argc && argv[arg][0] == '-' && argv[arg][1] == '-'; ++arg) {
    if (std::strcmp(argv[arg], "--paths") == 0) {
      paths = true;
    } else if (std::strcmp(argv[arg], "--smtp") == 0) {
      smtp = true;
    } else {
      std::fprintf(stderr, "webhook_sink: unknown option %s\n", argv[arg]);
      return 2;
    }
  }
  if (arg >= argc) {
    std::fprintf(stderr, "usage: webhook_sink [--paths | --smtp] FILE [PORT]\n");
    return 2;
  }
  const char* file = argv[arg];
  const int ls = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(arg + 1 < argc ? std::atoi(argv[arg + 1]) : 0));
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
    if (smtp) {
      ServeSmtp(c, file);
    } else {
      ServeHttp(c, file, paths);
    }
    ::close(c);
  }
}
