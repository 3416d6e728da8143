#include "storage/sql.h"

#include <absl/strings/str_cat.h>
#include <sqlite3.h>

#include <charconv>

namespace ccmon::collector {

namespace {

template <typename T>
T Parse(const std::string& s) {
  T v{};
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

std::int64_t SqlRow::Int(std::size_t i) const {
  const SqlValue& v = cells.at(i);
  if (const auto* n = std::get_if<std::int64_t>(&v)) return *n;
  if (const auto* d = std::get_if<double>(&v)) return static_cast<std::int64_t>(*d);
  return Parse<std::int64_t>(std::get<std::string>(v));
}

double SqlRow::Real(std::size_t i) const {
  const SqlValue& v = cells.at(i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* n = std::get_if<std::int64_t>(&v)) return static_cast<double>(*n);
  return Parse<double>(std::get<std::string>(v));
}

std::string SqlRow::Text(std::size_t i) const {
  const SqlValue& v = cells.at(i);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* n = std::get_if<std::int64_t>(&v)) return std::to_string(*n);
  return FormatDouble(std::get<double>(v));
}

std::string FormatDouble(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest that reads back exact
  return ec == std::errc() ? std::string(buf, end) : std::string("0");
}

namespace {

class SqliteDb final : public SqlDb {
 public:
  SqliteDb(sqlite3* db, std::string path) : db_(db), name_(std::move(path)) {}
  ~SqliteDb() override { sqlite3_close(db_); }
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  Kind kind() const override { return Kind::kSqlite; }
  const std::string& name() const override { return name_; }

  absl::Status Script(const std::string& sql) override {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) == SQLITE_OK) {
      return absl::OkStatus();
    }
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return absl::InternalError(absl::StrCat("ledger store: ", msg));
  }

  absl::StatusOr<SqlResult> Run(const std::string& sql,
                                const std::vector<SqlValue>& params) override {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &st, nullptr) !=
        SQLITE_OK) {
      return Error();
    }
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(st, sqlite3_finalize);
    // "$N" is a named parameter to SQLite: bind each by its name, so a statement may use them
    // in any order, more than once, or not at all.
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int idx = sqlite3_bind_parameter_index(st, absl::StrCat("$", i + 1).c_str());
      if (idx == 0) continue;
      const SqlValue& v = params[i];
      if (const auto* n = std::get_if<std::int64_t>(&v)) {
        sqlite3_bind_int64(st, idx, *n);
      } else if (const auto* d = std::get_if<double>(&v)) {
        sqlite3_bind_double(st, idx, *d);
      } else {
        const auto& s = std::get<std::string>(v);
        sqlite3_bind_text(st, idx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
      }
    }
    SqlResult out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      SqlRow row;
      const int n = sqlite3_column_count(st);
      row.cells.reserve(static_cast<std::size_t>(n));
      for (int c = 0; c < n; ++c) {
        switch (sqlite3_column_type(st, c)) {
          case SQLITE_INTEGER:
            row.cells.emplace_back(std::int64_t{sqlite3_column_int64(st, c)});
            break;
          case SQLITE_FLOAT:
            row.cells.emplace_back(sqlite3_column_double(st, c));
            break;
          default: {
            const auto* p = sqlite3_column_text(st, c);
            row.cells.emplace_back(
                p == nullptr ? std::string()
                             : std::string(reinterpret_cast<const char*>(p),
                                           static_cast<std::size_t>(sqlite3_column_bytes(st, c))));
          }
        }
      }
      out.rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return Error();
    out.changed = sqlite3_changes(db_);
    return out;
  }

  absl::Status BeginWrite(const std::vector<std::string>&) override {
    return Script("BEGIN IMMEDIATE;");
  }
  absl::Status Commit() override { return Script("COMMIT;"); }
  void Rollback() override { (void)Script("ROLLBACK;"); }

 private:
  absl::Status Error() const {
    return absl::InternalError(absl::StrCat("ledger store: ", sqlite3_errmsg(db_)));
  }

  sqlite3* db_;
  std::string name_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqlDb>> OpenSqlite(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return absl::UnavailableError(absl::StrCat(path, ": cannot open the ledger store: ", msg));
  }
  auto out = std::make_unique<SqliteDb>(db, path);
  sqlite3_busy_timeout(db, 5000);
  // WAL journal: readers (the sqlite3 shell, a report) never block the collector's writes.
  // synchronous=FULL: a written revision survives power loss, as the event WAL does.
  if (path != ":memory:") {
    if (auto s = out->Script("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"); !s.ok()) {
      return absl::UnavailableError(absl::StrCat(path, ": ", s.message()));
    }
  }
  return out;
}

}  // namespace ccmon::collector
