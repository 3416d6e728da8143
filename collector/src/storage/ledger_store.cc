#include "storage/ledger_store.h"

#include <absl/strings/str_cat.h>
#include <absl/time/time.h>

#include <algorithm>
#include <utility>

namespace ccmon::collector {

namespace {

// Columns every row and revision carries, in bind order after the key (client, site, queue,
// start_utc_ms). Raw terms first: a client recomputes any formula from them.
constexpr const char* kTermColumns[] = {"start_utc",
                                        "local_start",
                                        "local_date",
                                        "timezone",
                                        "utc_offset_s",
                                        "length_minutes",
                                        "sl_formula",
                                        "sl_threshold_s",
                                        "sl_target",
                                        "short_abandon_s",
                                        "abandon_target",
                                        "asa_target_s",
                                        "offered",
                                        "answered",
                                        "answered_in_threshold",
                                        "abandoned",
                                        "abandoned_in_threshold",
                                        "short_abandoned",
                                        "unanswered_timeout",
                                        "unanswered_key",
                                        "unanswered_empty",
                                        "unanswered_withdraw",
                                        "unanswered_lost",
                                        "answered_wait_unknown",
                                        "abandoned_wait_unknown",
                                        "completed",
                                        "transferred",
                                        "handled",
                                        "answered_wait_ms",
                                        "abandoned_wait_ms",
                                        "handle_ms",
                                        "sl_result",
                                        "abandon_result",
                                        "asa_result",
                                        "revision",
                                        "late_events",
                                        "rebuilt_events",
                                        "closed_ms",
                                        "changed_ms"};
constexpr int kKeyColumns = 4;
constexpr int kTermCount = static_cast<int>(std::size(kTermColumns));
// The unanswered_* columns, in kTermColumns order (kNone is no column: the engine refuses an
// exit without a reason).
constexpr UnansweredReason kStoredReasons[] = {
    UnansweredReason::kTimeout, UnansweredReason::kKey, UnansweredReason::kEmpty,
    UnansweredReason::kWithdraw, UnansweredReason::kLost};
static_assert(std::size(kStoredReasons) == kUnansweredReasonCount - 1);

// Term columns added after the first schema: a store created before them gets each with
// ALTER TABLE ... DEFAULT 0 when it opens, which is exact (no such call could be counted then).
constexpr const char* kAddedColumns[] = {"unanswered_lost", "answered_wait_unknown",
                                         "abandoned_wait_unknown"};

std::string TermsDdl() {
  std::string s;
  for (const char* c : kTermColumns) {
    const std::string_view n(c);
    const bool text = n == "start_utc" || n == "local_start" || n == "local_date" ||
                      n == "timezone" || n == "sl_formula" || n.ends_with("_result");
    const bool real = n == "sl_threshold_s" || n == "sl_target" || n == "short_abandon_s" ||
                      n == "abandon_target" || n == "asa_target_s";
    const char* type = text ? " TEXT NOT NULL" : real ? " REAL NOT NULL" : " INTEGER NOT NULL";
    absl::StrAppend(&s, ",\n  ", c, type);
  }
  return s;
}

std::string Schema() {
  const std::string terms = TermsDdl();
  return absl::StrCat(
      "CREATE TABLE IF NOT EXISTS ledger_rows (\n"
      "  client TEXT NOT NULL, site TEXT NOT NULL, queue TEXT NOT NULL,\n"
      "  start_utc_ms INTEGER NOT NULL",
      terms,
      ",\n  PRIMARY KEY (client, site, queue, start_utc_ms)) WITHOUT ROWID;\n"
      "CREATE INDEX IF NOT EXISTS ledger_rows_by_time ON ledger_rows (client, start_utc_ms);\n"
      "CREATE INDEX IF NOT EXISTS ledger_rows_by_date ON ledger_rows (client, local_date);\n"
      "CREATE TABLE IF NOT EXISTS ledger_revisions (\n"
      "  client TEXT NOT NULL, site TEXT NOT NULL, queue TEXT NOT NULL,\n"
      "  start_utc_ms INTEGER NOT NULL",
      terms,
      ",\n  change TEXT NOT NULL, reason TEXT NOT NULL,\n"
      "  PRIMARY KEY (client, site, queue, start_utc_ms, revision)) WITHOUT ROWID;\n"
      "CREATE TABLE IF NOT EXISTS exclusions (\n"
      "  id INTEGER PRIMARY KEY AUTOINCREMENT, client TEXT NOT NULL, site TEXT NOT NULL,\n"
      "  queue TEXT NOT NULL, alert TEXT NOT NULL, from_ms INTEGER NOT NULL,\n"
      "  to_ms INTEGER NOT NULL, reason TEXT NOT NULL, state TEXT NOT NULL,\n"
      "  proposed_by TEXT NOT NULL, proposed_ms INTEGER NOT NULL, decided_by TEXT NOT NULL,\n"
      "  decided_ms INTEGER NOT NULL, decision_note TEXT NOT NULL);\n"
      "CREATE TABLE IF NOT EXISTS alert_periods (\n"
      "  name TEXT NOT NULL, client TEXT NOT NULL, site TEXT NOT NULL, queue TEXT NOT NULL,\n"
      "  link TEXT NOT NULL, starts_ms INTEGER NOT NULL, ends_ms INTEGER NOT NULL,\n"
      "  seen_ms INTEGER NOT NULL,\n"
      "  PRIMARY KEY (name, client, site, queue, link, starts_ms)) WITHOUT ROWID;\n"
      "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n");
}

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &s_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  absl::Status status() const {
    if (rc_ == SQLITE_OK) return absl::OkStatus();
    return absl::InternalError(absl::StrCat("ledger store: ", sqlite3_errmsg(db_)));
  }
  Stmt& Bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(s_); }
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  std::int64_t Int(int i) const { return sqlite3_column_int64(s_, i); }
  double Real(int i) const { return sqlite3_column_double(s_, i); }
  std::string Text(int i) const {
    const auto* p = sqlite3_column_text(s_, i);
    return p == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(p),
                                      static_cast<std::size_t>(sqlite3_column_bytes(s_, i)));
  }
  absl::Status Error() const {
    return absl::InternalError(absl::StrCat("ledger store: ", sqlite3_errmsg(db_)));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_OK;
};

