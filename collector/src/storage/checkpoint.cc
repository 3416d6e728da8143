#include "storage/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ccmon/v1/checkpoint.pb.h"

namespace ccmon::collector {

namespace {

// The file's framing; the last byte tells the state inside: '2' protobuf, '1' the legacy binary.
constexpr char kMagic[8] = {'C', 'C', 'M', 'O', 'N', 'C', 'K', '2'};
constexpr char kLegacyMagic[8] = {'C', 'C', 'M', 'O', 'N', 'C', 'K', '1'};

std::uint32_t Crc(const std::string& s) {
  return static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

}  // namespace

bool WriteCheckpoint(const std::string& dir, std::uint64_t wal_lsn, const std::string& state,
                     std::string* error) {
  const std::string path = dir + "/checkpoint";
  const std::string tmp = path + ".tmp";
  std::string out(kMagic, sizeof kMagic);
  const std::uint32_t crc = Crc(state);
  const std::uint64_t len = state.size();
  out.append(reinterpret_cast<const char*>(&wal_lsn), 8);
  out.append(reinterpret_cast<const char*>(&crc), 4);
  out.append(reinterpret_cast<const char*>(&len), 8);
  out.append(state);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    *error = tmp + ": " + std::strerror(errno);
    return false;
  }
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::write(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = tmp + ": " + std::strerror(n == 0 ? ENOSPC : errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    *error = tmp + ": fsync: " + std::strerror(errno);
    ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = path + ": rename: " + std::strerror(errno);
    return false;
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // make the rename itself durable
    ::close(dfd);
  }
  return true;
}

bool ReadCheckpoint(const std::string& dir, std::uint64_t* wal_lsn, std::string* state,
                    CheckpointPayload* payload, std::string* error) {
  const std::string path = dir + "/checkpoint";
  *wal_lsn = 0;
  state->clear();
  std::ifstream in(path, std::ios::binary);
  if (!in) return !std::filesystem::exists(path) || (*error = path + ": unreadable", false);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  const bool current = data.size() >= 28 && std::memcmp(data.data(), kMagic, sizeof kMagic) == 0;
  const bool legacy =
      data.size() >= 28 && std::memcmp(data.data(), kLegacyMagic, sizeof kLegacyMagic) == 0;
  if (!current && !legacy) {
    *error = path + ": not a ccmon checkpoint";
    return false;
  }
  *payload = current ? CheckpointPayload::kProtobuf : CheckpointPayload::kLegacy;
  std::uint32_t crc = 0;
  std::uint64_t len = 0;
  std::memcpy(wal_lsn, data.data() + 8, 8);
  std::memcpy(&crc, data.data() + 16, 4);
  std::memcpy(&len, data.data() + 20, 8);
  if (len != data.size() - 28) {
    *error = path + ": truncated checkpoint";
    return false;
  }
  state->assign(data, 28, std::string::npos);
  if (Crc(*state) != crc) {
    *error = path + ": checkpoint checksum mismatch";
    return false;
  }
  return true;
}

namespace {

using Msg = v1::EngineCheckpoint;

// Reminders: a field added to these structs needs its field in checkpoint.proto and a line in
// each direction below (the codec test checks every message field is written).
static_assert(sizeof(Counts) == 23 * sizeof(std::uint64_t), "Counts changed: see checkpoint.proto");
static_assert(sizeof(EngineState::Row) == sizeof(Counts) + 7 * sizeof(std::uint64_t),
              "EngineState::Row changed: see checkpoint.proto");
static_assert(sizeof(EngineState::Minute) == 8 + sizeof(Counts) + 16,
              "EngineState::Minute changed: see checkpoint.proto");

void PutCounts(const Counts& c, Msg::Counts* o) {
  o->set_offered(c.offered);
  o->set_answered(c.answered);
  o->set_answered_in_threshold(c.answered_in_threshold);
  o->set_abandoned(c.abandoned);
  o->set_abandoned_in_threshold(c.abandoned_in_threshold);
  o->set_short_abandoned(c.short_abandoned);
  for (std::uint64_t n : c.unanswered) o->add_unanswered(n);
  o->set_answered_wait_unknown(c.answered_wait_unknown);
  o->set_abandoned_wait_unknown(c.abandoned_wait_unknown);
  o->set_completed(c.completed);
  o->set_transferred(c.transferred);
  o->set_handled(c.handled);
  o->set_answered_wait_ms(c.answered_wait_ms);
  o->set_abandoned_wait_ms(c.abandoned_wait_ms);
  o->set_handle_ms(c.handle_ms);
  o->set_on_call_ms(c.on_call_ms);
  o->set_acw_ms(c.acw_ms);
  o->set_ready_ms(c.ready_ms);
}

Counts GetCounts(const Msg::Counts& o) {
  Counts c;
  c.offered = o.offered();
  c.answered = o.answered();
  c.answered_in_threshold = o.answered_in_threshold();
  c.abandoned = o.abandoned();
  c.abandoned_in_threshold = o.abandoned_in_threshold();
  c.short_abandoned = o.short_abandoned();
  // Reasons this build does not know (a later build's) are left out of the breakdown.
  for (int i = 0; i < o.unanswered_size() && i < static_cast<int>(c.unanswered.size()); ++i) {
    c.unanswered[static_cast<std::size_t>(i)] = o.unanswered(i);
  }
  c.answered_wait_unknown = o.answered_wait_unknown();
  c.abandoned_wait_unknown = o.abandoned_wait_unknown();
  c.completed = o.completed();
  c.transferred = o.transferred();
  c.handled = o.handled();
  c.answered_wait_ms = o.answered_wait_ms();
  c.abandoned_wait_ms = o.abandoned_wait_ms();
  c.handle_ms = o.handle_ms();
  c.on_call_ms = o.on_call_ms();
  c.acw_ms = o.acw_ms();
  c.ready_ms = o.ready_ms();
  return c;
}

void PutHistogram(const EngineState::Histogram& h, Msg::Histogram* o) {
  for (std::uint64_t n : h.counts) o->add_counts(n);
  o->set_sum_ms(h.sum_ms);
  o->set_count(h.count);
}

EngineState::Histogram GetHistogram(const Msg::Histogram& o) {
  return {{o.counts().begin(), o.counts().end()}, o.sum_ms(), o.count()};
}

}  // namespace

std::string EncodeEngineState(const EngineState& s) {
  Msg m;
  m.set_format(kCheckpointFormat);
  Msg::Stats* st = m.mutable_stats();
  st->set_accepted(s.stats.accepted);
  st->set_duplicate(s.stats.duplicate);
  st->set_late(s.stats.late);
  st->set_reconstructed(s.stats.reconstructed);
  st->set_sequence_gaps(s.stats.sequence_gaps);
  for (const auto& [reason, n] : s.stats.invalid_by_reason) {
    Msg::Invalid* inv = st->add_invalid_by_reason();
    inv->set_reason(reason);
    inv->set_events(n);
  }
  st->set_intervals_closed(s.stats.intervals_closed);
  st->set_clock_anomaly(s.stats.clock_anomaly);
  st->set_ledger_amendments(s.stats.ledger_amendments);
  st->set_ledger_too_old(s.stats.ledger_too_old);
  for (const EngineState::Site& site : s.sites) {
    Msg::Site* o = m.add_sites();
    o->set_id(site.id);
    o->set_last_seen_ms(site.last_seen_ms);
    o->set_event_watermark_ms(site.event_watermark_ms);
    o->set_close_watermark_ms(site.close_watermark_ms);
    o->set_clock_skew_ms(site.clock_skew_ms);
    o->set_spool_backlog(site.spool_backlog);
    o->set_spool_dropped(site.spool_dropped);
    o->set_lines_rejected(site.lines_rejected);
    o->set_replicas_given_up(site.replicas_given_up);
    o->set_heartbeat_interval_ms(site.heartbeat_interval_ms);
    o->set_last_instance(site.last_instance);
    o->set_version(site.version);
    for (const EngineState::Instance& in : site.instances) {
      Msg::Instance* oi = o->add_instances();
      oi->set_name(in.name);
      oi->set_last_seq(in.last_seq);
      oi->set_watermark_ms(in.watermark_ms);
      for (std::int64_t t : in.held) oi->add_held(t);
      oi->set_held_n(in.held_n);
      oi->set_held_call(in.held_call);
    }
    for (const EngineState::Queue& q : site.queues) {
      Msg::Queue* oq = o->add_queues();
      oq->set_name(q.name);
      PutCounts(q.total, oq->mutable_total());
      for (const EngineState::Minute& b : q.ring) {
        Msg::Minute* om = oq->add_ring();
        om->set_minute(b.minute);
        PutCounts(b.counts, om->mutable_counts());
        om->set_mos_milli_sum(b.mos_milli_sum);
        om->set_mos_samples(b.mos_samples);
      }
      oq->set_today_day(q.today_day);
      PutCounts(q.today, oq->mutable_today());
      if (q.earlier_day != EngineState::kNever) {
        oq->set_earlier_day(q.earlier_day);
        PutCounts(q.earlier, oq->mutable_earlier());
      }
      if (q.contract_day != EngineState::kNever) {
        oq->set_contract_day(q.contract_day);
        PutCounts(q.contract_today, oq->mutable_contract_today());
        oq->set_contract_zone(q.contract_zone);
        if (q.contract_earlier_day != EngineState::kNever) {
          oq->set_contract_earlier_day(q.contract_earlier_day);
          PutCounts(q.contract_earlier, oq->mutable_contract_earlier());
        }
      }
      for (const EngineState::Row& r : q.rows) {
        Msg::Row* orow = oq->add_rows();
        orow->set_start_ms(r.start_ms);
        PutCounts(r.counts, orow->mutable_counts());
        orow->set_late(r.late);
        orow->set_rebuilt(r.rebuilt);
        orow->set_pending_late(r.pending_late);
        orow->set_closed_ms(r.closed_ms);
        orow->set_changed_ms(r.changed_ms);
        orow->set_revision(r.revision);
        orow->set_closed(r.closed);
        orow->set_dirty(r.dirty);
      }
      PutHistogram(q.answered_wait, oq->mutable_answered_wait());
      PutHistogram(q.abandoned_wait, oq->mutable_abandoned_wait());
      PutHistogram(q.handle_time, oq->mutable_handle_time());
      for (const EngineState::Waiting& w : q.waiting) {
        Msg::Waiting* ow = oq->add_waiting();
        ow->set_call_id(w.call_id);
        ow->set_since_ms(w.since_ms);
      }
      oq->set_ledger_met(q.ledger_met);
      oq->set_ledger_missed(q.ledger_missed);
      for (std::uint64_t ms : q.agent_state_ms) oq->add_agent_state_ms(ms);
      for (const EngineState::Abandoned& a : q.abandoned) {
        Msg::Abandoned* oa = oq->add_abandoned();
        oa->set_time_ms(a.time_ms);
        oa->set_wait_ms(a.wait_ms);
        oa->set_call_id(a.call_id);
        oa->set_caller_id(a.caller_id);
      }
    }
    for (const EngineState::Agent& a : site.agents) {
      Msg::Agent* oa = o->add_agents();
      oa->set_name(a.name);
      oa->set_state(static_cast<std::uint32_t>(a.state));
      oa->set_paused(a.paused);
      oa->set_pause_state(static_cast<std::uint32_t>(a.pause_state));
      oa->set_since_ms(a.since_ms);
      for (const std::string& q : a.queues) oa->add_queues(q);
    }
    for (const EngineState::Link& l : site.links) {
      Msg::Link* ol = o->add_links();
      ol->set_name(l.name);
      ol->set_up(l.up);
      ol->set_rtt_ms(l.rtt_ms);
      ol->set_jitter_ms(l.jitter_ms);
      ol->set_loss_ratio(l.loss_ratio);
      ol->set_last_ms(l.last_ms);
    }
  }
  return m.SerializeAsString();
}

bool DecodeEngineState(std::string_view bytes, EngineState* out, std::string* error) {
  Msg m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    *error = "engine state does not parse (EngineCheckpoint)";
    return false;
  }
  if (m.format() == 0 || m.format() > kCheckpointFormat) {
    *error = "engine state of checkpoint format " + std::to_string(m.format()) +
             ", this build reads format 1 to " + std::to_string(kCheckpointFormat) +
             " (written by a newer collector?)";
    return false;
  }
  EngineState& s = *out;
  s = {};
  const Msg::Stats& st = m.stats();
  s.stats.accepted = st.accepted();
  s.stats.duplicate = st.duplicate();
  s.stats.late = st.late();
  s.stats.reconstructed = st.reconstructed();
  s.stats.sequence_gaps = st.sequence_gaps();
  for (const Msg::Invalid& inv : st.invalid_by_reason()) {
    s.stats.invalid_by_reason[inv.reason()] += inv.events();
  }
  s.stats.intervals_closed = st.intervals_closed();
  s.stats.clock_anomaly = st.clock_anomaly();
  s.stats.ledger_amendments = st.ledger_amendments();
  s.stats.ledger_too_old = st.ledger_too_old();
  for (const Msg::Site& o : m.sites()) {
    EngineState::Site& site = s.sites.emplace_back();
    site.id = o.id();
    site.last_seen_ms = o.last_seen_ms();
    site.event_watermark_ms = o.event_watermark_ms();
    site.close_watermark_ms = o.close_watermark_ms();
    site.clock_skew_ms = o.clock_skew_ms();
    site.spool_backlog = o.spool_backlog();
    site.spool_dropped = o.spool_dropped();
    site.lines_rejected = o.lines_rejected();
    site.replicas_given_up = o.replicas_given_up();
    site.heartbeat_interval_ms = o.heartbeat_interval_ms();
    site.last_instance = o.last_instance();
    site.version = o.version();
    for (const Msg::Instance& oi : o.instances()) {
      site.instances.push_back({oi.name(),
                                oi.last_seq(),
                                oi.watermark_ms(),
                                {oi.held().begin(), oi.held().end()},
                                oi.held_n(),
                                oi.held_call()});
    }
    for (const Msg::Queue& oq : o.queues()) {
      EngineState::Queue& q = site.queues.emplace_back();
      q.name = oq.name();
      q.total = GetCounts(oq.total());
      for (const Msg::Minute& om : oq.ring()) {
        q.ring.push_back(
            {om.minute(), GetCounts(om.counts()), om.mos_milli_sum(), om.mos_samples()});
      }
      q.today_day = oq.today_day();
      q.today = GetCounts(oq.today());
      if (oq.has_earlier()) {
        q.earlier_day = oq.earlier_day();
        q.earlier = GetCounts(oq.earlier());
      }
      if (oq.has_contract_today()) {
        q.contract_day = oq.contract_day();
        q.contract_today = GetCounts(oq.contract_today());
        q.contract_zone = oq.contract_zone();
        if (oq.has_contract_earlier()) {
          q.contract_earlier_day = oq.contract_earlier_day();
          q.contract_earlier = GetCounts(oq.contract_earlier());
        }
      }
      for (const Msg::Row& r : oq.rows()) {
        q.rows.push_back({r.start_ms(), GetCounts(r.counts()), r.late(), r.rebuilt(),
                          r.pending_late(), r.closed_ms(), r.changed_ms(), r.revision(), r.closed(),
                          r.dirty()});
      }
      q.answered_wait = GetHistogram(oq.answered_wait());
      q.abandoned_wait = GetHistogram(oq.abandoned_wait());
      q.handle_time = GetHistogram(oq.handle_time());
      for (const Msg::Waiting& w : oq.waiting()) q.waiting.push_back({w.call_id(), w.since_ms()});
      q.ledger_met = oq.ledger_met();
      q.ledger_missed = oq.ledger_missed();
      for (int i = 0; i < oq.agent_state_ms_size() && i < kAgentStateCount; ++i) {
        q.agent_state_ms[static_cast<std::size_t>(i)] = oq.agent_state_ms(i);
      }
      for (const Msg::Abandoned& a : oq.abandoned()) {
        q.abandoned.push_back({a.time_ms(), a.wait_ms(), a.call_id(), a.caller_id()});
      }
    }
    for (const Msg::Agent& oa : o.agents()) {
      EngineState::Agent& a = site.agents.emplace_back();
      a.name = oa.name();
      // Out-of-range numbers stay out of range: ImportState refuses them by name.
      a.state = static_cast<AgentState>(std::min<std::uint32_t>(oa.state(), 255));
      a.paused = oa.paused();
      a.pause_state = static_cast<AgentState>(std::min<std::uint32_t>(oa.pause_state(), 255));
      a.since_ms = oa.since_ms();
      a.queues.assign(oa.queues().begin(), oa.queues().end());
    }
    for (const Msg::Link& ol : o.links()) {
      site.links.push_back(
          {ol.name(), ol.up(), ol.rtt_ms(), ol.jitter_ms(), ol.loss_ratio(), ol.last_ms()});
    }
  }
  return true;
}

}  // namespace ccmon::collector
