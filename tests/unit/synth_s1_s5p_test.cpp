// Sentinel-1 / Sentinel-5P (and Sentinel-3) synthetic products: backscatter model, NO2 plumes over
// towns, readability with GDAL, and byte-identical output for a seed.

#include <gdal_priv.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "synth/backscatter.hpp"
#include "synth/generator.hpp"
#include "synth/raster.hpp"
#include "synth/world.hpp"

namespace fs = std::filesystem;
using namespace ds::synth;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("ds-synth-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

SynthOptions options(const fs::path& dir, std::set<std::string> missions) {
  SynthOptions o;
  o.data_dir = dir;
  o.region = parse_region("bolzano");
  o.from_day = o.to_day = days_from_civil(2022, 6, 25);  // an S1A descending (rel. orbit 168) day
  o.missions = std::move(missions);
  o.scale = 10;
  o.seed = 7;
  o.threads = 1;
  return o;
}

std::vector<fs::path> files_under(const fs::path& root) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), root));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

fs::path find_file(const fs::path& root, const std::string& suffix) {
  for (const auto& f : files_under(root)) {
    const auto s = f.generic_string();
    if (s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) return root / f;
  }
  return {};
}

double db(double linear) { return 10 * std::log10(linear); }

}  // namespace

TEST(SynthS1, WaterIsMuchDarkerThanForestInVV) {
  s1::Surface water{Cover::water};
  s1::Surface forest{Cover::broadleaf};
  for (double wind : {0.0, 1.0}) {
    water.wind = wind;
    for (double inc : {31.0, 38.0, 45.0}) {
      const auto w = s1::mean_sigma0(water, inc, inc);
      const auto f = s1::mean_sigma0(forest, inc, inc);
      EXPECT_GT(db(f.vv) - db(w.vv), 8.0) << "wind " << wind << " incidence " << inc;
      EXPECT_LT(w.vh, w.vv);
      EXPECT_LT(f.vh, f.vv);
    }
  }
  // Urban is bright, a slope facing the radar is brighter than flat ground, shadow is dark.
  s1::Surface urban{Cover::urban};
  EXPECT_GT(db(s1::mean_sigma0(urban, 38, 38).vv), -2.0);
  EXPECT_GT(s1::mean_sigma0(forest, 38, 20).vv, s1::mean_sigma0(forest, 38, 38).vv);
  EXPECT_LT(db(s1::mean_sigma0(forest, 38, 89).vv), -25.0);
}

TEST(SynthS1, SpeckleHasUnitMeanAndGrdhVariance) {
  s1::SpeckleRng rng(42);
  double sum = 0, sum2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double v = rng.gamma_unit_mean(s1::kEnlGrdh);
    sum += v;
    sum2 += v * v;
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  EXPECT_NEAR(mean, 1.0, 0.01);
  EXPECT_NEAR(var, 1.0 / s1::kEnlGrdh, 0.01);  // ENL = mean^2 / variance
}

TEST(SynthS1, CalibrationLutMatchesRealGrdh) {
  // Real IW GRDH: betaNought 474, sigmaNought 663.4 and gamma 615.2 at 30.66 degrees incidence.
  EXPECT_NEAR(s1::sigma_nought_lut(30.664), 663.4, 0.5);
  EXPECT_NEAR(s1::gamma_lut(30.664), 615.2, 0.5);
}