std::string ColumnList() {
  std::string s = "client, site, queue, start_utc_ms";
  for (const char* c : kTermColumns) absl::StrAppend(&s, ", ", c);
  return s;
}

std::string Placeholders(int n) {
  std::string s;
  for (int i = 1; i <= n; ++i) absl::StrAppend(&s, i == 1 ? "?" : ", ?");
  return s;
}

// Binds key and terms of `r` from parameter 1 on, in ColumnList order; returns the next free
// parameter index.
int BindRow(Stmt& st, const LedgerRow& r) {
  int i = 1;
  auto bind = [&](auto v) { st.Bind(i++, v); };
  auto u = [&](std::uint64_t v) { bind(static_cast<std::int64_t>(v)); };
  bind(std::string_view(r.client));
  bind(std::string_view(r.site));
  bind(std::string_view(r.queue));
  bind(r.start_ms);
  bind(std::string_view(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(r.start_ms),
                                         absl::UTCTimeZone())));
  const std::string local_start = r.LocalStart(), local_date = r.LocalDate();
  bind(std::string_view(local_start));
  bind(std::string_view(local_date));
  bind(std::string_view(r.timezone));
  bind(std::int64_t{r.utc_offset_s});
  bind(std::int64_t{r.length_minutes});
  const Contract& k = r.contract;
  bind(ToString(k.sl_formula));
  for (double v :
       {k.sl_threshold_s, k.sl_target, k.short_abandon_s, k.abandon_target, k.asa_target_s}) {
    bind(v);
  }
  const Counts& c = r.counts;
  for (std::uint64_t v : {c.offered, c.answered, c.answered_in_threshold, c.abandoned,
                          c.abandoned_in_threshold, c.short_abandoned}) {
    u(v);
  }
  for (auto reason : kStoredReasons) u(c.unanswered[static_cast<std::size_t>(reason)]);
  u(c.answered_wait_unknown);
  u(c.abandoned_wait_unknown);
  for (std::uint64_t v : {c.completed, c.transferred, c.handled, c.answered_wait_ms,
                          c.abandoned_wait_ms, c.handle_ms}) {
    u(v);
  }
  bind(std::string_view(ToString(r.SlResult())));
  bind(std::string_view(ToString(r.AbandonResult())));
  bind(std::string_view(ToString(r.AsaResult())));
  bind(std::int64_t{r.revision});
  u(r.late_events);
  u(r.rebuilt_events);
  bind(r.closed_ms);
  bind(r.changed_ms);
  return i;
}

