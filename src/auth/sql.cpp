#include "auth/sql.hpp"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <mutex>

#include <fmt/format.h>

#include "core/error.hpp"

namespace ds::auth {
namespace {

// ---- SQLite ------------------------------------------------------------------------------------

class SqliteConnection final : public SqlConnection {
 public:
  explicit SqliteConnection(const std::filesystem::path& file) {
    if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw Error(ErrorCode::service_unavailable, "identity store: cannot open " + file.string() + ": " + why);
    }
    sqlite3_busy_timeout(db_, 10'000);
    script("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  }
  ~SqliteConnection() override { sqlite3_close_v2(db_); }

  void script(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string why = err ? err : "unknown";
      sqlite3_free(err);
      throw Error(ErrorCode::internal, "identity store: " + why);
    }
  }

  SqlRows exec(std::string_view sql, const std::vector<SqlParam>& params) override {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &st, nullptr) != SQLITE_OK)
      throw Error(ErrorCode::internal, std::string("identity store: ") + sqlite3_errmsg(db_));
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> guard(st, sqlite3_finalize);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int idx = sqlite3_bind_parameter_index(st, fmt::format("${}", i + 1).c_str());
      if (idx == 0) continue;  // marker not used by this statement
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>)
              sqlite3_bind_null(st, idx);
            else if constexpr (std::is_same_v<T, std::string>)
              sqlite3_bind_text(st, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
            else if constexpr (std::is_same_v<T, std::int64_t>)
              sqlite3_bind_int64(st, idx, v);
            else
              sqlite3_bind_double(st, idx, v);
          },
          params[i]);
    }
    SqlRows rows;
    while (true) {
      const int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        const int ext = sqlite3_extended_errcode(db_);
        if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
          throw Error(ErrorCode::conflict, "identity store: already exists");
        throw Error(ErrorCode::internal, std::string("identity store: ") + sqlite3_errmsg(db_));
      }
      SqlRow row;
      const int n = sqlite3_column_count(st);
      for (int c = 0; c < n; ++c) {
        if (sqlite3_column_type(st, c) == SQLITE_NULL) {
          row.emplace_back(std::nullopt);
        } else {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
          row.emplace_back(std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(st, c))));
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteDatabase final : public SqlDatabase {
 public:
  explicit SqliteDatabase(std::filesystem::path file) : file_(std::move(file)) { release(acquire()); }

  SqlRows exec(std::string_view sql, const std::vector<SqlParam>& params) override {
    auto c = acquire();
    auto rows = c->exec(sql, params);
    release(std::move(c));
    return rows;
  }

  void transaction(const std::function<void(SqlConnection&)>& fn) override {
    auto c = acquire();
    c->script("BEGIN IMMEDIATE");
    try {
      fn(*c);
      c->script("COMMIT");
    } catch (...) {
      try {
        c->script("ROLLBACK");
      } catch (...) {
        return;  // connection dropped with its unique_ptr
      }
      release(std::move(c));
      throw;
    }
    release(std::move(c));
  }

  bool is_postgres() const override { return false; }

 private:
  std::unique_ptr<SqliteConnection> acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!pool_.empty()) {
        auto c = std::move(pool_.back());
        pool_.pop_back();
        return c;
      }
    }
    return std::make_unique<SqliteConnection>(file_);
  }
  void release(std::unique_ptr<SqliteConnection> c) {
    std::lock_guard lock(mutex_);
    if (pool_.size() < 16) pool_.push_back(std::move(c));
  }

  std::filesystem::path file_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<SqliteConnection>> pool_;
};

// ---- PostgreSQL --------------------------------------------------------------------------------

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

std::string param_text(const SqlParam& p) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return {};
        else if constexpr (std::is_same_v<T, std::string>)
          return v;
        else if constexpr (std::is_same_v<T, std::int64_t>)
          return std::to_string(v);
        else
          return fmt::format("{}", v);
      },
      p);
}

