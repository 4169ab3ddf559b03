// Mission band sources (Sentinel-1 GRD calibration, Sentinel-3 OLCI and Sentinel-5P swaths with
// geolocation arrays) on a small synthetic archive: values in physical ranges, right geometry.

#include <gdal_priv.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <vector>

#include "catalog/collection.hpp"
#include "core/error.hpp"
#include "engine/grid.hpp"
#include "engine/raster.hpp"
#include "engine/sources.hpp"
#include "ingest/reader.hpp"
#include "storage/object_store.hpp"
#include "synth/generator.hpp"

namespace {

namespace fs = std::filesystem;
using namespace ds::engine;
using ds::catalog::Band;
using ds::catalog::Product;

// The region's centre (Bolzano) and a box around it.
constexpr double kLon = 11.35, kLat = 46.50;
constexpr double kPi = 3.14159265358979323846;

Grid grid_around(double lon, double lat, double half, int size) {
  GridSize s;
  s.width = s.height = size;
  return make_grid(parse_crs("EPSG:4326"), std::array<double, 4>{lon - half, lat - half, lon + half, lat + half},
                   std::nullopt, s);
}

struct Read {
  std::vector<float> values;
  std::vector<std::uint8_t> valid;
  std::size_t count = 0;
};

Read read(const BandSource& src, const Grid& grid, Resampling resampling = Resampling::bilinear) {
  Read r;
  r.values.assign(grid.pixels(), 0.0f);
  r.valid.assign(grid.pixels(), 0);
  const auto coords = source_coords(src.path, grid);
  r.count = read_band(src, coords, grid, resampling, r.values, r.valid, true);
  return r;
}

double median_of(const Read& r) {
  std::vector<float> v;
  for (std::size_t i = 0; i < r.values.size(); ++i)
    if (r.valid[i]) v.push_back(r.values[i]);
  if (v.empty()) return std::nan("");
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

class EngineSources : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("engine-sources-" + std::to_string(rd()) + std::to_string(rd()));
    ds::synth::SynthOptions o;
    o.data_dir = dir_;
    o.region = ds::synth::parse_region("bolzano");
    // 2022-06-25: an S1A descending pass; S3 products come every other day, so take the 26th too.
    o.from_day = ds::synth::days_from_civil(2022, 6, 25);
    o.to_day = ds::synth::days_from_civil(2022, 6, 26);
    o.missions = {"s1", "s3", "s5p"};
    o.scale = 10;
    o.seed = 7;
    o.threads = 1;
    ds::synth::run_synth(o);
    const fs::path eodata = ds::synth::eodata_root(o.data_dir);
    store_ = ds::storage::make_local_store(eodata.parent_path()).release();
    auto readers = ds::ingest::builtin_readers();
    for (auto it = fs::recursive_directory_iterator(eodata); it != fs::recursive_directory_iterator(); ++it) {
      if (!it->is_directory()) continue;
      const auto* reader = ds::ingest::find_reader(readers, it->path().filename().string());
      if (reader == nullptr) continue;
      it.disable_recursion_pending();
      Product p = reader->read(*store_, "eodata", fs::relative(it->path(), eodata).generic_string());
      products_.emplace(p.collection, std::move(p));
    }
    registry_ = new ds::catalog::CollectionRegistry(ds::catalog::CollectionRegistry::load());
  }
  static void TearDownTestSuite() {
    clear_thread_datasets();
    delete store_;
    delete registry_;
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static const Product& product(const std::string& collection) {
    auto it = products_.find(collection);
    EXPECT_NE(it, products_.end()) << collection;
    return it->second;
  }
  static const Band& band(const std::string& collection, const std::string& name) {
    const auto* c = registry_->find(collection);
    EXPECT_NE(c, nullptr) << collection;
    for (const auto& b : c->bands)
      if (b.name == name) return b;
    ADD_FAILURE() << "no band " << name;
    return c->bands.front();
  }
  static BandSource source(const std::string& collection, const std::string& mission, const std::string& name,
                           SourceOptions options) {
    auto s = mission_band_source(product(mission), band(collection, name), options, *store_);
    EXPECT_TRUE(s.has_value());
    return s.value_or(BandSource{});
  }

  static inline fs::path dir_;
  static inline ds::storage::ObjectStore* store_ = nullptr;
  static inline ds::catalog::CollectionRegistry* registry_ = nullptr;
  static inline std::multimap<std::string, Product> products_;
};

// ---- Sentinel-1 ----------------------------------------------------------------------------------

TEST_F(EngineSources, Sentinel1_CalibratedVvIsLinearSigma0InLandRange) {
  const Grid g = grid_around(kLon, kLat, 0.05, 64);
  const auto vv = read(source("sentinel-1-grd", "SENTINEL-1", "VV", {"LINEAR_POWER", "SIGMA0_ELLIPSOID"}), g);
  ASSERT_GT(vv.count, g.pixels() * 9 / 10);
  const double m = median_of(vv);
  EXPECT_GT(m, 0.01);
  EXPECT_LT(m, 0.5);
  for (std::size_t i = 0; i < g.pixels(); ++i) {
    if (!vv.valid[i]) continue;
    EXPECT_GE(vv.values[i], 0.0f);
    EXPECT_LT(vv.values[i], 20.0f);  // bright urban corners at most
  }
  const auto vh = read(source("sentinel-1-grd", "SENTINEL-1", "VH", {"LINEAR_POWER", "SIGMA0_ELLIPSOID"}), g);
  EXPECT_LT(median_of(vh), m);  // cross-pol is weaker
}

TEST_F(EngineSources, Sentinel1_Gamma0AndBeta0ExceedSigma0) {
  const Grid g = grid_around(kLon, kLat, 0.05, 48);
  const auto sigma = read(source("sentinel-1-grd", "SENTINEL-1", "VV", {"LINEAR_POWER", "SIGMA0_ELLIPSOID"}), g);
  const auto gamma = read(source("sentinel-1-grd", "SENTINEL-1", "VV", {"LINEAR_POWER", "GAMMA0_ELLIPSOID"}), g);
  const auto beta = read(source("sentinel-1-grd", "SENTINEL-1", "VV", {"LINEAR_POWER", "BETA0"}), g);
  ASSERT_GT(sigma.count, 0u);
  std::size_t compared = 0;
  for (std::size_t i = 0; i < g.pixels(); ++i) {
    if (!sigma.valid[i] || !gamma.valid[i] || !beta.valid[i] || sigma.values[i] <= 1e-6f) continue;
    // gamma0 = sigma0 / cos(incidence), beta0 = sigma0 / sin(incidence): incidence 30-46 degrees.
    const double g_ratio = gamma.values[i] / sigma.values[i], b_ratio = beta.values[i] / sigma.values[i];
    EXPECT_GT(g_ratio, 1.1);
    EXPECT_LT(g_ratio, 1.5);
    EXPECT_GT(b_ratio, 1.35);
    EXPECT_LT(b_ratio, 2.1);
    ++compared;
  }
  EXPECT_GT(compared, g.pixels() / 2);
}

TEST_F(EngineSources, Sentinel1_LutsAreParsedOncePerFile) {
  auto a = source("sentinel-1-grd", "SENTINEL-1", "VV", {"LINEAR_POWER", "SIGMA0_ELLIPSOID"});
  auto b = source("sentinel-1-grd", "SENTINEL-1", "VV", {"LINEAR_POWER", "SIGMA0_ELLIPSOID"});
  ASSERT_TRUE(a.calibration && a.calibration->noise);
  EXPECT_EQ(a.calibration.get(), b.calibration.get());
  EXPECT_TRUE(a.calibration->power);
  EXPECT_GT(a.calibration->gain.rows.size(), 1u);
  EXPECT_GT(a.calibration->gain.cols.size(), 10u);
}

TEST_F(EngineSources, Sentinel1_DnIsRawAndTerrainFlatteningIsRefused) {
  EXPECT_FALSE(
      mission_band_source(product("SENTINEL-1"), band("sentinel-1-grd", "VV"), {"DN", "SIGMA0_ELLIPSOID"}, *store_));
  EXPECT_THROW(mission_band_source(product("SENTINEL-1"), band("sentinel-1-grd", "VV"),
                                   {"LINEAR_POWER", "GAMMA0_TERRAIN"}, *store_),
               ds::Error);
  EXPECT_THROW(
      mission_band_source(product("SENTINEL-1"), band("sentinel-1-grd", "VV"), {"LINEAR_POWER", "SIGMA1"}, *store_),
      ds::Error);
  // The synthetic product is dual VV+VH: no HH.
  EXPECT_THROW(mission_band_source(product("SENTINEL-1"), band("sentinel-1-grd", "HH"), {"LINEAR_POWER"}, *store_),
               ds::Error);
}

TEST_F(EngineSources, Sentinel1_GridOutsideTheSwathHasNoData) {
  const Grid far = grid_around(15.0, 40.0, 0.05, 32);
  const auto r = read(source("sentinel-1-grd", "SENTINEL-1", "VV", {"LINEAR_POWER"}), far);
  EXPECT_EQ(r.count, 0u);
}

TEST_F(EngineSources, Sentinel1_RadarGeometryComesFromTheProductAnnotation) {
  const auto g = radar_geometry(product("SENTINEL-1"), band("sentinel-1-grd", "VV"), *store_);
  ASSERT_TRUE(g);
  EXPECT_EQ(g.get(), radar_geometry(product("SENTINEL-1"), band("sentinel-1-grd", "VV"), *store_).get());
  EXPECT_DOUBLE_EQ(g->range_spacing, 100.0);  // scale 10
  EXPECT_EQ(g->range_direction, 1.0);         // GRD pixels grow with slant range
  EXPECT_GT(g->incidence.at(0, 0), 29.0);     // IW: 30-46 degrees, near to far
  EXPECT_LT(g->incidence.at(0, 0), g->incidence.at(500, 0));
  EXPECT_LT(g->incidence.at(500, 0), 47.0);
  EXPECT_GT(g->height.at(300, 300), 100.0);  // the Alps
  // Not a radar image: no geometry.
  EXPECT_FALSE(radar_geometry(product("SENTINEL-3"), band("sentinel-1-grd", "VV"), *store_));
}

TEST(Orthorectify, ShiftsTowardsTheSensorByHeightOverTanIncidence) {
  RadarGeometry g;
  g.height = {{0, 1000}, {0, 1000}, {200, 200, 200, 200}};
  g.incidence = {{0, 1000}, {0, 1000}, {45, 45, 45, 45}};
  g.range_spacing = 10;
  SourceCoords c;
  c.source_width = c.source_height = 1000;
  c.x = {100, 100, 100, std::nanf("")};
  c.y = {50, 50, 50, 50};
  const std::vector<float> h = {700, 200, std::nanf(""), 700};
  auto d = c;
  orthorectify(d, g, h);
  EXPECT_NEAR(d.x[0], 50.0, 1e-3);  // 500 m above the grid's height: 500 m / tan 45 = 50 px nearer
  EXPECT_FLOAT_EQ(d.x[1], 100.0f);  // at the grid's height: where the GCPs say
  EXPECT_FLOAT_EQ(d.x[2], 100.0f);  // no DEM: unchanged
  EXPECT_TRUE(std::isnan(d.x[3]));  // outside the source stays outside
  EXPECT_TRUE(d.any_inside);
  g.range_direction = -1;  // range growing towards lower pixel indices
  d = c;
  orthorectify(d, g, h);
  EXPECT_NEAR(d.x[0], 150.0, 1e-3);
  // Shifted off the image: nothing inside any more.
  d = c;
  const std::vector<float> high = {20000, 20000, 20000, 20000};
  orthorectify(d, g, high);
  EXPECT_FALSE(d.any_inside);
}

// ---- Sentinel-5P ---------------------------------------------------------------------------------

TEST_F(EngineSources, Sentinel5p_No2IsAColumnInMolPerSquareMetre) {
  const Grid g = grid_around(kLon, kLat, 0.3, 48);
  const auto auto_qa = read(source("sentinel-5p-l2", "SENTINEL-5P", "NO2", {"MOL_M2"}), g);
  SourceOptions all{"MOL_M2"};
  all.min_qa = 0;
  const auto any_qa = read(source("sentinel-5p-l2", "SENTINEL-5P", "NO2", all), g);
  ASSERT_GT(any_qa.count, g.pixels() * 9 / 10);
  EXPECT_LE(auto_qa.count, any_qa.count);
  for (std::size_t i = 0; i < g.pixels(); ++i) {
    if (!any_qa.valid[i]) continue;
    EXPECT_GT(any_qa.values[i], -1e-4f);
    EXPECT_LT(any_qa.values[i], 1e-3f);
  }
  const double m = median_of(any_qa);
  EXPECT_GT(m, 1e-6);
  EXPECT_LT(m, 5e-4);
}

TEST_F(EngineSources, Sentinel5p_GeolocationPutsEachPixelAtItsLatLon) {
  // The grid cell around the lat/lon of array pixel (row 10, col 20) maps back onto that pixel.
  auto src = source("sentinel-5p-l2", "SENTINEL-5P", "NO2", {"MOL_M2"});
  const Product& p = product("SENTINEL-5P");
  const std::string file = store_->vsi_path(p.bucket, p.key + "/" + p.assets.front().path);
  GDALDatasetUniquePtr lon(GDALDataset::Open(("NETCDF:\"" + file + "\":/PRODUCT/longitude").c_str(), GDAL_OF_RASTER));
  GDALDatasetUniquePtr lat(GDALDataset::Open(("NETCDF:\"" + file + "\":/PRODUCT/latitude").c_str(), GDAL_OF_RASTER));
  ASSERT_TRUE(lon && lat);
  float x = 0, y = 0;
  ASSERT_EQ(lon->GetRasterBand(1)->RasterIO(GF_Read, 20, 10, 1, 1, &x, 1, 1, GDT_Float32, 0, 0, nullptr), CE_None);
  ASSERT_EQ(lat->GetRasterBand(1)->RasterIO(GF_Read, 20, 10, 1, 1, &y, 1, 1, GDT_Float32, 0, 0, nullptr), CE_None);
  const auto c = source_coords(src.path, grid_around(x, y, 0.0005, 1), 1);
  EXPECT_NEAR(c.x[0], 20.5, 0.05);
  EXPECT_NEAR(c.y[0], 10.5, 0.05);
}

TEST_F(EngineSources, Sentinel5p_OutsideTheSwathHasNoDataAndOtherGasesAreRefused) {
  const auto r = read(source("sentinel-5p-l2", "SENTINEL-5P", "NO2", {"MOL_M2"}), grid_around(-60.0, -10.0, 0.3, 16));
  EXPECT_EQ(r.count, 0u);
  EXPECT_THROW(mission_band_source(product("SENTINEL-5P"), band("sentinel-5p-l2", "CO"), {"MOL_M2"}, *store_),
               ds::Error);
}

// ---- Sentinel-3 OLCI ------------------------------------------------------------------------------

TEST_F(EngineSources, Sentinel3_ReflectanceIsBetweenZeroAndOne) {
  const Grid g = grid_around(kLon, kLat, 0.2, 48);
  for (const char* name : {"B04", "B08", "B17"}) {
    SCOPED_TRACE(name);
    auto src = source("sentinel-3-olci-1-efr", "SENTINEL-3", name, {"REFLECTANCE"});
    ASSERT_TRUE(src.calibration);
    EXPECT_FALSE(src.calibration->power);
    const auto r = read(src, g);
    ASSERT_GT(r.count, g.pixels() * 9 / 10);
    for (std::size_t i = 0; i < g.pixels(); ++i) {
      if (!r.valid[i]) continue;
      EXPECT_GE(r.values[i], 0.0f);
      EXPECT_LE(r.values[i], 1.2f);
    }
    const double m = median_of(r);
    EXPECT_GT(m, 0.01);
    EXPECT_LT(m, 0.9);
  }
}

TEST_F(EngineSources, Sentinel3_RadianceIsReflectanceTimesIllumination) {
  const Grid g = grid_around(kLon, kLat, 0.2, 32);
  const auto rad = read(source("sentinel-3-olci-1-efr", "SENTINEL-3", "B08", {"RADIANCE"}), g);
  const auto refl = read(source("sentinel-3-olci-1-efr", "SENTINEL-3", "B08", {"REFLECTANCE"}), g);
  ASSERT_GT(rad.count, 0u);
  for (std::size_t i = 0; i < g.pixels(); ++i) {
    if (!rad.valid[i] || !refl.valid[i] || refl.values[i] < 0.02f) continue;
    // E0(665 nm) ~ 1500 mW m-2 nm-1, cos(SZA) at a June morning ~0.8: L / rho = E0 cos / pi ~ 300-480.
    const double k = rad.values[i] / refl.values[i];
    EXPECT_GT(k, 250);
    EXPECT_LT(k, 500);
  }
}

TEST_F(EngineSources, Sentinel3_GeolocationAndQualityFlags) {
  const Product& p = product("SENTINEL-3");
  auto flags = source("sentinel-3-olci-1-efr", "SENTINEL-3", "QUALITY_FLAGS", {"DN"});
  EXPECT_FALSE(flags.calibration);
  const auto r = read(flags, grid_around(kLon, kLat, 0.2, 16));
  ASSERT_GT(r.count, 0u);
  for (std::size_t i = 0; i < r.values.size(); ++i) {
    if (r.valid[i]) {
      EXPECT_GE(r.values[i], 1 << 28);  // land (bit 31) or inland water (bit 29)
    }
  }

  // Pixel (row 100, col 60) of the arrays lies where geo_coordinates.nc says.
  const std::string geo = store_->vsi_path(p.bucket, p.key + "/geo_coordinates.nc");
  auto value = [&](const char* var) {
    GDALDatasetUniquePtr ds(GDALDataset::Open(("NETCDF:\"" + geo + "\":" + var).c_str(), GDAL_OF_RASTER));
    EXPECT_TRUE(ds);
    std::int32_t v = 0;
    EXPECT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Read, 60, 100, 1, 1, &v, 1, 1, GDT_Int32, 0, 0, nullptr), CE_None);
    return v * 1e-6;
  };
  const double lon = value("longitude"), lat = value("latitude");
  auto src = source("sentinel-3-olci-1-efr", "SENTINEL-3", "B08", {"REFLECTANCE"});
  const auto c = source_coords(src.path, grid_around(lon, lat, 0.0002, 1), 1);
  EXPECT_NEAR(c.x[0], 60.5, 0.05);
  EXPECT_NEAR(c.y[0], 100.5, 0.05);

  // Every band of a product shares one VRT (so one geolocation set-up per product and grid).
  EXPECT_EQ(source("sentinel-3-olci-1-efr", "SENTINEL-3", "B02", {"RADIANCE"}).path, src.path);
  const auto outside = read(src, grid_around(2.0, 40.0, 0.2, 16));
  EXPECT_EQ(outside.count, 0u);
}

