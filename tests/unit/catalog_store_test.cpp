// The catalogue store contract, as a typed suite: every store implementation must give the same
// answers. The PostGIS cases run when DATASPACE_PG_URL names a server (scripts/with-postgres sets it;
// the catalog_postgis CTest test does so) and are skipped otherwise.

#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "catalog/store.hpp"
#include "core/error.hpp"

namespace fs = std::filesystem;
using namespace ds::catalog;
using namespace std::chrono_literals;

namespace {

Time day(int d) { return Time{} + std::chrono::hours(24) * (19'000 + d); }  // 2022-01-08 + d

std::string fmt_name(const char* tile, int d) {
  return std::string("S2A_MSIL2A_2022") + (d < 2 ? "01" : "02") + std::to_string(10 + d) + "T100600_N0400_R022_T" +
         tile + "_X.SAFE";
}

// A grid of S2-like products: 4 tiles (1° squares) × 10 dates, with cloudCover and tileId.
std::vector<Product> sample_products() {
  std::vector<Product> out;
  const char* tiles[4] = {"32TPS", "32TQS", "32TPR", "33TUM"};
  for (int t = 0; t < 4; ++t) {
    const double x0 = 10 + t % 2, y0 = 46 - t / 2;
    for (int d = 0; d < 10; ++d) {
      Product p;
      p.name = fmt_name(tiles[t], d);
      p.id = product_uuid(p.name);
      p.collection = t == 3 ? "SENTINEL-1" : "SENTINEL-2";
      p.product_type = t == 3 ? "IW_GRDH_1S" : "S2MSI2A";
      p.sensing_start = day(d * 5);
      p.sensing_end = p.sensing_start + 10s;
      p.publication = p.sensing_start + 3h;
      p.modification = p.publication;
      p.footprint_wkt = "POLYGON((" + std::to_string(x0) + " " + std::to_string(y0) + "," + std::to_string(x0 + 1) +
                        " " + std::to_string(y0) + "," + std::to_string(x0 + 1) + " " + std::to_string(y0 + 1) + "," +
                        std::to_string(x0) + " " + std::to_string(y0 + 1) + "," + std::to_string(x0) + " " +
                        std::to_string(y0) + "))";
      p.online = d % 4 != 3;
      p.key = "Sentinel-2/MSI/L2A/" + p.name;
      p.attributes = {{"cloudCover", static_cast<double>((d * 11 + t * 7) % 100)},
                      {"tileId", std::string(tiles[t])},
                      {"relativeOrbitNumber", std::int64_t{22 + t}},
                      {"beginningDateTime", p.sensing_start}};
      p.assets = {{"B04_10m", "GRANULE/B04.jp2", "image/jp2", {"data"}, {"B04"}, 10.0, 1234, "Red"}};
      out.push_back(std::move(p));
    }
  }
  return out;
}

template <class T>
class CatalogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ds-catalog-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = T::open(dir_);
    if (!store_) GTEST_SKIP() << T::skip_reason;
    store_->upsert(sample_products());
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  std::vector<std::string> names(const Query& q) {
    std::vector<std::string> out;
    for (const auto& p : store_->search(q).products) out.push_back(p.name);
    return out;
  }
  std::size_t count(ExprPtr where) {
    Query q;
    q.where = std::move(where);
    q.limit = 0;
    q.count = CountMode::exact;
    return *store_->search(q).total;
  }
  fs::path dir_;
  std::unique_ptr<CatalogStore> store_;
};

struct Sqlite {
  static constexpr const char* skip_reason = "";
  static std::unique_ptr<CatalogStore> open(const fs::path& dir) { return open_sqlite_store(dir / "catalogue.db"); }
};

// Runs one SQL statement without parameters on a fresh connection (test set-up only).
void pg_exec(const std::string& url, const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url.c_str()), PQfinish);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()), PQclear);
  ASSERT_EQ(PQresultStatus(r.get()), PGRES_COMMAND_OK) << PQerrorMessage(conn.get());
}