TEST(SynthS1, ProductIsARadarGeometryCogWithGcps) {
  TempDir dir;
  const auto report = run_synth(options(dir.path, {"s1"}));
  ASSERT_EQ(report.generated, 1u);
  const auto root = eodata_root(dir.path);
  const auto vv = find_file(root, "-001-cog.tiff");
  ASSERT_FALSE(vv.empty());
  EXPECT_NE(vv.generic_string().find("Sentinel-1/SAR/IW_GRDH_1S-COG/2022/06/25/S1A_IW_GRDH_1SDV_20220625T"),
            std::string::npos);
  EXPECT_FALSE(find_file(root, "manifest.safe").empty());
  EXPECT_FALSE(find_file(root, "-002-cog.tiff").empty());
  ensure_gdal();
  DatasetPtr ds(GDALDataset::Open(vv.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  ASSERT_TRUE(ds);
  EXPECT_EQ(ds->GetRasterBand(1)->GetRasterDataType(), GDT_UInt16);
  EXPECT_GT(ds->GetGCPCount(), 20);
  double gt[6];
  EXPECT_NE(ds->GetGeoTransform(gt), CE_None);  // no geotransform: radar geometry
  const auto manifest = read_all(find_file(root, "manifest.safe"));
  EXPECT_NE(manifest.find("<s1:pass>DESCENDING</s1:pass>"), std::string::npos);
  EXPECT_NE(manifest.find("<safe:relativeOrbitNumber type=\"start\">168</safe:relativeOrbitNumber>"),
            std::string::npos);
  EXPECT_NE(manifest.find("checksumName=\"MD5\""), std::string::npos);
}

TEST(SynthS5p, No2IsHigherOverBolzanoThan40KmAway) {
  TempDir dir;
  run_synth(options(dir.path, {"s5p"}));
  const auto nc = find_file(eodata_root(dir.path), ".nc");
  ASSERT_FALSE(nc.empty());
  // Key = directory named like the file without .nc, holding the file.
  EXPECT_EQ(nc.parent_path().filename().string() + ".nc", nc.filename().string());
  ensure_gdal();
  auto open = [&](const std::string& var) {
    const std::string name = "NETCDF:\"" + nc.string() + "\":PRODUCT/" + var;
    return DatasetPtr(GDALDataset::Open(name.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  };
  auto no2_ds = open("nitrogendioxide_tropospheric_column");
  auto lat_ds = open("latitude");
  auto lon_ds = open("longitude");
  ASSERT_TRUE(no2_ds && lat_ds && lon_ds);
  const int w = no2_ds->GetRasterXSize(), h = no2_ds->GetRasterYSize();
  ASSERT_GT(w * h, 100);
  std::vector<float> no2(w * h), lat(w * h), lon(w * h);
  ASSERT_EQ(no2_ds->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, w, h, no2.data(), w, h, GDT_Float32, 0, 0, nullptr),
            CE_None);
  ASSERT_EQ(lat_ds->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, w, h, lat.data(), w, h, GDT_Float32, 0, 0, nullptr),
            CE_None);
  ASSERT_EQ(lon_ds->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, w, h, lon.data(), w, h, GDT_Float32, 0, 0, nullptr),
            CE_None);
  auto nearest = [&](double x, double y) {
    std::size_t best = 0;
    double bd = 1e9;
    for (std::size_t k = 0; k < no2.size(); ++k) {
      const double dx = (lon[k] - x) * 76.6, dy = (lat[k] - y) * 110.6;
      if (dx * dx + dy * dy < bd) bd = dx * dx + dy * dy, best = k;
    }
    EXPECT_LT(bd, 25.0);  // within 5 km of a pixel centre: the point is inside the swath subset
    return no2[best];
  };
  const double bolzano = nearest(11.352, 46.497);
  EXPECT_GT(bolzano, 3e-5);
  for (auto [dx, dy] : {std::pair{-40.0, 0.0}, std::pair{0.0, -40.0}}) {
    EXPECT_GT(bolzano, nearest(11.352 + dx / 76.6, 46.497 + dy / 110.6) + 1e-5) << dx << "," << dy;
  }
  // Multidimensional API: the real group layout.
  DatasetPtr md(GDALDataset::Open(nc.c_str(), GDAL_OF_MULTIDIM_RASTER));
  ASSERT_TRUE(md);
  auto product = md->GetRootGroup()->OpenGroup("PRODUCT");
  ASSERT_TRUE(product);
  EXPECT_TRUE(product->OpenMDArray("qa_value"));
  auto support = product->OpenGroup("SUPPORT_DATA");
  ASSERT_TRUE(support);
  auto geo = support->OpenGroup("GEOLOCATIONS");
  ASSERT_TRUE(geo);
  EXPECT_TRUE(geo->OpenMDArray("latitude_bounds"));
  EXPECT_TRUE(geo->OpenMDArray("solar_zenith_angle"));
}

TEST(SynthS1S5p, SameSeedGivesByteIdenticalProducts) {
  TempDir a, b;
  run_synth(options(a.path, {"s1", "s5p", "s3"}));
  run_synth(options(b.path, {"s1", "s5p", "s3"}));
  const auto fa = files_under(a.path), fb = files_under(b.path);
  ASSERT_EQ(fa, fb);
  ASSERT_GT(fa.size(), 10u);
  for (const auto& f : fa) EXPECT_EQ(read_all(a.path / f), read_all(b.path / f)) << f;
}
