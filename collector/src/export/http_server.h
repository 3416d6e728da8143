// A small HTTP/1.1 server for /metrics and health, event-driven on one thread: an idle or
// half-sent connection holds a socket and a timer, never a worker, so a scrape is answered
// whoever else is connected. Requests must complete their headers within header_timeout;
// keep-alive connections idle longer than idle_timeout are closed; past max_connections (or
// max_connections_per_peer for one address) the least recently active idle connection of the
// busiest peer is closed to make room, never one being answered. GET and HEAD only (a request
// with a body is answered and the connection closed); gzip when the client asks.
#pragma once

#include <absl/status/status.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace ccmon::collector {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct HttpServerOptions {
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds idle_timeout{120000};
  std::size_t max_connections = 512;
  std::size_t max_connections_per_peer = 64;
  std::size_t max_header_bytes = 16 << 10;
  // A path's response (and its gzip form) is rendered at most once per period while nothing
  // changed (see Generation) and shared by every request in it: Prometheus pairs, pipelined
  // or repeated scrapes cost one rendering, and a scrape never misses a change.
  std::chrono::milliseconds cache_period{250};
};

class HttpServer {
 public:
  // Called on the server's thread with the request path (query string removed).
  using Handler = std::function<HttpResponse(std::string_view path)>;

  HttpServer();
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Tells whether what the handler would return has changed: a cached response is reused
  // only while this stays the same (and for at most cache_period). Empty: never reused.
  using Generation = std::function<std::uint64_t()>;

  // Listens on HOST:PORT ([v6]:PORT; port 0 picks one) and starts serving.
  absl::Status Start(const std::string& listen, Handler handler, HttpServerOptions options = {},
                     Generation generation = nullptr);
  void Stop();
  int port() const;

  struct Stats {
    std::uint64_t requests = 0;
    std::uint64_t timeouts = 0;  // connections closed for a slow request or idleness
    std::uint64_t evicted = 0;   // closed to make room under max_connections
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// gzip (RFC 1952) of data; empty on failure.
std::string Gzip(std::string_view data);

}  // namespace ccmon::collector
