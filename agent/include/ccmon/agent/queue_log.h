// Asterisk queue_log: line parser and the per-call state machine that turns lines into
// ccmon events. Field meanings follow Asterisk's apps/app_queue.c (ast_queue_log calls).
// Not thread-safe; single owner.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ccmon/agent/event_sink.h"
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
  // Set when the line was not valid UTF-8: its bytes were read as Latin-1 (what old
  // queues.conf and agents.conf files are often saved in) and the fields point here.
  std::string recoded;
  bool was_recoded = false;
};

enum class ParseStatus : std::uint8_t { kOk, kBlank, kMalformed };

struct ParseResult {
  ParseStatus status = ParseStatus::kOk;
  const char* error = "";  // why a line is malformed
  // Text before a run of NUL bytes was dropped: a line torn by a power cut (its unwritten
  // tail reads back as zeros, up to where the next line starts). The status is the next's.
  bool torn_prefix = false;
};

// Parses one line (without its newline). A trailing '\r' is skipped, and so is everything up
// to the last NUL byte: zeros are what an unclean shutdown leaves of blocks never written,
// before a line (preallocated space) or in the middle of one (the rest of it lost).
ParseResult ParseQueueLogLine(std::string_view line, QueueLogLine* out);

// What the PBX's configuration tells the state machine (from queues.conf, see
// asterisk_config.h, and the agent config). Everything is optional: without it the machine
// reads lines as they come.
struct QueueLogOptions {
  struct Member {
    std::string queue;
    std::string name;
    bool paused = false;
  };
  // A call still waiting this long with no outcome is closed as lost (UnansweredReason::kLost).
  std::int64_t max_wait_ms = std::int64_t{3600} * 1000;
  std::map<std::string, std::int64_t, std::less<>> max_wait_ms_by_queue;
  // wrapuptime per queue, and per "queue|member" where a member overrides it.
  std::map<std::string, std::uint32_t, std::less<>> wrapup_ms;
  // Interface ("SIP/1000") -> member name ("Agent 1"), from static and mapped members.
  std::map<std::string, std::string, std::less<>> member_of_interface;
  // Static members: logged in whenever Asterisk runs, though they never log ADDMEMBER.
  std::vector<Member> static_members;
  // Pause reasons that mean after-call work rather than a break.
  std::vector<std::string> acw_pause_reasons;
  // queues.conf [general]: ADDMEMBER names the member; dynamic members survive a restart.
  bool log_membername_as_agent = false;
  bool persistent_members = true;
  // Lower-cased queue name -> the name as configured: Asterisk matches queue names without
  // regard to case, and ENTERQUEUE logs the name as the dialplan typed it.
  std::map<std::string, std::string, std::less<>> queue_names;
};

struct QueueLogStats {
  std::uint64_t lines = 0;
  std::uint64_t blank = 0;
  std::uint64_t malformed = 0;
  std::uint64_t events = 0;
  std::uint64_t duplicates = 0;       // steps already seen for that call (repeated lines)
  std::uint64_t reconstructed = 0;    // steps synthesised for calls whose start predates the log
  std::uint64_t ignored = 0;          // known kinds with no ccmon meaning (CONFIGRELOAD, DID...)
  std::uint64_t unknown_kinds = 0;    // custom or unknown event names
  std::uint64_t latin1 = 0;           // lines not valid UTF-8, read as Latin-1
  std::uint64_t orphan_rings = 0;     // RINGNOANSWER for calls never seen
  std::uint64_t ring_canceled = 0;    // RINGCANCELED: the caller left while a member rang
  std::uint64_t lost = 0;             // calls closed as lost after the queue's maximum wait
  std::uint64_t invalid_wait = 0;     // outcome lines whose wait field was empty or garbage
  std::uint64_t wait_recomputed = 0;  // ... of which the wait came from the ENTERQUEUE
  std::uint64_t transfer_merges = 0;  // attended-transfer lines folded into one call
  std::uint64_t members_bound = 0;    // interface -> member name bindings learned
  std::uint64_t clock_steps = 0;      // steps of more than 6 h the line clock took
};

