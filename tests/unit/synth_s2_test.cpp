// Pins the physics of the synthetic Sentinel-2 products: generated files are read back with GDAL
// and compared with the World they were sampled from.

#include <gdal_priv.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <gtest/gtest.h>

#include "synth/generator.hpp"
#include "synth/grid.hpp"
#include "synth/raster.hpp"

namespace fs = std::filesystem;
using namespace ds::synth;

namespace {

struct Raster {
  GridSpec grid;
  std::vector<double> v;
};

Raster read(const fs::path& p) {
  ensure_gdal();
  DatasetPtr ds(GDALDataset::Open(p.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  if (!ds) throw std::runtime_error("cannot open " + p.string());
  Raster r;
  double gt[6];
  ds->GetGeoTransform(gt);
  r.grid = GridSpec{32632, gt[0], gt[3], gt[1], -gt[5], ds->GetRasterXSize(), ds->GetRasterYSize()};
  r.v.resize(static_cast<std::size_t>(r.grid.width) * r.grid.height);
  if (ds->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, r.grid.width, r.grid.height, r.v.data(), r.grid.width,
                                     r.grid.height, GDT_Float64, 0, 0, nullptr) != CE_None) {
    throw std::runtime_error("cannot read " + p.string());
  }
  return r;
}

fs::path find_one(const fs::path& root, const std::string& needle) {
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.path().filename().string().find(needle) != std::string::npos) return e.path();
  }
  throw std::runtime_error("no file matching " + needle + " under " + root.string());
}

double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// The S2 acquisition day (S2A/S2B on R022) with the least cloud among candidates.
std::int64_t clearest(const World& w, std::int64_t first, std::int64_t last) {
  const std::int64_t b = days_from_civil(2022, 6, 12), a = days_from_civil(2022, 6, 17);
  std::int64_t best = -1;
  for (std::int64_t d = first; d <= last; ++d) {
    const bool acq = ((d - a) % 10 + 10) % 10 == 0 || ((d - b) % 10 + 10) % 10 == 0;
    if (acq && (best < 0 || w.cloudiness(d) < w.cloudiness(best))) best = d;
  }
  return best;
}

class SynthS2 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("ds-synth-s2-" + std::to_string(::getpid()));
    World world(parse_region("bolzano"), 42);
    summer_ = clearest(world, days_from_civil(2022, 6, 20), days_from_civil(2022, 7, 20));
    winter_ = clearest(world, days_from_civil(2022, 1, 10), days_from_civil(2022, 2, 10));
    SynthOptions o;
    o.data_dir = dir_;
    o.region = parse_region("bolzano");
    o.missions = {"s2"};
    o.scale = 10;
    o.seed = 42;
    o.from_day = summer_;
    o.to_day = summer_;
    o.extra_days = {winter_};
    run_synth(o);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static fs::path l2a(std::int64_t day) {
    // Product folders are named with the sensing date; find the L2A SAFE of that date.
    const std::int64_t d = day;
    for (const auto& e : fs::recursive_directory_iterator(dir_ / "objects/eodata/Sentinel-2/MSI/L2A")) {
      const auto name = e.path().filename().string();
      if (e.is_directory() && name.size() > 5 && name.substr(name.size() - 5) == ".SAFE") {
        const int y = std::stoi(name.substr(11, 4));
        const unsigned m = static_cast<unsigned>(std::stoi(name.substr(15, 2)));
        const unsigned dd = static_cast<unsigned>(std::stoi(name.substr(17, 2)));
        if (days_from_civil(y, m, dd) == d) return e.path();
      }
    }
    throw std::runtime_error("no L2A product for the day");
  }

  static inline fs::path dir_;
  static inline std::int64_t summer_ = 0, winter_ = 0;
};

}  // namespace

