#include <absl/strings/str_cat.h>

#include <algorithm>
#include <chrono>
#include <pqxx/pqxx>
#include <regex>

#include "storage/sql.h"

namespace ccmon::collector {

bool IsPostgresUri(const std::string& where) {
  return where.starts_with("postgresql://") || where.starts_with("postgres://");
}

std::string RedactUri(const std::string& uri) {
  // postgresql://user:secret@host/db -> postgresql://user:***@host/db; password=... likewise.
  static const std::regex userinfo(R"(^(postgres(?:ql)?://[^:/@]*):[^@]*@)");
  static const std::regex param(R"(([?&]password=)[^&]*)");
  return std::regex_replace(std::regex_replace(uri, userinfo, "$1:***@"), param, "$1***");
}

std::string WithSessionDefaults(const std::string& uri) {
  // Bounds on every wait, so that a dead server, a dead peer holding a lock, or a half-open
  // TCP connection costs the collector seconds, not the kernel's two hours; and doubles sent
  // back in the shortest exact text whatever the role's settings. Each is added only when the
  // URI does not set it.
  const std::pair<const char*, const char*> defaults[] = {
      {"connect_timeout", "3"},
      {"keepalives", "1"},
      {"keepalives_idle", "30"},
      {"keepalives_interval", "10"},
      {"keepalives_count", "3"},
      {"tcp_user_timeout", "60000"},
      {"application_name", "ccmon-collector"},
      {"options",
       "-c%20lock_timeout%3D5s%20-c%20statement_timeout%3D30s%20-c%20"
       "idle_in_transaction_session_timeout%3D60s%20-c%20extra_float_digits%3D3"}};
  std::string out = uri;
  for (const auto& [key, value] : defaults) {
    const std::string k = std::string(key) + "=";
    const auto q = out.find('?');
    if (q != std::string::npos &&
        (out.find("?" + k, q) != std::string::npos || out.find("&" + k, q) != std::string::npos)) {
      continue;
    }
    const char* sep = q == std::string::npos                     ? "?"
                      : (out.back() == '?' || out.back() == '&') ? ""
                                                                 : "&";
    absl::StrAppend(&out, sep, k, value);
  }
  return out;
}

namespace {

class PostgresDb final : public SqlDb {
 public:
  explicit PostgresDb(const std::string& uri)
      : uri_(WithSessionDefaults(uri)), name_(RedactUri(uri)) {}

  Kind kind() const override { return Kind::kPostgres; }
  const std::string& name() const override { return name_; }

  // A script runs in a transaction of its own (DDL is transactional in PostgreSQL): all of it
  // or nothing, and never a session left inside a failed transaction block.
  absl::Status Script(const std::string& sql) override {
    return Guard([&] {
      if (auto s = Connected(); !s.ok()) return s;
      if (tx_) {
        tx_->exec(sql);
      } else {
        pqxx::work t(*conn_);
        t.exec(sql);
        t.commit();
      }
      return absl::OkStatus();
    });
  }

