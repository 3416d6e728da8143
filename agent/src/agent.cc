// Agent wiring: sources feed the spool on the io thread; the sender drains it on its own.
#include "ccmon/agent/agent.h"

#include <absl/strings/str_cat.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <asio.hpp>
#include <chrono>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <thread>

#include "ccmon/agent/simulator.h"
#include "ccmon/agent/spool.h"
#include "ccmon/v1/events.pb.h"
#include "ccmon/wire/codec.h"
#include "log.h"
#include "sources/jsonl_source.h"
#include "sources/link_prober.h"
#include "sources/queue_log_source.h"
#include "transport/sender.h"

namespace ccmon::agent {

namespace {

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::Status KeyError(const std::string& file, const YAML::Node& n, const std::string& key,
                      const std::string& msg) {
  return absl::InvalidArgumentError(
      absl::StrCat(file, ":", n.Mark().line + 1, ": field '", key, "': ", msg));
}

// Appends events to the spool (caller holds the spool mutex) as encoded wire events.
class SpoolWriter {
 public:
  explicit SpoolWriter(Spool& spool) : spool_(spool) {}
  void Append(const Event& e) {
    Event numbered = e;
    numbered.seq = spool_.next_seq();
    proto_.Clear();
    wire::ToProto(numbered, &proto_);
    proto_.SerializeToString(&buf_);
    std::string err;
    if (!spool_.Append(buf_, &err)) Fail(err);
  }
  void Commit(std::string_view source, std::string_view cursor) {
    std::string err;
    if (!spool_.Commit(source, cursor, &err)) Fail(err);
  }

 private:
  [[noreturn]] static void Fail(const std::string& err) {
    // Nothing uncommitted is lost: on restart recovery cuts the partial chunk and the
    // sources re-read it.
    Log()->critical("spool write failed, stopping: {}", err);
    std::exit(1);
  }
  Spool& spool_;
  v1::Event proto_;
  std::string buf_;
};

}  // namespace

absl::StatusOr<AgentOptions> LoadAgentOptions(const std::string& path) {
  AgentOptions o;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return absl::NotFoundError(path + ": cannot open config file");
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", e.mark.line + 1, ": ", e.msg));
  }
  if (root.IsNull()) return o;
  if (!root.IsMap()) return KeyError(path, root, "", "top level must be a mapping");
  try {
    for (const auto& kv : root) {
      const std::string k = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      if (k == "site")
        o.site = v.as<std::string>();
      else if (k == "collector")
        o.collector = v.as<std::string>();
      else if (k == "spool_dir")
        o.spool_dir = v.as<std::string>();
      else if (k == "queue_logs")
        o.queue_logs = v.as<std::vector<std::string>>();
      else if (k == "from_start")
        o.from_start = v.as<bool>();
      else if (k == "jsonl")
        o.jsonl = v.as<std::vector<std::string>>();
      else if (k == "simulate")
        o.simulate = v.as<bool>();
      else if (k == "scenario")
        o.scenario = v.as<std::string>();
      else if (k == "seed")
        o.seed = v.as<std::uint64_t>();
      else if (k == "simulate_seconds")
        o.simulate_seconds = v.as<double>();
      else if (k == "simulate_end")
        o.simulate_end_s = v.as<double>();
      else if (k == "sim_link_every_s")
        o.sim_link_every_s = v.as<double>();
      else if (k == "sim_queues")
        o.sim_queues = v.as<std::vector<std::string>>();
      else if (k == "sim_agents")
        o.sim_agents = v.as<int>();
      else if (k == "sim_calls_per_minute")
        o.sim_calls_per_minute = v.as<double>();
      else if (k == "sim_handle_s")
        o.sim_handle_s = v.as<double>();
      else if (k == "sim_disaster_at_s")
        o.sim_disaster_at_s = v.as<double>();
      else if (k == "sim_disaster_for_s")
        o.sim_disaster_for_s = v.as<double>();
      else if (k == "truth_file")
        o.truth_file = v.as<std::string>();
      else if (k == "probe_interval_ms")
        o.probe_interval_ms = v.as<int>();
      else if (k == "heartbeat_ms")
        o.heartbeat_ms = v.as<int>();
      else if (k == "poll_ms")
        o.poll_ms = v.as<int>();
      else if (k == "once_timeout_s")
        o.once_timeout_s = v.as<int>();
      else if (k == "drain_timeout_s")
        o.drain_timeout_s = v.as<int>();
      else if (k == "batch_max")
        o.batch_max = v.as<std::size_t>();
      else if (k == "spool_max_bytes")
        o.spool_max_bytes = v.as<std::uint64_t>();
      else if (k == "overflow")
        o.overflow = v.as<std::string>();
      else if (k == "fsync")
        o.fsync = v.as<bool>();
      else if (k == "log_level")
        o.log_level = v.as<std::string>();
      else if (k == "tls_ca")
        o.tls_ca = v.as<std::string>();
      else if (k == "tls_cert")
        o.tls_cert = v.as<std::string>();
      else if (k == "tls_key")
        o.tls_key = v.as<std::string>();
      else if (k == "token_file")
        o.token_file = v.as<std::string>();
      else if (k == "probes") {
        for (const auto& p : v) {
          const auto s = p.as<std::string>();
          const auto eq = s.find('='), colon = s.rfind(':');
          if (eq == std::string::npos || colon == std::string::npos || colon < eq) {
            return KeyError(path, p, "probes", "expected NAME=HOST:PORT, got '" + s + "'");
          }
          o.probes.push_back(
              {s.substr(0, eq), s.substr(eq + 1, colon - eq - 1), s.substr(colon + 1)});
        }
      } else {
        return KeyError(path, kv.first, k, "unknown key");
      }
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.mark.line + 1, ": value has the wrong type: ", e.msg));
  }
  return o;
}

