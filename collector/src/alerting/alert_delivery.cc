// Alert delivery: per-receiver bounded queues drained by one worker thread each, over libcurl.
#include "ccmon/collector/alert_delivery.h"

#include <curl/curl.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <utility>

namespace ccmon::collector {

namespace detail {

namespace {

void AppendEscapedCodePoint(std::string& out, unsigned cp) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\u%04x", cp);
  out += buf;
}

// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), or 0 when it is not one.
std::size_t Utf8Length(std::string_view s, std::size_t i) {
  const auto at = [&](std::size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0U;
  };
  const auto cont = [&](std::size_t k) { return (at(k) & 0xC0U) == 0x80U; };
  const unsigned c = at(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80;
    const unsigned hi = c == 0xED ? 0x9F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = c == 0xF4 ? 0x8F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

unsigned DecodeUtf8(std::string_view s, std::size_t i, std::size_t len) {
  static constexpr unsigned kLeadMask[] = {0, 0, 0x1F, 0x0F, 0x07};
  unsigned cp = static_cast<unsigned char>(s[i]) & kLeadMask[len];
  for (std::size_t k = 1; k < len; ++k) {
    cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3FU);
  }
  return cp;
}

}  // namespace

std::string JsonString(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      // JSON's two-character escapes: kRaw[k] is written as a backslash and kEscaped[k].
      static constexpr std::string_view kRaw = "\"\\\b\f\n\r\t";
      static constexpr std::string_view kEscaped = "\"\\bfnrt";
      const std::size_t k = kRaw.find(static_cast<char>(c));
      if (k != std::string_view::npos) {
        out += '\\';
        out += kEscaped[k];
      } else if (c < 0x20 || c == 0x7F) {
        AppendEscapedCodePoint(out, c);
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    const std::size_t len = Utf8Length(s, i);
    if (len == 0) {
      // One replacement per bad byte keeps the rest of the text intact and readable.
      out += "\\ufffd";
      ++i;
      continue;
    }
    const unsigned cp = DecodeUtf8(s, i, len);
    if (cp <= 0x9F || cp == 0x2028 || cp == 0x2029) {
      AppendEscapedCodePoint(out, cp);
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  out += '"';
  return out;
}

std::string FormatRfc3339(std::int64_t unix_ms) {
  using namespace std::chrono;
  // RFC 3339 has four-digit years only.
  constexpr std::int64_t kMaxMs = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z
  const sys_time<milliseconds> tp{milliseconds{std::clamp<std::int64_t>(unix_ms, 0, kMaxMs)}};
  const auto day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss hms{tp - day};
  char buf[48];  // room for any int fields, which keeps -Wformat-truncation quiet
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buf;
}

namespace {

// Appends "key":value to an object being built; `first` tracks the comma.
void Member(std::string& out, bool& first, std::string_view key, std::string_view raw_value) {
  if (!first) out += ',';
  first = false;
  out += JsonString(key);
  out += ':';
  out += raw_value;
}

void StringMember(std::string& out, bool& first, std::string_view key, std::string_view value) {
  Member(out, first, key, JsonString(value));
}

// Alertmanager treats an empty label or annotation like a missing one; leaving it out keeps
// payloads and `amtool` output clean.
void NonEmptyMember(std::string& out, bool& first, std::string_view key, std::string_view value) {
  if (!value.empty()) StringMember(out, first, key, value);
}

}  // namespace

std::string AlertmanagerBody(const std::vector<AlertTransition>& transitions, std::int64_t now_ms,
                             std::int64_t auto_resolve_ms, const std::string& generator_url,
                             const std::string& shard) {
  std::string out = "[";
  for (std::size_t i = 0; i < transitions.size(); ++i) {
    const Alert& a = transitions[i].alert;
    if (i > 0) out += ',';
    out += '{';
    bool first = true;
    std::string labels = "{";
    bool lfirst = true;
    StringMember(labels, lfirst, "alertname", a.name);
    NonEmptyMember(labels, lfirst, "severity", a.severity);
    NonEmptyMember(labels, lfirst, "client", a.client);
    NonEmptyMember(labels, lfirst, "site", a.site);
    NonEmptyMember(labels, lfirst, "queue", a.queue);
    NonEmptyMember(labels, lfirst, "link", a.link);
    NonEmptyMember(labels, lfirst, "shard", shard);
    labels += '}';
    Member(out, first, "labels", labels);
    std::string annotations = "{";
    bool afirst = true;
    NonEmptyMember(annotations, afirst, "summary", a.summary);
    NonEmptyMember(annotations, afirst, "description", a.description);
    NonEmptyMember(annotations, afirst, "runbook_url", a.runbook_url);
    annotations += '}';
    Member(out, first, "annotations", annotations);
    // Without startsAt Alertmanager uses the receipt time, which would move on every resend.
    if (a.starts_ms > 0) Member(out, first, "startsAt", JsonString(FormatRfc3339(a.starts_ms)));
    std::int64_t ends_ms = transitions[i].firing ? now_ms + auto_resolve_ms : a.ends_ms;
    // Alertmanager rejects the whole POST (HTTP 400) when an alert ends before it starts.
    if (a.starts_ms > 0) ends_ms = std::max(ends_ms, a.starts_ms);
    Member(out, first, "endsAt", JsonString(FormatRfc3339(ends_ms)));
    NonEmptyMember(out, first, "generatorURL", generator_url);
    out += '}';
  }
  out += ']';
  return out;
}

std::string WebhookBody(const AlertTransition& transition) {
  const Alert& a = transition.alert;
  const auto time_or_null = [](std::int64_t ms) {
    return ms > 0 ? JsonString(FormatRfc3339(ms)) : std::string("null");
  };
  std::string alert = "{";
  bool afirst = true;
  StringMember(alert, afirst, "name", a.name);
  StringMember(alert, afirst, "severity", a.severity);
  StringMember(alert, afirst, "client", a.client);
  StringMember(alert, afirst, "site", a.site);
  StringMember(alert, afirst, "queue", a.queue);
  StringMember(alert, afirst, "link", a.link);
  StringMember(alert, afirst, "summary", a.summary);
  StringMember(alert, afirst, "description", a.description);
  StringMember(alert, afirst, "runbook_url", a.runbook_url);
  Member(alert, afirst, "starts_at", time_or_null(a.starts_ms));
  Member(alert, afirst, "ends_at", time_or_null(transition.firing ? 0 : a.ends_ms));
  alert += '}';
  std::string out = "{";
  bool first = true;
  StringMember(out, first, "version", "1");
  StringMember(out, first, "status", transition.firing ? "firing" : "resolved");
  Member(out, first, "alert", alert);
  out += '}';
  return out;
}

}  // namespace detail

namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
// Upper bound of an idle worker's wait, so resends happen on time with a real clock even when no
// tick wakes the worker. A FakeClock only moves on Publish(), which wakes every worker anyway.
constexpr std::int64_t kIdleWakeMs = 1000;
// Enough of an error response to show why a receiver refused a payload.
constexpr std::size_t kMaxErrorBody = 256;

std::shared_ptr<spdlog::logger> AlertingLogger() {
  if (auto log = spdlog::get("alerting")) return log;
  // Tests and tools do not register one. An unregistered clone of the default logger keeps its
  // sinks and level and cannot collide with a later registration of "alerting".
  if (auto def = spdlog::default_logger()) return def->clone("alerting");
  return std::make_shared<spdlog::logger>("alerting");
}

// A URL fit for labels and logs: user:password@ in the authority becomes ***@.
std::string RedactUserinfo(const std::string& url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const std::size_t host = scheme + 3;
  const std::size_t end = std::min(url.find_first_of("/?#", host), url.size());
  const std::size_t at = url.rfind('@', end == 0 ? 0 : end - 1);
  if (at == std::string::npos || at < host) return url;
  return url.substr(0, host) + "***" + url.substr(at);
}

std::string AlertsEndpoint(std::string base) {
  static constexpr std::string_view kPath = "/api/v2/alerts";
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (!base.ends_with(kPath)) base += kPath;
  return base;
}

// One libcurl easy handle, reused so keep-alive connections are too. Used by one thread.
class HttpClient {
 public:
  explicit HttpClient(std::int64_t timeout_ms) : curl_(curl_easy_init()) {
    if (curl_ == nullptr) return;
    headers_ = curl_slist_append(headers_, "Content-Type: application/json");
    // curl would otherwise wait up to 1 s for a "100 Continue" before sending larger bodies.
    headers_ = curl_slist_append(headers_, "Expect:");
    const long timeout = static_cast<long>(std::max<std::int64_t>(timeout_ms, 1));
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);  // signals + threads do not mix
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, "ccmon-collector");
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error_buf_);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &HttpClient::OnBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response_);
  }
  ~HttpClient() {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
    curl_slist_free_all(headers_);
  }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // POSTs `body` as JSON; true on HTTP 2xx. Otherwise `error` says why and `retryable` whether
  // sending the same body again can help (a 4xx other than 408/429 means it cannot).
  bool Post(const std::string& url, const std::string& body, std::string* error, bool* retryable) {
    *retryable = true;
    if (curl_ == nullptr) {
      *error = "curl_easy_init failed";
      return false;
    }
    response_.clear();
    error_buf_[0] = '\0';
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    const CURLcode rc = curl_easy_perform(curl_);
    if (rc != CURLE_OK) {
      *error = error_buf_[0] != '\0' ? error_buf_ : curl_easy_strerror(rc);
      return false;
    }
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status <= 299) return true;
    *retryable = !(status >= 400 && status <= 499 && status != 408 && status != 429);
    *error = "HTTP " + std::to_string(status);
    if (!response_.empty()) *error += ": " + response_;
    return false;
  }

 private:
  static std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* user) {
    auto* out = static_cast<std::string*>(user);
    const std::size_t bytes = size * n;
    out->append(data, std::min(bytes, kMaxErrorBody - std::min(out->size(), kMaxErrorBody)));
    return bytes;
  }

  CURL* curl_;
  curl_slist* headers_ = nullptr;
  char error_buf_[CURL_ERROR_SIZE] = {};
  std::string response_;
};

