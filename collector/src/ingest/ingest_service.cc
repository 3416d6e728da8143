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
#include <memory>
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

  // Batches go to the apply thread without waiting for it, each in one of a fixed set of
  // slots (its bytes, decoded events and WAL record), so this thread reads and decodes the
  // next batches meanwhile; a slot is free again once its batch is applied. Acks wait in
  // order (at most kMaxPendingAcks) and are written by their own thread once the WAL has made
  // each batch durable. Acks are cumulative, so every batch made durable by the same group
  // commit is acked by one message: the last batch's acked_seq with the rejections of all.
  // Large batches leave big buffers: a slot taken again keeps at most this much of each.
  constexpr std::size_t kKeepBytes = 1 << 20;
  struct Slot {
    RawMessage raw;
    std::string reserialised;
    std::vector<wire::DecodedEvent> events;  // views into raw's bytes (or reserialised)
    std::string wal_record;
    std::uint32_t wal_crc = 0;
    v1::CollectorMessage msg;  // the ack
    std::uint64_t lsn = 0;
    std::size_t index = 0;  // in slots and jobs
    void Trim() {
      if (reserialised.capacity() > kKeepBytes) std::string().swap(reserialised);
      if (wal_record.capacity() > kKeepBytes) std::string().swap(wal_record);
      if (events.capacity() > 4096) std::vector<wire::DecodedEvent>().swap(events);
    }
  };
  struct PendingAck {
    std::uint64_t lsn;
    v1::CollectorMessage msg;
  };
  // The journal tells it when the oldest ack's record is durable (OnDurable), so the ack
  // writer is woken only for acks it can write: at small batches a futex call per batch is a
  // cost, and a stream with nothing to ack costs the group commit nothing.
  struct Shared final : DurableListener {
    explicit Shared(Journal* j) : wal(j) {}
    Journal* const wal;  // null: nothing is journalled, acks go when applied
    std::mutex mu;
    std::condition_variable cv;       // the ack writer: an ack to write, or the end
    std::condition_variable room_cv;  // the reader: a free slot and room for an ack
    bool writer_waits = false;
    bool reader_waits = false;
    std::vector<Slot*> free_slots;
    std::deque<PendingAck> acks;  // applied, in order, waiting to be durable and written
    std::size_t in_pipeline = 0;  // submitted and not yet applied
    bool reading_done = false;
    bool ack_failed = false;
    // The LSN of the oldest ack waiting (0: none); set in mu before AckReady reads the
    // journal's durable LSN (see DurableListener::Awaited).
    std::atomic<std::uint64_t> awaited{0};

    bool AckReady() const {
      return !acks.empty() && (wal == nullptr || acks.front().lsn <= wal->durable_lsn());
    }
    bool Finished() const { return acks.empty() && reading_done && in_pipeline == 0; }
    // In mu, whenever the oldest ack changes.
    void Await() { awaited = acks.empty() || wal == nullptr ? 0 : acks.front().lsn; }
    std::uint64_t Awaited() const override { return awaited.load(); }
    void OnDurable(std::uint64_t /*lsn*/) override {
      std::lock_guard lock(mu);
      if (writer_waits && AckReady()) cv.notify_one();
    }
  };
  struct Job {  // what the apply thread needs for one slot
    Slot* slot;
    const std::string* site;
    const std::string* instance;
    Journal* wal;
    PipelineCounters* counters;
    Shared* shared;
  };
  // An agent's window of unacknowledged batches is 8 by default: 8 slots let a stream decode
  // that far ahead, and bound what it queues ahead of other streams' work.
  constexpr std::size_t kSlots = 8;
  constexpr std::size_t kMaxPendingAcks = 64;
  Journal* const wal = pipeline_.journal();
  Shared sh(wal);
  // Unlisten runs before sh goes (declared after it): until it returns, the flusher may be in
  // sh.OnDurable.
  struct Listening {
    Journal* wal;
    Shared* sh;
    ~Listening() {
      if (wal != nullptr) wal->Unlisten(sh);
    }
  } listening{wal, &sh};
  if (wal != nullptr) wal->Listen(&sh);
  std::vector<std::unique_ptr<Slot>> slots(kSlots);
  std::vector<Job> jobs(kSlots);
  for (std::size_t i = 0; i < kSlots; ++i) {
    slots[i] = std::make_unique<Slot>();
    slots[i]->index = i;
    sh.free_slots.push_back(slots[i].get());
  }
  PipelineCounters& counters = pipeline_.counters();

  // On the apply thread: the batch is applied and appended to the WAL in apply order.
  auto apply = [](void* ctx, Engine& e) {
    const Job& j = *static_cast<Job*>(ctx);
    Slot& s = *j.slot;
    const auto t0 = std::chrono::steady_clock::now();
    v1::Ack* ack = s.msg.mutable_ack();
    ApplyBatch(e, *j.site, *j.instance, s.events, ack);
    if (j.wal != nullptr) s.lsn = j.wal->Append(s.wal_record, s.wal_crc);
    ack->set_acked_seq(e.LastApplied(*j.site, *j.instance));
    j.counters->apply_ns_total += static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
            .count());
    ++j.counters->batches;
  };
  // Then, still there: the ack joins the queue and the slot is free. Done under the stream's
  // lock, so the stream (which waits for every submitted slot) cannot end before this returns.
  auto applied = [](void* ctx) {
    const Job& j = *static_cast<Job*>(ctx);
    Slot& s = *j.slot;
    s.raw.Release(1 << 20);  // kKeepBytes (a lambda converted to a function pointer)
    std::lock_guard lock(j.shared->mu);
    j.shared->acks.push_back({s.lsn, {}});
    j.shared->acks.back().msg.Swap(&s.msg);
    if (j.shared->acks.size() == 1 && !j.shared->ack_failed) j.shared->Await();
    j.shared->free_slots.push_back(&s);
    --j.shared->in_pipeline;
    // Each side is woken only when it waits, and the writer only for an ack it can write
    // (else the group commit that makes it durable wakes it).
    if (j.shared->writer_waits && j.shared->AckReady()) j.shared->cv.notify_one();
    if (j.shared->reader_waits) j.shared->room_cv.notify_one();
  };
  // Ends the stream from the ack writer (the peer is gone or cancelled).
  auto fail_acks = [&] {
    {
      std::lock_guard lock(sh.mu);
      sh.ack_failed = true;
      sh.awaited = 0;  // nothing more will be written: the group commits can skip this stream
    }
    sh.cv.notify_all();
    sh.room_cv.notify_all();
  };

  std::thread ack_writer([&] {
    pthread_setname_np(pthread_self(), "ccmon-acks");  // tells it from gRPC's in top -H
    while (true) {
      PendingAck p;
      {
        // Ack only what is durable: wait for the group commit that covers the oldest batch.
        // Waits end each second to see whether the stream was cancelled (a disk that stays
        // full holds acks, and then the reader too, for as long as the agent waits).
        std::unique_lock lock(sh.mu);
        while (!sh.AckReady()) {
          if (sh.Finished()) return;
          sh.writer_waits = true;
          const bool ready = sh.cv.wait_for(lock, std::chrono::seconds(1),
                                            [&] { return sh.AckReady() || sh.Finished(); });
          sh.writer_waits = false;
          if (!ready && ctx->IsCancelled()) {
            lock.unlock();
            fail_acks();
            return;
          }
        }
        p = std::move(sh.acks.front());
        sh.acks.pop_front();
        v1::Ack* into = p.msg.mutable_ack();
        while (sh.AckReady()) {
          v1::Ack* from = sh.acks.front().msg.mutable_ack();
          into->set_acked_seq(from->acked_seq());
          for (auto& r : *from->mutable_rejected()) *into->add_rejected() = std::move(r);
          sh.acks.pop_front();
        }
        sh.Await();
        if (sh.reader_waits) sh.room_cv.notify_one();
      }
      const v1::Ack& a = p.msg.ack();
      if (a.rejected_size() > 0) {
        log->debug("site {}: {} events rejected, first: seq {} {}", site, a.rejected_size(),
                   a.rejected(0).seq(), a.rejected(0).detail());
      }
      if (!WriteMessage(stream, p.msg)) {
        fail_acks();
        return;
      }
    }
  });
  grpc::Status result = grpc::Status::OK;
  Slot* slot = nullptr;
  while (true) {
    if (slot == nullptr) {
      std::unique_lock lock(sh.mu);
      auto room = [&] { return !sh.free_slots.empty() && sh.acks.size() < kMaxPendingAcks; };
      if (!room() && !sh.ack_failed) {
        ++counters.backpressure_waits;
        sh.reader_waits = true;
        sh.room_cv.wait(lock, [&] { return room() || sh.ack_failed; });
        sh.reader_waits = false;
      }
      if (sh.ack_failed) break;
      slot = sh.free_slots.back();
      sh.free_slots.pop_back();
      lock.unlock();
      slot->Trim();
    }
    if (!slot->raw.Read(stream)) break;
    // An agent's message is its batch field alone: that is decoded straight into events and
    // stored in the WAL as received. Anything else (unknown fields from a newer agent, not a
    // batch) goes through the generated parser, its batch serialised again.
    std::string_view batch = wire::BatchPayload(slot->raw.bytes());
    int enclosing = 1;  // the payload is nested in the AgentMessage: one level of the limit
    if (batch.empty()) {
      v1::AgentMessage msg;
      const std::string_view bytes = slot->raw.bytes();
      if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        // A protocol violation, like a non-batch after hello.
        pipeline_.CountRefusal(counters.streams_refused);
        result = {grpc::StatusCode::INVALID_ARGUMENT, "cannot parse a message (AgentMessage)"};
        break;
      }
      if (msg.msg_case() == v1::AgentMessage::kStatus) {
        pipeline_.Run([&](Engine& e) {
          e.ApplyAgentStatus(site, instance,
                             {msg.status().spool_backlog_events(), msg.status().spool_paused(),
                              msg.status().sources_waiting()});
        });
        continue;
      }
      if (msg.msg_case() != v1::AgentMessage::kBatch) {
        pipeline_.CountRefusal(counters.streams_refused);
        result = {grpc::StatusCode::INVALID_ARGUMENT, "only batches and status may follow hello"};
        break;
      }
      msg.batch().SerializeToString(&slot->reserialised);
      batch = slot->reserialised;
      enclosing = 0;
    }
    if (!wire::DecodeBatch(batch, &slot->events, enclosing)) {
      pipeline_.CountRefusal(counters.streams_refused);
      result = {grpc::StatusCode::INVALID_ARGUMENT, "cannot parse a message (AgentMessage)"};
      break;
    }
    if (static_cast<std::uint64_t>(slot->events.size()) > max_batch) {
      pipeline_.CountRefusal(counters.batches_refused);
      result = {grpc::StatusCode::RESOURCE_EXHAUSTED,
                "batch of " + std::to_string(slot->events.size()) +
                    " events exceeds max_batch_events " + std::to_string(max_batch)};
      break;
    }
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
    if (wal != nullptr) slot->wal_crc = wal->Frame(site, instance, batch, &slot->wal_record);
    slot->lsn = 0;
    jobs[slot->index] = {slot, &site, &instance, wal, &counters, &sh};
    {
      std::lock_guard lock(sh.mu);
      ++sh.in_pipeline;
    }
    pipeline_.Submit({apply, applied, &jobs[slot->index]});
    slot = nullptr;
  }
  {
    std::lock_guard lock(sh.mu);
    sh.reading_done = true;
  }
  sh.cv.notify_all();
  ack_writer.join();
  {
    // Slots still queued for the apply thread live here: wait for them before they go.
    std::unique_lock lock(sh.mu);
    sh.reader_waits = true;
    sh.room_cv.wait(lock, [&] { return sh.in_pipeline == 0; });
  }
  if (!result.ok()) return result;
  log->info("site {} instance {} disconnected", site, instance);
  return grpc::Status::OK;
}

}  // namespace ccmon::collector