// Brings a store of an earlier schema to this one (Schema() creates a new store complete):
// adds the kAddedColumns it lacks, in one transaction, and records schema_version 2.
absl::Status Migrate(sqlite3* db) {
  auto exec = [&](const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) == SQLITE_OK) {
      return absl::OkStatus();
    }
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return absl::InternalError(absl::StrCat("ledger store: migrating the schema: ", msg));
  };
  std::string alter;
  for (const char* table : {"ledger_rows", "ledger_revisions"}) {
    Stmt info(db, absl::StrCat("PRAGMA table_info(", table, ")"));
    if (auto s = info.status(); !s.ok()) return s;
    std::vector<std::string> have;
    int rc;
    while ((rc = info.Step()) == SQLITE_ROW) have.push_back(info.Text(1));
    if (rc != SQLITE_DONE) return info.Error();
    for (const char* column : kAddedColumns) {
      if (std::find(have.begin(), have.end(), column) == have.end()) {
        absl::StrAppend(&alter, "ALTER TABLE ", table, " ADD COLUMN ", column,
                        " INTEGER NOT NULL DEFAULT 0;\n");
      }
    }
  }
  return exec(absl::StrCat("BEGIN IMMEDIATE;\n", alter,
                           "INSERT OR REPLACE INTO meta VALUES ('schema_version', '2');\n"
                           "COMMIT;"));
}

// Reads key and terms from column `first` on (as ColumnList orders them).
LedgerRow ReadRow(const Stmt& st, int first = 0) {
  int i = first;
  LedgerRow r;
  r.client = st.Text(i++);
  r.site = st.Text(i++);
  r.queue = st.Text(i++);
  r.start_ms = st.Int(i++);
  i += 3;  // start_utc, local_start, local_date: derived
  r.timezone = st.Text(i++);
  r.utc_offset_s = static_cast<std::int32_t>(st.Int(i++));
  r.length_minutes = static_cast<int>(st.Int(i++));
  Contract& k = r.contract;
  k.sl_formula = ParseSlFormula(st.Text(i++)).value_or(SlFormula::kStandard);
  k.sl_threshold_s = st.Real(i++);
  k.sl_target = st.Real(i++);
  k.short_abandon_s = st.Real(i++);
  k.abandon_target = st.Real(i++);
  k.asa_target_s = st.Real(i++);
  k.interval_minutes = r.length_minutes;
  Counts& c = r.counts;
  auto u = [&](int col) { return static_cast<std::uint64_t>(st.Int(col)); };
  c.offered = u(i++);
  c.answered = u(i++);
  c.answered_in_threshold = u(i++);
  c.abandoned = u(i++);
  c.abandoned_in_threshold = u(i++);
  c.short_abandoned = u(i++);
  for (auto reason : kStoredReasons) c.unanswered[static_cast<std::size_t>(reason)] = u(i++);
  c.answered_wait_unknown = u(i++);
  c.abandoned_wait_unknown = u(i++);
  c.completed = u(i++);
  c.transferred = u(i++);
  c.handled = u(i++);
  c.answered_wait_ms = u(i++);
  c.abandoned_wait_ms = u(i++);
  c.handle_ms = u(i++);
  i += 3;  // results: derived from terms
  r.revision = static_cast<std::uint32_t>(st.Int(i++));
  r.late_events = u(i++);
  r.rebuilt_events = u(i++);
  r.closed_ms = st.Int(i++);
  r.changed_ms = st.Int(i++);
  r.change = r.revision > 1 ? RowChange::kAmended : RowChange::kClosed;
  return r;
}

