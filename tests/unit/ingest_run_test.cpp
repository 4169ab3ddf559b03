// Ingestion end to end: synthetic products in a local object store → readers → SQLite catalogue.

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_spatialref.h>

#include "catalog/store.hpp"
#include "core/time.hpp"
#include "ingest/ingest.hpp"
#include "synth/generator.hpp"

namespace fs = std::filesystem;
using namespace ds;

namespace {

class IngestRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("ds-ingest-run-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    synth::SynthOptions o;
    o.data_dir = dir_;
    o.region = synth::parse_region("bolzano");
    o.from_day = synth::days_from_civil(2022, 6, 12);
    o.to_day = synth::days_from_civil(2022, 6, 13);
    o.missions = {"s1", "s2", "s3", "s5p", "dem"};
    o.scale = 10;
    synth::run_synth(o);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  void SetUp() override {
    fs::remove(dir_ / "catalogue.db");
    fs::remove(dir_ / "catalogue.db-wal");
    fs::remove(dir_ / "catalogue.db-shm");
    objects_ = storage::make_local_store(dir_ / "objects");
    catalogue_ = catalog::open_sqlite_store(dir_ / "catalogue.db");
  }
  static inline fs::path dir_;
  std::unique_ptr<storage::ObjectStore> objects_;
  std::unique_ptr<catalog::CatalogStore> catalogue_;
};

}  // namespace

TEST_F(IngestRun, CataloguesEveryProductOnceAndIsIdempotent) {
  const auto first = ingest::run_ingest(*objects_, *catalogue_, {});
  EXPECT_TRUE(first.failures.empty()) << first.failures.front().key << ": " << first.failures.front().reason;
  EXPECT_EQ(first.found, 10u);  // S2 L2A + L1C + L2A-COG + cloudless mosaic, S1, S3, 2 × S5P, 2 DEM tiles
  EXPECT_EQ(first.ingested, first.found);
  const auto again = ingest::run_ingest(*objects_, *catalogue_, {});
  EXPECT_EQ(again.ingested, 0u);
  EXPECT_EQ(again.unchanged, first.found);

  catalog::Query q;
  q.where =
      catalog::all_of({catalog::compare(catalog::Field::collection, catalog::CompareOp::eq, std::string("SENTINEL-2")),
                       catalog::spatial(catalog::SpatialOp::intersects, "POINT(11.35 46.49)")});
  q.count = catalog::CountMode::exact;
  const auto found = catalogue_->search(q);
  EXPECT_EQ(*found.total, 3u);
  for (const auto& p : found.products) {
    EXPECT_TRUE(p.attribute("cloudCover"));
    EXPECT_GT(p.content_length, 0u);
    EXPECT_NE(p.publication, catalog::Time{});
    // Every product has a quicklook: a browse image it ships, or a PNG rendered at ingest.
    ASSERT_FALSE(p.quicklook.empty()) << p.name;
    // Per-file checksums come from the archive's sidecar: MD5 and SHA3-256 of each data file.
    const auto* b04 = [&]() -> const catalog::Asset* {
      for (const auto& a : p.assets) {
        if (a.key == "B04_10m" || a.key == "B04") return &a;
      }
      return nullptr;
    }();
    ASSERT_NE(b04, nullptr) << p.name;
    ASSERT_EQ(b04->checksums.size(), 2u) << p.name;
    // The grid of the band is recorded (UTM 32N, the tile's size and origin).
    EXPECT_EQ(b04->epsg, 32632) << p.name;
    ASSERT_EQ(b04->shape.size(), 2u) << p.name;
    EXPECT_GT(b04->shape[0], 0);
    ASSERT_EQ(b04->transform.size(), 6u) << p.name;
    EXPECT_EQ(b04->transform[0], 600000.0);
    EXPECT_EQ(b04->checksums[0].algorithm, "MD5");
    EXPECT_EQ(b04->checksums[0].value.size(), 32u);
    EXPECT_EQ(b04->checksums[1].algorithm, "SHA3-256");
    EXPECT_EQ(b04->checksums[1].value.size(), 64u);
  }
}

