// The ledger's durable home: closed rows, their revisions (the audit trail), force-majeure
// exclusions and the periods of continuity alerts. Embedded: one SQLite database (WAL journal)
// under the data directory, or in memory when the collector has none. Shared: one PostgreSQL
// database that the replicas and shards of a deployment all write, each row once (the same
// row from two replicas is one row) and read across shards. Schema: docs/contracts.md.
// Thread-safe: one connection behind a mutex (the ticker writes, Monitor calls read).
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ccmon/collector/continuity.h"
#include "ccmon/collector/ledger.h"
#include "ccmon/collector/statement.h"
#include "storage/sql.h"

namespace ccmon::collector {

// One revision of a row as recorded: the terms it had then and why it changed.
struct RowRevision {
  LedgerRow row;  // the row as of this revision
  std::string reason;
};

struct LedgerQuery {
  std::string client;        // empty: any
  std::string site;          // empty: any
  std::string queue;         // empty: any
  std::string local_date;    // YYYY-MM-DD in each row's zone; empty: any
  std::int64_t from_ms = 0;  // start_ms in [from_ms, to_ms)
  std::int64_t to_ms = 0;    // 0: no upper bound
};

class LedgerStore {
 public:
  // `where` is a SQLite file (created with its schema when missing), ":memory:", or a
  // postgresql:// URI (tables created when missing). `writer` names this collector among
  // those sharing a database: its alert periods and protection are its own. A PostgreSQL
  // server that cannot be reached does not fail Open: the store connects on each later call
  // until it can (Reachable() says how the first attempt went); SQLite errors fail Open.
  static absl::StatusOr<std::unique_ptr<LedgerStore>> Open(const std::string& where,
                                                           const std::string& writer = "");
  ~LedgerStore();
  LedgerStore(const LedgerStore&) = delete;
  LedgerStore& operator=(const LedgerStore&) = delete;

  // Writes rows drained from the engine in one transaction. Idempotent: a row equal to the
  // stored one (every raw term and contract term) changes nothing, so replaying the WAL
  // after a crash writes no second revision. A row that differs gets the stored revision + 1
  // and an audit record. A row with fewer of any term than the stored one (a partial rebuild)
  // is refused and counted (refused()). Each revision records `written_ms` (collector clock;
  // 0: the row's changed_ms), the time RowsAsOf goes by. Returns the revisions written.
  absl::StatusOr<std::size_t> Write(const std::vector<LedgerRow>& rows,
                                    std::int64_t written_ms = 0);
  // OK once the database has been reached and its schema is in place; else why not.
  absl::Status Reachable() const;
  std::uint64_t refused() const {
    std::lock_guard lock(mu_);
    return refused_;
  }
  // Until `until_ms` (collector clock), rows already stored are kept as they are: Write only
  // adds new rows and counts the rest as refused. Persisted (table meta); LoadProtection(now)
  // reads it back at start.
  // Until the database is first reached, LoadProtection and CloseOpenAlerts(0) (what a start
  // does) are remembered and done then, before anything else.
  absl::Status ProtectStoredRows(std::int64_t until_ms);
  absl::Status LoadProtection(std::int64_t now_ms);
  // Marks alert periods still open as ended: at `now_ms` (a clean stop: they fired until
  // then), or with now_ms 0 at the last TouchFiringAlerts (a start after a crash: nothing is
  // known of the time the process was down). A restart re-fires what is still wrong, as a new
  // period.
  absl::Status CloseOpenAlerts(std::int64_t now_ms);
  // Records that this writer's alerts still firing were firing at `now_ms`, and ends other
  // writers' open periods untouched for kOrphanedAfterMs at their last touch (only once this
  // writer has itself touched without a break, every minute at least, for that long).
  absl::Status TouchFiringAlerts(std::int64_t now_ms);
  static constexpr std::int64_t kOrphanedAfterMs = std::int64_t{10} * 60'000;
  absl::StatusOr<std::uint64_t> RowCount() const;

  absl::StatusOr<std::vector<LedgerRow>> Rows(const LedgerQuery& q) const;
  // The rows as they stood at `as_of_ms` (collector clock): each row's last revision the store
  // had taken by then (written_ms, not when the row changed: a row that waited for the store
  // was not there to be read); rows first written later are absent. A statement issued then
  // can be rebuilt.
  absl::StatusOr<std::vector<LedgerRow>> RowsAsOf(const LedgerQuery& q,
                                                  std::int64_t as_of_ms) const;
  // Every revision of one row, oldest first.
  absl::StatusOr<std::vector<RowRevision>> Revisions(const std::string& client,
                                                     const std::string& site,
                                                     const std::string& queue,
                                                     std::int64_t start_ms) const;
  // Deletes rows and revisions that started before `before_ms`; returns rows deleted.
  absl::StatusOr<std::size_t> Prune(std::int64_t before_ms);

  // Continuity alert periods (firing and resolved), the ground on which exclusions stand.
  // Each writer records its own; CloseOpenAlerts and TouchFiringAlerts touch only this one's.
  absl::Status RecordAlert(const AlertTransition& t);
  // Periods of `alert` for `client` at `site` overlapping [from_ms, to_ms), oldest first
  // (a firing one has ends_ms 0). Overlapping periods of one alert recorded by several
  // writers (replicas saw the same firing) are returned as one, from the first start to the
  // last end.
  absl::StatusOr<std::vector<Alert>> AlertPeriods(const std::string& alert,
                                                  const std::string& client,
                                                  const std::string& site, std::int64_t from_ms,
                                                  std::int64_t to_ms) const;

  // Stores a proposed exclusion and returns it with its id.
  absl::StatusOr<Exclusion> AddExclusion(Exclusion e);
  // Accepts or rejects a proposed exclusion of `client`. Decided ones are final, also when
  // two collectors sharing the store are asked at once: the second is refused.
  absl::StatusOr<Exclusion> DecideExclusion(const std::string& client, std::int64_t id, bool accept,
                                            const std::string& by, const std::string& note,
                                            std::int64_t now_ms);
  // Exclusions of `client` overlapping [from_ms, to_ms) (to_ms 0: no bound), by id.
  absl::StatusOr<std::vector<Exclusion>> Exclusions(const std::string& client, std::int64_t from_ms,
                                                    std::int64_t to_ms) const;

 private:
  LedgerStore(std::unique_ptr<SqlDb> db, std::string writer)
      : db_(std::move(db)), writer_(std::move(writer)) {}
  absl::Status CreateSchema() const;
  // Under mu_: reaches the database and creates its schema the first time, then does what
  // start deferred. Every call goes through it.
  absl::Status Ready() const;
  absl::Status LoadProtectionLocked(std::int64_t now_ms) const;
  absl::Status CloseOpenAlertsLocked(std::int64_t now_ms) const;
  std::string ProtectionKey() const;  // the meta key of this writer's protection

  mutable std::mutex mu_;
  std::unique_ptr<SqlDb> db_;
  std::string writer_;
  std::uint64_t refused_ = 0;
  mutable bool protected_ = false;
  mutable bool ready_ = false;
  mutable absl::Status first_attempt_;
  std::int64_t last_touch_ms_ = 0;               // this writer's last TouchFiringAlerts
  std::int64_t touching_since_ms_ = 0;           // and since when it has touched without a break
  mutable bool close_on_ready_ = false;          // CloseOpenAlerts(0) deferred
  mutable std::int64_t protection_now_ms_ = -1;  // LoadProtection(now) deferred
};

}  // namespace ccmon::collector
