// Ingest load generator for tests/bench/run.sh. Opens several concurrent site streams (one
// agent instance each) against anything serving ccmon.v1.Ingest, sends pre-built batches of
// realistic call events with a window of unacknowledged batches in flight, and prints the
// acknowledged events/s. With --rate and --metrics it instead offers a fixed load and measures
// event-to-/metrics latency with probe events. Benchmark tool, not shipped.
//
//   ingest_load --target HOST:PORT --batch N [--streams 8] [--window 8] [--seconds 3]
//               [--warmup 1] [--site-prefix bench]
//   ingest_load --target HOST:PORT --metrics HOST:PORT --rate 100000 [--batch 64]
//               [--latencies-file F] ...
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ccmon/v1/ingest.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using ccmon::v1::AgentMessage;
using ccmon::v1::CallEvent;
using ccmon::v1::CollectorMessage;

std::int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string target;
  std::string metrics;         // host:port of /metrics; enables the latency mode
  std::string latencies_file;  // per probe: latency ms, scrapes, last scrape ms (latency mode)
  int streams = 8;
  int batch = 256;
  int window = 8;
  double seconds = 3;
  double warmup = 1;
  double rate = 0;  // events/s over all streams; 0: as fast as acks allow
  double probe_every_ms = 20;
  std::string site_prefix = "bench";
};

// Appends the steps of call `n` of a site (offered, answered, completed) to a batch; returns
// how many of the three steps fit.
void AddCallStep(const std::string& site, std::uint64_t step, ccmon::v1::EventBatch* batch) {
  const std::uint64_t call = step / 3;
  const std::string queue = "q" + std::to_string(call % 10);
  const std::string call_id = site + "-" + std::to_string(1700000000 + call) + ".1";
  auto* e = batch->add_events();
  auto* c = e->mutable_call();
  c->set_queue(queue);
  c->set_call_id(call_id);
  const std::uint32_t wait_ms = static_cast<std::uint32_t>(2000 + (call * 7919) % 40000);
  switch (step % 3) {
    case 0:
      c->set_kind(CallEvent::KIND_OFFERED);
      c->set_caller_id("+1555" + std::to_string(1000000 + call % 9000000));
      c->set_position(static_cast<std::uint32_t>(1 + call % 5));
      break;
    case 1:
      c->set_kind(CallEvent::KIND_ANSWERED);
      c->set_agent("SIP/" + std::to_string(100 + call % 50));
      c->set_wait_ms(wait_ms);
      c->set_ring_ms(3000);
      break;
    default:
      c->set_kind(CallEvent::KIND_COMPLETED);
      c->set_agent("SIP/" + std::to_string(100 + call % 50));
      c->set_wait_ms(wait_ms);
      c->set_talk_ms(static_cast<std::uint32_t>(60000 + (call * 104729) % 240000));
      c->set_hung_up_by(call % 2 ? ccmon::v1::PARTY_CALLER : ccmon::v1::PARTY_AGENT);
      break;
  }
}

// Pre-built batches covering whole calls (the template count is a multiple of 3), reused in
// turn; only seq and event time are rewritten before each send.
std::vector<AgentMessage> BuildTemplates(const std::string& site, int batch) {
  const int n = 3 * std::max(1, (1024 + batch - 1) / batch);
  std::vector<AgentMessage> out(static_cast<std::size_t>(n));
  std::uint64_t step = 0;
  for (auto& m : out) {
    for (int i = 0; i < batch; ++i) AddCallStep(site, step++, m.mutable_batch());
  }
  return out;
}

std::atomic<std::uint64_t> g_acked_events{0};
std::atomic<bool> g_stop{false};
constexpr auto kStopCheck = std::chrono::milliseconds(50);

class StreamWorker {
 public:
  StreamWorker(std::shared_ptr<grpc::Channel> channel, std::string site, std::string instance,
               const Options& opt)
      : stub_(ccmon::v1::Ingest::NewStub(std::move(channel))),
        site_(std::move(site)),
        instance_(std::move(instance)),
        opt_(opt) {}

  bool Start() {
    stream_ = stub_->Stream(&ctx_);
    AgentMessage hello;
    hello.mutable_hello()->set_site(site_);
    hello.mutable_hello()->set_agent_instance(instance_);
    hello.mutable_hello()->set_agent_version("bench");
    CollectorMessage in;
    if (!stream_->Write(hello) || !stream_->Read(&in) || !in.has_welcome()) {
      std::fprintf(stderr, "ingest_load: %s: no welcome\n", instance_.c_str());
      return false;
    }
    acked_ = in.welcome().last_applied_seq();
    next_seq_ = acked_ + 1;
    templates_ = BuildTemplates(site_, opt_.batch);
    reader_ = std::thread([this] { ReadAcks(); });
    writer_ = std::thread([this] { WriteBatches(); });
    return true;
  }

