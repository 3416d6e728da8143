#include "sources/queue_log_source.h"

#include "log.h"

namespace ccmon::agent {

QueueLogSource::QueueLogSource(std::string path, QueueLogStateMachine::Sink sink)
    : FileSource(std::move(path)), machine_(std::move(sink)) {}

void QueueLogSource::OnLine(std::string_view line, std::uint64_t line_no) {
  auto& st = machine_.mutable_stats();
  ++st.lines;
  const ParseResult r = ParseQueueLogLine(line, &parsed_);
  if (r.status == ParseStatus::kOk) {
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
