// The catalogue store contract, as a typed suite: every store implementation must give the same
// answers. The PostGIS cases run when DATASPACE_PG_URL names a server (scripts/with-postgres sets it;
// the catalog_postgis CTest test does so) and are skipped otherwise.

#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

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
