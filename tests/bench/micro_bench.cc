// Micro-benchmarks (Google Benchmark) of the per-event paths, each paired with a baseline that
// does the least possible work on the same input. Besides Google Benchmark's own console
// output (on stderr), prints one "row|what|ccmon|baseline|ratio" line per pair on stdout for
// tests/bench/run.sh's table. Benchmark tool, not shipped.
#include <benchmark/benchmark.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "ccmon/agent/queue_log.h"
#include "ccmon/agent/spool.h"
#include "ccmon/collector/clock.h"
#include "ccmon/collector/engine.h"
#include "ccmon/v1/agent_frame.pb.h"
#include "ccmon/v1/ingest.pb.h"
#include "ccmon/wire/codec.h"
#include "export/exposition.h"
#include "export/metrics.h"
#include "ingest/apply.h"
#include "storage/wal.h"

namespace {

using ccmon::AgentState;
using ccmon::AgentStateEvent;
using ccmon::CallEvent;
using ccmon::CallKind;
using ccmon::Event;

constexpr std::int64_t kNowMs = 1795600800000;

// --- inputs -------------------------------------------------------------------------------

// A realistic queue_log: each call enters one of 10 queues, rings an agent who does not
// answer, then is answered and completed (4 in 5) or abandoned (1 in 5).
std::vector<std::string> QueueLogLines(int calls) {
  std::vector<std::string> lines;
  char buf[256];
  for (int i = 0; i < calls; ++i) {
    const long t = 1795600800L + i;
    const int q = i % 10, w = 3 + (i * 7) % 40, talk = 60 + (i * 13) % 300;
    const int agent = 100 + i % 50;
    const std::string id = std::to_string(1700000000 + i) + ".1";
    std::snprintf(buf, sizeof buf, "%ld|%s|q%d|NONE|ENTERQUEUE||+1555%07d|1", t, id.c_str(), q, i);
    lines.emplace_back(buf);
    std::snprintf(buf, sizeof buf, "%ld|%s|q%d|SIP/%d|RINGNOANSWER|2000", t + 2, id.c_str(), q,
                  agent);
    lines.emplace_back(buf);
    if (i % 5 == 4) {
      std::snprintf(buf, sizeof buf, "%ld|%s|q%d|NONE|ABANDON|1|1|%d", t + w, id.c_str(), q, w);
      lines.emplace_back(buf);
      continue;
    }
    std::snprintf(buf, sizeof buf, "%ld|%s|q%d|SIP/%d|CONNECT|%d|%s2|3", t + w, id.c_str(), q,
                  agent + 1, w, id.c_str());
    lines.emplace_back(buf);
    std::snprintf(buf, sizeof buf, "%ld|%s|q%d|SIP/%d|COMPLETECALLER|%d|%d|1", t + w + talk,
                  id.c_str(), q, agent + 1, w, talk);
    lines.emplace_back(buf);
  }
  return lines;
}

// Domain call events (offered, answered, completed) whose strings live in `storage`.
struct CallEvents {
  std::vector<std::string> storage;
  std::vector<Event> events;
};

CallEvents MakeCallEvents(int calls, int queues, const std::string& prefix) {
  CallEvents out;
  out.storage.reserve(static_cast<std::size_t>(calls) * 2 + static_cast<std::size_t>(queues) + 50);
  std::vector<std::string_view> qnames, agents;
  for (int q = 0; q < queues; ++q)
    qnames.push_back(out.storage.emplace_back("q" + std::to_string(q)));
  for (int a = 0; a < 50; ++a)
    agents.push_back(out.storage.emplace_back("SIP/" + std::to_string(100 + a)));
  for (int i = 0; i < calls; ++i) {
    const std::string_view id = out.storage.emplace_back(prefix + std::to_string(1700000000 + i));
    const std::string_view caller = out.storage.emplace_back("+1555" + std::to_string(1000000 + i));
    CallEvent c;
    c.queue = qnames[static_cast<std::size_t>(i % queues)];
    c.call_id = id;
    const std::int64_t t = kNowMs - 3600000 + i;
    c.kind = CallKind::kOffered;
    c.caller_id = caller;
    c.position = 1;
    out.events.push_back(Event{0, t, c});
    c.kind = CallKind::kAnswered;
    c.agent = agents[static_cast<std::size_t>(i % 50)];
    c.wait_ms = static_cast<std::uint32_t>(2000 + (static_cast<std::int64_t>(i) * 7919) % 40000);
    c.ring_ms = 3000;
    out.events.push_back(Event{0, t + c.wait_ms, c});
    c.kind = CallKind::kCompleted;
    c.talk_ms =
        static_cast<std::uint32_t>(60000 + (static_cast<std::int64_t>(i) * 104729) % 240000);
    c.hung_up_by = ccmon::Party::kCaller;
    out.events.push_back(Event{0, t + c.wait_ms + c.talk_ms, c});
  }
  return out;
}

// --- agent: queue_log parse + state machine -------------------------------------------------

const std::vector<std::string>& Lines() {
  static const auto* lines = new std::vector<std::string>(QueueLogLines(25000));
  return *lines;
}

void BM_QueueLogParseStateMachine(benchmark::State& state) {
  const auto& lines = Lines();
  std::uint64_t events = 0;
  for (auto _ : state) {
    // A fresh machine per pass: the same call ids again would be dropped as duplicates.
    ccmon::agent::QueueLogStateMachine sm([&](const Event&) { ++events; });
    ccmon::agent::QueueLogLine l;
    for (const auto& line : lines) {
      if (ccmon::agent::ParseQueueLogLine(line, &l).status == ccmon::agent::ParseStatus::kOk) {
        sm.Process(l);
      }
    }
  }
  benchmark::DoNotOptimize(events);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(lines.size()));
}
BENCHMARK(BM_QueueLogParseStateMachine);