absl::Status ValidateAgentOptions(const AgentOptions& o) {
  if (o.site.empty()) return absl::InvalidArgumentError("--site is required");
  if (o.site.size() > 64 ||
      o.site.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
          std::string::npos) {
    return absl::InvalidArgumentError("site id must be 1-64 characters of [A-Za-z0-9._-]");
  }
  if (o.queue_logs.empty() && o.jsonl.empty() && !o.simulate && o.probes.empty() && !o.once) {
    return absl::InvalidArgumentError(
        "choose a source: --queue-log FILE, --jsonl FILE, --simulate or --probe");
  }
  if (o.simulate && !Simulator::KnownScenario(o.scenario)) {
    return absl::InvalidArgumentError("unknown scenario '" + o.scenario +
                                      "' (normal, typhoon, wan-outage, voice-degradation, surge)");
  }
  if (o.overflow != "block" && o.overflow != "drop_oldest") {
    return absl::InvalidArgumentError("overflow must be block or drop_oldest");
  }
  if (o.batch_max < 1 || o.batch_max > 65536) {
    return absl::InvalidArgumentError("batch_max must be within [1, 65536]");
  }
  if (o.heartbeat_ms < 100 || o.poll_ms < 10) {
    return absl::InvalidArgumentError("heartbeat_ms must be >= 100 and poll_ms >= 10");
  }
  return absl::OkStatus();
}