// The call terms a row stores (agent state time is not a ledger term).
Counts CallTerms(Counts c) {
  c.on_call_ms = c.acw_ms = c.ready_ms = 0;
  return c;
}

// True when every call term of `b` is at least `a`'s: events only ever add to a row, so a
// row with fewer of anything is a partial rebuild (a replay without its checkpoint) and must
// never replace the stored one.
bool Covers(const Counts& b, const Counts& a) {
  bool ok = b.offered >= a.offered && b.answered >= a.answered &&
            b.answered_in_threshold >= a.answered_in_threshold && b.abandoned >= a.abandoned &&
            b.abandoned_in_threshold >= a.abandoned_in_threshold &&
            b.short_abandoned >= a.short_abandoned &&
            b.answered_wait_unknown >= a.answered_wait_unknown &&
            b.abandoned_wait_unknown >= a.abandoned_wait_unknown && b.completed >= a.completed &&
            b.transferred >= a.transferred && b.handled >= a.handled &&
            b.answered_wait_ms >= a.answered_wait_ms &&
            b.abandoned_wait_ms >= a.abandoned_wait_ms && b.handle_ms >= a.handle_ms;
  for (std::size_t i = 0; i < a.unanswered.size(); ++i)
    ok = ok && b.unanswered[i] >= a.unanswered[i];
  return ok;
}

bool SameTerms(const LedgerRow& a, const LedgerRow& b) {
  const Contract& x = a.contract;
  const Contract& y = b.contract;
  return CallTerms(a.counts) == CallTerms(b.counts) && a.length_minutes == b.length_minutes &&
         a.utc_offset_s == b.utc_offset_s && a.timezone == b.timezone &&
         x.sl_formula == y.sl_formula && x.sl_threshold_s == y.sl_threshold_s &&
         x.sl_target == y.sl_target && x.short_abandon_s == y.short_abandon_s &&
         x.abandon_target == y.abandon_target && x.asa_target_s == y.asa_target_s;
}

// Why a row changed, in words for the audit trail.
std::string Reason(const LedgerRow& stored, const LedgerRow& r, bool existed) {
  if (!existed) {
    return r.late_events > 0 ? absl::StrCat("closed; ", r.late_events,
                                            " of its events arrived after its interval closed")
                             : std::string("closed");
  }
  std::string what;
  auto diff = [&](const char* name, std::uint64_t before, std::uint64_t after) {
    if (before == after) return;
    absl::StrAppend(&what, what.empty() ? "" : ", ", name, " ", before, "->", after);
  };
  const Counts& b = stored.counts;
  const Counts& a = r.counts;
  diff("offered", b.offered, a.offered);
  diff("answered", b.answered, a.answered);
  diff("answered_in_threshold", b.answered_in_threshold, a.answered_in_threshold);
  diff("abandoned", b.abandoned, a.abandoned);
  diff("short_abandoned", b.short_abandoned, a.short_abandoned);
  diff("unanswered", b.UnansweredTotal(), a.UnansweredTotal());
  diff("answered_wait_unknown", b.answered_wait_unknown, a.answered_wait_unknown);
  diff("abandoned_wait_unknown", b.abandoned_wait_unknown, a.abandoned_wait_unknown);
  diff("handled", b.handled, a.handled);
  if (what.empty()) what = "contract terms changed";
  const std::uint64_t late = r.late_events - std::min(r.late_events, stored.late_events);
  if (late == 0 && r.change_events == 0) return absl::StrCat("recomputed: ", what);
  return absl::StrCat("amended by ", late > 0 ? late : r.change_events, " late event(s): ", what);
}

Exclusion::State ParseState(const std::string& s) {
  if (s == "accepted") return Exclusion::State::kAccepted;
  if (s == "rejected") return Exclusion::State::kRejected;
  return Exclusion::State::kProposed;
}