// Baseline: split the same lines on '|' into string_views, nothing else.
void BM_QueueLogSplitBaseline(benchmark::State& state) {
  const auto& lines = Lines();
  for (auto _ : state) {
    for (const auto& line : lines) {
      std::string_view rest = line, f[10];
      std::size_t n = 0;
      while (n < 10) {
        const auto p = rest.find('|');
        f[n++] = rest.substr(0, p);
        if (p == std::string_view::npos) break;
        rest.remove_prefix(p + 1);
      }
      benchmark::DoNotOptimize(f);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(lines.size()));
}
BENCHMARK(BM_QueueLogSplitBaseline);

// --- agent: spool ---------------------------------------------------------------------------

constexpr int kEventsPerCommit = 64;  // one source read chunk per commit

std::string TempDir(const char* name) {
  std::string d = std::filesystem::temp_directory_path().string() + "/ccmon-bench-" + name + "-" +
                  std::to_string(getpid());
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

// A wire-encoded call event, as the agent spools it.
std::string SpoolPayload() {
  const CallEvents ev = MakeCallEvents(1, 1, "manila-1-");
  ccmon::v1::Event p;
  ccmon::wire::ToProto(ev.events[1], &p);
  p.set_seq(123456);
  return p.SerializeAsString();
}

void BM_SpoolAppendCommit(benchmark::State& state) {
  const std::string dir = TempDir("spool");
  ccmon::agent::Spool spool;
  ccmon::agent::SpoolOptions o;
  o.dir = dir;
  o.fsync_on_commit = state.range(0) != 0;
  std::string err;
  if (!spool.Open(o, &err)) {
    state.SkipWithError(err.c_str());
    return;
  }
  const std::string payload = SpoolPayload();
  std::int64_t n = 0;
  for (auto _ : state) {
    if (!spool.Append(payload, &err)) {
      state.SkipWithError(err.c_str());
      break;
    }
    if (++n % kEventsPerCommit == 0) {
      if (!spool.Commit("queue_log", std::to_string(n), &err)) {
        state.SkipWithError(err.c_str());
        break;
      }
      // The collector acks as fast as we spool: fully acked segments get deleted.
      if (n % (kEventsPerCommit * 256) == 0) spool.Ack(spool.stats().committed_seq);
    }
  }
  state.SetItemsProcessed(n);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SpoolAppendCommit)->Arg(0)->Arg(1)->UseRealTime();

// Baseline: fwrite the same payload bytes plus an 8-byte length/CRC-sized header, flushing (and
// fdatasyncing with Arg 1) at the same points.
void BM_SpoolFwriteBaseline(benchmark::State& state) {
  const std::string dir = TempDir("fwrite");
  const std::string path = dir + "/raw.log";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  const std::string payload = SpoolPayload();
  const char header[16] = {};
  std::int64_t n = 0;
  long written = 0;
  for (auto _ : state) {
    std::fwrite(header, 1, 16, f);
    std::fwrite(payload.data(), 1, payload.size(), f);
    written += 16 + static_cast<long>(payload.size());
    if (++n % kEventsPerCommit == 0) {
      std::fflush(f);
      if (state.range(0) != 0) fdatasync(fileno(f));
      if (written > (16L << 20)) {  // same segment size as the spool's default
        std::fclose(f);
        f = std::fopen(path.c_str(), "wb");
        written = 0;
      }
    }
  }
  std::fclose(f);
  state.SetItemsProcessed(n);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SpoolFwriteBaseline)->Arg(0)->Arg(1)->UseRealTime();

// --- agent pipeline: parse -> state machine -> wire encode -> spool (fsync per chunk) --------
// Arg: input lines per commit (one fdatasync each). 64 is the row the target was set
// on; 200 is what the agent does at 1k events/s, where each 200 ms poll reads ~200 lines
// into one chunk (the queue_log has about one event a line).

void AgentPipeline(benchmark::State& state, bool fsync) {
  const auto lines_per_commit = static_cast<std::size_t>(state.range(0));
  const auto& lines = Lines();
  const std::string dir = TempDir("agent");
  ccmon::agent::Spool spool;
  ccmon::agent::SpoolOptions o;
  o.dir = dir;
  o.fsync_on_commit = fsync;
  std::string err;
  if (!spool.Open(o, &err)) {
    state.SkipWithError(err.c_str());
    return;
  }
  ccmon::v1::Event proto;
  std::string buf;
  std::int64_t events = 0;
  for (auto _ : state) {
    // As the agent's SpoolWriter does it.
    ccmon::agent::QueueLogStateMachine sm([&](const Event& e) {
      proto.Clear();
      ccmon::wire::ToProto(e, &proto);
      proto.set_seq(spool.next_seq());
      proto.SerializeToString(&buf);
      spool.Append(buf, &err);
      ++events;
    });
    ccmon::agent::QueueLogLine l;
    std::size_t i = 0;
    for (const auto& line : lines) {
      if (ccmon::agent::ParseQueueLogLine(line, &l).status == ccmon::agent::ParseStatus::kOk) {
        sm.Process(l);
      }
      // Each commit carries the source's cursor, the state machine's open calls with it.
      if (++i % lines_per_commit == 0) {
        spool.Commit("queue_log", std::to_string(i) + "\n" + sm.SaveState(), &err);
      }
    }
    spool.Commit("queue_log", "end\n" + sm.SaveState(), &err);
    spool.Ack(spool.stats().committed_seq);
  }
  state.SetItemsProcessed(events);
  std::filesystem::remove_all(dir);
}
void BM_AgentPipeline(benchmark::State& state) { AgentPipeline(state, true); }
BENCHMARK(BM_AgentPipeline)->Arg(64)->Arg(200)->MeasureProcessCPUTime();
// The same without fdatasync: the agent's own CPU, without what the kernel spends on the disk.
void BM_AgentPipelineNoSync(benchmark::State& state) { AgentPipeline(state, false); }
BENCHMARK(BM_AgentPipelineNoSync)->Arg(64)->MeasureProcessCPUTime();

// --- agent sender: a batch of 256 spooled events onto the wire ------------------------------

// Spooled payloads (serialised events, as the spool returns them), 256 a batch.
std::vector<std::string> SpooledPayloads() {
  const CallEvents ev = MakeCallEvents(256, 10, "manila-1-");
  std::vector<std::string> out;
  ccmon::v1::Event proto;
  for (std::size_t i = 0; i < 256 && i < ev.events.size(); ++i) {
    Event e = ev.events[i];
    e.seq = i + 1;
    ccmon::wire::ToProto(e, &proto);
    out.push_back(proto.SerializeAsString());
  }
  return out;
}

// What the sender does: the stored bytes into an AgentFrame, serialised as gRPC would.
void BM_AgentSendFrame(benchmark::State& state) {
  const auto payloads = SpooledPayloads();
  ccmon::v1::AgentFrame frame;
  std::string wire;
  for (auto _ : state) {
    std::vector<std::string> recs = payloads;  // the spool's Read hands out copies
    frame.Clear();
    auto* events = frame.mutable_batch()->mutable_events();
    for (auto& r : recs) events->Add(std::move(r));
    frame.SerializeToString(&wire);
    benchmark::DoNotOptimize(wire);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(payloads.size()));
}
BENCHMARK(BM_AgentSendFrame);

// Baseline: each stored event parsed into an AgentMessage and serialised again.
void BM_AgentSendFrameBaseline(benchmark::State& state) {
  const auto payloads = SpooledPayloads();
  ccmon::v1::AgentMessage message;
  std::string wire;
  for (auto _ : state) {
    std::vector<std::string> recs = payloads;
    message.Clear();
    auto* events = message.mutable_batch()->mutable_events();
    for (const auto& r : recs) benchmark::DoNotOptimize(events->Add()->ParseFromString(r));
    message.SerializeToString(&wire);
    benchmark::DoNotOptimize(wire);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(payloads.size()));
}
BENCHMARK(BM_AgentSendFrameBaseline);

// --- collector: Engine::Apply and the ingest batch path --------------------------------------

// Event-time span of one pass over the prepared calls, with room for their talk times.
constexpr std::int64_t kPassMs = 600000;

void BM_EngineApply(benchmark::State& state) {
  ccmon::collector::FakeClock clock(kNowMs);
  ccmon::collector::Engine engine(ccmon::collector::CoreConfig{}, clock);
  const CallEvents ev = MakeCallEvents(30000, 10, "manila-1-");
  engine.OpenStream("manila-1", "inst", "bench");
  std::uint64_t seq = 0;
  std::size_t i = 0;
  std::int64_t offset = 0;
  for (auto _ : state) {
    Event e = ev.events[i];
    // Each pass over the calls moves event time (and the clock) on, so nothing is late.
    if (++i == ev.events.size()) {
      i = 0;
      offset += kPassMs;
      clock.Advance(kPassMs);
    }
    e.seq = ++seq;
    e.time_ms += offset;
    benchmark::DoNotOptimize(engine.Apply("manila-1", "inst", e));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EngineApply);

// Baseline: the least an aggregator must do per event: find the queue's counters by
// (site, queue) in a hash map and bump one.
void BM_EngineApplyBaseline(benchmark::State& state) {
  const CallEvents ev = MakeCallEvents(30000, 10, "manila-1-");
  std::unordered_map<std::string, std::array<std::uint64_t, 8>> counters;
  std::string key;
  std::size_t i = 0;
  for (auto _ : state) {
    const Event& e = ev.events[i];
    if (++i == ev.events.size()) i = 0;
    const auto& c = std::get<CallEvent>(e.body);
    key.assign("manila-1/");
    key.append(c.queue);
    ++counters[key][static_cast<std::size_t>(c.kind)];
  }
  benchmark::DoNotOptimize(counters);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EngineApplyBaseline);

// The collector's per-batch work (decode, apply, WAL record encode) per event, at batch 256,
// on batches as received (serialised); baseline: what the bare sink does with the same bytes,
// a parse into a reused generated message.
std::vector<std::string> SerialisedBatches() {
  const CallEvents ev = MakeCallEvents(1024, 10, "manila-1-");
  std::vector<ccmon::v1::EventBatch> batches(ev.events.size() / 256);
  for (std::size_t i = 0; i < batches.size() * 256; ++i) {
    Event e = ev.events[i];
    e.seq = i + 1;
    ccmon::wire::ToProto(e, batches[i / 256].add_events());
  }
  std::vector<std::string> out;
  out.reserve(batches.size());
  for (const auto& b : batches) out.push_back(b.SerializeAsString());
  return out;
}

void BM_IngestBatchPath(benchmark::State& state) {
  ccmon::collector::FakeClock clock(kNowMs);
  ccmon::collector::Engine engine(ccmon::collector::CoreConfig{}, clock);
  const auto batches = SerialisedBatches();
  std::vector<ccmon::wire::DecodedEvent> events;
  std::string record;
  // Every pass over the batches is a new agent instance, so its seqs are new again.
  std::string instance = "inst-0";
  engine.OpenStream("manila-1", instance, "bench");
  std::size_t i = 0;
  for (auto _ : state) {
    if (i > 0 && i % batches.size() == 0) {
      instance = "inst-" + std::to_string(i / batches.size());
      engine.OpenStream("manila-1", instance, "bench");
    }
    const std::string& bytes = batches[i++ % batches.size()];
    if (!ccmon::wire::DecodeBatch(bytes, &events)) state.SkipWithError("does not decode");
    ccmon::v1::Ack ack;
    ccmon::collector::ApplyBatch(engine, "manila-1", instance, events, &ack);
    if (ack.rejected_size() > 0) state.SkipWithError(ack.rejected(0).reason().c_str());
    ccmon::collector::EncodeWalRecord("manila-1", instance, bytes, &record);
    benchmark::DoNotOptimize(record.data());
  }
  state.SetItemsProcessed(state.iterations() * 256);
}
BENCHMARK(BM_IngestBatchPath);

void BM_IngestBatchDecode(benchmark::State& state) {
  const auto batches = SerialisedBatches();
  std::vector<ccmon::wire::DecodedEvent> events;
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ccmon::wire::DecodeBatch(batches[i++ % batches.size()], &events));
  }
  state.SetItemsProcessed(state.iterations() * 256);
}
BENCHMARK(BM_IngestBatchDecode);

void BM_IngestBatchDecodeBaseline(benchmark::State& state) {
  const auto batches = SerialisedBatches();
  ccmon::v1::EventBatch batch;
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& bytes = batches[i++ % batches.size()];
    benchmark::DoNotOptimize(batch.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  }
  state.SetItemsProcessed(state.iterations() * 256);
}
BENCHMARK(BM_IngestBatchDecodeBaseline);

// --- collector: /metrics render -------------------------------------------------------------

// An engine with `queues` queues (10 per site) that each saw calls and agents.
std::unique_ptr<ccmon::collector::Engine> PopulatedEngine(const ccmon::collector::Clock& clock,
                                                          int queues) {
  auto engine = std::make_unique<ccmon::collector::Engine>(ccmon::collector::CoreConfig{}, clock);
  const int sites = std::max(1, queues / 10);
  for (int s = 0; s < sites; ++s) {
    const std::string site = "site-" + std::to_string(s);
    engine->OpenStream(site, "inst", "bench");
    const CallEvents ev = MakeCallEvents(30, std::min(queues, 10), site + "-");
    std::uint64_t seq = 0;
    for (Event e : ev.events) {
      e.seq = ++seq;
      engine->Apply(site, "inst", e);
    }
    for (int q = 0; q < std::min(queues, 10); ++q) {
      const std::string queue = "q" + std::to_string(q);
      for (int a = 0; a < 3; ++a) {
        const std::string agent = "SIP/" + std::to_string(100 + a);
        engine->Apply(
            site, "inst",
            Event{++seq, kNowMs - 1000, AgentStateEvent{agent, queue, AgentState::kReady, {}}});
      }
    }
  }
  return engine;
}

std::string Render(const ccmon::collector::Engine& engine) {
  const ccmon::collector::Snapshot s = engine.TakeSnapshot();
  return ccmon::collector::RenderMetrics(s, nullptr);
}

std::size_t CountSeries(const std::string& text) {
  std::size_t n = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto eol = text.find('\n', pos);
    if (text[pos] != '#') ++n;
    if (eol == std::string::npos) break;
    pos = eol + 1;
  }
  return n;
}

