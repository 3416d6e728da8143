// Agent wiring: sources feed the spool on the io thread; the sender drains it on its own.
#include "ccmon/agent/agent.h"

#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <asio.hpp>
#include <chrono>
#include <fstream>
#include <limits>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "ccmon/agent/asterisk_config.h"
#include "ccmon/agent/queue_log.h"
#include "ccmon/agent/simulator.h"
#include "ccmon/agent/spool.h"
#include "ccmon/net/loopback.h"
#include "ccmon/v1/events.pb.h"
#include "ccmon/wire/codec.h"
#include "log.h"
#include "sources/jsonl_source.h"
#include "sources/link_prober.h"
#include "sources/queue_log_source.h"
#include "sources/sip_prober.h"
#include "transport/sender.h"

namespace ccmon::agent {

namespace {

absl::Status KeyError(const std::string& file, const YAML::Node& n, const std::string& key,
                      const std::string& msg) {
  return absl::InvalidArgumentError(
      absl::StrCat(file, ":", n.Mark().line + 1, ": field '", key, "': ", msg));
}

// Appends events to the spool (caller holds the spool mutex) as encoded wire events. A write
// the disk refuses (full, I/O error) fails the whole chunk: the writer rolls the spool back to
// its last commit, remembers the failure, and ignores the chunk's other events; the caller
// re-reads the chunk's input later (Retry). Input is never lost for it and the agent never
// exits for it.
class SpoolWriter {
 public:
  SpoolWriter(Spool& spool, const Clock& clock) : spool_(spool), clock_(clock) {}
  void Append(const Event& e) {
    if (failed_) return;
    proto_.Clear();
    wire::ToProto(e, &proto_);
    proto_.set_seq(spool_.next_seq());
    proto_.SerializeToString(&buf_);
    std::string err;
    if (!spool_.Append(buf_, &err)) Fail(err);
  }
  // False when the chunk failed (already rolled back).
  bool Commit(std::string_view source, std::string_view cursor) {
    if (failed_) return false;
    std::string err;
    if (!spool_.Commit(source, cursor, &err)) Fail(err);
    return !failed_;
  }
  // Whether the last chunk failed; clears the mark so the next chunk is tried.
  bool TakeFailure() { return std::exchange(failed_, false); }
  // Writes are refused until this time after a failure.
  bool Paused() const { return clock_.MonotonicMs() < retry_at_ms_; }
  const std::string& last_error() const { return last_error_; }

