// Asterisk queue_log source: a followed file whose lines go through the queue_log parser and
// per-call state machine (agent/include/ccmon/agent/queue_log.h). Between lines the machine's
// clock runs on: the PBX time of the last line plus the time elapsed since it was read, so a
// quiet log still closes lost calls and ends wrap-up, and a backfill of an old file does not
// close its open calls at once. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>

#include "ccmon/agent/event_sink.h"
#include "ccmon/agent/queue_log.h"
#include "sources/file_source.h"

namespace ccmon::agent {

class QueueLogSource final : public FileSource {
 public:
  // The machine's clock runs on the clock set with set_clock (FileSource), monotonic time.
  QueueLogSource(std::string path, EventSink sink, QueueLogOptions options = {});
  const QueueLogStats& stats() const { return machine_.stats(); }

  // Reads what is new, then advances the machine's clock. Returns lines read plus events the
  // clock produced (either means the cursor changed).
  std::size_t Poll();
  // The end of an import (--once): call ends held for after-call work are emitted, their
  // pauses ending at the last line. Returns the events emitted.
  std::size_t FinishImport();

 protected:
  void OnLine(std::string_view line, std::uint64_t line_no) override;
  // A line's leading Unix time in seconds (0 when it has none).
  std::int64_t LineTime(std::string_view line) const override;
  // Asterisk writes NONE|NONE|NONE|QUEUESTART each time it starts.
  bool StartsAnew(std::string_view line) const override;
  std::string SaveState() const override { return machine_.SaveState(); }
  bool RestoreState(std::string_view blob) override { return machine_.RestoreState(blob); }

 private:
  QueueLogStateMachine machine_;
  QueueLogLine parsed_;
  std::uint64_t logged_malformed_ = 0;
  // The machine's PBX time when lines were last read, and the steady time then.
  std::int64_t base_pbx_ms_ = 0;
  std::int64_t base_steady_ms_ = -1;
};

}  // namespace ccmon::agent
