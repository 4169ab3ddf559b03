// The scale-out catalogue store: PostgreSQL 15 + PostGIS 3 through libpq. The same layout as the
// SQLite store (indexed columns, a typed attribute table, the whole product as JSON text) with a
// PostGIS footprint column: the GiST index is the spatial prefilter and ST_Intersects/ST_Within/
// ST_Contains refine exactly. Times are bigint microseconds since the epoch, as in the SQLite store,
// so round trips are exact and comparisons are the same integer comparisons. Every value travels as a
// text parameter of PQexecParams; SQL text is only ever built from constants.

#include <libpq-fe.h>

#include <cmath>
#include <exception>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "catalog/json.hpp"
#include "catalog/sql.hpp"
#include "catalog/store.hpp"
#include "core/error.hpp"
#include "core/geometry.hpp"

namespace ds::catalog {
namespace {

// Advisory lock keys (pg_advisory_xact_lock): one for migrations, one serialising catalogue writers
// across every process sharing the database (the SQLite store's single-writer semantics).
constexpr std::int64_t kMigrationLock = 0x44535f4d4947;  // "DS_MIG"
constexpr std::int64_t kWriteLock = 0x44535f575254;      // "DS_WRT"

// Versioned migrations; entry i is version i + 1. Never edit one that has shipped: append.
// Text columns use the "C" collation so comparisons and ordering are bytewise, as in SQLite.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE products(
  rid bigserial PRIMARY KEY,
  id text COLLATE "C" NOT NULL UNIQUE,
  name text COLLATE "C" NOT NULL UNIQUE,
  collection text COLLATE "C" NOT NULL,
  product_type text COLLATE "C" NOT NULL,
  sensing_start bigint NOT NULL,
  sensing_end bigint NOT NULL,
  publication bigint NOT NULL,
  modification bigint NOT NULL,
  online boolean NOT NULL,
  footprint geometry(Geometry, 4326) NOT NULL,
  doc text NOT NULL);
CREATE INDEX products_footprint ON products USING gist(footprint);
CREATE INDEX products_collection_start ON products(collection, sensing_start);
CREATE INDEX products_start ON products(sensing_start);
CREATE INDEX products_publication ON products(publication);
CREATE TABLE attributes(
  rid bigint NOT NULL REFERENCES products(rid) ON DELETE CASCADE,
  name text COLLATE "C" NOT NULL,
  v_text text COLLATE "C", v_num double precision, v_time bigint, v_bool boolean);
CREATE INDEX attributes_num ON attributes(name, v_num, rid);
CREATE INDEX attributes_text ON attributes(name, v_text, rid);
CREATE INDEX attributes_time ON attributes(name, v_time, rid);
CREATE INDEX attributes_rid ON attributes(rid);
CREATE TABLE deleted_products(
  id text COLLATE "C" PRIMARY KEY,
  name text NOT NULL,
  deleted bigint NOT NULL,
  cause text NOT NULL);
)sql",
    // 2: the longest sensing duration (microseconds) each collection has held, which bounds
    // "sensing_end >= T" by "sensing_start >= T - duration"; it only grows, with the products.
    R"sql(
CREATE TABLE collection_spans(collection text COLLATE "C" PRIMARY KEY, max_duration bigint NOT NULL);
INSERT INTO collection_spans(collection, max_duration)
  SELECT collection, greatest(0, max(sensing_end - sensing_start)) FROM products GROUP BY collection;
)sql",
    // 3: every page is ordered by time, then id ascending (stable paging): indexes in exactly that
    // order, both ways, let the planner walk a collection's time range and stop after the page
    // instead of sorting every match (at a million products it did: 10 ms against 3 ms).
    R"sql(
