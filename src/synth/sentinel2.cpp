// Sentinel-2 MSI L1C and L2A products (SAFE, JPEG 2000) and an L2A SAFE-COG variant, sampled from
// the World on real MGRS tiles with the real revisit of S2A/S2B and their relative orbits.
// Layout, names and metadata follow the real N04xx/N05xx products (see tests/unit for the pins).

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "core/error.hpp"
#include "synth/grid.hpp"
#include "synth/missions.hpp"
#include "synth/raster.hpp"
#include "synth/util.hpp"

namespace ds::synth {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDeg = kPi / 180;

// Runs fn(begin, end) over [0, n) split across the cores. Used for full-resolution tiles, where
// one product is minutes of work; small (scaled) products stay on the calling thread.
void parallel_for(int n, const std::function<void(int, int)>& fn) {
  const int threads = n >= 2048 ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) : 1;
  if (threads == 1) {
    fn(0, n);
    return;
  }
  std::vector<std::thread> pool;
  const int chunk = (n + threads - 1) / threads;
  for (int t = 0; t < threads; ++t) {
    const int b = t * chunk, e = std::min(n, b + chunk);
    if (b < e) pool.emplace_back([&fn, b, e] { fn(b, e); });
  }
  for (auto& t : pool) t.join();
}

// ---- geometry: MGRS tiles of the region ---------------------------------------------------------

struct Tile {
  std::string id;  // 32TPS
  int zone = 32;
  int epsg = 32632;
  double ulx = 0, uly = 0;  // metres, EPSG:326zz
};

char latitude_band(double lat) {
  static const char* bands = "CDEFGHJKLMNPQRSTUVWX";
  const int i = std::clamp(static_cast<int>(std::floor((lat + 80) / 8)), 0, 19);
  return bands[i];
}

std::vector<Tile> tiles_for(const Region& r) {
  const double clon = (r.west + r.east) / 2, clat = (r.south + r.north) / 2;
  const int zone = static_cast<int>(std::floor((clon + 180) / 6)) + 1;
  const int epsg = (clat >= 0 ? 32600 : 32700) + zone;
  double xs[4] = {r.west, r.east, r.west, r.east}, ys[4] = {r.south, r.south, r.north, r.north};
  double xmin = 1e12, xmax = -1e12, ymin = 1e12, ymax = -1e12;
  for (int i = 0; i < 4; ++i) {
    double x = xs[i], y = ys[i];
    transform_point(4326, epsg, x, y);
    xmin = std::min(xmin, x), xmax = std::max(xmax, x), ymin = std::min(ymin, y), ymax = std::max(ymax, y);
  }
  std::vector<Tile> out;
  static const char* cols = "ABCDEFGHJKLMNPQRSTUVWXYZ";  // 24 letters, no I/O
  static const char* rows = "ABCDEFGHJKLMNPQRSTUV";      // 20 letters
  for (int e = static_cast<int>(std::floor(xmin / 1e5)); e <= static_cast<int>(std::floor(xmax / 1e5)); ++e) {
    for (int n = static_cast<int>(std::floor(ymin / 1e5)); n <= static_cast<int>(std::floor(ymax / 1e5)); ++n) {
      Tile t;
      t.zone = zone;
      t.epsg = epsg;
      const int set = (zone - 1) % 3;
      const char col = cols[set * 8 + (e - 1)];
      const char row = rows[(((n + (zone % 2 == 0 ? 5 : 0)) % 20) + 20) % 20];
      double cx = e * 1e5 + 5e4, cy = n * 1e5 + 5e4;
      transform_point(epsg, 4326, cx, cy);
      t.id = fmt::format("{:02}{}{}{}", zone, latitude_band(cy), col, row);
      // Real S2 tiles start on the 100 km square's west edge and slightly above its north edge,
      // both rounded to the 60 m grid.
      t.ulx = std::floor(e * 1e5 / 60) * 60;
      t.uly = std::ceil((n + 1) * 1e5 / 60) * 60;  // 32TPS: 5200000 -> 5200020
      out.push_back(t);
    }
  }
  return out;
}

// ---- acquisitions ---------------------------------------------------------------------------------

struct Acquisition {
  char unit;         // 'A' or 'B'
  std::int64_t day;  // days since epoch
  int absolute_orbit;
  int relative_orbit;
  UtcTime datatake;      // name time
  UtcTime sensing;       // tile sensing time
  std::string baseline;  // 04.00
};

// Orbits per day and reference passes (see research notes): S2A abs 42640 at 2023-08-21T22:19Z,
// S2B abs 26649 at 2022-04-13T15:08Z; 143 orbits per 10-day cycle.
int absolute_orbit(char unit, const UtcTime& t) {
  const double ref = unit == 'A' ? static_cast<double>(days_from_civil(2023, 8, 21)) * 86400 + 22 * 3600 + 19 * 60
                                 : static_cast<double>(days_from_civil(2022, 4, 13)) * 86400 + 15 * 3600 + 8 * 60;
  const int ref_abs = unit == 'A' ? 42640 : 26649;
  return ref_abs + static_cast<int>(std::floor((static_cast<double>(t.seconds) - ref) / (100.699 * 60) + 0.5));
}
int relative_orbit(char unit, int abs) {
  return unit == 'A' ? ((abs + 2) % 143 + 143) % 143 + 1 : ((abs - 27) % 143 + 143) % 143 + 1;
}

std::string baseline_for(std::int64_t day) {
  if (day >= days_from_civil(2024, 1, 1)) return "05.10";
  if (day >= days_from_civil(2023, 1, 1)) return "05.09";
  return "04.00";
}

std::vector<Acquisition> acquisitions(const SynthOptions& o) {
  std::set<std::int64_t> days;
  for (std::int64_t d = o.from_day; d <= o.to_day; ++d) days.insert(d);
  std::vector<Acquisition> out;
  // Phases of the R022 repeat over Bolzano: S2B on 2022-06-12 + 10k, S2A on 2022-06-17 + 10k.
  const std::int64_t phase_b = days_from_civil(2022, 6, 12), phase_a = days_from_civil(2022, 6, 17);
  auto on_cycle = [](std::int64_t d, std::int64_t phase) { return ((d - phase) % 10 + 10) % 10 == 0; };
  // Each extra day maps to the acquisition nearest to it.
  for (auto d : o.extra_days) {
    for (int k = 0; k < 5; ++k) {
      if (on_cycle(d + k, phase_a) || on_cycle(d + k, phase_b)) {
        days.insert(d + k);
        break;
      }
    }
  }
  const double clon = (o.region.west + o.region.east) / 2;
  for (auto d : days) {
    for (char unit : {'A', 'B'}) {
      if (!on_cycle(d, unit == 'A' ? phase_a : phase_b)) continue;
      if (unit == 'B' && d >= days_from_civil(2025, 1, 1)) continue;
      Acquisition a;
      a.unit = unit;
      a.day = d;
      // The tile is sensed at ~11:03 local solar time (descending node at 10:30); the datatake starts
      // ~12 min earlier, further north.
      const double tile_utc = 11.05 * 3600 - clon / 15 * 3600;
      a.sensing = UtcTime::from_day(d, tile_utc + 31.456123);
      a.datatake = UtcTime::from_day(d, std::floor(tile_utc - 12 * 60 - (unit == 'A' ? 0 : 2)) + 0.024);
      a.absolute_orbit = absolute_orbit(unit, a.sensing);
      a.relative_orbit = relative_orbit(unit, a.absolute_orbit);
      a.baseline = baseline_for(d);
      out.push_back(a);
    }
  }
  return out;
}

// ---- static per-tile state (shared by every date) --------------------------------------------------

struct Static {
  std::vector<float> elevation;
  std::vector<Cover> cover;
  std::vector<float> lon, lat;
  std::vector<float> texture;  // multiplicative surface texture around 1
};

class StaticCache {
 public:
  const Static& get(const World& world, const Tile& tile, int res, int n) {
    std::shared_ptr<Entry> e;
    {
      std::lock_guard lock(mutex_);
      auto& slot = entries_[tile.id + "/" + std::to_string(res)];
      if (!slot) slot = std::make_shared<Entry>();
      e = slot;
    }
    std::call_once(e->once, [&] { e->value = compute(world, tile, res, n); });
    return e->value;
  }

 private:
  struct Entry {
    std::once_flag once;
    Static value;
  };
  static Static compute(const World& world, const Tile& tile, int res, int n) {
    GridSpec g{tile.epsg, tile.ulx, tile.uly, static_cast<double>(res), static_cast<double>(res), n, n};
    LonLatGrid ll(g);
    Static s;
    const std::size_t count = static_cast<std::size_t>(n) * n;
    s.elevation.resize(count), s.cover.resize(count), s.lon.resize(count), s.lat.resize(count), s.texture.resize(count);
    parallel_for(n, [&](int r_begin, int r_end) {
      for (int r = r_begin; r < r_end; ++r) {
        for (int c = 0; c < n; ++c) {
          const std::size_t i = static_cast<std::size_t>(r) * n + c;
          double lon, lat;
          ll.lonlat(c, r, lon, lat);
          const double h = world.elevation(lon, lat);
          s.lon[i] = static_cast<float>(lon), s.lat[i] = static_cast<float>(lat);
          s.elevation[i] = static_cast<float>(h);
          s.cover[i] = world.cover(lon, lat, h);
          s.texture[i] = static_cast<float>(
              0.94 + 0.12 * unit(mix(world.seed(), 77, static_cast<std::uint64_t>(c),
                                     static_cast<std::uint64_t>(r) ^ (static_cast<std::uint64_t>(res) << 32))));
        }
      }
    });
    return s;
  }
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
};

