// The embedded catalogue store: one SQLite file in WAL mode. Indexed columns for the fields
// queries use, a typed attribute table, an R*Tree of footprint envelopes as the spatial prefilter
// and exact GEOS predicates (a SQL function) as the refinement; the whole product is kept as JSON.

#include <sqlite3.h>

#include <mutex>
#include <set>

#include <fmt/format.h>

#include "catalog/json.hpp"
#include "catalog/sql.hpp"
#include "catalog/store.hpp"
#include "core/error.hpp"
#include "core/geometry.hpp"

namespace ds::catalog {
namespace {

constexpr int kSchemaVersion = 2;  // 2: collection_spans

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS products(
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL UNIQUE,
  collection TEXT NOT NULL,
  product_type TEXT NOT NULL,
  sensing_start INTEGER NOT NULL,
  sensing_end INTEGER NOT NULL,
  publication INTEGER NOT NULL,
  modification INTEGER NOT NULL,
  online INTEGER NOT NULL,
  footprint BLOB NOT NULL,
  doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS products_collection_start ON products(collection, sensing_start);
CREATE INDEX IF NOT EXISTS products_start ON products(sensing_start);
CREATE INDEX IF NOT EXISTS products_publication ON products(publication);
CREATE VIRTUAL TABLE IF NOT EXISTS products_rtree USING rtree(rid, min_x, max_x, min_y, max_y);
CREATE TABLE IF NOT EXISTS attributes(
  rid INTEGER NOT NULL REFERENCES products(rid) ON DELETE CASCADE,
  name TEXT NOT NULL,
  v_text TEXT, v_num REAL, v_time INTEGER, v_bool INTEGER);
CREATE INDEX IF NOT EXISTS attributes_num ON attributes(name, v_num, rid);
CREATE INDEX IF NOT EXISTS attributes_text ON attributes(name, v_text, rid);
CREATE INDEX IF NOT EXISTS attributes_time ON attributes(name, v_time, rid);
-- Per-product probes (EXISTS ... a.rid = p.rid AND a.name = ?) must find the product's row
-- directly; without (rid, name) SQLite ranges over every product's value of that attribute.
CREATE INDEX IF NOT EXISTS attributes_rid_name ON attributes(rid, name, v_num);
CREATE TABLE IF NOT EXISTS deleted_products(id TEXT PRIMARY KEY, name TEXT NOT NULL, deleted INTEGER NOT NULL, cause TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);
-- The longest sensing duration (microseconds) of any product each collection has held: it bounds
-- "sensing_end >= T" by "sensing_start >= T - duration". Only grows, in the product's transaction.
CREATE TABLE IF NOT EXISTS collection_spans(collection TEXT PRIMARY KEY, max_duration INTEGER NOT NULL);
)sql";

struct Blob {
  std::string bytes;
};
using Param = std::variant<std::monostate, std::string, std::int64_t, double, Blob>;

class Db {
 public:
  explicit Db(const std::filesystem::path& file) {
    if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw Error(ErrorCode::service_unavailable, "cannot open catalogue " + file.string() + ": " + why);
    }
    sqlite3_busy_timeout(db_, 10'000);
    exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
    sqlite3_create_function_v2(db_, "ds_spatial", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, &spatial_fn, nullptr,
                               nullptr, nullptr);
  }
  ~Db() { sqlite3_close_v2(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string why = err ? err : "unknown";
      sqlite3_free(err);
      throw Error(ErrorCode::internal, "catalogue: " + why);
    }
  }

