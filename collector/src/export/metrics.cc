#include "export/metrics.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <array>
#include <deque>
#include <functional>
#include <initializer_list>
#include <limits>
#include <span>
#include <stdexcept>
#include <type_traits>

#include "ccmon/collector/ledger.h"
#include "export/exposition.h"

namespace ccmon::collector {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// A series' labels, viewed: the values must outlive the call they are passed to (every use
// below passes them within one statement, or views strings of the snapshot). The leading
// ones may also be given as text already written (AppendLabelText), which the text output
// copies instead of writing them again for every series.
class Labels {
 public:
  Labels() = default;
  Labels(std::initializer_list<ExpositionLabel> labels) {
    for (const auto& l : labels) Push(l);
  }
  // Every label.
  std::span<const ExpositionLabel> span() const { return {labels_.data(), size_}; }
  // The leading labels as text (empty: none), and the labels after them.
  std::string_view written() const { return written_; }
  std::span<const ExpositionLabel> rest() const { return span().subspan(written_count_); }
  // Writes the labels so far into *text (which must outlive every use of these labels and
  // of those made from them) and takes them from there.
  void Write(std::string* text) {
    text->clear();
    AppendLabelText(text, span());
    written_ = *text;
    written_count_ = size_;
  }

  friend Labels With(Labels l, std::string_view name, std::string_view value) {
    l.Push({name, value});
    return l;
  }

 private:
  void Push(ExpositionLabel l) {
    if (size_ == labels_.size()) throw std::length_error("a series with more than 7 labels");
    labels_[size_++] = l;
  }
  std::array<ExpositionLabel, 7> labels_{};
  std::size_t size_ = 0;
  std::string_view written_;
  std::size_t written_count_ = 0;
};

Labels QueueLabels(const QueueView& q) {
  return {{"client", q.client}, {"site", q.site}, {"queue", q.queue}};
}

// Collects prometheus-cpp families (for tests and any Collectable use).
class FamiliesOut {
 public:
  MetricFamily& Family(const char* name, const char* help, MetricType type) {
    families_.push_back(MetricFamily{name, help, type, {}});
    return families_.back();
  }
  void Add(MetricFamily& f, const Labels& labels, double v) {
    ClientMetric m = Metric(labels);
    if (f.type == MetricType::Counter) {
      m.counter.value = v;
    } else {
      m.gauge.value = v;
    }
    f.metric.push_back(std::move(m));
  }
  void AddHistogram(MetricFamily& f, const Labels& labels, const Histogram& h,
                    const std::vector<double>& bounds) {
    ClientMetric m = Metric(labels);
    m.histogram.sample_count = h.count;
    m.histogram.sample_sum = h.sum_seconds;
    std::uint64_t cum = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      cum += i < h.counts.size() ? h.counts[i] : 0;
      m.histogram.bucket.push_back({cum, bounds[i]});
    }
    m.histogram.bucket.push_back({h.count, std::numeric_limits<double>::infinity()});
    f.metric.push_back(std::move(m));
  }
  std::vector<MetricFamily> Take() {
    std::vector<MetricFamily> out;
    for (auto& f : families_) {
      if (!f.metric.empty()) out.push_back(std::move(f));
    }
    return out;
  }

 private:
  static ClientMetric Metric(const Labels& labels) {
    ClientMetric m;
    for (const auto& l : labels.span())
      m.label.push_back({std::string(l.name), std::string(l.value)});
    return m;
  }
  std::deque<MetricFamily> families_;
};

