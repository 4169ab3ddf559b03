// The engine's grid and source reading, against GDAL's own warper on the same data.
#include <gdal_priv.h>
#include <gdal_utils.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "engine/grid.hpp"
#include "engine/raster.hpp"

namespace {

using namespace ds::engine;

GridSize px(int w, int h) {
  GridSize s;
  s.width = w;
  s.height = h;
  return s;
}
GridSize res(double r) {
  GridSize s;
  s.resx = s.resy = r;
  return s;
}
BandSource src(const std::string& path) {
  BandSource b;
  b.path = path;
  return b;
}

// A 600×600 UTM 32N raster (10 m) whose value encodes its pixel: col + 1000 * row (+1, so 0 can be
// nodata), with overviews, written as a tiled GeoTIFF.
std::string make_source(const std::filesystem::path& dir) {
  GDALAllRegister();
  const auto path = (dir / "src.tif").string();
  GDALDriver* gtiff = GetGDALDriverManager()->GetDriverByName("GTiff");
  const char* opts[] = {"TILED=YES", "COMPRESS=DEFLATE", nullptr};
  GDALDataset* ds = gtiff->Create(path.c_str(), 600, 600, 1, GDT_Float32, const_cast<char**>(opts));
  double gt[6] = {680000, 10, 0, 5160000, 0, -10};
  ds->SetGeoTransform(gt);
  OGRSpatialReference srs;
  srs.importFromEPSG(32632);
  ds->SetSpatialRef(&srs);
  std::vector<float> v(600 * 600);
  for (int r = 0; r < 600; ++r)
    for (int c = 0; c < 600; ++c) v[r * 600 + c] = static_cast<float>(1 + c + 1000 * r);
  // A nodata hole in the middle.
  for (int r = 280; r < 320; ++r)
    for (int c = 280; c < 320; ++c) v[r * 600 + c] = 0;
  ds->GetRasterBand(1)->SetNoDataValue(0);
  EXPECT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 600, 600, v.data(), 600, 600, GDT_Float32, 0, 0, nullptr),
            CE_None);
  int levels[] = {2, 4};
  ds->BuildOverviews("NEAREST", 2, levels, 0, nullptr, nullptr, nullptr);
  GDALClose(ds);
  return path;
}

// GDAL's warp of the same source onto the grid (nearest), for comparison.
std::vector<float> gdal_warp(const std::string& path, const Grid& g) {
  const auto gt = g.transform();
  std::vector<std::string> args = {"-of",
                                   "MEM",
                                   "-r",
                                   "near",
                                   "-t_srs",
                                   "EPSG:" + std::to_string(g.crs.epsg),
                                   "-te",
                                   std::to_string(g.min_x),
                                   std::to_string(g.min_y),
                                   std::to_string(g.max_x),
                                   std::to_string(g.max_y),
                                   "-ts",
                                   std::to_string(g.width),
                                   std::to_string(g.height),
                                   "-ot",
                                   "Float32",
                                   "-dstnodata",
                                   "0",
                                   "-ovr",
                                   "NONE"};
  (void)gt;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  GDALWarpAppOptions* o = GDALWarpAppOptionsNew(argv.data(), nullptr);
  GDALDatasetH src = GDALOpen(path.c_str(), GA_ReadOnly);
  int err = 0;
  GDALDatasetH out = GDALWarp("", nullptr, 1, &src, o, &err);
  GDALWarpAppOptionsFree(o);
  std::vector<float> v(g.pixels());
  EXPECT_EQ(GDALRasterIO(GDALGetRasterBand(out, 1), GF_Read, 0, 0, g.width, g.height, v.data(), g.width, g.height,
                         GDT_Float32, 0, 0),
            CE_None);
  GDALClose(out);
  GDALClose(src);
  return v;
}

class EngineRaster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() / ("engine_raster_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = make_source(dir_);
  }
  static void TearDownTestSuite() {
    clear_thread_datasets();
    std::filesystem::remove_all(dir_);
  }
  static inline std::filesystem::path dir_;
  static inline std::string path_;
};

TEST(EngineGrid, ParsesOpengisUrlsAndCodes) {
  EXPECT_EQ(parse_crs("http://www.opengis.net/def/crs/EPSG/0/32633").epsg, 32633);
  EXPECT_EQ(parse_crs("http://www.opengis.net/def/crs/OGC/1.3/CRS84").epsg, 4326);
  EXPECT_EQ(parse_crs("EPSG:3857").epsg, 3857);
  EXPECT_FALSE(parse_crs("EPSG:3857").geographic);
  EXPECT_TRUE(parse_crs("urn:ogc:def:crs:EPSG::4326").geographic);
  EXPECT_THROW(parse_crs("EPSG:999999"), ds::Error);
  EXPECT_THROW(parse_crs("WGS84-ish"), ds::Error);
}

TEST(EngineGrid, RejectsEmptyBboxAndOversizedOutput) {
  const Crs crs = parse_crs("EPSG:4326");
  EXPECT_THROW(make_grid(crs, std::array<double, 4>{11, 46, 10, 47}, std::nullopt, px(256, 256)), ds::Error);
  EXPECT_THROW(make_grid(crs, std::array<double, 4>{10, 46, 11, 47}, std::nullopt, px(3000, 3000)), ds::Error);
  EXPECT_THROW(make_grid(crs, std::nullopt, std::nullopt, px(256, 256)), ds::Error);
  auto g = make_grid(crs, std::array<double, 4>{10, 46, 11, 47}, std::nullopt, GridSize{});
  EXPECT_EQ(g.width, 256);
  auto r = make_grid(parse_crs("EPSG:32632"), std::array<double, 4>{680000, 5154000, 686000, 5160000}, std::nullopt,
                     res(20.0));
  EXPECT_EQ(r.width, 300);
  EXPECT_EQ(r.height, 300);
}

