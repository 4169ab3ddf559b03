// The GDAL peer of the Process API benchmark (issue #8): one 512x512 true-colour tile in EPSG:3857
// at full resolution, made the way a GDAL-based tile server does it, in-process through the GDAL
// API: a VRT stacking the B04/B03/B02 10 m COGs of one Sentinel-2 L2A product, GDALWarp (nearest,
// as MapServer's s2.map and the Process API default) to a 512x512 EPSG:3857 window of ~10 m ground
// pixels in the middle of the tile, scale 0..3000 -> 0..255 (gdal_translate -scale, Byte), then the
// PNG driver at its default settings. Each stage is timed; then our encode_png on the same image.
//
// Usage: bench_gdal_tile DATA_ROOT [RUNS=30] [OUT_DIR]
//   DATA_ROOT  an archive made by `dataspace synth --scale 1 --missions s2` (searched for
//              ..._COG.SAFE/.../IMG_DATA/R10m/*_B0{4,3,2}_10m.tif)
//   OUT_DIR    if given, the GDAL and the encode_png tile are written there for a look.
//
// Three cases: the first run of the process (nothing opened yet), "cold" runs (VRT and COGs
// reopened each run, so GDAL's block cache holds nothing of them; the OS page cache is warm) and
// "warm" runs (the same datasets, blocks in GDAL's cache), as a long-lived tile server sees them.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <gdal_utils.h>
#include <ogr_spatialref.h>

#include "engine/encode.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Wall and CPU time of a stage: on a shared, noisy machine the CPU time is the steadier figure.
struct Time {
  double wall = 0, cpu = 0;
  Time& operator+=(const Time& o) {
    wall += o.wall;
    cpu += o.cpu;
    return *this;
  }
};

class Stopwatch {
 public:
  Time elapsed() const {
    return {std::chrono::duration<double, std::milli>(Clock::now() - wall_).count(), cpu_ms() - cpu_};
  }

 private:
  Clock::time_point wall_ = Clock::now();
  double cpu_ = cpu_ms();
};

struct Closer {
  void operator()(void* ds) const {
    if (ds != nullptr) GDALClose(static_cast<GDALDatasetH>(ds));
  }
};
using Dataset = std::unique_ptr<void, Closer>;
GDALDatasetH h(const Dataset& d) { return static_cast<GDALDatasetH>(d.get()); }

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_gdal_tile: %s\n", what.c_str());
  std::exit(1);
}

// Paths of B04, B03, B02 (that order) of the first COG product found under `root`.
std::vector<std::string> find_bands(const fs::path& root) {
  std::map<std::string, std::map<std::string, std::string>> by_dir;  // R10m dir -> band -> path
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    const std::string p = e.path().string();
    if (p.find("_COG.SAFE/") == std::string::npos || p.find("/IMG_DATA/R10m/") == std::string::npos) continue;
    for (const char* band : {"B04", "B03", "B02"}) {
      if (p.ends_with(std::string("_") + band + "_10m.tif")) by_dir[e.path().parent_path().string()][band] = p;
    }
  }
  for (auto& [dir, bands] : by_dir) {
    if (bands.size() == 3) return {bands["B04"], bands["B03"], bands["B02"]};
  }
  die("no ..._COG.SAFE/.../IMG_DATA/R10m/*_B0{4,3,2}_10m.tif under " + root.string());
}

struct Window {
  double xmin, ymin, xmax, ymax;  // EPSG:3857 metres
  double lat;                     // of the centre, degrees
};

// A 512 px EPSG:3857 window around the tile's centre whose pixels are 10 m on the ground (Web
// Mercator metres are stretched by 1/cos(latitude)).
Window centre_window(const std::string& band_path) {
  Dataset ds(GDALOpen(band_path.c_str(), GA_ReadOnly));
  if (!ds) die("cannot open " + band_path);
  double gt[6];
  GDALGetGeoTransform(h(ds), gt);
  const double cx = gt[0] + gt[1] * GDALGetRasterXSize(h(ds)) / 2.0;
  const double cy = gt[3] + gt[5] * GDALGetRasterYSize(h(ds)) / 2.0;
  OGRSpatialReference utm(*OGRSpatialReference::FromHandle(GDALGetSpatialRef(h(ds))));
  OGRSpatialReference merc, wgs84;
  merc.importFromEPSG(3857);
  wgs84.importFromEPSG(4326);
  for (auto* s : {&utm, &merc, &wgs84}) s->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  std::unique_ptr<OGRCoordinateTransformation> to_merc(OGRCreateCoordinateTransformation(&utm, &merc));
  std::unique_ptr<OGRCoordinateTransformation> to_geo(OGRCreateCoordinateTransformation(&utm, &wgs84));
  double mx = cx, my = cy, lon = cx, lat = cy;
  if (!to_merc || !to_geo || !to_merc->Transform(1, &mx, &my) || !to_geo->Transform(1, &lon, &lat)) {
    die("cannot transform the tile centre");
  }
  const double half = 256 * 10.0 / std::cos(lat * M_PI / 180.0);
  return {mx - half, my - half, mx + half, my + half, lat};
}