  void Join() {
    writer_.join();
    reader_.join();
    const grpc::Status st = stream_->Finish();
    if (!st.ok()) {
      std::fprintf(stderr, "ingest_load: %s: %s\n", instance_.c_str(), st.error_message().c_str());
    }
  }

 private:
  void ReadAcks() {
    CollectorMessage in;
    while (stream_->Read(&in)) {
      if (!in.has_ack()) continue;
      std::lock_guard lock(mu_);
      const std::uint64_t a = in.ack().acked_seq();
      if (a > acked_) {
        g_acked_events += a - acked_;
        acked_ = a;
      }
      cv_.notify_one();
    }
    std::lock_guard lock(mu_);
    broken_ = true;
    cv_.notify_one();
  }

  void WriteBatches() {
    const std::uint64_t window_events =
        static_cast<std::uint64_t>(opt_.window) * static_cast<std::uint64_t>(opt_.batch);
    const double per_stream = opt_.rate / opt_.streams;
    const auto interval =
        std::chrono::duration<double>(per_stream > 0 ? opt_.batch / per_stream : 0.0);
    auto next_send = Clock::now();
    std::size_t t = 0;
    while (!g_stop) {
      {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(100),
                     [&] { return broken_ || next_seq_ - 1 - acked_ < window_events; });
        if (broken_) break;
        if (next_seq_ - 1 - acked_ >= window_events) continue;
      }
      if (per_stream > 0) {
        next_send += std::chrono::duration_cast<Clock::duration>(interval);
        while (!g_stop && Clock::now() < next_send) {
          std::this_thread::sleep_until(std::min(next_send, Clock::now() + kStopCheck));
        }
        if (g_stop) break;
      }
      AgentMessage& m = templates_[t++ % templates_.size()];
      const std::int64_t now = WallMs();
      for (auto& e : *m.mutable_batch()->mutable_events()) {
        e.set_seq(next_seq_++);
        e.set_event_time_ms(now);
      }
      if (!stream_->Write(m)) break;
    }
    stream_->WritesDone();
  }

  std::unique_ptr<ccmon::v1::Ingest::Stub> stub_;
  std::string site_;
  std::string instance_;
  const Options& opt_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<AgentMessage, CollectorMessage>> stream_;
  std::vector<AgentMessage> templates_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t acked_ = 0;
  std::uint64_t next_seq_ = 1;
  bool broken_ = false;
  std::thread reader_;
  std::thread writer_;
};

// GET /metrics over a plain socket (HTTP/1.0, read to EOF).
bool Scrape(const std::string& hostport, std::string* body) {
  const auto colon = hostport.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(hostport.substr(colon + 1))));
  if (inet_pton(AF_INET, hostport.substr(0, colon).c_str(), &addr.sin_addr) != 1) return false;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return false;
  }
  const std::string req = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return false;
  }
  body->clear();
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
    body->append(buf, static_cast<std::size_t>(n));
  close(fd);
  return true;
}

// Value of ccmon_calls_offered_total for the probe queue, or -1.
double ProbeCount(const std::string& body, const std::string& site) {
  const std::string key =
      "ccmon_calls_offered_total{client=\"default\",site=\"" + site + "\",queue=\"probe\"} ";
  const auto pos = body.find(key);
  if (pos == std::string::npos) return -1;
  return std::strtod(body.c_str() + pos + key.size(), nullptr);
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::lround(p * static_cast<double>(v.size() - 1)));
  return v[std::min(i, v.size() - 1)];
}

struct Probe {
  double ms = 0;              // written -> a scrape showed it
  int scrapes = 0;            // scrapes it took
  double last_scrape_ms = 0;  // the one that showed it
};

