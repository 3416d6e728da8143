// AlertDispatcher against real HTTP receivers on loopback (a tiny server in this file), with a
// FakeClock driving resends.
#include "ccmon/collector/alert_delivery.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ccmon::collector {
namespace {

using namespace std::chrono_literals;
using detail::FormatRfc3339;
using detail::JsonString;

constexpr std::int64_t kT0 = 1795687200000;  // 2026-11-26T10:00:00.000Z

// ---------------------------------------------------------------------------------------------
// A strict little JSON reader, so payloads are checked as JSON and not as substrings.

struct Json {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  std::string str;
  std::vector<Json> items;
  std::map<std::string, Json> members;

  bool Has(const std::string& key) const { return members.count(key) != 0; }
  const Json& operator[](const std::string& key) const {
    static const Json kMissing;
    const auto it = members.find(key);
    return it == members.end() ? kMissing : it->second;
  }
  const Json& operator[](std::size_t i) const { return items.at(i); }
  bool IsNull() const { return type == Type::kNull; }
};

class JsonReader {
 public:
  // Nullopt unless `text` is exactly one valid JSON value (RFC 8259).
  static std::optional<Json> Parse(const std::string& text) {
    JsonReader r(text);
    Json v;
    if (!r.Value(&v)) return std::nullopt;
    r.Space();
    if (r.pos_ != text.size()) return std::nullopt;
    return v;
  }

 private:
  explicit JsonReader(const std::string& text) : s_(text) {}