TEST_F(SynthS2, SummerCroplandIsGreen_WaterIsNegative_CloudsAreClassified) {
  World world(parse_region("bolzano"), 42);
  const auto safe = l2a(summer_);
  const auto b04 = read(find_one(safe, "_B04_10m.jp2")), b08 = read(find_one(safe, "_B08_10m.jp2"));
  const auto scl = read(find_one(safe, "_SCL_20m.jp2"));
  LonLatGrid ll(b04.grid);
  std::vector<double> crop, water;
  std::size_t thick = 0, thick_flagged = 0;
  for (int r = 0; r < b04.grid.height; r += 2) {
    for (int c = 0; c < b04.grid.width; c += 2) {
      const std::size_t i = static_cast<std::size_t>(r) * b04.grid.width + c;
      const double s = scl.v[static_cast<std::size_t>(r / 2) * scl.grid.width + c / 2];
      double lon, lat;
      ll.lonlat(c, r, lon, lat);
      if (world.cloud(lon, lat, summer_) > 0.8) {
        ++thick;
        thick_flagged += (s == 8 || s == 9);
      }
      if (s != 4 && s != 5 && s != 6) continue;  // clear pixels only
      const double red = (b04.v[i] - 1000) / 10000, nir = (b08.v[i] - 1000) / 10000;
      const double ndvi = (nir - red) / (nir + red);
      const Cover cover = world.cover(lon, lat, world.elevation(lon, lat));
      if (cover == Cover::cropland) crop.push_back(ndvi);
      if (cover == Cover::water) water.push_back(ndvi);
    }
  }
  ASSERT_GT(crop.size(), 200u);
  ASSERT_GT(water.size(), 5u);
  const double crop_ndvi = median(crop);
  EXPECT_GE(crop_ndvi, 0.6);
  EXPECT_LE(crop_ndvi, 0.9);
  EXPECT_LT(median(water), 0.0);
  if (thick > 50) {
    EXPECT_GT(static_cast<double>(thick_flagged) / static_cast<double>(thick), 0.95);
  }
}

TEST_F(SynthS2, WinterSnowIsBrightInVisibleAndDarkInSwir) {
  const auto safe = l2a(winter_);
  const auto b03 = read(find_one(safe, "_B03_20m.jp2")), b11 = read(find_one(safe, "_B11_20m.jp2"));
  const auto scl = read(find_one(safe, "_SCL_20m.jp2"));
  std::vector<double> ndsi;
  for (std::size_t i = 0; i < scl.v.size(); ++i) {
    if (scl.v[i] != 11) continue;
    const double g = (b03.v[i] - 1000) / 10000, s = (b11.v[i] - 1000) / 10000;
    ndsi.push_back((g - s) / (g + s));
  }
  ASSERT_GT(ndsi.size(), 100u) << "no snow pixels in January";
  EXPECT_GT(median(ndsi), 0.4);
}

TEST_F(SynthS2, CloudPixelsInSclMatchTheCloudMask) {
  const auto safe = l2a(summer_);
  const auto scl = read(find_one(safe, "_SCL_20m.jp2")), cld = read(find_one(safe, "MSK_CLDPRB_20m.jp2"));
  std::size_t cloudy = 0, agree = 0;
  for (std::size_t i = 0; i < scl.v.size(); ++i) {
    if (scl.v[i] == 9) {
      ++cloudy;
      agree += cld.v[i] >= 65;
    }
  }
  if (cloudy > 0) {
    EXPECT_GT(static_cast<double>(agree) / static_cast<double>(cloudy), 0.95);
  }
}

TEST_F(SynthS2, ProductsCarryRealNamesGridsAndOffsets) {
  const auto safe = l2a(summer_);
  const auto name = safe.filename().string();
  EXPECT_EQ(name.substr(0, 11).substr(0, 2), "S2");
  EXPECT_NE(name.find("_MSIL2A_"), std::string::npos);
  EXPECT_NE(name.find("_N0400_R022_T32TPS_"), std::string::npos);
  std::ifstream tl(find_one(safe, "MTD_TL.xml"));
  const std::string text((std::istreambuf_iterator<char>(tl)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("<ULX>600000</ULX>"), std::string::npos);
  EXPECT_NE(text.find("<ULY>5200020</ULY>"), std::string::npos);
  EXPECT_NE(text.find("<NROWS>1098</NROWS>"), std::string::npos);  // scale 10: 100 m pixels
  std::ifstream mtd(safe / "MTD_MSIL2A.xml");
  const std::string m((std::istreambuf_iterator<char>(mtd)), std::istreambuf_iterator<char>());
  EXPECT_NE(m.find("<BOA_ADD_OFFSET band_id=\"0\">-1000</BOA_ADD_OFFSET>"), std::string::npos);
  EXPECT_NE(m.find("<BOA_QUANTIFICATION_VALUE unit=\"none\">10000</BOA_QUANTIFICATION_VALUE>"), std::string::npos);
  // The demo area of the issue lies inside the tile's 10 m grid.
  const auto b04 = read(find_one(safe, "_B04_10m.jp2"));
  EXPECT_LE(b04.grid.ulx, 679720);
  EXPECT_GE(b04.grid.ulx + b04.grid.width * b04.grid.res_x, 680680);
  EXPECT_GE(b04.grid.uly, 5151920);
  EXPECT_LE(b04.grid.uly - b04.grid.height * b04.grid.res_y, 5151080);
}