// ---- a scene at one resolution -----------------------------------------------------------------------

// BOA reflectance per band (13, B10 as TOA), plus the masks that L2A derives.
struct Scene {
  int n = 0, res = 0;
  std::vector<std::array<float, 13>> rho;  // BOA (L2A) reflectance
  std::vector<float> cloud;                // opacity 0..1
  std::vector<std::uint8_t> shadow, snow, scl;
};

std::uint8_t classify(const std::array<float, 13>& r, Cover cover, float cloud, bool shadow, bool snow, float illum) {
  if (cloud > 0.65f) return 9;
  if (cloud > 0.35f) return 8;
  if (cloud > 0.12f) return 10;
  if (shadow) return 3;
  if (snow) return 11;
  if (cover == Cover::water) return 6;
  if (illum < 0.35f) return 2;
  const float ndvi = (r[7] - r[3]) / std::max(1e-6f, r[7] + r[3]);
  if (ndvi > 0.4f) return 4;
  return 5;
}

Scene make_scene(const World& world, const Static& st, const Tile& tile, int res, int n, const Acquisition& acq,
                 double sun_zenith, double sun_azimuth) {
  Scene s;
  s.n = n;
  s.res = res;
  const std::size_t count = static_cast<std::size_t>(n) * n;
  s.rho.resize(count), s.cloud.resize(count), s.shadow.resize(count), s.snow.resize(count), s.scl.resize(count);
  const int doy = day_of_year(acq.day);
  parallel_for(n, [&](int r0, int r1) {
    for (std::size_t i = static_cast<std::size_t>(r0) * n; i < static_cast<std::size_t>(r1) * n; ++i) {
      s.cloud[i] = static_cast<float>(world.cloud(st.lon[i], st.lat[i], acq.day));
    }
  });
  // Shadows: the cloud seen towards the sun, World::kCloudHeight up.
  const double dist = World::kCloudHeight * std::tan(sun_zenith * kDeg) / res;
  const int dc = static_cast<int>(std::lround(std::sin(sun_azimuth * kDeg) * dist));
  const int dr = static_cast<int>(std::lround(-std::cos(sun_azimuth * kDeg) * dist));
  const double cz = std::cos(sun_zenith * kDeg), sz = std::sin(sun_zenith * kDeg);
  const bool leaf_on = doy > 110 && doy < 300;
  const double grass_green = 0.35 + 0.6 * std::max(0.0, std::sin((doy - 80) / 365.25 * 2 * kPi));
  parallel_for(n, [&](int r_begin, int r_end) {
    for (int r = r_begin; r < r_end; ++r) {
      for (int c = 0; c < n; ++c) {
        const std::size_t i = static_cast<std::size_t>(r) * n + c;
        const int rc = c + dc, rr = r + dr;
        const bool shadow = rc >= 0 && rr >= 0 && rc < n && rr < n &&
                            s.cloud[static_cast<std::size_t>(rr) * n + rc] > 0.4f && s.cloud[i] < 0.12f;
        const Cover cover = st.cover[i];
        const bool snow = cover == Cover::glacier ||
                          (cover != Cover::water && world.snow(st.lon[i], st.lat[i], st.elevation[i], doy));
        // Terrain illumination from the local slope and aspect.
        const int c0 = std::max(c - 1, 0), c1 = std::min(c + 1, n - 1), r0 = std::max(r - 1, 0),
                  r1 = std::min(r + 1, n - 1);
        const double dzdx =
            (st.elevation[static_cast<std::size_t>(r) * n + c1] - st.elevation[static_cast<std::size_t>(r) * n + c0]) /
            ((c1 - c0) * res);
        const double dzdy =
            (st.elevation[static_cast<std::size_t>(r0) * n + c] - st.elevation[static_cast<std::size_t>(r1) * n + c]) /
            ((r1 - r0) * res);
        const double slope = std::atan(std::hypot(dzdx, dzdy));
        const double aspect = std::atan2(-dzdx, -dzdy);  // direction the slope faces, from north
        double illum = cover == Cover::water
                           ? 1.0
                           : (cz * std::cos(slope) + sz * std::sin(slope) * std::cos(sun_azimuth * kDeg - aspect)) / cz;
        illum = std::clamp(illum, 0.15, 1.6);
        std::array<float, 13> rho{};
        const double green = cover == Cover::cropland ? world.crop_green(st.lon[i], st.lat[i], doy) : 0;
        for (int b = 0; b < 13; ++b) {
          double v;
          if (snow) {
            v = snow_reflectance(b) * (cover == Cover::glacier ? 0.85 : 1.0);
          } else if (cover == Cover::cropland) {
            v = crop_reflectance(green, b);
          } else if (cover == Cover::grassland) {
            v = crop_reflectance(grass_green, b) * 0.5 +
                surface_reflectance(Cover::grassland, b) * 0.5 * grass_green / 0.95;
          } else if (cover == Cover::broadleaf && !leaf_on) {
            v = 0.5 * surface_reflectance(Cover::broadleaf, b) + 0.5 * crop_reflectance(0.1, b);
          } else {
            v = surface_reflectance(cover, b);
          }
          if (b != 10) {
            v *= st.texture[i];
            if (cover != Cover::water) v *= illum;
            if (shadow) v *= 0.3;
            v = (1 - s.cloud[i]) * v + s.cloud[i] * cloud_reflectance(b);
          } else {
            v = 0.002 + 0.15 * s.cloud[i] * s.cloud[i];  // cirrus band: dark unless high cloud
          }
          rho[b] = static_cast<float>(std::clamp(v, 0.0, 1.5));
        }
        s.rho[i] = rho;
        s.shadow[i] = shadow;
        s.snow[i] = snow;
        s.scl[i] = classify(rho, cover, s.cloud[i], shadow, snow, static_cast<float>(illum));
      }
    }
  });
  return s;
}

// Path radiance added from BOA to TOA (rough, per band) for L1C.
constexpr double kPath[13] = {.08, .05, .03, .015, .01, .008, .006, .005, .005, .0, .0, .0, .0};
constexpr double kWvAbsorb[13] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0.4, 1, 1, 1};

std::vector<std::uint16_t> band_dn(const Scene& s, int b, bool toa) {
  std::vector<std::uint16_t> out(s.rho.size());
  for (std::size_t i = 0; i < s.rho.size(); ++i) {
    double v = s.rho[i][b];
    if (toa && b != 10) v = v * kWvAbsorb[b] + kPath[b] * (1 - s.cloud[i]);
    out[i] = static_cast<std::uint16_t>(std::clamp(std::lround(v * 10000) + 1000, 1L, 65534L));
  }
  return out;
}

std::vector<std::uint8_t> tci(const Scene& s, bool toa) {
  std::vector<std::uint8_t> out(s.rho.size() * 3);
  const int bands[3] = {3, 2, 1};
  const std::size_t plane = s.rho.size();
  for (int k = 0; k < 3; ++k) {
    const int b = bands[k];
    for (std::size_t i = 0; i < plane; ++i) {
      double v = s.rho[i][b];
      if (toa) v += kPath[b];
      out[k * plane + i] = static_cast<std::uint8_t>(std::clamp(1 + std::lround(v / 0.2558 * 254), 1L, 255L));
    }
  }
  return out;
}

// Block average of an n×n Byte RGB image to m×m (quicklooks).
std::vector<std::uint8_t> downsample_rgb(const std::vector<std::uint8_t>& rgb, int n, int m) {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(m) * m * 3);
  const std::size_t plane = static_cast<std::size_t>(n) * n;
  for (int k = 0; k < 3; ++k) {
    for (int r = 0; r < m; ++r) {
      for (int c = 0; c < m; ++c) {
        const int sr = r * n / m, sc = c * n / m;
        out[static_cast<std::size_t>(k) * m * m + static_cast<std::size_t>(r) * m + c] =
            rgb[k * plane + static_cast<std::size_t>(sr) * n + sc];
      }
    }
  }
  return out;
}

// ---- XML ------------------------------------------------------------------------------------------------

const char* kXmlHead = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n";

struct Names {
  std::string product;      // S2A_MSIL2A_..._T32TPS_<gen>
  std::string safe;         // product + ".SAFE"
  std::string gen_compact;  // generation time
  std::string gen_iso;
  std::string ds_start;     // datastrip sensing start (compact)
  std::string datatake_id;  // GS2A_<dt>_<abs6>_N04.00
  std::string datastrip_id, tile_id, granule_dir, datastrip_dir, band_prefix;
};

Names names_for(const Acquisition& a, const Tile& t, const std::string& level) {
  Names n;
  const UtcTime gen = a.sensing.plus(3 * 3600 + 17 * 60 + 11);
  const UtcTime ds_start = a.datatake.plus(3);
  const std::string nb = "N" + a.baseline.substr(0, 2) + a.baseline.substr(3, 2);
  const std::string center = a.unit == 'A' ? "2APS" : "2BPS";
  n.gen_compact = compact(gen);
  n.gen_iso = iso(gen, 6);
  n.ds_start = compact(ds_start);
  n.product = fmt::format("S2{}_MSI{}_{}_{}_R{:03}_T{}_{}", a.unit, level, compact(a.datatake), nb, a.relative_orbit,
                          t.id, n.gen_compact);
  n.safe = n.product + ".SAFE";
  n.datatake_id = fmt::format("GS2{}_{}_{:06}_N{}", a.unit, compact(a.datatake), a.absolute_orbit, a.baseline);
  n.datastrip_id =
      fmt::format("S2{}_OPER_MSI_{}_DS_{}_{}_S{}_N{}", a.unit, level, center, n.gen_compact, n.ds_start, a.baseline);
  n.tile_id = fmt::format("S2{}_OPER_MSI_{}_TL_{}_{}_A{:06}_T{}_N{}", a.unit, level, center, n.gen_compact,
                          a.absolute_orbit, t.id, a.baseline);
  n.granule_dir = fmt::format("GRANULE/{}_T{}_A{:06}_{}", level, t.id, a.absolute_orbit, n.ds_start);
  n.datastrip_dir = fmt::format("DATASTRIP/DS_{}_{}_S{}", center, n.gen_compact, n.ds_start);
  n.band_prefix = fmt::format("T{}_{}", t.id, compact(a.datatake));
  return n;
}

