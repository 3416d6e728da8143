#include "storage/ledger_store.h"

#include <absl/strings/str_cat.h>
#include <absl/strings/str_replace.h>
#include <absl/time/time.h>

#include <algorithm>
#include <map>
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
using Kind = SqlDb::Kind;
constexpr const char* kSchemaVersion = "4";

// Column types both databases read the same way: SQLite's INTEGER is 64-bit, PostgreSQL's is
// not (BIGINT); PostgreSQL's REAL is 32-bit (DOUBLE PRECISION).
const char* IntType(Kind k) { return k == Kind::kSqlite ? "INTEGER" : "BIGINT"; }
// Text compares byte by byte, as SQLite's does, whatever the database's locale: the same rows
// in the same order from either store.
const char* TextType(Kind k) { return k == Kind::kSqlite ? "TEXT" : "TEXT COLLATE \"C\""; }
const char* RealType(Kind k) { return k == Kind::kSqlite ? "REAL" : "DOUBLE PRECISION"; }

std::string TermsDdl(Kind k) {
  std::string s;
  for (const char* c : kTermColumns) {
    const std::string_view n(c);
    const bool text = n == "start_utc" || n == "local_start" || n == "local_date" ||
                      n == "timezone" || n == "sl_formula" || n.ends_with("_result");
    const bool real = n == "sl_threshold_s" || n == "sl_target" || n == "short_abandon_s" ||
                      n == "abandon_target" || n == "asa_target_s";
    absl::StrAppend(&s, ",\n  ", c, " ",
                    text   ? TextType(k)
                    : real ? RealType(k)
                           : IntType(k),
                    " NOT NULL");
  }
  return s;
}

std::string Schema(Kind k) {
  const std::string terms = TermsDdl(k);
  const char* i = IntType(k);
  const char* rowid = k == Kind::kSqlite ? " WITHOUT ROWID" : "";
  const std::string ddl = absl::StrCat(
      "CREATE TABLE IF NOT EXISTS ledger_rows (\n"
      "  client TEXT NOT NULL, site TEXT NOT NULL, queue TEXT NOT NULL,\n"
      "  start_utc_ms ",
      i, " NOT NULL", terms, ",\n  PRIMARY KEY (client, site, queue, start_utc_ms))", rowid,
      ";\n"
      "CREATE INDEX IF NOT EXISTS ledger_rows_by_time ON ledger_rows (client, start_utc_ms);\n"
      "CREATE INDEX IF NOT EXISTS ledger_rows_by_date ON ledger_rows (client, local_date);\n"
      "CREATE TABLE IF NOT EXISTS ledger_revisions (\n"
      "  client TEXT NOT NULL, site TEXT NOT NULL, queue TEXT NOT NULL,\n"
      "  start_utc_ms ",
      i, " NOT NULL", terms, ",\n  change TEXT NOT NULL, reason TEXT NOT NULL, written_ms ", i,
      " NOT NULL DEFAULT 0,\n"
      "  PRIMARY KEY (client, site, queue, start_utc_ms, revision))",
      rowid,
      ";\n"
      "CREATE TABLE IF NOT EXISTS exclusions (\n  id ",
      k == Kind::kSqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY",
      ", client TEXT NOT NULL, site TEXT NOT NULL,\n"
      "  queue TEXT NOT NULL, alert TEXT NOT NULL, from_ms ",
      i, " NOT NULL,\n  to_ms ", i,
      " NOT NULL, reason TEXT NOT NULL, state TEXT NOT NULL,\n"
      "  proposed_by TEXT NOT NULL, proposed_ms ",
      i, " NOT NULL, decided_by TEXT NOT NULL,\n  decided_ms ", i,
      " NOT NULL, decision_note TEXT NOT NULL);\n"
      "CREATE TABLE IF NOT EXISTS alert_periods (\n"
      "  writer TEXT NOT NULL DEFAULT '',\n"
      "  name TEXT NOT NULL, client TEXT NOT NULL, site TEXT NOT NULL, queue TEXT NOT NULL,\n"
      "  link TEXT NOT NULL, starts_ms ",
      i, " NOT NULL, ends_ms ", i, " NOT NULL,\n  seen_ms ", i,
      " NOT NULL,\n"
      "  PRIMARY KEY (writer, name, client, site, queue, link, starts_ms))",
      rowid,
      ";\n"
      "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
      // Statements as of a date, pruning by age, and the periods an exclusion stands on.
      "CREATE INDEX IF NOT EXISTS ledger_revisions_by_time ON ledger_revisions (client, "
      "start_utc_ms);\n"
      "CREATE INDEX IF NOT EXISTS ledger_rows_by_start ON ledger_rows (start_utc_ms);\n"
      "CREATE INDEX IF NOT EXISTS ledger_revisions_by_start ON ledger_revisions "
      "(start_utc_ms);\n"
      "CREATE INDEX IF NOT EXISTS alert_periods_by_alert ON alert_periods (name, client, site, "
      "starts_ms);\n");
  if (k == Kind::kSqlite) return std::string(ddl);
  // Key and name columns: "TEXT NOT NULL" outside the term list, typed here.
  return absl::StrReplaceAll(ddl, {{" TEXT NOT NULL", absl::StrCat(" ", TextType(k), " NOT NULL")},
                                   {"key TEXT PRIMARY KEY", "key TEXT COLLATE \"C\" PRIMARY KEY"}});
}