// Sends one offered call at a time to the probe queue of its own stream and scrapes /metrics
// until the counter shows it; returns each probe's latency and scrapes.
std::vector<Probe> RunProbes(const Options& opt, std::shared_ptr<grpc::Channel> channel) {
  std::vector<Probe> lat;
  const std::string site = opt.site_prefix + "-probe";
  auto stub = ccmon::v1::Ingest::NewStub(std::move(channel));
  grpc::ClientContext ctx;
  auto stream = stub->Stream(&ctx);
  AgentMessage m;
  m.mutable_hello()->set_site(site);
  m.mutable_hello()->set_agent_instance(site + "-inst");
  CollectorMessage in;
  if (!stream->Write(m) || !stream->Read(&in) || !in.has_welcome()) return lat;
  std::uint64_t seq = in.welcome().last_applied_seq();
  std::thread acks([&] {
    while (stream->Read(&in)) {
    }
  });
  std::string body;
  double seen = 0;
  if (Scrape(opt.metrics, &body)) seen = std::max(0.0, ProbeCount(body, site));
  const auto end = Clock::now() + std::chrono::duration<double>(opt.seconds);
  std::uint64_t n = 0;
  while (Clock::now() < end) {
    const auto next = Clock::now() + std::chrono::duration<double, std::milli>(opt.probe_every_ms);
    m.Clear();
    auto* e = m.mutable_batch()->add_events();
    e->set_seq(++seq);
    e->set_event_time_ms(WallMs());
    auto* c = e->mutable_call();
    c->set_kind(CallEvent::KIND_OFFERED);
    c->set_queue("probe");
    c->set_call_id("probe-" + std::to_string(++n));
    const auto t0 = Clock::now();
    if (!stream->Write(m)) break;
    const double want = seen + 1;
    bool ok = false;
    Probe p;
    while (Clock::now() - t0 < std::chrono::seconds(2)) {
      const auto s0 = Clock::now();
      const bool got = Scrape(opt.metrics, &body);
      p.last_scrape_ms = std::chrono::duration<double, std::milli>(Clock::now() - s0).count();
      ++p.scrapes;
      if (got && ProbeCount(body, site) >= want) {
        ok = true;
        break;
      }
    }
    if (!ok) {
      std::fprintf(stderr, "ingest_load: probe %llu not visible within 2 s\n",
                   static_cast<unsigned long long>(n));
      break;
    }
    seen = want;
    p.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    lat.push_back(p);
    std::this_thread::sleep_until(next);
  }
  stream->WritesDone();
  acks.join();
  stream->Finish();
  return lat;
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return false;
    const std::string v = argv[++i];
    if (a == "--target") {
      o->target = v;
    } else if (a == "--metrics") {
      o->metrics = v;
    } else if (a == "--latencies-file") {
      o->latencies_file = v;
    } else if (a == "--streams") {
      o->streams = std::stoi(v);
    } else if (a == "--batch") {
      o->batch = std::stoi(v);
    } else if (a == "--window") {
      o->window = std::stoi(v);
    } else if (a == "--seconds") {
      o->seconds = std::stod(v);
    } else if (a == "--warmup") {
      o->warmup = std::stod(v);
    } else if (a == "--rate") {
      o->rate = std::stod(v);
    } else if (a == "--probe-every-ms") {
      o->probe_every_ms = std::stod(v);
    } else if (a == "--site-prefix") {
      o->site_prefix = v;
    } else {
      return false;
    }
  }
  return !o->target.empty() && o->batch > 0 && o->streams > 0 && o->window > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!ParseArgs(argc, argv, &opt)) {
    std::fprintf(stderr,
                 "usage: ingest_load --target HOST:PORT --batch N [--streams N] "
                 "[--window N] [--seconds S] [--warmup S] [--rate EV_PER_S "
                 "--metrics HOST:PORT [--latencies-file F]] [--site-prefix P]\n");
    return 2;
  }
  // One channel (one HTTP/2 connection) per stream, as separate agents would have.
  std::vector<std::unique_ptr<StreamWorker>> workers;
  for (int i = 0; i < opt.streams; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct args: no subchannel sharing
    auto channel = grpc::CreateCustomChannel(opt.target, grpc::InsecureChannelCredentials(), args);
    char site[64];
    std::snprintf(site, sizeof site, "%s-site-%02d", opt.site_prefix.c_str(), i);
    workers.push_back(
        std::make_unique<StreamWorker>(channel, site, std::string(site) + "-inst", opt));
  }
  for (auto& w : workers) {
    if (!w->Start()) return 1;
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(opt.warmup));
  const std::uint64_t c0 = g_acked_events.load();
  const auto t0 = Clock::now();
  std::vector<Probe> probes;
  if (!opt.metrics.empty()) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", opt.streams);
    probes = RunProbes(
        opt, grpc::CreateCustomChannel(opt.target, grpc::InsecureChannelCredentials(), args));
  } else {
    std::this_thread::sleep_for(std::chrono::duration<double>(opt.seconds));
  }
  const std::uint64_t c1 = g_acked_events.load();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  g_stop = true;
  for (auto& w : workers) w->Join();
  const double rate = static_cast<double>(c1 - c0) / secs;
  if (!opt.latencies_file.empty()) {
    FILE* f = std::fopen(opt.latencies_file.c_str(), "w");
    if (f == nullptr) {
      std::fprintf(stderr, "ingest_load: cannot write %s: %s\n", opt.latencies_file.c_str(),
                   std::strerror(errno));
      return 1;
    }
    for (const Probe& p : probes) {
      std::fprintf(f, "%.2f %d %.2f\n", p.ms, p.scrapes, p.last_scrape_ms);
    }
    std::fclose(f);
  }
  std::vector<double> lat;
  std::size_t rescraped = 0;
  for (const Probe& p : probes) {
    lat.push_back(p.ms);
    if (p.scrapes > 1) ++rescraped;
  }
  if (opt.metrics.empty()) {
    std::printf("events_per_s %.0f\n", rate);
  } else {
    std::printf(
        "offered_events_per_s %.0f acked_events_per_s %.0f probes %zu p50_ms %.2f "
        "p99_ms %.2f rescraped %zu\n",
        opt.rate, rate, lat.size(), Percentile(lat, 0.50), Percentile(lat, 0.99), rescraped);
  }
  return 0;
}
