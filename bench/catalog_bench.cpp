// Catalogue search benchmark (issue "catalogue core"): N synthetic products (default 1,000,000;
// BENCH_CATALOG_N) loaded into the SQLite store and, when DATASPACE_PG_URL names a server (bench/run
// starts one with scripts/with-postgres), into the PostGIS store; then 50 seeded queries
// "collection + one month + 50 km box + cloudCover < 30, newest first, 100 rows" and their counts,
// through our query engine and, in the same run on the same database, as hand-written SQL:
// for SQLite driven by the R*Tree (CROSS JOIN fixes the join order: SQLite's default plan for the
// plain JOIN is 100x slower), for PostGIS the plain statement a DBA would type into psql, sent over
// libpq like psql does (without psql's process start-up).

#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "catalog/json.hpp"
#include "catalog/store.hpp"

using namespace ds::catalog;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

Time at_day(std::int64_t d) { return Time{} + std::chrono::hours(24) * d; }
constexpr std::int64_t kDay2023 = 19358;  // 2023-01-01

struct Q {
  std::string collection;
  Time from, to;
  double x0, y0, x1, y1;
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

const char* kCollections[3] = {"SENTINEL-1", "SENTINEL-2", "SENTINEL-3"};

// Products: 1° cells over Europe (lon -8..28, lat 37..68) for three collections, spread over
// 2023-2024 so that every cell is revisited every few days. Returns the load time in seconds.
double load(CatalogStore& store, std::size_t n) {
  const auto& collections = kCollections;
  std::mt19937_64 rng(7);
  const auto load_start = Clock::now();
  std::vector<Product> batch;
  for (std::size_t i = 0; i < n; ++i) {
    const int cell = static_cast<int>(i % (36 * 31));
    const int lon = -8 + cell % 36, lat = 37 + cell / 36;
    const std::size_t visit = i / (36 * 31);
    Product p;
    p.collection = collections[visit % 3];
    p.name = fmt::format("{}_{:07}_{:04}.SAFE", p.collection, visit, cell);
    p.id = product_uuid(p.name);
    // Product types of the built-in collections, so that every catalogue API can select them.
    static const char* const types[3] = {"IW_GRDH_1S-COG", "S2MSI2A", "OL_1_EFR___"};
    p.product_type = types[visit % 3];
    p.sensing_start =
        at_day(kDay2023) + std::chrono::minutes(static_cast<std::int64_t>(visit * 731 * 1440 / (n / (36 * 31) + 1)));
    p.sensing_end = p.sensing_start + std::chrono::seconds(20);
    p.publication = p.modification = p.sensing_start + std::chrono::hours(3);
    p.footprint_wkt = fmt::format("POLYGON(({0} {1},{2} {1},{2} {3},{0} {3},{0} {1}))", lon + 0.02, lat + 0.05,
                                  lon + 1.1, lat + 0.95);
    p.attributes = {{"cloudCover", static_cast<double>(rng() % 10000) / 100.0},
                    {"tileId", fmt::format("T{:04}", cell)}};
    batch.push_back(std::move(p));
    if (batch.size() == 20'000) {
      store.upsert(batch);
      batch.clear();
    }
  }
  store.upsert(batch);
  return std::chrono::duration<double>(Clock::now() - load_start).count();
}

std::vector<Q> make_queries() {
  const auto& collections = kCollections;
  std::vector<Q> queries;
  std::mt19937 qrng(11);
  for (int i = 0; i < 50; ++i) {
    Q q;
    q.collection = collections[qrng() % 3];
    const int month = static_cast<int>(qrng() % 24);
    q.from = at_day(kDay2023 + month * 30);
    q.to = at_day(kDay2023 + month * 30 + 30);
    const double lat = 37 + std::uniform_real_distribution<>(0, 31)(qrng),
                 lon = -8 + std::uniform_real_distribution<>(0, 36)(qrng);
    const double dy = 25 / 111.32, dx = 25 / (111.32 * std::cos(lat * M_PI / 180));
    q.x0 = lon - dx, q.x1 = lon + dx, q.y0 = lat - dy, q.y1 = lat + dy;
    queries.push_back(q);
  }
  return queries;
}

Query engine_query(const Q& q, bool count) {
  Query query;
  query.where =
      all_of({compare(Field::collection, CompareOp::eq, q.collection),
              compare(Field::sensing_start, CompareOp::ge, q.from), compare(Field::sensing_start, CompareOp::lt, q.to),
              spatial(SpatialOp::intersects,
                      fmt::format("POLYGON(({0} {1},{2} {1},{2} {3},{0} {3},{0} {1}))", q.x0, q.y0, q.x1, q.y1)),
              attribute("cloudCover", CompareOp::lt, 30.0)});
  query.sort = {{Field::sensing_start, true}};
  query.limit = count ? 0 : 100;
  query.count = count ? CountMode::exact : CountMode::none;
  return query;
}

// Runs the 50 queries twice (the first pass warms the caches; each query is also run once untimed
// both ways just before it is timed) through the engine and through
// `hand(search?, q)`, which returns the rows it produced, and prints p50/p95 and the ratios.
// With BENCH_CATALOG_KEEP=DIR the SQLite catalogue stays in DIR (and the PostGIS one in its
// database), with queries.json (the 50 queries) and sql-<store>.json (bare engine/SQL p50s), for
// bench/catalog_http.py to ask the same questions over HTTP.
const char* keep_dir() {
  const char* k = std::getenv("BENCH_CATALOG_KEEP");
  return k && *k ? k : nullptr;
}

void write_json(const std::string& name, const nlohmann::json& j) {
  if (!keep_dir()) return;
  std::ofstream(fs::path(keep_dir()) / name) << j.dump(2);
}

void measure(const char* label, const CatalogStore& store, const std::function<std::size_t(bool, const Q&)>& hand) {
  const auto queries = make_queries();
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<double> es, ec, hs, hc;
    std::size_t rows_e = 0, rows_h = 0;
    for (const auto& q : queries) {
      // Both forms once untimed first: at a million products the database outgrows PostgreSQL's
      // shared buffers, and whichever form ran first would pay for bringing the pages in.
      store.search(engine_query(q, false));
      hand(true, q);
      auto t0 = Clock::now();
      rows_e += store.search(engine_query(q, false)).products.size();
      es.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      t0 = Clock::now();
      store.search(engine_query(q, true));
      ec.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      t0 = Clock::now();
      rows_h += hand(true, q);
      hs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      t0 = Clock::now();
      hand(false, q);
      hc.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    if (pass == 0) continue;
    std::printf("%-8s %-34s %10s %9s %9s %9s %7s\n", label, "query (50 runs, ms)", "engine p50", "p95", "hand p50",
                "p95", "ratio");
    std::printf("%-8s %-34s %10.2f %9.2f %9.2f %9.2f %7.2f\n", label, "search 50 km, 1 month, cc<30, 100",
                percentile(es, .5), percentile(es, .95), percentile(hs, .5), percentile(hs, .95),
                percentile(es, .5) / percentile(hs, .5));
    std::printf("%-8s %-34s %10.2f %9.2f %9.2f %9.2f %7.2f\n", label, "count of the same", percentile(ec, .5),
                percentile(ec, .95), percentile(hc, .5), percentile(hc, .95), percentile(ec, .5) / percentile(hc, .5));
    std::printf("%-8s rows returned: engine %zu, hand-written %zu\n", label, rows_e, rows_h);
    write_json(std::string("sql-") + label + ".json", {{"engine_search_p50", percentile(es, .5)},
                                                       {"engine_count_p50", percentile(ec, .5)},
                                                       {"hand_search_p50", percentile(hs, .5)},
                                                       {"hand_count_p50", percentile(hc, .5)}});
  }
}

void bench_sqlite(std::size_t n) {
  const fs::path dir = keep_dir() ? fs::path(keep_dir())
                                  : fs::temp_directory_path() / ("ds-catalog-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path db = dir / "catalogue.db";
  auto store = open_sqlite_store(db);
  const double load_s = load(*store, n);
  std::printf("sqlite   loaded %zu products in %.1f s (%.0f products/s), database %.0f MB\n", n, load_s,
              static_cast<double>(n) / load_s, static_cast<double>(fs::file_size(db)) / 1e6);

  sqlite3* raw = nullptr;
  sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  const char* hand_search =
      "SELECT p.doc FROM products_rtree r CROSS JOIN products p ON p.rid = r.rid WHERE r.min_x <= ?1 AND r.max_x >= ?2 "
      "AND r.min_y <= ?3 AND r.max_y >= ?4 AND p.collection = ?5 AND p.sensing_start >= ?6 AND p.sensing_start < ?7 "
      "AND EXISTS (SELECT 1 FROM attributes a WHERE a.rid = p.rid AND a.name = 'cloudCover' AND a.v_num < 30) "
      "ORDER BY p.sensing_start DESC LIMIT 100";
  const char* hand_count =
      "SELECT count(*) FROM products_rtree r CROSS JOIN products p ON p.rid = r.rid WHERE r.min_x <= ?1 AND r.max_x >= "
      "?2 "
      "AND r.min_y <= ?3 AND r.max_y >= ?4 AND p.collection = ?5 AND p.sensing_start >= ?6 AND p.sensing_start < ?7 "
      "AND EXISTS (SELECT 1 FROM attributes a WHERE a.rid = p.rid AND a.name = 'cloudCover' AND a.v_num < 30)";
  auto run_hand = [&](const char* sql, const Q& q) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(raw, sql, -1, &st, nullptr);
    sqlite3_bind_double(st, 1, q.x1);
    sqlite3_bind_double(st, 2, q.x0);
    sqlite3_bind_double(st, 3, q.y1);
    sqlite3_bind_double(st, 4, q.y0);
    sqlite3_bind_text(st, 5, q.collection.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, to_micros(q.from));
    sqlite3_bind_int64(st, 7, to_micros(q.to));
    std::size_t rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
      // Decode the documents like the engine does, so both sides do the same work.
      if (sqlite3_column_count(st) == 1 && sqlite3_column_type(st, 0) == SQLITE_TEXT) {
        product_from_json(nlohmann::json::parse(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))));
      }
      ++rows;
    }
    sqlite3_finalize(st);
    return rows;
  };

  measure("sqlite", *store, [&](bool search, const Q& q) { return run_hand(search ? hand_search : hand_count, q); });
  sqlite3_close(raw);
  store.reset();
  if (!keep_dir()) fs::remove_all(dir);
}