  // Runs `sql` with `params`, calling `row` for each result row.
  void query(const std::string& sql, const std::vector<Param>& params, const std::function<void(sqlite3_stmt*)>& row) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      throw Error(ErrorCode::internal, std::string("catalogue: ") + sqlite3_errmsg(db_));
    }
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> guard(st, sqlite3_finalize);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int idx = static_cast<int>(i) + 1;
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>)
              sqlite3_bind_null(st, idx);
            else if constexpr (std::is_same_v<T, std::string>)
              sqlite3_bind_text(st, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
            else if constexpr (std::is_same_v<T, Blob>)
              sqlite3_bind_blob(st, idx, v.bytes.data(), static_cast<int>(v.bytes.size()), SQLITE_TRANSIENT);
            else if constexpr (std::is_same_v<T, std::int64_t>)
              sqlite3_bind_int64(st, idx, v);
            else
              sqlite3_bind_double(st, idx, v);
          },
          params[i]);
    }
    while (true) {
      const int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        throw Error(ErrorCode::internal, std::string("catalogue: ") + sqlite3_errmsg(db_));
      }
      if (row) row(st);
    }
  }

  sqlite3* get() { return db_; }

 private:
  // ds_spatial(op, footprint_wkb, query_wkb): the exact predicate. The query geometry is parsed
  // once per statement (SQLite keeps it as auxiliary data of the constant argument).
  static void spatial_fn(sqlite3_context* context, int, sqlite3_value** argv) {
    try {
      auto* query = static_cast<Geometry*>(sqlite3_get_auxdata(context, 2));
      if (!query) {
        const auto* bytes = static_cast<const char*>(sqlite3_value_blob(argv[2]));
        query = new Geometry(
            Geometry::from_wkb(std::string_view(bytes, static_cast<std::size_t>(sqlite3_value_bytes(argv[2])))));
        sqlite3_set_auxdata(context, 2, query, [](void* p) { delete static_cast<Geometry*>(p); });
        query = static_cast<Geometry*>(sqlite3_get_auxdata(context, 2));
        if (!query) {
          sqlite3_result_error_nomem(context);
          return;
        }
      }
      const auto* fp = static_cast<const char*>(sqlite3_value_blob(argv[1]));
      const Geometry footprint =
          Geometry::from_wkb(std::string_view(fp, static_cast<std::size_t>(sqlite3_value_bytes(argv[1]))));
      const auto op = static_cast<SpatialPredicate>(sqlite3_value_int(argv[0]));
      sqlite3_result_int(context, footprint.test(op, *query) ? 1 : 0);
    } catch (const std::exception& e) {
      sqlite3_result_error(context, e.what(), -1);
    }
  }

  sqlite3* db_ = nullptr;
};

Param field_param(Field f, const AttributeValue& v) {
  const bool time_field =
      f == Field::sensing_start || f == Field::sensing_end || f == Field::publication || f == Field::modification;
  if (time_field) {
    if (!std::holds_alternative<Time>(v)) {
      throw Error(ErrorCode::invalid_parameter, std::string(field_name(f)) + " must be compared with a date-time",
                  field_name(f));
    }
    return to_micros(std::get<Time>(v));
  }
  if (f == Field::online) {
    if (!std::holds_alternative<bool>(v))
      throw Error(ErrorCode::invalid_parameter, "online must be compared with a boolean", "online");
    return static_cast<std::int64_t>(std::get<bool>(v));
  }
  if (!std::holds_alternative<std::string>(v)) {
    throw Error(ErrorCode::invalid_parameter, std::string(field_name(f)) + " must be compared with a string",
                field_name(f));
  }
  return std::get<std::string>(v);
}

// Compiles an expression into a SQL condition over `products p`, appending bound parameters.
struct Compiler {
  std::vector<Param> params;
  // The collections the whole query is limited to (nullopt: any), for the sensing-end bound.
  std::optional<std::vector<std::string>> scope;

  std::string compile(const ExprPtr& e) {
    if (!e) return "1";
    return std::visit([this](const auto& n) { return node(n); }, e->node);
  }