// Writes a 2-D NetCDF-4 variable in file order (GDAL multidimensional API), with a scale factor.
void write_nc(const fs::path& path, const char* variable, const char* rows, const char* cols, std::size_t h,
              std::size_t w, const std::vector<double>& values, GDALDataType type, double scale,
              const std::map<std::string, int>& globals = {}) {
  GDALDriver* nc = GetGDALDriverManager()->GetDriverByName("netCDF");
  ASSERT_NE(nc, nullptr);
  std::unique_ptr<GDALDataset> ds(nc->CreateMultiDimensional(path.c_str(), nullptr, nullptr));
  ASSERT_TRUE(ds);
  auto root = ds->GetRootGroup();
  for (const auto& [name, value] : globals) {
    auto a = root->CreateAttribute(name, {}, GDALExtendedDataType::Create(GDT_Int32));
    ASSERT_TRUE(a && a->Write(value));
  }
  auto r = root->CreateDimension(rows, "", "", h), c = root->CreateDimension(cols, "", "", w);
  auto a = root->CreateMDArray(variable, {r, c}, GDALExtendedDataType::Create(type));
  ASSERT_TRUE(a);
  if (scale != 1) a->SetScale(scale);
  std::vector<double> raw(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) raw[i] = std::round(values[i] / scale);
  const GUInt64 start[2] = {0, 0};
  const std::size_t count[2] = {h, w};
  ASSERT_TRUE(a->Write(start, count, nullptr, nullptr, GDALExtendedDataType::Create(GDT_Float64), raw.data()));
}