struct Args {
  std::vector<std::string> list;
  std::vector<char*> argv() {
    std::vector<char*> v;
    for (auto& s : list) v.push_back(s.data());
    v.push_back(nullptr);
    return v;
  }
};

struct Stages {
  Time open, warp, scale, png, total;
  std::size_t png_bytes = 0;
};

// The GDAL pipeline's datasets that a tile server keeps open between requests.
struct Sources {
  Dataset vrt;
};

Sources open_sources(const std::vector<std::string>& bands) {
  Args a{{"-separate"}};
  auto argv = a.argv();
  GDALBuildVRTOptions* opts = GDALBuildVRTOptionsNew(argv.data(), nullptr);
  std::vector<const char*> names;
  for (const auto& b : bands) names.push_back(b.c_str());
  int usage = 0;
  Sources s;
  s.vrt.reset(GDALBuildVRT("", static_cast<int>(names.size()), nullptr, names.data(), opts, &usage));
  GDALBuildVRTOptionsFree(opts);
  if (!s.vrt) die("GDALBuildVRT failed");
  return s;
}

// One tile through GDAL; `scaled_out` receives the Byte RGB dataset (for encode_png).
Stages gdal_tile(Sources& src, const Window& w, Dataset* scaled_out, std::string* png_out) {
  Stages st;
  const Stopwatch all;

  Stopwatch t0;
  Args wa{{"-of", "MEM", "-t_srs", "EPSG:3857", "-te", std::to_string(w.xmin), std::to_string(w.ymin),
           std::to_string(w.xmax), std::to_string(w.ymax), "-ts", "512", "512", "-r", "near"}};
  auto wargv = wa.argv();
  GDALWarpAppOptions* wopts = GDALWarpAppOptionsNew(wargv.data(), nullptr);
  GDALDatasetH in = h(src.vrt);
  int usage = 0;
  Dataset warped(GDALWarp("", nullptr, 1, &in, wopts, &usage));
  GDALWarpAppOptionsFree(wopts);
  if (!warped) die("GDALWarp failed");
  st.warp = t0.elapsed();

  t0 = Stopwatch();
  Args ta{{"-of", "MEM", "-ot", "Byte", "-scale", "0", "3000", "0", "255"}};
  auto targv = ta.argv();
  GDALTranslateOptions* topts = GDALTranslateOptionsNew(targv.data(), nullptr);
  Dataset scaled(GDALTranslate("", h(warped), topts, &usage));
  GDALTranslateOptionsFree(topts);
  if (!scaled) die("GDALTranslate -scale failed");
  st.scale = t0.elapsed();

  t0 = Stopwatch();
  const std::string path = "/vsimem/bench_gdal_tile.png";
  {
    Dataset png(GDALCreateCopy(GDALGetDriverByName("PNG"), path.c_str(), h(scaled), FALSE, nullptr, nullptr, nullptr));
    if (!png) die("PNG CreateCopy failed");
  }
  vsi_l_offset size = 0;
  GByte* bytes = VSIGetMemFileBuffer(path.c_str(), &size, FALSE);
  st.png_bytes = static_cast<std::size_t>(size);
  if (png_out != nullptr) png_out->assign(reinterpret_cast<const char*>(bytes), size);
  VSIUnlink(path.c_str());
  st.png = t0.elapsed();

  st.total = all.elapsed();
  if (scaled_out != nullptr) *scaled_out = std::move(scaled);
  return st;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const double idx = p * (v.size() - 1);
  const auto lo = static_cast<std::size_t>(idx);
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - lo);
}

void report(const char* name, const std::vector<Stages>& runs) {
  auto col = [&](Time Stages::*f, double Time::*g, double p) {
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(r.*f.*g);
    return percentile(v, p);
  };
  for (auto [clock, g] : {std::pair{"wall", &Time::wall}, std::pair{"cpu", &Time::cpu}}) {
    std::printf("%-34s %-4s %4zu %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f %10zu\n",
                clock == std::string("wall") ? name : "", clock, runs.size(), col(&Stages::total, g, 0.5),
                col(&Stages::total, g, 0.95), col(&Stages::open, g, 0.5), col(&Stages::warp, g, 0.5),
                col(&Stages::warp, g, 0.95), col(&Stages::scale, g, 0.5), col(&Stages::png, g, 0.5),
                col(&Stages::png, g, 0.95), runs.back().png_bytes);
  }
}

