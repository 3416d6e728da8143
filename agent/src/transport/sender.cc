#include "transport/sender.h"

#include <grpcpp/grpcpp.h>
#include <netdb.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <thread>

#include "ccmon/v1/agent_frame.pb.h"
#include "ccmon/v1/ingest.grpc.pb.h"
#include "log.h"

namespace ccmon::agent {

// Ingest.Stream opened with the agent's request type, AgentFrame (agent_frame.proto: the
// same bytes as AgentMessage, spooled events carried as they are stored), through the factory
// the generated stub itself calls.
using FrameStream = grpc::ClientReaderWriter<v1::AgentFrame, v1::CollectorMessage>;

struct Sender::Channel {
  Channel(const Channel&) = delete;  // method holds a pointer into method_name
  Channel& operator=(const Channel&) = delete;
  Channel(std::string addr, std::shared_ptr<grpc::Channel> ch)
      : address(std::move(addr)),
        channel(std::move(ch)),
        method(method_name.c_str(), grpc::internal::RpcMethod::BIDI_STREAMING, channel) {}

  std::unique_ptr<FrameStream> Stream(grpc::ClientContext* ctx) const {
    return std::unique_ptr<FrameStream>(
        grpc::internal::ClientReaderWriterFactory<v1::AgentFrame, v1::CollectorMessage>::Create(
            channel.get(), method, ctx));
  }

  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  const std::string method_name = std::string("/") + v1::Ingest::service_full_name() + "/Stream";
  const grpc::internal::RpcMethod method;
};

Sender::Sender(SenderOptions options, Spool& spool, std::mutex& spool_mu, ReplicaAcks& acks,
               std::size_t replica)
    : opt_(std::move(options)), spool_(spool), spool_mu_(spool_mu), acks_(acks), replica_(replica) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (!opt_.tls_ca.empty()) {
    grpc::SslCredentialsOptions so;
    so.pem_root_certs = opt_.tls_ca;
    so.pem_cert_chain = opt_.tls_cert;
    so.pem_private_key = opt_.tls_key;
    creds = grpc::SslCredentials(so);
  }
  channel_ = std::make_unique<Channel>(opt_.collector,
                                       grpc::CreateCustomChannel(opt_.collector, creds, args));
}

namespace {

// Leaves a spooled event that decodes as it is; one that does not becomes an empty event
// with its seq (counted by the collector as invalid), logged.
void CheckRecord(SpoolRecord* r) {
  v1::Event e;
  if (e.ParseFromString(r->payload)) return;
  Log()->error("spool record seq {} does not decode; sending it empty", r->seq);
  e.Clear();
  e.set_seq(r->seq);
  r->payload = e.SerializeAsString();
}

// Monotonic milliseconds, for how long a replica has been away.
std::int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A replica without a stream for this long while the spool is full and another replica is
// connected and ahead is given up.
constexpr std::int64_t kGiveUpAfterMs = 30000;

}  // namespace

void Sender::AckLocked(std::uint64_t seq) {
  acks_.Contact(replica_, SteadyMs());
  spool_.Ack(acks_.Ack(replica_, seq));
}

Sender::~Sender() = default;

void Sender::Notify() {
  {
    std::lock_guard lock(mu_);
    ++wake_;
  }
  cv_.notify_all();
}

bool Sender::reachable() const { return channel_->channel->GetState(false) == GRPC_CHANNEL_READY; }

void Sender::Stop() {
  stop_ = true;
  Notify();
}

bool Sender::WaitAcked(std::uint64_t seq, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, deadline, [&] { return acked_.load() >= seq || stop_.load(); }) &&
         acked_.load() >= seq;
}

namespace {

// Whether a TCP connection to HOST:PORT opens within a second.
bool TcpConnects(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), address.c_str() + colon + 1, &hints, &res) != 0) return false;
  bool ok = false;
  for (const addrinfo* a = res; a != nullptr && !ok; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      ok = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof err;
      ok = ::poll(&p, 1, 1000) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
           err == 0;
    }
    ::close(fd);
  }
  freeaddrinfo(res);
  return ok;
}

}  // namespace