TEST_F(IngestRun, RendersAQuicklookPngForProductsWithoutOne) {
  ingest::run_ingest(*objects_, *catalogue_, {});
  catalog::Query q;
  q.limit = 100;
  std::size_t rendered = 0;
  for (const auto& p : catalogue_->search(q).products) {
    SCOPED_TRACE(p.name);
    if (p.collection == "SENTINEL-5P" && p.product_type != "L2__NO2___") continue;
    ASSERT_FALSE(p.quicklook.empty());
    const catalog::Asset* ql = nullptr;
    for (const auto& a : p.assets) {
      if (a.key == p.quicklook) ql = &a;
    }
    ASSERT_NE(ql, nullptr);
    if (ql->path.rfind("/quicklooks/", 0) != 0) continue;  // shipped with the product
    ++rendered;
    EXPECT_EQ(ql->media_type, "image/png");
    const auto info = objects_->head("quicklooks", ql->path.substr(std::string("/quicklooks/").size()));
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->size, ql->size);
    auto r = objects_->get("quicklooks", ql->path.substr(std::string("/quicklooks/").size()));
    char sig[8] = {};
    ASSERT_EQ(r->read(sig, 8), 8u);
    EXPECT_EQ(std::string(sig + 1, 3), "PNG");
  }
  EXPECT_GE(rendered, 5u);  // S2 L2A, S3, S5P, DEM at least
}

TEST_F(IngestRun, ACorruptProductIsSkippedAndReportedWhileTheRestGoesIn) {
  // Truncate the L1C user-product metadata of a copy of one product.
  fs::path mtd;
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "objects/eodata/Sentinel-2/MSI/L1C")) {
    if (e.path().filename() == "MTD_MSIL1C.xml") mtd = e.path();
  }
  ASSERT_FALSE(mtd.empty());
  const auto backup = mtd.string() + ".orig";
  fs::copy_file(mtd, backup, fs::copy_options::overwrite_existing);
  fs::resize_file(mtd, 300);
  const auto report = ingest::run_ingest(*objects_, *catalogue_, {});
  fs::rename(backup, mtd);
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_NE(report.failures[0].reason.find("MTD_MSIL1C.xml"), std::string::npos) << report.failures[0].reason;
  EXPECT_EQ(report.ingested, report.found - 1);
}

TEST_F(IngestRun, APrefixLimitsTheScan) {
  ingest::IngestOptions o;
  o.prefix = "Sentinel-1";
  const auto report = ingest::run_ingest(*objects_, *catalogue_, o);
  EXPECT_EQ(report.found, 1u);
  EXPECT_EQ(report.ingested, 1u);
}

TEST_F(IngestRun, APlainCogFolderIsCataloguedWithItsDateAndFootprint) {
  // An operator's own raster: a folder <name>.cog with a GeoTIFF in UTM, dated by its name.
  const std::string key = "userdata/field_survey_20220617.cog";
  {
    GDALAllRegister();
    const std::string path = objects_->vsi_path("eodata", key + "/field_survey_20220617_ndvi.tif");
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    GDALDriver* gtiff = GetGDALDriverManager()->GetDriverByName("GTiff");
    GDALDataset* ds = gtiff->Create(path.c_str(), 100, 100, 1, GDT_Float32, nullptr);
    double gt[6] = {680000, 10, 0, 5160000, 0, -10};  // UTM 32N, near Bolzano
    ds->SetGeoTransform(gt);
    OGRSpatialReference srs;
    srs.importFromEPSG(32632);
    ds->SetSpatialRef(&srs);
    GDALClose(GDALDataset::ToHandle(ds));
  }
  ingest::IngestOptions o;
  o.prefix = "userdata/";
  const auto report = ingest::run_ingest(*objects_, *catalogue_, o);
  ASSERT_TRUE(report.failures.empty()) << report.failures.front().reason;
  EXPECT_EQ(report.ingested, 1u);
  const auto p = catalogue_->get_by_name("field_survey_20220617.cog");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->collection, "COG");
  EXPECT_EQ(ds::format_iso8601(p->sensing_start), "2022-06-17T00:00:00.000Z");
  ASSERT_EQ(p->assets.size(), 2u);  // the raster and its rendered quicklook
  EXPECT_EQ(p->assets[0].key, "ndvi");
  EXPECT_EQ(*p->assets[0].gsd, 10.0);
  catalog::Query q;
  q.where = catalog::spatial(catalog::SpatialOp::intersects, "POINT(11.3552 46.5648)");
  q.limit = 100;
  bool found = false;
  for (const auto& r : catalogue_->search(q).products) found = found || r.name == p->name;
  EXPECT_TRUE(found) << p->footprint_wkt;
  std::filesystem::remove_all(std::filesystem::path(objects_->vsi_path("eodata", key)));
}
