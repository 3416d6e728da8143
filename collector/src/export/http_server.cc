#include "export/http_server.h"

#include <pthread.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <asio.hpp>
#include <atomic>
#include <cctype>
#include <list>
#include <map>
#include <mutex>
#include <thread>

namespace ccmon::collector {

namespace {

std::string_view Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool IContains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (IEquals(hay.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

// The value of header `name` in a request head, or empty.
std::string_view Header(std::string_view head, std::string_view name) {
  std::size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    const std::size_t start = pos + 2;
    const std::size_t end = head.find("\r\n", start);
    const std::string_view line =
        head.substr(start, (end == std::string_view::npos ? head.size() : end) - start);
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos && IEquals(line.substr(0, colon), name)) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      return v;
    }
    pos = end;
  }
  return {};
}

}  // namespace

std::string Gzip(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return {};
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? out : std::string();
}

struct HttpServer::Impl {
  struct Body {
    int status = 200;
    std::string content_type;
    std::shared_ptr<const std::string> bytes;
    bool gzipped = false;
  };
  struct Cached {
    std::chrono::steady_clock::time_point at;
    std::uint64_t generation = 0;
    Body plain, gz;
  };
  struct Conn : std::enable_shared_from_this<Conn> {
    Conn(Impl& s, asio::ip::tcp::socket sock)
        : server(s), socket(std::move(sock)), timer(socket.get_executor()) {}
    Impl& server;
    asio::ip::tcp::socket socket;
    asio::steady_timer timer;
    std::string in;
    std::string out;                          // the response head
    std::shared_ptr<const std::string> body;  // the response body being written
    bool head_started = false;                // bytes of the current request have arrived
    bool writing = false;                     // a response is on its way: never evicted
    bool closed = false;
    std::string peer;  // remote address, for the per-peer cap
    std::chrono::steady_clock::time_point last_active = std::chrono::steady_clock::now();
    std::list<std::shared_ptr<Conn>>::iterator self;