std::string footprint_latlon(const Tile& t) {
  const double corners[5][2] = {{t.ulx, t.uly},
                                {t.ulx + 109800, t.uly},
                                {t.ulx + 109800, t.uly - 109800},
                                {t.ulx, t.uly - 109800},
                                {t.ulx, t.uly}};
  std::string out;
  for (const auto& c : corners) {
    double x = c[0], y = c[1];
    transform_point(t.epsg, 4326, x, y);
    out += fmt::format("{:.15g} {:.15g} ", y, x);
  }
  return out;
}

struct Stats {
  double cloud = 0, medium = 0, high = 0, cirrus = 0, shadow = 0, snow = 0, veg = 0, notveg = 0, water = 0, dark = 0,
         unclassified = 0;
};

Stats scene_stats(const Scene& s) {
  Stats st;
  double counts[12] = {0};
  for (auto v : s.scl) counts[v] += 1;
  const double n = static_cast<double>(s.scl.size());
  auto pct = [&](int k) { return 100.0 * counts[k] / n; };
  st.medium = pct(8), st.high = pct(9), st.cirrus = pct(10), st.shadow = pct(3), st.snow = pct(11), st.veg = pct(4),
  st.notveg = pct(5), st.water = pct(6), st.dark = pct(2), st.unclassified = pct(7);
  st.cloud = st.medium + st.high + st.cirrus;
  return st;
}

constexpr double kIrradianceA[13] = {1884.69, 1959.66, 1823.24, 1512.06, 1424.64, 1287.61, 1162.08,
                                     1041.63, 955.32,  812.92,  367.15,  245.59,  85.25};
constexpr double kIrradianceB[13] = {1874.3,  1959.75, 1824.93, 1512.79, 1425.78, 1291.13, 1175.57,
                                     1041.28, 953.93,  817.58,  365.41,  247.08,  87.75};
constexpr double kCentreA[13] = {442.7, 492.7, 559.8, 664.6,  704.1,  740.5, 782.8,
                                 832.8, 864.7, 945.1, 1373.5, 1613.7, 2202.4};
constexpr double kCentreB[13] = {442.3, 492.3, 559, 665, 703.8, 739.1, 779.7, 833, 864, 943.2, 1376.9, 1610.4, 2185.7};
constexpr const char* kPhysical[13] = {"B1", "B2",  "B3", "B4",  "B5",  "B6", "B7",
                                       "B8", "B8A", "B9", "B10", "B11", "B12"};

std::string user_product_xml(const Acquisition& a, const Tile& t, const Names& n, const std::string& level,
                             const std::vector<std::string>& image_files, const Stats& st, double u) {
  const bool l2a = level == "L2A";
  const std::string ns =
      fmt::format("https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-{}.xsd", l2a ? "2A" : "1C");
  std::string x = kXmlHead;
  x += fmt::format(
      "<n1:Level-{0}_User_Product xmlns:n1=\"{1}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xsi:schemaLocation=\"{1}\">\n",
      l2a ? "2A" : "1C", ns);
  x += "  <n1:General_Info>\n    <Product_Info>\n";
  x += fmt::format(
      "      <PRODUCT_START_TIME>{0}</PRODUCT_START_TIME>\n      <PRODUCT_STOP_TIME>{0}</PRODUCT_STOP_TIME>\n",
      iso(a.datatake));
  x += fmt::format("      <PRODUCT_URI>{}</PRODUCT_URI>\n      <PROCESSING_LEVEL>Level-{}</PROCESSING_LEVEL>\n", n.safe,
                   l2a ? "2A" : "1C");
  x += fmt::format("      <PRODUCT_TYPE>S2MSI{}</PRODUCT_TYPE>\n      <PROCESSING_BASELINE>{}</PROCESSING_BASELINE>\n",
                   l2a ? "2A" : "1C", a.baseline);
  x += fmt::format("      <PRODUCT_DOI>https://doi.org/10.5270/S2_-{}</PRODUCT_DOI>\n", l2a ? "znk9xsj" : "742ikth");
  x += fmt::format("      <GENERATION_TIME>{}</GENERATION_TIME>\n", n.gen_iso);
  x += "      <PREVIEW_IMAGE_URL>Not applicable</PREVIEW_IMAGE_URL>\n      <PREVIEW_GEO_INFO>Not "
       "applicable</PREVIEW_GEO_INFO>\n";
  x += fmt::format(
      "      <Datatake datatakeIdentifier=\"{}\">\n        <SPACECRAFT_NAME>Sentinel-2{}</SPACECRAFT_NAME>\n"
      "        <DATATAKE_TYPE>INS-NOBS</DATATAKE_TYPE>\n        <DATATAKE_SENSING_START>{}</DATATAKE_SENSING_START>\n"
      "        <SENSING_ORBIT_NUMBER>{}</SENSING_ORBIT_NUMBER>\n        "
      "<SENSING_ORBIT_DIRECTION>DESCENDING</SENSING_ORBIT_DIRECTION>\n"
      "      </Datatake>\n",
      n.datatake_id, a.unit, iso(a.datatake), a.relative_orbit);
  x += "      <Query_Options completeSingleTile=\"true\">\n        <PRODUCT_FORMAT>SAFE_COMPACT</PRODUCT_FORMAT>\n   "
       "  "
       " </Query_Options>\n";
  x += fmt::format(
      "      <Product_Organisation>\n        <Granule_List>\n          <Granule datastripIdentifier=\"{}\" "
      "granuleIdentifier=\"{}\" imageFormat=\"JPEG2000\">\n",
      n.datastrip_id, n.tile_id);
  for (const auto& f : image_files) x += fmt::format("            <IMAGE_FILE>{}</IMAGE_FILE>\n", f);
  x += "          </Granule>\n        </Granule_List>\n      </Product_Organisation>\n    </Product_Info>\n";
  x += "    <Product_Image_Characteristics>\n";
  x += "      <Special_Values>\n        <SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT>\n        "
       "<SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX>\n      </Special_Values>\n";
  x += "      <Special_Values>\n        <SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT>\n        "
       "<SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX>\n      </Special_Values>\n";
  x += "      <Image_Display_Order>\n        <RED_CHANNEL>3</RED_CHANNEL>\n        "
       "<GREEN_CHANNEL>2</GREEN_CHANNEL>\n  "
       "      <BLUE_CHANNEL>1</BLUE_CHANNEL>\n      </Image_Display_Order>\n";
  if (l2a) {
    x += "      <QUANTIFICATION_VALUES_LIST>\n        <BOA_QUANTIFICATION_VALUE "
         "unit=\"none\">10000</BOA_QUANTIFICATION_VALUE>\n"
         "        <AOT_QUANTIFICATION_VALUE unit=\"none\">1000.0</AOT_QUANTIFICATION_VALUE>\n"
         "        <WVP_QUANTIFICATION_VALUE unit=\"cm\">1000.0</WVP_QUANTIFICATION_VALUE>\n      "
         "</QUANTIFICATION_VALUES_LIST>\n";
    x += "      <BOA_ADD_OFFSET_VALUES_LIST>\n";
    for (int b = 0; b < 13; ++b) x += fmt::format("        <BOA_ADD_OFFSET band_id=\"{}\">-1000</BOA_ADD_OFFSET>\n", b);
    x += "      </BOA_ADD_OFFSET_VALUES_LIST>\n";
  } else {
    x += "      <QUANTIFICATION_VALUE unit=\"none\">10000</QUANTIFICATION_VALUE>\n      <Radiometric_Offset_List>\n";
    for (int b = 0; b < 13; ++b)
      x += fmt::format("        <RADIO_ADD_OFFSET band_id=\"{}\">-1000</RADIO_ADD_OFFSET>\n", b);
    x += "      </Radiometric_Offset_List>\n";
  }
  x += fmt::format("      <Reflectance_Conversion>\n        <U>{:.15f}</U>\n        <Solar_Irradiance_List>\n", u);
  const double* irr = a.unit == 'A' ? kIrradianceA : kIrradianceB;
  const double* centre = a.unit == 'A' ? kCentreA : kCentreB;
  for (int b = 0; b < 13; ++b)
    x += fmt::format("          <SOLAR_IRRADIANCE bandId=\"{}\" unit=\"W/m²/µm\">{}</SOLAR_IRRADIANCE>\n", b, irr[b]);
  x += "        </Solar_Irradiance_List>\n      </Reflectance_Conversion>\n      <Spectral_Information_List>\n";
  for (int b = 0; b < 13; ++b) {
    x += fmt::format(
        "        <Spectral_Information bandId=\"{}\" physicalBand=\"{}\">\n          <RESOLUTION>{}</RESOLUTION>\n"
        "          <Wavelength>\n            <CENTRAL unit=\"nm\">{}</CENTRAL>\n          </Wavelength>\n"
        "        </Spectral_Information>\n",
        b, kPhysical[b], kS2Resolution[b], centre[b]);
  }
  x += "      </Spectral_Information_List>\n";
  if (l2a) {
    static const char* kScl[12] = {"SC_NODATA",
                                   "SC_SATURATED_DEFECTIVE",
                                   "SC_DARK_FEATURE_SHADOW",
                                   "SC_CLOUD_SHADOW",
                                   "SC_VEGETATION",
                                   "SC_NOT_VEGETATED",
                                   "SC_WATER",
                                   "SC_UNCLASSIFIED",
                                   "SC_CLOUD_MEDIUM_PROBA",
                                   "SC_CLOUD_HIGH_PROBA",
                                   "SC_THIN_CIRRUS",
                                   "SC_SNOW_ICE"};
    x += "      <Scene_Classification_List>\n";
    for (int k = 0; k < 12; ++k) {
      x += fmt::format(
          "        <Scene_Classification_ID>\n          <SCENE_CLASSIFICATION_TEXT>{}</SCENE_CLASSIFICATION_TEXT>\n"
          "          <SCENE_CLASSIFICATION_INDEX>{}</SCENE_CLASSIFICATION_INDEX>\n        "
          "</Scene_Classification_ID>\n",
          kScl[k], k);
    }
    x += "      </Scene_Classification_List>\n";
  }
  x += "    </Product_Image_Characteristics>\n  </n1:General_Info>\n";
  x += fmt::format(
      "  <n1:Geometric_Info>\n    <Product_Footprint>\n      <Product_Footprint>\n        <Global_Footprint>\n"
      "          <EXT_POS_LIST>{}</EXT_POS_LIST>\n        </Global_Footprint>\n      </Product_Footprint>\n"
      "      <RASTER_CS_TYPE>POINT</RASTER_CS_TYPE>\n      <PIXEL_ORIGIN>1</PIXEL_ORIGIN>\n    </Product_Footprint>\n"
      "    <Coordinate_Reference_System>\n      <GEO_TABLES version=\"1\">EPSG</GEO_TABLES>\n"
      "      <HORIZONTAL_CS_TYPE>GEOGRAPHIC</HORIZONTAL_CS_TYPE>\n    </Coordinate_Reference_System>\n  "
      "</n1:Geometric_Info>\n",
      footprint_latlon(t));
  x += "  <n1:Auxiliary_Data_Info>\n    <PRODUCTION_DEM_TYPE>CopernicusDEM90</PRODUCTION_DEM_TYPE>\n  "
       "</n1:Auxiliary_Data_Info>\n";
  x += fmt::format(
      "  <n1:Quality_Indicators_Info>\n    <Cloud_Coverage_Assessment>{:.6f}</Cloud_Coverage_Assessment>\n", st.cloud);
  x += "    <Technical_Quality_Assessment>\n      <DEGRADED_ANC_DATA_PERCENTAGE>0.0</DEGRADED_ANC_DATA_PERCENTAGE>\n"
       "      <DEGRADED_MSI_DATA_PERCENTAGE>0</DEGRADED_MSI_DATA_PERCENTAGE>\n    </Technical_Quality_Assessment>\n";
  if (l2a) {
    x += fmt::format(
        "    <Image_Content_QI>\n      <NODATA_PIXEL_PERCENTAGE>0.000000</NODATA_PIXEL_PERCENTAGE>\n"
        "      <SATURATED_DEFECTIVE_PIXEL_PERCENTAGE>0.000000</SATURATED_DEFECTIVE_PIXEL_PERCENTAGE>\n"
        "      <DARK_FEATURES_PERCENTAGE>{:.6f}</DARK_FEATURES_PERCENTAGE>\n      "
        "<CLOUD_SHADOW_PERCENTAGE>{:.6f}</CLOUD_SHADOW_PERCENTAGE>\n"
        "      <VEGETATION_PERCENTAGE>{:.6f}</VEGETATION_PERCENTAGE>\n      "
        "<NOT_VEGETATED_PERCENTAGE>{:.6f}</NOT_VEGETATED_PERCENTAGE>\n"
        "      <WATER_PERCENTAGE>{:.6f}</WATER_PERCENTAGE>\n      "
        "<UNCLASSIFIED_PERCENTAGE>{:.6f}</UNCLASSIFIED_PERCENTAGE>\n"
        "      <MEDIUM_PROBA_CLOUDS_PERCENTAGE>{:.6f}</MEDIUM_PROBA_CLOUDS_PERCENTAGE>\n      "
        "<HIGH_PROBA_CLOUDS_PERCENTAGE>{:.6f}</HIGH_PROBA_CLOUDS_PERCENTAGE>\n"
        "      <THIN_CIRRUS_PERCENTAGE>{:.6f}</THIN_CIRRUS_PERCENTAGE>\n      "
        "<SNOW_ICE_PERCENTAGE>{:.6f}</SNOW_ICE_PERCENTAGE>\n"
        "      <AOT_RETRIEVAL_METHOD>CAMS</AOT_RETRIEVAL_METHOD>\n    </Image_Content_QI>\n",
        st.dark, st.shadow, st.veg, st.notveg, st.water, st.unclassified, st.medium, st.high, st.cirrus, st.snow);
  } else {
    x += fmt::format("    <Snow_Coverage_Assessment>{:.6f}</Snow_Coverage_Assessment>\n", st.snow);
  }
  x += fmt::format("  </n1:Quality_Indicators_Info>\n</n1:Level-{}_User_Product>\n", l2a ? "2A" : "1C");
  return x;
}