class PgConnection final : public SqlConnection {
 public:
  explicit PgConnection(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    if (!conn_) throw Error(ErrorCode::service_unavailable, "identity store: out of memory connecting to PostgreSQL");
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string why = PQerrorMessage(conn_);
      PQfinish(conn_);
      while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
      throw Error(ErrorCode::service_unavailable, "identity store: cannot connect to PostgreSQL: " + why);
    }
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
  }
  ~PgConnection() override { PQfinish(conn_); }

  SqlRows exec(std::string_view sql, const std::vector<SqlParam>& params) override {
    std::vector<std::string> texts;
    std::vector<const char*> values;
    texts.reserve(params.size());
    for (const auto& p : params) texts.push_back(param_text(p));
    for (std::size_t i = 0; i < params.size(); ++i)
      values.push_back(std::holds_alternative<std::monostate>(params[i]) ? nullptr : texts[i].c_str());
    const std::string text(sql);
    Result r(PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                          nullptr, 0));
    check(r.get());
    SqlRows rows;
    const int n = PQntuples(r.get()), m = PQnfields(r.get());
    for (int i = 0; i < n; ++i) {
      SqlRow row;
      for (int c = 0; c < m; ++c) {
        if (PQgetisnull(r.get(), i, c))
          row.emplace_back(std::nullopt);
        else
          row.emplace_back(
              std::string(PQgetvalue(r.get(), i, c), static_cast<std::size_t>(PQgetlength(r.get(), i, c))));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  bool reusable() const { return PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE; }

 private:
  void check(const PGresult* r) {
    const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
    std::string why = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const std::string_view sqlstate = state ? state : "";
    if (sqlstate == "23505") throw Error(ErrorCode::conflict, "identity store: already exists");
    const bool unreachable = PQstatus(conn_) != CONNECTION_OK || sqlstate.starts_with("08") ||
                             sqlstate.starts_with("57P") || sqlstate.starts_with("53");
    throw Error(unreachable ? ErrorCode::service_unavailable : ErrorCode::internal, "identity store: " + why);
  }

  PGconn* conn_ = nullptr;
};

class PgDatabase final : public SqlDatabase {
 public:
  explicit PgDatabase(std::string url) : url_(std::move(url)) { release(acquire()); }

  SqlRows exec(std::string_view sql, const std::vector<SqlParam>& params) override {
    auto c = acquire();
    auto rows = c->exec(sql, params);
    release(std::move(c));
    return rows;
  }

  void transaction(const std::function<void(SqlConnection&)>& fn) override {
    auto c = acquire();
    c->exec("BEGIN", {});
    try {
      fn(*c);
      c->exec("COMMIT", {});
    } catch (...) {
      try {
        c->exec("ROLLBACK", {});
      } catch (...) {
        return;
      }
      release(std::move(c));
      throw;
    }
    release(std::move(c));
  }

  bool is_postgres() const override { return true; }

 private:
  std::unique_ptr<PgConnection> acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!pool_.empty()) {
        auto c = std::move(pool_.back());
        pool_.pop_back();
        return c;
      }
    }
    return std::make_unique<PgConnection>(url_);
  }
  void release(std::unique_ptr<PgConnection> c) {
    if (!c->reusable()) return;
    std::lock_guard lock(mutex_);
    if (pool_.size() < 16) pool_.push_back(std::move(c));
  }

  std::string url_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<PgConnection>> pool_;
};

}  // namespace

std::unique_ptr<SqlDatabase> open_sqlite_database(const std::filesystem::path& file) {
  return std::make_unique<SqliteDatabase>(file);
}

std::unique_ptr<SqlDatabase> open_postgres_database(const std::string& url) {
  return std::make_unique<PgDatabase>(url);
}

std::int64_t as_int(const SqlValue& v) {
  if (!v || v->empty()) return 0;
  return static_cast<std::int64_t>(std::stoll(*v));
}
double as_double(const SqlValue& v) {
  if (!v || v->empty()) return 0;
  return std::stod(*v);
}
std::string as_text(const SqlValue& v) { return v ? *v : std::string(); }

}  // namespace ds::auth