    void Close() {
      if (closed) return;
      closed = true;
      asio::error_code ec;
      socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
      socket.close(ec);
      timer.cancel();
      server.conns.erase(self);
    }
    void Arm(std::chrono::milliseconds d) {
      timer.expires_after(d);
      timer.async_wait([c = shared_from_this()](const asio::error_code& ec) {
        if (ec || c->closed) return;
        ++c->server.timeouts;
        c->Close();
      });
    }
    void Read() {
      auto buf = std::make_shared<std::array<char, 4096>>();
      socket.async_read_some(asio::buffer(*buf), [c = shared_from_this(), buf](
                                                     const asio::error_code& ec, std::size_t n) {
        if (c->closed) return;
        if (ec) {
          c->Close();
          return;
        }
        if (!c->head_started && n > 0) {
          c->head_started = true;
          c->Arm(c->server.opt.header_timeout);
        }
        c->last_active = std::chrono::steady_clock::now();
        c->in.append(buf->data(), n);
        c->Parse();
      });
    }
    void Parse() {
      const std::size_t end = in.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (in.size() > server.opt.max_header_bytes) {
          Respond({431, "text/plain", "request head too large\n"}, false, false);
          return;
        }
        Read();
        return;
      }
      if (end > server.opt.max_header_bytes) {
        Respond({431, "text/plain", "request head too large\n"}, false, false);
        return;
      }
      const std::string head = in.substr(0, end);
      in.erase(0, end + 4);
      ++server.requests;
      const std::size_t sp1 = head.find(' ');
      const std::size_t sp2 = sp1 == std::string::npos ? sp1 : head.find(' ', sp1 + 1);
      const std::size_t eol = head.find("\r\n");
      if (sp2 == std::string::npos || (eol != std::string::npos && sp2 > eol)) {
        Respond({400, "text/plain", "malformed request line\n"}, false, false);
        return;
      }
      const std::string_view method(head.data(), sp1);
      std::string_view target(head.data() + sp1 + 1, sp2 - sp1 - 1);
      const std::string_view version = std::string_view(head).substr(
          sp2 + 1, (eol == std::string::npos ? head.size() : eol) - sp2 - 1);
      target = target.substr(0, target.find('?'));
      const std::string_view connection = Header(head, "Connection");
      // A request with a body is not ours to parse (GET and HEAD carry none): answer it and
      // close, so the body is never read as the next request.
      const std::string_view length = Header(head, "Content-Length");
      const bool has_body =
          (!length.empty() && length != "0") || !Header(head, "Transfer-Encoding").empty();
      const bool keep = !has_body && (version == "HTTP/1.1" ? !IEquals(connection, "close")
                                                            : IEquals(connection, "keep-alive"));
      if (method != "GET" && method != "HEAD") {
        Respond({405, "text/plain", "GET or HEAD only\n"}, keep, false);
        return;
      }
      const std::string_view accept = Header(head, "Accept-Encoding");
      const bool want_gzip = IContains(accept, "gzip") && !IContains(accept, "gzip;q=0");
      Body rendered = server.Render(target, want_gzip);
      Respond(std::move(rendered), keep, method == "HEAD");
    }
    void Respond(HttpResponse r, bool keep, bool /*gzip*/, bool head_only = false) {
      Body b;
      b.status = r.status;
      b.content_type = std::move(r.content_type);
      b.bytes = std::make_shared<const std::string>(std::move(r.body));
      Respond(std::move(b), keep, head_only);
    }
    // The body is shared (one rendering serves every request within the cache period), so
    // slow readers cost a header each, not a copy of the exposition.
    void Respond(Body b, bool keep, bool head_only) {
      out.clear();
      out += "HTTP/1.1 " + std::to_string(b.status) + " " + std::string(Reason(b.status)) + "\r\n";
      out += "Content-Type: " + b.content_type + "\r\n";
      out += "Content-Length: " + std::to_string(b.bytes->size()) + "\r\n";
      if (b.gzipped) out += "Content-Encoding: gzip\r\n";
      out += "Vary: Accept-Encoding\r\n";
      out += keep ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
      body = head_only ? nullptr : std::move(b.bytes);
      timer.cancel();
      Arm(server.opt.header_timeout + std::chrono::seconds(30));  // a reader too slow to take it
      writing = true;
      std::array<asio::const_buffer, 2> bufs{asio::buffer(out),
                                             body ? asio::buffer(*body) : asio::const_buffer()};
      asio::async_write(
          socket, bufs, [c = shared_from_this(), keep](const asio::error_code& ec, std::size_t) {
            if (c->closed) return;
            c->writing = false;
            c->body.reset();
            c->last_active = std::chrono::steady_clock::now();
            if (ec || !keep) {
              c->Close();
              return;
            }
            c->out.clear();
            c->out.shrink_to_fit();
            c->head_started = !c->in.empty();
            c->Arm(c->head_started ? c->server.opt.header_timeout : c->server.opt.idle_timeout);
            c->Parse();
          });
    }
  };

  // A response and its gzip form, rendered at most once per cache period per path. Only
  // answers that succeeded are kept, so unknown paths cannot grow the cache.
  Body Render(std::string_view path, bool gzip) {
    const auto now = std::chrono::steady_clock::now();
    const std::uint64_t gen = generation ? generation() : 0;
    auto it = cache.find(path);
    if (it == cache.end() || now - it->second.at >= opt.cache_period || !generation ||
        it->second.generation != gen) {
      HttpResponse r;
      try {
        r = handler(path);
      } catch (const std::exception& e) {
        r = {500, "text/plain", std::string("internal error: ") + e.what() + "\n"};
      }
      Cached fresh;
      fresh.at = now;
      fresh.generation = gen;
      fresh.plain.status = r.status;
      fresh.plain.content_type = r.content_type;
      fresh.plain.bytes = std::make_shared<const std::string>(std::move(r.body));
      if (r.status != 200) {
        if (it != cache.end()) cache.erase(it);
        return fresh.plain;
      }
      it = cache.insert_or_assign(std::string(path), std::move(fresh)).first;
    }
    Cached& c = it->second;
    if (!gzip || c.plain.bytes->size() <= 1024) return c.plain;
    if (!c.gz.bytes) {
      std::string z = Gzip(*c.plain.bytes);
      if (z.empty()) return c.plain;
      c.gz = c.plain;
      c.gz.bytes = std::make_shared<const std::string>(std::move(z));
      c.gz.gzipped = true;
    }
    return c.gz;
  }

  explicit Impl() : acceptor(io), retry(io) {}

  // Makes room for a connection from `peer`: past the per-peer cap that peer's least recently
  // active idle connection goes, past the global cap the one of the peer holding the most.
  // A connection sending a response is never closed, so a flood cannot cut a scrape short,
  // and a flood from one address cannot push out another's (Prometheus's) connection.
  bool MakeRoom(const std::string& peer) {
    std::map<std::string, std::size_t> per_peer;
    for (const auto& c : conns) ++per_peer[c->peer];
    std::string victim_peer;
    if (per_peer[peer] >= opt.max_connections_per_peer) {
      victim_peer = peer;
    } else if (conns.size() >= opt.max_connections) {
      victim_peer =
          std::max_element(per_peer.begin(), per_peer.end(), [](const auto& a, const auto& b) {
            return a.second < b.second;
          })->first;
    } else {
      return true;
    }
    std::shared_ptr<Conn> victim;
    for (const auto& c : conns) {
      if (c->peer != victim_peer || c->writing) continue;
      if (!victim || c->last_active < victim->last_active) victim = c;
    }
    if (!victim) return false;
    ++evicted;
    victim->Close();
    return true;
  }

  void Accept() {
    acceptor.async_accept([this](const asio::error_code& ec, asio::ip::tcp::socket sock) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) {
        // Out of descriptors or the like: retry shortly, not in a hot loop on this thread.
        retry.expires_after(std::chrono::milliseconds(100));
        retry.async_wait([this](const asio::error_code& e) {
          if (!e) Accept();
        });
        return;
      }
      asio::error_code pe;
      const auto remote = sock.remote_endpoint(pe);
      const std::string peer = pe ? std::string() : remote.address().to_string();
      if (MakeRoom(peer)) {
        auto c = std::make_shared<Conn>(*this, std::move(sock));
        c->peer = peer;
        conns.push_back(c);
        c->self = std::prev(conns.end());
        c->Arm(opt.idle_timeout);
        c->Read();
      }  // else: every connection of that peer is being answered; this one is dropped
      Accept();
    });
  }

  asio::io_context io;
  asio::ip::tcp::acceptor acceptor;
  asio::steady_timer retry;
  HttpServerOptions opt;
  Handler handler;
  Generation generation;
  std::list<std::shared_ptr<Conn>> conns;            // io thread only; oldest first
  std::map<std::string, Cached, std::less<>> cache;  // io thread only
  std::atomic<std::uint64_t> requests{0}, timeouts{0}, evicted{0};
  std::thread thread;
  int port = 0;
};

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {}
HttpServer::~HttpServer() { Stop(); }

