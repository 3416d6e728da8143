// ccmon-agent: parse flags over an optional config file, then run.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "ccmon/agent/agent.h"

namespace {

constexpr const char* kUsage =
    R"(usage: ccmon-agent --site ID [--collector HOST:PORT] [flags] SOURCES

Reads a site's telephony events, spools them to disk and streams them to the collector.

sources (at least one):
  --queue-log FILE          tail an Asterisk queue_log, following rotation (repeatable)
  --from-start              read files from their beginning when no position is saved
    --asterisk-config DIR   read DIR/queues.conf: static members, member names, wrapuptime
    --asterisk-members FILE realtime members, "queue,interface,member name[,wrapuptime]"
    --max-wait-s S          close a call waiting S s with no outcome as lost   [3600]
    --acw-pause-reason R    a pause reason meaning after-call work (repeatable)
  --jsonl FILE              JSON-lines events, '-' for stdin (repeatable; docs/jsonl.md)
  --simulate                simulated traffic (demo, tests)
    --scenario NAME         normal|typhoon|wan-outage|voice-degradation|surge   [normal]
    --seed N                                                                  [1]
    --sim-agents N          --sim-calls-per-minute X   --sim-queue NAME (repeatable)
    --sim-handle-s S        mean talk time                                    [180]
    --sim-disaster-at S     the scenario's disaster starts S seconds in       [120]
    --sim-disaster-for S    and lasts S seconds                               [180]
    --simulate-seconds S    with --once: simulate the S seconds ending now    [3600]
    --simulate-end T        with --once: ... ending at T (Unix seconds), not now
    --sim-link-every S      seconds between link samples (0: none)             [5]
    --truth FILE            write the simulator's ground-truth counts per queue
  --probe NAME=HOST:PORT    probe a link by TCP connect (repeatable; not with --once)
  --probe sip:NAME=HOST[:PORT][;transport=udp|tcp]
                            probe a SIP trunk with OPTIONS (port 5060, UDP by default)
  --probe-interval-ms N     probe period (>= 100)                             [1000]

flags (each also a config file key; flags win):
  --config FILE             YAML config (see docs/configuration.md)
  --site ID                 this site's id (required)
  --collector HOST:PORT     collector gRPC address; A,B: replicas, each gets every event
                            [127.0.0.1:7400]
  --spool-dir DIR           spool directory                       [./ccmon-spool-SITE]
  --spool-max-bytes N       spool bound                           [1073741824]
  --overflow POLICY         block|drop_oldest when the spool is full [block]
  --max-line-bytes N        longer input lines are skipped and counted [65536]
  --allow-insecure-token    send --token-file without TLS to a non-loopback collector
  --no-fsync                do not fsync spool commits (tests only)
  --heartbeat-ms N          heartbeat interval                    [5000]
  --batch-max N             events per batch                      [256]
  --once                    send what the sources have now, wait for the acks, exit 0
  --once-timeout S          give up (exit 1) after S seconds       [120]
  --drain-timeout S         on SIGTERM keep sending up to S seconds [10]
  --log-level LEVEL         trace|debug|info|warn|error           [info]
  --tls-ca FILE             verify the collector with this CA (enables TLS)
  --tls-cert FILE --tls-key FILE  client certificate for mTLS (site id in SAN or CN)
  --token-file FILE         per-site bearer token (first line of FILE)
  --help, --version

exit codes: 0 done (or stopped by signal), 1 runtime failure, 2 bad flags or config
)";

}  // namespace