// Writes each family's text as its samples arrive; joined in declaration order at the end.
// The families' buffers are kept for the next scrape on the same thread: growing some 80
// strings to megabytes from empty (and faulting their pages in) on every scrape cost more
// than writing the text.
class TextOut {
 public:
  TextOut() = default;
  TextOut(const TextOut&) = delete;
  TextOut& operator=(const TextOut&) = delete;
  ~TextOut() {
    // Reversed: Family() takes from the back, so each family gets its own buffer again. The
    // pool was reserved for every family in Family(), so these pushes do not allocate. A
    // buffer much larger than its last use (a spike) is not kept.
    for (auto f = families_.rbegin(); f != families_.rend(); ++f) {
      std::string buffer = f->TakeBuffer();
      if (buffer.capacity() > 4 * buffer.size() + (64 << 10)) buffer = std::string();
      Buffers().push_back(std::move(buffer));
    }
  }
  TextFamily& Family(const char* name, const char* help, MetricType type) {
    Buffers().reserve(Buffers().size() + families_.size() + 1);
    std::string buffer;
    if (!Buffers().empty()) {
      buffer = std::move(Buffers().back());
      Buffers().pop_back();
    }
    return families_.emplace_back(name, help, type, std::move(buffer));
  }
  void Add(TextFamily& f, const Labels& labels, double v) {
    f.Add(labels.written(), labels.rest(), v);
  }
  void AddHistogram(TextFamily& f, const Labels& labels, const Histogram& h,
                    const std::vector<double>& bounds) {
    f.AddHistogram(labels.written(), labels.rest(), bounds, h.counts, h.count, h.sum_seconds);
  }
  std::string Take() {
    std::size_t bytes = 0;
    for (const auto& f : families_) bytes += f.bytes() + 512;
    std::string out;
    out.reserve(bytes);
    for (const auto& f : families_) {
      if (!f.empty()) f.AppendTo(&out);
    }
    return out;
  }

 private:
  static std::vector<std::string>& Buffers() {
    thread_local std::vector<std::string> buffers;
    return buffers;
  }
  std::deque<TextFamily> families_;
};

