#pragma once
// A minimal SQL access layer for the identity store, with an SQLite and a PostgreSQL (libpq)
// implementation, so that the store's logic and SQL are written once. Statements use numbered
// parameter markers $1..$n, which both engines accept; every value is bound, never spliced.
// Both implementations pool connections (one per concurrent caller) and are thread-safe.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ds::auth {

using SqlParam = std::variant<std::monostate, std::string, std::int64_t, double>;
using SqlValue = std::optional<std::string>;  // every column comes back as text; nullopt = NULL
using SqlRow = std::vector<SqlValue>;
using SqlRows = std::vector<SqlRow>;

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  // Runs one statement. Throws ds::Error: conflict for a unique-constraint violation,
  // service_unavailable when the database cannot be reached, internal otherwise.
  virtual SqlRows exec(std::string_view sql, const std::vector<SqlParam>& params = {}) = 0;
};

class SqlDatabase {
 public:
  virtual ~SqlDatabase() = default;
  // One statement in its own transaction, on any pooled connection.
  virtual SqlRows exec(std::string_view sql, const std::vector<SqlParam>& params = {}) = 0;
  // Runs `fn` inside a write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: BEGIN): committed
  // when `fn` returns, rolled back when it throws (the exception propagates).
  virtual void transaction(const std::function<void(SqlConnection&)>& fn) = 0;
  virtual bool is_postgres() const = 0;
};

// The SQLite file at `file` (created when absent; WAL mode, shared with the catalogue).
std::unique_ptr<SqlDatabase> open_sqlite_database(const std::filesystem::path& file);
// PostgreSQL at a libpq URL. Throws ds::Error(service_unavailable) when it cannot connect.
std::unique_ptr<SqlDatabase> open_postgres_database(const std::string& url);

// Column helpers: the value as an integer / double / string ("" and 0 for NULL).
std::int64_t as_int(const SqlValue& v);
double as_double(const SqlValue& v);
std::string as_text(const SqlValue& v);

}  // namespace ds::auth