CREATE INDEX products_collection_start_id ON products(collection, sensing_start, id);
CREATE INDEX products_collection_start_desc_id ON products(collection, sensing_start DESC, id);
DROP INDEX products_collection_start;
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// A text parameter; nullopt is SQL NULL.
using Param = std::optional<std::string>;

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string num(std::int64_t v) { return std::to_string(v); }
// Shortest round-trip form, which PostgreSQL's float8 input reads back exactly.
std::string num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return fmt::format("{}", v);
}
std::string boolean(bool v) { return v ? "true" : "false"; }

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// One libpq connection (not thread-safe: used by one caller at a time through the pool).
class Connection {
 public:
  explicit Connection(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    if (!conn_) throw Error(ErrorCode::service_unavailable, "catalogue: out of memory connecting to PostgreSQL");
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string why = PQerrorMessage(conn_);
      PQfinish(conn_);
      while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
      throw Error(ErrorCode::service_unavailable, "cannot connect to the PostgreSQL catalogue: " + why);
    }
    // NOTICEs ("relation already exists, skipping"...) are not ours to print.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
  }
  ~Connection() { PQfinish(conn_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs `sql` with text parameters $1..$n; throws ds::Error on failure.
  Result exec(const std::string& sql, const std::vector<Param>& params = {}) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    Result r(
        PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0));
    check(r.get());
    return r;
  }
  // Runs constant SQL that may hold several statements (DDL, transaction control); no parameters.
  // Returns the last statement's result.
  Result script(const char* sql) {
    Result r(PQexec(conn_, sql));
    check(r.get());
    return r;
  }

  // Whether the connection can go back to the pool: alive and outside any transaction.
  bool reusable() const { return PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE; }

 private:
  void check(const PGresult* r) {
    const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
    std::string why = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    // Class 08: connection exception; 57P0x: the server is shutting down or restarting.
    const std::string_view sqlstate = state ? state : "";
    const bool unreachable = PQstatus(conn_) != CONNECTION_OK || sqlstate.starts_with("08") ||
                             sqlstate.starts_with("57P") || sqlstate.starts_with("53");
    throw Error(unreachable ? ErrorCode::service_unavailable : ErrorCode::internal, "catalogue: " + why);
  }

  PGconn* conn_ = nullptr;
};

// A transaction on one connection: rolled back unless committed.
class Transaction {
 public:
  // `begin` may end with a query (e.g. exporting the snapshot): its result is `begun()`.
  explicit Transaction(Connection& c, const std::string& begin = "BEGIN") : c_(c), begun_(c_.script(begin.c_str())) {}
  ~Transaction() {
    if (open_) {
      try {
        c_.script("ROLLBACK");
      } catch (...) {
        // The connection is then not reusable and is dropped by the pool.
      }
    }
  }
  void commit() {
    c_.script("COMMIT");
    open_ = false;
  }
  const PGresult* begun() const { return begun_.get(); }

 private:
  Connection& c_;
  Result begun_;
  bool open_ = true;
};

// Compiles an expression into a SQL condition over `products p`; values become parameters.
struct Compiler {
  std::vector<Param> params;
  // The collections the whole query is limited to (nullopt: any), for the sensing-end bound.
  std::optional<std::vector<std::string>> scope;

  // Adds a parameter and returns its numbered parameter marker with a cast, e.g. "$3::bigint".
  std::string bind(std::string value, const char* type) {
    params.emplace_back(std::move(value));
    return fmt::format("${}::{}", params.size(), type);
  }

  // The parameter marker for a value compared with field `f`, with the SQLite store's type checks.
  std::string field_value(Field f, const AttributeValue& v) {
    const bool time_field =
        f == Field::sensing_start || f == Field::sensing_end || f == Field::publication || f == Field::modification;
    if (time_field) {
      if (!std::holds_alternative<Time>(v)) {
        throw Error(ErrorCode::invalid_parameter, std::string(field_name(f)) + " must be compared with a date-time",
                    field_name(f));
      }
      return bind(num(to_micros(std::get<Time>(v))), "bigint");
    }
    if (f == Field::online) {
      if (!std::holds_alternative<bool>(v))
        throw Error(ErrorCode::invalid_parameter, "online must be compared with a boolean", "online");
      return bind(boolean(std::get<bool>(v)), "boolean");
    }
    if (!std::holds_alternative<std::string>(v)) {
      throw Error(ErrorCode::invalid_parameter, std::string(field_name(f)) + " must be compared with a string",
                  field_name(f));
    }
    return bind(std::get<std::string>(v), "text");
  }

  std::string compile(const ExprPtr& e) {
    if (!e) return "TRUE";
    return std::visit([this](const auto& n) { return node(n); }, e->node);
  }

