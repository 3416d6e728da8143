// The two SQL databases the ledger store runs on, behind one small interface: SQLite (embedded,
// one file under the data directory) and PostgreSQL (one database shared by collector replicas
// and shards). Statements are written once in the SQL both accept: parameters $1..$N, upserts
// with ON CONFLICT, RETURNING; kind() tells the few places where they differ (column types,
// write locks). Not thread-safe: the ledger store serialises its calls.
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace ccmon::collector {

using SqlValue = std::variant<std::int64_t, double, std::string>;

// One result row. PostgreSQL returns text, SQLite typed values: the accessors convert either.
struct SqlRow {
  std::vector<SqlValue> cells;
  std::int64_t Int(std::size_t i) const;
  double Real(std::size_t i) const;
  std::string Text(std::size_t i) const;
};

struct SqlResult {
  std::vector<SqlRow> rows;
  std::int64_t changed = 0;  // rows inserted, updated or deleted
};

class SqlDb {
 public:
  enum class Kind { kSqlite, kPostgres };
  virtual ~SqlDb() = default;
  virtual Kind kind() const = 0;
  // Where the database is, for messages (a PostgreSQL URI without its password).
  virtual const std::string& name() const = 0;
  // Runs statements without parameters (schema, pragmas).
  virtual absl::Status Script(const std::string& sql) = 0;
  // Runs one statement with parameters $1..$N (params[0] is $1).
  virtual absl::StatusOr<SqlResult> Run(const std::string& sql,
                                        const std::vector<SqlValue>& params) = 0;
  // A transaction that writes. Writers holding any of the same `lock_keys` take turns (on
  // SQLite every writer does); readers never wait.
  virtual absl::Status BeginWrite(const std::vector<std::string>& lock_keys) = 0;
  virtual absl::Status Commit() = 0;
  virtual void Rollback() = 0;
};

// `path` is a file (created when missing) or ":memory:".
absl::StatusOr<std::unique_ptr<SqlDb>> OpenSqlite(const std::string& path);
// `uri` is a libpq connection URI (postgresql://user@host:port/db?sslmode=...); the password
// comes from the URI, PGPASSWORD or ~/.pgpass / PGPASSFILE, as libpq reads them. It connects on
// its first call, and again on the call after a connection is lost.
absl::StatusOr<std::unique_ptr<SqlDb>> OpenPostgres(const std::string& uri);
// True when `where` names a PostgreSQL database rather than a SQLite file.
bool IsPostgresUri(const std::string& where);
// The shortest text that reads back as exactly `v`.
std::string FormatDouble(double v);
// `uri` with libpq parameters bounding every wait (connect, keepalives, lock, statement and
// idle-in-transaction timeouts) and extra_float_digits=3, where the URI does not set them.
std::string WithSessionDefaults(const std::string& uri);
// `uri` with any password replaced by "***", for logs and errors.
std::string RedactUri(const std::string& uri);

}  // namespace ccmon::collector