// Why a collector could not be used, said at warning once per distinct reason (an unchanged
// reason retried every few seconds would flood the log), at debug after that.
void Sender::ReportFailure(const std::string& address, const std::string& why) {
  if (why != last_failure_) {
    Log()->warn("collector {} {}", address, why);
    last_failure_ = why;
  } else {
    Log()->debug("collector {} {}", address, why);
  }
}

void Sender::Backoff(std::chrono::milliseconds* delay) {
  static thread_local std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  const auto wait = std::chrono::milliseconds(static_cast<long>(delay->count() * jitter(rng)));
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, wait, [&] { return stop_.load(); });
  *delay = std::min(opt_.backoff_max, *delay * 2);
}

bool Sender::Session(const std::function<bool()>& done) {
  auto log = Log();
  auto& target = *channel_;
  // Drive the channel to connect now: a fail-fast stream on a channel in TRANSIENT_FAILURE
  // would fail at once and leave reconnecting to gRPC's own backoff, delaying recovery after a
  // collector outage by up to our backoff plus its.
  if (!target.channel->WaitForConnected(std::chrono::system_clock::now() +
                                        std::chrono::seconds(5))) {
    // gRPC does not say why a channel never became ready. A TCP connect that works where the
    // channel does not is almost always one side speaking TLS and the other not: say so once.
    std::string why = TcpConnects(target.address) ? "accepts TCP but not this agent's gRPC stream"
                                                  : "not reachable";
    if (why != "not reachable") {
      why += opt_.tls_ca.empty()
                 ? " (if the collector uses TLS, this agent needs --tls-ca: it is speaking "
                   "plaintext)"
                 : " (TLS handshake failed: does the collector use TLS, does --tls-ca sign its "
                   "certificate for this host name, does it require a client certificate?)";
    }
    ReportFailure(target.address, why);
    not_connected_ = true;  // that wait paced the retry already
    return false;
  }
  not_connected_ = false;
  grpc::ClientContext ctx;
  if (!opt_.token.empty()) ctx.AddMetadata("authorization", "Bearer " + opt_.token);
  auto stream = target.Stream(&ctx);
  v1::AgentFrame hello;
  hello.mutable_hello()->set_site(opt_.site);
  {
    std::lock_guard lock(spool_mu_);
    hello.mutable_hello()->set_agent_instance(spool_.instance_id());
  }
  hello.mutable_hello()->set_agent_version(opt_.version);
  v1::CollectorMessage in;
  if (!stream->Write(hello) || !stream->Read(&in) ||
      in.msg_case() != v1::CollectorMessage::kWelcome) {
    const auto status = stream->Finish();
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
        status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
      log->error("collector {} refused this agent: {}", target.address, status.error_message());
      refused_ = true;
      return false;
    }
    // Said once per distinct reason (at debug after that), with a hint when the reason looks
    // like one side speaking TLS and the other not: gRPC itself only says the socket closed.
    std::string why = status.error_message();
    const bool closed = why.find("Socket closed") != std::string::npos ||
                        why.find("reset by peer") != std::string::npos ||
                        why.find("end of stream") != std::string::npos;
    const bool handshake = why.find("andshake") != std::string::npos ||
                           why.find("SSL") != std::string::npos ||
                           why.find("WRONG_VERSION_NUMBER") != std::string::npos;
    if (opt_.tls_ca.empty() && closed) {
      why += " (if the collector uses TLS, this agent needs --tls-ca: it is speaking plaintext)";
    } else if (!opt_.tls_ca.empty() && (handshake || closed)) {
      why +=
          " (TLS handshake failed: does the collector use TLS, and does --tls-ca sign its "
          "certificate for this host name?)";
    }
    ReportFailure(target.address, "did not accept the stream: " + why);
    return false;
  }
  std::uint64_t sent = in.welcome().last_applied_seq();
  if (opt_.on_thresholds) {
    const std::map<std::string, double> thresholds(in.welcome().sl_threshold_s().begin(),
                                                   in.welcome().sl_threshold_s().end());
    opt_.on_thresholds(thresholds, in.welcome().default_sl_threshold_s());
  }
  const std::size_t batch_max = std::min<std::size_t>(
      opt_.batch_max, std::max<std::uint32_t>(1, in.welcome().max_batch_events()));
  {
    std::lock_guard lock(spool_mu_);
    if (sent >= spool_.next_seq()) {
      log->warn(
          "collector has applied up to seq {} but this spool only reached {}; "
          "numbering new events after it",
          sent, spool_.next_seq() - 1);
      std::string err;
      if (!spool_.SkipTo(sent, &err)) {
        log->error(
            "cannot record the new numbering in the spool ({}); spooling waits until it "
            "can",
            err);
      }
    }
    const std::uint64_t forgotten = spool_.stats().acked_seq;
    if (sent < forgotten) {
      log->warn(
          "collector {} has applied up to seq {} but the spool no longer holds seq {}-{} (given "
          "up while it was away, or it was restored from an older copy): it misses them",
          target.address, sent, sent + 1, forgotten);
    }
    acks_.Contact(replica_, SteadyMs());
    spool_.Ack(acks_.Welcome(replica_, sent));
  }
  acked_ = sent;
  connected_ = true;
  log->info("connected to collector {}, resuming after seq {}", target.address, sent);
  last_failure_.clear();

  std::atomic<bool> alive{true};
  std::thread reader([&] {
    v1::CollectorMessage msg;
    while (stream->Read(&msg)) {
      if (msg.msg_case() != v1::CollectorMessage::kAck) continue;
      const auto& ack = msg.ack();
      if (ack.rejected_size() > 0) {
        // One line per ack, not per event: a bad source must not flood the log.
        const auto& r = ack.rejected(0);
        log->warn("collector rejected {} event(s) up to seq {}; first: seq {} {} ({})",
                  ack.rejected_size(), ack.acked_seq(), r.seq(), r.reason(), r.detail());
      }
      {
        std::lock_guard lock(spool_mu_);
        AckLocked(ack.acked_seq());
      }
      acked_ = ack.acked_seq();
      Notify();
    }
    alive = false;
    Notify();
  });

  v1::AgentFrame batch;
  const bool status_ok = in.welcome().accepts_status();
  auto last_status = std::chrono::steady_clock::time_point{};
  auto write_status = [&] {
    v1::AgentFrame status;
    {
      std::lock_guard lock(spool_mu_);
      // This replica's backlog: what it has not acknowledged, whatever the others have.
      const auto st = spool_.stats();
      const std::uint64_t acked = acks_.acked(replica_);
      status.mutable_status()->set_spool_backlog_events(
          st.committed_seq > acked ? st.committed_seq - acked : 0);
      status.mutable_status()->set_spool_backlog_bytes(st.bytes);
    }
    status.mutable_status()->set_spool_paused(opt_.paused && opt_.paused());
    status.mutable_status()->set_sources_waiting(opt_.sources_waiting ? opt_.sources_waiting() : 0);
    return stream->Write(status);
  };
  // A write that fails means the call is over (the collector ended it, or the link broke):
  // its reader returns by itself, and the status the collector gave must reach Finish.
  bool call_over = false;
  while (alive && !stop_ && !done()) {
    // Live status beside the spooled events: what is waiting now, even while acks are held.
    if (status_ok && std::chrono::steady_clock::now() - last_status >= opt_.status_interval) {
      last_status = std::chrono::steady_clock::now();
      if (!write_status()) {
        call_over = true;
        break;
      }
    }
    std::vector<SpoolRecord> recs;
    std::uint64_t seen_wake = 0;
    {
      std::lock_guard lock(mu_);
      seen_wake = wake_;
    }
    const bool window_full = sent - acked_.load() >= batch_max * opt_.max_in_flight_batches;
    if (!window_full) {
      std::lock_guard lock(spool_mu_);
      recs = spool_.Read(sent, batch_max, replica_);
    }
    if (recs.empty()) {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(200),
                   [&] { return wake_ != seen_wake || stop_.load(); });
      continue;
    }
    batch.Clear();
    auto* events = batch.mutable_batch()->mutable_events();
    events->Reserve(static_cast<int>(recs.size()));
    if (verify_records_ && acked_.load() >= verify_until_) verify_records_ = false;
    for (auto& r : recs) {
      if (verify_records_) CheckRecord(&r);
      events->Add(std::move(r.payload));
    }
    if (!stream->Write(batch)) {
      call_over = true;
      break;
    }
    sent = recs.back().seq;
  }
  // Done (an import delivered, a drain complete): the last word is the status as it ends (its
  // backlog 0), and the stream is half-closed so the collector reads it before the end.
  bool graceful = false;
  if (status_ok && alive && !stop_ && done() && write_status() && stream->WritesDone()) {
    std::unique_lock lock(mu_);  // the reader says when the collector has closed (Notify)
    graceful = cv_.wait_for(lock, std::chrono::seconds(2), [&] { return !alive.load(); });
  }
  // A stream the collector ended keeps its status for Finish (an INVALID_ARGUMENT must reach
  // the record checking below): cancel only one still open.
  if (!graceful && alive && !call_over) ctx.TryCancel();
  reader.join();
  const auto status = stream->Finish();
  connected_ = false;
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT && !verify_records_) {
    {
      std::lock_guard lock(spool_mu_);
      verify_until_ = spool_.stats().committed_seq;  // the refused batch is within it
    }
    log->warn(
        "collector {} could not parse what this agent sent ({}); decoding each spooled event "
        "before sending from now on",
        target.address, status.error_message());
    verify_records_ = true;
  }
  {
    std::lock_guard lock(spool_mu_);
    acks_.Disconnected(replica_, SteadyMs());
  }
  if (!stop_ && !done()) {
    log->warn("stream to collector {} ended: {}", target.address,
              status.ok() ? "closed" : status.error_message());
  }
  return true;
}