int main(int argc, char** argv) {
  using ccmon::agent::AgentOptions;
  AgentOptions o;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      auto loaded = ccmon::agent::LoadAgentOptions(argv[i + 1]);
      if (!loaded.ok()) {
        std::fprintf(stderr, "ccmon-agent: %s\n", std::string(loaded.status().message()).c_str());
        return 2;
      }
      o = *std::move(loaded);
    }
  }
  bool logs_flag = false, queues_flag = false, jsonl_flag = false, probes_flag = false;
  bool acw_flag = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ccmon-agent: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    auto number = [&]() -> double {
      const std::string v = value();
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0') {
        std::fprintf(stderr, "ccmon-agent: %s needs a number, got '%s'\n", a.c_str(), v.c_str());
        std::exit(2);
      }
      return d;
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("ccmon-agent %s\n", CCMON_VERSION);
      return 0;
    } else if (a == "--config") {
      value();
    } else if (a == "--site") {
      o.site = value();
    } else if (a == "--collector") {
      o.collector = value();
    } else if (a == "--spool-dir") {
      o.spool_dir = value();
    } else if (a == "--spool-max-bytes") {
      o.spool_max_bytes = static_cast<std::uint64_t>(number());
    } else if (a == "--allow-insecure-token") {
      o.allow_insecure_token = true;
    } else if (a == "--max-line-bytes") {
      o.max_line_bytes = static_cast<std::size_t>(number());
    } else if (a == "--overflow") {
      o.overflow = value();
    } else if (a == "--no-fsync") {
      o.fsync = false;
    } else if (a == "--queue-log") {
      if (!logs_flag) o.queue_logs.clear();
      logs_flag = true;
      o.queue_logs.push_back(value());
    } else if (a == "--jsonl") {
      if (!jsonl_flag) o.jsonl.clear();
      jsonl_flag = true;
      o.jsonl.push_back(value());
    } else if (a == "--from-start") {
      o.from_start = true;
    } else if (a == "--asterisk-config") {
      o.asterisk_config = value();
    } else if (a == "--asterisk-members") {
      o.asterisk_members = value();
    } else if (a == "--max-wait-s") {
      o.max_wait_s = number();
    } else if (a == "--acw-pause-reason") {
      if (!acw_flag) o.acw_pause_reasons.clear();
      acw_flag = true;
      o.acw_pause_reasons.push_back(value());
    } else if (a == "--simulate") {
      o.simulate = true;
    } else if (a == "--scenario") {
      o.scenario = value();
    } else if (a == "--seed") {
      o.seed = static_cast<std::uint64_t>(number());
    } else if (a == "--sim-agents") {
      o.sim_agents = static_cast<int>(number());
    } else if (a == "--sim-calls-per-minute") {
      o.sim_calls_per_minute = number();
    } else if (a == "--sim-handle-s") {
      o.sim_handle_s = number();
    } else if (a == "--sim-disaster-at") {
      o.sim_disaster_at_s = number();
    } else if (a == "--sim-disaster-for") {
      o.sim_disaster_for_s = number();
    } else if (a == "--sim-queue") {
      if (!queues_flag) o.sim_queues.clear();
      queues_flag = true;
      o.sim_queues.push_back(value());
    } else if (a == "--simulate-seconds") {
      o.simulate_seconds = number();
    } else if (a == "--simulate-end") {
      o.simulate_end_s = number();
    } else if (a == "--sim-link-every") {
      o.sim_link_every_s = number();
    } else if (a == "--truth") {
      o.truth_file = value();
    } else if (a == "--probe") {
      auto t = ccmon::agent::ParseProbeSpec(value());
      if (!t.ok()) {
        std::fprintf(stderr, "ccmon-agent: --probe: %s\n",
                     std::string(t.status().message()).c_str());
        return 2;
      }
      if (!probes_flag) o.probes.clear();  // flags replace the config's list, as for --queue-log
      probes_flag = true;
      o.probes.push_back(*std::move(t));
    } else if (a == "--probe-interval-ms") {
      o.probe_interval_ms = static_cast<int>(number());
    } else if (a == "--heartbeat-ms") {
      o.heartbeat_ms = static_cast<int>(number());
    } else if (a == "--batch-max") {
      o.batch_max = static_cast<std::size_t>(number());
    } else if (a == "--once") {
      o.once = true;
    } else if (a == "--once-timeout") {
      o.once_timeout_s = static_cast<int>(number());
    } else if (a == "--drain-timeout") {
      o.drain_timeout_s = static_cast<int>(number());
    } else if (a == "--tls-ca") {
      o.tls_ca = value();
    } else if (a == "--tls-cert") {
      o.tls_cert = value();
    } else if (a == "--tls-key") {
      o.tls_key = value();
    } else if (a == "--token-file") {
      o.token_file = value();
    } else if (a == "--log-level") {
      o.log_level = value();
    } else {
      std::fprintf(stderr, "ccmon-agent: unknown flag %s (see --help)\n", a.c_str());
      return 2;
    }
  }
  if (auto s = ccmon::agent::ValidateAgentOptions(o); !s.ok()) {
    std::fprintf(stderr, "ccmon-agent: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  const auto level = spdlog::level::from_str(o.log_level);
  if (level == spdlog::level::off && o.log_level != "off") {
    std::fprintf(stderr, "ccmon-agent: unknown log level '%s'\n", o.log_level.c_str());
    return 2;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("agent"));
  spdlog::set_level(level);
  return ccmon::agent::RunAgent(o);
}