// Each test gets its own empty schema (named after the process, so parallel test processes never
// share one), first on the store's search_path; it is dropped when the store is closed.
class SchemaScopedStore final : public CatalogStore {
 public:
  SchemaScopedStore(std::string url, std::string schema, std::unique_ptr<CatalogStore> inner)
      : url_(std::move(url)), schema_(std::move(schema)), inner_(std::move(inner)) {}
  ~SchemaScopedStore() override {
    inner_.reset();
    pg_exec(url_, "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  }
  std::size_t upsert(const std::vector<Product>& p) override { return inner_->upsert(p); }
  std::optional<Product> get(const std::string& id) const override { return inner_->get(id); }
  std::optional<Product> get_by_name(const std::string& name) const override { return inner_->get_by_name(name); }
  SearchResult search(const Query& q) const override { return inner_->search(q); }
  bool remove(const std::string& id, const std::string& cause) override { return inner_->remove(id, cause); }
  std::vector<DeletedProduct> deleted(std::size_t limit, std::size_t offset) const override {
    return inner_->deleted(limit, offset);
  }
  void ping() const override { inner_->ping(); }

 private:
  std::string url_, schema_;
  std::unique_ptr<CatalogStore> inner_;
};

struct Postgis {
  static constexpr const char* skip_reason =
      "DATASPACE_PG_URL is not set: run under scripts/with-postgres (CTest: catalog_postgis) to test the PostGIS "
      "store";
  static std::unique_ptr<CatalogStore> open(const fs::path&) {
    const char* url = std::getenv("DATASPACE_PG_URL");
    if (!url || !*url) return nullptr;
    const std::string schema = "ds_test_" + std::to_string(::getpid());
    pg_exec(url, "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    pg_exec(url, "CREATE SCHEMA " + schema);
    // libpq URI parameter: options=-c search_path=<schema>,public (PostGIS lives in public).
    const std::string base = url;
    const std::string scoped =
        base + (base.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema + "%2Cpublic";
    return std::make_unique<SchemaScopedStore>(url, schema, open_postgis_store(scoped));
  }
};

using Stores = ::testing::Types<Sqlite, Postgis>;
TYPED_TEST_SUITE(CatalogStoreTest, Stores);

}  // namespace

TYPED_TEST(CatalogStoreTest, RoundTripsWholeProducts) {
  const auto all = sample_products();
  auto p = this->store_->get(all[5].id);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, all[5].name);
  EXPECT_EQ(p->sensing_start, all[5].sensing_start);
  ASSERT_EQ(p->attributes.size(), 4u);
  EXPECT_EQ(std::get<double>(p->attribute("cloudCover")->value),
            std::get<double>(all[5].attribute("cloudCover")->value));
  EXPECT_EQ(p->attribute("beginningDateTime")->type(), AttributeType::datetime);
  ASSERT_EQ(p->assets.size(), 1u);
  EXPECT_EQ(*p->assets[0].gsd, 10.0);
  EXPECT_TRUE(this->store_->get_by_name(all[5].name));
  EXPECT_FALSE(this->store_->get("00000000-0000-0000-0000-000000000000"));
}

TYPED_TEST(CatalogStoreTest, ReingestingChangesNothing) {
  EXPECT_EQ(this->store_->upsert(sample_products()), 0u);
  auto changed = sample_products();
  changed[0].online = false;
  EXPECT_EQ(this->store_->upsert({changed[0], changed[1]}), 1u);
  EXPECT_FALSE(this->store_->get(changed[0].id)->online);
}

TYPED_TEST(CatalogStoreTest, FiltersByFieldsTimeAndText) {
  EXPECT_EQ(this->count(compare(Field::collection, CompareOp::eq, std::string("SENTINEL-2"))), 30u);
  EXPECT_EQ(this->count(in(Field::collection, {std::string("SENTINEL-1"), std::string("NOPE")})), 10u);
  EXPECT_EQ(this->count(all_of({compare(Field::sensing_start, CompareOp::ge, day(10)),
                                compare(Field::sensing_start, CompareOp::lt, day(20))})),
            8u);
  EXPECT_EQ(this->count(match(Field::name, TextMatch::contains, "T32TP")), 20u);
  EXPECT_EQ(this->count(match(Field::name, TextMatch::starts_with, "S2A_MSIL2A_202201")), 8u);
  EXPECT_EQ(this->count(match(Field::name, TextMatch::ends_with, "_X.SAFE")), 40u);
  EXPECT_EQ(this->count(match(Field::name, TextMatch::contains, "t32tp")), 0u);  // case-sensitive
  EXPECT_EQ(this->count(compare(Field::online, CompareOp::eq, false)), 8u);
  EXPECT_EQ(this->count(nullptr), 40u);
}

TYPED_TEST(CatalogStoreTest, SensingEndTestsFindLongProductsWhateverTheCollectionScope) {
  // Sensing-end tests are bounded by the longest duration of the collections in scope: a DEM-like
  // product sensed over years must still be found, and a later, longer product widens the bound.
  auto long_product = [](const char* name, Time start, Time end) {
    Product p = sample_products().front();
    p.name = name;
    p.id = product_uuid(p.name);
    p.collection = "COP-DEM";
    p.product_type = "DGE_30";
    p.sensing_start = start;
    p.sensing_end = end;
    return p;
  };
  ASSERT_EQ(this->store_->upsert({long_product("DEM_A", day(-400), day(20))}), 1u);
  const auto overlaps = [](int from, int to) {
    return all_of(
        {compare(Field::sensing_end, CompareOp::ge, day(from)), compare(Field::sensing_start, CompareOp::le, day(to))});
  };
  const auto dem = compare(Field::collection, CompareOp::eq, std::string("COP-DEM"));
  const auto s2 = compare(Field::collection, CompareOp::eq, std::string("SENTINEL-2"));
  EXPECT_EQ(this->count(all_of({dem, overlaps(10, 12)})), 1u);
  EXPECT_EQ(this->count(overlaps(10, 12)), 1u + 4u);  // DEM_A and the four products of day 10
  EXPECT_EQ(this->count(all_of({s2, overlaps(10, 12)})), 3u);
  EXPECT_EQ(this->count(all_of({any_of({dem, s2}), overlaps(10, 12)})), 4u);
  EXPECT_EQ(this->count(all_of({in(Field::collection, {std::string("COP-DEM")}), overlaps(19, 19)})), 1u);
  EXPECT_EQ(this->count(all_of({dem, negate(compare(Field::sensing_end, CompareOp::ge, day(10)))})), 0u);
  EXPECT_EQ(this->count(all_of({dem, compare(Field::sensing_end, CompareOp::gt, day(21))})), 0u);
  // A longer product of the same collection, ingested later.
  ASSERT_EQ(this->store_->upsert({long_product("DEM_B", day(-4000), day(30))}), 1u);
  EXPECT_EQ(this->count(all_of({dem, overlaps(25, 26)})), 1u);
  EXPECT_EQ(this->count(all_of({dem, compare(Field::sensing_end, CompareOp::eq, day(30))})), 1u);
}

TYPED_TEST(CatalogStoreTest, TypedAttributesCompareNumbersWhateverTheirDeclaredType) {
  const auto by_double = this->count(attribute("cloudCover", CompareOp::lt, 30.0));
  const auto by_int = this->count(attribute("cloudCover", CompareOp::lt, std::int64_t{30}));
  EXPECT_EQ(by_double, by_int);
  EXPECT_GT(by_double, 0u);
  EXPECT_EQ(this->count(attribute("relativeOrbitNumber", CompareOp::eq, 22.0)), 10u);
  EXPECT_EQ(this->count(attribute("tileId", CompareOp::eq, std::string("32TQS"))), 10u);
  EXPECT_EQ(this->count(attribute("beginningDateTime", CompareOp::ge, day(40))), 8u);
  EXPECT_EQ(this->count(attribute("noSuchAttribute", CompareOp::eq, 1.0)), 0u);
}

TYPED_TEST(CatalogStoreTest, SpatialPredicatesAreExactNotJustEnvelopes) {
  // A point inside tile 0 only, and a triangle whose envelope touches tile 1 but whose shape does not.
  EXPECT_EQ(this->count(spatial(SpatialOp::intersects, "POINT(10.5 46.5)")), 10u);
  EXPECT_EQ(this->count(spatial(SpatialOp::intersects, "POLYGON((9 45.5,10.9 47.5,9 47.5,9 45.5))")), 10u);
  EXPECT_EQ(this->count(spatial(SpatialOp::within, "POLYGON((9.5 45.5,12.5 45.5,12.5 47.5,9.5 47.5,9.5 45.5))")), 20u);
  EXPECT_EQ(this->count(spatial(SpatialOp::contains, "POINT(11.5 46.5)")), 10u);
  EXPECT_EQ(this->count(spatial(SpatialOp::intersects,
                                "MULTIPOLYGON(((0 0,1 0,1 1,0 1,0 0)),((10.2 45.2,10.3 45.2,10.3 45.3,10.2 45.2)))")),
            10u);
}

TYPED_TEST(CatalogStoreTest, BooleanLogicCombinesEverything) {
  auto expr = all_of({compare(Field::collection, CompareOp::eq, std::string("SENTINEL-2")),
                      any_of({spatial(SpatialOp::intersects, "POINT(10.5 46.5)"),
                              attribute("tileId", CompareOp::eq, std::string("32TPR"))}),
                      negate(compare(Field::online, CompareOp::eq, false))});
  EXPECT_EQ(this->count(expr), 16u);
}

TYPED_TEST(CatalogStoreTest, SortsWithStableTieBreakAndPages) {
  Query q;
  q.sort = {{Field::sensing_start, true}};
  q.limit = 7;
  std::vector<std::string> paged;
  for (q.offset = 0; q.offset < 40; q.offset += 7) {
    auto page = this->names(q);
    paged.insert(paged.end(), page.begin(), page.end());
  }
  q.offset = 0;
  q.limit = 100;
  EXPECT_EQ(paged, this->names(q));
  ASSERT_EQ(paged.size(), 40u);
  const auto first = this->store_->get_by_name(paged.front());
  const auto last = this->store_->get_by_name(paged.back());
  EXPECT_GE(first->sensing_start, last->sensing_start);
}

TYPED_TEST(CatalogStoreTest, BadGeometryAndLimitsAreClearErrors) {
  Query q;
  q.where = spatial(SpatialOp::intersects, "POLYGON((0 0,1 1,1 0,0 1,0 0))");  // self-intersection
  try {
    this->store_->search(q);
    FAIL();
  } catch (const ds::Error& e) {
    EXPECT_EQ(e.code(), ds::ErrorCode::invalid_parameter);
    EXPECT_NE(e.message().find("Self-intersection"), std::string::npos) << e.message();
  }
  q.where = spatial(SpatialOp::intersects, "POLYGON((0 0,1 1");
  EXPECT_THROW(this->store_->search(q), ds::Error);
  q.where = nullptr;
  q.limit = 20'000;
  EXPECT_THROW(this->store_->search(q), ds::Error);
  q.limit = 10;
  q.where = compare(Field::sensing_start, CompareOp::gt, std::string("yesterday"));
  EXPECT_THROW(this->store_->search(q), ds::Error);
}

TYPED_TEST(CatalogStoreTest, ABadProductFailsTheWholeBatch) {
  auto batch = sample_products();
  batch[0].name = "NEW_ONE.SAFE";
  batch[0].id = product_uuid(batch[0].name);
  batch[1].name = "BROKEN.SAFE";
  batch[1].id = product_uuid(batch[1].name);
  batch[1].footprint_wkt = "POLYGON((0 0,1 1,1 0,0 1,0 0))";
  EXPECT_THROW(this->store_->upsert(batch), ds::Error);
  EXPECT_FALSE(this->store_->get_by_name("NEW_ONE.SAFE"));
}

TYPED_TEST(CatalogStoreTest, DeletedProductsAreRememberedWithTheirCause) {
  const auto id = sample_products()[3].id;
  EXPECT_TRUE(this->store_->remove(id, "Corrupted product"));
  EXPECT_FALSE(this->store_->remove(id, "again"));
  EXPECT_FALSE(this->store_->get(id));
  const auto d = this->store_->deleted(10, 0);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].id, id);
  EXPECT_EQ(d[0].cause, "Corrupted product");
  EXPECT_EQ(this->count(nullptr), 39u);
  EXPECT_NO_THROW(this->store_->ping());
}

