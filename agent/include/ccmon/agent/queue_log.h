// Asterisk queue_log: line parser and the per-call state machine that turns lines into
// ccmon events. Field meanings follow Asterisk's apps/app_queue.c (ast_queue_log calls).
// Not thread-safe; single owner.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ccmon/model/event.h"

namespace ccmon::agent {

// One queue_log line split into fields; views into the caller's buffer.
struct QueueLogLine {
  std::int64_t time_ms = 0;
  std::string_view call_id;
  std::string_view queue;
  std::string_view agent;
  std::string_view event;
  std::array<std::string_view, 6> data{};
  std::size_t data_count = 0;
};

enum class ParseStatus : std::uint8_t { kOk, kBlank, kMalformed };

struct ParseResult {
  ParseStatus status = ParseStatus::kOk;
  const char* error = "";  // why a line is malformed
};

// Parses one line (without its newline). Leading NUL bytes (an unclean shutdown's
// preallocated tail) and a trailing '\r' are skipped.
ParseResult ParseQueueLogLine(std::string_view line, QueueLogLine* out);

struct QueueLogStats {
  std::uint64_t lines = 0;
  std::uint64_t blank = 0;
  std::uint64_t malformed = 0;
  std::uint64_t events = 0;
  std::uint64_t duplicates = 0;     // steps already seen for that call (repeated lines)
  std::uint64_t reconstructed = 0;  // steps synthesised for calls whose start predates the log
  std::uint64_t ignored = 0;        // known kinds with no ccmon meaning (CONFIGRELOAD, DID...)
  std::uint64_t unknown_kinds = 0;  // custom or unknown event names
  std::uint64_t orphan_rings = 0;   // RINGNOANSWER for calls never seen
};

// Turns parsed lines into events. Calls are keyed by (call id, queue). Duplicated steps are
// dropped; outcomes of calls whose ENTERQUEUE is not in the log get their missing steps
// reconstructed (flagged) from the waits the outcome line carries, so answered never exceeds
// offered.
class QueueLogStateMachine {
 public:
  using Sink = std::function<void(const Event&)>;
  explicit QueueLogStateMachine(Sink sink, std::size_t max_tracked_calls = 20000);

  void Process(const QueueLogLine& line);
  const QueueLogStats& stats() const { return stats_; }
  QueueLogStats& mutable_stats() { return stats_; }

  // Serialises the open-call table so a restart resumes exactly (see Restore).
  std::string SaveState() const;
  // Returns false (and starts empty) when the blob is not a valid SaveState() output.
  bool RestoreState(std::string_view blob);

 private:
  struct Call {
    std::string queue;
    std::string caller_id;
    std::string agent;
    std::int64_t entered_ms = 0;
    bool answered = false;
    bool ended = false;  // abandoned, exited, completed or transferred
  };

  Call* Lookup(std::string_view call_id, std::string_view queue);
  Call& Create(std::string_view call_id, std::string_view queue, std::int64_t entered_ms);
  void Emit(std::int64_t time_ms, const CallEvent& c);
  void EmitState(std::int64_t time_ms, const QueueLogLine& l, AgentState s, std::string_view reason,
                 bool all_queues);
  void Finish(const std::string& key);
  // Makes sure the call has been offered (and answered when `answered`), reconstructing.
  Call& Ensure(const QueueLogLine& l, std::int64_t entered_ms, bool answered,
               std::int64_t answered_ms, std::uint32_t wait_ms);

  Sink sink_;
  std::size_t max_tracked_;
  std::unordered_map<std::string, Call> calls_;
  std::deque<std::string> ended_order_;  // bounded memory of ended calls, for dedupe
  std::string key_;                      // scratch, reused
  QueueLogStats stats_;
};

}  // namespace ccmon::agent