// The WHERE clause of a row query with only the filters given (an "? = '' OR" test would
// keep SQLite from its indexes), columns prefixed; parameters ?1..?6 as BindQuery binds them.
std::string Where(const LedgerQuery& q, std::string_view p) {
  const std::string c(p);
  std::string w = c + "start_utc_ms >= ?1";
  if (q.to_ms != 0) w += " AND " + c + "start_utc_ms < ?2";
  if (!q.client.empty()) w += " AND " + c + "client = ?3";
  if (!q.site.empty()) w += " AND " + c + "site = ?4";
  if (!q.queue.empty()) w += " AND " + c + "queue = ?5";
  if (!q.local_date.empty()) w += " AND " + c + "local_date = ?6";
  return w;
}

void BindQuery(Stmt& st, const LedgerQuery& q) {
  st.Bind(1, q.from_ms);
  if (q.to_ms != 0) st.Bind(2, q.to_ms);
  if (!q.client.empty()) st.Bind(3, q.client);
  if (!q.site.empty()) st.Bind(4, q.site);
  if (!q.queue.empty()) st.Bind(5, q.queue);
  if (!q.local_date.empty()) st.Bind(6, q.local_date);
}

constexpr const char* kExclusionColumns =
    "id, client, site, queue, alert, from_ms, to_ms, reason, state, proposed_by, proposed_ms, "
    "decided_by, decided_ms, decision_note";

Exclusion ReadExclusion(const Stmt& st) {
  Exclusion e;
  e.id = st.Int(0);
  e.client = st.Text(1);
  e.site = st.Text(2);
  e.queue = st.Text(3);
  e.alert = st.Text(4);
  e.from_ms = st.Int(5);
  e.to_ms = st.Int(6);
  e.reason = st.Text(7);
  e.state = ParseState(st.Text(8));
  e.proposed_by = st.Text(9);
  e.proposed_ms = st.Int(10);
  e.decided_by = st.Text(11);
  e.decided_ms = st.Int(12);
  e.decision_note = st.Text(13);
  return e;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LedgerStore>> LedgerStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return absl::UnavailableError(absl::StrCat(path, ": cannot open the ledger store: ", msg));
  }
  std::unique_ptr<LedgerStore> store(new LedgerStore(db));
  sqlite3_busy_timeout(db, 5000);
  // WAL journal: readers (the sqlite3 shell, a report) never block the collector's writes.
  // synchronous=FULL: a written revision survives power loss, as the event WAL does.
  for (const char* pragma : {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;"}) {
    if (path != ":memory:") {
      if (auto s = store->Exec(pragma); !s.ok()) {
        return absl::UnavailableError(absl::StrCat(path, ": ", s.message()));
      }
    }
  }
  if (auto s = store->Exec(Schema().c_str()); !s.ok()) {
    return absl::UnavailableError(absl::StrCat(path, ": ", s.message()));
  }
  if (auto s = Migrate(db); !s.ok()) {
    return absl::UnavailableError(absl::StrCat(path, ": ", s.message()));
  }
  return store;
}

LedgerStore::~LedgerStore() { sqlite3_close(db_); }

