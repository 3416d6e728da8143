#include "ingest/ingest_service.h"

#include <grpcpp/impl/codegen/method_handler.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/impl/codegen/rpc_service_method.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "ccmon/wire/codec.h"
#include "ingest/apply.h"
#include "ingest/auth.h"
#include "ingest/raw_message.h"

namespace ccmon::collector {

namespace {

bool ValidId(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool WriteMessage(IngestService::RawStream* stream, const v1::CollectorMessage& msg) {
  grpc::ByteBuffer buffer;
  bool own = false;
  if (!grpc::SerializationTraits<v1::CollectorMessage>::Serialize(msg, &buffer, &own).ok()) {
    return false;
  }
  return stream->Write(buffer);
}

const std::string& StreamMethodName() {
  static const std::string name = [] {
    const auto* service = v1::AgentMessage::descriptor()->file()->FindServiceByName("Ingest");
    return "/" + service->full_name() + "/" + service->FindMethodByName("Stream")->name();
  }();
  return name;
}

}  // namespace

IngestService::IngestService(Pipeline& pipeline, const SecurityOptions& security)
    : pipeline_(pipeline), security_(security) {
  AddMethod(new grpc::internal::RpcServiceMethod(
      StreamMethodName().c_str(), grpc::internal::RpcMethod::BIDI_STREAMING,
      new grpc::internal::BidiStreamingHandler<IngestService, grpc::ByteBuffer, grpc::ByteBuffer>(
          [](IngestService* service, grpc::ServerContext* ctx, RawStream* stream) {
            return service->Stream(ctx, stream);
          },
          this)));
}

grpc::Status IngestService::Stream(grpc::ServerContext* ctx, RawStream* stream) {
  auto log = spdlog::get("ingest");
  RawMessage raw;
  v1::AgentMessage first;
  if (!raw.Read(stream)) return grpc::Status::OK;
  if (!first.ParseFromArray(raw.bytes().data(), static_cast<int>(raw.bytes().size()))) {
    pipeline_.CountRefusal(pipeline_.counters().streams_refused);
    return {grpc::StatusCode::INVALID_ARGUMENT, "cannot parse the first message (AgentMessage)"};
  }
  if (first.msg_case() != v1::AgentMessage::kHello) {
    pipeline_.CountRefusal(pipeline_.counters().streams_refused);
    return {grpc::StatusCode::INVALID_ARGUMENT, "first message must be hello"};
  }
  const std::string site = first.hello().site();
  const std::string instance = first.hello().agent_instance();
  if (!ValidId(site) || !ValidId(instance)) {
    pipeline_.CountRefusal(pipeline_.counters().streams_refused);
    return {grpc::StatusCode::INVALID_ARGUMENT,
            "hello.site and hello.agent_instance must be 1-64 characters of [A-Za-z0-9._-]"};
  }
  if (grpc::Status auth = AuthorizeSite(security_, *ctx, site); !auth.ok()) {
    pipeline_.CountRefusal(pipeline_.counters().streams_unauthorized);
    log->warn("refused stream from {} for site '{}': {}", ctx->peer(), site, auth.error_message());
    return auth;
  }
  const CoreConfig& config = pipeline_.config();
  const std::uint64_t max_batch = config.limits.max_batch_events;
  v1::CollectorMessage out;
  auto* welcome = out.mutable_welcome();
  welcome->set_default_sl_threshold_s(config.default_contract.sl_threshold_s);
  for (const auto& client : config.clients) {
    for (const auto& q : client.queues) {
      (*welcome->mutable_sl_threshold_s())[q.name] = q.contract.sl_threshold_s;
    }
  }
  std::vector<std::string> others;
  const std::uint64_t last = pipeline_.Run([&](Engine& e) {
    others = e.OtherOpenInstances(site, instance);
    return e.OpenStream(site, instance, first.hello().agent_version());
  });
  log->info("site {} instance {} connected from {}, resuming after seq {}", site, instance,
            ctx->peer(), last);
  if (!others.empty()) {
    // Legitimate only for agents reading different PBXs under one site id; two agents on one
    // PBX (a copied spool directory, a second host started by mistake) count every call twice.
    ++pipeline_.counters().concurrent_instances;
    log->warn(
        "site {}: agent instance {} streams while instance {} is connected too; if both read "
        "the same PBX its calls are counted twice (give each agent its own site id or stop one)",
        site, instance, others.front());
  }
  struct Closer {
    Pipeline& pipeline;
    const std::string& site;
    const std::string& instance;
    ~Closer() {
      pipeline.Run([&](Engine& e) { e.CloseStream(site, instance); });
    }
  } closer{pipeline_, site, instance};

  // The resume point must itself be durable: the agent drops what it is told is applied.
  if (Journal* wal = pipeline_.journal()) {
    const std::uint64_t lsn = wal->last_lsn();
    while (!wal->WaitDurable(lsn, std::chrono::seconds(1))) {
      if (ctx->IsCancelled()) return {grpc::StatusCode::CANCELLED, "stream cancelled"};
    }
  }
  welcome->set_last_applied_seq(last);
  welcome->set_collector_version(CCMON_VERSION);
  welcome->set_max_batch_events(static_cast<std::uint32_t>(max_batch));
  welcome->set_accepts_status(true);
  if (!WriteMessage(stream, out)) return grpc::Status::OK;

  // Acks are written by their own thread once the WAL has made each batch durable, so this
  // thread keeps reading and applying the next batches meanwhile (acks stay in order).
  struct PendingAck {
    std::uint64_t lsn;
    v1::CollectorMessage msg;
  };
  std::mutex ack_mu;
  std::condition_variable ack_cv;
  std::deque<PendingAck> pending;
  bool reading_done = false;
  std::atomic<bool> ack_failed{false};
  Journal* const wal = pipeline_.journal();
  // Acks are cumulative, so every batch made durable by the same group commit is acked by one
  // message: the last batch's acked_seq with the rejections of all of them.
  std::thread ack_writer([&] {
    pthread_setname_np(pthread_self(), "ccmon-acks");  // tells it from gRPC's in top -H
    while (true) {
      std::uint64_t lsn = 0;
      {
        std::unique_lock lock(ack_mu);
        ack_cv.wait(lock, [&] { return !pending.empty() || reading_done; });
        if (pending.empty()) return;
        lsn = pending.front().lsn;
      }
      // Ack only what is durable: wait for the group commit that covers this batch.
      while (wal != nullptr && !wal->WaitDurable(lsn, std::chrono::seconds(1))) {
        if (ctx->IsCancelled()) {
          ack_failed = true;
          ack_cv.notify_all();
          return;
        }
      }
      const std::uint64_t durable = wal != nullptr ? wal->durable_lsn() : 0;
      PendingAck p;
      {
        std::lock_guard lock(ack_mu);
        p = std::move(pending.front());
        pending.pop_front();
        while (!pending.empty() && (wal == nullptr || pending.front().lsn <= durable)) {
          v1::Ack* into = p.msg.mutable_ack();
          v1::Ack* next = pending.front().msg.mutable_ack();
          into->set_acked_seq(next->acked_seq());
          for (auto& r : *next->mutable_rejected()) *into->add_rejected() = std::move(r);
          pending.pop_front();
        }
      }
      ack_cv.notify_all();
      if (!WriteMessage(stream, p.msg)) {
        ack_failed = true;
        ack_cv.notify_all();
        return;
      }
    }
  });
  grpc::Status result = grpc::Status::OK;
  constexpr std::size_t kMaxPendingAcks = 64;
  std::string reserialised;
  std::vector<wire::DecodedEvent> events;  // views into raw's bytes (or reserialised)
  std::string wal_record;
  while (!ack_failed) {
    if (!raw.Read(stream)) break;
    // An agent's message is its batch field alone: that is decoded straight into events and
    // stored in the WAL as received. Anything else (unknown fields from a newer agent, not a
    // batch) goes through the generated parser, its batch serialised again.
    std::string_view batch = wire::BatchPayload(raw.bytes());
    int enclosing = 1;  // the payload is nested in the AgentMessage: one level of the limit
    if (batch.empty()) {
      v1::AgentMessage msg;
      if (!msg.ParseFromArray(raw.bytes().data(), static_cast<int>(raw.bytes().size()))) {
        // A protocol violation, like a non-batch after hello.
        pipeline_.CountRefusal(pipeline_.counters().streams_refused);
        result = {grpc::StatusCode::INVALID_ARGUMENT, "cannot parse a message (AgentMessage)"};
        break;
      }
      if (msg.msg_case() == v1::AgentMessage::kStatus) {
        pipeline_.Run([&](Engine& e) {
          e.ApplyAgentStatus(site, msg.status().spool_backlog_events(),
                             msg.status().spool_paused());
        });
        continue;
      }
      if (msg.msg_case() != v1::AgentMessage::kBatch) {
        pipeline_.CountRefusal(pipeline_.counters().streams_refused);
        result = {grpc::StatusCode::INVALID_ARGUMENT, "only batches and status may follow hello"};
        break;
      }
      msg.batch().SerializeToString(&reserialised);
      batch = reserialised;
      enclosing = 0;
    }
    if (!wire::DecodeBatch(batch, &events, enclosing)) {
      pipeline_.CountRefusal(pipeline_.counters().streams_refused);
      result = {grpc::StatusCode::INVALID_ARGUMENT, "cannot parse a message (AgentMessage)"};
      break;
    }
    if (static_cast<std::uint64_t>(events.size()) > max_batch) {
      pipeline_.CountRefusal(pipeline_.counters().batches_refused);
      result = {grpc::StatusCode::RESOURCE_EXHAUSTED, "batch of " + std::to_string(events.size()) +
                                                          " events exceeds max_batch_events " +
                                                          std::to_string(max_batch)};
      break;
    }
    PendingAck p{0, {}};
    auto* ack = p.msg.mutable_ack();
    // Backpressure while the WAL cannot write (disk full): wait here, before handing the
    // batch to the apply thread, so other work and reads go on.
    bool cancelled = false;
    while (wal != nullptr && !wal->WaitForRoom(std::chrono::seconds(1))) {
      if ((cancelled = ctx->IsCancelled())) break;
    }
    if (cancelled) {
      result = {grpc::StatusCode::CANCELLED, "stream cancelled"};
      break;
    }
    // The WAL record is framed and checksummed here, in parallel with the apply thread: the
    // apply thread only applies and copies the bytes into the WAL buffer (in apply order).
    std::uint32_t wal_crc = 0;
    if (wal != nullptr) wal_crc = wal->Frame(site, instance, batch, &wal_record);
    PipelineCounters& counters = pipeline_.counters();
    const std::uint64_t acked = pipeline_.Run([&](Engine& e) {
      const auto t0 = std::chrono::steady_clock::now();
      ApplyBatch(e, site, instance, events, ack);
      if (wal != nullptr) p.lsn = wal->Append(wal_record, wal_crc);
      counters.apply_ns_total +=
          static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::steady_clock::now() - t0)
                                         .count());
      ++counters.batches;
      return e.LastApplied(site, instance);
    });
    if (ack->rejected_size() > 0) {
      log->debug("site {}: {} events rejected, first: seq {} {}", site, ack->rejected_size(),
                 ack->rejected(0).seq(), ack->rejected(0).detail());
    }
    ack->set_acked_seq(acked);
    std::unique_lock lock(ack_mu);
    ack_cv.wait(lock, [&] { return pending.size() < kMaxPendingAcks || ack_failed; });
    pending.push_back(std::move(p));
    lock.unlock();
    ack_cv.notify_all();
  }
  {
    std::lock_guard lock(ack_mu);
    reading_done = true;
  }
  ack_cv.notify_all();
  ack_writer.join();
  if (!result.ok()) return result;
  log->info("site {} instance {} disconnected", site, instance);
  return grpc::Status::OK;
}

}  // namespace ccmon::collector