  void Space() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) {
      ++pos_;
    }
  }
  bool Literal(const char* word) {
    const std::string w(word);
    if (s_.compare(pos_, w.size(), w) != 0) return false;
    pos_ += w.size();
    return true;
  }
  bool Value(Json* v) {
    Space();
    if (pos_ >= s_.size()) return false;
    const char c = s_[pos_];
    if (c == '{') return Object(v);
    if (c == '[') return Array(v);
    if (c == '"') {
      v->type = Json::Type::kString;
      return String(&v->str);
    }
    if (Literal("null")) return true;
    if (Literal("true") || Literal("false")) {
      v->type = Json::Type::kBool;
      v->boolean = s_[pos_ - 1] == 'e' && s_[pos_ - 2] == 'u';
      return true;
    }
    const char* begin = s_.c_str() + pos_;
    char* end = nullptr;
    v->number = std::strtod(begin, &end);
    if (end == begin) return false;
    v->type = Json::Type::kNumber;
    pos_ += static_cast<std::size_t>(end - begin);
    return true;
  }
  bool Object(Json* v) {
    v->type = Json::Type::kObject;
    ++pos_;
    Space();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      Space();
      std::string key;
      if (pos_ >= s_.size() || s_[pos_] != '"' || !String(&key)) return false;
      Space();
      if (pos_ >= s_.size() || s_[pos_++] != ':') return false;
      if (v->members.count(key) != 0) return false;  // duplicate keys are a bug here
      if (!Value(&v->members[key])) return false;
      Space();
      if (pos_ >= s_.size()) return false;
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      return s_[pos_++] == '}';
    }
  }
  bool Array(Json* v) {
    v->type = Json::Type::kArray;
    ++pos_;
    Space();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      v->items.emplace_back();
      if (!Value(&v->items.back())) return false;
      Space();
      if (pos_ >= s_.size()) return false;
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      return s_[pos_++] == ']';
    }
  }
  bool Hex4(unsigned* out) {
    if (pos_ + 4 > s_.size()) return false;
    *out = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[pos_++];
      *out <<= 4;
      if (h >= '0' && h <= '9') {
        *out |= static_cast<unsigned>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        *out |= static_cast<unsigned>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        *out |= static_cast<unsigned>(h - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  }
  static void AppendUtf8(std::string* out, unsigned cp) {
    if (cp < 0x80) {
      *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *out += static_cast<char>(0xC0 | (cp >> 6));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *out += static_cast<char>(0xE0 | (cp >> 12));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      *out += static_cast<char>(0xF0 | (cp >> 18));
      *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool String(std::string* out) {
    ++pos_;  // opening quote
    while (pos_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[pos_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;  // raw control characters are invalid JSON
      if (c != '\\') {
        *out += static_cast<char>(c);
        continue;
      }
      if (pos_ >= s_.size()) return false;
      const char e = s_[pos_++];
      static constexpr std::string_view kEscaped = "\"\\/bfnrt";
      static constexpr std::string_view kRaw = "\"\\/\b\f\n\r\t";
      if (const std::size_t k = kEscaped.find(e); k != std::string_view::npos) {
        *out += kRaw[k];
        continue;
      }
      if (e != 'u') return false;
      unsigned cp = 0;
      if (!Hex4(&cp)) return false;
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned lo = 0;
        if (!Literal("\\u") || !Hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      }
      AppendUtf8(out, cp);
    }
    return false;
  }

  const std::string& s_;
  std::size_t pos_ = 0;
};

Json ParseOrDie(const std::string& text) {
  std::optional<Json> v = JsonReader::Parse(text);
  EXPECT_TRUE(v.has_value()) << "not valid JSON: " << text;
  return v.value_or(Json{});
}

// ---------------------------------------------------------------------------------------------
// A one-connection-at-a-time HTTP/1.1 server on 127.0.0.1, port 0.

struct Request {
  std::string method;
  std::string path;
  std::string content_type;
  std::string body;
};

class TestHttpServer {
 public:
  // kNoAccept listens but never accepts: the kernel completes connections, nobody answers,
  // exactly like a hung receiver.
  enum class Mode { kAnswer, kNoAccept };

  explicit TestHttpServer(Mode mode = Mode::kAnswer) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(fd_, 64) != 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "test server: " << std::strerror(errno);
      return;
    }
    port_ = ntohs(addr.sin_port);
    if (mode == Mode::kAnswer) thread_ = std::thread([this] { Serve(); });
  }

  ~TestHttpServer() {
    // Wakes the blocked accept(); closing also resets connections never accepted.
    shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }

  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  std::string Url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // Answer `status` to every request from now on.
  void SetStatus(int status) {
    std::lock_guard lock(mu_);
    status_ = status;
  }
  // Answer `status` to the next `n` requests, then the usual status again.
  void FailNext(int n, int status = 500) {
    std::lock_guard lock(mu_);
    fail_next_ = n;
    fail_status_ = status;
  }

  bool WaitForRequests(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
  }

  std::vector<Request> Requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

  std::size_t Count() {
    std::lock_guard lock(mu_);
    return requests_.size();
  }

 private:
  void Serve() {
    while (true) {
      const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      Handle(c);
      close(c);
    }
  }

  void Handle(int c) {
    timeval tv{2, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string data;
    char buf[4096];
    std::size_t header_end = std::string::npos;
    while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      data.append(buf, static_cast<std::size_t>(n));
    }
    Request req;
    std::size_t content_length = 0;
    std::size_t line_start = 0;
    bool first = true;
    while (line_start < header_end) {
      const std::size_t eol = data.find("\r\n", line_start);
      const std::string line = data.substr(line_start, eol - line_start);
      line_start = eol + 2;
      if (first) {
        first = false;
        const std::size_t sp1 = line.find(' ');
        const std::size_t sp2 = line.find(' ', sp1 + 1);
        req.method = line.substr(0, sp1);
        req.path = line.substr(sp1 + 1, sp2 - sp1 - 1);
        continue;
      }
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      const std::string name = line.substr(0, colon);
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      if (strcasecmp(name.c_str(), "content-length") == 0) {
        content_length = std::stoul(value);
      } else if (strcasecmp(name.c_str(), "content-type") == 0) {
        req.content_type = value;
      }
    }
    req.body = data.substr(header_end + 4);
    while (req.body.size() < content_length) {
      const ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      req.body.append(buf, static_cast<std::size_t>(n));
    }
    int status = 0;
    {
      // Recorded before answering, so a test that saw the dispatcher count a send also sees it.
      std::lock_guard lock(mu_);
      if (fail_next_ > 0) {
        --fail_next_;
        status = fail_status_;
      } else {
        status = status_;
      }
      requests_.push_back(std::move(req));
    }
    cv_.notify_all();
    const std::string response = "HTTP/1.1 " + std::to_string(status) +
                                 " Test\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n"
                                 "Connection: close\r\n\r\nbody";
    send(c, response.data(), response.size(), MSG_NOSIGNAL);
  }

  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Request> requests_;
  int status_ = 200;
  int fail_next_ = 0;
  int fail_status_ = 500;
};

// A loopback port nobody listens on: connections are refused at once.
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  EXPECT_TRUE(ok) << std::strerror(errno);
  close(fd);
  return ntohs(addr.sin_port);
}

// Polls `pred` until it holds or `timeout` passes.
template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------

Alert MakeAlert(const std::string& name, const std::string& client, const std::string& site,
                const std::string& queue = "", const std::string& link = "") {
  Alert a;
  a.name = name;
  a.severity = name == "SiteDark" ? "critical" : "warning";
  a.client = client;
  a.site = site;
  a.queue = queue;
  a.link = link;
  a.summary = name + " at " + site;
  a.description = "details of " + name;
  a.runbook_url = "https://example.test/runbooks/" + name + ".md";
  a.starts_ms = kT0 - 60'000;
  return a;
}

AlertTransition Firing(const Alert& a) { return AlertTransition{a, true}; }

AlertTransition Resolved(Alert a, std::int64_t ends_ms) {
  a.ends_ms = ends_ms;
  return AlertTransition{a, false};
}

DeliveryOptions TestOptions() {
  DeliveryOptions o;
  o.queue_capacity = 100;
  o.resend_interval_ms = 30'000;
  o.timeout_ms = 2'000;
  o.backoff_initial_ms = 5;
  o.backoff_max_ms = 20;
  o.max_attempts = 4;
  o.generator_url = "http://collector.test:9464/";
  return o;
}

ReceiverStats StatsOf(const AlertDispatcher& d, const std::string& receiver) {
  for (const ReceiverStats& s : d.Stats()) {
    if (s.receiver == receiver) return s;
  }
  ADD_FAILURE() << "no receiver " << receiver;
  return {};
}

// ---------------------------------------------------------------------------------------------

TEST(JsonStringTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonString(""), R"("")");
  EXPECT_EQ(JsonString(R"(say "hi" \ bye)"), R"("say \"hi\" \\ bye")");
  EXPECT_EQ(JsonString("a\nb\rc\td\be\ff"), R"("a\nb\rc\td\be\ff")");
  EXPECT_EQ(JsonString(std::string("nul\0x", 5)), R"("nul\u0000x")");
  EXPECT_EQ(JsonString("\x01\x1f\x7f"), R"("\u0001\u001f\u007f")");
  EXPECT_EQ(JsonString("/ < > &"), R"("/ < > &")");
}

