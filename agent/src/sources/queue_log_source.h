// Asterisk queue_log source: a followed file whose lines go through the queue_log parser and
// per-call state machine (agent/include/ccmon/agent/queue_log.h). Not thread-safe.
#pragma once

#include "ccmon/agent/queue_log.h"
#include "sources/file_source.h"

namespace ccmon::agent {

class QueueLogSource final : public FileSource {
 public:
  QueueLogSource(std::string path, QueueLogStateMachine::Sink sink);
  const QueueLogStats& stats() const { return machine_.stats(); }

 protected:
  void OnLine(std::string_view line, std::uint64_t line_no) override;
  std::string SaveState() const override { return machine_.SaveState(); }
  bool RestoreState(std::string_view blob) override { return machine_.RestoreState(blob); }

 private:
  QueueLogStateMachine machine_;
  QueueLogLine parsed_;
  std::uint64_t logged_malformed_ = 0;
};

}  // namespace ccmon::agent