// Queues needed for about `series` series (calibrated once on 10 queues).
int QueuesFor(std::size_t series) {
  static const double per_queue = [] {
    ccmon::collector::FakeClock clock(kNowMs);
    auto e10 = PopulatedEngine(clock, 10);
    auto e20 = PopulatedEngine(clock, 20);
    return static_cast<double>(CountSeries(Render(*e20)) - CountSeries(Render(*e10))) / 10.0;
  }();
  return std::max(1, static_cast<int>(std::lround(static_cast<double>(series) / per_queue)));
}

void BM_MetricsRender(benchmark::State& state) {
  ccmon::collector::FakeClock clock(kNowMs);
  auto engine = PopulatedEngine(clock, QueuesFor(static_cast<std::size_t>(state.range(0))));
  std::size_t bytes = 0, series = 0;
  for (auto _ : state) {
    const std::string text = Render(*engine);
    bytes = text.size();
    series = CountSeries(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["series"] = static_cast<double>(series);
}
BENCHMARK(BM_MetricsRender)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

// Baseline: format the same number of series lines of the same average length straight into
// a string (the floor for any text exposition).
void BM_MetricsRenderBaseline(benchmark::State& state) {
  ccmon::collector::FakeClock clock(kNowMs);
  auto engine = PopulatedEngine(clock, QueuesFor(static_cast<std::size_t>(state.range(0))));
  const std::string ref = Render(*engine);
  const std::size_t series = CountSeries(ref);
  for (auto _ : state) {
    std::string out;
    out.reserve(ref.size());
    char buf[256];
    for (std::size_t i = 0; i < series; ++i) {
      const int n = std::snprintf(buf, sizeof buf,
                                  "ccmon_calls_answered_in_threshold_total{client=\"default\","
                                  "site=\"site-%zu\",queue=\"q%zu\",window=\"15m\"} %g\n",
                                  i / 100, i % 10, static_cast<double>(i) * 1.5);
      out.append(buf, static_cast<std::size_t>(n));
    }
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_MetricsRenderBaseline)
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond);

// The text writer against prometheus-cpp's TextSerializer on the same families (the
// rendering step alone, without taking the snapshot or building the families).
void BM_ExpositionWrite(benchmark::State& state) {
  ccmon::collector::FakeClock clock(kNowMs);
  auto engine = PopulatedEngine(clock, QueuesFor(static_cast<std::size_t>(state.range(0))));
  const auto families = ccmon::collector::BuildFamilies(engine->TakeSnapshot(), nullptr);
  for (auto _ : state) benchmark::DoNotOptimize(ccmon::collector::RenderExposition(families));
}
BENCHMARK(BM_ExpositionWrite)->Arg(100000)->Unit(benchmark::kMillisecond);

void BM_ExpositionWriteBaseline(benchmark::State& state) {
  ccmon::collector::FakeClock clock(kNowMs);
  auto engine = PopulatedEngine(clock, QueuesFor(static_cast<std::size_t>(state.range(0))));
  const auto families = ccmon::collector::BuildFamilies(engine->TakeSnapshot(), nullptr);
  for (auto _ : state) benchmark::DoNotOptimize(prometheus::TextSerializer().Serialize(families));
}
BENCHMARK(BM_ExpositionWriteBaseline)->Arg(100000)->Unit(benchmark::kMillisecond);

// --- reporting ------------------------------------------------------------------------------

// Keeps every run (for the table) and prints Google Benchmark's console output to stderr.
class TableReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.error_occurred) continue;
      runs_[r.benchmark_name()] = r;
    }
  }
  const Run* Find(const std::string& name) const {
    auto it = runs_.find(name);
    return it == runs_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, Run> runs_;
};