std::string tile_xml(const Acquisition& a, const Tile& t, const Names& n, const std::string& level, int scale,
                     const Stats& st, double sun_zenith_mean, double sun_azimuth_mean,
                     const std::vector<std::vector<double>>& zen, const std::vector<std::vector<double>>& azi,
                     const std::vector<std::pair<std::string, std::string>>& masks) {
  const bool l2a = level == "L2A";
  const std::string ns =
      fmt::format("https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-{}_Tile_Metadata.xsd", l2a ? "2A" : "1C");
  std::string x = kXmlHead;
  x += fmt::format(
      "<n1:Level-{0}_Tile_ID xmlns:n1=\"{1}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xsi:schemaLocation=\"{1}\">\n  <n1:General_Info>\n",
      l2a ? "2A" : "1C", ns);
  if (l2a) {
    Names l1c = names_for(a, t, "L1C");
    x += fmt::format("    <L1C_TILE_ID metadataLevel=\"Brief\">{}</L1C_TILE_ID>\n", l1c.tile_id);
  }
  x += fmt::format(
      "    <TILE_ID metadataLevel=\"Brief\">{}</TILE_ID>\n    <DATASTRIP_ID "
      "metadataLevel=\"Standard\">{}</DATASTRIP_ID>\n"
      "    <DOWNLINK_PRIORITY metadataLevel=\"Standard\">NOMINAL</DOWNLINK_PRIORITY>\n"
      "    <SENSING_TIME metadataLevel=\"Standard\">{}</SENSING_TIME>\n"
      "    <Archiving_Info metadataLevel=\"Expertise\">\n      <ARCHIVING_CENTRE>{}</ARCHIVING_CENTRE>\n"
      "      <ARCHIVING_TIME>{}</ARCHIVING_TIME>\n    </Archiving_Info>\n  </n1:General_Info>\n",
      n.tile_id, n.datastrip_id, iso(a.sensing, 6), a.unit == 'A' ? "2APS" : "2BPS", n.gen_iso);
  x += fmt::format(
      "  <n1:Geometric_Info>\n    <Tile_Geocoding metadataLevel=\"Brief\">\n"
      "      <HORIZONTAL_CS_NAME>WGS84 / UTM zone {}N</HORIZONTAL_CS_NAME>\n      "
      "<HORIZONTAL_CS_CODE>EPSG:{}</HORIZONTAL_CS_CODE>\n",
      t.zone, t.epsg);
  for (int r : {10, 20, 60}) {
    const int size = (r == 10 ? 10980 : r == 20 ? 5490 : 1830) / scale;
    x += fmt::format(
        "      <Size resolution=\"{}\">\n        <NROWS>{}</NROWS>\n        <NCOLS>{}</NCOLS>\n      </Size>\n", r,
        size, size);
  }
  for (int r : {10, 20, 60}) {
    x += fmt::format(
        "      <Geoposition resolution=\"{}\">\n        <ULX>{:.0f}</ULX>\n        <ULY>{:.0f}</ULY>\n"
        "        <XDIM>{}</XDIM>\n        <YDIM>-{}</YDIM>\n      </Geoposition>\n",
        r, t.ulx, t.uly, r * scale, r * scale);
  }
  x += "    </Tile_Geocoding>\n    <Tile_Angles metadataLevel=\"Standard\">\n      <Sun_Angles_Grid>\n";
  for (const auto* grid : {&zen, &azi}) {
    x += grid == &zen ? "        <Zenith>\n" : "        <Azimuth>\n";
    x += "          <COL_STEP unit=\"m\">5000</COL_STEP>\n          <ROW_STEP unit=\"m\">5000</ROW_STEP>\n          "
         "<Values_List>\n";
    for (const auto& row : *grid) {
      std::string vals;
      for (double v : row) vals += (vals.empty() ? "" : " ") + fmt::format("{:.7g}", v);
      x += "            <VALUES>" + vals + "</VALUES>\n";
    }
    x += grid == &zen ? "          </Values_List>\n        </Zenith>\n"
                      : "          </Values_List>\n        </Azimuth>\n";
  }
  x += fmt::format(
      "      </Sun_Angles_Grid>\n      <Mean_Sun_Angle>\n        <ZENITH_ANGLE unit=\"deg\">{:.13g}</ZENITH_ANGLE>\n"
      "        <AZIMUTH_ANGLE unit=\"deg\">{:.13g}</AZIMUTH_ANGLE>\n      </Mean_Sun_Angle>\n"
      "      <Mean_Viewing_Incidence_Angle_List>\n",
      sun_zenith_mean, sun_azimuth_mean);
  for (int b = 0; b < 13; ++b) {
    x += fmt::format(
        "        <Mean_Viewing_Incidence_Angle bandId=\"{}\">\n          <ZENITH_ANGLE "
        "unit=\"deg\">{:.6f}</ZENITH_ANGLE>\n"
        "          <AZIMUTH_ANGLE unit=\"deg\">{:.6f}</AZIMUTH_ANGLE>\n        </Mean_Viewing_Incidence_Angle>\n",
        b, 4.4 + 0.02 * b, 104.8 + 0.3 * b);
  }
  x += "      </Mean_Viewing_Incidence_Angle_List>\n    </Tile_Angles>\n  </n1:Geometric_Info>\n";
  x += "  <n1:Quality_Indicators_Info metadataLevel=\"Standard\">\n    <Image_Content_QI>\n";
  x += fmt::format(
      "      <CLOUDY_PIXEL_PERCENTAGE>{:.6f}</CLOUDY_PIXEL_PERCENTAGE>\n      "
      "<DEGRADED_MSI_DATA_PERCENTAGE>0</DEGRADED_MSI_DATA_PERCENTAGE>\n",
      st.cloud);
  if (l2a) {
    x += fmt::format(
        "      <NODATA_PIXEL_PERCENTAGE>0.000000</NODATA_PIXEL_PERCENTAGE>\n      "
        "<VEGETATION_PERCENTAGE>{:.6f}</VEGETATION_PERCENTAGE>\n"
        "      <WATER_PERCENTAGE>{:.6f}</WATER_PERCENTAGE>\n      "
        "<SNOW_ICE_PERCENTAGE>{:.6f}</SNOW_ICE_PERCENTAGE>\n",
        st.veg, st.water, st.snow);
  } else {
    x += fmt::format("      <SNOW_PIXEL_PERCENTAGE>{:.6f}</SNOW_PIXEL_PERCENTAGE>\n", st.snow);
  }
  x += "    </Image_Content_QI>\n    <Pixel_Level_QI geometry=\"FULL_RESOLUTION\">\n";
  for (const auto& [type, file] : masks) {
    if (type == "PVI") continue;
    // Per-band masks name their band (bandId 0..12), as in the real MTD_TL.
    std::string band_attr;
    if (type == "MSK_DETFOO" || type == "MSK_QUALIT") {
      const auto band = file.substr(file.size() - 7, 3);  // "..._B8A.jp2"
      const auto it = std::find(kS2Bands.begin(), kS2Bands.end(), band);
      if (it != kS2Bands.end()) band_attr = fmt::format(" bandId=\"{}\"", it - kS2Bands.begin());
    }
    x += fmt::format("      <MASK_FILENAME{} type=\"{}\">{}</MASK_FILENAME>\n", band_attr, type, file);
  }
  x += "    </Pixel_Level_QI>\n";
  for (const auto& [type, file] : masks) {
    if (type == "PVI") x += fmt::format("    <PVI_FILENAME>{}</PVI_FILENAME>\n", file);
  }
  x += fmt::format("  </n1:Quality_Indicators_Info>\n</n1:Level-{}_Tile_ID>\n", l2a ? "2A" : "1C");
  return x;
}