// Turns parsed lines into events. Calls are keyed by (call id, queue). Duplicated steps are
// dropped; outcomes of calls whose ENTERQUEUE is not in the log get their missing steps
// reconstructed (flagged) from the waits the outcome line carries, so answered never exceeds
// offered.
class QueueLogStateMachine {
 public:
  explicit QueueLogStateMachine(EventSink sink, std::size_t max_tracked_calls = 20000);
  QueueLogStateMachine(EventSink sink, QueueLogOptions options,
                       std::size_t max_tracked_calls = 20000);

  void Process(const QueueLogLine& line);
  // Moves the machine's clock (the PBX's time) to now_ms: calls waiting past their maximum
  // are closed as lost, wrap-up periods that ended return members to ready. Process()
  // advances to each line's time; the source calls this while the log is quiet.
  void Advance(std::int64_t now_ms);
  // The latest PBX time seen (0 before any line).
  std::int64_t pbx_time_ms() const { return now_ms_; }
  const QueueLogStats& stats() const { return stats_; }
  QueueLogStats& mutable_stats() { return stats_; }

  // Emits the call ends held for after-call work done by pausing, the pauses ending now (the
  // end of an import: nothing more will come).
  void ReleaseAllHeld();

  // Serialises the open-call table so a restart resumes exactly (see Restore).
  std::string SaveState() const;
  // Returns false (and starts empty) when the blob is not a valid SaveState() output.
  bool RestoreState(std::string_view blob);

 private:
  struct Timer {
    enum class Kind : std::uint8_t { kLost, kWrapupEnd, kHeldEnd } kind;
    const std::string* call_key = nullptr;  // kLost: the waiting call's key in calls_
    std::string member;                     // kWrapupEnd, kHeldEnd
  };
  using Timers = std::multimap<std::int64_t, Timer>;
  struct Call {
    std::string queue;
    std::string caller_id;
    std::string agent;
    std::int64_t entered_ms = 0;
    std::int64_t answered_ms = 0;
    bool answered = false;
    bool ended = false;        // abandoned, exited, completed, transferred or lost
    bool entry_known = false;  // its ENTERQUEUE was read (entered_ms is the PBX's)
    bool timed = false;        // lost_timer is set: the call is waiting
    Timers::iterator lost_timer;
    std::string alias;  // another call id's key naming this call (an attended transfer)
    // The list of calls not ended, in the order they began (see Link): what SaveState writes,
    // without walking the ended calls kept for dedupe.
    std::uint32_t endings = 0;         // times a call under this key ended (see ended_order_)
    const std::string* key = nullptr;  // its key in calls_, while listed
    Call* prev_open = nullptr;
    Call* next_open = nullptr;
  };
  struct MemberState {
    std::int64_t wrapup_until_ms = 0;  // 0: not in wrap-up
  };
  // A member's call end held back while after-call work done by pausing may follow it (see
  // HoldEnd): the event with its strings owned.
  struct HeldEnd {
    CallEvent event;  // its string fields empty: they live in the strings below
    std::string queue, call_id, agent, caller_id;
    std::int64_t ended_ms = 0;       // the call's end
    std::int64_t acw_since_ms = -1;  // start of the after-call-work pause counted, -1 none yet
    std::int64_t due_ms = 0;         // when it is released if nothing else releases it
  };
  struct PendingAdd {
    std::string queue;
    std::string interface;
    std::int64_t time_ms = 0;
    bool paused = false;
  };

