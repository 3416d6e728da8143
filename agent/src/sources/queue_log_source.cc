#include "sources/queue_log_source.h"

#include <chrono>

#include "log.h"

namespace ccmon::agent {

QueueLogSource::QueueLogSource(std::string path, EventSink sink, QueueLogOptions options)
    : FileSource(std::move(path)), machine_(std::move(sink), std::move(options)) {
  line_time_slack_ = 300;  // seconds: an NTP step back of a few minutes
}

std::size_t QueueLogSource::Poll() {
  const std::uint64_t read_before = machine_.stats().lines;
  const std::size_t lines = FileSource::Poll();
  const std::int64_t now = clock().MonotonicMs();
  // The PBX's time runs on from its last line; only a line read moves that base (the position
  // also moves over zeros, oversized lines and lines read before).
  if (machine_.stats().lines != read_before || base_steady_ms_ < 0) {
    base_steady_ms_ = now;
    base_pbx_ms_ = machine_.pbx_time_ms();
  }
  if (base_pbx_ms_ == 0) return lines;  // no line yet: no PBX time to run on
  const std::uint64_t before = machine_.stats().events;
  machine_.Advance(base_pbx_ms_ + (now - base_steady_ms_));
  return lines + (machine_.stats().events - before);
}

std::size_t QueueLogSource::FinishImport() {
  const std::uint64_t before = machine_.stats().events;
  machine_.ReleaseAllHeld();
  return machine_.stats().events - before;
}

std::int64_t QueueLogSource::LineTime(std::string_view line) const {
  std::int64_t t = 0;
  std::size_t i = 0;
  for (; i < line.size() && i < 11 && line[i] >= '0' && line[i] <= '9'; ++i) {
    t = t * 10 + (line[i] - '0');
  }
  // Ten digits, as Asterisk's have had since 2001: fewer is a line cut short.
  return i == 10 && i < line.size() && (line[i] == '|' || line[i] == '.') ? t : 0;
}

bool QueueLogSource::StartsAnew(std::string_view line) const {
  QueueLogLine l;
  return ParseQueueLogLine(line, &l).status == ParseStatus::kOk && l.event == "QUEUESTART";
}

void QueueLogSource::OnLine(std::string_view line, std::uint64_t line_no) {
  auto& st = machine_.mutable_stats();
  ++st.lines;
  const ParseResult r = ParseQueueLogLine(line, &parsed_);
  if (r.torn_prefix) {
    ++st.malformed;
    if (logged_malformed_ < 20 || logged_malformed_ % 1000 == 0) {
      Log()->warn("{}:{}: a line cut short by zero bytes (a write lost to a power cut) skipped",
                  path(), line_no);
    }
    ++logged_malformed_;
  }
  if (r.status == ParseStatus::kOk) {
    if (parsed_.event == "QUEUESTART") WriterStartRead();
    if (parsed_.was_recoded && st.latin1++ % 1000 == 0) {
      Log()->warn("{}:{}: not valid UTF-8; read as Latin-1 ({} such lines so far)", path(), line_no,
                  st.latin1);
    }
    machine_.Process(parsed_);
  } else if (r.status == ParseStatus::kBlank) {
    ++st.blank;
  } else {
    ++st.malformed;
    // Logged with its line number, rate-limited so a corrupt file cannot flood the log.
    if (logged_malformed_ < 20 || logged_malformed_ % 1000 == 0) {
      Log()->warn("{}:{}: malformed queue_log line skipped: {}", path(), line_no, r.error);
    }
    ++logged_malformed_;
  }
}

}  // namespace ccmon::agent