void Sender::Run(const std::function<bool()>& paused) {
  auto delay = opt_.backoff_initial;
  while (!stop_) {
    if (paused && paused()) {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stop_.load(); });
      continue;
    }
    const bool welcomed = Session([&] { return paused && paused(); });
    if (stop_) break;
    if (welcomed) delay = opt_.backoff_initial;
    if (!not_connected_) Backoff(&delay);
  }
}

bool Sender::DrainUntilAcked(std::chrono::steady_clock::time_point deadline,
                             const std::function<bool()>& give_up) {
  std::uint64_t target = 0;
  {
    std::lock_guard lock(spool_mu_);
    target = spool_.stats().committed_seq;
  }
  auto done = [&] { return acked_.load() >= target; };
  auto given_up = [&] { return give_up && give_up(); };
  auto delay = opt_.backoff_initial;
  while (!stop_ && std::chrono::steady_clock::now() < deadline && !given_up()) {
    const bool welcomed = Session(
        [&] { return done() || given_up() || std::chrono::steady_clock::now() >= deadline; });
    if (done()) return true;
    if (given_up()) return false;
    if (refused_) return false;  // an import with the wrong identity fails at once
    if (welcomed) delay = opt_.backoff_initial;
    if (!not_connected_) Backoff(&delay);
  }
  return done();
}