  std::string node(const FieldCompare& n) {
    params.push_back(field_param(n.field, n.value));
    const std::string test = fmt::format("{} {} ?", sql_column(n.field), sql_operator(n.op));
    if (n.field != Field::sensing_end || (n.op != CompareOp::ge && n.op != CompareOp::gt && n.op != CompareOp::eq))
      return test;
    // A product ending at or after T started at or after T minus the longest duration of its
    // collection (collection_spans): an equivalent test that the sensing-start index can range over.
    params.push_back(field_param(n.field, n.value));
    std::string in;
    if (scope) {
      for (const auto& c : *scope) {
        params.emplace_back(c);
        in += in.empty() ? "?" : ", ?";
      }
    }
    return fmt::format(
        "({} AND p.sensing_start >= ? - (SELECT coalesce(max(max_duration), 0) FROM collection_spans{}))", test,
        scope ? (scope->empty() ? " WHERE 0" : " WHERE collection IN (" + in + ")") : "");
  }
  std::string node(const FieldIn& n) {
    if (n.values.empty()) return "0";
    std::string list;
    for (const auto& v : n.values) {
      params.push_back(field_param(n.field, v));
      list += list.empty() ? "?" : ", ?";
    }
    return fmt::format("{} IN ({})", sql_column(n.field), list);
  }
  std::string node(const FieldMatch& n) {
    // Case-sensitive, as OData's contains/startswith/endswith; no LIKE wildcards to escape.
    const char* c = sql_column(n.field);
    params.emplace_back(n.text);
    switch (n.match) {
      case TextMatch::contains:
        return fmt::format("instr({}, ?) > 0", c);
      case TextMatch::starts_with:
        params.emplace_back(n.text);
        return fmt::format("substr({}, 1, length(?)) = ?", c);
      case TextMatch::ends_with:
        params.emplace_back(n.text);
        params.emplace_back(n.text);
        return fmt::format("(length({0}) >= length(?) AND substr({0}, length({0}) - length(?) + 1) = ?)", c);
    }
    return "0";
  }
  std::string node(const AttributeCompare& n) {
    params.emplace_back(n.name);
    std::string value_column;
    switch (n.value.index()) {
      case 0:
        value_column = "a.v_text";
        params.emplace_back(std::get<std::string>(n.value));
        return fmt::format("EXISTS (SELECT 1 FROM attributes a WHERE a.rid = p.rid AND a.name = ? AND {} {} ?)",
                           value_column, sql_operator(n.op));
      case 1:
        params.emplace_back(static_cast<double>(std::get<std::int64_t>(n.value)));
        value_column = "a.v_num";
        break;
      case 2:
        params.emplace_back(std::get<double>(n.value));
        value_column = "a.v_num";
        break;
      case 3:
        params.emplace_back(to_micros(std::get<Time>(n.value)));
        value_column = "a.v_time";
        break;
      default:
        params.emplace_back(static_cast<std::int64_t>(std::get<bool>(n.value)));
        value_column = "a.v_bool";
        break;
    }
    return fmt::format("EXISTS (SELECT 1 FROM attributes a WHERE a.rid = p.rid AND a.name = ? AND {} {} ?)",
                       value_column, sql_operator(n.op));
  }
  std::string node(const AttributeExists& n) {
    params.emplace_back(n.name);
    return "EXISTS (SELECT 1 FROM attributes a WHERE a.rid = p.rid AND a.name = ?)";
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
      params.emplace_back(k.attribute);
      order += fmt::format("(SELECT a.{} FROM attributes a WHERE a.rid = p.rid AND a.name = ? LIMIT 1) {} NULLS LAST, ",
                           sql_attribute_column(k.attribute_type), dir);
    }
    return order + "p.id ASC";
  }
  std::string node(const Spatial& n) {
    const Geometry g = Geometry::from_wkt(n.wkt);
    const auto e = g.envelope();
    const SpatialPredicate p = n.op == SpatialOp::intersects ? SpatialPredicate::intersects
                               : n.op == SpatialOp::within   ? SpatialPredicate::within
                                                             : SpatialPredicate::contains;
    // R*Tree prefilter on envelopes (necessary for all three predicates), then the exact test.
    params.emplace_back(e.min_x);
    params.emplace_back(e.max_x);
    params.emplace_back(e.min_y);
    params.emplace_back(e.max_y);
    params.emplace_back(static_cast<std::int64_t>(p));
    params.emplace_back(Blob{g.to_wkb()});
    return "(p.rid IN (SELECT rid FROM products_rtree WHERE max_x >= ? AND min_x <= ? AND max_y >= ? AND min_y <= ?) "
           "AND ds_spatial(?, p.footprint, ?) = 1)";
  }
  std::string node(const And& n) { return join(n.items, " AND ", "1"); }
  std::string node(const Or& n) { return join(n.items, " OR ", "0"); }
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