  std::string node(const FieldCompare& n) {
    const std::string v = field_value(n.field, n.value);
    const std::string test = fmt::format("{} {} {}", sql_column(n.field), sql_operator(n.op), v);
    if (n.field != Field::sensing_end || (n.op != CompareOp::ge && n.op != CompareOp::gt && n.op != CompareOp::eq))
      return test;
    // A product ending at or after T started at or after T minus the longest duration of its
    // collection (collection_spans): an equivalent test that the sensing-start index can range over.
    std::string in;
    if (scope) {
      for (const auto& c : *scope) in += (in.empty() ? "" : ", ") + bind(c, "text");
    }
    return fmt::format(
        "({} AND p.sensing_start >= {} - (SELECT coalesce(max(max_duration), 0) FROM collection_spans{}))", test, v,
        scope ? (scope->empty() ? " WHERE false" : " WHERE collection IN (" + in + ")") : "");
  }
  std::string node(const FieldIn& n) {
    if (n.values.empty()) return "FALSE";
    std::string list;
    for (const auto& v : n.values) {
      if (!list.empty()) list += ", ";
      list += field_value(n.field, v);
    }
    return fmt::format("{} IN ({})", sql_column(n.field), list);
  }
  std::string node(const FieldMatch& n) {
    // Case-sensitive, as OData's contains/startswith/endswith; no LIKE wildcards to escape.
    const char* c = sql_column(n.field);
    const std::string t = bind(n.text, "text");
    switch (n.match) {
      case TextMatch::contains:
        return fmt::format("strpos({}, {}) > 0", c, t);
      case TextMatch::starts_with:
        return fmt::format("starts_with({}, {})", c, t);
      case TextMatch::ends_with:
        return fmt::format("(length({0}) >= length({1}) AND right({0}, length({1})) = {1})", c, t);
    }
    return "FALSE";
  }
  std::string node(const AttributeCompare& n) {
    const std::string name = bind(n.name, "text");
    std::string value_column, value;
    switch (n.value.index()) {
      case 0:
        value_column = "a.v_text";
        value = bind(std::get<std::string>(n.value), "text");
        break;
      case 1:
        value_column = "a.v_num";
        value = bind(num(static_cast<double>(std::get<std::int64_t>(n.value))), "double precision");
        break;
      case 2:
        value_column = "a.v_num";
        value = bind(num(std::get<double>(n.value)), "double precision");
        break;
      case 3:
        value_column = "a.v_time";
        value = bind(num(to_micros(std::get<Time>(n.value))), "bigint");
        break;
      default:
        value_column = "a.v_bool";
        value = bind(boolean(std::get<bool>(n.value)), "boolean");
        break;
    }
    return fmt::format("EXISTS (SELECT 1 FROM attributes a WHERE a.rid = p.rid AND a.name = {} AND {} {} {})", name,
                       value_column, sql_operator(n.op), value);
  }
  std::string node(const AttributeExists& n) {
    return fmt::format("EXISTS (SELECT 1 FROM attributes a WHERE a.rid = p.rid AND a.name = {})", bind(n.name, "text"));
  }
  // ORDER BY terms for the sort keys (attribute keys put products without the attribute last).
  std::string order_by(const std::vector<SortKey>& sort) {
    std::string order;
    for (const auto& k : sort) {
      const char* dir = k.descending ? "DESC" : "ASC";
      if (k.attribute.empty()) {
        order += fmt::format("{} {}, ", sql_column(k.field), dir);
        continue;
      }
      order +=
          fmt::format("(SELECT a.{} FROM attributes a WHERE a.rid = p.rid AND a.name = {} LIMIT 1) {} NULLS LAST, ",
                      sql_attribute_column(k.attribute_type), bind(k.attribute, "text"), dir);
    }
    return order + "p.id ASC";
  }
  std::string node(const Spatial& n) {
    // Validated by GEOS exactly as the SQLite store does, so errors are identical; PostGIS gets the
    // validated geometry as WKB. The predicates use the GiST index, then refine exactly.
    const Geometry g = Geometry::from_wkt(n.wkt);
    const auto e = g.envelope();
    const std::string q = "ST_GeomFromWKB(decode(" + bind(hex(g.to_wkb()), "text") + ", 'hex'), 4326)";
    // The explicit envelope test gives the planner the box's selectivity as numbers (a geometry
    // decoded from a parameter hides it), so it weighs the GiST index against the time index
    // correctly at every scale. All three predicates imply intersecting envelopes.
    const std::string box =
        fmt::format("p.footprint && ST_MakeEnvelope({}, {}, {}, {}, 4326)", bind(num(e.min_x), "float8"),
                    bind(num(e.min_y), "float8"), bind(num(e.max_x), "float8"), bind(num(e.max_y), "float8"));
    switch (n.op) {
      case SpatialOp::intersects:
        return fmt::format("({} AND ST_Intersects(p.footprint, {}))", box, q);
      case SpatialOp::within:
        return fmt::format("({} AND ST_Within(p.footprint, {}))", box, q);
      case SpatialOp::contains:
        return fmt::format("({} AND ST_Contains(p.footprint, {}))", box, q);
    }
    return "FALSE";
  }
  std::string node(const And& n) { return join(n.items, " AND ", "TRUE"); }
  std::string node(const Or& n) { return join(n.items, " OR ", "FALSE"); }
  std::string node(const Not& n) { return "NOT (" + compile(n.item) + ")"; }