std::string datastrip_xml(const Acquisition& a, const Names& n, const std::string& level) {
  const std::string lv = level == "L2A" ? "2A" : "1C";
  std::string x = kXmlHead;
  x += fmt::format(
      "<n1:Level-{0}_DataStrip_ID "
      "xmlns:n1=\"https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-{0}_Datastrip_Metadata.xsd\" "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n  <n1:General_Info>\n"
      "    <DATASTRIP_ID metadataLevel=\"Brief\">{1}</DATASTRIP_ID>\n    <DOWNLINK_PRIORITY "
      "metadataLevel=\"Standard\">NOMINAL</DOWNLINK_PRIORITY>\n"
      "    <Datatake_Info datatakeIdentifier=\"{2}\">\n      <DATATAKE_TYPE>INS-NOBS</DATATAKE_TYPE>\n"
      "      <DATATAKE_SENSING_START>{3}</DATATAKE_SENSING_START>\n      "
      "<SENSING_ORBIT_NUMBER>{4}</SENSING_ORBIT_NUMBER>\n"
      "      <SENSING_ORBIT_DIRECTION>DESCENDING</SENSING_ORBIT_DIRECTION>\n    </Datatake_Info>\n"
      "    <Datastrip_Time_Info>\n      <DATASTRIP_SENSING_START>{5}</DATASTRIP_SENSING_START>\n"
      "      <DATASTRIP_SENSING_STOP>{6}</DATASTRIP_SENSING_STOP>\n    </Datastrip_Time_Info>\n"
      "    <Processing_Info>\n      <PROCESSING_BASELINE>{7}</PROCESSING_BASELINE>\n      "
      "<UTC_DATE_TIME_PROCESSING>{8}</UTC_DATE_TIME_PROCESSING>\n"
      "    </Processing_Info>\n  </n1:General_Info>\n</n1:Level-{0}_DataStrip_ID>\n",
      lv, n.datastrip_id, n.datatake_id, iso(a.datatake), a.relative_orbit, iso(a.datatake.plus(3)),
      iso(a.sensing.plus(120)), a.baseline, n.gen_iso);
  return x;
}

std::string inspire_xml(const Names& n, const Tile& t) {
  double w = 1e9, e = -1e9, s = 1e9, nn = -1e9;
  const double corners[4][2] = {
      {t.ulx, t.uly}, {t.ulx + 109800, t.uly}, {t.ulx + 109800, t.uly - 109800}, {t.ulx, t.uly - 109800}};
  for (const auto& c : corners) {
    double x = c[0], y = c[1];
    transform_point(t.epsg, 4326, x, y);
    w = std::min(w, x), e = std::max(e, x), s = std::min(s, y), nn = std::max(nn, y);
  }
  std::string x = kXmlHead;
  x += "<gmd:MD_Metadata xmlns:gmd=\"http://www.isotc211.org/2005/gmd\" "
       "xmlns:gco=\"http://www.isotc211.org/2005/gco\" "
       "xmlns:gml=\"http://www.opengis.net/gml\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
       "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n";
  x += fmt::format(
      "  <gmd:fileIdentifier>\n    <gco:CharacterString>{}</gco:CharacterString>\n  </gmd:fileIdentifier>\n",
      n.product);
  x += "  <gmd:language>\n    <gmd:LanguageCode codeList=\"http://www.loc.gov/standards/iso639-2/\" "
       "codeListValue=\"eng\">eng</gmd:LanguageCode>\n  </gmd:language>\n";
  x += "  <gmd:identificationInfo>\n    <gmd:MD_DataIdentification>\n      <gmd:extent>\n        <gmd:EX_Extent>\n"
       "          <gmd:geographicElement>\n            <gmd:EX_GeographicBoundingBox>\n";
  x += fmt::format(
      "              <gmd:westBoundLongitude><gco:Decimal>{:.6f}</gco:Decimal></gmd:westBoundLongitude>\n"
      "              <gmd:eastBoundLongitude><gco:Decimal>{:.6f}</gco:Decimal></gmd:eastBoundLongitude>\n"
      "              <gmd:southBoundLatitude><gco:Decimal>{:.6f}</gco:Decimal></gmd:southBoundLatitude>\n"
      "              <gmd:northBoundLatitude><gco:Decimal>{:.6f}</gco:Decimal></gmd:northBoundLatitude>\n",
      w, e, s, nn);
  x += "            </gmd:EX_GeographicBoundingBox>\n          </gmd:geographicElement>\n        </gmd:EX_Extent>\n"
       "      </gmd:extent>\n    </gmd:MD_DataIdentification>\n  </gmd:identificationInfo>\n</gmd:MD_Metadata>\n";
  return x;
}