absl::Status LedgerStore::Exec(const char* sql) const {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return absl::InternalError(absl::StrCat("ledger store: ", msg));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::size_t> LedgerStore::Write(const std::vector<LedgerRow>& rows) {
  if (rows.empty()) return 0;
  std::lock_guard lock(mu_);
  const std::string cols = ColumnList();
  Stmt get(db_, absl::StrCat("SELECT ", cols,
                             " FROM ledger_rows WHERE client=? AND site=? AND queue=? AND "
                             "start_utc_ms=?"));
  Stmt put(db_, absl::StrCat("INSERT OR REPLACE INTO ledger_rows (", cols, ") VALUES (",
                             Placeholders(kKeyColumns + kTermCount), ")"));
  Stmt rev(db_, absl::StrCat("INSERT OR REPLACE INTO ledger_revisions (", cols,
                             ", change, reason) VALUES (",
                             Placeholders(kKeyColumns + kTermCount + 2), ")"));
  for (const Stmt* st : {&get, &put, &rev}) {
    if (auto s = st->status(); !s.ok()) return s;
  }
  if (auto s = Exec("BEGIN IMMEDIATE;"); !s.ok()) return s;
  std::size_t written = 0;
  for (const LedgerRow& in : rows) {
    get.Reset();
    get.Bind(1, in.client).Bind(2, in.site).Bind(3, in.queue).Bind(4, in.start_ms);
    const int rc = get.Step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      auto err = get.Error();
      (void)Exec("ROLLBACK;");
      return err;
    }
    const bool existed = rc == SQLITE_ROW;
    LedgerRow stored;
    if (existed) {
      stored = ReadRow(get);
      if (SameTerms(stored, in)) continue;  // replayed or already written
      if (protected_ || !Covers(in.counts, stored.counts)) {
        ++refused_;
        continue;
      }
    }
    LedgerRow r = in;
    r.revision = existed ? stored.revision + 1 : 1;
    r.change = existed ? RowChange::kAmended : RowChange::kClosed;
    if (existed) r.closed_ms = stored.closed_ms;
    put.Reset();
    BindRow(put, r);
    rev.Reset();
    const int next = BindRow(rev, r);
    rev.Bind(next, ToString(r.change)).Bind(next + 1, Reason(stored, r, existed));
    if (put.Step() != SQLITE_DONE || rev.Step() != SQLITE_DONE) {
      auto err = put.Error();
      (void)Exec("ROLLBACK;");
      return err;
    }
    ++written;
  }
  if (auto s = Exec("COMMIT;"); !s.ok()) {
    (void)Exec("ROLLBACK;");
    return s;
  }
  return written;
}

absl::StatusOr<std::vector<LedgerRow>> LedgerStore::Rows(const LedgerQuery& q) const {
  std::lock_guard lock(mu_);
  Stmt st(db_, absl::StrCat("SELECT ", ColumnList(), " FROM ledger_rows WHERE ", Where(q, ""),
                            " ORDER BY client, site, queue, start_utc_ms"));
  if (auto s = st.status(); !s.ok()) return s;
  BindQuery(st, q);
  std::vector<LedgerRow> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadRow(st));
  if (rc != SQLITE_DONE) return st.Error();
  return out;
}

absl::StatusOr<std::vector<LedgerRow>> LedgerStore::RowsAsOf(const LedgerQuery& q,
                                                             std::int64_t as_of_ms) const {
  std::lock_guard lock(mu_);
  std::string cols;
  for (const char* c : {"client", "site", "queue", "start_utc_ms"}) {
    absl::StrAppend(&cols, cols.empty() ? "" : ", ", "r.", c);
  }
  for (const char* c : kTermColumns) absl::StrAppend(&cols, ", r.", c);
  Stmt st(db_, absl::StrCat("SELECT ", cols, " FROM ledger_revisions r WHERE ", Where(q, "r."),
                            " AND r.changed_ms <= ?7 AND r.revision = (SELECT max(x.revision) "
                            "FROM ledger_revisions x WHERE x.client = r.client AND x.site = r.site "
                            "AND x.queue = r.queue AND x.start_utc_ms = r.start_utc_ms AND "
                            "x.changed_ms <= ?7) ORDER BY r.client, r.site, r.queue, "
                            "r.start_utc_ms"));
  if (auto s = st.status(); !s.ok()) return s;
  BindQuery(st, q);
  st.Bind(7, as_of_ms);
  std::vector<LedgerRow> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadRow(st));
  if (rc != SQLITE_DONE) return st.Error();
  return out;
}

absl::StatusOr<std::vector<RowRevision>> LedgerStore::Revisions(const std::string& client,
                                                                const std::string& site,
                                                                const std::string& queue,
                                                                std::int64_t start_ms) const {
  std::lock_guard lock(mu_);
  Stmt st(db_, absl::StrCat("SELECT ", ColumnList(),
                            ", change, reason FROM ledger_revisions WHERE client=? AND site=? "
                            "AND queue=? AND start_utc_ms=? ORDER BY revision"));
  if (auto s = st.status(); !s.ok()) return s;
  st.Bind(1, client).Bind(2, site).Bind(3, queue).Bind(4, start_ms);
  std::vector<RowRevision> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    RowRevision r{ReadRow(st), st.Text(kKeyColumns + kTermCount + 1)};
    r.row.change =
        st.Text(kKeyColumns + kTermCount) == "amended" ? RowChange::kAmended : RowChange::kClosed;
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return st.Error();
  return out;
}