absl::Status HttpServer::Start(const std::string& listen, Handler handler,
                               HttpServerOptions options, Generation generation) {
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError("listen address '" + listen + "' is not HOST:PORT");
  }
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  impl_->opt = options;
  impl_->handler = std::move(handler);
  impl_->generation = std::move(generation);
  asio::error_code ec;
  asio::ip::tcp::resolver resolver(impl_->io);
  const auto results = resolver.resolve(host, port, asio::ip::resolver_base::passive, ec);
  if (ec || results.empty()) {
    return absl::InvalidArgumentError("cannot resolve " + listen + ": " + ec.message());
  }
  const asio::ip::tcp::endpoint ep = results.begin()->endpoint();
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError("cannot listen on " + listen + ": " + ec.message());
  impl_->port = a.local_endpoint().port();
  impl_->Accept();
  impl_->thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "ccmon-http");  // names in top -H
    impl_->io.run();
  });
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->io, [this] {
    asio::error_code ec;
    impl_->acceptor.close(ec);
    impl_->retry.cancel();
    while (!impl_->conns.empty()) {
      const std::shared_ptr<Impl::Conn> c = impl_->conns.front();
      c->Close();
    }
    impl_->io.stop();
  });
  impl_->thread.join();
}

int HttpServer::port() const { return impl_->port; }

HttpServer::Stats HttpServer::stats() const {
  Stats s;
  s.requests = impl_->requests.load();
  s.timeouts = impl_->timeouts.load();
  s.evicted = impl_->evicted.load();
  return s;
}

}  // namespace ccmon::collector