int RunAgent(const AgentOptions& o) {
  auto log = Log();
  std::mutex spool_mu;
  Spool spool;
  SpoolOptions so;
  so.dir = o.spool_dir.empty() ? "ccmon-spool-" + o.site : o.spool_dir;
  so.max_bytes = o.spool_max_bytes;
  so.overflow = o.overflow == "drop_oldest" ? OverflowPolicy::kDropOldest : OverflowPolicy::kBlock;
  so.fsync_on_commit = o.fsync;
  std::string err;
  if (!spool.Open(so, &err)) {
    log->error("{}", err);
    return 1;
  }
  log->info("spool {}: instance {}, next seq {}, {} bytes{}", so.dir, spool.instance_id(),
            spool.next_seq(), spool.stats().bytes,
            spool.stats().torn_bytes_cut > 0
                ? absl::StrCat(", cut ", spool.stats().torn_bytes_cut, " torn/uncommitted bytes")
                : "");
  SpoolWriter writer(spool);
  auto sink = [&writer](const Event& e) { writer.Append(e); };

  std::vector<std::unique_ptr<QueueLogSource>> logs;
  for (const auto& path : o.queue_logs) {
    auto src = std::make_unique<QueueLogSource>(path, sink);
    if (!src->Start(spool.Cursor("queue_log:" + path), o.from_start, &err)) {
      log->error("cannot read queue_log {}", err);
      return 1;
    }
    logs.push_back(std::move(src));
  }
  std::vector<std::unique_ptr<JsonlSource>> jsonls;
  for (const auto& path : o.jsonl) {
    auto src = std::make_unique<JsonlSource>(path, sink, o.once);
    if (!src->Start(spool.Cursor("jsonl:" + path), o.from_start, &err)) {
      log->error("cannot read JSON-lines source {}", err);
      return 1;
    }
    jsonls.push_back(std::move(src));
  }
  std::unique_ptr<Simulator> sim;
  std::int64_t sim_end_ms = std::numeric_limits<std::int64_t>::max();
  if (o.simulate) {
    SimulatorOptions sopt;
    sopt.seed = o.seed;
    sopt.scenario = o.scenario;
    if (!o.sim_queues.empty()) sopt.queues = o.sim_queues;
    sopt.agents = o.sim_agents;
    sopt.calls_per_minute = o.sim_calls_per_minute;
    sopt.mean_handle_s = o.sim_handle_s;
    sopt.disaster_at_s = o.sim_disaster_at_s;
    sopt.disaster_for_s = o.sim_disaster_for_s;
    if (o.sim_link_every_s > 0) {
      sopt.link_sample_every_s = o.sim_link_every_s;
    } else {
      sopt.link.clear();
    }
    sim_end_ms = o.once && o.simulate_end_s > 0 ? static_cast<std::int64_t>(o.simulate_end_s * 1000)
                                                : std::numeric_limits<std::int64_t>::max();
    const std::int64_t start = o.once ? std::min(NowMs(), sim_end_ms) -
                                            static_cast<std::int64_t>(o.simulate_seconds * 1000)
                                      : NowMs();
    sim = std::make_unique<Simulator>(sopt, start);
  }

  // One pass over the sources: each chunk is committed with its cursor.
  auto poll_sources = [&]() {
    std::lock_guard lock(spool_mu);
    for (auto& src : logs) {
      if (spool.Full()) break;
      if (src->Poll() > 0) writer.Commit("queue_log:" + src->path(), src->Cursor());
    }
    for (auto& src : jsonls) {
      if (spool.Full()) break;
      if (src->Poll() > 0) writer.Commit("jsonl:" + src->path(), src->Cursor());
    }
    if (sim && !spool.Full()) {
      const auto before = spool.next_seq();
      sim->Advance(std::min(NowMs(), sim_end_ms), sink);
      if (spool.next_seq() != before) writer.Commit("simulator", "");
    }
  };
  auto heartbeat = [&]() {
    std::lock_guard lock(spool_mu);
    const auto st = spool.stats();
    Heartbeat hb;
    hb.agent_time_ms = NowMs();
    hb.spool_backlog_events = st.committed_seq - st.acked_seq;
    hb.spool_backlog_bytes = st.bytes;
    hb.events_dropped = st.dropped_events;
    hb.agent_version = CCMON_VERSION;
    hb.interval_ms = static_cast<std::uint32_t>(o.heartbeat_ms);
    writer.Append(Event{0, hb.agent_time_ms, hb});
    writer.Commit("heartbeat", "");
  };
  auto write_truth = [&]() {
    if (!sim || o.truth_file.empty()) return;
    std::ofstream out(o.truth_file);
    out << sim->TruthText();
  };

  SenderOptions sopt;
  for (const auto& [path, out] :
       {std::pair{o.tls_ca, &sopt.tls_ca}, std::pair{o.tls_cert, &sopt.tls_cert},
        std::pair{o.tls_key, &sopt.tls_key}, std::pair{o.token_file, &sopt.token}}) {
    if (path.empty()) continue;
    std::ifstream in(path);
    if (!in) {
      log->error("cannot read {}", path);
      return 1;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    *out = ss.str();
  }
  while (!sopt.token.empty() && (sopt.token.back() == '\n' || sopt.token.back() == '\r')) {
    sopt.token.pop_back();
  }
  sopt.collector = o.collector;
  sopt.site = o.site;
  sopt.version = CCMON_VERSION;
  sopt.batch_max = o.batch_max;
  Sender sender(sopt, spool, spool_mu);

  if (o.once) {
    poll_sources();
    heartbeat();
    write_truth();
    for (const auto& src : jsonls) {
      const auto& st = src->stats();
      log->info("{}: {} lines, {} events, {} rejected", src->path(), st.lines, st.events,
                st.rejected);
    }
    for (const auto& src : logs) {
      const auto& st = src->stats();
      log->info(
          "{}: {} lines, {} events, {} malformed, {} blank, {} duplicates, {} reconstructed, "
          "{} unknown kinds",
          src->path(), st.lines, st.events, st.malformed, st.blank, st.duplicates, st.reconstructed,
          st.unknown_kinds);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.once_timeout_s);
    if (!sender.DrainUntilAcked(deadline)) {
      log->error("collector {} did not acknowledge everything within {} s", o.collector,
                 o.once_timeout_s);
      return 1;
    }
    log->info("all events acknowledged up to seq {}", sender.acked());
    return 0;
  }

  asio::io_context io;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code&, int sig) {
    log->info("signal {}: stopping", sig);
    io.stop();
  });
  asio::steady_timer poll_timer(io), hb_timer(io);
  std::function<void()> schedule_poll = [&] {
    poll_timer.expires_after(std::chrono::milliseconds(o.poll_ms));
    poll_timer.async_wait([&](const asio::error_code& ec) {
      if (ec) return;
      poll_sources();
      sender.Notify();
      schedule_poll();
    });
  };
  std::function<void()> schedule_hb = [&] {
    hb_timer.expires_after(std::chrono::milliseconds(o.heartbeat_ms));
    hb_timer.async_wait([&](const asio::error_code& ec) {
      if (ec) return;
      heartbeat();
      write_truth();
      sender.Notify();
      schedule_hb();
    });
  };
  LinkProber prober(io, o.probes, std::chrono::milliseconds(o.probe_interval_ms),
                    [&](const Event& e) {
                      std::lock_guard lock(spool_mu);
                      writer.Append(e);
                      writer.Commit("probe", "");
                      sender.Notify();
                    });
  poll_sources();
  heartbeat();
  schedule_poll();
  schedule_hb();
  prober.Start();
  std::thread send_thread([&] { sender.Run([&] { return sim && sim->WanDown(NowMs()); }); });
  io.run();
  std::uint64_t target = 0;
  {
    std::lock_guard lock(spool_mu);
    target = spool.stats().committed_seq;
  }
  if (o.drain_timeout_s > 0 && sender.acked() < target) {
    log->info("draining: waiting up to {} s for the collector to ack seq {}", o.drain_timeout_s,
              target);
    sender.Notify();
    sender.WaitAcked(target,
                     std::chrono::steady_clock::now() + std::chrono::seconds(o.drain_timeout_s));
  }
  sender.Stop();
  send_thread.join();
  write_truth();
  log->info("stopped; {} events unacknowledged remain spooled", [&] {
    std::lock_guard lock(spool_mu);
    const auto st = spool.stats();
    return st.committed_seq - st.acked_seq;
  }());
  return 0;
}

}  // namespace ccmon::agent