absl::StatusOr<std::size_t> LedgerStore::Prune(std::int64_t before_ms) {
  std::lock_guard lock(mu_);
  Stmt rows(db_, "DELETE FROM ledger_rows WHERE start_utc_ms < ?");
  Stmt revs(db_, "DELETE FROM ledger_revisions WHERE start_utc_ms < ?");
  if (auto s = rows.status(); !s.ok()) return s;
  if (auto s = revs.status(); !s.ok()) return s;
  rows.Bind(1, before_ms);
  revs.Bind(1, before_ms);
  if (rows.Step() != SQLITE_DONE) return rows.Error();
  const auto n = static_cast<std::size_t>(sqlite3_changes(db_));
  if (revs.Step() != SQLITE_DONE) return revs.Error();
  return n;
}

absl::Status LedgerStore::RecordAlert(const AlertTransition& t) {
  std::lock_guard lock(mu_);
  const Alert& a = t.alert;
  Stmt st(db_,
          "INSERT INTO alert_periods VALUES (?, ?, ?, ?, ?, ?, ?, ?6) ON CONFLICT (name, client, "
          "site, queue, link, starts_ms) DO UPDATE SET ends_ms = excluded.ends_ms");
  if (auto s = st.status(); !s.ok()) return s;
  st.Bind(1, a.name).Bind(2, a.client).Bind(3, a.site).Bind(4, a.queue).Bind(5, a.link);
  st.Bind(6, a.starts_ms).Bind(7, t.firing ? std::int64_t{0} : a.ends_ms);
  if (st.Step() != SQLITE_DONE) return st.Error();
  return absl::OkStatus();
}

absl::Status LedgerStore::ProtectStoredRows(std::int64_t until_ms) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "INSERT OR REPLACE INTO meta VALUES ('protect_stored_rows_until_ms', ?)");
  if (auto s = st.status(); !s.ok()) return s;
  st.Bind(1, std::to_string(until_ms));
  if (st.Step() != SQLITE_DONE) return st.Error();
  protected_ = true;
  return absl::OkStatus();
}

absl::Status LedgerStore::LoadProtection(std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT value FROM meta WHERE key = 'protect_stored_rows_until_ms'");
  if (auto s = st.status(); !s.ok()) return s;
  const int rc = st.Step();
  if (rc == SQLITE_ROW) protected_ = std::stoll("0" + st.Text(0)) > now_ms;
  return absl::OkStatus();
}

absl::Status LedgerStore::CloseOpenAlerts(std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  Stmt st(db_, now_ms > 0 ? "UPDATE alert_periods SET ends_ms = ?1 WHERE ends_ms = 0"
                          : "UPDATE alert_periods SET ends_ms = max(seen_ms, starts_ms + 1) "
                            "WHERE ends_ms = 0");
  if (auto s = st.status(); !s.ok()) return s;
  if (now_ms > 0) st.Bind(1, now_ms);
  if (st.Step() != SQLITE_DONE) return st.Error();
  return absl::OkStatus();
}

absl::Status LedgerStore::TouchFiringAlerts(std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "UPDATE alert_periods SET seen_ms = ? WHERE ends_ms = 0");
  if (auto s = st.status(); !s.ok()) return s;
  st.Bind(1, now_ms);
  if (st.Step() != SQLITE_DONE) return st.Error();
  return absl::OkStatus();
}

absl::StatusOr<std::uint64_t> LedgerStore::RowCount() const {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT count(*) FROM ledger_rows");
  if (auto s = st.status(); !s.ok()) return s;
  if (st.Step() != SQLITE_ROW) return st.Error();
  return static_cast<std::uint64_t>(st.Int(0));
}

