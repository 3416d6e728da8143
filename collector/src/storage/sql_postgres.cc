#include <absl/strings/str_cat.h>

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

namespace {

class PostgresDb final : public SqlDb {
 public:
  explicit PostgresDb(std::string uri) : uri_(std::move(uri)), name_(RedactUri(uri_)) {}

  Kind kind() const override { return Kind::kPostgres; }
  const std::string& name() const override { return name_; }

  absl::Status Script(const std::string& sql) override {
    return Guard([&] {
      if (auto s = Connected(); !s.ok()) return s;
      if (tx_) {
        tx_->exec(sql);
      } else {
        pqxx::nontransaction t(*conn_);
        t.exec(sql);
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
      out.changed = r.affected_rows();
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

  absl::Status BeginWrite(const std::string& lock_table) override {
    return Guard([&] {
      if (auto s = Connected(); !s.ok()) return s;
      tx_ = std::make_unique<pqxx::work>(*conn_);
      // SHARE ROW EXCLUSIVE conflicts with itself and with writes, not with reads: one writer
      // at a time reads the stored row and decides its revision.
      tx_->exec(absl::StrCat("LOCK TABLE ", lock_table, " IN SHARE ROW EXCLUSIVE MODE"));
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
  absl::Status Connected() {
    if (conn_ && conn_->is_open()) return absl::OkStatus();
    tx_.reset();
    conn_ = std::make_unique<pqxx::connection>(uri_);
    return absl::OkStatus();
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
      return absl::UnavailableError(
          absl::StrCat(name_, ": commit in doubt (retried as written rows are idempotent): ",
                       FirstLine(e.what())));
    } catch (const std::exception& e) {
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
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqlDb>> OpenPostgres(const std::string& uri) {
  if (!IsPostgresUri(uri)) {
    return absl::InvalidArgumentError(
        absl::StrCat(RedactUri(uri), ": not a postgresql:// URI"));
  }
  return std::make_unique<PostgresDb>(uri);
}

}  // namespace ccmon::collector