TEST(JsonStringTest, KeepsUtf8EscapesUnicodeControlsAndReplacesInvalidBytes) {
  EXPECT_EQ(JsonString("Bogot\xC3\xA1 \xE2\x82\xAC \xF0\x9F\x93\x9E"),
            "\"Bogot\xC3\xA1 \xE2\x82\xAC \xF0\x9F\x93\x9E\"");
  // C1 control U+0085 and JavaScript's line/paragraph separators.
  EXPECT_EQ(JsonString("\xC2\x85|\xE2\x80\xA8|\xE2\x80\xA9"), R"("\u0085|\u2028|\u2029")");
  // Lone continuation byte, truncated sequence, overlong '/', UTF-16 surrogate, > U+10FFFF.
  EXPECT_EQ(JsonString("a\x80z"), R"("a\ufffdz")");
  EXPECT_EQ(JsonString("\xE2\x82"), R"("\ufffd\ufffd")");
  EXPECT_EQ(JsonString("\xC0\xAF"), R"("\ufffd\ufffd")");
  EXPECT_EQ(JsonString("\xED\xA0\x80"), R"("\ufffd\ufffd\ufffd")");
  EXPECT_EQ(JsonString("\xF4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");
}

TEST(JsonStringTest, EveryAsciiCharacterRoundTrips) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all += static_cast<char>(c);
  all += "\xC2\x85\xE2\x80\xA8\xF0\x9F\x93\x9E";
  const Json v = ParseOrDie(JsonString(all));
  EXPECT_EQ(v.type, Json::Type::kString);
  EXPECT_EQ(v.str, all);
}

