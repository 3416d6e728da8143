// Delivers continuity alerts to Prometheus Alertmanager (v2 API) and to per-client JSON
// webhooks, off the collector's tick thread. Wire formats: docs/webhooks.md and
// https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ccmon/collector/clock.h"
#include "ccmon/collector/continuity.h"
#include "ccmon/collector/delivery_options.h"

namespace ccmon::collector {

// Pushes alert transitions to one worker thread per receiver (each Alertmanager URL and each
// webhook URL), through bounded per-receiver queues, so a slow or dead receiver delays neither
// ingest nor the other receivers.
//
// Thread-safe: every method may be called from any thread. Publish() never waits on the network:
// it holds a receiver's lock only to update its queue, and workers never hold that lock during
// I/O. Stats() reads atomics and takes no lock.
//
// Delivery is at-least-once as long as a receiver answers within max_attempts (a request that
// timed out may still have been processed, so receivers can see duplicates), and in publish order
// per receiver; see docs/webhooks.md.
class AlertDispatcher {
 public:
  // `clock` schedules Alertmanager resends and stamps endsAt of firing alerts; it must outlive
  // the dispatcher.
  AlertDispatcher(DeliveryOptions options, const Clock& clock);
  ~AlertDispatcher();  // Stop()s
  AlertDispatcher(const AlertDispatcher&) = delete;
  AlertDispatcher& operator=(const AlertDispatcher&) = delete;

  // Starts the workers. Notifications published before Start() wait in the queues.
  void Start();
  // Stops the workers. A receiver that is up gets one last attempt (no retries) at what is still
  // queued; a receiver that is down gets none and what it still holds is counted failed. Returns
  // once every worker has exited, which a hung receiver delays by up to timeout_ms (a slow one
  // with a long queue by more). Idempotent; after it, Publish() is ignored.
  void Stop();

  // Called on the collector's tick (and may be called more often). `transitions` are queued for
  // delivery (webhooks: those of the webhook's client only); `active` is every alert firing now,
  // which Alertmanager receivers re-send every resend_interval_ms. `now_ms` stands in for a
  // resolved alert's missing ends_ms. Never blocks on I/O and never throws.
  void Publish(const std::vector<AlertTransition>& transitions, const std::vector<Alert>& active,
               std::int64_t now_ms) noexcept;

  // One entry per receiver, in a stable order: Alertmanagers, then webhooks by client and URL.
  std::vector<ReceiverStats> Stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

namespace detail {
// Exposed for tests.

// `s` as a JSON string literal, quotes included. Quotes, backslashes and control characters
// (C0, DEL, C1, and U+2028/U+2029, which JavaScript treats as line breaks) are escaped;
// invalid UTF-8 becomes U+FFFD, because receivers (Alertmanager's Go decoder among them) would
// otherwise reject the whole payload or mangle it unpredictably.
std::string JsonString(std::string_view s);

// Unix epoch milliseconds as RFC 3339 UTC with milliseconds: "2026-11-26T10:00:00.000Z".
std::string FormatRfc3339(std::int64_t unix_ms);

// The body of a POST /api/v2/alerts: `transitions` in order, firing ones with
// endsAt = now_ms + auto_resolve_ms, each labelled with `shard` when it is not empty.
std::string AlertmanagerBody(const std::vector<AlertTransition>& transitions, std::int64_t now_ms,
                             std::int64_t auto_resolve_ms, const std::string& generator_url,
                             const std::string& shard = "");

// The body of one webhook POST (docs/webhooks.md).
std::string WebhookBody(const AlertTransition& transition);
}  // namespace detail

}  // namespace ccmon::collector