absl::StatusOr<std::vector<Alert>> LedgerStore::AlertPeriods(const std::string& alert,
                                                             const std::string& client,
                                                             const std::string& site,
                                                             std::int64_t from_ms,
                                                             std::int64_t to_ms) const {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT name, client, site, queue, link, starts_ms, ends_ms FROM alert_periods "
          "WHERE name = ? AND client = ? AND (? = '' OR site = ?) AND starts_ms < ? AND "
          "(ends_ms = 0 OR ends_ms > ?) ORDER BY starts_ms");
  if (auto s = st.status(); !s.ok()) return s;
  st.Bind(1, alert).Bind(2, client).Bind(3, site).Bind(4, site).Bind(5, to_ms).Bind(6, from_ms);
  std::vector<Alert> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    Alert a;
    a.name = st.Text(0);
    a.client = st.Text(1);
    a.site = st.Text(2);
    a.queue = st.Text(3);
    a.link = st.Text(4);
    a.starts_ms = st.Int(5);
    a.ends_ms = st.Int(6);
    out.push_back(std::move(a));
  }
  if (rc != SQLITE_DONE) return st.Error();
  return out;
}

absl::StatusOr<Exclusion> LedgerStore::AddExclusion(Exclusion e) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "INSERT INTO exclusions (client, site, queue, alert, from_ms, to_ms, reason, state, "
          "proposed_by, proposed_ms, decided_by, decided_ms, decision_note) VALUES "
          "(?, ?, ?, ?, ?, ?, ?, 'proposed', ?, ?, '', 0, '')");
  if (auto s = st.status(); !s.ok()) return s;
  st.Bind(1, e.client).Bind(2, e.site).Bind(3, e.queue).Bind(4, e.alert).Bind(5, e.from_ms);
  st.Bind(6, e.to_ms).Bind(7, e.reason).Bind(8, e.proposed_by).Bind(9, e.proposed_ms);
  if (st.Step() != SQLITE_DONE) return st.Error();
  e.id = sqlite3_last_insert_rowid(db_);
  e.state = Exclusion::State::kProposed;
  return e;
}

absl::StatusOr<Exclusion> LedgerStore::DecideExclusion(const std::string& client, std::int64_t id,
                                                       bool accept, const std::string& by,
                                                       const std::string& note,
                                                       std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  Stmt get(db_, absl::StrCat("SELECT ", kExclusionColumns,
                             " FROM exclusions WHERE id = ? AND client = ?"));
  if (auto s = get.status(); !s.ok()) return s;
  get.Bind(1, id).Bind(2, client);
  const int rc = get.Step();
  if (rc == SQLITE_DONE) {
    return absl::NotFoundError(absl::StrCat("no exclusion ", id, " for client ", client));
  }
  if (rc != SQLITE_ROW) return get.Error();
  Exclusion e = ReadExclusion(get);
  if (e.state != Exclusion::State::kProposed) {
    return absl::FailedPreconditionError(
        absl::StrCat("exclusion ", id, " was already ", ToString(e.state), " by ", e.decided_by));
  }
  e.state = accept ? Exclusion::State::kAccepted : Exclusion::State::kRejected;
  e.decided_by = by;
  e.decided_ms = now_ms;
  e.decision_note = note;
  Stmt put(db_,
           "UPDATE exclusions SET state = ?, decided_by = ?, decided_ms = ?, decision_note = ? "
           "WHERE id = ? AND state = 'proposed'");
  if (auto s = put.status(); !s.ok()) return s;
  put.Bind(1, ToString(e.state)).Bind(2, by).Bind(3, now_ms).Bind(4, note).Bind(5, id);
  if (put.Step() != SQLITE_DONE) return put.Error();
  return e;
}

absl::StatusOr<std::vector<Exclusion>> LedgerStore::Exclusions(const std::string& client,
                                                               std::int64_t from_ms,
                                                               std::int64_t to_ms) const {
  std::lock_guard lock(mu_);
  Stmt st(db_, absl::StrCat("SELECT ", kExclusionColumns,
                            " FROM exclusions WHERE (?1 = '' OR client = ?1) AND to_ms > ?2 AND "
                            "(?3 = 0 OR from_ms < ?3) ORDER BY id"));
  if (auto s = st.status(); !s.ok()) return s;
  st.Bind(1, client).Bind(2, from_ms).Bind(3, to_ms);
  std::vector<Exclusion> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadExclusion(st));
  if (rc != SQLITE_DONE) return st.Error();
  return out;
}

}  // namespace ccmon::collector