std::string ColumnList(const std::string& prefix = "") {
  std::string s;
  for (const char* c : {"client", "site", "queue", "start_utc_ms"}) {
    absl::StrAppend(&s, s.empty() ? "" : ", ", prefix, c);
  }
  for (const char* c : kTermColumns) absl::StrAppend(&s, ", ", prefix, c);
  return s;
}

// "$first, ..., $(first + n - 1)".
std::string Placeholders(int n, int first = 1) {
  std::string s;
  for (int i = first; i < first + n; ++i) absl::StrAppend(&s, i == first ? "$" : ", $", i);
  return s;
}

// Appends key and terms of `r` in ColumnList order.
void AppendRow(std::vector<SqlValue>& p, const LedgerRow& r) {
  auto u = [&](std::uint64_t v) { p.emplace_back(static_cast<std::int64_t>(v)); };
  p.emplace_back(r.client);
  p.emplace_back(r.site);
  p.emplace_back(r.queue);
  p.emplace_back(r.start_ms);
  p.emplace_back(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(r.start_ms),
                                  absl::UTCTimeZone()));
  p.emplace_back(r.LocalStart());
  p.emplace_back(r.LocalDate());
  p.emplace_back(r.timezone);
  p.emplace_back(std::int64_t{r.utc_offset_s});
  p.emplace_back(std::int64_t{r.length_minutes});
  const Contract& k = r.contract;
  p.emplace_back(std::string(ToString(k.sl_formula)));
  for (double v :
       {k.sl_threshold_s, k.sl_target, k.short_abandon_s, k.abandon_target, k.asa_target_s}) {
    p.emplace_back(v);
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
  p.emplace_back(std::string(ToString(r.SlResult())));
  p.emplace_back(std::string(ToString(r.AbandonResult())));
  p.emplace_back(std::string(ToString(r.AsaResult())));
  p.emplace_back(std::int64_t{r.revision});
  u(r.late_events);
  u(r.rebuilt_events);
  p.emplace_back(r.closed_ms);
  p.emplace_back(r.changed_ms);
}