TEST(EngineGrid, GeometryMaskCoversOnlyThePolygon) {
  const Crs crs = parse_crs("EPSG:32632");
  nlohmann::json tri = {
      {"type", "Polygon"},
      {"coordinates", {{{680000, 5154000}, {686000, 5154000}, {680000, 5160000}, {680000, 5154000}}}}};
  auto g = make_grid(crs, std::nullopt, tri, px(100, 100));
  auto mask = g.geometry_mask();
  EXPECT_EQ(mask[0], 1);              // north-west corner is inside
  EXPECT_EQ(mask[99], 0);             // north-east corner is outside
  EXPECT_EQ(mask[99 * 100 + 0], 1);   // south-west
  EXPECT_EQ(mask[60 * 100 + 99], 0);  // east edge, below the diagonal
}

TEST_F(EngineRaster, SameGridIsAnExactCopy) {
  auto g = make_grid(parse_crs("EPSG:32632"), std::array<double, 4>{680000, 5154000, 686000, 5160000}, std::nullopt,
                     px(600, 600));
  auto coords = source_coords(path_, g);
  std::vector<float> out(g.pixels());
  std::vector<std::uint8_t> valid(g.pixels());
  read_band(src(path_), coords, g, Resampling::nearest, out, valid, true);
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[599], 600);
  EXPECT_EQ(out[599 * 600 + 5], 1 + 5 + 599000);
  EXPECT_EQ(valid[300 * 600 + 300], 0);  // the nodata hole
  EXPECT_EQ(valid[10], 1);
}

TEST_F(EngineRaster, ReprojectionMatchesGdalWarp) {
  // A Web Mercator window inside the source, at about the source's resolution.
  auto g = make_grid(parse_crs("EPSG:3857"), std::array<double, 4>{1264500, 5865000, 1270500, 5870000}, std::nullopt,
                     px(256, 256));
  auto coords = source_coords(path_, g);
  ASSERT_TRUE(coords.any_inside);
  std::vector<float> ours(g.pixels());
  std::vector<std::uint8_t> valid(g.pixels());
  read_band(src(path_), coords, g, Resampling::nearest, ours, valid, true);
  auto theirs = gdal_warp(path_, g);
  // Nearest neighbour may pick the other pixel where a sample falls on a boundary (our control
  // grid and GDAL's approximate transformer round differently): never further than one pixel.
  std::size_t same = 0, compared = 0, near = 0;
  for (std::size_t i = 0; i < g.pixels(); ++i) {
    if (theirs[i] == 0 || !valid[i]) continue;
    ++compared;
    const int a = static_cast<int>(ours[i]) - 1, b = static_cast<int>(theirs[i]) - 1;
    if (a == b) ++same;
    if (std::abs(a % 1000 - b % 1000) <= 1 && std::abs(a / 1000 - b / 1000) <= 1) ++near;
  }
  ASSERT_GT(compared, 1000u);
  EXPECT_GT(static_cast<double>(same) / compared, 0.95) << same << " of " << compared;
  EXPECT_EQ(near, compared);
}

TEST_F(EngineRaster, CoarseOutputUsesAnOverview) {
  // 60 m output pixels over the source: the 4× overview (40 m) is read, values stay source values.
  auto g = make_grid(parse_crs("EPSG:32632"), std::array<double, 4>{680000, 5154000, 686000, 5160000}, std::nullopt,
                     px(100, 100));
  auto coords = source_coords(path_, g);
  std::vector<float> out(g.pixels());
  std::vector<std::uint8_t> valid(g.pixels());
  read_band(src(path_), coords, g, Resampling::nearest, out, valid, true);
  // Output pixel (0,0) centre is source pixel (3,3): the overview's nearest sample is near it.
  const float v = out[0];
  const int col = static_cast<int>(v - 1) % 1000, row = static_cast<int>(v - 1) / 1000;
  EXPECT_NEAR(col, 3, 4);
  EXPECT_NEAR(row, 3, 4);
}

TEST_F(EngineRaster, BilinearInterpolatesBetweenPixels) {
  // Half-pixel shifted 10 m grid: bilinear gives the mean of two neighbours along x.
  auto g = make_grid(parse_crs("EPSG:32632"), std::array<double, 4>{680005, 5159000, 680105, 5160000}, std::nullopt,
                     px(10, 100));
  auto coords = source_coords(path_, g);
  std::vector<float> out(g.pixels());
  std::vector<std::uint8_t> valid(g.pixels());
  read_band(src(path_), coords, g, Resampling::bilinear, out, valid, true);
  EXPECT_NEAR(out[1], 2.5f, 1e-3);  // between source columns 1 and 2 of row 0 (values 2 and 3)
}

TEST_F(EngineRaster, OutsideTheSourceIsInvalid) {
  auto g = make_grid(parse_crs("EPSG:4326"), std::array<double, 4>{20, 10, 21, 11}, std::nullopt, px(64, 64));
  auto coords = source_coords(path_, g);
  std::vector<float> out(g.pixels(), 7);
  std::vector<std::uint8_t> valid(g.pixels(), 1);
  EXPECT_EQ(read_band(src(path_), coords, g, Resampling::nearest, out, valid, true), 0u);
  EXPECT_EQ(valid[0], 0);
}

}  // namespace