  Call* Lookup(std::string_view call_id, std::string_view queue);
  Call& Create(std::string_view call_id, std::string_view queue, std::int64_t entered_ms);
  void Emit(std::int64_t time_ms, const CallEvent& c);
  void EmitState(std::int64_t time_ms, std::string_view agent, std::string_view queue, AgentState s,
                 std::string_view reason);
  void StateLine(const QueueLogLine& l, AgentState s, std::string_view reason, bool all_queues);
  void Finish(const std::string& key, Call& c);
  void Unschedule(Call& c);
  void Link(Call& c, const std::string& key);  // to the end of the open calls
  void Unlink(Call& c);
  void ClearCalls();
  // Forgets the call ended longest ago (unless begun again since), for dedupe's bounded memory.
  void ForgetOldestEnded();
  void EndLost(const std::string& key, Call& c, std::int64_t given_up_ms);
  void SetPaused(std::string_view member, std::optional<AgentState> s);  // nullopt: unpaused
  std::optional<AgentState> PausedState(std::string_view member) const;
  // Makes sure the call has been offered (and answered when `answered`), reconstructing.
  Call& Ensure(const QueueLogLine& l, std::int64_t entered_ms, bool answered,
               std::int64_t answered_ms, std::uint32_t wait_ms, bool wait_unknown);
  bool SwappedTransfer(const QueueLogLine& l);
  // Ends an answered call as transferred at t; `reconstructed` when no line of its own says so.
  void EndTransferred(const std::string& key, Call& c, std::int64_t t, bool reconstructed);
  std::unordered_map<std::string, Call>::iterator OpenElsewhere(std::string_view call_id,
                                                                std::string_view queue,
                                                                bool answered);
  // QUEUESTART: Asterisk (re)started; calls in progress died with it.
  void Restarted(std::int64_t t);
  bool LoggedIn(std::string_view member) const;
  std::string_view MemberName(std::string_view field) const;
  void FlushPendingAdd(const QueueLogLine* next);
  void AnnounceStaticMembers(std::int64_t t);
  void StartWrapup(std::string_view member, std::string_view queue, std::int64_t t);
  // A call's end (completed, transferred) by a member: emitted, or held while an
  // after-call-work pause may follow (acw_pause_reasons set), its duration then added.
  void EndOfCall(std::int64_t t, const CallEvent& e);
  // Emits the held end of `member`'s last call; an after-call-work pause ends at t.
  void ReleaseHeld(std::string_view member, std::int64_t t);
  // An after-call-work pause began at t (or, acw false, another state line came).
  void PauseLine(std::string_view member, std::int64_t t, bool acw);
  void ReleaseAllHeldAt(std::int64_t t);  // every held end, pauses ending at t
  std::int64_t MaxWait(std::string_view queue) const;
  std::uint32_t Wrapup(std::string_view queue, std::string_view member) const;
  void ScheduleLost(const std::string& key, Call& c);  // key: the one stored in calls_

  EventSink sink_;
  QueueLogOptions options_;
  std::size_t max_tracked_;
  std::unordered_map<std::string, Call> calls_;
  Call* first_open_ = nullptr;  // the open calls, first begun first (Call::next_open)
  Call* last_open_ = nullptr;
  std::uint32_t open_calls_ = 0;
  // Bounded memory of ended calls, for dedupe: each ending's key and the call's ending count
  // then (a call id begun again and ended again is forgotten by its last ending).
  std::deque<std::pair<std::string, std::uint32_t>> ended_order_;
  std::unordered_map<std::string, std::string> aliases_;  // call key -> the call it continues
  Timers timers_;
  std::unordered_map<std::string, MemberState> members_;
  std::map<std::string, std::string, std::less<>> bound_;  // learned interface -> member name
  std::vector<PendingAdd> pending_adds_;
  std::set<std::string> logged_in_;  // "member|queue" with a state other than logged out
  // Paused members: not ready, or after-call work for a pause reason named so.
  std::map<std::string, AgentState, std::less<>> paused_;
  std::map<std::string, HeldEnd, std::less<>> held_;  // by member
  std::int64_t last_line_ms_ = 0;                     // latest PBX time of any line read
  std::int64_t prev_line_ms_ = 0;                     // ... before the current line
  int step_lines_ = 0;  // lines in a row far from the clock (see Process)
  std::vector<std::string> queues_seen_;
  bool announced_ = false;
  std::int64_t now_ms_ = 0;
  std::string key_;                           // scratch, reused
  const std::string* created_key_ = nullptr;  // calls_'s key of the call Create() made last
  std::string lower_;                         // scratch, reused
  QueueLogStats stats_;
};

// Options from Asterisk's configuration (queues.conf and a members file).
struct AsteriskConfig;
void ApplyAsteriskConfig(const AsteriskConfig& config, QueueLogOptions* options);

}  // namespace ccmon::agent