// ---------------------------------------------------------------------------------------------
// The parity battery: one archive of varied products (four missions, footprints of every shape
// including antimeridian multipolygons, all five attribute types, ties on every sort key) loaded
// into both stores, then 60 queries mixing every predicate kind, each with several sort orders and
// pages: ids and counts must be identical, in the same order. Runs in catalog_postgis.
namespace {

struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }
  double unit() { return static_cast<double>(next() % 1'000'000) / 1e6; }
};

std::string box_wkt(double w, double s, double e, double n) {
  return fmt::format("POLYGON(({0} {1},{2} {1},{2} {3},{0} {3},{0} {1}))", w, s, e, n);
}

std::vector<Product> battery_products() {
  Rng rng{0x9e3779b97f4a7c15ULL};
  const char* collections[4] = {"SENTINEL-1", "SENTINEL-2", "SENTINEL-3", "SENTINEL-5P"};
  const char* types[4][2] = {{"IW_GRDH_1S", "IW_SLC__1S"},
                             {"S2MSI1C", "S2MSI2A"},
                             {"OL_1_EFR___", "SL_1_RBT___"},
                             {"L2__NO2___", "L2__CO____"}};
  std::vector<Product> out;
  for (int i = 0; i < 400; ++i) {
    const int m = rng.below(4);
    Product p;
    p.collection = collections[m];
    p.product_type = types[m][rng.below(2)];
    p.name = fmt::format("{}_{}_{:04d}_{}.SAFE", p.collection, p.product_type, i, rng.below(1000));
    p.id = product_uuid(p.name);
    // 90 days, on whole hours so that many products tie on time (the id breaks the tie).
    p.sensing_start = day(rng.below(90)) + std::chrono::hours(rng.below(3) * 6);
    p.sensing_end = p.sensing_start + std::chrono::seconds(rng.below(4) * 30);
    p.publication = p.sensing_start + std::chrono::hours(1 + rng.below(48));
    p.modification = p.publication + std::chrono::hours(rng.below(2) * 24);
    const int shape = rng.below(10);
    const double w = -20 + rng.below(60), s = 30 + rng.below(35);
    if (shape == 0) {  // across the antimeridian
      p.footprint_wkt = "MULTIPOLYGON(((178 " + std::to_string(s) + ",180 " + std::to_string(s) + ",180 " +
                        std::to_string(s + 3) + ",178 " + std::to_string(s + 3) + ",178 " + std::to_string(s) +
                        ")),((-180 " + std::to_string(s) + ",-177 " + std::to_string(s) + ",-177 " +
                        std::to_string(s + 3) + ",-180 " + std::to_string(s + 3) + ",-180 " + std::to_string(s) + ")))";
    } else if (shape == 1) {  // a triangle whose envelope is much larger than itself
      p.footprint_wkt = fmt::format("POLYGON(({0} {1},{2} {1},{0} {3},{0} {1}))", w, s, w + 4, s + 4);
    } else if (shape == 2) {  // a large swath
      p.footprint_wkt = box_wkt(w, s, w + 12, s + 10);
    } else {
      p.footprint_wkt = box_wkt(w, s, w + 1 + rng.below(2), s + 1);
    }
    p.online = rng.below(5) != 0;
    p.key = p.collection + "/" + p.name;
    p.attributes.push_back({"productType", p.product_type});
    if (m == 1 || m == 2) p.attributes.push_back({"cloudCover", static_cast<double>(rng.below(21)) * 5.0});
    p.attributes.push_back({"orbitNumber", std::int64_t{10000 + rng.below(50)}});
    p.attributes.push_back({"relativeOrbitNumber", std::int64_t{1 + rng.below(10)}});
    p.attributes.push_back({"orbitDirection", std::string(rng.below(2) ? "ASCENDING" : "DESCENDING")});
    if (m == 1) p.attributes.push_back({"tileId", fmt::format("3{}T{}", 1 + rng.below(3), "PQR"[rng.below(3)])});
    p.attributes.push_back({"processingDate", p.publication - std::chrono::minutes(30)});
    if (m == 0) p.attributes.push_back({"sliceProductFlag", rng.below(2) == 1});
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<std::pair<std::string, ExprPtr>> battery_queries() {
  using V = AttributeValue;
  std::vector<std::pair<std::string, ExprPtr>> q;
  auto add = [&](std::string name, ExprPtr e) { q.emplace_back(std::move(name), std::move(e)); };
  const std::string alps = box_wkt(5, 43, 15, 50);
  const std::string pacific = box_wkt(175, 30, 185, 70);
  const std::string wrapped =
      "MULTIPOLYGON(((179 0,180 0,180 80,179 80,179 0)),((-180 0,-179 0,-179 80,-180 80,-180 0)))";
  add("everything", nullptr);
  add("collection =", compare(Field::collection, CompareOp::eq, V{std::string("SENTINEL-2")}));
  add("collection <>", compare(Field::collection, CompareOp::ne, V{std::string("SENTINEL-2")}));
  add("collection in", in(Field::collection, {V{std::string("SENTINEL-1")}, V{std::string("SENTINEL-5P")}}));
  add("product type =", compare(Field::product_type, CompareOp::eq, V{std::string("S2MSI2A")}));
  add("product type in", in(Field::product_type, {V{std::string("OL_1_EFR___")}, V{std::string("IW_SLC__1S")}}));
  add("name contains", match(Field::name, TextMatch::contains, "_01"));
  add("name startswith", match(Field::name, TextMatch::starts_with, "SENTINEL-3_SL"));
  add("name endswith", match(Field::name, TextMatch::ends_with, "7.SAFE"));
  add("name contains nothing", match(Field::name, TextMatch::contains, "%"));
  add("name underscore literal", match(Field::name, TextMatch::contains, "L2__C"));
  add("product type startswith", match(Field::product_type, TextMatch::starts_with, "S2"));
  add("name >", compare(Field::name, CompareOp::gt, V{std::string("SENTINEL-3")}));
  add("start >=", compare(Field::sensing_start, CompareOp::ge, V{day(45)}));
  add("start <", compare(Field::sensing_start, CompareOp::lt, V{day(10)}));
  add("end <=", compare(Field::sensing_end, CompareOp::le, V{day(20) + std::chrono::hours(6)}));
  add("start = exact", compare(Field::sensing_start, CompareOp::eq, V{day(30)}));
  add("publication >", compare(Field::publication, CompareOp::gt, V{day(60)}));
  add("modification <", compare(Field::modification, CompareOp::lt, V{day(15)}));
  add("time window", all_of({compare(Field::sensing_start, CompareOp::ge, V{day(20)}),
                             compare(Field::sensing_end, CompareOp::le, V{day(40)})}));
  add("online", compare(Field::online, CompareOp::eq, V{true}));
  add("offline", compare(Field::online, CompareOp::eq, V{false}));
  add("id =", compare(Field::id, CompareOp::eq, V{battery_products()[17].id}));
  add("id in", in(Field::id, {V{battery_products()[3].id}, V{battery_products()[99].id}, V{std::string("nope")}}));
  add("cloud <", attribute("cloudCover", CompareOp::lt, V{30.0}));
  add("cloud <= int", attribute("cloudCover", CompareOp::le, V{std::int64_t{30}}));
  add("cloud = ", attribute("cloudCover", CompareOp::eq, V{50.0}));
  add("cloud <>", attribute("cloudCover", CompareOp::ne, V{0.0}));
  add("cloud >", attribute("cloudCover", CompareOp::gt, V{std::int64_t{80}}));
  add("orbit between", all_of({attribute("orbitNumber", CompareOp::ge, V{std::int64_t{10010}}),
                               attribute("orbitNumber", CompareOp::le, V{std::int64_t{10020}})}));
  add("orbit as double", attribute("orbitNumber", CompareOp::eq, V{10025.0}));
  add("relative orbit >=", attribute("relativeOrbitNumber", CompareOp::ge, V{std::int64_t{8}}));
  add("direction =", attribute("orbitDirection", CompareOp::eq, V{std::string("ASCENDING")}));
  add("direction <>", attribute("orbitDirection", CompareOp::ne, V{std::string("ASCENDING")}));
  add("tile =", attribute("tileId", CompareOp::eq, V{std::string("32TQ")}));
  add("tile >", attribute("tileId", CompareOp::gt, V{std::string("32")}));
  add("processing date >", attribute("processingDate", CompareOp::gt, V{day(50)}));
  add("processing date <=", attribute("processingDate", CompareOp::le, V{day(5)}));
  add("boolean attribute", attribute("sliceProductFlag", CompareOp::eq, V{true}));
  add("absent attribute", attribute("noSuchThing", CompareOp::eq, V{std::string("x")}));
  add("has cloud cover", has_attribute("cloudCover"));
  add("has no tile", negate(has_attribute("tileId")));
  add("intersects alps", spatial(SpatialOp::intersects, alps));
  add("within alps", spatial(SpatialOp::within, alps));
  add("contains point", spatial(SpatialOp::contains, "POINT(10.5 46.5)"));
  add("intersects point", spatial(SpatialOp::intersects, "POINT(0.2 40.2)"));
  add("intersects line", spatial(SpatialOp::intersects, "LINESTRING(-20 30,40 65)"));
  add("intersects pacific", spatial(SpatialOp::intersects, pacific));
  add("intersects wrapped", spatial(SpatialOp::intersects, wrapped));
  add("triangle envelope miss", spatial(SpatialOp::intersects, box_wkt(2.9, 33.9, 3.0, 34.0)));
  add("not online", negate(compare(Field::online, CompareOp::eq, V{true})));
  add("not in alps", negate(spatial(SpatialOp::intersects, alps)));
  add("or of collections", any_of({compare(Field::collection, CompareOp::eq, V{std::string("SENTINEL-3")}),
                                   attribute("cloudCover", CompareOp::lt, V{10.0})}));
  add("s2 month box cloud",
      all_of({compare(Field::collection, CompareOp::eq, V{std::string("SENTINEL-2")}),
              compare(Field::sensing_start, CompareOp::ge, V{day(30)}),
              compare(Field::sensing_start, CompareOp::lt, V{day(60)}), spatial(SpatialOp::intersects, alps),
              attribute("cloudCover", CompareOp::lt, V{30.0})}));
  add("nested or/and/not",
      any_of({all_of({compare(Field::collection, CompareOp::eq, V{std::string("SENTINEL-1")}),
                      negate(attribute("orbitDirection", CompareOp::eq, V{std::string("DESCENDING")}))}),
              all_of({compare(Field::collection, CompareOp::eq, V{std::string("SENTINEL-5P")}),
                      spatial(SpatialOp::intersects, box_wkt(-10, 40, 10, 55))})}));
  add("not (a or b)", negate(any_of({compare(Field::collection, CompareOp::eq, V{std::string("SENTINEL-1")}),
                                     compare(Field::collection, CompareOp::eq, V{std::string("SENTINEL-2")})})));
  add("attribute or spatial", any_of({attribute("relativeOrbitNumber", CompareOp::eq, V{std::int64_t{3}}),
                                      spatial(SpatialOp::within, box_wkt(-20, 30, 0, 50))}));
  add("not attribute", negate(attribute("cloudCover", CompareOp::ge, V{50.0})));
  add("empty and", all_of({}));
  add("contradiction",
      all_of({compare(Field::online, CompareOp::eq, V{true}), compare(Field::online, CompareOp::eq, V{false})}));
  add("in + text + time",
      all_of({in(Field::product_type, {V{std::string("S2MSI1C")}, V{std::string("L2__CO____")}}),
              match(Field::name, TextMatch::contains, "_0"), compare(Field::publication, CompareOp::ge, V{day(10)})}));
  add("three attributes", all_of({attribute("cloudCover", CompareOp::le, V{60.0}),
                                  attribute("orbitDirection", CompareOp::eq, V{std::string("DESCENDING")}),
                                  attribute("relativeOrbitNumber", CompareOp::lt, V{std::int64_t{6}})}));
  return q;
}

std::vector<std::string> ids_of(const SearchResult& r) {
  std::vector<std::string> out;
  for (const auto& p : r.products) out.push_back(p.id);
  return out;
}

}  // namespace

TEST(CatalogParity, SqliteAndPostgisGiveIdenticalAnswers) {
  const auto dir = fs::temp_directory_path() / ("ds-parity-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto pg = Postgis::open(dir);
  if (!pg) GTEST_SKIP() << Postgis::skip_reason;
  auto lite = Sqlite::open(dir);
  const auto products = battery_products();
  ASSERT_EQ(lite->upsert(products), products.size());
  ASSERT_EQ(pg->upsert(products), products.size());

  const std::vector<std::vector<SortKey>> orders = {
      {},
      {{Field::sensing_start, true}},
      {{Field::publication, false}},
      {{Field::name, true}},
      {{Field::collection, false}, {Field::sensing_end, true}},
      {{Field::modification, true}, {Field::online, false}},
      {{Field::sensing_start, false, "cloudCover", AttributeType::double_}},
      {{Field::sensing_start, true, "tileId", AttributeType::string}, {Field::publication, true}},
      {{Field::sensing_start, false, "processingDate", AttributeType::datetime}}};
  const auto queries = battery_queries();
  ASSERT_GE(queries.size(), 50u);
  std::size_t compared = 0, nonempty = 0;
  for (const auto& [label, where] : queries) {
    for (std::size_t o = 0; o < orders.size(); ++o) {
      for (const std::size_t offset : {std::size_t{0}, std::size_t{7}}) {
        Query q;
        q.where = where;
        q.sort = orders[o];
        q.limit = 25;
        q.offset = offset;
        q.count = CountMode::exact;
        const auto a = lite->search(q);
        const auto b = pg->search(q);
        ASSERT_EQ(ids_of(a), ids_of(b)) << label << ", order " << o << ", offset " << offset;
        ASSERT_EQ(a.total, b.total) << label;
        // Keyset paging (field sorts): the page after the first row equals offset paging by one.
        if (offset == 0 && a.products.size() > 1 &&
            std::all_of(q.sort.begin(), q.sort.end(), [](const SortKey& k) { return k.attribute.empty(); })) {
          Query k = q;
          k.after = cursor_after(a.products.front(), q.sort);
          k.count = CountMode::none;
          k.limit = 24;
          const auto ka = lite->search(k), kb = pg->search(k);
          auto expected = ids_of(a);
          expected.erase(expected.begin());
          ASSERT_EQ(ids_of(ka), expected) << label << ", keyset, order " << o;
          ASSERT_EQ(ids_of(kb), expected) << label << ", keyset (PostGIS), order " << o;
        }
        ++compared;
        if (!a.products.empty()) ++nonempty;
      }
    }
  }
  // The battery is only worth something if most queries select something.
  EXPECT_GT(nonempty, compared * 3 / 4) << nonempty << " of " << compared;
  lite.reset();
  pg.reset();
  fs::remove_all(dir);
}

TYPED_TEST(CatalogStoreTest, KeysetPagingBoundedCountsAndAttributeSorts) {
  // Walk everything in pages of 7 with keyset cursors: every product once, in order.
  Query q;
  q.sort = {{Field::sensing_start, true}};
  q.limit = 7;
  std::vector<std::string> walked;
  while (true) {
    const auto page = this->store_->search(q);
    for (const auto& p : page.products) walked.push_back(p.name);
    if (page.products.size() < q.limit) break;
    q.after = cursor_after(page.products.back(), q.sort);
  }
  Query all;
  all.sort = q.sort;
  all.limit = 100;
  EXPECT_EQ(walked, this->names(all));
  // A count bound makes the total a flagged lower bound.
  Query c;
  c.limit = 0;
  c.count = CountMode::exact;
  c.count_limit = 25;
  auto r = this->store_->search(c);
  EXPECT_EQ(*r.total, 25u);
  EXPECT_FALSE(r.total_exact);
  c.count_limit = 100;
  r = this->store_->search(c);
  EXPECT_EQ(*r.total, 40u);
  EXPECT_TRUE(r.total_exact);
  // Sorting by an attribute: cloudCover ascending, products without it (none here) last.
  Query s;
  s.sort = {{Field::sensing_start, false, "cloudCover", AttributeType::double_}};
  s.limit = 40;
  double previous = -1;
  for (const auto& p : this->store_->search(s).products) {
    const double cc = std::get<double>(p.attribute("cloudCover")->value);
    EXPECT_GE(cc, previous);
    previous = cc;
  }
  EXPECT_THROW(cursor_after(sample_products()[0], s.sort), ds::Error);
  EXPECT_EQ(this->count(has_attribute("tileId")), 40u);
  EXPECT_EQ(this->count(negate(has_attribute("tileId"))), 0u);
}