SenderSet::SenderSet(const SenderOptions& options, Spool& spool, std::mutex& spool_mu)
    : spool_(spool),
      spool_mu_(spool_mu),
      addresses_([&] {
        std::vector<std::string> out;
        std::size_t start = 0;
        while (start <= options.collector.size()) {
          std::size_t comma = options.collector.find(',', start);
          if (comma == std::string::npos) comma = options.collector.size();
          if (comma > start) out.push_back(options.collector.substr(start, comma - start));
          start = comma + 1;
        }
        return out;
      }()),
      acks_(addresses_.size(), spool.stats().acked_seq, SteadyMs()) {
  for (std::size_t r = 0; r < addresses_.size(); ++r) {
    SenderOptions o = options;
    o.collector = addresses_[r];
    senders_.push_back(std::make_unique<Sender>(std::move(o), spool, spool_mu, acks_, r));
  }
}

SenderSet::~SenderSet() = default;

void SenderSet::Run(const std::function<bool()>& paused) {
  std::vector<std::thread> threads;
  for (std::size_t r = 1; r < senders_.size(); ++r) {
    threads.emplace_back([&, r] { senders_[r]->Run(paused); });
  }
  if (!senders_.empty()) senders_[0]->Run(paused);
  for (auto& t : threads) t.join();
}