TEST(FormatRfc3339Test, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(kT0), "2026-11-26T10:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(kT0 + 3'723'045), "2026-11-26T11:02:03.045Z");
  EXPECT_EQ(FormatRfc3339(951'782'400'000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(-1), "1970-01-01T00:00:00.000Z");  // clamped, never malformed
}

TEST(AlertDispatcherTest, AlertmanagerPayloadHasLabelsAnnotationsAndRfc3339Times) {
  TestHttpServer am;
  FakeClock clock(kT0);
  DeliveryOptions o = TestOptions();
  o.alertmanagers = {am.Url("/")};  // the trailing slash must not double up in the path
  o.shard = "asia";
  AlertDispatcher d(o, clock);
  d.Start();

  const Alert a = MakeAlert("QueueSurge", "acme", "mnl", "billing");
  d.Publish({Firing(a)}, {a}, kT0);
  ASSERT_TRUE(am.WaitForRequests(1));

  const Request r = am.Requests()[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/api/v2/alerts");
  EXPECT_EQ(r.content_type, "application/json");
  const Json body = ParseOrDie(r.body);
  ASSERT_EQ(body.type, Json::Type::kArray);
  ASSERT_EQ(body.items.size(), 1U);
  const Json& alert = body[0];
  EXPECT_EQ(alert["labels"].members.size(), 6U);  // no empty `link` label
  EXPECT_EQ(alert["labels"]["shard"].str, "asia");
  EXPECT_EQ(alert["labels"]["alertname"].str, "QueueSurge");
  EXPECT_EQ(alert["labels"]["severity"].str, "warning");
  EXPECT_EQ(alert["labels"]["client"].str, "acme");
  EXPECT_EQ(alert["labels"]["site"].str, "mnl");
  EXPECT_EQ(alert["labels"]["queue"].str, "billing");
  EXPECT_EQ(alert["annotations"]["summary"].str, "QueueSurge at mnl");
  EXPECT_EQ(alert["annotations"]["description"].str, "details of QueueSurge");
  EXPECT_EQ(alert["annotations"]["runbook_url"].str, "https://example.test/runbooks/QueueSurge.md");
  EXPECT_EQ(alert["startsAt"].str, "2026-11-26T09:59:00.000Z");
  // Firing: endsAt = now + 10 x resend interval, so Alertmanager resolves it if we go silent
  // (after CollectorDown has fired to silence it).
  EXPECT_EQ(alert["endsAt"].str, "2026-11-26T10:05:00.000Z");
  EXPECT_EQ(alert["generatorURL"].str, "http://collector.test:9464/");

  ASSERT_TRUE(Eventually([&] { return StatsOf(d, "alertmanager:" + am.Url("/")).sent == 1; }));
  const ReceiverStats s = StatsOf(d, "alertmanager:" + am.Url("/"));
  EXPECT_EQ(s.failed, 0U);
  EXPECT_EQ(s.dropped, 0U);
  EXPECT_EQ(s.queue_length, 0U);
  EXPECT_TRUE(s.up);
}

TEST(AlertDispatcherTest, ResolvedAlertCarriesEndsAt) {
  TestHttpServer am;
  FakeClock clock(kT0);
  DeliveryOptions o = TestOptions();
  o.alertmanagers = {am.Url()};
  AlertDispatcher d(o, clock);
  d.Start();

  const Alert a = MakeAlert("LinkDown", "acme", "mnl", "", "isp1");
  d.Publish({Firing(a)}, {a}, kT0);
  ASSERT_TRUE(am.WaitForRequests(1));
  clock.Advance(5'000);
  d.Publish({Resolved(a, kT0 + 4'321)}, {}, kT0 + 5'000);
  ASSERT_TRUE(am.WaitForRequests(2));

  const Json body = ParseOrDie(am.Requests()[1].body);
  ASSERT_EQ(body.items.size(), 1U);
  EXPECT_EQ(body[0]["labels"]["link"].str, "isp1");
  EXPECT_FALSE(body[0]["labels"].Has("queue"));
  EXPECT_EQ(body[0]["startsAt"].str, "2026-11-26T09:59:00.000Z");
  EXPECT_EQ(body[0]["endsAt"].str, "2026-11-26T10:00:04.321Z");
}

TEST(AlertDispatcherTest, FiringAlertsAreResentInOnePostWhileActive) {
  TestHttpServer am;
  FakeClock clock(kT0);
  DeliveryOptions o = TestOptions();
  o.alertmanagers = {am.Url()};
  AlertDispatcher d(o, clock);
  d.Start();

  const Alert a = MakeAlert("SiteDark", "acme", "mnl");
  const Alert b = MakeAlert("SlaAtRisk", "acme", "cebu", "billing");
  d.Publish({Firing(a), Firing(b)}, {a, b}, kT0);
  ASSERT_TRUE(am.WaitForRequests(1));

  // Ticks inside the interval send nothing; the one at +30 s re-sends both, in one POST.
  clock.Advance(10'000);
  d.Publish({}, {a, b}, clock.NowMs());
  clock.Advance(20'000);
  d.Publish({}, {a, b}, clock.NowMs());
  ASSERT_TRUE(am.WaitForRequests(2));
  {
    const Json resend = ParseOrDie(am.Requests()[1].body);
    ASSERT_EQ(resend.items.size(), 2U);
    for (const Json& alert : resend.items) {
      EXPECT_EQ(alert["startsAt"].str, "2026-11-26T09:59:00.000Z");  // unchanged by resends
      EXPECT_EQ(alert["endsAt"].str, "2026-11-26T10:05:30.000Z");    // +30 s +10 x 30 s
    }
  }

  // Once resolved, an alert is sent once more with its end, and then no longer re-sent.
  d.Publish({Resolved(a, kT0 + 31'000)}, {b}, kT0 + 31'000);
  ASSERT_TRUE(am.WaitForRequests(3));
  EXPECT_EQ(ParseOrDie(am.Requests()[2].body)[0]["endsAt"].str, "2026-11-26T10:00:31.000Z");
  clock.Advance(30'000);
  d.Publish({}, {b}, clock.NowMs());
  ASSERT_TRUE(am.WaitForRequests(4));
  const Json last = ParseOrDie(am.Requests()[3].body);
  ASSERT_EQ(last.items.size(), 1U);
  EXPECT_EQ(last[0]["labels"]["alertname"].str, "SlaAtRisk");
  EXPECT_EQ(am.Count(), 4U);
}

TEST(AlertDispatcherTest, BacklogCollapsesToTheLatestStatePerAlert) {
  TestHttpServer am;
  FakeClock clock(kT0);
  DeliveryOptions o = TestOptions();
  o.alertmanagers = {am.Url()};
  AlertDispatcher d(o, clock);

  // Published before Start(), as during an outage: three states, two alerts.
  const Alert a = MakeAlert("SiteDark", "acme", "mnl");
  const Alert b = MakeAlert("ClockSkew", "acme", "pune");
  d.Publish({Firing(a)}, {a}, kT0);
  d.Publish({Resolved(a, kT0 + 2'000)}, {}, kT0 + 2'000);
  d.Publish({Firing(b)}, {b}, kT0 + 3'000);
  EXPECT_EQ(d.Stats()[0].queue_length, 2U);
  d.Start();

  ASSERT_TRUE(am.WaitForRequests(1));
  const Json body = ParseOrDie(am.Requests()[0].body);
  ASSERT_EQ(body.items.size(), 2U);
  EXPECT_EQ(body[0]["labels"]["alertname"].str, "SiteDark");
  EXPECT_EQ(body[0]["endsAt"].str, "2026-11-26T10:00:02.000Z");
  EXPECT_EQ(body[1]["labels"]["alertname"].str, "ClockSkew");
  ASSERT_TRUE(Eventually([&] { return d.Stats()[0].sent == 2; }));
  EXPECT_EQ(d.Stats()[0].dropped, 0U);
}

TEST(AlertDispatcherTest, ServerErrorIsRetriedThenSucceeds) {
  TestHttpServer am;
  am.FailNext(2, 500);
  FakeClock clock(kT0);
  DeliveryOptions o = TestOptions();
  o.alertmanagers = {am.Url()};
  AlertDispatcher d(o, clock);
  d.Start();

  const Alert a = MakeAlert("SiteDark", "acme", "mnl");
  d.Publish({Firing(a)}, {a}, kT0);
  ASSERT_TRUE(am.WaitForRequests(3));
  const std::vector<Request> r = am.Requests();
  EXPECT_EQ(r[1].body, r[0].body);
  EXPECT_EQ(r[2].body, r[0].body);
  ASSERT_TRUE(Eventually([&] { return d.Stats()[0].sent == 1; }));
  EXPECT_EQ(d.Stats()[0].failed, 0U);
  EXPECT_TRUE(d.Stats()[0].up);
}

TEST(AlertDispatcherTest, GivesUpAfterMaxAttemptsCountsFailedAndRecovers) {
  TestHttpServer hook;
  hook.SetStatus(503);
  FakeClock clock(kT0);
  DeliveryOptions o = TestOptions();
  o.max_attempts = 3;
  o.client_webhooks = {{"acme", {hook.Url("/hook")}}};
  AlertDispatcher d(o, clock);
  d.Start();

  const Alert a = MakeAlert("SiteDark", "acme", "mnl");
  d.Publish({Firing(a)}, {a}, kT0);
  ASSERT_TRUE(Eventually([&] { return d.Stats()[0].failed == 1; }));
  EXPECT_EQ(hook.Count(), 3U);
  EXPECT_FALSE(d.Stats()[0].up);

  hook.SetStatus(204);
  d.Publish({Resolved(a, kT0 + 1'000)}, {}, kT0 + 1'000);
  ASSERT_TRUE(Eventually([&] { return d.Stats()[0].sent == 1; }));
  EXPECT_TRUE(d.Stats()[0].up);
  EXPECT_EQ(ParseOrDie(hook.Requests().back().body)["status"].str, "resolved");
}

TEST(AlertDispatcherTest, RejectedPayloadIsNotRetried) {
  TestHttpServer am;
  am.FailNext(1, 400);  // what Alertmanager answers to a payload it cannot accept
  FakeClock clock(kT0);
  DeliveryOptions o = TestOptions();
  o.alertmanagers = {am.Url()};
  AlertDispatcher d(o, clock);
  d.Start();

  const Alert a = MakeAlert("SiteDark", "acme", "mnl");
  d.Publish({Firing(a)}, {a}, kT0);
  ASSERT_TRUE(Eventually([&] { return d.Stats()[0].failed == 1; }));
  // The next notification goes through: only the rejected one was given up.
  d.Publish({Resolved(a, kT0 + 1'000)}, {}, kT0 + 1'000);
  ASSERT_TRUE(Eventually([&] { return d.Stats()[0].sent == 1; }));
  EXPECT_EQ(am.Count(), 2U);
}

TEST(AlertDispatcherTest, StopFlushesReceiversThatAreUpAndGivesUpOnDownOnes) {
  TestHttpServer hook;
  const std::string closed = "http://127.0.0.1:" + std::to_string(ClosedPort());
  FakeClock clock(kT0);
  DeliveryOptions o = TestOptions();
  o.backoff_initial_ms = 10'000;  // a down receiver would otherwise wait this long
  o.backoff_max_ms = 10'000;
  o.client_webhooks = {{"acme", {hook.Url(), closed}}};
  AlertDispatcher d(o, clock);
  for (const char* q : {"q1", "q2", "q3"}) {
    d.Publish({Firing(MakeAlert("QueueSurge", "acme", "mnl", q))}, {}, kT0);
  }
  d.Start();
  const auto start = std::chrono::steady_clock::now();
  d.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);

  EXPECT_EQ(hook.Count(), 3U);
  EXPECT_EQ(StatsOf(d, "webhook:acme:" + hook.Url()).sent, 3U);
  EXPECT_EQ(StatsOf(d, "webhook:acme:" + closed).failed, 3U);
  d.Publish({Firing(MakeAlert("SiteDark", "acme", "mnl"))}, {}, kT0);  // ignored once stopped
  EXPECT_EQ(StatsOf(d, "webhook:acme:" + hook.Url()).queue_length, 0U);
}

TEST(AlertDispatcherTest, DeadAndHungReceiversDoNotDelayAHealthyOne) {
  TestHttpServer healthy_am;
  TestHttpServer healthy_hook;
  std::optional<TestHttpServer> hung;
  hung.emplace(TestHttpServer::Mode::kNoAccept);
  const std::string closed = "http://127.0.0.1:" + std::to_string(ClosedPort());
  FakeClock clock(kT0);
  DeliveryOptions o = TestOptions();
  o.timeout_ms = 3'000;
  // The failing receivers come first, so a serial dispatcher would reach them first.
  o.alertmanagers = {closed, hung->Url(), healthy_am.Url()};
  o.client_webhooks = {{"acme", {closed + "/hook", hung->Url("/hook"), healthy_hook.Url()}}};
  AlertDispatcher d(o, clock);
  d.Start();

  const Alert a = MakeAlert("SiteDark", "acme", "mnl");
  const auto start = std::chrono::steady_clock::now();
  d.Publish({Firing(a)}, {a}, kT0);
  ASSERT_TRUE(healthy_am.WaitForRequests(1));
  ASSERT_TRUE(healthy_hook.WaitForRequests(1));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, 1'500ms);  // well inside the hung receivers' 3 s timeout

  ASSERT_TRUE(Eventually([&] { return !StatsOf(d, "alertmanager:" + closed).up; }));
  ASSERT_TRUE(Eventually([&] { return !StatsOf(d, "webhook:acme:" + closed + "/hook").up; }));
  EXPECT_TRUE(StatsOf(d, "alertmanager:" + healthy_am.Url()).up);
  EXPECT_TRUE(StatsOf(d, "webhook:acme:" + healthy_hook.Url()).up);
  EXPECT_EQ(StatsOf(d, "alertmanager:" + hung->Url()).sent, 0U);
  // Closing the listener resets the connections it never accepted, so the hung requests end
  // now rather than at their timeout and the test does not wait for them.
  hung.reset();
}

TEST(AlertDispatcherTest, PublishNeverBlocksOnAHungReceiver) {
  std::optional<TestHttpServer> hung;
  hung.emplace(TestHttpServer::Mode::kNoAccept);
  FakeClock clock(kT0);
  DeliveryOptions o = TestOptions();
  o.timeout_ms = 3'000;
  o.queue_capacity = 10;
  o.alertmanagers = {hung->Url()};
  o.client_webhooks = {{"acme", {hung->Url("/hook")}}};
  AlertDispatcher d(o, clock);
  d.Start();

  auto slowest = std::chrono::steady_clock::duration::zero();
  std::vector<Alert> active;
  for (int i = 0; i < 500; ++i) {
    const Alert a = MakeAlert("QueueSurge", "acme", "mnl", "q" + std::to_string(i));
    active.push_back(a);
    const auto t = std::chrono::steady_clock::now();
    d.Publish({Firing(a)}, active, kT0);
    slowest = std::max(slowest, std::chrono::steady_clock::now() - t);
  }
  // A blocked Publish() would take the receivers' 3 s timeout.
  EXPECT_LT(slowest, 200ms);
  for (const ReceiverStats& s : d.Stats()) {
    EXPECT_LE(s.queue_length, 10U) << s.receiver;
    // What is neither queued nor dropped is in the one POST in flight: a single webhook
    // notification, or up to a queue's worth of alerts batched for Alertmanager.
    EXPECT_GE(s.dropped + s.queue_length, 500U - 10U) << s.receiver;
    EXPECT_EQ(s.sent, 0U) << s.receiver;
  }
  hung.reset();  // ends the hung requests before the dispatcher's Stop() waits for them
}

TEST(AlertDispatcherTest, FullQueueDropsTheOldestAndCountsIt) {
  TestHttpServer hook;
  FakeClock clock(kT0);
  DeliveryOptions o = TestOptions();
  o.queue_capacity = 10;
  o.client_webhooks = {{"acme", {hook.Url("/acme")}}};
  AlertDispatcher d(o, clock);

  // Not started yet: nothing leaves the queue, so the count is exact.
  for (int i = 0; i < 100; ++i) {
    const Alert a = MakeAlert("QueueSurge", "acme", "mnl", "q" + std::to_string(i));
    d.Publish({Firing(a)}, {}, kT0);
  }
  EXPECT_EQ(d.Stats()[0].dropped, 90U);
  EXPECT_EQ(d.Stats()[0].queue_length, 10U);

  d.Start();
  ASSERT_TRUE(hook.WaitForRequests(10));
  const std::vector<Request> r = hook.Requests();
  for (int i = 0; i < 10; ++i) {  // the newest ten, in publish order
    EXPECT_EQ(ParseOrDie(r[i].body)["alert"]["queue"].str, "q" + std::to_string(90 + i));
  }
  ASSERT_TRUE(Eventually([&] { return d.Stats()[0].sent == 10; }));
  EXPECT_EQ(d.Stats()[0].queue_length, 0U);
}

TEST(AlertDispatcherTest, WebhooksGetOnlyTheirClientsAlertsInOrder) {
  TestHttpServer acme_hook;
  TestHttpServer globex_hook;
  FakeClock clock(kT0);
  DeliveryOptions o = TestOptions();
  o.client_webhooks = {{"acme", {acme_hook.Url("/acme")}},
                       {"globex", {globex_hook.Url("/globex")}}};
  AlertDispatcher d(o, clock);
  d.Start();

  const Alert acme = MakeAlert("SiteDark", "acme", "mnl");
  const Alert globex = MakeAlert("LinkDown", "globex", "bogota", "", "isp2");
  d.Publish({Firing(acme), Firing(globex)}, {acme, globex}, kT0);
  d.Publish({Resolved(acme, kT0 + 90'000)}, {globex}, kT0 + 90'000);

  ASSERT_TRUE(acme_hook.WaitForRequests(2));
  ASSERT_TRUE(globex_hook.WaitForRequests(1));
  const std::vector<Request> a = acme_hook.Requests();
  EXPECT_EQ(a[0].path, "/acme");
  EXPECT_EQ(a[0].content_type, "application/json");
  const Json fired = ParseOrDie(a[0].body);
  EXPECT_EQ(fired.members.size(), 3U);
  EXPECT_EQ(fired["version"].str, "1");
  EXPECT_EQ(fired["status"].str, "firing");
  const Json& alert = fired["alert"];
  EXPECT_EQ(alert.members.size(), 11U);
  EXPECT_EQ(alert["name"].str, "SiteDark");
  EXPECT_EQ(alert["severity"].str, "critical");
  EXPECT_EQ(alert["client"].str, "acme");
  EXPECT_EQ(alert["site"].str, "mnl");
  EXPECT_EQ(alert["queue"].type, Json::Type::kString);
  EXPECT_EQ(alert["queue"].str, "");
  EXPECT_EQ(alert["link"].str, "");
  EXPECT_EQ(alert["summary"].str, "SiteDark at mnl");
  EXPECT_EQ(alert["description"].str, "details of SiteDark");
  EXPECT_EQ(alert["runbook_url"].str, "https://example.test/runbooks/SiteDark.md");
  EXPECT_EQ(alert["starts_at"].str, "2026-11-26T09:59:00.000Z");
  EXPECT_TRUE(alert["ends_at"].IsNull());
  EXPECT_TRUE(alert.Has("ends_at"));

  const Json resolved = ParseOrDie(a[1].body);
  EXPECT_EQ(resolved["status"].str, "resolved");
  EXPECT_EQ(resolved["alert"]["ends_at"].str, "2026-11-26T10:01:30.000Z");

  const Json g = ParseOrDie(globex_hook.Requests()[0].body);
  EXPECT_EQ(g["alert"]["client"].str, "globex");
  EXPECT_EQ(g["alert"]["link"].str, "isp2");
  // globex's only request is its own alert; acme's, published first, never reached it.
  EXPECT_EQ(globex_hook.Count(), 1U);
  const std::string acme_receiver = "webhook:acme:" + acme_hook.Url("/acme");
  ASSERT_TRUE(Eventually([&] { return StatsOf(d, acme_receiver).sent == 2; }));
  const std::string globex_receiver = "webhook:globex:" + globex_hook.Url("/globex");
  ASSERT_TRUE(Eventually([&] { return StatsOf(d, globex_receiver).sent == 1; }));
}

TEST(AlertDispatcherTest, TextIsEscapedInBothPayloads) {
  TestHttpServer am;
  TestHttpServer hook;
  FakeClock clock(kT0);
  DeliveryOptions o = TestOptions();
  o.alertmanagers = {am.Url()};
  o.client_webhooks = {{"acme", {hook.Url()}}};
  AlertDispatcher d(o, clock);
  d.Start();

  Alert a = MakeAlert("QueueSurge", "acme", "mnl", "q \"vip\"\\main");
  a.description = "oldest wait \"95 s\"\nline 2\ttab \x01\x1f\x7f \xE2\x80\xA8 Bogot\xC3\xA1";
  a.summary = "C:\\path\\to";
  d.Publish({Firing(a)}, {a}, kT0);
  ASSERT_TRUE(am.WaitForRequests(1));
  ASSERT_TRUE(hook.WaitForRequests(1));

  const std::string am_raw = am.Requests()[0].body;
  EXPECT_NE(am_raw.find(R"(\"95 s\"\nline 2\ttab \u0001\u001f\u007f \u2028 Bogot)"),
            std::string::npos)
      << am_raw;
  const Json am_body = ParseOrDie(am_raw);
  EXPECT_EQ(am_body[0]["annotations"]["description"].str, a.description);
  EXPECT_EQ(am_body[0]["annotations"]["summary"].str, a.summary);
  EXPECT_EQ(am_body[0]["labels"]["queue"].str, a.queue);

  const Json hook_body = ParseOrDie(hook.Requests()[0].body);
  EXPECT_EQ(hook_body["alert"]["description"].str, a.description);
  EXPECT_EQ(hook_body["alert"]["summary"].str, a.summary);
  EXPECT_EQ(hook_body["alert"]["queue"].str, a.queue);
}

TEST(AlertDispatcherTest, StatsNameReceiversWithoutCredentials) {
  FakeClock clock(kT0);
  DeliveryOptions o = TestOptions();
  o.alertmanagers = {"http://am1:9093", "http://am1:9093", "https://user:secret@am2:9093/"};
  o.client_webhooks = {{"acme", {"https://bot:token@hooks.test/acme?x=1"}},
                       {"globex", {"http://hooks.test/g"}}};
  AlertDispatcher d(o, clock);  // never started: construction alone must not need receivers
  const std::vector<ReceiverStats> s = d.Stats();
  ASSERT_EQ(s.size(), 4U);  // the duplicate Alertmanager URL is one receiver
  EXPECT_EQ(s[0].receiver, "alertmanager:http://am1:9093");
  EXPECT_EQ(s[1].receiver, "alertmanager:https://***@am2:9093/");
  EXPECT_EQ(s[2].receiver, "webhook:acme:https://***@hooks.test/acme?x=1");
  EXPECT_EQ(s[3].receiver, "webhook:globex:http://hooks.test/g");
  for (const ReceiverStats& r : s) {
    EXPECT_EQ(r.sent + r.failed + r.dropped + r.queue_length, 0U);
    EXPECT_TRUE(r.up);
  }
  d.Publish({}, {}, kT0);  // harmless without workers
  d.Stop();
  d.Stop();
}

}  // namespace
}  // namespace ccmon::collector