class SqliteStore final : public CatalogStore {
 public:
  explicit SqliteStore(const std::filesystem::path& file) : file_(file) {
    auto db = std::make_unique<Db>(file_);
    db->exec(kSchema);
    int version = 0;
    db->query("SELECT max(version) FROM schema_version", {},
              [&](sqlite3_stmt* st) { version = sqlite3_column_int(st, 0); });
    if (version > kSchemaVersion) {
      throw Error(ErrorCode::service_unavailable,
                  fmt::format("catalogue {} has schema {} from a newer release (this one knows {})", file.string(),
                              version, kSchemaVersion));
    }
    if (version < kSchemaVersion) {
      db->exec("BEGIN IMMEDIATE");
      try {
        if (version < 2) {
          db->exec(
              "INSERT OR REPLACE INTO collection_spans(collection, max_duration) SELECT collection, "
              "max(0, max(sensing_end - sensing_start)) FROM products GROUP BY collection");
        }
        db->exec(fmt::format("INSERT INTO schema_version(version) VALUES({})", kSchemaVersion));
        db->exec("COMMIT");
      } catch (...) {
        db->exec("ROLLBACK");
        throw;
      }
    }
    // Planner statistics: without them SQLite cannot tell a collection (a third of the catalogue)
    // from a bounding box (a few hundred products) and may scan the wrong index.
    bool stats = false;
    db->query("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'", {},
              [&](sqlite3_stmt* st) { stats = sqlite3_column_int(st, 0) > 0; });
    if (stats) {
      db->query(
          "SELECT stat FROM sqlite_stat1 WHERE tbl = 'products' AND idx = 'products_start'", {}, [&](sqlite3_stmt* st) {
            analysed_rows_ = std::strtoull(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), nullptr, 10);
          });
    }
    db->query("SELECT max(rid) FROM products", {},
              [&](sqlite3_stmt* st) { rows_ = static_cast<std::size_t>(sqlite3_column_int64(st, 0)); });
    if (!stats && rows_ > 0) analyse(*db);
    writer_ = std::move(db);
  }

  std::size_t upsert(const std::vector<Product>& products) override {
    // Validate everything first: a bad product fails the batch before anything is written.
    std::vector<std::pair<const Product*, Geometry>> prepared;
    for (const auto& p : products) prepared.emplace_back(&p, Geometry::from_wkt(p.footprint_wkt, "footprint"));
    std::lock_guard lock(write_mutex_);
    Db& db = *writer_;
    db.exec("BEGIN IMMEDIATE");
    std::size_t changed = 0;
    try {
      for (const auto& [p, geom] : prepared) {
        const std::string doc = to_json(*p).dump();
        std::optional<std::int64_t> rid;
        std::string existing;
        db.query("SELECT rid, doc FROM products WHERE id = ? OR name = ?", {p->id, p->name}, [&](sqlite3_stmt* st) {
          rid = sqlite3_column_int64(st, 0);
          existing.assign(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)));
        });
        if (rid && existing == doc) continue;
        if (rid) {
          db.query("DELETE FROM attributes WHERE rid = ?", {*rid}, {});
          db.query("DELETE FROM products_rtree WHERE rid = ?", {*rid}, {});
          db.query("DELETE FROM products WHERE rid = ?", {*rid}, {});
        }
        db.query(
            "INSERT INTO products(id, name, collection, product_type, sensing_start, sensing_end, publication, "
            "modification, online, footprint, doc) VALUES(?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?, ?)",
            {p->id, p->name, p->collection, p->product_type, to_micros(p->sensing_start), to_micros(p->sensing_end),
             to_micros(p->publication), to_micros(p->modification), static_cast<std::int64_t>(p->online),
             Blob{geom.to_wkb()}, doc},
            {});
        const std::int64_t new_rid = sqlite3_last_insert_rowid(db.get());
        db.query(
            "INSERT INTO collection_spans(collection, max_duration) VALUES(?, max(0, ?)) ON CONFLICT(collection) "
            "DO UPDATE SET max_duration = max(max_duration, excluded.max_duration)",
            {p->collection, to_micros(p->sensing_end) - to_micros(p->sensing_start)}, {});
        const auto e = geom.envelope();
        db.query("INSERT INTO products_rtree(rid, min_x, max_x, min_y, max_y) VALUES(?, ?, ?, ?, ?)",
                 {new_rid, e.min_x, e.max_x, e.min_y, e.max_y}, {});
        for (const auto& a : p->attributes) {
          Param text, num, time, boolean;
          switch (a.value.index()) {
            case 0:
              text = std::get<std::string>(a.value);
              break;
            case 1:
              num = static_cast<double>(std::get<std::int64_t>(a.value));
              break;
            case 2:
              num = std::get<double>(a.value);
              break;
            case 3:
              time = to_micros(std::get<Time>(a.value));
              break;
            default:
              boolean = static_cast<std::int64_t>(std::get<bool>(a.value));
              break;
          }
          db.query(
              "INSERT INTO attributes(rid, name, v_text, v_num, v_time, v_bool) VALUES(?, ?, "
              "?, ?, ?, ?)",
              {new_rid, a.name, text, num, time, boolean}, {});
        }
        db.query("DELETE FROM deleted_products WHERE id = ?", {p->id}, {});
        ++changed;
      }
      db.exec("COMMIT");
    } catch (...) {
      db.exec("ROLLBACK");
      throw;
    }
    rows_ += changed;
    if (rows_ >= 2 * analysed_rows_ + 100) analyse(db);
    return changed;
  }

  std::optional<Product> get(const std::string& id) const override { return one("p.id", id); }
  std::optional<Product> get_by_name(const std::string& name) const override { return one("p.name", name); }

  SearchResult search(const Query& q) const override {
    if (q.limit > 10'000) throw Error(ErrorCode::invalid_parameter, "limit must be at most 10000", "limit");
    Compiler c;
    c.scope = constrained_collections(q.where);
    const std::string where = c.compile(q.where);
    const auto where_params = c.params;
    // The page: the filter, then the keyset position, then the order (parameters in that order).
    std::string page_where = where;
    if (q.after) page_where = "(" + where + ") AND " + c.compile(keyset_predicate(q.sort, *q.after));
    const std::string order = c.order_by(q.sort);
    auto params = c.params;
    params.emplace_back(static_cast<std::int64_t>(q.limit));
    params.emplace_back(static_cast<std::int64_t>(q.offset));
    SearchResult out;
    auto db = reader();
    const bool page = q.limit > 0, count = q.count == CountMode::exact;
    // One read transaction for the page and the count, so that they see the same snapshot.
    if (page && count) db->exec("BEGIN");
    try {
      if (page) {
        db->query(fmt::format("SELECT p.doc FROM products p WHERE {} ORDER BY {} LIMIT ? OFFSET ?", page_where, order),
                  params, [&](sqlite3_stmt* st) {
                    out.products.push_back(product_from_json(
                        nlohmann::json::parse(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)))));
                  });
      }
      if (count) {
        std::size_t total = 0;
        if (q.count_limit > 0) {
          auto bounded = where_params;
          bounded.emplace_back(static_cast<std::int64_t>(q.count_limit) + 1);
          db->query(fmt::format("SELECT count(*) FROM (SELECT 1 FROM products p WHERE {} LIMIT ?)", where), bounded,
                    [&](sqlite3_stmt* st) { total = static_cast<std::size_t>(sqlite3_column_int64(st, 0)); });
          if (total > q.count_limit) {
            total = q.count_limit;
            out.total_exact = false;
          }
        } else {
          db->query(fmt::format("SELECT count(*) FROM products p WHERE {}", where), where_params,
                    [&](sqlite3_stmt* st) { total = static_cast<std::size_t>(sqlite3_column_int64(st, 0)); });
        }
        out.total = total;
      }
    } catch (...) {
      if (page && count) db->exec("ROLLBACK");
      throw;
    }
    if (page && count) db->exec("COMMIT");
    release(std::move(db));
    return out;
  }

  bool remove(const std::string& id, const std::string& cause) override {
    std::lock_guard lock(write_mutex_);
    Db& db = *writer_;
    db.exec("BEGIN IMMEDIATE");
    try {
      std::optional<std::int64_t> rid;
      std::string name;
      db.query("SELECT rid, name FROM products WHERE id = ?", {id}, [&](sqlite3_stmt* st) {
        rid = sqlite3_column_int64(st, 0);
        name.assign(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)));
      });
      if (!rid) {
        db.exec("ROLLBACK");
        return false;
      }
      db.query("DELETE FROM attributes WHERE rid = ?", {*rid}, {});
      db.query("DELETE FROM products_rtree WHERE rid = ?", {*rid}, {});
      db.query("DELETE FROM products WHERE rid = ?", {*rid}, {});
      const auto now = to_micros(std::chrono::system_clock::now());
      db.query(
          "INSERT OR REPLACE INTO deleted_products(id, name, deleted, cause) VALUES(?, ?, ?, "
          "?)",
          {id, name, now, cause}, {});
      db.exec("COMMIT");
      return true;
    } catch (...) {
      db.exec("ROLLBACK");
      throw;
    }
  }

  std::vector<DeletedProduct> deleted(std::size_t limit, std::size_t offset) const override {
    std::vector<DeletedProduct> out;
    auto db = reader();
    db->query("SELECT id, name, deleted, cause FROM deleted_products ORDER BY deleted DESC, id LIMIT ? OFFSET ?",
              {static_cast<std::int64_t>(limit), static_cast<std::int64_t>(offset)}, [&](sqlite3_stmt* st) {
                out.push_back({reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                               reinterpret_cast<const char*>(sqlite3_column_text(st, 1)),
                               from_micros(sqlite3_column_int64(st, 2)),
                               reinterpret_cast<const char*>(sqlite3_column_text(st, 3))});
              });
    release(std::move(db));
    return out;
  }

  void ping() const override {
    auto db = reader();
    db->query("SELECT 1", {}, {});
    release(std::move(db));
  }

 private:
  std::optional<Product> one(const char* col, const std::string& value) const {
    std::optional<Product> out;
    auto db = reader();
    db->query(fmt::format("SELECT p.doc FROM products p WHERE {} = ?", col), {value}, [&](sqlite3_stmt* st) {
      out = product_from_json(nlohmann::json::parse(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))));
    });
    release(std::move(db));
    return out;
  }

  // Readers use their own connections (WAL: readers never block the writer nor each other).
  std::unique_ptr<Db> reader() const {
    {
      std::lock_guard lock(pool_mutex_);
      if (!pool_.empty()) {
        auto db = std::move(pool_.back());
        pool_.pop_back();
        return db;
      }
    }
    return std::make_unique<Db>(file_);
  }
  void release(std::unique_ptr<Db> db) const {
    std::lock_guard lock(pool_mutex_);
    if (pool_.size() < 16) pool_.push_back(std::move(db));
  }

  std::filesystem::path file_;
  // Sampled statistics (1000 rows per index: ~0.1 s on a million products), refreshed each time
  // the catalogue has doubled since the last time.
  void analyse(Db& db) {
    db.exec("PRAGMA analysis_limit=1000; ANALYZE;");
    analysed_rows_ = rows_;
  }

  std::mutex write_mutex_;
  std::unique_ptr<Db> writer_;
  std::size_t rows_ = 0;           // products written (an upper bound of the count; rids only grow)
  std::size_t analysed_rows_ = 0;  // rows_ at the last ANALYZE
  mutable std::mutex pool_mutex_;
  mutable std::vector<std::unique_ptr<Db>> pool_;
};

}  // namespace

std::unique_ptr<CatalogStore> open_sqlite_store(const std::filesystem::path& file) {
  return std::make_unique<SqliteStore>(file);
}

}  // namespace ds::catalog