  std::string join(const std::vector<ExprPtr>& items, const char* op, const char* empty) {
    if (items.empty()) return empty;
    std::string out = "(";
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i) out += op;
      out += compile(items[i]);
    }
    return out + ")";
  }
};

class PostgisStore final : public CatalogStore {
 public:
  explicit PostgisStore(std::string url) : url_(std::move(url)) {
    auto c = std::make_unique<Connection>(url_);
    migrate(*c);
    release(std::move(c));
  }

  std::size_t upsert(const std::vector<Product>& products) override {
    // Validate everything first: a bad product fails the batch before anything is written.
    std::vector<std::pair<const Product*, Geometry>> prepared;
    for (const auto& p : products) prepared.emplace_back(&p, Geometry::from_wkt(p.footprint_wkt, "footprint"));
    auto c = acquire();
    std::size_t changed = 0;
    {
      Transaction tx(*c);
      c->exec("SELECT pg_advisory_xact_lock($1::bigint)", {num(kWriteLock)});
      for (const auto& [p, geom] : prepared) {
        const std::string doc = to_json(*p).dump();
        const auto existing = c->exec("SELECT rid, doc FROM products WHERE id = $1 OR name = $2", {p->id, p->name});
        const int rows = PQntuples(existing.get());
        if (rows > 0 && doc == PQgetvalue(existing.get(), rows - 1, 1)) continue;
        if (rows > 0) {
          // Attributes go with the product (ON DELETE CASCADE).
          c->exec("DELETE FROM products WHERE rid = $1::bigint",
                  {std::string(PQgetvalue(existing.get(), rows - 1, 0))});
        }
        const auto inserted = c->exec(
            "INSERT INTO products(id, name, collection, product_type, sensing_start, sensing_end, publication, "
            "modification, online, footprint, doc) VALUES($1, $2, $3, $4, $5::bigint, $6::bigint, $7::bigint, "
            "$8::bigint, $9::boolean, ST_GeomFromWKB(decode($10, 'hex'), 4326), $11) RETURNING rid",
            {p->id, p->name, p->collection, p->product_type, num(to_micros(p->sensing_start)),
             num(to_micros(p->sensing_end)), num(to_micros(p->publication)), num(to_micros(p->modification)),
             boolean(p->online), hex(geom.to_wkb()), doc});
        const std::string rid = PQgetvalue(inserted.get(), 0, 0);
        c->exec(
            "INSERT INTO collection_spans(collection, max_duration) VALUES($1, greatest(0, $2::bigint)) "
            "ON CONFLICT (collection) DO UPDATE SET max_duration = greatest(collection_spans.max_duration, "
            "EXCLUDED.max_duration)",
            {p->collection, num(to_micros(p->sensing_end) - to_micros(p->sensing_start))});
        for (const auto& a : p->attributes) {
          Param text, number, time, flag;
          switch (a.value.index()) {
            case 0:
              text = std::get<std::string>(a.value);
              break;
            case 1:
              number = num(static_cast<double>(std::get<std::int64_t>(a.value)));
              break;
            case 2:
              number = num(std::get<double>(a.value));
              break;
            case 3:
              time = num(to_micros(std::get<Time>(a.value)));
              break;
            default:
              flag = boolean(std::get<bool>(a.value));
              break;
          }
          c->exec(
              "INSERT INTO attributes(rid, name, v_text, v_num, v_time, v_bool) "
              "VALUES($1::bigint, $2, $3, $4::double precision, $5::bigint, $6::boolean)",
              {rid, a.name, text, number, time, flag});
        }
        c->exec("DELETE FROM deleted_products WHERE id = $1", {p->id});
        ++changed;
      }
      tx.commit();
    }
    release(std::move(c));
    return changed;
  }