  absl::StatusOr<SqlResult> Run(const std::string& sql,
                                const std::vector<SqlValue>& params) override {
    SqlResult out;
    auto status = Guard([&] {
      if (auto s = Connected(); !s.ok()) return s;
      // Every value goes as text; PostgreSQL types it from where the statement uses it.
      std::vector<std::string> text;
      text.reserve(params.size());
      for (const SqlValue& v : params) {
        if (const auto* n = std::get_if<std::int64_t>(&v)) {
          text.push_back(std::to_string(*n));
        } else if (const auto* d = std::get_if<double>(&v)) {
          text.push_back(FormatDouble(*d));
        } else {
          text.push_back(std::get<std::string>(v));
        }
      }
      auto run = [&](pqxx::transaction_base& t) {
        return t.exec_params(sql, pqxx::prepare::make_dynamic_params(text));
      };
      pqxx::result r;
      if (tx_) {
        r = run(*tx_);
      } else {
        pqxx::nontransaction t(*conn_);
        r = run(t);
      }
      out.changed = static_cast<std::int64_t>(r.affected_rows());
      out.rows.reserve(r.size());
      for (const auto& row : r) {
        SqlRow o;
        o.cells.reserve(row.size());
        for (const auto& f : row) o.cells.emplace_back(std::string(f.c_str(), f.size()));
        out.rows.push_back(std::move(o));
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return out;
  }

  absl::Status BeginWrite(const std::vector<std::string>& lock_keys) override {
    return Guard([&] {
      if (auto s = Connected(); !s.ok()) return s;
      tx_ = std::make_unique<pqxx::work>(*conn_);
      // Read committed whatever the role's default: each read after the lock sees the rows the
      // writer before committed.
      tx_->exec("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
      // Transaction-scoped advisory locks, taken in sorted order (no deadlock between two
      // writers): writers of the same keys take turns, others never wait, and readers and
      // autovacuum are not blocked.
      std::vector<std::string> keys = lock_keys;
      std::sort(keys.begin(), keys.end());
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
      for (const auto& k : keys) {
        tx_->exec_params("SELECT pg_advisory_xact_lock(hashtext($1))", "ccmon-ledger/" + k);
      }
      return absl::OkStatus();
    });
  }

  absl::Status Commit() override {
    return Guard([&] {
      if (!tx_) return absl::FailedPreconditionError("ledger store: no transaction to commit");
      tx_->commit();
      tx_.reset();
      return absl::OkStatus();
    });
  }

  void Rollback() override {
    try {
      if (tx_) tx_->abort();
    } catch (const std::exception&) {  // the connection is gone: so is the transaction
    }
    tx_.reset();
  }

 private:
  // Connects when there is no connection, at most once per backoff step (1 s doubling to
  // 30 s) after a failure: a collector waiting for its database stalls its ticker for at most
  // connect_timeout now and then, not every second.
  absl::Status Connected() {
    if (conn_ && conn_->is_open()) return absl::OkStatus();
    tx_.reset();
    conn_.reset();
    const auto now = std::chrono::steady_clock::now();
    if (now < next_attempt_) {
      return absl::UnavailableError(absl::StrCat(
          name_, ": PostgreSQL unreachable: ", last_error_, " (next attempt in ",
          std::chrono::duration_cast<std::chrono::seconds>(next_attempt_ - now).count() + 1,
          " s)"));
    }
    try {
      conn_ = std::make_unique<pqxx::connection>(uri_);
      backoff_ = std::chrono::seconds(0);
      return absl::OkStatus();
    } catch (const std::exception& e) {
      last_error_ = FirstLine(e.what());
      backoff_ = std::min<std::chrono::seconds>(
          std::chrono::seconds(30),
          std::max<std::chrono::seconds>(std::chrono::seconds(1), backoff_ * 2));
      next_attempt_ = now + backoff_;
      return absl::UnavailableError(absl::StrCat(name_, ": PostgreSQL unreachable: ", last_error_));
    }
  }

  // Runs `f`, turning libpqxx's exceptions into a status that names the database. A lost
  // connection is dropped, with any transaction on it, so the next call connects again.
  template <typename F>
  absl::Status Guard(F&& f) {
    try {
      return f();
    } catch (const pqxx::broken_connection& e) {
      tx_.reset();
      conn_.reset();
      return absl::UnavailableError(
          absl::StrCat(name_, ": PostgreSQL unreachable: ", FirstLine(e.what())));
    } catch (const pqxx::in_doubt_error& e) {
      tx_.reset();
      conn_.reset();
      return absl::UnavailableError(absl::StrCat(
          name_,
          ": commit in doubt (retried as written rows are idempotent): ", FirstLine(e.what())));
    } catch (const std::exception& e) {
      // A statement failed (a timeout, a constraint, privileges): its transaction object is
      // gone (aborted), the connection stays for the next call.
      tx_.reset();
      return absl::InternalError(absl::StrCat(name_, ": ", FirstLine(e.what())));
    }
  }

  static std::string FirstLine(const std::string& s) {
    auto nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl);
  }

  std::string uri_;
  std::string name_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::work> tx_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::seconds backoff_{0};
  std::string last_error_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqlDb>> OpenPostgres(const std::string& uri) {
  if (!IsPostgresUri(uri)) {
    return absl::InvalidArgumentError(absl::StrCat(RedactUri(uri), ": not a postgresql:// URI"));
  }
  return std::make_unique<PostgresDb>(uri);
}

}  // namespace ccmon::collector