 private:
  void Fail(const std::string& err) {
    failed_ = true;
    last_error_ = err;
    retry_at_ms_ = clock_.MonotonicMs() + kRetryMs;
    std::string rb;
    const bool rolled = spool_.Rollback(&rb);
    if (failures_++ % 60 == 0) {
      Log()->error(
          "spool write failed: {}; sources paused, the chunk will be read again (retried every "
          "5 s){}",
          err, rolled ? "" : "; rolling back also failed: " + rb);
    }
  }
  Spool& spool_;
  v1::Event proto_;
  std::string buf_;
  bool failed_ = false;
  std::uint64_t failures_ = 0;
  std::string last_error_;
  static constexpr std::int64_t kRetryMs = 5000;
  const Clock& clock_;
  std::int64_t retry_at_ms_ = std::numeric_limits<std::int64_t>::min();
};

}  // namespace

absl::StatusOr<ProbeTarget> ParseProbeSpec(std::string_view spec) {
  constexpr std::string_view kSip = "sip:";
  const bool sip = spec.substr(0, kSip.size()) == kSip;
  const std::string usage =
      sip ? "expected sip:NAME=HOST[:PORT][;transport=udp|tcp]" : "expected NAME=HOST:PORT";
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError("probe '" + std::string(spec) + "': " + why);
  };
  std::string_view rest = sip ? spec.substr(kSip.size()) : spec;
  ProbeTarget t;
  t.kind = sip ? LinkKind::kSipTrunk : LinkKind::kNetwork;
  if (sip) {
    t.port = "5060";
    if (const auto semi = rest.find(';'); semi != std::string_view::npos) {
      const std::string param(rest.substr(semi + 1));
      rest = rest.substr(0, semi);
      if (param == "transport=udp") {
        t.transport = SipTransport::kUdp;
      } else if (param == "transport=tcp") {
        t.transport = SipTransport::kTcp;
      } else if (param.rfind("transport=", 0) == 0) {
        return bad("unknown transport '" + param.substr(10) + "' (udp or tcp)");
      } else {
        return bad("unknown parameter '" + param + "' (only ;transport=udp|tcp)");
      }
    }
  }
  const auto eq = rest.find('=');
  if (eq == std::string_view::npos) return bad(usage + ": no '='");
  t.name = std::string(rest.substr(0, eq));
  std::string_view addr = rest.substr(eq + 1);
  if (t.name.empty()) return bad(usage + ": empty NAME");
  if (t.name.size() > 64 || t.name.find_first_of(" \t=;") != std::string::npos) {
    return bad("NAME must be 1-64 characters without spaces, '=' or ';'");
  }
  // HOST, [IPv6] or HOST:PORT, [IPv6]:PORT.
  std::string_view port;
  bool has_port = false;
  if (!addr.empty() && addr.front() == '[') {
    const auto close = addr.find(']');
    if (close == std::string_view::npos) return bad("unterminated '[' in HOST");
    const std::string_view after = addr.substr(close + 1);
    if (!after.empty() && after.front() != ':') return bad(usage + ": junk after ']'");
    has_port = !after.empty();
    port = has_port ? after.substr(1) : std::string_view();
    addr = addr.substr(1, close - 1);
  } else if (const auto colon = addr.rfind(':'); colon != std::string_view::npos) {
    has_port = true;
    port = addr.substr(colon + 1);
    addr = addr.substr(0, colon);
  }
  if (addr.empty()) return bad(usage + ": empty HOST");
  t.host = std::string(addr);
  if (!has_port && !sip) return bad(usage + ": no PORT");
  if (has_port) {
    if (port.empty()) return bad(usage + ": empty PORT");
    t.port = std::string(port);
  }
  if (sip) {
    // SIP targets are addressed by number: a service name would hide a typo until the first
    // probe.
    int n = 0;
    for (char c : t.port) {
      if (c < '0' || c > '9' || n > 65535) return bad("PORT must be a number within 1-65535");
      n = n * 10 + (c - '0');
    }
    if (n < 1 || n > 65535) return bad("PORT must be a number within 1-65535");
  }
  return t;
}

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
    std::set<std::string> seen;
    for (const auto& kv : root) {
      const std::string k = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      // yaml-cpp keeps both values of a repeated key: which one counts must not be a surprise.
      if (!seen.insert(k).second) return KeyError(path, kv.first, k, "duplicate key");
      if (k == "site")
        o.site = v.as<std::string>();
      else if (k == "collector")
        o.collector = v.as<std::string>();
      else if (k == "collectors")  // the replicas as a list: the same as collector: A,B
        o.collector = absl::StrJoin(v.as<std::vector<std::string>>(), ",");
      else if (k == "spool_dir")
        o.spool_dir = v.as<std::string>();
      else if (k == "queue_logs")
        o.queue_logs = v.as<std::vector<std::string>>();
      else if (k == "from_start")
        o.from_start = v.as<bool>();
      else if (k == "asterisk_config")
        o.asterisk_config = v.as<std::string>();
      else if (k == "asterisk_members")
        o.asterisk_members = v.as<std::string>();
      else if (k == "max_wait_s")
        o.max_wait_s = v.as<double>();
      else if (k == "max_wait_s_by_queue")
        o.max_wait_s_by_queue = v.as<std::map<std::string, double>>();
      else if (k == "acw_pause_reasons")
        o.acw_pause_reasons = v.as<std::vector<std::string>>();
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
      else if (k == "allow_insecure_token")
        o.allow_insecure_token = v.as<bool>();
      else if (k == "max_line_bytes")
        o.max_line_bytes = v.as<std::size_t>();
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
          auto t = ParseProbeSpec(p.as<std::string>());
          if (!t.ok()) return KeyError(path, p, "probes", std::string(t.status().message()));
          o.probes.push_back(*std::move(t));
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
  {
    // The collector replicas: each once, HOST:PORT, nothing else.
    std::set<std::string> seen;
    for (const auto& addr : absl::StrSplit(o.collector, ',')) {
      const std::string a(addr);
      if (a.empty() || a.find(':') == std::string::npos ||
          a.find_first_of(" \t") != std::string::npos) {
        return absl::InvalidArgumentError("collector '" + o.collector +
                                          "': each replica must be HOST:PORT, comma-separated");
      }
      if (!seen.insert(a).second) {
        return absl::InvalidArgumentError("collector '" + o.collector + "' names " + a + " twice");
      }
    }
  }
  if (!o.token_file.empty() && o.tls_ca.empty() && !o.allow_insecure_token) {
    for (const auto& addr : absl::StrSplit(o.collector, ',')) {
      if (!net::IsLoopbackAddress(std::string(addr))) {
        return absl::InvalidArgumentError(absl::StrCat(
            "token_file without tls_ca would send the token in cleartext to ", addr,
            ": give --tls-ca (the collector's CA), or knowingly --allow-insecure-token"));
      }
    }
  }
  if (o.max_line_bytes < 1024 || o.max_line_bytes > (64U << 20)) {
    return absl::InvalidArgumentError("max_line_bytes must be within [1024, 67108864]");
  }
  if (o.spool_max_bytes < (64U << 10)) {
    return absl::InvalidArgumentError("spool_max_bytes must be at least 65536");
  }
  if (o.overflow != "block" && o.overflow != "drop_oldest") {
    return absl::InvalidArgumentError("overflow must be block or drop_oldest");
  }
  if (o.max_wait_s < 60 || o.max_wait_s > 86400) {
    return absl::InvalidArgumentError("max_wait_s must be within [60, 86400] seconds");
  }
  for (const auto& [queue, w] : o.max_wait_s_by_queue) {
    if (w < 60 || w > 86400) {
      return absl::InvalidArgumentError("max_wait_s_by_queue: '" + queue +
                                        "' must be within [60, 86400] seconds");
    }
  }
  for (const auto& r : o.acw_pause_reasons) {
    // Reserved for the states the queue_log reader itself gives (events.proto).
    if (r.empty() || r == kReasonWrapup || absl::StartsWith(r, "ccmon:")) {
      return absl::InvalidArgumentError("acw_pause_reasons: '" + r +
                                        "' is empty or reserved (wrapuptime, ccmon:...)");
    }
  }
  if (o.batch_max < 1 || o.batch_max > 65536) {
    return absl::InvalidArgumentError("batch_max must be within [1, 65536]");
  }
  if (o.heartbeat_ms < 100 || o.poll_ms < 10) {
    return absl::InvalidArgumentError("heartbeat_ms must be >= 100 and poll_ms >= 10");
  }
  if (o.probe_interval_ms < 100) {
    return absl::InvalidArgumentError("probe_interval_ms must be >= 100");
  }
  // Two probes under one name would report alternately into one link and make it flap.
  std::set<std::string_view> probe_names;
  for (const ProbeTarget& p : o.probes) {
    if (!probe_names.insert(p.name).second) {
      return absl::InvalidArgumentError("probe name '" + p.name + "' is used twice");
    }
  }
  return absl::OkStatus();
}

