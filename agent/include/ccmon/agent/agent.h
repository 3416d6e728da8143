// The agent process: sources -> spool -> sender, on one Asio io_context plus the sender's
// thread. Options come from a YAML file and flags (flags win).
#pragma once

#include <absl/status/statusor.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ccmon/agent/probe_target.h"
#include "ccmon/agent/sip_options.h"
#include "ccmon/model/event.h"
#include "ccmon/time/clock.h"

namespace ccmon::agent {

struct AgentOptions {
  std::string site;
  // Collector address; a comma-separated list makes the sender fail over to the next one
  // when a stream fails (a standby collector of the same shard).
  std::string collector = "127.0.0.1:7400";
  std::string spool_dir;  // default: ./ccmon-spool-<site>
  std::vector<std::string> queue_logs;
  bool from_start = false;
  // Asterisk's configuration directory (queues.conf and its includes): static members,
  // member names, wrapuptime, servicelevel. Empty: lines are read without it.
  std::string asterisk_config;
  // Realtime members: "queue,interface,member name[,wrapuptime]" per line (docs/configuration.md).
  std::string asterisk_members;
  // A call still waiting this long with no outcome logged is closed as lost.
  double max_wait_s = 3600;
  std::map<std::string, double> max_wait_s_by_queue;
  // Pause reasons that mean after-call work (wrap-up) rather than a break.
  std::vector<std::string> acw_pause_reasons;
  // JSON-lines event files ("-": standard input), docs/jsonl.md.
  std::vector<std::string> jsonl;
  bool simulate = false;
  std::string scenario = "normal";
  std::uint64_t seed = 1;
  // With --once and --simulate: simulate this many seconds ending now, then exit.
  double simulate_seconds = 3600;
  // With --once: the simulated span ends here (Unix seconds) instead of now, e.g. to backfill
  // a whole past month. 0: now.
  double simulate_end_s = 0;
  // Seconds between simulated link samples (0: no link samples).
  double sim_link_every_s = 5;
  std::vector<std::string> sim_queues;
  int sim_agents = 12;
  double sim_calls_per_minute = 0.8;
  double sim_handle_s = 180;
  // When the scenario's disaster starts (seconds after start) and how long it lasts.
  double sim_disaster_at_s = 120;
  double sim_disaster_for_s = 180;
  std::string truth_file;
  std::vector<ProbeTarget> probes;
  int probe_interval_ms = 1000;
  int heartbeat_ms = 5000;
  int poll_ms = 200;
  bool once = false;
  int once_timeout_s = 120;
  // On SIGTERM/SIGINT: stop reading sources, then keep sending for up to this long so a clean
  // stop leaves nothing behind (what is left stays spooled for the next start).
  int drain_timeout_s = 10;
  std::size_t batch_max = 256;
  std::uint64_t spool_max_bytes = 1ULL << 30;
  // Input lines longer than this are skipped whole, logged with their number and counted.
  std::size_t max_line_bytes = 64 << 10;
  // Send a token to a collector that is neither TLS nor on this machine (readable on the path).
  bool allow_insecure_token = false;
  std::string overflow = "block";  // block | drop_oldest
  bool fsync = true;
  std::string log_level = "info";
  // Transport security: TLS with the collector's CA; a client certificate for mTLS (the
  // site id in its SAN or CN); a bearer token file (first line) for per-site tokens.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string token_file;
};

// Reads a YAML agent config; errors name the file, line and key.
absl::StatusOr<AgentOptions> LoadAgentOptions(const std::string& path);
// Checks the options are complete and coherent (site set, a source chosen...).
absl::Status ValidateAgentOptions(const AgentOptions& options);

// Runs the agent until SIGTERM/SIGINT (or, with once, until everything is acked).
// Returns the process exit code. `clock` stamps what the agent makes itself (heartbeats, probe
// samples, simulated calls); the system clock by default.
int RunAgent(const AgentOptions& options);
int RunAgent(const AgentOptions& options, const Clock& clock);

}  // namespace ccmon::agent