// What a worker takes out of its queue for one POST.
struct Batch {
  std::vector<AlertTransition> items;
  std::shared_ptr<const std::vector<Alert>> active;  // Alertmanager resend: all firing alerts
};

// A receiver's queue, worker thread, retry state and counters. Subclasses decide what is queued
// and how a batch is rendered; everything about attempts, backoff and stopping lives here.
class Receiver {
 public:
  Receiver(std::string label, std::string url, const DeliveryOptions& options, const Clock& clock,
           std::shared_ptr<spdlog::logger> log)
      : capacity_(std::max<std::size_t>(options.queue_capacity, 1)),
        label_(std::move(label)),
        url_(std::move(url)),
        log_name_(RedactUserinfo(url_)),
        timeout_ms_(options.timeout_ms),
        backoff_initial_ms_(std::max<std::int64_t>(options.backoff_initial_ms, 0)),
        backoff_max_ms_(std::max(options.backoff_max_ms, backoff_initial_ms_)),
        max_attempts_(std::max(options.max_attempts, 1)),
        clock_(clock),
        log_(std::move(log)),
        backoff_ms_(backoff_initial_ms_) {}
  virtual ~Receiver() = default;
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  const std::string& label() const { return label_; }

  void Start() {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "ccmon-alerts");  // names in top -H
      Run();
    });
  }

  void RequestStop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
  }

  void Join() {
    if (thread_.joinable()) thread_.join();
  }

  ReceiverStats Stats() const {
    ReceiverStats s;
    s.receiver = label_;
    s.sent = sent_.load(std::memory_order_relaxed);
    s.failed = failed_.load(std::memory_order_relaxed);
    s.dropped = dropped_.load(std::memory_order_relaxed);
    s.queue_length = queue_length_.load(std::memory_order_relaxed);
    s.up = up_.load(std::memory_order_relaxed);
    return s;
  }

 protected:
  // With mu_ held: moves what should be sent now into `batch`; false when there is nothing.
  // While stopping, scheduled work (resends) is skipped and only the queue is drained.
  virtual bool TakeLocked(std::int64_t now_ms, bool stopping, Batch* batch) = 0;
  // With mu_ held: clock time of the next scheduled send, kNever if none.
  virtual std::int64_t NextDueLocked() const { return kNever; }
  virtual std::size_t QueueLengthLocked() const = 0;
  // Without mu_: the POST body and how many notifications it carries (0: nothing to send).
  virtual std::string Render(const Batch& batch, std::int64_t now_ms, std::size_t* count) const = 0;

  // With mu_ held, after the queue changed.
  void QueueChangedLocked() { queue_length_.store(QueueLengthLocked(), std::memory_order_relaxed); }
  void Wake() { cv_.notify_one(); }

  std::mutex mu_;
  const std::size_t capacity_;
  std::atomic<std::uint64_t> dropped_{0};
  bool stopping_ = false;  // guarded by mu_

 private:
  void Run() {
    std::seed_seq seed{static_cast<unsigned>(std::hash<std::string>{}(label_)),
                       static_cast<unsigned>(clock_.NowMs())};
    rng_.seed(seed);
    HttpClient http(timeout_ms_);
    std::unique_lock lock(mu_);
    while (true) {
      Batch batch;
      const bool stopping = stopping_;
      if (TakeLocked(clock_.NowMs(), stopping, &batch)) {
        QueueChangedLocked();
        lock.unlock();
        Send(http, batch);
        lock.lock();
        continue;
      }
      if (stopping) break;
      const std::int64_t due = NextDueLocked();
      const std::int64_t now = clock_.NowMs();
      const std::int64_t wait = due <= now ? 1 : std::min(due - now, kIdleWakeMs);
      cv_.wait_for(lock, std::chrono::milliseconds(wait));
    }
  }

  void Send(HttpClient& http, const Batch& batch) {
    std::size_t count = 0;
    try {
      for (int attempt = 1;; ++attempt) {
        // Rendered per attempt: a firing alert's endsAt must count from when it is really sent,
        // or a late retry would leave Alertmanager little time before auto-resolving it.
        const std::string body = Render(batch, clock_.NowMs(), &count);
        if (count == 0) return;
        const bool stopping = StopRequested();
        // A final flush is for receivers that answer; one that is down would only hold up Stop().
        if (stopping && !up_.load()) {
          failed_.fetch_add(count, std::memory_order_relaxed);
          return;
        }
        std::string error;
        bool retryable = true;
        if (http.Post(url_, body, &error, &retryable)) {
          sent_.fetch_add(count, std::memory_order_relaxed);
          MarkUp();
          return;
        }
        MarkDown(error, attempt);
        const bool give_up = !retryable || stopping || attempt >= max_attempts_;
        if (give_up) failed_.fetch_add(count, std::memory_order_relaxed);
        // Also after giving up, so that a down receiver is probed at the backoff rate rather
        // than once per queued notification.
        WaitBackoff();
        if (give_up) return;
      }
    } catch (const std::exception& e) {
      failed_.fetch_add(count, std::memory_order_relaxed);
      log_->error("alert receiver {}: {}", label_, e.what());
    }
  }

  bool StopRequested() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  void MarkUp() {
    backoff_ms_ = backoff_initial_ms_;
    if (!up_.exchange(true)) {
      log_->warn("alert receiver {} ({}) is up again after {} failed attempts", label_, log_name_,
                 failures_);
    }
    failures_ = 0;
  }

  void MarkDown(const std::string& error, int attempt) {
    ++failures_;
    if (up_.exchange(false)) {
      log_->warn("alert receiver {} ({}) is down: {}; retrying with backoff up to {} ms", label_,
                 log_name_, error, backoff_max_ms_);
    } else {
      log_->debug("alert receiver {} attempt {} failed: {}", label_, attempt, error);
    }
  }

  // Waits the current backoff with jitter, then doubles it; returns early on Stop().
  void WaitBackoff() {
    const std::int64_t base = backoff_ms_;
    backoff_ms_ = std::min(backoff_max_ms_, std::max<std::int64_t>(base * 2, 1));
    const std::int64_t half = base / 2;
    const std::int64_t delay =
        half + std::uniform_int_distribution<std::int64_t>(0, base - half)(rng_);
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(delay), [this] { return stopping_; });
  }

  const std::string label_;
  const std::string url_;
  const std::string log_name_;
  const std::int64_t timeout_ms_;
  const std::int64_t backoff_initial_ms_;
  const std::int64_t backoff_max_ms_;
  const int max_attempts_;
  const Clock& clock_;
  const std::shared_ptr<spdlog::logger> log_;

  std::condition_variable cv_;
  std::thread thread_;
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::size_t> queue_length_{0};
  std::atomic<bool> up_{true};
  // Worker thread only.
  std::int64_t backoff_ms_;
  std::uint64_t failures_ = 0;
  std::minstd_rand rng_;
};