std::string manifest_xml(const Acquisition& a, const Tile& t, const Names& n, const std::string& level,
                         const std::vector<FileEntry>& files) {
  const bool l2a = level == "L2A";
  std::string x = kXmlHead;
  x += fmt::format(
      "<xfdu:XFDU xmlns:gml=\"http://www.opengis.net/gml\" xmlns:safe=\"http://www.esa.int/safe/sentinel/1.1\" "
      "xmlns:xfdu=\"urn:ccsds:schema:xfdu:1\" "
      "version=\"esa/safe/sentinel/1.1/sentinel-2/msi/archive_{}_user_product\">\n",
      l2a ? "l2a" : "l1c");
  x += fmt::format(
      "  <informationPackageMap>\n    <xfdu:contentUnit dmdID=\"acquisitionPeriod platform\" pdiID=\"processing\" "
      "textInfo=\"SENTINEL-2 MSI Level-{0} User Product\" unitType=\"Product_Level-{0}\">\n",
      l2a ? "2A" : "1C");
  for (std::size_t i = 0; i < files.size(); ++i) {
    x += fmt::format(
        "      <xfdu:contentUnit ID=\"Unit_{0}\" unitType=\"Measurement Data Unit\">\n"
        "        <dataObjectPointer dataObjectID=\"Object_{0}\"/>\n      </xfdu:contentUnit>\n",
        i);
  }
  x += "    </xfdu:contentUnit>\n  </informationPackageMap>\n  <metadataSection>\n";
  x += fmt::format(
      "    <metadataObject ID=\"acquisitionPeriod\" category=\"DMD\" classification=\"DESCRIPTION\">\n"
      "      <metadataWrap mimeType=\"text/xml\" textInfo=\"Acquisition Period\" vocabularyName=\"Sentinel-SAFE\">\n"
      "        <xmlData>\n          <safe:acquisitionPeriod>\n            <safe:startTime>{}</safe:startTime>\n"
      "          </safe:acquisitionPeriod>\n        </xmlData>\n      </metadataWrap>\n    </metadataObject>\n",
      iso(a.datatake));
  x += fmt::format(
      "    <metadataObject ID=\"measurementOrbitReference\" category=\"DMD\" classification=\"DESCRIPTION\">\n"
      "      <metadataWrap mimeType=\"text/xml\" textInfo=\"Orbit Reference\" vocabularyName=\"Sentinel-SAFE\">\n"
      "        <xmlData>\n          <safe:orbitReference>\n"
      "            <safe:orbitNumber groundTrackDirection=\"descending\" type=\"start\">{:06}</safe:orbitNumber>\n"
      "            <safe:relativeOrbitNumber type=\"start\">{:03}</safe:relativeOrbitNumber>\n"
      "          </safe:orbitReference>\n        </xmlData>\n      </metadataWrap>\n    </metadataObject>\n",
      a.absolute_orbit, a.relative_orbit);
  x += fmt::format(
      "    <metadataObject ID=\"platform\" category=\"DMD\" classification=\"DESCRIPTION\">\n"
      "      <metadataWrap mimeType=\"text/xml\" textInfo=\"Platform Description\" "
      "vocabularyName=\"Sentinel-SAFE\">\n"
      "        <xmlData>\n          <safe:platform>\n            "
      "<safe:nssdcIdentifier>2015-000A</safe:nssdcIdentifier>\n"
      "            <safe:familyName>SENTINEL</safe:familyName>\n            <safe:number>2{}</safe:number>\n"
      "            <safe:instrument>\n              <safe:familyName abbreviation=\"MSI\">Multi-Spectral "
      "Instrument</safe:familyName>\n"
      "            </safe:instrument>\n          </safe:platform>\n        </xmlData>\n      </metadataWrap>\n    "
      "</metadataObject>\n",
      a.unit);
  x += fmt::format(
      "    <metadataObject ID=\"processing\" category=\"PDI\" classification=\"PROVENANCE\">\n"
      "      <metadataWrap mimeType=\"text/xml\" textInfo=\"Processing\" vocabularyName=\"Sentinel-SAFE\">\n"
      "        <xmlData>\n          <safe:processing name=\"Generation of Level-{} User Product\" start=\"{}\"/>\n"
      "        </xmlData>\n      </metadataWrap>\n    </metadataObject>\n",
      l2a ? "2A" : "1C", n.gen_iso);
  x += fmt::format(
      "    <metadataObject ID=\"measurementFrameSet\" category=\"DMD\" classification=\"DESCRIPTION\">\n"
      "      <metadataWrap mimeType=\"text/xml\" textInfo=\"Frame Set\" vocabularyName=\"Sentinel-SAFE\">\n"
      "        <xmlData>\n          <safe:frameSet>\n            <safe:footPrint "
      "srsName=\"http://www.opengis.net/gml/srs/epsg.xml#4326\">\n"
      "              <gml:coordinates>{}</gml:coordinates>\n            </safe:footPrint>\n          "
      "</safe:frameSet>\n"
      "        </xmlData>\n      </metadataWrap>\n    </metadataObject>\n  </metadataSection>\n  "
      "<dataObjectSection>\n",
      footprint_latlon(t));
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    const bool xml = f.path.size() > 4 && f.path.substr(f.path.size() - 4) == ".xml";
    x += fmt::format(
        "    <dataObject ID=\"Object_{}\">\n      <byteStream mimeType=\"{}\" size=\"{}\">\n"
        "        <fileLocation href=\"./{}\" locatorType=\"URL\"/>\n"
        "        <checksum checksumName=\"SHA3-256\">{}</checksum>\n      </byteStream>\n    </dataObject>\n",
        i, xml ? "text/xml" : "application/octet-stream", f.size, xml_escape(f.path), f.sha3_256);
  }
  x += "  </dataObjectSection>\n</xfdu:XFDU>\n";
  return x;
}

// ---- the product writer ---------------------------------------------------------------------------------

struct Sizes {
  int n10, n20, n60;
};

GridSpec grid_for(const Tile& t, int res, int n) {
  return GridSpec{t.epsg, t.ulx, t.uly, static_cast<double>(res), static_cast<double>(res), n, n};
}

void jp2_u16(const Tile& t, int res, int n, const std::vector<std::uint16_t>& v, const std::filesystem::path& p) {
  auto mem = make_mem(grid_for(t, res, n), 1, GDT_UInt16);
  write_band(*mem, 1, v.data(), GDT_UInt16);
  write_jp2(*mem, p, 15, n >= 2048 ? 1024 : 512);
}

void jp2_u8(const Tile& t, int res, int n, const std::vector<std::uint8_t>& v, int bands,
            const std::filesystem::path& p, bool lossless = true) {
  auto mem = make_mem(grid_for(t, res, n), bands, GDT_Byte);
  const std::size_t plane = static_cast<std::size_t>(n) * n;
  for (int b = 0; b < bands; ++b) write_band(*mem, b + 1, v.data() + b * plane, GDT_Byte);
  write_jp2(*mem, p, 0, n >= 2048 ? 1024 : 512, lossless);
}

void cog_u16(const Tile& t, int res, int n, const std::vector<std::uint16_t>& v, const std::filesystem::path& p) {
  auto mem = make_mem(grid_for(t, res, n), 1, GDT_UInt16);
  write_band(*mem, 1, v.data(), GDT_UInt16);
  mem->GetRasterBand(1)->SetNoDataValue(0);
  write_cog(*mem, p, {"PREDICTOR=2"});
}

// MSK_DETFOO_Bxx (detector footprint: the number of the detector that saw each pixel; the 12
// staggered detectors cross the tile as ~25 km strips) and MSK_QUALIT_Bxx (8 bit-planes of
// defects, all clear here) for the 13 bands, at each band's resolution.
void write_band_masks(const Tile& tile, int scale, const std::string& qi,
                      std::vector<std::pair<std::string, std::string>>& masks, ProductWriter& w) {
  for (int b = 0; b < 13; ++b) {
    const int res = kS2Resolution[b] * scale;
    const int n = (kS2Resolution[b] == 10 ? 10980 : kS2Resolution[b] == 20 ? 5490 : 1830) / scale;
    std::vector<std::uint8_t> det(static_cast<std::size_t>(n) * n);
    for (int r = 0; r < n; ++r) {
      for (int c = 0; c < n; ++c) {
        // Detector edges run roughly along the (slightly tilted) descending ground track.
        const double across = (c + 0.08 * r) * res;
        det[static_cast<std::size_t>(r) * n + c] =
            static_cast<std::uint8_t>(5 + std::min(5, static_cast<int>(across / 25000)));
      }
    }
    const auto det_rel = fmt::format("{}/MSK_DETFOO_{}.jp2", qi, kS2Bands[b]);
    jp2_u8(tile, res, n, det, 1, w.path(det_rel));
    masks.emplace_back("MSK_DETFOO", det_rel);
    const std::vector<std::uint8_t> quality(static_cast<std::size_t>(n) * n * 8, 0);
    const auto q_rel = fmt::format("{}/MSK_QUALIT_{}.jp2", qi, kS2Bands[b]);
    jp2_u8(tile, res, n, quality, 8, w.path(q_rel));
    masks.emplace_back("MSK_QUALIT", q_rel);
  }
}

class Sentinel2Generator final : public MissionGenerator {
 public:
  std::string id() const override { return "s2"; }

  std::vector<Task> plan(const SynthOptions& options, const World& world) const override {
    std::vector<Task> tasks;
    const auto tiles = tiles_for(options.region);
    for (const auto& acq : acquisitions(options)) {
      for (const auto& tile : tiles) {
        const Names l2a = names_for(acq, tile, "L2A");
        Task task;
        task.key = "Sentinel-2/MSI/L2A/" + date_path(acq.datatake) + "/" + l2a.safe;
        const auto root = eodata_root(options.data_dir);
        const int scale = options.scale;
        task.run = [this, &world, acq, tile, scale, root](ProductWriter& w) {
          generate(world, acq, tile, scale, root, w);
        };
        tasks.push_back(std::move(task));
      }
    }
    // One cloudless mosaic per tile and year, from that year's acquisitions. At full resolution a
    // year of scenes does not fit in memory this way, so mosaics are made at scale 5 and 10 only.
    if (options.scale >= 5) {
      std::map<int, std::vector<Acquisition>> by_year;
      for (const auto& acq : acquisitions(options))
        by_year[std::stoi(date_path(acq.datatake).substr(0, 4))].push_back(acq);
      for (const auto& [year, acqs] : by_year) {
        for (const auto& tile : tiles) {
          Task task;
          task.key = fmt::format("Sentinel-2/MSI/CLOUDLESS/{}/S2_CLOUDLESS_{}_T{}", year, year, tile.id);
          const int scale = options.scale;
          task.run = [this, &world, acqs, tile, scale, year](ProductWriter& w) {
            generate_mosaic(world, acqs, tile, scale, year, w);
          };
          tasks.push_back(std::move(task));
        }
      }
    }
    return tasks;
  }

