// How continuity alerts are delivered (Alertmanager and client webhooks): the settings the
// collector's configuration holds and the counters delivery reports, apart from the dispatcher
// that acts on them (alert_delivery.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ccmon::collector {

struct DeliveryOptions {
  // Alertmanager base URLs, e.g. http://127.0.0.1:9093 ("/api/v2/alerts" is appended unless the
  // URL already ends with it). Each URL is its own receiver: a clustered Alertmanager wants every
  // member to get every alert, and it deduplicates.
  std::vector<std::string> alertmanagers;
  // client -> webhook URLs; a webhook only gets alerts whose `client` is its key.
  std::map<std::string, std::vector<std::string>> client_webhooks;
  // Pending notifications per receiver; past it the oldest is dropped and counted. For an
  // Alertmanager receiver an entry is one alert key (states of the same alert collapse).
  std::size_t queue_capacity = 1000;
  // Firing alerts are re-sent to Alertmanager this often, and carry endsAt = send time + 10x
  // this, so Alertmanager resolves them by itself if the collector stops sending: after
  // CollectorDown (1 min and a scrape) has fired and silences them, so that a collector that
  // dies does not tell everyone its alerts are over.
  std::int64_t resend_interval_ms = 30000;
  // Whole-request timeout (connect included) of one HTTP attempt.
  std::int64_t timeout_ms = 5000;
  // Delay after a failed attempt: doubles from initial up to max, with jitter (half fixed, half
  // random) so that receivers recovering from an outage are not hit by every collector at once.
  std::int64_t backoff_initial_ms = 500, backoff_max_ms = 30000;
  // Attempts per notification (first try included) before it is counted failed.
  int max_attempts = 5;
  // Sent as generatorURL to Alertmanager (a link back to this collector); omitted when empty.
  std::string generator_url;
  // Sent as the `shard` label of every alert to Alertmanager; omitted when empty.
  std::string shard;
};

// Counters of one receiver, for /metrics.
struct ReceiverStats {
  // Metric label value: "alertmanager:<url>" or "webhook:<client>:<url>" (URL credentials, i.e.
  // user:password@, are replaced by "***@").
  std::string receiver;
  // Alert notifications by result. An Alertmanager POST carries several alerts and counts each
  // of them; a webhook POST is one notification.
  std::uint64_t sent = 0;
  std::uint64_t failed = 0;   // given up: max_attempts failed, or rejected with a 4xx
  std::uint64_t dropped = 0;  // pushed out of a full queue before being sent
  std::size_t queue_length = 0;
  bool up = true;  // false while the last attempt failed
};

}  // namespace ccmon::collector