TEST_F(EngineSources, Sentinel3_UsesTheProductsOwnSolarFluxAndTiePointAngles) {
  // A copy of the product with instrument_data.nc and tie_geometries.nc, as real products have:
  // SZA grows along the file's rows, solar_flux is 1000 + band number.
  const Product& p = product("SENTINEL-3");
  const fs::path eodata = ds::synth::eodata_root(dir_);
  const std::string name = fs::path(p.key).filename().string();
  const std::string key = "copy/" + name;
  fs::create_directories(eodata / "copy");
  fs::copy(eodata / p.key, eodata / key, fs::copy_options::recursive);
  const std::string geo = (eodata / key / "geo_coordinates.nc").string();
  GDALDatasetUniquePtr g(GDALDataset::Open(geo.c_str(), GDAL_OF_MULTIDIM_RASTER));
  ASSERT_TRUE(g);
  auto lat_array = g->GetRootGroup()->OpenMDArray("latitude");
  const std::size_t h = lat_array->GetDimensions()[0]->GetSize(), w = lat_array->GetDimensions()[1]->GetSize();
  const std::size_t tie_w = (w - 1) / 64 + 2;
  std::vector<double> sza(h * tie_w);
  auto angle = [&](std::size_t row) { return 30.0 + 20.0 * static_cast<double>(row) / static_cast<double>(h - 1); };
  for (std::size_t r = 0; r < h; ++r)
    for (std::size_t c = 0; c < tie_w; ++c) sza[r * tie_w + c] = angle(r);
  write_nc(eodata / key / "tie_geometries.nc", "SZA", "tie_rows", "tie_columns", h, tie_w, sza, GDT_UInt32, 1e-6,
           {{"ac_subsampling_factor", 64}, {"al_subsampling_factor", 1}});
  std::vector<double> flux(21 * 8);
  for (std::size_t b = 0; b < 21; ++b)
    for (std::size_t d = 0; d < 8; ++d) flux[b * 8 + d] = 1000.0 + static_cast<double>(b + 1);
  write_nc(eodata / key / "instrument_data.nc", "solar_flux", "bands", "detectors", 21, 8, flux, GDT_Float32, 1);

  auto readers = ds::ingest::builtin_readers();
  const Product q = ds::ingest::find_reader(readers, name)->read(*store_, "eodata", key);
  const Band& b08 = band("sentinel-3-olci-1-efr", "B08");
  auto refl = mission_band_source(q, b08, {"REFLECTANCE"}, *store_);
  auto rad = mission_band_source(q, b08, {"RADIANCE"}, *store_);
  ASSERT_TRUE(refl && rad);

  // At the pixel of file row 100, column 60 (found by its latitude/longitude, in file order).
  auto at = [&](const char* var) {
    auto a = g->GetRootGroup()->OpenMDArray(var);
    const GUInt64 start[2] = {100, 60};
    const std::size_t count[2] = {1, 1};
    double v = 0;
    EXPECT_TRUE(a->Read(start, count, nullptr, nullptr, GDALExtendedDataType::Create(GDT_Float64), &v));
    return v * a->GetScale();
  };
  const Grid cell = grid_around(at("longitude"), at("latitude"), 0.0002, 1);
  const auto l = read(*rad, cell, Resampling::nearest), r = read(*refl, cell, Resampling::nearest);
  ASSERT_EQ(l.count, 1u);
  ASSERT_EQ(r.count, 1u);
  const double expected = kPi * l.values[0] / (1008.0 * std::cos(angle(100) * kPi / 180));
  EXPECT_NEAR(r.values[0], expected, 2e-3 * expected);
}

TEST_F(EngineSources, SwathGeolocationSetUpCost) {
  // Reported, not asserted: the cost of mapping a 256x256 grid onto each swath.
  const Grid g = grid_around(kLon, kLat, 0.2, 256);
  for (auto [collection, mission, name] :
       {std::tuple{"sentinel-3-olci-1-efr", "SENTINEL-3", "B08"}, std::tuple{"sentinel-5p-l2", "SENTINEL-5P", "NO2"}}) {
    auto src = source(collection, mission, name, {});
    source_coords(src.path, g);  // warm the dataset cache
    const auto t0 = std::chrono::steady_clock::now();
    constexpr int kRuns = 5;
    for (int i = 0; i < kRuns; ++i) source_coords(src.path, g);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / kRuns;
    std::printf("source_coords %s (%s): %.2f ms\n", mission, name, ms);
  }
}

TEST_F(EngineSources, OtherMissionsUseTheGenericPath) {
  Product p;
  p.collection = "SENTINEL-2";
  p.product_type = "S2MSI2A";
  Band b;
  b.name = "B04";
  b.asset = "B04_10m";
  EXPECT_FALSE(mission_band_source(p, b, {"REFLECTANCE"}, *store_));
}

}  // namespace