ds::engine::Image to_image(GDALDatasetH scaled) {
  ds::engine::Image img;
  img.width = GDALGetRasterXSize(scaled);
  img.height = GDALGetRasterYSize(scaled);
  img.bands = GDALGetRasterCount(scaled);
  img.data.resize(static_cast<std::size_t>(img.width) * img.height * img.bands);
  if (GDALDatasetRasterIO(scaled, GF_Read, 0, 0, img.width, img.height, img.data.data(), img.width, img.height,
                          GDT_Byte, img.bands, nullptr, img.bands, img.bands * img.width, 1) != CE_None) {
    die("reading the scaled tile failed");
  }
  return img;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) die("usage: bench_gdal_tile DATA_ROOT [RUNS=30] [OUT_DIR]");
  const fs::path root = argv[1];
  const int runs = argc > 2 ? std::max(2, std::atoi(argv[2])) : 30;
  const std::string out_dir = argc > 3 ? argv[3] : "";
  GDALAllRegister();

  const auto bands = find_bands(root);
  const Window win = centre_window(bands[0]);
  std::printf(
      "GDAL %s; product: %s\n", GDALVersionInfo("RELEASE_NAME"),
      fs::path(bands[0]).parent_path().parent_path().parent_path().parent_path().parent_path().filename().c_str());
  std::printf("window EPSG:3857 [%.0f, %.0f, %.0f, %.0f], 512x512, %.2f m/px (10 m on the ground at %.2f N)\n",
              win.xmin, win.ymin, win.xmax, win.ymax, (win.xmax - win.xmin) / 512, win.lat);
  std::printf("%-34s %-4s %4s %8s %8s %8s %8s %8s %8s %8s %8s %10s\n", "case (ms)", "", "n", "p50", "p95", "open",
              "warp50", "warp95", "scale50", "png50", "png95", "png bytes");

  // First run of the process: every dataset opened and every block read for the first time.
  Dataset scaled;
  std::string gdal_png;
  {
    const Stopwatch t0;
    Sources src = open_sources(bands);
    const Time open = t0.elapsed();
    Stages st = gdal_tile(src, win, &scaled, &gdal_png);
    st.open = open;
    st.total += open;
    report("first run (process cold)", {st});
  }
  // Cold: the VRT (and through it the COGs) reopened per run, so GDAL's block cache has nothing.
  std::vector<Stages> cold;
  for (int i = 0; i < runs; ++i) {
    const Stopwatch t0;
    Sources src = open_sources(bands);
    const Time open = t0.elapsed();
    Stages st = gdal_tile(src, win, nullptr, nullptr);
    st.open = open;
    st.total += open;
    cold.push_back(st);
  }
  report("cold (datasets reopened per run)", cold);
  // Warm: one set of datasets, as a tile server keeps them, blocks in GDAL's cache.
  std::vector<Stages> warm;
  {
    Sources src = open_sources(bands);
    gdal_tile(src, win, nullptr, nullptr);
    for (int i = 0; i < runs; ++i) warm.push_back(gdal_tile(src, win, nullptr, nullptr));
  }
  report("warm (datasets kept open)", warm);

  // Ours: encode_png on the very image GDAL's PNG driver encoded.
  const ds::engine::Image img = to_image(h(scaled));
  std::vector<double> ours_wall, ours_cpu, theirs_wall, theirs_cpu;
  std::string our_png;
  for (int i = 0; i < runs; ++i) {
    const Stopwatch t0;
    our_png = ds::engine::encode_png(img);
    const Time t = t0.elapsed();
    ours_wall.push_back(t.wall);
    ours_cpu.push_back(t.cpu);
  }
  for (const auto& r : warm) {
    theirs_wall.push_back(r.png.wall);
    theirs_cpu.push_back(r.png.cpu);
  }
  std::printf("PNG of the same 512x512 RGB tile (p50 wall / cpu ms, bytes):\n");
  std::printf("  GDAL PNG driver, defaults (zlib 6)  %6.1f / %6.1f  %8zu\n", percentile(theirs_wall, 0.5),
              percentile(theirs_cpu, 0.5), gdal_png.size());
  std::printf(
      "  encode_png (libdeflate 1, Up)       %6.1f / %6.1f  %8zu   (%.3fx the cpu time, %.2fx the size; "
      "p95 wall %.1f)\n",
      percentile(ours_wall, 0.5), percentile(ours_cpu, 0.5), our_png.size(),
      percentile(ours_cpu, 0.5) / percentile(theirs_cpu, 0.5), double(our_png.size()) / double(gdal_png.size()),
      percentile(ours_wall, 0.95));
  if (!out_dir.empty()) {
    fs::create_directories(out_dir);
    std::ofstream(fs::path(out_dir) / "gdal_tile.png", std::ios::binary) << gdal_png;
    std::ofstream(fs::path(out_dir) / "encode_png_tile.png", std::ios::binary) << our_png;
  }
  return 0;
}