bool SenderSet::DrainUntilAcked(std::chrono::steady_clock::time_point deadline) {
  const std::unique_ptr<std::atomic<bool>[]> ok(new std::atomic<bool>[senders_.size()] {});
  std::atomic<std::size_t> running{senders_.size()};
  std::vector<std::thread> threads;
  threads.reserve(senders_.size());
  for (std::size_t r = 0; r < senders_.size(); ++r) {
    threads.emplace_back([&, r] {
      ok[r] = senders_[r]->DrainUntilAcked(deadline, [&, r] {
        std::lock_guard lock(spool_mu_);
        return acks_.given_up(r);
      });
      --running;
    });
  }
  // While the others deliver, a replica left behind with the spool full is given up (its
  // drain then ends): the import goes on with the others. A replica that has acknowledged
  // everything and closed its stream is current, not away, while its connection stays up
  // (keepalive pings it): it stays the live lead however long the laggard takes to be given
  // up, but not once the agent's own link is down.
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::lock_guard lock(spool_mu_);
    for (std::size_t r = 0; r < senders_.size(); ++r) {
      if (ok[r] && senders_[r]->reachable()) acks_.Contact(r, SteadyMs());
    }
    if (spool_.Full()) GiveUpLaggingLocked();
  }
  for (auto& t : threads) t.join();
  std::lock_guard lock(spool_mu_);
  bool all = true;
  for (std::size_t r = 0; r < senders_.size(); ++r) {
    if (ok[r]) continue;
    if (!acks_.given_up(r)) {
      Log()->error("collector {} did not acknowledge everything in time", addresses_[r]);
      all = false;
    } else {
      Log()->warn("collector {} was given up: it misses what it had not acknowledged",
                  addresses_[r]);
    }
  }
  return all;
}

void SenderSet::Stop() {
  for (auto& s : senders_) s->Stop();
}

bool SenderSet::WaitAcked(std::uint64_t seq, std::chrono::steady_clock::time_point deadline) {
  bool all = true;
  for (std::size_t r = 0; r < senders_.size(); ++r) {
    {
      std::lock_guard lock(spool_mu_);
      if (acks_.given_up(r)) continue;
    }
    all = senders_[r]->WaitAcked(seq, deadline) && all;
  }
  return all;
}

void SenderSet::Notify() {
  for (auto& s : senders_) s->Notify();
}

std::uint64_t SenderSet::acked() const {
  std::lock_guard lock(spool_mu_);
  return acks_.Min();
}

void SenderSet::GiveUpLaggingLocked() {
  if (senders_.size() < 2) return;
  for (std::size_t r : acks_.GiveUpAway(SteadyMs(), kGiveUpAfterMs)) {
    Log()->error(
        "collector {} has been away for over {} s with only seq {} acknowledged and the spool "
        "is full: giving it up so that the other collectors go on; it misses what the spool "
        "drops before it is back",
        addresses_[r], kGiveUpAfterMs / 1000, acks_.acked(r));
  }
  spool_.Ack(acks_.Min());
}

}  // namespace ccmon::agent