void bench_postgis(std::size_t n, const std::string& url) {
  auto store = open_postgis_store(url);
  const double load_s = load(*store, n);
  std::printf("postgis  loaded %zu products in %.1f s (%.0f products/s)\n", n, load_s, static_cast<double>(n) / load_s);
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url.c_str()), PQfinish);
  { std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), "VACUUM ANALYZE"), PQclear); }
  const std::string where =
      "p.footprint && ST_MakeEnvelope($1, $2, $3, $4, 4326) AND ST_Intersects(p.footprint, ST_MakeEnvelope($1, $2, $3, "
      "$4, 4326)) AND p.collection = $5 AND p.sensing_start >= $6 AND p.sensing_start < $7 AND EXISTS (SELECT 1 FROM "
      "attributes a WHERE a.rid = p.rid AND a.name = 'cloudCover' AND a.v_num < 30)";
  const std::string hand_search =
      "SELECT p.doc FROM products p WHERE " + where + " ORDER BY p.sensing_start DESC LIMIT 100";
  const std::string hand_count = "SELECT count(*) FROM products p WHERE " + where;
  auto run_hand = [&](const std::string& sql, const Q& q) {
    const std::string v[7] = {fmt::format("{}", q.x0),
                              fmt::format("{}", q.y0),
                              fmt::format("{}", q.x1),
                              fmt::format("{}", q.y1),
                              q.collection,
                              std::to_string(to_micros(q.from)),
                              std::to_string(to_micros(q.to))};
    const char* values[7];
    for (int i = 0; i < 7; ++i) values[i] = v[i].c_str();
    std::unique_ptr<PGresult, decltype(&PQclear)> r(
        PQexecParams(conn.get(), sql.c_str(), 7, nullptr, values, nullptr, nullptr, 0), PQclear);
    const int rows = PQntuples(r.get());
    if (PQnfields(r.get()) == 1 && sql.find("p.doc") != std::string::npos) {
      for (int i = 0; i < rows; ++i) product_from_json(nlohmann::json::parse(PQgetvalue(r.get(), i, 0)));
    }
    return static_cast<std::size_t>(rows);
  };
  measure("postgis", *store, [&](bool search, const Q& q) { return run_hand(search ? hand_search : hand_count, q); });
}

}  // namespace

int main() {
  const std::size_t n =
      std::getenv("BENCH_CATALOG_N") ? std::strtoull(std::getenv("BENCH_CATALOG_N"), nullptr, 10) : 1'000'000;
  if (keep_dir()) {
    fs::create_directories(keep_dir());
    nlohmann::json qs = nlohmann::json::array();
    for (const auto& q : make_queries()) {
      qs.push_back({{"collection", q.collection},
                    {"from", to_micros(q.from)},
                    {"to", to_micros(q.to)},
                    {"bbox", {q.x0, q.y0, q.x1, q.y1}}});
    }
    write_json("queries.json", qs);
  }
  bench_sqlite(n);
  const char* url = std::getenv("DATASPACE_PG_URL");
  if (url && *url) {
    bench_postgis(n, url);
  } else {
    std::printf("postgis  skipped: DATASPACE_PG_URL is not set (bench/run sets it with scripts/with-postgres)\n");
  }
  return 0;
}