// Alertmanager: pending states collapse per alert key, and the whole active set is re-sent
// every resend interval in one POST.
class AlertmanagerReceiver final : public Receiver {
 public:
  AlertmanagerReceiver(const std::string& url, const DeliveryOptions& options, const Clock& clock,
                       std::shared_ptr<spdlog::logger> log)
      : Receiver("alertmanager:" + RedactUserinfo(url), AlertsEndpoint(url), options, clock,
                 std::move(log)),
        resend_interval_ms_(std::max<std::int64_t>(options.resend_interval_ms, 1)),
        generator_url_(options.generator_url),
        shard_(options.shard) {}

  void Push(const std::vector<AlertTransition>& transitions,
            const std::shared_ptr<const std::vector<Alert>>& active) {
    {
      std::lock_guard lock(mu_);
      for (const AlertTransition& t : transitions) Upsert(t);
      active_ = active;
      QueueChangedLocked();
    }
    Wake();  // also lets the worker see a FakeClock that moved
  }

 private:
  struct Pending {
    std::uint64_t seq;
    AlertTransition transition;
  };

  void Upsert(const AlertTransition& t) {
    std::string key = t.alert.Key();
    const auto it = by_key_.find(key);
    if (it != by_key_.end()) {
      // The latest state wins and counts as the newest entry, so drop-oldest picks stale keys.
      by_age_.erase(it->second.seq);
      it->second = Pending{next_seq_, t};
      by_age_.emplace(next_seq_++, key);
      return;
    }
    by_age_.emplace(next_seq_, key);
    by_key_.emplace(std::move(key), Pending{next_seq_++, t});
    if (by_key_.size() > capacity_) {
      const auto oldest = by_age_.begin();
      by_key_.erase(oldest->second);
      by_age_.erase(oldest);
      dropped_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  bool TakeLocked(std::int64_t now_ms, bool stopping, Batch* batch) override {
    bool resend = false;
    if (active_ != nullptr && !stopping) {
      // A clock stepped backwards must not postpone resends past auto-resolution.
      if (next_resend_ms_ > now_ms + resend_interval_ms_) next_resend_ms_ = now_ms;
      if (now_ms >= next_resend_ms_) {
        resend = true;
        next_resend_ms_ = now_ms + resend_interval_ms_;
      }
    }
    if (by_key_.empty() && !(resend && !active_->empty())) return false;
    if (resend) batch->active = active_;
    batch->items.reserve(by_key_.size());
    for (const auto& [seq, key] : by_age_) {
      batch->items.push_back(std::move(by_key_.at(key).transition));
    }
    by_key_.clear();
    by_age_.clear();
    return true;
  }

  std::int64_t NextDueLocked() const override {
    return active_ != nullptr ? next_resend_ms_ : kNever;
  }

  std::size_t QueueLengthLocked() const override { return by_key_.size(); }

  std::string Render(const Batch& batch, std::int64_t now_ms, std::size_t* count) const override {
    std::vector<AlertTransition> all = batch.items;
    if (batch.active != nullptr) {
      std::set<std::string> queued;
      for (const AlertTransition& t : all) queued.insert(t.alert.Key());
      for (const Alert& a : *batch.active) {
        if (queued.count(a.Key()) == 0) all.push_back(AlertTransition{a, true});
      }
    }
    *count = all.size();
    return detail::AlertmanagerBody(all, now_ms, 10 * resend_interval_ms_, generator_url_, shard_);
  }

  const std::int64_t resend_interval_ms_;
  const std::string generator_url_;
  const std::string shard_;
  // Guarded by mu_.
  std::map<std::string, Pending> by_key_;
  std::map<std::uint64_t, std::string> by_age_;
  std::uint64_t next_seq_ = 0;
  std::shared_ptr<const std::vector<Alert>> active_;  // null until the first Publish()
  // The first Publish() triggers a send of the active set, which covers alerts that were
  // already firing when the collector (re)started.
  std::int64_t next_resend_ms_ = std::numeric_limits<std::int64_t>::min();
};

// A client's webhook: one POST per transition of that client's alerts, in order.
class WebhookReceiver final : public Receiver {
 public:
  WebhookReceiver(std::string client, const std::string& url, const DeliveryOptions& options,
                  const Clock& clock, std::shared_ptr<spdlog::logger> log)
      : Receiver("webhook:" + client + ":" + RedactUserinfo(url), url, options, clock,
                 std::move(log)),
        client_(std::move(client)) {}

  void Push(const std::vector<AlertTransition>& transitions) {
    bool any = false;
    {
      std::lock_guard lock(mu_);
      for (const AlertTransition& t : transitions) {
        if (t.alert.client != client_) continue;
        any = true;
        queue_.push_back(t);
        if (queue_.size() > capacity_) {
          queue_.pop_front();
          dropped_.fetch_add(1, std::memory_order_relaxed);
        }
      }
      if (any) QueueChangedLocked();
    }
    if (any) Wake();
  }

 private:
  bool TakeLocked(std::int64_t /*now_ms*/, bool /*stopping*/, Batch* batch) override {
    if (queue_.empty()) return false;
    batch->items.push_back(std::move(queue_.front()));
    queue_.pop_front();
    return true;
  }

  std::size_t QueueLengthLocked() const override { return queue_.size(); }

  std::string Render(const Batch& batch, std::int64_t /*now_ms*/,
                     std::size_t* count) const override {
    *count = 1;
    return detail::WebhookBody(batch.items.front());
  }

  const std::string client_;
  std::deque<AlertTransition> queue_;  // guarded by mu_
};

}  // namespace

struct AlertDispatcher::Impl {
  DeliveryOptions options;
  std::shared_ptr<spdlog::logger> log;
  std::vector<std::unique_ptr<Receiver>> receivers;  // owns the two lists below
  std::vector<AlertmanagerReceiver*> alertmanagers;
  std::vector<WebhookReceiver*> webhooks;
  std::mutex lifecycle_mu;
  bool started = false;  // guarded by lifecycle_mu
  std::atomic<bool> stopped{false};
};

AlertDispatcher::AlertDispatcher(DeliveryOptions options, const Clock& clock)
    : impl_(std::make_unique<Impl>()) {
  // Before any thread exists: curl_global_init is not thread-safe in every libcurl build.
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_->options = std::move(options);
  impl_->log = AlertingLogger();
  // A URL listed twice would deliver twice and export duplicate series; keep the first.
  std::set<std::string> seen;
  const DeliveryOptions& o = impl_->options;
  for (const std::string& url : o.alertmanagers) {
    auto r = std::make_unique<AlertmanagerReceiver>(url, o, clock, impl_->log);
    if (!seen.insert(r->label()).second) continue;
    impl_->alertmanagers.push_back(r.get());
    impl_->receivers.push_back(std::move(r));
  }
  for (const auto& [client, urls] : o.client_webhooks) {
    for (const std::string& url : urls) {
      auto r = std::make_unique<WebhookReceiver>(client, url, o, clock, impl_->log);
      if (!seen.insert(r->label()).second) continue;
      impl_->webhooks.push_back(r.get());
      impl_->receivers.push_back(std::move(r));
    }
  }
}

AlertDispatcher::~AlertDispatcher() { Stop(); }

void AlertDispatcher::Start() {
  std::lock_guard lock(impl_->lifecycle_mu);
  if (impl_->started || impl_->stopped.load()) return;
  impl_->started = true;
  for (auto& r : impl_->receivers) {
    try {
      r->Start();
    } catch (const std::exception& e) {
      // That receiver's queue fills and drops (counted); the others still deliver.
      impl_->log->error("alert receiver {}: cannot start its worker: {}", r->label(), e.what());
    }
  }
}

void AlertDispatcher::Stop() {
  std::lock_guard lock(impl_->lifecycle_mu);
  if (impl_->stopped.exchange(true)) return;
  // Ask every worker first so their final flushes run in parallel.
  for (auto& r : impl_->receivers) r->RequestStop();
  for (auto& r : impl_->receivers) r->Join();
}

void AlertDispatcher::Publish(const std::vector<AlertTransition>& transitions,
                              const std::vector<Alert>& active, std::int64_t now_ms) noexcept {
  if (impl_->stopped.load() || impl_->receivers.empty()) return;
  try {
    const std::vector<AlertTransition>* queued = &transitions;
    std::vector<AlertTransition> fixed;
    const auto missing_end = [](const AlertTransition& t) {
      return !t.firing && t.alert.ends_ms == 0;
    };
    if (std::any_of(transitions.begin(), transitions.end(), missing_end)) {
      fixed = transitions;
      for (AlertTransition& t : fixed) {
        if (missing_end(t)) t.alert.ends_ms = now_ms;
      }
      queued = &fixed;
    }
    if (!impl_->alertmanagers.empty()) {
      // One copy shared by every Alertmanager worker.
      const auto shared = std::make_shared<const std::vector<Alert>>(active);
      for (AlertmanagerReceiver* r : impl_->alertmanagers) r->Push(*queued, shared);
    }
    if (!queued->empty()) {
      for (WebhookReceiver* r : impl_->webhooks) r->Push(*queued);
    }
  } catch (const std::exception& e) {
    impl_->log->error("alert publish failed: {}", e.what());
  }
}

std::vector<ReceiverStats> AlertDispatcher::Stats() const {
  std::vector<ReceiverStats> out;
  out.reserve(impl_->receivers.size());
  for (const auto& r : impl_->receivers) out.push_back(r->Stats());
  return out;
}

}  // namespace ccmon::collector