 private:
  // Per pixel, the median of the cloud- and shadow-free observations of the year (bands B02, B03,
  // B04, B08 as reflectance × 10000, nodata 0), a true-colour rendering and the number of clear
  // observations, as Cloud-Optimised GeoTIFFs on the tile's 10 m grid.
  void generate_mosaic(const World& world, const std::vector<Acquisition>& acqs, const Tile& tile, int scale, int year,
                       ProductWriter& w) const {
    const int n = 10980 / scale, res = 10 * scale;
    const std::size_t count = static_cast<std::size_t>(n) * n;
    const Static& st = cache_.get(world, tile, res, n);
    constexpr int kBands[4] = {1, 2, 3, 7};  // B02 B03 B04 B08
    std::vector<std::vector<std::array<float, 4>>> samples(count);
    for (const auto& acq : acqs) {
      double clon = tile.ulx + 54900, clat = tile.uly - 54900;
      transform_point(tile.epsg, 4326, clon, clat);
      double zenith = 0, azimuth = 0;
      sun_position(acq.sensing, clon, clat, zenith, azimuth);
      const Scene s = make_scene(world, st, tile, res, n, acq, zenith, azimuth);
      for (std::size_t i = 0; i < count; ++i) {
        const auto c = s.scl[i];
        if (c == 3 || c == 8 || c == 9 || c == 10 || c == 0 || c == 1) continue;
        samples[i].push_back({s.rho[i][kBands[0]], s.rho[i][kBands[1]], s.rho[i][kBands[2]], s.rho[i][kBands[3]]});
      }
    }
    std::array<std::vector<std::uint16_t>, 4> bands;
    for (auto& b : bands) b.assign(count, 0);
    std::vector<std::uint8_t> observations(count), rgb(count * 3, 0);
    for (std::size_t i = 0; i < count; ++i) {
      auto& v = samples[i];
      observations[i] = static_cast<std::uint8_t>(std::min<std::size_t>(v.size(), 255));
      if (v.empty()) continue;
      for (int b = 0; b < 4; ++b) {
        std::vector<float> x;
        x.reserve(v.size());
        for (const auto& e : v) x.push_back(e[b]);
        std::nth_element(x.begin(), x.begin() + static_cast<long>(x.size() / 2), x.end());
        bands[b][i] = static_cast<std::uint16_t>(std::clamp(std::lround(x[x.size() / 2] * 10000), 1L, 65534L));
      }
      for (int k = 0; k < 3; ++k) {
        const double rho = bands[2 - k][i] / 10000.0;
        rgb[k * count + i] = static_cast<std::uint8_t>(std::clamp(1 + std::lround(rho / 0.2558 * 254), 1L, 255L));
      }
    }
    const std::string base = fmt::format("S2_CLOUDLESS_{}_T{}", year, tile.id);
    static const char* kNames[4] = {"B02", "B03", "B04", "B08"};
    for (int b = 0; b < 4; ++b) cog_u16(tile, res, n, bands[b], w.path(fmt::format("{}_{}.tif", base, kNames[b])));
    {
      auto mem = make_mem(grid_for(tile, res, n), 3, GDT_Byte);
      for (int b = 0; b < 3; ++b) write_band(*mem, b + 1, rgb.data() + b * count, GDT_Byte);
      write_cog(*mem, w.path(base + "_TCI.tif"));
    }
    {
      auto mem = make_mem(grid_for(tile, res, n), 1, GDT_Byte);
      write_band(*mem, 1, observations.data(), GDT_Byte);
      write_cog(*mem, w.path(base + "_observations.tif"), {"OVERVIEW_RESAMPLING=NEAREST"});
    }
  }

  void generate(const World& world, const Acquisition& acq, const Tile& tile, int scale,
                const std::filesystem::path& root, ProductWriter& l2a_writer) const {
    const Sizes sz{10980 / scale, 5490 / scale, 1830 / scale};
    double clon = tile.ulx + 54900, clat = tile.uly - 54900;
    transform_point(tile.epsg, 4326, clon, clat);
    double zenith = 0, azimuth = 0;
    sun_position(acq.sensing, clon, clat, zenith, azimuth);
    // 23 × 23 sun-angle grid at 5 km steps.
    std::vector<std::vector<double>> zen(23, std::vector<double>(23)), azi(23, std::vector<double>(23));
    for (int r = 0; r < 23; ++r) {
      for (int c = 0; c < 23; ++c) {
        double x = tile.ulx + c * 5000, y = tile.uly - r * 5000;
        transform_point(tile.epsg, 4326, x, y);
        sun_position(acq.sensing, x, y, zen[r][c], azi[r][c]);
      }
    }
    const int doy = day_of_year(acq.day);
    const double u = 1 / std::pow(1 - 0.01673 * std::cos(0.0172 * (doy - 4)), 2);

    Scene s10 =
        make_scene(world, cache_.get(world, tile, 10 * scale, sz.n10), tile, 10 * scale, sz.n10, acq, zenith, azimuth);
    Scene s20 =
        make_scene(world, cache_.get(world, tile, 20 * scale, sz.n20), tile, 20 * scale, sz.n20, acq, zenith, azimuth);
    Scene s60 =
        make_scene(world, cache_.get(world, tile, 60 * scale, sz.n60), tile, 60 * scale, sz.n60, acq, zenith, azimuth);
    const Stats stats = scene_stats(s20);

    write_l2a(acq, tile, scale, s10, s20, s60, stats, zen, azi, zenith, azimuth, u, l2a_writer);
    const Names l1c = names_for(acq, tile, "L1C");
    const std::string l1c_key = "Sentinel-2/MSI/L1C/" + date_path(acq.datatake) + "/" + l1c.safe;
    if (!ProductWriter::exists(root, l1c_key)) {
      ProductWriter w(root, l1c_key);
      write_l1c(acq, tile, scale, s10, s20, s60, stats, zen, azi, zenith, azimuth, u, w);
      w.commit();
    }
    const Names l2a = names_for(acq, tile, "L2A");
    const std::string cog_key = "Sentinel-2/MSI/L2A-COG/" + date_path(acq.datatake) + "/" + l2a.product + "_COG.SAFE";
    if (!ProductWriter::exists(root, cog_key)) {
      ProductWriter w(root, cog_key);
      write_cog_variant(acq, tile, scale, s10, s20, s60, l2a, stats, zen, azi, zenith, azimuth, u, w);
      w.commit();
    }
  }

  static const Scene& scene_at(int res, const Scene& s10, const Scene& s20, const Scene& s60) {
    return res == 10 ? s10 : res == 20 ? s20 : s60;
  }

  void write_l2a(const Acquisition& acq, const Tile& tile, int scale, const Scene& s10, const Scene& s20,
                 const Scene& s60, const Stats& stats, const std::vector<std::vector<double>>& zen,
                 const std::vector<std::vector<double>>& azi, double zenith, double azimuth, double u,
                 ProductWriter& w) const {
    const Names n = names_for(acq, tile, "L2A");
    const std::string img = n.granule_dir + "/IMG_DATA";
    std::vector<std::string> image_files;
    static const std::vector<std::pair<int, std::vector<std::string>>> kLayout = {
        {10, {"B02", "B03", "B04", "B08", "TCI", "AOT", "WVP"}},
        {20, {"B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12", "TCI", "AOT", "WVP", "SCL"}},
        {60,
         {"B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B11", "B12", "TCI", "AOT", "WVP", "SCL"}}};
    const int doy = day_of_year(acq.day);
    std::vector<std::function<void()>> jobs;
    for (const auto& [res, bands] : kLayout) {
      const Scene& s = scene_at(res, s10, s20, s60);
      const int gres = res * scale;
      for (const auto& b : bands) {
        const std::string rel = fmt::format("{}/R{}m/{}_{}_{}m", img, res, n.band_prefix, b, res);
        image_files.push_back(rel);
        const auto path = w.path(rel + ".jp2");
        jobs.emplace_back([&s, &tile, b, gres, path, doy] {
          if (b == "TCI") {
            jp2_u8(tile, gres, s.n, tci(s, false), 3, path);
          } else if (b == "SCL") {
            jp2_u8(tile, gres, s.n, s.scl, 1, path);
          } else if (b == "AOT" || b == "WVP") {
            std::vector<std::uint16_t> v(s.rho.size());
            const double wv = 0.6 + 1.6 * std::max(0.0, std::sin((doy - 80) / 365.25 * 2 * kPi));
            for (std::size_t i = 0; i < v.size(); ++i) {
              v[i] = b == "AOT" ? static_cast<std::uint16_t>(90 + 40 * s.cloud[i])
                                : static_cast<std::uint16_t>(std::lround(wv * 1000 * (0.9 + 0.1 * s.rho[i][8])));
            }
            jp2_u16(tile, gres, s.n, v, path);
          } else {
            const int bi = static_cast<int>(std::find(kS2Bands.begin(), kS2Bands.end(), b) - kS2Bands.begin());
            jp2_u16(tile, gres, s.n, band_dn(s, bi, false), path);
          }
        });
      }
    }
    // Full-resolution tiles encode bands on every core (the JPEG 2000 encoder uses one).
    const int lanes = s10.n >= 2048 ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) : 1;
    std::atomic<std::size_t> next{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    parallel_for(lanes >= 2 ? 4096 : 1, [&](int, int) {
      for (std::size_t j = next++; j < jobs.size(); j = next++) {
        try {
          jobs[j]();
        } catch (...) {
          std::lock_guard lock(failure_mutex);
          if (!failure) failure = std::current_exception();
        }
      }
    });
    if (failure) std::rethrow_exception(failure);
    // Quality masks.
    const std::string qi = n.granule_dir + "/QI_DATA";
    std::vector<std::pair<std::string, std::string>> masks;
    write_band_masks(tile, scale, qi, masks, w);
    for (int res : {20, 60}) {
      const Scene& s = scene_at(res, s10, s20, s60);
      std::vector<std::uint8_t> cld(s.cloud.size()), snw(s.cloud.size());
      for (std::size_t i = 0; i < cld.size(); ++i) {
        cld[i] = static_cast<std::uint8_t>(std::lround(std::min(1.0f, s.cloud[i] * 1.1f) * 100));
        snw[i] = s.snow[i] && s.cloud[i] < 0.35f ? 95 : 0;
      }
      const auto cld_rel = fmt::format("{}/MSK_CLDPRB_{}m.jp2", qi, res),
                 snw_rel = fmt::format("{}/MSK_SNWPRB_{}m.jp2", qi, res);
      jp2_u8(tile, res * scale, s.n, cld, 1, w.path(cld_rel));
      jp2_u8(tile, res * scale, s.n, snw, 1, w.path(snw_rel));
      masks.emplace_back("MSK_CLDPRB", cld_rel);
      masks.emplace_back("MSK_SNWPRB", snw_rel);
    }
    {
      // MSK_CLASSI_B00: opaque clouds, cirrus, snow (60 m, 3 bands of 0/1).
      const std::size_t plane = s60.scl.size();
      std::vector<std::uint8_t> classi(plane * 3);
      for (std::size_t i = 0; i < plane; ++i) {
        classi[i] = s60.scl[i] == 8 || s60.scl[i] == 9;
        classi[plane + i] = s60.scl[i] == 10;
        classi[2 * plane + i] = s60.scl[i] == 11;
      }
      const auto rel = qi + "/MSK_CLASSI_B00.jp2";
      jp2_u8(tile, 60 * scale, s60.n, classi, 3, w.path(rel));
      masks.emplace_back("MSK_CLASSI", rel);
    }
    write_previews(tile, s60, false, n, qi, masks, w);
    w.write_text("MTD_MSIL2A.xml", user_product_xml(acq, tile, n, "L2A", image_files, stats, u));
    w.write_text(n.granule_dir + "/MTD_TL.xml",
                 tile_xml(acq, tile, n, "L2A", scale, stats, zenith, azimuth, zen, azi, masks));
    w.write_text(n.datastrip_dir + "/MTD_DS.xml", datastrip_xml(acq, n, "L2A"));
    w.write_text("INSPIRE.xml", inspire_xml(n, tile));
    write_manifest(acq, tile, n, "L2A", w);
  }

