// Everything the collector process is configured with: the core's config plus process wiring.
// Loaded from YAML (LoadCollectorOptions) and then overridden by flags.
#pragma once

#include <absl/status/statusor.h>

#include <map>
#include <string>
#include <vector>

#include "ccmon/collector/config.h"
#include "ccmon/collector/delivery_options.h"

namespace ccmon::collector {

// Who may talk to the collector. With nothing set (the embedded default) any site is accepted
// and the Monitor API is open: loopback only, for a single machine.
struct SecurityOptions {
  // TLS for gRPC (ingest and Monitor). client_ca enables mTLS: agents must present a
  // certificate signed by it, and the site id is taken from its SAN (DNS or URI) or CN.
  std::string tls_cert;
  std::string tls_key;
  std::string client_ca;
  // Per-site bearer tokens ("authorization: Bearer T" on the ingest stream): site -> token.
  std::map<std::string, std::string> site_tokens;
  struct MonitorToken {
    std::string token;
    std::string client;  // empty: every client (vendor operations)
    bool pii = false;    // may see caller ids unmasked
  };
  std::vector<MonitorToken> monitor_tokens;
  bool TlsEnabled() const { return !tls_cert.empty(); }
  bool IngestAuthRequired() const { return !client_ca.empty() || !site_tokens.empty(); }
};

struct CollectorOptions {
  std::string listen = "127.0.0.1:7400";
  std::string metrics_listen = "127.0.0.1:9464";
  std::string data_dir;
  // Names the set of sites this collector watches (replicas of one shard share the name). On
  // ccmon_build_info and on every alert sent to Alertmanager as the `shard` label, so that an
  // alert about the collector (CollectorDown, NoSitesReporting) silences only its own sites'.
  std::string shard = "default";
  // Where the ledger lives: empty, a SQLite file in data_dir (in memory without one); or a
  // postgresql:// URI, one database the replicas and shards of a deployment share.
  std::string ledger_database;
  std::vector<std::string> alertmanagers;
  std::string continuity_rules;  // empty: built-in defaults (those of rules/continuity.yaml)
  // Retry, resend and queue settings of alert delivery, and clients[].webhooks. Its
  // alertmanagers field is filled from `alertmanagers` at start.
  DeliveryOptions delivery;
  SecurityOptions security;
  std::string log_level = "info";
  // Plaintext gRPC on a non-loopback address needs this set explicitly.
  bool allow_insecure_remote = false;
  int tick_ms = 1000;
  // With a data_dir: group-commit window of the WAL and how often state is checkpointed.
  // 0: write as soon as the WAL is idle; batches arriving during a write and fsync form the
  // next group anyway. A positive window trades ack latency for fewer fsyncs.
  int wal_fsync_interval_ms = 0;
  int checkpoint_interval_s = 60;
  CoreConfig core;
};

// Reads a YAML config. Every error names the file, line and field at fault; unknown keys are
// errors (a typo must not silently fall back to a default).
absl::StatusOr<CollectorOptions> LoadCollectorOptions(const std::string& path);
// Same, from text (for tests and fuzzing); `name` is used in messages.
absl::StatusOr<CollectorOptions> ParseCollectorOptions(const std::string& text,
                                                       const std::string& name);
// Checks cross-field rules (time zones exist, listen addresses, duplicate names).
absl::Status ValidateCollectorOptions(const CollectorOptions& options);

}  // namespace ccmon::collector