int RunAgent(const AgentOptions& o) {
  static const SystemClock system_clock;
  return RunAgent(o, system_clock);
}

int RunAgent(const AgentOptions& o, const Clock& clock) {
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
  if (!spool.recovery_report().empty()) {
    log->error("spool recovery skipped damaged records ({} events lost, counted as dropped):\n{}",
               spool.stats().damaged_events_lost, spool.recovery_report());
  }
  SpoolWriter writer(spool, clock);
  auto sink = [&writer](const Event& e) { writer.Append(e); };

  QueueLogOptions qopt;
  std::map<std::string, std::uint32_t> pbx_service_level;  // queues.conf servicelevel, s
  qopt.max_wait_ms = static_cast<std::int64_t>(o.max_wait_s * 1000);
  for (const auto& [queue, w] : o.max_wait_s_by_queue) {
    qopt.max_wait_ms_by_queue[queue] = static_cast<std::int64_t>(w * 1000);
  }
  qopt.acw_pause_reasons = o.acw_pause_reasons;
  if (!o.asterisk_config.empty() || !o.asterisk_members.empty()) {
    AsteriskConfig ac;
    if (!o.asterisk_config.empty() && !LoadAsteriskConfig(o.asterisk_config, {}, &ac, &err)) {
      log->error("asterisk config: {}", err);
      return 2;
    }
    if (!o.asterisk_members.empty()) {
      std::ifstream in(o.asterisk_members);
      std::stringstream text;
      text << in.rdbuf();
      if (!in || !ParseMembersFile(text.str(), o.asterisk_members, &ac, &err)) {
        log->error("asterisk members: {}", in ? err : o.asterisk_members + ": cannot read");
        return 2;
      }
    }
    for (const auto& w : ac.warnings) log->warn("asterisk config: {}", w);
    for (const auto& [name, q] : ac.queues) {
      if (q.service_level_s > 0) pbx_service_level[name] = q.service_level_s;
      log->info("queue {}: wrapuptime {} s, servicelevel {} s, ring timeout {} s, {} members ({})",
                name, q.wrapup_s, q.service_level_s, q.ring_timeout_s, q.members.size(), q.origin);
      const auto mw = qopt.max_wait_ms_by_queue.count(name) ? qopt.max_wait_ms_by_queue[name]
                                                            : qopt.max_wait_ms;
      if (q.ring_timeout_s * 1000LL >= mw) {
        log->warn("queue {}: max wait {} s is not longer than its ring timeout {} s", name,
                  mw / 1000, q.ring_timeout_s);
      }
    }
    ApplyAsteriskConfig(ac, &qopt);
  }
  // Input read per commit: small against the spool bound, so a chunk read just under the
  // bound cannot carry the spool far past it.
  const auto kChunkBytes = static_cast<std::size_t>(
      std::clamp<std::uint64_t>(o.spool_max_bytes / 16, 4096, std::uint64_t{1} << 20));
  auto make_log = [&](const std::string& path) {
    auto src = std::make_unique<QueueLogSource>(path, sink, qopt);
    src->set_clock(clock);
    src->set_limits(o.max_line_bytes, kChunkBytes);
    return src;
  };
  auto make_jsonl = [&](const std::string& path) {
    auto src = std::make_unique<JsonlSource>(path, sink, o.once);
    src->set_clock(clock);
    src->set_limits(o.max_line_bytes, kChunkBytes);
    return src;
  };
  std::vector<std::unique_ptr<QueueLogSource>> logs;
  for (const auto& path : o.queue_logs) {
    auto src = make_log(path);
    if (!src->Start(spool.Cursor("queue_log:" + path), o.from_start, &err)) {
      log->error("queue_log {}", err);
      return 2;
    }
    logs.push_back(std::move(src));
  }
  std::vector<std::unique_ptr<JsonlSource>> jsonls;
  for (const auto& path : o.jsonl) {
    auto src = make_jsonl(path);
    if (!src->Start(spool.Cursor("jsonl:" + path), o.from_start, &err)) {
      log->error("JSON-lines source {}", err);
      return 2;
    }
    jsonls.push_back(std::move(src));
  }
  // A file unreadable at start is to be read from where its end was then: that position is
  // committed at once, so that a restart before the file can be read (a group added to the
  // unit, say) does not move it to the file's size at that restart.
  if (!o.once) {
    auto keep_position = [&](const FileSource& src, const std::string& key) {
      if (spool.Cursor(key).empty() && src.WaitsAtPosition()) writer.Commit(key, src.Cursor());
    };
    for (const auto& src : logs) keep_position(*src, "queue_log:" + src->path());
    for (const auto& src : jsonls) keep_position(*src, "jsonl:" + src->path());
    writer.TakeFailure();  // a disk refusing it now: the position is taken again at next start
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
    const std::int64_t start = o.once ? std::min(clock.NowMs(), sim_end_ms) -
                                            static_cast<std::int64_t>(o.simulate_seconds * 1000)
                                      : clock.NowMs();
    sim = std::make_unique<Simulator>(sopt, start);
  }

  // Sources are read a chunk (about kChunkBytes of input) at a time, each chunk committed with
  // its cursor, and not at all while the spool is at its bound or its disk refuses writes: the
  // input waits in the files, so the bound holds whatever the backlog. A chunk the disk refused
  // is read again from the cursor taken before it (the source is rebuilt there: its state
  // machine too), so nothing is skipped and nothing spooled twice.
  std::string stream_failure;  // a pipe cannot be read again: the import must stop
  bool bound_logged = false;
  std::atomic<bool> paused_now{false};  // for the sender's live status
  // Input files missing or unreadable now, counted after each poll: for heartbeats and the
  // sender's live status.
  std::atomic<std::uint32_t> waiting_now{0};
  auto count_waiting = [&] {
    std::uint32_t n = 0;
    for (const auto& src : logs) n += src->waiting() ? 1 : 0;
    for (const auto& src : jsonls) n += src->waiting() ? 1 : 0;
    waiting_now = n;
  };
  count_waiting();
  SenderSet* senders = nullptr;  // set once the senders exist
  auto input_paused = [&] {
    // A replica that stays away until the spool is full is given up: the others go on.
    if (senders != nullptr && spool.Full()) senders->GiveUpLaggingLocked();
    const bool full = spool.Full();
    if (full != bound_logged) {
      bound_logged = full;
      if (full) {
        Log()->warn(
            "spool at its bound ({} bytes): sources paused until the collector acknowledges",
            o.spool_max_bytes);
      } else {
        Log()->info("spool below its bound again: reading sources");
      }
    }
    paused_now = full || writer.Paused();
    return paused_now.load();
  };
  // A disk with less room than a chunk needs must still make progress: after a failure chunks
  // shrink (to 4 KiB), after successes they grow back.
  std::size_t chunk_bytes = kChunkBytes;
  auto read_chunk = [&](auto& src, const std::string& key, auto& make) {
    const std::string before = src->Cursor();
    src->set_limits(o.max_line_bytes, chunk_bytes);
    if (src->Poll() > 0) writer.Commit(key, src->Cursor());
    if (!writer.TakeFailure()) {
      chunk_bytes = std::min(kChunkBytes, chunk_bytes * 2);
      return src->more();
    }
    chunk_bytes = std::max<std::size_t>(4096, chunk_bytes / 4);
    if (src->path() == "/dev/stdin") {
      // A pipe cannot be read again: its chunk is gone from the spool. An import stops with an
      // error (checked by the --once loop); a follower stops too rather than go on with a hole.
      stream_failure = writer.last_error();
      if (!o.once) {
        Log()->critical("spool write failed while reading standard input ({}); stopping",
                        stream_failure);
        std::exit(1);
      }
      return false;
    }
    auto again = make(src->path());
    std::string e;
    if (!again->Start(before, false, &e)) {
      Log()->error("{}: cannot reopen after a spool failure: {}", src->path(), e);
      return false;
    }
    src = std::move(again);
    return false;
  };
  // Reads up to 8 chunks per source; true when input is left (poll again at once).
  auto read_sources = [&]() {
    bool more = false;
    for (int round = 0; round < 8; ++round) {
      std::lock_guard lock(spool_mu);
      more = false;
      for (auto& src : logs) {
        if (input_paused()) return false;
        more = read_chunk(src, "queue_log:" + src->path(), make_log) || more;
      }
      for (auto& src : jsonls) {
        if (input_paused()) return false;
        more = read_chunk(src, "jsonl:" + src->path(), make_jsonl) || more;
      }
      if (!more) break;
    }
    std::lock_guard lock(spool_mu);
    if (sim && !input_paused()) {
      const auto before = spool.next_seq();
      sim->Advance(std::min(clock.NowMs(), sim_end_ms), sink);
      if (spool.next_seq() != before) writer.Commit("simulator", "");
      // The simulator cannot replay a chunk: what the disk refused is lost (demo data).
      writer.TakeFailure();
    }
    return more;
  };
  auto poll_sources = [&]() {
    const bool more = read_sources();
    count_waiting();
    return more;
  };
  std::uint64_t heartbeats_skipped = 0;
  std::uint64_t cleanup_failures_logged = 0;
  auto heartbeat = [&]() {
    std::lock_guard lock(spool_mu);
    const auto st = spool.stats();
    // A refused directory sync is retried at every ack: said once per heartbeat, not per ack.
    if (spool.cleanup_failures() != cleanup_failures_logged) {
      Log()->warn(
          "spool: the disk refused {} time(s) since the last heartbeat to let acknowledged or "
          "dropped segments go; last: {}",
          spool.cleanup_failures() - cleanup_failures_logged, spool.cleanup_error());
      cleanup_failures_logged = spool.cleanup_failures();
    }
    Heartbeat hb;
    hb.agent_time_ms = clock.NowMs();
    hb.spool_backlog_events = st.committed_seq - st.acked_seq;
    hb.spool_backlog_bytes = st.bytes;
    hb.events_dropped = st.dropped_events;
    hb.agent_version = CCMON_VERSION;
    hb.interval_ms = static_cast<std::uint32_t>(o.heartbeat_ms);
    hb.spool_paused = input_paused();
    hb.replicas_given_up = senders != nullptr ? senders->given_up_total_locked() : 0;
    for (const auto& src : logs) {
      hb.lines_rejected += src->stats().malformed + src->oversized_lines();
    }
    for (const auto& src : jsonls)
      hb.lines_rejected += src->stats().rejected + src->oversized_lines();
    hb.sources_waiting = waiting_now.load();
    // Past the bound's headroom (a long outage) heartbeats wait too: they would only say
    // "still here" to a collector that cannot hear them yet. Acknowledged segments an ack
    // could not delete then (the directory could not be synced) are tried again here.
    if (spool.OverHeadroom()) {
      spool.Ack(st.acked_seq);
      if (heartbeats_skipped++ % 100 == 0) {
        Log()->warn("spool {} bytes past its bound: heartbeats are not spooled until it drains",
                    st.bytes);
      }
      return;
    }
    writer.Append(Event{0, hb.agent_time_ms, hb});
    writer.Commit("heartbeat", "");
    writer.TakeFailure();
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
  // Asterisk computes its own SL statistics against `servicelevel`; a value that differs from
  // the contract's T means the PBX's reports and ccmon's disagree by design: say so once.
  auto warned = std::make_shared<std::set<std::string>>();
  auto warned_mu = std::make_shared<std::mutex>();
  sopt.on_thresholds = [pbx_service_level, warned, warned_mu](
                           const std::map<std::string, double>& contract, double fallback) {
    std::lock_guard lock(*warned_mu);
    for (const auto& [queue, pbx_s] : pbx_service_level) {
      const auto it = contract.find(queue);
      const double t = it != contract.end() ? it->second : fallback;
      if (t <= 0 || static_cast<double>(pbx_s) == t || !warned->insert(queue).second) continue;
      Log()->warn(
          "queue {}: Asterisk servicelevel is {} s but the contract's SL threshold is {} s; "
          "ccmon judges against the contract, Asterisk's own SL statistics use {} s",
          queue, pbx_s, t, pbx_s);
    }
  };
  sopt.collector = o.collector;
  sopt.site = o.site;
  sopt.version = CCMON_VERSION;
  sopt.batch_max = o.batch_max;
  sopt.status_interval = std::chrono::milliseconds(std::min(o.heartbeat_ms, 2000));
  sopt.paused = [&paused_now] { return paused_now.load(); };
  sopt.sources_waiting = [&waiting_now] { return waiting_now.load(); };
  SenderSet sender(sopt, spool, spool_mu);
  senders = &sender;

  if (o.once) {
    // An import of a file that is not there is a mistake, not something to wait for; checked
    // before any source is read, so that nothing is imported.
    for (const auto& src : logs) {
      if (src->waiting()) {
        log->error("{}: not there or not readable; nothing imported", src->path());
        return 1;
      }
    }
    for (const auto& src : jsonls) {
      if (src->waiting()) {
        log->error("{}: not there or not readable; nothing imported", src->path());
        return 1;
      }
    }
    // The import: chunk by chunk; at the spool's bound what is spooled is delivered first.
    while (true) {
      const bool more = poll_sources();
      if (!stream_failure.empty()) {
        log->error("spool write failed while importing standard input: {}", stream_failure);
        return 1;
      }
      bool full = false;
      {
        std::lock_guard lock(spool_mu);
        full = input_paused();
      }
      if (full) {
        if (writer.Paused()) {
          std::this_thread::sleep_for(std::chrono::seconds(1));
          continue;
        }
        log->info("spool at its bound ({} bytes); delivering before reading on", o.spool_max_bytes);
        const auto until =
            std::chrono::steady_clock::now() + std::chrono::seconds(o.once_timeout_s);
        if (!sender.DrainUntilAcked(until)) {
          log->error(
              "collector {} did not acknowledge within {} s while the spool was full; what was "
              "read is spooled, run again to resume",
              o.collector, o.once_timeout_s);
          return 1;
        }
        continue;
      }
      if (!more) break;
    }
    {
      std::lock_guard lock(spool_mu);
      for (auto& src : logs) {
        if (src->FinishImport() > 0) writer.Commit("queue_log:" + src->path(), src->Cursor());
      }
      if (writer.TakeFailure()) {
        log->error("spool write failed at the end of the import: {}", writer.last_error());
        return 1;
      }
    }
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
          "{} unknown kinds, {} invalid waits ({} recomputed), {} lost, {} ring canceled, "
          "{} transfer merges, {} members bound, {} clock steps",
          src->path(), st.lines, st.events, st.malformed, st.blank, st.duplicates, st.reconstructed,
          st.unknown_kinds, st.invalid_wait, st.wait_recomputed, st.lost, st.ring_canceled,
          st.transfer_merges, st.members_bound, st.clock_steps);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.once_timeout_s);
    if (!sender.DrainUntilAcked(deadline)) {
      log->error("collector {} did not acknowledge everything within {} s", o.collector,
                 o.once_timeout_s);
      return 1;
    }
    // The heartbeat above was spooled behind the whole import and reports it as backlog; the
    // collector keeps the last value it hears, so end on one that says what is left (nothing):
    // otherwise SpoolBacklog fires a minute after every import.
    heartbeat();
    if (!sender.DrainUntilAcked(std::chrono::steady_clock::now() + std::chrono::seconds(10))) {
      log->warn(
          "the closing heartbeat was not acknowledged; the site's backlog gauge may be stale");
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
  std::function<void(bool)> schedule_poll = [&](bool at_once) {
    poll_timer.expires_after(std::chrono::milliseconds(at_once ? 0 : o.poll_ms));
    poll_timer.async_wait([&](const asio::error_code& ec) {
      if (ec) return;
      const bool more = poll_sources();
      sender.Notify();
      schedule_poll(more);
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
  auto probe_sink = [&](const Event& e) {
    std::lock_guard lock(spool_mu);
    if (spool.OverHeadroom()) return;  // as heartbeats: a sample nobody can hear yet
    writer.Append(e);
    writer.Commit("probe", "");
    writer.TakeFailure();  // a sample lost to a full disk is not worth a replay
    sender.Notify();
  };
  std::vector<ProbeTarget> tcp_probes, sip_probes;
  for (const ProbeTarget& p : o.probes) {
    (p.kind == LinkKind::kSipTrunk ? sip_probes : tcp_probes).push_back(p);
  }
  const std::chrono::milliseconds probe_interval(o.probe_interval_ms);
  LinkProber prober(io, std::move(tcp_probes), probe_interval, probe_sink, clock);
  SipProber sip_prober(io, std::move(sip_probes), probe_interval, probe_sink, clock);
  const bool more = poll_sources();
  heartbeat();
  schedule_poll(more);
  schedule_hb();
  prober.Start();
  sip_prober.Start();
  std::thread send_thread([&] { sender.Run([&] { return sim && sim->WanDown(clock.NowMs()); }); });
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