  void write_l1c(const Acquisition& acq, const Tile& tile, int scale, const Scene& s10, const Scene& s20,
                 const Scene& s60, const Stats& stats, const std::vector<std::vector<double>>& zen,
                 const std::vector<std::vector<double>>& azi, double zenith, double azimuth, double u,
                 ProductWriter& w) const {
    const Names n = names_for(acq, tile, "L1C");
    const std::string img = n.granule_dir + "/IMG_DATA";
    std::vector<std::string> image_files;
    for (int b = 0; b < 13; ++b) {
      const int res = kS2Resolution[b];
      const Scene& s = scene_at(res, s10, s20, s60);
      const std::string rel = fmt::format("{}/{}_{}", img, n.band_prefix, kS2Bands[b]);
      image_files.push_back(rel);
      jp2_u16(tile, res * scale, s.n, band_dn(s, b, true), w.path(rel + ".jp2"));
    }
    const std::string tci_rel = fmt::format("{}/{}_TCI", img, n.band_prefix);
    image_files.push_back(tci_rel);
    jp2_u8(tile, 10 * scale, s10.n, tci(s10, true), 3, w.path(tci_rel + ".jp2"));
    const std::string qi = n.granule_dir + "/QI_DATA";
    std::vector<std::pair<std::string, std::string>> masks;
    write_band_masks(tile, scale, qi, masks, w);
    {
      const std::size_t plane = s60.scl.size();
      std::vector<std::uint8_t> classi(plane * 3);
      for (std::size_t i = 0; i < plane; ++i) {
        classi[i] = s60.cloud[i] > 0.35f;
        classi[plane + i] = s60.cloud[i] > 0.12f && s60.cloud[i] <= 0.35f;
        classi[2 * plane + i] = s60.snow[i];
      }
      const auto rel = qi + "/MSK_CLASSI_B00.jp2";
      jp2_u8(tile, 60 * scale, s60.n, classi, 3, w.path(rel));
      masks.emplace_back("MSK_CLASSI", rel);
    }
    write_previews(tile, s60, true, n, qi, masks, w);
    w.write_text("MTD_MSIL1C.xml", user_product_xml(acq, tile, n, "L1C", image_files, stats, u));
    w.write_text(n.granule_dir + "/MTD_TL.xml",
                 tile_xml(acq, tile, n, "L1C", scale, stats, zenith, azimuth, zen, azi, masks));
    w.write_text(n.datastrip_dir + "/MTD_DS.xml", datastrip_xml(acq, n, "L1C"));
    w.write_text("INSPIRE.xml", inspire_xml(n, tile));
    write_manifest(acq, tile, n, "L1C", w);
  }

  // PVI (343 × 343, 320 m, lossy JP2) in QI_DATA and CDSE's <name>-ql.jpg at the SAFE root.
  static void write_previews(const Tile& tile, const Scene& s60, bool toa, const Names& n, const std::string& qi,
                             std::vector<std::pair<std::string, std::string>>& masks, ProductWriter& w) {
    constexpr int kPvi = 343;
    const auto rgb = downsample_rgb(tci(s60, toa), s60.n, kPvi);
    GridSpec g{tile.epsg, tile.ulx, tile.uly, 109800.0 / kPvi, 109800.0 / kPvi, kPvi, kPvi};
    auto mem = make_mem(g, 3, GDT_Byte);
    const std::size_t plane = static_cast<std::size_t>(kPvi) * kPvi;
    for (int b = 0; b < 3; ++b) write_band(*mem, b + 1, rgb.data() + b * plane, GDT_Byte);
    const auto pvi_rel = fmt::format("{}/{}_PVI.jp2", qi, n.band_prefix);
    write_jp2(*mem, w.path(pvi_rel), 0, 512, false);
    masks.emplace_back("PVI", pvi_rel);
    write_jpeg(*mem, w.path(n.product + "-ql.jpg"));
  }

  static void write_manifest(const Acquisition& acq, const Tile& tile, const Names& n, const std::string& level,
                             ProductWriter& w) {
    // Every file except the quicklook (CDSE adds it outside the SAFE's own inventory).
    std::vector<FileEntry> files;
    const auto base = w.path("manifest.safe").parent_path();
    std::vector<std::string> rels;
    for (const auto& e : std::filesystem::recursive_directory_iterator(base)) {
      if (!e.is_regular_file()) continue;
      const auto rel = std::filesystem::relative(e.path(), base).generic_string();
      if (rel == "manifest.safe" || rel == n.product + "-ql.jpg") continue;
      rels.push_back(rel);
    }
    std::sort(rels.begin(), rels.end());
    for (const auto& r : rels) files.push_back(w.describe(r));
    w.write_text("manifest.safe", manifest_xml(acq, tile, n, level, files));
  }

  // SAFE-COG variant: the same L2A, band files as Cloud-Optimised GeoTIFFs at native resolution.
  static void write_cog_variant(const Acquisition& acq, const Tile& tile, int scale, const Scene& s10, const Scene& s20,
                                const Scene& s60, const Names& n, const Stats& stats,
                                const std::vector<std::vector<double>>& zen,
                                const std::vector<std::vector<double>>& azi, double zenith, double azimuth, double u,
                                ProductWriter& w) {
    const std::string img = n.granule_dir + "/IMG_DATA";
    std::vector<std::string> image_files;
    for (int b = 0; b < 13; ++b) {
      if (b == 10) continue;  // L2A has no B10
      const int res = kS2Resolution[b];
      const Scene& s = scene_at(res, s10, s20, s60);
      const std::string rel = fmt::format("{}/R{}m/{}_{}_{}m", img, res, n.band_prefix, kS2Bands[b], res);
      image_files.push_back(rel);
      cog_u16(tile, s.res, s.n, band_dn(s, b, false), w.path(rel + ".tif"));
    }
    image_files.push_back(fmt::format("{}/R20m/{}_SCL_20m", img, n.band_prefix));
    image_files.push_back(fmt::format("{}/R10m/{}_TCI_10m", img, n.band_prefix));
    {
      auto mem = make_mem(grid_for(tile, s20.res, s20.n), 1, GDT_Byte);
      write_band(*mem, 1, s20.scl.data(), GDT_Byte);
      mem->GetRasterBand(1)->SetNoDataValue(0);
      write_cog(*mem, w.path(fmt::format("{}/R20m/{}_SCL_20m.tif", img, n.band_prefix)),
                {"OVERVIEW_RESAMPLING=NEAREST"});
    }
    {
      auto mem = make_mem(grid_for(tile, s10.res, s10.n), 3, GDT_Byte);
      const auto rgb = tci(s10, false);
      const std::size_t plane = s10.rho.size();
      for (int b = 0; b < 3; ++b) write_band(*mem, b + 1, rgb.data() + b * plane, GDT_Byte);
      write_cog(*mem, w.path(fmt::format("{}/R10m/{}_TCI_10m.tif", img, n.band_prefix)));
    }
    std::vector<std::pair<std::string, std::string>> masks;
    w.write_text("MTD_MSIL2A.xml", user_product_xml(acq, tile, n, "L2A", image_files, stats, u));
    w.write_text(n.granule_dir + "/MTD_TL.xml",
                 tile_xml(acq, tile, n, "L2A", scale, stats, zenith, azimuth, zen, azi, masks));
    write_manifest(acq, tile, n, "L2A", w);
  }

  mutable StaticCache cache_;
};

}  // namespace

std::unique_ptr<MissionGenerator> make_sentinel2_generator() { return std::make_unique<Sentinel2Generator>(); }

}  // namespace ds::synth