  std::optional<Product> get(const std::string& id) const override { return one("id", id); }
  std::optional<Product> get_by_name(const std::string& name) const override { return one("name", name); }

  SearchResult search(const Query& q) const override {
    if (q.limit > 10'000) throw Error(ErrorCode::invalid_parameter, "limit must be at most 10000", "limit");
    Compiler compiler;
    compiler.scope = constrained_collections(q.where);
    const std::string where = compiler.compile(q.where);
    const auto where_params = compiler.params;
    std::string page_where = where;
    if (q.after) page_where = "(" + where + ") AND " + compiler.compile(keyset_predicate(q.sort, *q.after));
    const std::string order = compiler.order_by(q.sort);
    auto params = compiler.params;
    const std::size_t n = params.size();
    params.emplace_back(num(static_cast<std::int64_t>(q.limit)));
    params.emplace_back(num(static_cast<std::int64_t>(q.offset)));
    SearchResult out;
    auto c = acquire();
    const bool page = q.limit > 0, count = q.count == CountMode::exact;
    auto run_page = [&] {
      const auto rows = c->exec(fmt::format("SELECT p.doc FROM products p WHERE {} ORDER BY {} LIMIT ${}::bigint "
                                            "OFFSET ${}::bigint",
                                            page_where, order, n + 1, n + 2),
                                params);
      for (int i = 0; i < PQntuples(rows.get()); ++i)
        out.products.push_back(product_from_json(nlohmann::json::parse(PQgetvalue(rows.get(), i, 0))));
    };
    auto run_count_on = [&](Connection& cc) {
      if (q.count_limit > 0) {
        auto bounded = where_params;
        bounded.emplace_back(num(static_cast<std::int64_t>(q.count_limit) + 1));
        const auto total =
            cc.exec(fmt::format("SELECT count(*) FROM (SELECT 1 FROM products p WHERE {} LIMIT ${}::bigint) b", where,
                                bounded.size()),
                    bounded);
        out.total = static_cast<std::size_t>(std::stoull(PQgetvalue(total.get(), 0, 0)));
        if (*out.total > q.count_limit) {
          out.total = q.count_limit;
          out.total_exact = false;
        }
        return;
      }
      const auto total = cc.exec(fmt::format("SELECT count(*) FROM products p WHERE {}", where), where_params);
      out.total = static_cast<std::size_t>(std::stoull(PQgetvalue(total.get(), 0, 0)));
    };
    if (page && count) {
      // One snapshot for the page and the count, so they agree; the count runs at the same time
      // on a second connection that imports the first one's snapshot.
      Transaction tx(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot()");
      const std::string snapshot = PQgetvalue(tx.begun(), 0, 0);
      if (snapshot.empty() || snapshot.find_first_not_of("0123456789ABCDEFabcdef-") != std::string::npos)
        throw Error(ErrorCode::internal, "catalogue: unexpected snapshot id from PostgreSQL");
      auto counter = acquire();
      std::exception_ptr count_error;
      std::thread count_thread([&] {
        try {
          Transaction ctx(
              *counter, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '" + snapshot + "'");
          run_count_on(*counter);
          ctx.commit();
        } catch (...) {
          count_error = std::current_exception();
        }
      });
      try {
        run_page();
      } catch (...) {
        count_thread.join();
        throw;
      }
      count_thread.join();
      if (count_error) std::rethrow_exception(count_error);
      release(std::move(counter));
      tx.commit();
    } else if (count) {
      run_count_on(*c);  // one statement is one snapshot: no transaction round trips
    } else if (page) {
      run_page();
    }
    release(std::move(c));
    return out;
  }

  bool remove(const std::string& id, const std::string& cause) override {
    auto c = acquire();
    bool found = false;
    {
      Transaction tx(*c);
      c->exec("SELECT pg_advisory_xact_lock($1::bigint)", {num(kWriteLock)});
      const auto gone = c->exec("DELETE FROM products WHERE id = $1 RETURNING name", {id});
      found = PQntuples(gone.get()) > 0;
      if (found) {
        c->exec(
            "INSERT INTO deleted_products(id, name, deleted, cause) VALUES($1, $2, $3::bigint, $4) "
            "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, deleted = EXCLUDED.deleted, cause = EXCLUDED.cause",
            {id, std::string(PQgetvalue(gone.get(), 0, 0)), num(to_micros(std::chrono::system_clock::now())), cause});
      }
      tx.commit();
    }
    release(std::move(c));
    return found;
  }

  std::vector<DeletedProduct> deleted(std::size_t limit, std::size_t offset) const override {
    std::vector<DeletedProduct> out;
    auto c = acquire();
    const auto rows = c->exec(
        "SELECT id, name, deleted, cause FROM deleted_products ORDER BY deleted DESC, id LIMIT $1::bigint "
        "OFFSET $2::bigint",
        {num(static_cast<std::int64_t>(limit)), num(static_cast<std::int64_t>(offset))});
    for (int i = 0; i < PQntuples(rows.get()); ++i) {
      out.push_back({PQgetvalue(rows.get(), i, 0), PQgetvalue(rows.get(), i, 1),
                     from_micros(std::stoll(PQgetvalue(rows.get(), i, 2))), PQgetvalue(rows.get(), i, 3)});
    }
    release(std::move(c));
    return out;
  }

  void ping() const override {
    auto c = acquire();
    c->exec("SELECT 1");
    release(std::move(c));
  }

 private:
  // Applies the missing migrations in one transaction; concurrent openers wait on the advisory
  // lock, then find the work done.
  static void migrate(Connection& c) {
    Transaction tx(c);
    c.exec("SELECT pg_advisory_xact_lock($1::bigint)", {num(kMigrationLock)});
    c.script("CREATE TABLE IF NOT EXISTS schema_migrations(version int PRIMARY KEY, applied timestamptz NOT NULL)");
    const auto r = c.exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
    const int version = std::stoi(PQgetvalue(r.get(), 0, 0));
    if (version > kSchemaVersion) {
      throw Error(ErrorCode::service_unavailable,
                  fmt::format("PostgreSQL catalogue has schema {} from a newer release (this one knows {})", version,
                              kSchemaVersion));
    }
    for (int v = version + 1; v <= kSchemaVersion; ++v) {
      c.script(kMigrations[v - 1]);
      c.exec("INSERT INTO schema_migrations(version, applied) VALUES($1::int, now())", {std::to_string(v)});
    }
    tx.commit();
  }

  std::optional<Product> one(const char* col, const std::string& value) const {
    std::optional<Product> out;
    auto c = acquire();
    const auto rows = c->exec(fmt::format("SELECT doc FROM products WHERE {} = $1", col), {value});
    if (PQntuples(rows.get()) > 0) out = product_from_json(nlohmann::json::parse(PQgetvalue(rows.get(), 0, 0)));
    release(std::move(c));
    return out;
  }

  // One connection per concurrent caller; idle ones are kept for reuse. A connection whose call
  // threw is simply not released (its unique_ptr closes it), so a broken one never returns.
  std::unique_ptr<Connection> acquire() const {
    {
      std::lock_guard lock(pool_mutex_);
      if (!pool_.empty()) {
        auto c = std::move(pool_.back());
        pool_.pop_back();
        return c;
      }
    }
    return std::make_unique<Connection>(url_);
  }
  void release(std::unique_ptr<Connection> c) const {
    if (!c->reusable()) return;
    std::lock_guard lock(pool_mutex_);
    if (pool_.size() < 16) pool_.push_back(std::move(c));
  }

  std::string url_;
  mutable std::mutex pool_mutex_;
  mutable std::vector<std::unique_ptr<Connection>> pool_;
};

}  // namespace

std::unique_ptr<CatalogStore> open_postgis_store(const std::string& connection_url) {
  return std::make_unique<PostgisStore>(connection_url);
}

}  // namespace ds::catalog