// Brings a SQLite store of an earlier schema to this one (Schema() creates a new store
// complete): adds the kAddedColumns it lacks, the alert periods' writer and the revisions'
// written_ms, in one transaction, and records kSchemaVersion.
absl::Status MigrateSqlite(SqlDb& db) {
  std::string alter;
  auto columns = [&](const char* table) -> absl::StatusOr<std::vector<std::string>> {
    auto info = db.Run(absl::StrCat("PRAGMA table_info(", table, ")"), {});
    if (!info.ok()) return info.status();
    std::vector<std::string> have;
    for (const SqlRow& r : info->rows) have.push_back(r.Text(1));
    return have;
  };
  auto has = [](const std::vector<std::string>& v, std::string_view c) {
    return std::find(v.begin(), v.end(), c) != v.end();
  };
  // Each column added after the first schema, and what adding it to a store without it takes.
  struct Added {
    const char* table;
    const char* column;
    std::string ddl;
  };
  std::vector<Added> added;
  for (const char* table : {"ledger_rows", "ledger_revisions"}) {
    for (const char* column : kAddedColumns) {
      added.push_back({table, column,
                       absl::StrCat("ALTER TABLE ", table, " ADD COLUMN ", column,
                                    " INTEGER NOT NULL DEFAULT 0;\n")});
    }
  }
  // Before it, a revision was written when it changed (the store took rows as they came).
  added.push_back({"ledger_revisions", "written_ms",
                   "ALTER TABLE ledger_revisions ADD COLUMN written_ms INTEGER NOT NULL DEFAULT "
                   "0;\nUPDATE ledger_revisions SET written_ms = changed_ms;\n"});
  // The old key has no writer; a unique index with it lets the upsert name its conflict.
  added.push_back({"alert_periods", "writer",
                   "ALTER TABLE alert_periods ADD COLUMN writer TEXT NOT NULL DEFAULT '';\n"
                   "CREATE UNIQUE INDEX alert_periods_by_writer ON alert_periods "
                   "(writer, name, client, site, queue, link, starts_ms);\n"});
  std::map<std::string, std::vector<std::string>> have;
  for (const Added& a : added) {
    if (!have.contains(a.table)) {
      auto c = columns(a.table);
      if (!c.ok()) return c.status();
      have[a.table] = *std::move(c);
    }
    if (!has(have[a.table], a.column)) alter += a.ddl;
  }
  auto s = db.Script(absl::StrCat("BEGIN IMMEDIATE;\n", alter,
                                  "INSERT OR REPLACE INTO meta VALUES ('schema_version', '",
                                  kSchemaVersion,
                                  "');\n"
                                  "COMMIT;"));
  if (!s.ok()) {
    db.Rollback();
    return absl::InternalError(absl::StrCat("migrating the schema: ", s.message()));
  }
  return absl::OkStatus();
}

