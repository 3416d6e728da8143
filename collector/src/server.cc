#include "ccmon/collector/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "ccmon/collector/alert_delivery.h"
#include "ccmon/collector/continuity.h"
#include "ccmon/collector/continuity_loader.h"
#include "ccmon/net/loopback.h"
#include "export/http_server.h"
#include "export/metrics.h"
#include "ingest/apply.h"
#include "ingest/ingest_service.h"
#include "ingest/monitor_service.h"
#include "pipeline/pipeline.h"
#include "storage/checkpoint.h"
#include "storage/ledger_store.h"
#include "storage/wal.h"

namespace ccmon::collector {

namespace {

// The gRPC port's credentials: plaintext, or TLS from the configured files (read here).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const SecurityOptions& sec) {
  if (!sec.TlsEnabled()) return grpc::InsecureServerCredentials();
  auto read = [](const std::string& path) -> absl::StatusOr<std::string> {
    std::ifstream in(path);
    if (!in) return absl::NotFoundError(path + ": cannot read");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  grpc::SslServerCredentialsOptions so(
      sec.client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                            : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  auto cert = read(sec.tls_cert);
  auto key = read(sec.tls_key);
  if (!cert.ok()) return cert.status();
  if (!key.ok()) return key.status();
  so.pem_key_cert_pairs.push_back({*key, *cert});
  if (!sec.client_ca.empty()) {
    auto ca = read(sec.client_ca);
    if (!ca.ok()) return ca.status();
    so.pem_root_certs = *ca;
  }
  return grpc::SslServerCredentials(so);
}

// Plaintext gRPC only on loopback unless allowed.
absl::Status CheckPlaintext(const CollectorOptions& o) {
  if (!o.allow_insecure_remote && !o.security.TlsEnabled() && !net::IsLoopbackAddress(o.listen)) {
    return absl::FailedPreconditionError(
        "listen address " + o.listen +
        " is not loopback: configure tls (or, knowingly, allow_insecure_remote: true)");
  }
  return absl::OkStatus();
}

class ServerImpl final : public Server {
 public:
  ServerImpl(const CollectorOptions& o, const Clock& clock)
      : options_(o),
        pipeline_(o.core, clock),
        ingest_(pipeline_, options_.security),
        monitor_(pipeline_, options_.security, options_.core, clock.NowMs()) {}

  absl::Status Init() {
    pipeline_.set_shard(options_.shard);
    if (auto s = CheckPlaintext(options_); !s.ok()) return s;
    auto creds = ServerCredentials(options_.security);
    if (!creds.ok()) return creds.status();
    const bool shared_ledger = !options_.ledger_database.empty();
    const std::string ledger_path = shared_ledger               ? options_.ledger_database
                                    : options_.data_dir.empty() ? ":memory:"
                                                                : options_.data_dir + "/ledger.db";
    if (!options_.data_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(options_.data_dir, ec);
      if (ec) return absl::UnavailableError(options_.data_dir + ": " + ec.message());
    }
    auto store = LedgerStore::Open(ledger_path, LedgerWriter());
    if (!store.ok()) return store.status();
    ledger_ = *std::move(store);
    monitor_.set_ledger(ledger_.get());
    if (auto s = ledger_->Reachable(); !s.ok()) {
      // A shared database down must not take the monitor down with it: rows wait in memory
      // (and in the WAL, as checkpoints wait for them) and are written when it is back.
      spdlog::get("collector")
          ->error("ledger store not reachable at start ({}); closed rows wait until it is",
                  std::string(s.message()));
    }
    // Alerts firing when the process stopped: they were last seen at their last touch.
    if (auto s = ledger_->CloseOpenAlerts(0); !s.ok()) return s;
    if (auto s = Recover(); !s.ok()) return s;
    // Rows the replay closed or amended, and any a checkpoint held undrained.
    if (!FlushLedger() && !shared_ledger) {
      return absl::UnavailableError(ledger_path + ": cannot write recovered ledger rows");
    }
    ContinuityRules rules;
    if (!options_.continuity_rules.empty()) {
      auto loaded = LoadContinuityRules(options_.continuity_rules);
      if (!loaded.ok()) return loaded.status();
      rules = *std::move(loaded);
    }
    continuity_ = std::make_unique<ContinuityEngine>(std::move(rules));
    DeliveryOptions delivery = options_.delivery;
    delivery.alertmanagers = options_.alertmanagers;
    delivery.shard = options_.shard;
    dispatcher_ = std::make_unique<AlertDispatcher>(std::move(delivery), pipeline_.clock());
    dispatcher_->Start();
    pipeline_.set_receiver_stats([d = dispatcher_.get()] { return d->Stats(); });
    // From here on one thread owns the engine; the services and the ticker hand it work.
    pipeline_.Start();
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options_.listen, *creds, &grpc_port_);
    builder.RegisterService(&ingest_);
    builder.RegisterService(&monitor_);
    builder.SetMaxReceiveMessageSize(64 << 20);
    server_ = builder.BuildAndStart();
    if (!server_ || grpc_port_ == 0) {
      return absl::UnavailableError("cannot listen for gRPC on " + options_.listen);
    }
    if (auto s = http_.Start(
            options_.metrics_listen, [this](std::string_view path) { return Serve(path); }, {},
            [this] { return pipeline_.generation(); });
        !s.ok()) {
      server_->Shutdown();
      return absl::UnavailableError("cannot listen for /metrics on " + options_.metrics_listen +
                                    ": " + std::string(s.message()));
    }
    metrics_port_ = http_.port();
    ticker_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "ccmon-tick");  // names in top -H
      TickLoop();
    });
    if (pipeline_.journal() != nullptr) {
      checkpointer_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "ccmon-checkpt");
        CheckpointLoop();
      });
    }
    return absl::OkStatus();
  }

  // Loads the last checkpoint and replays the WAL after it, before any stream is accepted.
  absl::Status Recover() {
    auto log = spdlog::get("collector");
    if (options_.data_dir.empty()) {
      log->warn("no data_dir: state lives in memory only and is lost on restart");
      return absl::OkStatus();
    }
    std::string err, report;
    std::uint64_t ckpt_lsn = 0;
    std::string blob;
    CheckpointPayload payload = CheckpointPayload::kProtobuf;
    bool loaded = ReadCheckpoint(options_.data_dir, &ckpt_lsn, &blob, &payload, &err);
    if (loaded && !blob.empty()) {
      EngineState state;
      loaded = payload == CheckpointPayload::kLegacy
                   ? pipeline_.Run([&](Engine& e) { return e.LoadLegacyState(blob, &err); })
                   : DecodeEngineState(blob, &state, &err) &&
                         pipeline_.Run([&](Engine& e) { return e.ImportState(state, &err); });
    }
    const std::string ckpt_path = options_.data_dir + "/checkpoint";
    bool refused = false;
    if (!loaded) {
      // A checkpoint the collector cannot even read (permissions, I/O) is the host's problem:
      // refuse to start, so that nothing is rebuilt over a file that may be fine.
      if (::access(ckpt_path.c_str(), R_OK) != 0) {
        return absl::DataLossError(ckpt_path + ": cannot read: " + std::strerror(errno));
      }
      // One this build cannot take (damaged, or written by a newer collector): the state is
      // rebuilt from what the WAL still holds, as without a checkpoint, and ledger rows the
      // rebuild cannot know whole are protected below. The file is kept aside once that
      // succeeded (a failed start leaves it in place).
      if (err.rfind(ckpt_path, 0) != 0) err = ckpt_path + ": " + err;
      log->error("{}; rebuilding the state from the WAL (the checkpoint is kept aside)", err);
      refused = true;
      blob.clear();
      ckpt_lsn = 0;
    }
    WalOptions wo;
    wo.dir = options_.data_dir + "/wal";
    wo.fsync_interval = std::chrono::milliseconds(options_.wal_fsync_interval_ms);
    if (!wal_.Open(wo, &err, &report)) return absl::UnavailableError(err);
    if (!report.empty()) log->error("WAL recovery: {}", report);
    std::uint64_t replayed = 0, first_lsn = 0;
    pipeline_.Run([&](Engine& e) {
      std::vector<wire::DecodedEvent> events;
      return wal_.Replay(
          ckpt_lsn,
          [&](std::uint64_t lsn, std::string_view rec) {
            std::string_view site, instance, batch;
            if (!DecodeWalRecord(rec, &site, &instance, &batch) ||
                !wire::DecodeBatch(batch, &events)) {
              log->error("WAL record {} does not decode; skipped", lsn);
              return;
            }
            ApplyBatch(e, site, instance, events, nullptr);
            if (first_lsn == 0) first_lsn = lsn;
            ++replayed;
          },
          &err);
    });
    log->info("recovered state from {} (checkpoint through WAL record {}, {} records replayed)",
              options_.data_dir, ckpt_lsn, replayed);
    // No checkpoint, and the WAL does not go back to the start: the engine knows only part of
    // the rows the store already holds. Its rows for those intervals would be partial, so for
    // the amendment horizon the store keeps every row it has as it is and only adds new ones.
    // A shared ledger holds other collectors' rows: one starting with nothing at all (a new
    // replica or shard) has lost nothing and protects nothing.
    const std::int64_t now = pipeline_.clock().NowMs();
    const bool fresh_on_shared = !options_.ledger_database.empty() && replayed == 0 && !refused;
    if (blob.empty() && first_lsn != 1 && !fresh_on_shared) {
      auto n = ledger_->RowCount();
      if (!n.ok()) {
        log->error(
            "no checkpoint for {} and its ledger store cannot be asked what it holds ({}): "
            "stored rows are not protected from partial amendments",
            options_.data_dir, n.status().ToString());
      } else if (*n > 0) {
        const std::int64_t until = now + std::int64_t{options_.core.ledger_amend_days} * 86'400'000;
        if (auto s = ledger_->ProtectStoredRows(until); !s.ok()) return s;
        log->error(
            "no checkpoint for {} while its ledger holds {} rows: stored rows will not be "
            "amended for {} days (late events for them are counted in "
            "ccmon_ledger_store_refused_rows_total); restore the checkpoint if you have it",
            options_.data_dir, *n, options_.core.ledger_amend_days);
      }
    }
    if (auto s = ledger_->LoadProtection(now); !s.ok()) return s;
    if (refused) {
      const std::string aside = ckpt_path + ".refused-" + std::to_string(now);
      std::error_code ec;
      std::filesystem::rename(ckpt_path, aside, ec);
      if (ec) return absl::DataLossError(ckpt_path + ": cannot keep it aside: " + ec.message());
      log->error("{} moved to {}; restore it with a collector that reads it to recover its state",
                 ckpt_path, aside);
      pipeline_.counters().checkpoint_refused_ms = now;
    }
    wal_.Start();
    pipeline_.set_journal(&wal_);
    return absl::OkStatus();
  }

  // Drains the engine's closed and amended rows into the ledger store. Rows that cannot be
  // written wait for the next call; until they are written no checkpoint is taken, so a
  // crash replays the WAL and closes them again.
  bool FlushLedger(bool all = false) {
    std::lock_guard lock(ledger_mu_);
    auto drained = pipeline_.Run([all](Engine& e) { return e.DrainLedger(all); });
    unwritten_.insert(unwritten_.end(), std::make_move_iterator(drained.begin()),
                      std::make_move_iterator(drained.end()));
    return WriteUnwritten();
  }

  // Records alert transitions in the ledger store: the periods exclusions are proposed
  // against. Those the store cannot take wait, in order, and go first next time, so that a
  // resolution is never lost (its period would stay open) while the store is away.
  void RecordAlertPeriods(const std::vector<AlertTransition>& changes) {
    unrecorded_alerts_.insert(unrecorded_alerts_.end(), changes.begin(), changes.end());
    while (unrecorded_alerts_.size() > kMaxUnrecordedAlerts) {
      unrecorded_alerts_.pop_front();  // the oldest: a store away for days of flapping alerts
      ++alerts_unrecorded_dropped_;
    }
    while (!unrecorded_alerts_.empty()) {
      if (auto s = ledger_->RecordAlert(unrecorded_alerts_.front()); !s.ok()) {
        // One the store refuses while it takes the next is set aside (as rows are).
        if (s.code() != absl::StatusCode::kUnavailable && unrecorded_alerts_.size() > 1 &&
            ledger_->RecordAlert(unrecorded_alerts_[1]).ok()) {
          const Alert& a = unrecorded_alerts_.front().alert;
          spdlog::get("collector")
              ->error("ledger store: alert period {} {}/{} set aside, the store refuses it: {}",
                      a.name, a.client, a.site, s.ToString());
          unrecorded_alerts_.pop_front();
          unrecorded_alerts_.pop_front();
          continue;
        }
        if (alert_record_failures_++ % 60 == 0) {
          spdlog::get("collector")
              ->warn("ledger store: {} alert transition(s) wait to be recorded ({} dropped): {}",
                     unrecorded_alerts_.size(), alerts_unrecorded_dropped_, s.ToString());
        }
        return;
      }
      unrecorded_alerts_.pop_front();
    }
    alert_record_failures_ = 0;
  }

  // This collector among those sharing a ledger database: its shard and an id kept in its data
  // directory (made once, so a collector keeps it across restarts, hosts and containers), or
  // without one its host and gRPC address. Empty for the embedded SQLite ledger: one writer.
  std::string LedgerWriter() const {
    if (options_.ledger_database.empty()) return "";
    if (options_.data_dir.empty()) {
      char host[256] = {};
      if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
      return options_.shard + "/" + host + "/" + options_.listen;
    }
    const std::string path = options_.data_dir + "/ledger-writer-id";
    std::string id;
    if (std::ifstream in(path); in) std::getline(in, id);
    if (id.empty()) {
      std::random_device rd;
      char buf[17];
      std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
      id = buf;
      std::ofstream out(path, std::ios::trunc);
      out << id << "\n";
      if (!out.flush()) {
        spdlog::get("collector")->warn("{}: cannot keep the ledger writer id", path);
      }
    }
    return options_.shard + "/" + id;
  }

  // A chunk the store refused (not for being away): its rows one by one. A row that fails on
  // its own while others of the chunk are written is one the store will never take (a value
  // it rejects): it is logged with its key and counted, and left out so that it does not hold
  // every later row and checkpoint back. When none can be written the cause is the store's,
  // and every row waits. Returns the revisions written, or the store's error.
  absl::StatusOr<std::size_t> SetAsideUnwritable(std::size_t from, std::size_t to) {
    std::size_t revisions = 0, written = 0;
    std::vector<std::size_t> failed;
    absl::Status last;
    for (std::size_t i = from; i < to; ++i) {
      auto n = ledger_->Write({unwritten_[i]}, pipeline_.clock().NowMs());
      if (n.ok()) {
        revisions += *n;
        ++written;
      } else {
        failed.push_back(i);
        last = n.status();
      }
    }
    if (written == 0 && !failed.empty()) return last;
    for (std::size_t i : failed) {
      const LedgerRow& r = unwritten_[i];
      ++pipeline_.counters().ledger_write_failures;
      spdlog::get("collector")
          ->error("ledger store: row {}/{}/{} at {} set aside, the store refuses it: {}", r.client,
                  r.site, r.queue, r.start_ms, last.ToString());
    }
    return revisions;
  }

  bool WriteUnwritten() {
    pipeline_.counters().ledger_rows_waiting = unwritten_.size();
    if (unwritten_.empty()) return true;
    // In transactions of kWriteChunk rows: a backlog after an outage neither holds the writers'
    // locks for long nor hits the statement timeout, and what is written leaves the queue.
    constexpr std::size_t kWriteChunk = 500;
    absl::StatusOr<std::size_t> n = std::size_t{0};
    std::size_t done = 0, revisions = 0;
    while (done < unwritten_.size()) {
      const std::size_t end = std::min(unwritten_.size(), done + kWriteChunk);
      n = ledger_->Write({unwritten_.begin() + static_cast<std::ptrdiff_t>(done),
                          unwritten_.begin() + static_cast<std::ptrdiff_t>(end)},
                         pipeline_.clock().NowMs());
      if (!n.ok() && n.status().code() != absl::StatusCode::kUnavailable) {
        n = SetAsideUnwritable(done, end);
      }
      if (!n.ok()) break;
      revisions += *n;
      done = end;
    }
    unwritten_.erase(unwritten_.begin(), unwritten_.begin() + static_cast<std::ptrdiff_t>(done));
    pipeline_.counters().ledger_revisions_written += revisions;
    pipeline_.counters().ledger_rows_waiting = unwritten_.size();
    if (!n.ok()) {
      if (failed_writes_++ % 60 == 0) {
        spdlog::get("collector")
            ->error("ledger store: {} rows wait: {}", unwritten_.size(), n.status().ToString());
      }
      ++pipeline_.counters().ledger_write_failures;
      return false;
    }
    if (failed_writes_ > 0) {
      spdlog::get("collector")
          ->warn("ledger store: reachable again; {} waiting rows written after {} failed attempts",
                 done, failed_writes_);
      failed_writes_ = 0;
    }
    const std::uint64_t refused = ledger_->refused();
    if (refused > pipeline_.counters().ledger_rows_refused) {
      spdlog::get("collector")
          ->warn(
              "ledger store: {} row(s) with fewer calls than the stored revision refused (a "
              "state rebuilt without its checkpoint?); the stored rows stand",
              refused - pipeline_.counters().ledger_rows_refused);
      pipeline_.counters().ledger_rows_refused = refused;
    }
    unwritten_.clear();
    return true;
  }

  // Under ledger_mu_: moves the engine's closed rows to unwritten_ and takes its state with
  // the WAL position it covers, in one engine critical section.
  void DrainAndSave(std::string* blob, std::uint64_t* lsn) {
    EngineState state;
    pipeline_.Run([&](Engine& e) {
      auto drained = e.DrainLedger();
      unwritten_.insert(unwritten_.end(), std::make_move_iterator(drained.begin()),
                        std::make_move_iterator(drained.end()));
      state = e.ExportState();
      *lsn = wal_.last_lsn();
    });
    *blob = EncodeEngineState(state);  // off the apply thread
  }

  bool Checkpoint() {
    std::string blob;
    std::uint64_t lsn = 0;
    // The ledger lock first: no row drained before this checkpoint is left unwritten.
    std::lock_guard ledger_lock(ledger_mu_);
    // While the store refuses rows, a checkpoint cannot succeed: fail it before saving the
    // engine's state (on the apply thread, which would stall ingest every retry for nothing).
    if (failed_writes_ > 0 && !WriteUnwritten()) {
      ++pipeline_.counters().checkpoints_failed;
      return false;
    }
    DrainAndSave(&blob, &lsn);
    if (!WriteUnwritten()) {
      ++pipeline_.counters().checkpoints_failed;
      return false;
    }
    std::string err;
    if (!WriteCheckpoint(options_.data_dir, lsn, blob, &err)) {
      ++pipeline_.counters().checkpoints_failed;
      spdlog::get("collector")->error("checkpoint failed: {}", err);
      return false;
    }
    wal_.TruncateThrough(lsn);
    ++pipeline_.counters().checkpoints_ok;
    pipeline_.counters().checkpoint_last_ms = pipeline_.clock().NowMs();
    return true;
  }

  // The WAL's files vanished under it (the data directory deleted or replaced while running):
  // everything applied is still in memory, so a checkpoint of it written into a recreated
  // directory makes the state durable again, and the WAL starts afresh after it.
  bool RestoreDurability() {
    std::error_code ec;
    std::filesystem::create_directories(options_.data_dir + "/wal", ec);
    std::string blob, err;
    std::uint64_t lsn = 0;
    std::lock_guard ledger_lock(ledger_mu_);
    DrainAndSave(&blob, &lsn);  // as Checkpoint(): drained rows are written first
    bool ok = WriteUnwritten();
    if (!ok) {
      err = "ledger rows drained before it cannot be written";
    } else {
      ok = !ec && WriteCheckpoint(options_.data_dir, lsn, blob, &err) && wal_.Recreate(lsn, &err);
    }
    if (!ok) {
      if (restore_failures_++ % 60 == 0) {
        spdlog::get("collector")
            ->error("cannot restore durability in {}: {}; acks stay held", options_.data_dir,
                    ec ? ec.message() : err);
      }
      return false;
    }
    restore_failures_ = 0;
    ++pipeline_.counters().checkpoints_ok;
    pipeline_.counters().checkpoint_last_ms = pipeline_.clock().NowMs();
    spdlog::get("collector")
        ->warn(
            "{}: WAL files were gone; state rewritten from memory as a checkpoint through record "
            "{} and acks resumed. Rows the ledger store wrote before are only in {}/ledger.db if "
            "that file survived: check it",
            options_.data_dir, lsn, options_.data_dir);
    return true;
  }

  void CheckpointLoop() {
    std::unique_lock lock(mu_);
    auto last = std::chrono::steady_clock::now();
    bool healthy = true;
    while (!stopping_) {
      cv_.wait_for(lock, std::chrono::seconds(1));
      if (stopping_) break;
      if (!wal_.CheckFiles()) {
        if (healthy) {
          healthy = false;
          spdlog::get("collector")
              ->error("{}; holding acks (agents keep their data)", wal_.stats().last_error);
        }
        lock.unlock();
        const bool restored = RestoreDurability();
        lock.lock();
        if (restored) {
          healthy = true;
          last = std::chrono::steady_clock::now();
        }
        continue;
      }
      // The WAL's own thread has no logger: say here, once per change, when the disk fails
      // (acks are held, reads go on) and when it recovers.
      const WalStats ws = wal_.stats();
      if (ws.healthy != healthy) {
        healthy = ws.healthy;
        if (healthy) {
          spdlog::get("collector")->warn("WAL writes recovered; acknowledging again");
        } else {
          spdlog::get("collector")
              ->error("{}; holding acks (agents keep their data) and retrying every second",
                      ws.last_error);
        }
      }
      const bool due = std::chrono::steady_clock::now() - last >=
                       std::chrono::seconds(options_.checkpoint_interval_s);
      // A big WAL makes recovery slow: checkpoint early.
      if (due || wal_.stats().bytes > (256ULL << 20)) {
        lock.unlock();
        Checkpoint();
        lock.lock();
        last = std::chrono::steady_clock::now();
      }
    }
  }

  // The HTTP side: /metrics for Prometheus, /healthz for load balancers and probes (503 while
  // accepted events cannot be made durable, so acks are held).
  HttpResponse Serve(std::string_view path) {
    if (path == "/metrics") {
      HttpResponse r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = RenderMetrics(*pipeline_.Current(), &pipeline_);
      return r;
    }
    if (path == "/healthz" || path == "/-/healthy") {
      if (pipeline_.journal() != nullptr) {
        const WalStats ws = wal_.stats();
        if (!ws.healthy) return {503, "text/plain", "unhealthy: " + ws.last_error + "\n"};
      }
      return {200, "text/plain", "ok\n"};
    }
    if (path == "/") {
      return {200, "text/html",
              "<html><body><a href=\"/metrics\">/metrics</a> "
              "<a href=\"/healthz\">/healthz</a></body></html>\n"};
    }
    return {404, "text/plain", "not found\n"};
  }

  ~ServerImpl() override { Shutdown(); }

  int grpc_port() const override { return grpc_port_; }
  int metrics_port() const override { return metrics_port_; }

  void Shutdown() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
    if (checkpointer_.joinable()) checkpointer_.join();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    pipeline_.Run([](Engine& e) { e.Tick(); });
    FlushLedger(/*all=*/true);
    if (ledger_) (void)ledger_->CloseOpenAlerts(pipeline_.clock().NowMs());
    if (dispatcher_) dispatcher_->Stop();
    if (pipeline_.journal() != nullptr) {
      // Drain: everything accepted is in the final checkpoint.
      wal_.WaitDurable(wal_.last_lsn(), std::chrono::seconds(5));
      Checkpoint();
      wal_.Stop();
    }
    http_.Stop();
    pipeline_.Stop();
  }

 private:
  void TickLoop() {
    std::unique_lock lock(mu_);
    std::int64_t blind_until_ms = 0;
    while (!stopping_) {
      // How long the wait overslept, on both clocks (a suspended VM stops the steady one):
      // seconds of oversleep mean the whole process stood still, not that work was slow.
      const auto steady_before = std::chrono::steady_clock::now();
      const auto wall_before = std::chrono::system_clock::now();
      cv_.wait_for(lock, std::chrono::milliseconds(options_.tick_ms));
      if (stopping_) break;
      const auto tick = std::chrono::milliseconds(options_.tick_ms);
      const auto overslept = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - steady_before) -
                                          tick,
                                      std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now() - wall_before) -
                                          tick);
      pipeline_.Run([](Engine& e) { e.Tick(); });
      // The snapshot readers share, copied: alert evaluation adds the collector's blindness.
      Snapshot snap = *pipeline_.Current();
      // The collector's own blindness is not the sites' silence: a process that stood still,
      // or ingest blocked behind a WAL buffer at its bound. SiteDark neither fires nor clears
      // for the time it lasted.
      const bool stalled = overslept > std::chrono::seconds(5);
      if (stalled) {
        spdlog::get("collector")
            ->warn("the collector stood still for {} s; sites are not judged dark for it",
                   std::chrono::duration_cast<std::chrono::seconds>(overslept).count());
      }
      // While acks are held, agents keep talking (live status), so a site that goes quiet then
      // is dark; only when ingest itself blocks (the WAL buffer full) can the collector not hear.
      if (stalled || (pipeline_.journal() != nullptr && wal_.backpressured())) {
        blind_until_ms = snap.now_ms;
      }
      snap.collector_blind_until_ms = blind_until_ms;
      FlushLedger();
      // Alerts are judged off the apply thread; delivery only queues (never blocks).
      const auto changes = continuity_->Evaluate(snap);
      if (snap.now_ms - last_touch_ms_ >= 10'000) {
        // How long the alerts still firing are known to have fired, should the process die.
        last_touch_ms_ = snap.now_ms;
        (void)ledger_->TouchFiringAlerts(snap.now_ms);
      }
      RecordAlertPeriods(changes);
      if (snap.now_ms - last_prune_ms_ >= 3'600'000) {
        last_prune_ms_ = snap.now_ms;
        const std::int64_t horizon =
            snap.now_ms - std::int64_t{options_.core.ledger_retention_days} * 86'400'000;
        if (auto n = ledger_->Prune(horizon); !n.ok()) {
          spdlog::get("collector")->warn("ledger store: pruning failed: {}", n.status().ToString());
        }
      }
      auto active = continuity_->Active();
      dispatcher_->Publish(changes, active, snap.now_ms);
      for (const auto& c : changes) {
        spdlog::get("collector")
            ->info("alert {} {} client={} site={}{}{}", c.alert.name,
                   c.firing ? "firing" : "resolved", c.alert.client, c.alert.site,
                   c.alert.queue.empty() ? "" : " queue=" + c.alert.queue,
                   c.alert.link.empty() ? "" : " link=" + c.alert.link);
      }
      pipeline_.alerts().Update(std::move(active), changes);
      pipeline_.Changed();
    }
  }

  CollectorOptions options_;
  Pipeline pipeline_;
  IngestService ingest_;
  MonitorService monitor_;
  std::unique_ptr<grpc::Server> server_;
  HttpServer http_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread ticker_;
  std::thread checkpointer_;
  Wal wal_;
  std::unique_ptr<ContinuityEngine> continuity_;
  std::unique_ptr<LedgerStore> ledger_;
  std::mutex ledger_mu_;              // drain + write, and checkpoints
  std::vector<LedgerRow> unwritten_;  // drained rows the store has not taken yet
  std::uint64_t failed_writes_ = 0;   // writes failed in a row (under ledger_mu_)
  // Alert transitions the store has not recorded yet (ticker thread only).
  static constexpr std::size_t kMaxUnrecordedAlerts = 100'000;
  std::deque<AlertTransition> unrecorded_alerts_;
  std::uint64_t alert_record_failures_ = 0;
  std::uint64_t alerts_unrecorded_dropped_ = 0;
  std::int64_t last_prune_ms_ = 0;
  std::int64_t last_touch_ms_ = 0;
  std::unique_ptr<AlertDispatcher> dispatcher_;
  std::uint64_t restore_failures_ = 0;  // checkpointer thread only
};

}  // namespace

absl::Status Server::CheckConfig(const CollectorOptions& options) {
  if (auto s = CheckPlaintext(options); !s.ok()) return s;
  if (auto creds = ServerCredentials(options.security); !creds.ok()) return creds.status();
  if (!options.continuity_rules.empty()) {
    if (auto rules = LoadContinuityRules(options.continuity_rules); !rules.ok()) {
      return rules.status();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const CollectorOptions& options,
                                                      const Clock& clock) {
  auto server = std::make_unique<ServerImpl>(options, clock);
  if (auto s = server->Init(); !s.ok()) return s;
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace ccmon::collector
