// The collector's domain core: sequence dedupe, validation, per client/site/queue KPIs,
// rolling windows, live state and the interval SLA ledger. No I/O.
// Not thread-safe: callers serialise access (the ingest adapter holds one mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ccmon/collector/clock.h"
#include "ccmon/collector/config.h"
#include "ccmon/collector/engine_state.h"
#include "ccmon/collector/ledger.h"
#include "ccmon/collector/snapshot.h"
#include "ccmon/model/event.h"

namespace ccmon::collector {

struct ApplyResult {
  enum class Kind : std::uint8_t { kAccepted, kDuplicate, kInvalid };
  Kind kind = Kind::kAccepted;
  // For kInvalid: a reason label (stable, low cardinality) and a human-readable detail.
  std::string_view reason;
  std::string detail;
};

class Engine {
 public:
  Engine(CoreConfig config, const Clock& clock);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // A stream from (site, instance) opened; returns the last sequence number applied for it.
  // Agent instances other than `instance` holding an open stream for `site` now: two agents
  // under one site id (both reading the same PBX would count its calls twice).
  std::vector<std::string> OtherOpenInstances(std::string_view site,
                                              std::string_view instance) const;
  // An agent's live status (AgentStatus, outside the spool): its backlog, its pause and the
  // input files it cannot read, and a sign of life. Once an agent sends these, its spooled
  // heartbeats no longer set them.
  struct AgentLiveStatus {
    std::uint64_t backlog_events = 0;
    bool paused = false;
    std::uint32_t sources_waiting = 0;
  };
  void ApplyAgentStatus(std::string_view site, std::string_view instance,
                        const AgentLiveStatus& status);
  std::uint64_t OpenStream(std::string_view site, std::string_view instance,
                           std::string_view agent_version);
  void CloseStream(std::string_view site, std::string_view instance);

  // Applies one event of an open stream. Sequence numbers at or below the last applied one
  // are duplicates; invalid events consume their sequence number (they are never resent).
  ApplyResult Apply(std::string_view site, std::string_view instance, const Event& event);
  // The same with the clock already read (now_ms): a batch reads it once for the timestamp
  // checks and last-seen time of all its events.
  ApplyResult Apply(std::string_view site, std::string_view instance, const Event& event,
                    std::int64_t now_ms);
  const Clock& clock() const;

  // Consumes the sequence number of an event that could not even be decoded and counts it
  // invalid under `reason`. Returns false when seq was a duplicate.
  bool Reject(std::string_view site, std::string_view instance, std::uint64_t seq,
              std::string_view reason);

  // Advances time-driven state: closes ledger rows of silent sites, accrues agent state time,
  // lets rows past the amendment horizon go.
  void Tick();

  Snapshot TakeSnapshot() const;
  // Closed ledger rows still in memory (within ledger_amend_days) of `client` whose local date
  // is `date` (YYYY-MM-DD); empty client or date means any.
  std::vector<LedgerRow> Ledger(std::string_view client, std::string_view date) const;
  // Rows closed or amended since the last call, each once with its new revision: what the
  // ledger store must write. An amendment waits (up to 30 min) while an agent instance still
  // streaming is behind the row, so a lagging instance makes one revision, not one per
  // batch; `all` drains those too (shutdown).
  std::vector<LedgerRow> DrainLedger(bool all = false);

  // Abandoned calls kept per queue (the latest kMaxAbandonedPerQueue), newest first; empty
  // client or queue means any.
  static constexpr std::size_t kMaxAbandonedPerQueue = 500;
  std::vector<AbandonedView> Abandoned(std::string_view client, std::string_view queue,
                                       std::int64_t since_ms) const;

  // The whole state, for checkpoints (storage/checkpoint.cc writes it as protobuf), and its
  // restoration into this engine. ImportState leaves out what this build cannot take (an
  // agent state it does not know, link figures that are not numbers, a second row for one
  // interval); should it fail, it says why and leaves the engine as it was.
  EngineState ExportState() const;
  bool ImportState(const EngineState& state, std::string* error);
  // Restores a checkpoint of the binary format written before the protobuf one (versions 2
  // and 3), so that an upgrade keeps its state; fails with a message on damage.
  bool LoadLegacyState(std::string_view blob, std::string* error);

  std::uint64_t LastApplied(std::string_view site, std::string_view instance) const;
  const CoreConfig& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ccmon::collector