// Reads key and terms from cell `first` on (as ColumnList orders them).
LedgerRow ReadRow(const SqlRow& st, std::size_t first = 0) {
  std::size_t i = first;
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
  auto u = [&](std::size_t col) { return static_cast<std::uint64_t>(st.Int(col)); };
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

// The WHERE clause of a row query with only the filters given (an "$n = '' OR" test would
// keep SQLite from its indexes), columns prefixed; appends the parameters it numbers.
std::string Where(const LedgerQuery& q, const std::string& prefix, std::vector<SqlValue>& p) {
  std::string w;
  auto add = [&](const char* column, SqlValue v) {
    p.push_back(std::move(v));
    absl::StrAppend(&w, w.empty() ? "" : " AND ", prefix, column, " $", p.size());
  };
  add("start_utc_ms >=", q.from_ms);
  if (q.to_ms != 0) add("start_utc_ms <", q.to_ms);
  if (!q.client.empty()) add("client =", q.client);
  if (!q.site.empty()) add("site =", q.site);
  if (!q.queue.empty()) add("queue =", q.queue);
  if (!q.local_date.empty()) add("local_date =", q.local_date);
  return w;
}

constexpr const char* kExclusionColumns =
    "id, client, site, queue, alert, from_ms, to_ms, reason, state, proposed_by, proposed_ms, "
    "decided_by, decided_ms, decision_note";

Exclusion ReadExclusion(const SqlRow& st) {
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

// Periods of one alert (same name, client, site, queue and link) that overlap or touch are
// one firing seen by several writers: merged from the first start to the last end (open if
// any is). Input ordered by key then start.
std::vector<Alert> MergePeriods(std::vector<Alert> in) {
  std::vector<Alert> out;
  auto same = [](const Alert& a, const Alert& b) {
    return a.name == b.name && a.client == b.client && a.site == b.site && a.queue == b.queue &&
           a.link == b.link;
  };
  for (Alert& a : in) {
    if (!out.empty() && same(out.back(), a) &&
        (out.back().ends_ms == 0 || a.starts_ms <= out.back().ends_ms)) {
      Alert& m = out.back();
      m.ends_ms = (m.ends_ms == 0 || a.ends_ms == 0) ? 0 : std::max(m.ends_ms, a.ends_ms);
      continue;
    }
    out.push_back(std::move(a));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Alert& a, const Alert& b) { return a.starts_ms < b.starts_ms; });
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LedgerStore>> LedgerStore::Open(const std::string& where,
                                                               const std::string& writer) {
  auto db = IsPostgresUri(where) ? OpenPostgres(where) : OpenSqlite(where);
  if (!db.ok()) return db.status();
  std::unique_ptr<LedgerStore> store(new LedgerStore(*std::move(db), writer));
  std::lock_guard lock(store->mu_);
  store->first_attempt_ = store->Ready();
  if (!store->first_attempt_.ok() && store->db_->kind() == Kind::kSqlite) {
    return store->first_attempt_;
  }
  return store;
}

absl::Status LedgerStore::Reachable() const {
  std::lock_guard lock(mu_);
  return ready_ ? absl::OkStatus() : first_attempt_;
}

absl::Status LedgerStore::Ready() const {
  if (ready_) return absl::OkStatus();
  if (auto s = CreateSchema(); !s.ok()) {
    return absl::UnavailableError(absl::StrCat(db_->name(), ": ", s.message()));
  }
  // What start deferred, before anything else; on failure the next call tries it all again.
  if (close_on_ready_) {
    if (auto s = CloseOpenAlertsLocked(0); !s.ok()) return s;
    close_on_ready_ = false;
  }
  if (protection_now_ms_ >= 0) {
    if (auto s = LoadProtectionLocked(protection_now_ms_); !s.ok()) return s;
    protection_now_ms_ = -1;
  }
  ready_ = true;
  return absl::OkStatus();
}

absl::Status LedgerStore::CreateSchema() const {
  const Kind k = db_->kind();
  if (k == Kind::kSqlite) {
    if (auto s = db_->Script(Schema(k)); !s.ok()) return s;
    return MigrateSqlite(*db_);
  }
  // A database already at this schema is used as it is: no DDL, so a role that may only read
  // and write the tables (not own them) is enough once they exist.
  if (auto v = db_->Run("SELECT value FROM meta WHERE key = 'schema_version'", {});
      v.ok() && !v->rows.empty() && v->rows[0].Text(0) == kSchemaVersion) {
    return absl::OkStatus();
  }
  // Replicas starting together must not race on CREATE TABLE IF NOT EXISTS (it is not atomic
  // in PostgreSQL): one transaction, under an advisory lock, creates everything.
  // A database of schema 3 (before written_ms) gains the column as SQLite's does.
  return db_->Script(absl::StrCat(
      "SELECT pg_advisory_xact_lock(7325403102);\n", Schema(k),
      "ALTER TABLE ledger_revisions ADD COLUMN IF NOT EXISTS written_ms BIGINT NOT NULL "
      "DEFAULT 0;\nUPDATE ledger_revisions SET written_ms = changed_ms WHERE written_ms = 0;\n"
      "INSERT INTO meta VALUES ('schema_version', '",
      kSchemaVersion, "') ON CONFLICT (key) DO UPDATE SET value = excluded.value;\n"));
}

LedgerStore::~LedgerStore() = default;

absl::StatusOr<std::size_t> LedgerStore::Write(const std::vector<LedgerRow>& rows,
                                               std::int64_t written_ms) {
  if (rows.empty()) return 0;
  std::lock_guard lock(mu_);
  if (auto s = Ready(); !s.ok()) return s;
  const std::string cols = ColumnList();
  const int n = kKeyColumns + kTermCount;
  std::string set;
  for (const char* c : kTermColumns)
    absl::StrAppend(&set, set.empty() ? "" : ", ", c, " = excluded.", c);
  const std::string get =
      absl::StrCat("SELECT ", cols,
                   " FROM ledger_rows WHERE client=$1 AND site=$2 AND queue=$3 AND "
                   "start_utc_ms=$4");
  const std::string put =
      absl::StrCat("INSERT INTO ledger_rows (", cols, ") VALUES (", Placeholders(n),
                   ") ON CONFLICT (client, site, queue, start_utc_ms) DO "
                   "UPDATE SET ",
                   set);
  // Writers of a site take turns (BeginWrite), so a revision is never numbered twice; were it
  // ever, the primary key refuses the write and it is retried.
  const std::string rev =
      absl::StrCat("INSERT INTO ledger_revisions (", cols, ", change, reason, written_ms) VALUES (",
                   Placeholders(n + 3), ")");
  std::vector<std::string> sites;
  sites.reserve(rows.size());
  for (const LedgerRow& r : rows) sites.push_back(r.site);
  if (auto s = db_->BeginWrite(sites); !s.ok()) return s;
  std::uint64_t refused = 0;  // counted once the transaction commits
  auto fail = [&](absl::Status s) {
    db_->Rollback();
    return s;
  };
  std::size_t written = 0;
  for (const LedgerRow& in : rows) {
    auto found = db_->Run(get, {in.client, in.site, in.queue, in.start_ms});
    if (!found.ok()) return fail(found.status());
    const bool existed = !found->rows.empty();
    LedgerRow stored;
    if (existed) {
      stored = ReadRow(found->rows.front());
      if (SameTerms(stored, in)) continue;  // replayed, already written, or another replica's
      if (protected_ || !Covers(in.counts, stored.counts)) {
        ++refused;
        continue;
      }
    }
    LedgerRow r = in;
    r.revision = existed ? stored.revision + 1 : 1;
    r.change = existed ? RowChange::kAmended : RowChange::kClosed;
    if (existed) r.closed_ms = stored.closed_ms;
    std::vector<SqlValue> p;
    p.reserve(static_cast<std::size_t>(n) + 3);
    AppendRow(p, r);
    if (auto s = db_->Run(put, p); !s.ok()) return fail(s.status());
    p.emplace_back(std::string(ToString(r.change)));
    p.emplace_back(Reason(stored, r, existed));
    p.emplace_back(written_ms != 0 ? written_ms : r.changed_ms);
    if (auto s = db_->Run(rev, p); !s.ok()) return fail(s.status());
    ++written;
  }
  if (auto s = db_->Commit(); !s.ok()) return fail(s);
  refused_ += refused;
  return written;
}

absl::StatusOr<std::vector<LedgerRow>> LedgerStore::Rows(const LedgerQuery& q) const {
  std::lock_guard lock(mu_);
  if (auto s = Ready(); !s.ok()) return s;
  std::vector<SqlValue> p;
  const std::string where = Where(q, "", p);
  auto res = db_->Run(absl::StrCat("SELECT ", ColumnList(), " FROM ledger_rows WHERE ", where,
                                   " ORDER BY client, site, queue, start_utc_ms"),
                      p);
  if (!res.ok()) return res.status();
  std::vector<LedgerRow> out;
  out.reserve(res->rows.size());
  for (const SqlRow& r : res->rows) out.push_back(ReadRow(r));
  return out;
}

absl::StatusOr<std::vector<LedgerRow>> LedgerStore::RowsAsOf(const LedgerQuery& q,
                                                             std::int64_t as_of_ms) const {
  std::lock_guard lock(mu_);
  if (auto s = Ready(); !s.ok()) return s;
  std::vector<SqlValue> p;
  const std::string where = Where(q, "r.", p);
  p.emplace_back(as_of_ms);
  const std::string as_of = absl::StrCat("$", p.size());
  auto res = db_->Run(
      absl::StrCat("SELECT ", ColumnList("r."), " FROM ledger_revisions r WHERE ", where,
                   " AND r.written_ms <= ", as_of,
                   " AND r.revision = (SELECT max(x.revision) FROM ledger_revisions x WHERE "
                   "x.client = r.client AND x.site = r.site AND x.queue = r.queue AND "
                   "x.start_utc_ms = r.start_utc_ms AND x.written_ms <= ",
                   as_of, ") ORDER BY r.client, r.site, r.queue, r.start_utc_ms"),
      p);
  if (!res.ok()) return res.status();
  std::vector<LedgerRow> out;
  out.reserve(res->rows.size());
  for (const SqlRow& r : res->rows) out.push_back(ReadRow(r));
  return out;
}

absl::StatusOr<std::vector<RowRevision>> LedgerStore::Revisions(const std::string& client,
                                                                const std::string& site,
                                                                const std::string& queue,
                                                                std::int64_t start_ms) const {
  std::lock_guard lock(mu_);
  if (auto s = Ready(); !s.ok()) return s;
  auto res = db_->Run(absl::StrCat("SELECT ", ColumnList(),
                                   ", change, reason FROM ledger_revisions WHERE client=$1 AND "
                                   "site=$2 AND queue=$3 AND start_utc_ms=$4 ORDER BY revision"),
                      {client, site, queue, start_ms});
  if (!res.ok()) return res.status();
  std::vector<RowRevision> out;
  constexpr auto kChange = static_cast<std::size_t>(kKeyColumns) + kTermCount;
  for (const SqlRow& row : res->rows) {
    RowRevision r{ReadRow(row), row.Text(kChange + 1)};
    r.row.change = row.Text(kChange) == "amended" ? RowChange::kAmended : RowChange::kClosed;
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::size_t> LedgerStore::Prune(std::int64_t before_ms) {
  std::lock_guard lock(mu_);
  if (auto s = Ready(); !s.ok()) return s;
  if (auto s = db_->BeginWrite({}); !s.ok()) return s;
  auto rows = db_->Run("DELETE FROM ledger_rows WHERE start_utc_ms < $1", {before_ms});
  auto revs = rows.ok()
                  ? db_->Run("DELETE FROM ledger_revisions WHERE start_utc_ms < $1", {before_ms})
                  : rows;
  absl::Status s = revs.ok() ? db_->Commit() : revs.status();
  if (!s.ok()) {
    db_->Rollback();
    return s;
  }
  return static_cast<std::size_t>(rows->changed);
}

absl::Status LedgerStore::RecordAlert(const AlertTransition& t) {
  std::lock_guard lock(mu_);
  if (auto s = Ready(); !s.ok()) return s;
  const Alert& a = t.alert;
  auto res = db_->Run(
      "INSERT INTO alert_periods (writer, name, client, site, queue, link, starts_ms, ends_ms, "
      "seen_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7) ON CONFLICT (writer, name, client, "
      "site, queue, link, starts_ms) DO UPDATE SET ends_ms = excluded.ends_ms",
      {writer_, a.name, a.client, a.site, a.queue, a.link, a.starts_ms,
       t.firing ? std::int64_t{0} : a.ends_ms});
  return res.status();
}

absl::Status LedgerStore::ProtectStoredRows(std::int64_t until_ms) {
  std::lock_guard lock(mu_);
  if (auto s = Ready(); !s.ok()) return s;
  auto res = db_->Run(
      "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = "
      "excluded.value",
      {ProtectionKey(), std::to_string(until_ms)});
  if (!res.ok()) return res.status();
  protected_ = true;
  return absl::OkStatus();
}

absl::Status LedgerStore::LoadProtection(std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (!ready_ && !Ready().ok()) {
    protection_now_ms_ = now_ms;
    return absl::OkStatus();
  }
  auto s = LoadProtectionLocked(now_ms);
  if (!s.ok() && db_->kind() == Kind::kPostgres) {
    protection_now_ms_ = now_ms;  // as above
    ready_ = false;
    return absl::OkStatus();
  }
  return s;
}

absl::Status LedgerStore::LoadProtectionLocked(std::int64_t now_ms) const {
  auto res = db_->Run("SELECT value FROM meta WHERE key = $1", {ProtectionKey()});
  if (!res.ok()) return res.status();
  if (!res->rows.empty()) protected_ = std::stoll("0" + res->rows[0].Text(0)) > now_ms;
  return absl::OkStatus();
}

std::string LedgerStore::ProtectionKey() const {
  return writer_.empty() ? "protect_stored_rows_until_ms"
                         : absl::StrCat("protect_stored_rows_until_ms/", writer_);
}

absl::Status LedgerStore::CloseOpenAlerts(std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (!ready_ && !Ready().ok()) {
    if (now_ms == 0) {
      close_on_ready_ = true;
      return absl::OkStatus();
    }
    return Ready();
  }
  auto s = CloseOpenAlertsLocked(now_ms);
  if (!s.ok() && now_ms == 0 && db_->kind() == Kind::kPostgres) {
    close_on_ready_ = true;  // the database went away since: done when it is back
    ready_ = false;
    return absl::OkStatus();
  }
  return s;
}

absl::Status LedgerStore::CloseOpenAlertsLocked(std::int64_t now_ms) const {
  auto res =
      now_ms > 0
          ? db_->Run("UPDATE alert_periods SET ends_ms = $2 WHERE ends_ms = 0 AND writer = $1",
                     {writer_, now_ms})
          : db_->Run(
                "UPDATE alert_periods SET ends_ms = CASE WHEN seen_ms > starts_ms THEN seen_ms "
                "ELSE starts_ms + 1 END WHERE ends_ms = 0 AND writer = $1",
                {writer_});
  return res.status();
}

absl::Status LedgerStore::TouchFiringAlerts(std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (auto s = Ready(); !s.ok()) return s;
  auto touched = db_->Run("UPDATE alert_periods SET seen_ms = $2 WHERE ends_ms = 0 AND writer = $1",
                          {writer_, now_ms});
  if (!touched.ok()) return touched.status();
  // Only a writer that has been touching without a break for kOrphanedAfterMs judges others:
  // after an outage of the database every writer gets that long to come back and touch its
  // own periods before anyone calls them orphaned.
  if (last_touch_ms_ == 0 || now_ms - last_touch_ms_ > 60'000) touching_since_ms_ = now_ms;
  last_touch_ms_ = now_ms;
  if (now_ms - touching_since_ms_ < kOrphanedAfterMs) return absl::OkStatus();
  // Another writer's period nobody has touched for kOrphanedAfterMs: its collector is gone
  // (moved to another host, or retired) and will not end it. It ends at its last touch, as a
  // crashed collector's does at its next start (and if it was only cut off, its resolution
  // sets the real end when it records it).
  return db_
      ->Run(
          "UPDATE alert_periods SET ends_ms = CASE WHEN seen_ms > starts_ms THEN seen_ms ELSE "
          "starts_ms + 1 END WHERE ends_ms = 0 AND writer <> $1 AND seen_ms < $2",
          {writer_, now_ms - kOrphanedAfterMs})
      .status();
}

absl::StatusOr<std::uint64_t> LedgerStore::RowCount() const {
  std::lock_guard lock(mu_);
  if (auto s = Ready(); !s.ok()) return s;
  auto res = db_->Run("SELECT count(*) FROM ledger_rows", {});
  if (!res.ok()) return res.status();
  return static_cast<std::uint64_t>(res->rows.at(0).Int(0));
}

absl::StatusOr<std::vector<Alert>> LedgerStore::AlertPeriods(const std::string& alert,
                                                             const std::string& client,
                                                             const std::string& site,
                                                             std::int64_t from_ms,
                                                             std::int64_t to_ms) const {
  std::lock_guard lock(mu_);
  if (auto s = Ready(); !s.ok()) return s;
  auto res = db_->Run(
      "SELECT name, client, site, queue, link, starts_ms, ends_ms FROM alert_periods "
      "WHERE name = $1 AND client = $2 AND ($3 = '' OR site = $3) AND starts_ms < $4 AND "
      "(ends_ms = 0 OR ends_ms > $5) ORDER BY name, client, site, queue, link, starts_ms",
      {alert, client, site, to_ms, from_ms});
  if (!res.ok()) return res.status();
  std::vector<Alert> out;
  for (const SqlRow& r : res->rows) {
    Alert a;
    a.name = r.Text(0);
    a.client = r.Text(1);
    a.site = r.Text(2);
    a.queue = r.Text(3);
    a.link = r.Text(4);
    a.starts_ms = r.Int(5);
    a.ends_ms = r.Int(6);
    out.push_back(std::move(a));
  }
  return MergePeriods(std::move(out));
}

absl::StatusOr<Exclusion> LedgerStore::AddExclusion(Exclusion e) {
  std::lock_guard lock(mu_);
  if (auto s = Ready(); !s.ok()) return s;
  auto res = db_->Run(
      "INSERT INTO exclusions (client, site, queue, alert, from_ms, to_ms, reason, state, "
      "proposed_by, proposed_ms, decided_by, decided_ms, decision_note) VALUES "
      "($1, $2, $3, $4, $5, $6, $7, 'proposed', $8, $9, '', 0, '') RETURNING id",
      {e.client, e.site, e.queue, e.alert, e.from_ms, e.to_ms, e.reason, e.proposed_by,
       e.proposed_ms});
  if (!res.ok()) return res.status();
  e.id = res->rows.at(0).Int(0);
  e.state = Exclusion::State::kProposed;
  return e;
}

absl::StatusOr<Exclusion> LedgerStore::DecideExclusion(const std::string& client, std::int64_t id,
                                                       bool accept, const std::string& by,
                                                       const std::string& note,
                                                       std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (auto s = Ready(); !s.ok()) return s;
  auto get = db_->Run(
      absl::StrCat("SELECT ", kExclusionColumns, " FROM exclusions WHERE id = $1 AND client = $2"),
      {id, client});
  if (!get.ok()) return get.status();
  if (get->rows.empty()) {
    return absl::NotFoundError(absl::StrCat("no exclusion ", id, " for client ", client));
  }
  Exclusion e = ReadExclusion(get->rows.front());
  auto decided = [&](const Exclusion& x) {
    return absl::FailedPreconditionError(
        absl::StrCat("exclusion ", id, " was already ", ToString(x.state), " by ", x.decided_by));
  };
  if (e.state != Exclusion::State::kProposed) return decided(e);
  e.state = accept ? Exclusion::State::kAccepted : Exclusion::State::kRejected;
  e.decided_by = by;
  e.decided_ms = now_ms;
  e.decision_note = note;
  auto put = db_->Run(
      "UPDATE exclusions SET state = $1, decided_by = $2, decided_ms = $3, decision_note = $4 "
      "WHERE id = $5 AND state = 'proposed'",
      {std::string(ToString(e.state)), by, now_ms, note, id});
  if (!put.ok()) return put.status();
  if (put->changed == 0) {  // decided through another collector since it was read
    auto again = db_->Run(
        absl::StrCat("SELECT ", kExclusionColumns, " FROM exclusions WHERE id = $1"), {id});
    if (!again.ok()) return again.status();
    return decided(ReadExclusion(again->rows.at(0)));
  }
  return e;
}

absl::StatusOr<std::vector<Exclusion>> LedgerStore::Exclusions(const std::string& client,
                                                               std::int64_t from_ms,
                                                               std::int64_t to_ms) const {
  std::lock_guard lock(mu_);
  if (auto s = Ready(); !s.ok()) return s;
  auto res = db_->Run(absl::StrCat("SELECT ", kExclusionColumns,
                                   " FROM exclusions WHERE ($1 = '' OR client = $1) AND to_ms > "
                                   "$2 AND (CAST($3 AS BIGINT) = 0 OR from_ms < $3) ORDER BY id"),
                      {client, from_ms, to_ms});
  if (!res.ok()) return res.status();
  std::vector<Exclusion> out;
  for (const SqlRow& r : res->rows) out.push_back(ReadExclusion(r));
  return out;
}

}  // namespace ccmon::collector