std::string Fmt(double v, const char* unit) {
  char buf[64];
  if (v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fM %s", v / 1e6, unit);
  } else if (v >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.1fk %s", v / 1e3, unit);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g %s", v, unit);
  }
  return buf;
}

double Rate(const benchmark::BenchmarkReporter::Run* r) {
  auto it = r->counters.find("items_per_second");
  return it == r->counters.end() ? 0 : it->second.value;
}

double Ms(const benchmark::BenchmarkReporter::Run* r) {
  return r->GetAdjustedRealTime() * 1e3 / benchmark::GetTimeUnitMultiplier(r->time_unit);
}

void Row(const std::string& what, const std::string& a, const std::string& b, double ratio) {
  std::printf("row|%s|%s|%s|%.2f\n", what.c_str(), a.c_str(), b.c_str(), ratio);
}

void PrintRows(const TableReporter& rep) {
  auto pair_rate = [&](const std::string& what, const char* a, const char* b, const char* unit) {
    const auto* ra = rep.Find(a);
    const auto* rb = rep.Find(b);
    if (ra == nullptr || rb == nullptr) return;
    Row(what, Fmt(Rate(ra), unit), Fmt(Rate(rb), unit), Rate(ra) / Rate(rb));
  };
  pair_rate("queue_log parse+state machine (vs plain split)", "BM_QueueLogParseStateMachine",
            "BM_QueueLogSplitBaseline", "lines/s");
  pair_rate("spool append+commit/64, fsync off (vs fwrite)", "BM_SpoolAppendCommit/0/real_time",
            "BM_SpoolFwriteBaseline/0/real_time", "ev/s");
  pair_rate("spool append+commit/64, fsync on (vs fwrite+fdatasync)",
            "BM_SpoolAppendCommit/1/real_time", "BM_SpoolFwriteBaseline/1/real_time", "ev/s");
  pair_rate("agent send: spooled bytes as stored (vs parse + re-serialise)", "BM_AgentSendFrame",
            "BM_AgentSendFrameBaseline", "ev/s");
  pair_rate("Engine::Apply (vs hash-map counter bump)", "BM_EngineApply", "BM_EngineApplyBaseline",
            "ev/s");
  pair_rate("ingest batch decode to events (vs generated parse, reused message)",
            "BM_IngestBatchDecode", "BM_IngestBatchDecodeBaseline", "ev/s");
  pair_rate("ingest batch path decode+apply+WAL encode (vs generated parse)", "BM_IngestBatchPath",
            "BM_IngestBatchDecodeBaseline", "ev/s");
  for (const auto& [name, what] :
       {std::pair{"BM_AgentPipeline/64",
                  "agent core CPU per 1k ev/s (parse+SM+encode+spool, fsync/64)"},
        std::pair{"BM_AgentPipeline/200",
                  "  as the agent runs at 1k ev/s (one fsync per 200 ms poll: /200)"},
        std::pair{
            "BM_AgentPipelineNoSync/64",
            "  diagnostic: fsync/64 with fsync off (the agent's CPU without the disk's I/O)"}}) {
    if (const auto* r = rep.Find(std::string(name) + "/process_time")) {
      // Events per CPU second -> CPU ms spent per second at 1k events/s.
      const double cpu_ms_per_1k = 1e6 / Rate(r);
      char a[64];
      std::snprintf(a, sizeof a, "%.2f ms CPU/s (%.2f%% core)", cpu_ms_per_1k, cpu_ms_per_1k / 10);
      Row(what, a, "-", 0);
    }
  }
  if (const auto* ra = rep.Find("BM_ExpositionWrite/100000")) {
    if (const auto* rb = rep.Find("BM_ExpositionWriteBaseline/100000")) {
      char a[64], b[64];
      std::snprintf(a, sizeof a, "%.2f ms", Ms(ra));
      std::snprintf(b, sizeof b, "%.2f ms", Ms(rb));
      Row("exposition text of ~100000 series (vs prometheus-cpp TextSerializer)", a, b,
          Ms(ra) / Ms(rb));
    }
  }
  for (const char* n : {"1000", "10000", "100000"}) {
    const auto* ra = rep.Find(std::string("BM_MetricsRender/") + n);
    const auto* rb = rep.Find(std::string("BM_MetricsRenderBaseline/") + n);
    if (ra == nullptr || rb == nullptr) continue;
    char a[96], b[64];
    std::snprintf(a, sizeof a, "%.2f ms, %.0f series, %.1f KiB", Ms(ra),
                  ra->counters.at("series").value, ra->counters.at("bytes").value / 1024);
    std::snprintf(b, sizeof b, "%.2f ms", Ms(rb));
    Row(std::string("/metrics render ~") + n + " series (vs snprintf)", a, b, Ms(ra) / Ms(rb));
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  TableReporter rep;
  rep.SetOutputStream(&std::cerr);
  rep.SetErrorStream(&std::cerr);
  benchmark::RunSpecifiedBenchmarks(&rep);
  benchmark::Shutdown();
  PrintRows(rep);
  return 0;
}