// Declares every family and adds every sample of the snapshot to `b` (FamiliesOut or TextOut),
// families in a fixed order; a family without samples is left out of the result.
template <typename Out>
void Build(const Snapshot& s, const Pipeline* pipeline, Out& b) {
  const PipelineCounters* pc = pipeline != nullptr ? &pipeline->counters() : nullptr;
  const Journal* wal = pipeline != nullptr ? pipeline->journal() : nullptr;
  using T = MetricType;
  struct CounterDef {
    const char* name;
    const char* help;
    std::function<std::uint64_t(const Counts&)> get;
  };
  const CounterDef counters[] = {
      {"ccmon_calls_offered_total", "Calls that entered the queue.",
       [](const Counts& c) { return c.offered; }},
      {"ccmon_calls_answered_total", "Calls connected to an agent.",
       [](const Counts& c) { return c.answered; }},
      {"ccmon_calls_answered_in_threshold_total",
       "Calls answered with a queue wait at or below the contract's SL threshold.",
       [](const Counts& c) { return c.answered_in_threshold; }},
      {"ccmon_calls_abandoned_total", "Calls whose caller hung up while queued.",
       [](const Counts& c) { return c.abandoned; }},
      {"ccmon_calls_abandoned_in_threshold_total",
       "Abandoned calls with a wait at or below the SL threshold.",
       [](const Counts& c) { return c.abandoned_in_threshold; }},
      {"ccmon_calls_short_abandoned_total",
       "Abandoned calls with a wait below the contract's short_abandon_s.",
       [](const Counts& c) { return c.short_abandoned; }},
      {"ccmon_calls_answered_wait_unknown_total",
       "Answered calls whose queue wait the source did not give (left out of SL and ASA).",
       [](const Counts& c) { return c.answered_wait_unknown; }},
      {"ccmon_calls_abandoned_wait_unknown_total",
       "Abandoned calls whose queue wait the source did not give (left out of SL; never "
       "short).",
       [](const Counts& c) { return c.abandoned_wait_unknown; }},
      {"ccmon_calls_completed_total", "Answered calls that ended normally.",
       [](const Counts& c) { return c.completed; }},
      {"ccmon_calls_transferred_total", "Answered calls transferred away by the agent.",
       [](const Counts& c) { return c.transferred; }},
  };
  std::vector<std::remove_reference_t<decltype(b.Family("", "", T::Counter))>*> counter_families;
  for (const auto& d : counters) counter_families.push_back(&b.Family(d.name, d.help, T::Counter));
  auto& unanswered =
      b.Family("ccmon_calls_unanswered_total",
               "Calls that left the queue unanswered, not abandoned, by reason.", T::Counter);
  auto& wait_h = b.Family("ccmon_call_wait_seconds", "Queue wait of answered calls.", T::Histogram);
  auto& ab_wait_h =
      b.Family("ccmon_call_abandon_wait_seconds", "Queue wait of abandoned calls.", T::Histogram);
  auto& handle_h =
      b.Family("ccmon_call_handle_seconds",
               "Handle time (talk + hold + after-call work) of handled calls.", T::Histogram);
  auto& state_secs =
      b.Family("ccmon_agent_state_seconds_total",
               "Agent time spent in each state, summed over the queue's members.", T::Counter);
  auto& intervals = b.Family("ccmon_sla_intervals_total",
                             "Closed contract intervals by service-level result.", T::Counter);
  auto& waiting = b.Family("ccmon_calls_waiting", "Calls queued now.", T::Gauge);
  auto& oldest =
      b.Family("ccmon_oldest_call_wait_seconds", "Wait of the oldest queued call.", T::Gauge);
  auto& agents = b.Family("ccmon_agents", "Queue members by current state.", T::Gauge);
  auto& sl = b.Family("ccmon_service_level_ratio",
                      "Service level by the contract's formula over the window (absent when "
                      "the window has no calls in its denominator).",
                      T::Gauge);
  auto& abandon = b.Family("ccmon_abandon_ratio",
                           "(abandoned - short) / (offered - short) over the window.", T::Gauge);
  auto& asa = b.Family("ccmon_asa_seconds", "Average speed of answer over the window.", T::Gauge);
  auto& aht = b.Family("ccmon_aht_seconds", "Average handle time over the window.", T::Gauge);
  auto& occ = b.Family("ccmon_occupancy_ratio",
                       "(on call + after-call work) / (those + ready) agent time over the window.",
                       T::Gauge);
  auto& info = b.Family("ccmon_contract_info",
                        "Contract terms of the queue; value 1, terms in labels.", T::Gauge);
  auto& sl_target = b.Family("ccmon_sl_target_ratio", "Contract service-level target.", T::Gauge);
  auto& sl_warn = b.Family("ccmon_sl_warning_ratio",
                           "Service level below which wallboards turn amber.", T::Gauge);
  auto& sl_thr =
      b.Family("ccmon_sl_threshold_seconds", "Contract service-level threshold.", T::Gauge);
  auto& ab_target =
      b.Family("ccmon_abandon_target_ratio", "Contract abandon-rate target.", T::Gauge);
  auto& asa_target = b.Family("ccmon_asa_target_seconds", "Contract ASA target.", T::Gauge);
  auto& required = b.Family("ccmon_agents_required",
                            "Agents Erlang C needs to meet the SL target at the last 30 minutes' "
                            "arrival rate and AHT.",
                            T::Gauge);
  auto& mos = b.Family("ccmon_voice_mos", "Mean voice MOS over the last 5 minutes.", T::Gauge);
  auto& mos_n =
      b.Family("ccmon_voice_samples", "Voice-quality samples in the last 5 minutes.", T::Gauge);

  std::string queue_labels;  // a queue's labels as text, for each of its series
  for (const auto& q : s.queues) {
    Labels ql = QueueLabels(q);
    ql.Write(&queue_labels);
    for (std::size_t i = 0; i < std::size(counters); ++i) {
      b.Add(*counter_families[i], ql, static_cast<double>(counters[i].get(q.total)));
    }
    for (int r = 1; r < kUnansweredReasonCount; ++r) {
      b.Add(unanswered, With(ql, "reason", ToString(static_cast<UnansweredReason>(r))),
            static_cast<double>(q.total.unanswered[static_cast<std::size_t>(r)]));
    }
    b.AddHistogram(wait_h, ql, q.answered_wait, s.wait_bounds_s);
    b.AddHistogram(ab_wait_h, ql, q.abandoned_wait, s.wait_bounds_s);
    b.AddHistogram(handle_h, ql, q.handle_time, s.handle_bounds_s);
    for (int st = 1; st < kAgentStateCount; ++st) {
      const std::string name(ToString(static_cast<AgentState>(st)));
      b.Add(state_secs, With(ql, "state", name),
            static_cast<double>(q.agent_state_ms[static_cast<std::size_t>(st)]) / 1000.0);
      b.Add(agents, With(ql, "state", name), q.agents_by_state[static_cast<std::size_t>(st)]);
    }
    b.Add(intervals, With(ql, "result", "met"), static_cast<double>(q.ledger_met));
    b.Add(intervals, With(ql, "result", "missed"), static_cast<double>(q.ledger_missed));
    b.Add(waiting, ql, q.calls_waiting);
    b.Add(oldest, ql, q.oldest_wait_s);
    auto windowed = [&](const char* window, const Counts& c) {
      const Labels wl = With(ql, "window", window);
      if (auto v = ServiceLevel(c, q.contract.sl_formula)) b.Add(sl, wl, *v);
      if (auto v = AbandonRate(c)) b.Add(abandon, wl, *v);
      if (auto v = AsaSeconds(c)) b.Add(asa, wl, *v);
      if (auto v = AhtSeconds(c)) b.Add(aht, wl, *v);
      if (auto v = Occupancy(c)) b.Add(occ, wl, *v);
    };
    for (std::size_t i = 0; i < q.windows.size(); ++i) windowed(kWindowNames[i], q.windows[i]);
    windowed("interval", q.interval);
    b.Add(info,
          With(With(ql, "formula", ToString(q.contract.sl_formula)), "interval_minutes",
               std::to_string(q.contract.interval_minutes)),
          1);
    b.Add(sl_target, ql, q.contract.sl_target);
    b.Add(sl_warn, ql, std::min(1.0, q.contract.sl_target + q.contract.warning_band));
    b.Add(sl_thr, ql, q.contract.sl_threshold_s);
    b.Add(ab_target, ql, q.contract.abandon_target);
    b.Add(asa_target, ql, q.contract.asa_target_s);
    b.Add(required, ql, q.agents_required);
    if (q.mos_5m) b.Add(mos, ql, *q.mos_5m);
    b.Add(mos_n, ql, static_cast<double>(q.mos_samples_5m));
  }

  auto& c_sl =
      b.Family("ccmon_client_service_level_ratio",
               "Service level of a client's queue across every site serving it.", T::Gauge);
  auto& c_ab = b.Family("ccmon_client_abandon_ratio",
                        "Abandon rate of a client's queue across its sites.", T::Gauge);
  auto& c_asa =
      b.Family("ccmon_client_asa_seconds", "ASA of a client's queue across its sites.", T::Gauge);
  auto& c_wait = b.Family("ccmon_client_calls_waiting",
                          "Calls queued now for a client's queue, all sites.", T::Gauge);
  auto& c_oldest = b.Family("ccmon_client_oldest_call_wait_seconds",
                            "Oldest queued call of a client's queue, any site.", T::Gauge);
  auto& c_req =
      b.Family("ccmon_client_agents_required",
               "Erlang C agents needed across sites at the last 30 minutes' load.", T::Gauge);
  auto& c_iv_sl = b.Family("ccmon_client_interval_service_level_ratio",
                           "Service level of each closed contract interval of the client's "
                           "day so far, across sites, as the ledger holds it now.",
                           T::Gauge);
  auto& c_iv_offered = b.Family("ccmon_client_interval_calls_offered",
                                "Calls offered in each closed contract interval of the day so "
                                "far, across sites.",
                                T::Gauge);
  auto& c_iv_met = b.Family("ccmon_client_interval_sl_met",
                            "1 when the closed interval's service level met the contract target, "
                            "0 when it missed it (absent without calls).",
                            T::Gauge);
  for (const auto& q : s.client_queues) {
    const Labels cl = {{"client", q.client}, {"queue", q.queue}};
    auto windowed = [&](const char* window, const Counts& c) {
      const Labels wl = With(cl, "window", window);
      if (auto v = ServiceLevel(c, q.contract.sl_formula)) b.Add(c_sl, wl, *v);
      if (auto v = AbandonRate(c)) b.Add(c_ab, wl, *v);
      if (auto v = AsaSeconds(c)) b.Add(c_asa, wl, *v);
    };
    for (std::size_t i = 0; i < q.windows.size(); ++i) windowed(kWindowNames[i], q.windows[i]);
    windowed("interval", q.interval);
    for (const IntervalView& iv : q.closed_today) {
      const Labels il = With(cl, "interval", iv.local_start);
      b.Add(c_iv_offered, il, static_cast<double>(iv.counts.offered));
      if (auto v = ServiceLevel(iv.counts, q.contract.sl_formula)) b.Add(c_iv_sl, il, *v);
      const Judgement j = JudgeSl(iv.counts, q.contract);
      if (j != Judgement::kNoCalls) b.Add(c_iv_met, il, j == Judgement::kMet ? 1 : 0);
    }
    b.Add(c_wait, cl, q.calls_waiting);
    b.Add(c_oldest, cl, q.oldest_wait_s);
    b.Add(c_req, cl, q.agents_required);
  }

  auto& connected =
      b.Family("ccmon_site_connected", "1 while the site has an open stream.", T::Gauge);
  auto& last_seen = b.Family("ccmon_site_last_seen_timestamp_seconds",
                             "Collector time of the site's last message.", T::Gauge);
  auto& skew = b.Family("ccmon_site_clock_skew_seconds",
                        "Agent clock minus collector clock at the last heartbeat.", T::Gauge);
  auto& pbx_ahead = b.Family(
      "ccmon_site_pbx_clock_ahead_seconds",
      "How far the site's last PBX event was stamped ahead of the collector's clock (0 when "
      "not ahead): a PBX clock running fast, counted by its own time and flagged by ClockSkew.",
      T::Gauge);
  auto& backlog =
      b.Family("ccmon_agent_spool_backlog_events",
               "Events spooled by the site's agent and not yet acknowledged.", T::Gauge);
  auto& dropped =
      b.Family("ccmon_agent_dropped_events_total",
               "Events the site's agent discarded under its spool overflow policy.", T::Counter);
  auto& paused = b.Family("ccmon_agent_spool_paused",
                          "1 while the site's agent has stopped reading its sources: its spool "
                          "is at its byte bound or its disk refuses writes.",
                          T::Gauge);
  auto& rejected =
      b.Family("ccmon_agent_lines_rejected_total",
               "Input lines the site's agent skipped as unreadable (malformed, over its line "
               "limit, rejected JSON), since the agent process started.",
               T::Counter);
  auto& given_up = b.Family("ccmon_agent_replicas_given_up_total",
                            "Collector replicas the site's agent gave up (one stayed away until "
                            "the spool was full; it misses what the spool dropped), since the "
                            "agent process started.",
                            T::Counter);
  auto& sources_waiting =
      b.Family("ccmon_agent_sources_waiting",
               "Input files (queue_log, JSONL) the site's agent is configured to "
               "read and cannot now: missing or unreadable, waited for. Their calls "
               "are not counted until they can be read.",
               T::Gauge);
  for (const auto& site : s.sites) {
    const Labels sl_labels = {{"site", site.site}};
    b.Add(paused, sl_labels, site.spool_paused ? 1 : 0);
    b.Add(sources_waiting, sl_labels, static_cast<double>(site.sources_waiting));
    b.Add(rejected, sl_labels, static_cast<double>(site.lines_rejected));
    b.Add(given_up, sl_labels, static_cast<double>(site.replicas_given_up));
    b.Add(connected, sl_labels, site.connected ? 1 : 0);
    b.Add(last_seen, sl_labels, static_cast<double>(site.last_seen_ms) / 1000.0);
    b.Add(skew, sl_labels, static_cast<double>(site.clock_skew_ms) / 1000.0);
    b.Add(pbx_ahead, sl_labels, static_cast<double>(site.pbx_clock_ahead_ms) / 1000.0);
    b.Add(backlog, sl_labels, static_cast<double>(site.spool_backlog_events));
    b.Add(dropped, sl_labels, static_cast<double>(site.spool_dropped_events));
  }

  auto& link_up = b.Family("ccmon_link_up", "1 when the link's last probe succeeded.", T::Gauge);
  auto& link_rtt =
      b.Family("ccmon_link_rtt_seconds", "Round-trip time of the last probe.", T::Gauge);
  auto& link_jit = b.Family("ccmon_link_jitter_seconds", "Jitter of the link's probes.", T::Gauge);
  auto& link_loss =
      b.Family("ccmon_link_loss_ratio", "Probe loss over the prober's window.", T::Gauge);
  // The kind goes on an info family of its own, so the series above keep their labels.
  auto& link_info = b.Family("ccmon_link_info",
                             "What the link's probe tests; value 1, kind in a label.", T::Gauge);
  auto& link_sip = b.Family("ccmon_link_sip_status",
                            "SIP trunks: status code of the last probe's final answer to "
                            "OPTIONS (0: none within the deadline).",
                            T::Gauge);
  for (const auto& l : s.links) {
    const Labels ll = {{"site", l.site}, {"link", l.link}};
    b.Add(link_up, ll, l.up ? 1 : 0);
    b.Add(link_rtt, ll, l.rtt_ms / 1000.0);
    b.Add(link_jit, ll, l.jitter_ms / 1000.0);
    b.Add(link_loss, ll, l.loss_ratio);
    if (l.kind == LinkKind::kSipTrunk) b.Add(link_sip, ll, l.sip_status);
    b.Add(link_info, With(ll, "kind", ToString(l.kind)), 1);
  }

  auto& events =
      b.Family("ccmon_ingest_events_total",
               "Events received by result (accepted, duplicate, invalid) and reason.", T::Counter);
  b.Add(events, {{"result", "accepted"}, {"reason", ""}}, static_cast<double>(s.ingest.accepted));
  b.Add(events, {{"result", "duplicate"}, {"reason", ""}}, static_cast<double>(s.ingest.duplicate));
  for (const auto& [reason, n] : s.ingest.invalid_by_reason) {
    b.Add(events, {{"result", "invalid"}, {"reason", reason}}, static_cast<double>(n));
  }
  b.Add(b.Family("ccmon_ingest_late_events_total",
                 "Accepted call events whose ledger row had already closed (they amend it).",
                 T::Counter),
        {}, static_cast<double>(s.ingest.late));
  b.Add(b.Family("ccmon_ingest_clock_anomaly_events_total",
                 "Events stamped more than clock_anomaly_s ahead of their agent instance's "
                 "timeline that did not move its watermark.",
                 T::Counter),
        {}, static_cast<double>(s.ingest.clock_anomaly));
  b.Add(b.Family("ccmon_ledger_amendments_total",
                 "Ledger rows given a new revision by events that arrived after they closed.",
                 T::Counter),
        {}, static_cast<double>(s.ingest.ledger_amendments));
  b.Add(b.Family("ccmon_ledger_too_old_events_total",
                 "Call events for intervals older than ledger_amend_days: counted live, not "
                 "in the ledger.",
                 T::Counter),
        {}, static_cast<double>(s.ingest.ledger_too_old));
  b.Add(b.Family("ccmon_ingest_reconstructed_events_total",
                 "Accepted call steps the agent reconstructed (missing from the source).",
                 T::Counter),
        {}, static_cast<double>(s.ingest.reconstructed));
  b.Add(b.Family("ccmon_ingest_sequence_gaps_total",
                 "Times an instance's sequence numbers skipped ahead.", T::Counter),
        {}, static_cast<double>(s.ingest.sequence_gaps));
  b.Add(b.Family("ccmon_ledger_intervals_closed_total",
                 "Contract intervals closed into the SLA ledger.", T::Counter),
        {}, static_cast<double>(s.ingest.intervals_closed));
  std::uint32_t streams = 0;
  for (const auto& site : s.sites) streams += site.open_streams;
  b.Add(b.Family("ccmon_ingest_streams_open", "Open agent streams.", T::Gauge), {}, streams);
  if (pc != nullptr) {
    b.Add(b.Family("ccmon_ingest_batches_total", "Event batches applied.", T::Counter), {},
          static_cast<double>(pc->batches.load()));
    b.Add(b.Family("ccmon_ledger_store_write_failures_total",
                   "Failed writes of ledger rows to the store (rows wait and are retried).",
                   T::Counter),
          {}, static_cast<double>(pc->ledger_write_failures.load()));
    b.Add(b.Family("ccmon_ledger_store_rows_waiting",
                   "Closed or amended ledger rows not yet written to the store (it failed "
                   "or was unreachable); checkpoints wait for them.",
                   T::Gauge),
          {}, static_cast<double>(pc->ledger_rows_waiting.load()));
    b.Add(b.Family("ccmon_ledger_revisions_written_total",
                   "Ledger row revisions written to the store (first closes and amendments).",
                   T::Counter),
          {}, static_cast<double>(pc->ledger_revisions_written.load()));
    b.Add(b.Family("ccmon_ledger_store_refused_rows_total",
                   "Rows refused by the store for holding fewer calls than the stored "
                   "revision (a partial rebuild); the stored rows stand.",
                   T::Counter),
          {}, static_cast<double>(pc->ledger_rows_refused.load()));
    b.Add(b.Family("ccmon_ingest_batches_refused_total",
                   "Batches refused for exceeding max_batch_events.", T::Counter),
          {}, static_cast<double>(pc->batches_refused.load()));
    auto& refused = b.Family("ccmon_ingest_streams_refused_total",
                             "Streams refused, by reason: protocol (a bad hello or a protocol "
                             "violation), unauthorized (the token or client certificate does "
                             "not grant the site).",
                             T::Counter);
    b.Add(refused, {{"reason", "protocol"}}, static_cast<double>(pc->streams_refused.load()));
    b.Add(refused, {{"reason", "unauthorized"}},
          static_cast<double>(pc->streams_unauthorized.load()));
    b.Add(b.Family("ccmon_ingest_concurrent_instances_total",
                   "Streams opened for a site while another agent instance of the same site "
                   "was streaming (two agents under one site id; logged with both ids).",
                   T::Counter),
          {}, static_cast<double>(pc->concurrent_instances.load()));
    b.Add(b.Family("ccmon_ingest_apply_seconds_total",
                   "Time spent applying batches to the engine (divide by batches for the "
                   "mean apply latency).",
                   T::Counter),
          {}, static_cast<double>(pc->apply_ns_total.load()) / 1e9);
    b.Add(b.Family("ccmon_ingest_backpressure_waits_total",
                   "Times a stream stopped reading because every batch it had received was "
                   "still queued for the apply thread or waiting for its ack.",
                   T::Counter),
          {}, static_cast<double>(pc->backpressure_waits.load()));
    b.Add(b.Family("ccmon_pipeline_snapshots_total",
                   "Snapshots the apply thread published for readers (/metrics, the Monitor "
                   "API, alert evaluation), each shared by every reader until state changes.",
                   T::Counter),
          {}, static_cast<double>(pc->snapshots_published.load()));
  }
  if (pc != nullptr && wal != nullptr) {
    const WalStats w = wal->stats();
    b.Add(b.Family("ccmon_wal_bytes", "Bytes in the write-ahead log.", T::Gauge), {},
          static_cast<double>(w.bytes));
    b.Add(b.Family("ccmon_wal_segments", "Segment files of the write-ahead log.", T::Gauge), {},
          static_cast<double>(w.segments));
    b.Add(
        b.Family("ccmon_wal_healthy",
                 "1 while WAL writes succeed; 0 while the disk fails and acks are held.", T::Gauge),
        {}, w.healthy ? 1 : 0);
    b.Add(
        b.Family("ccmon_wal_write_errors_total", "Failed WAL write or fsync attempts.", T::Counter),
        {}, static_cast<double>(w.write_errors));
    b.Add(b.Family("ccmon_wal_torn_bytes_cut_total",
                   "Bytes of torn or corrupt WAL records cut at start-up.", T::Counter),
          {}, static_cast<double>(w.torn_bytes_cut));
    b.Add(b.Family("ccmon_wal_files_lost_total",
                   "Times the WAL segment being written vanished from disk (data directory "
                   "deleted or replaced); acks were held until a checkpoint from memory "
                   "restored durability.",
                   T::Counter),
          {}, static_cast<double>(w.files_lost));
    b.Add(b.Family("ccmon_wal_damaged_records_skipped_total",
                   "WAL records lost to damage found between intact records at start-up "
                   "(the records after them were kept).",
                   T::Counter),
          {}, static_cast<double>(w.damaged_records_lost));
    b.Add(b.Family("ccmon_wal_unacked_records", "WAL records appended and not yet durable.",
                   T::Gauge),
          {}, static_cast<double>(w.last_lsn - w.durable_lsn));
    // The data disk, read at scrape time: a WAL and checkpoints that cannot be written hold
    // every agent's acks, so a filling disk is worth an alert before it is full.
    struct statvfs fs {};
    if (::statvfs(wal->dir().c_str(), &fs) == 0) {
      b.Add(b.Family("ccmon_data_disk_available_bytes",
                     "Bytes available to the collector on its data directory's filesystem.",
                     T::Gauge),
            {}, static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize));
      b.Add(b.Family("ccmon_data_disk_size_bytes",
                     "Size of the collector's data directory's filesystem.", T::Gauge),
            {}, static_cast<double>(fs.f_blocks) * static_cast<double>(fs.f_frsize));
    }
    auto& ck = b.Family("ccmon_checkpoints_total", "State checkpoints by result.", T::Counter);
    b.Add(ck, {{"result", "ok"}}, static_cast<double>(pc->checkpoints_ok.load()));
    b.Add(ck, {{"result", "failed"}}, static_cast<double>(pc->checkpoints_failed.load()));
    b.Add(b.Family("ccmon_checkpoint_refused_timestamp_seconds",
                   "When the checkpoint found at start could not be loaded (damaged, or of a "
                   "newer format) and was set aside, the state rebuilt from the WAL; 0: it "
                   "loaded.",
                   T::Gauge),
          {}, static_cast<double>(pc->checkpoint_refused_ms.load()) / 1000.0);
    b.Add(b.Family("ccmon_checkpoint_last_success_timestamp_seconds",
                   "When the last checkpoint was written (0: none since start).", T::Gauge),
          {}, static_cast<double>(pc->checkpoint_last_ms.load()) / 1000.0);
  }
  if (pipeline != nullptr) {
    const std::vector<Alert> firing = pipeline->alerts().Active();
    // Whether a site's live figures are current: a dark site keeps its last values (and the
    // wallboard says since when, from ccmon_site_last_seen_timestamp_seconds) but is flagged.
    auto& site_up = b.Family("ccmon_site_up",
                             "0 while SiteDark fires for the site (its live gauges are its last "
                             "values, not current), 1 otherwise.",
                             T::Gauge);
    for (const auto& site : s.sites) {
      const bool dark = std::any_of(firing.begin(), firing.end(), [&](const Alert& a) {
        return a.name == "SiteDark" && a.site == site.site;
      });
      b.Add(site_up, {{"site", site.site}}, dark ? 0 : 1);
    }
    auto& active = b.Family("ccmon_alerts_active",
                            "1 per continuity alert firing now (docs/alerts.md).", T::Gauge);
    for (const Alert& a : firing) {
      b.Add(active,
            {{"alertname", a.name},
             {"severity", a.severity},
             {"client", a.client},
             {"site", a.site},
             {"queue", a.queue},
             {"link", a.link}},
            1);
    }
    if (const auto receivers = pipeline->receiver_stats(); !receivers.empty()) {
      auto& sent = b.Family("ccmon_alert_notifications_total",
                            "Alert notifications by receiver and result (sent, failed after "
                            "every retry, dropped from a full queue).",
                            T::Counter);
      auto& queued =
          b.Family("ccmon_alert_queue_length", "Notifications waiting for a receiver.", T::Gauge);
      auto& up = b.Family("ccmon_alert_receiver_up",
                          "0 while the receiver's last delivery attempt failed.", T::Gauge);
      for (const auto& r : receivers) {
        b.Add(sent, {{"receiver", r.receiver}, {"result", "sent"}}, static_cast<double>(r.sent));
        b.Add(sent, {{"receiver", r.receiver}, {"result", "failed"}},
              static_cast<double>(r.failed));
        b.Add(sent, {{"receiver", r.receiver}, {"result", "dropped"}},
              static_cast<double>(r.dropped));
        b.Add(queued, {{"receiver", r.receiver}}, static_cast<double>(r.queue_length));
        b.Add(up, {{"receiver", r.receiver}}, r.up ? 1 : 0);
      }
    }
  }
  b.Add(
      b.Family("ccmon_build_info", "Collector build and shard; value 1.", T::Gauge),
      {{"version", CCMON_VERSION}, {"shard", pipeline != nullptr ? pipeline->shard() : "default"}},
      1);
}

}  // namespace

std::vector<MetricFamily> BuildFamilies(const Snapshot& s, const Pipeline* pipeline) {
  FamiliesOut out;
  Build(s, pipeline, out);
  return out.Take();
}

std::string RenderMetrics(const Snapshot& s, const Pipeline* pipeline) {
  TextOut out;
  Build(s, pipeline, out);
  return out.Take();
}

}  // namespace ccmon::collector
