// ccmon-collector: parse flags, load config, start the server, wait for SIGTERM/SIGINT.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "ccmon/collector/options.h"
#include "ccmon/collector/server.h"

namespace {

constexpr const char* kUsage = R"(usage: ccmon-collector [flags]

Receives site event streams over gRPC, keeps live SLA figures, the interval ledger and
continuity alerts, and exports Prometheus metrics. Runs on embedded defaults with no config.

flags (each also a config file key; flags win):
  --config FILE             YAML config (see docs/configuration.md)
  --listen HOST:PORT        gRPC ingest and Monitor API      [127.0.0.1:7400]
  --metrics-listen HOST:PORT  Prometheus /metrics            [127.0.0.1:9464]
  --data-dir DIR            state directory
  --shard NAME              the sites this collector watches [default]
  --ledger-database URI     postgresql://... shared ledger   [SQLite in data dir]
  --alertmanager URL        Alertmanager base URL (repeatable)
  --continuity-rules FILE   continuity thresholds            [rules/continuity.yaml]
  --log-level LEVEL         trace|debug|info|warn|error      [info]
  --allow-insecure-remote   allow plaintext gRPC on a non-loopback address
  --check-config            check the configuration (and the files it names) and exit:
                            nothing is opened, listened on or sent
  --help, --version

exit codes: 0 clean shutdown (or a valid config), 1 runtime failure, 2 bad flags or config
)";

}  // namespace

int main(int argc, char** argv) {
  using ccmon::collector::CollectorOptions;
  std::string config;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) config = argv[i + 1];
  }
  CollectorOptions o;
  if (!config.empty()) {
    auto loaded = ccmon::collector::LoadCollectorOptions(config);
    if (!loaded.ok()) {
      std::fprintf(stderr, "ccmon-collector: %s\n", std::string(loaded.status().message()).c_str());
      return 2;
    }
    o = *std::move(loaded);
  }
  bool alertmanager_flag = false;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ccmon-collector: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      *out = argv[++i];
    };
    std::string ignored;
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("ccmon-collector %s\n", CCMON_VERSION);
      return 0;
    } else if (a == "--config") {
      value(&ignored);
    } else if (a == "--listen") {
      value(&o.listen);
    } else if (a == "--metrics-listen") {
      value(&o.metrics_listen);
    } else if (a == "--data-dir") {
      value(&o.data_dir);
    } else if (a == "--shard") {
      value(&o.shard);
    } else if (a == "--ledger-database") {
      value(&o.ledger_database);
    } else if (a == "--alertmanager") {
      if (!alertmanager_flag) o.alertmanagers.clear();
      alertmanager_flag = true;
      o.alertmanagers.emplace_back();
      value(&o.alertmanagers.back());
    } else if (a == "--continuity-rules") {
      value(&o.continuity_rules);
    } else if (a == "--log-level") {
      value(&o.log_level);
    } else if (a == "--allow-insecure-remote") {
      o.allow_insecure_remote = true;
    } else if (a == "--check-config") {
      check_only = true;
    } else {
      std::fprintf(stderr, "ccmon-collector: unknown flag %s (see --help)\n", a.c_str());
      return 2;
    }
  }
  if (auto s = ccmon::collector::ValidateCollectorOptions(o); !s.ok()) {
    std::fprintf(stderr, "ccmon-collector: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  const auto level = spdlog::level::from_str(o.log_level);
  if (level == spdlog::level::off && o.log_level != "off") {
    std::fprintf(stderr, "ccmon-collector: unknown log level '%s'\n", o.log_level.c_str());
    return 2;
  }
  if (auto s = ccmon::collector::Server::CheckConfig(o); !s.ok()) {
    std::fprintf(stderr, "ccmon-collector: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  if (check_only) {
    std::printf("ccmon-collector: %s is valid: %zu clients, %zu sites, continuity rules %s\n",
                config.empty() ? "the embedded configuration" : config.c_str(),
                o.core.clients.size(), o.core.sites.size(),
                o.continuity_rules.empty() ? "built in" : o.continuity_rules.c_str());
    return 0;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("collector"));
  spdlog::stderr_color_mt("ingest");
  spdlog::stderr_color_mt("alerting");
  spdlog::set_level(level);

  // Signals are taken synchronously by this thread; block them before threads start.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  ccmon::collector::SystemClock clock;
  auto server = ccmon::collector::Server::Start(o, clock);
  if (!server.ok()) {
    spdlog::error("{}", std::string(server.status().message()));
    return 1;
  }
  spdlog::info("ccmon-collector {} serving gRPC on port {} and /metrics on port {}", CCMON_VERSION,
               (*server)->grpc_port(), (*server)->metrics_port());
  int sig = 0;
  sigwait(&sigs, &sig);
  spdlog::info("signal {}: draining", sig);
  (*server)->Shutdown();
  spdlog::info("stopped");
  return 0;
}
