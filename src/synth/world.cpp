#include "synth/world.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.hpp"

namespace ds::synth {
namespace {

constexpr double kPi = 3.14159265358979323846;

double smoothstep(double e0, double e1, double x) {
  const double t = std::clamp((x - e0) / (e1 - e0), 0.0, 1.0);
  return t * t * (3 - 2 * t);
}

// Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9).
double inverse_normal(double p) {
  p = std::clamp(p, 1e-9, 1 - 1e-9);
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double lo = 0.02425;
  if (p < lo) {
    const double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -inverse_normal(1 - p);
  const double q = p - 0.5;
  const double r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

double segment_distance(double px, double py, double ax, double ay, double bx, double by) {
  const double vx = bx - ax, vy = by - ay;
  const double len2 = vx * vx + vy * vy;
  const double t = len2 > 0 ? std::clamp(((px - ax) * vx + (py - ay) * vy) / len2, 0.0, 1.0) : 0.0;
  const double dx = px - (ax + t * vx), dy = py - (ay + t * vy);
  return std::sqrt(dx * dx + dy * dy);
}

// Logistic step from 0 to 1 centred on day `mid`, about `width` days wide.
double rise(int doy, double mid, double width) { return 1.0 / (1.0 + std::exp(-(doy - mid) / width)); }

}  // namespace

std::uint64_t mix(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d) {
  // splitmix64 finaliser over a combination: stable across platforms and compilers.
  auto sm = [](std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  };
  return sm(sm(sm(sm(a) ^ b) ^ c) ^ d);
}

std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t day, int& y, unsigned& m, unsigned& d) {
  const std::int64_t z = day + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int>(yoe) + static_cast<int>(era) * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
}

int day_of_year(std::int64_t day) {
  int y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(day, y, m, d);
  return static_cast<int>(day - days_from_civil(y, 1, 1)) + 1;
}

const char* cover_name(Cover c) {
  switch (c) {
    case Cover::water:
      return "water";
    case Cover::urban:
      return "urban";
    case Cover::cropland:
      return "cropland";
    case Cover::grassland:
      return "grassland";
    case Cover::broadleaf:
      return "broadleaf";
    case Cover::conifer:
      return "conifer";
    case Cover::rock:
      return "rock";
    case Cover::glacier:
      return "glacier";
  }
  return "unknown";
}

Region parse_region(const std::string& text) {
  if (text == "bolzano") return Region{"bolzano", 10.95, 46.25, 11.55, 46.80};
  std::vector<double> v;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      v.push_back(std::stod(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw Error(ErrorCode::invalid_parameter, "region must be a name (bolzano) or W,S,E,N in degrees", "region");
    }
  }
  if (v.size() != 4 || v[0] >= v[2] || v[1] >= v[3] || v[0] < -180 || v[2] > 180 || v[1] < -80 || v[3] > 84 ||
      v[2] - v[0] > 3 || v[3] - v[1] > 3) {
    throw Error(ErrorCode::invalid_parameter,
                "region bbox must be W,S,E,N with W<E, S<N, within -180..180 / -80..84 and at most 3 degrees a side",
                "region");
  }
  return Region{"bbox", v[0], v[1], v[2], v[3]};
}

World::World(Region region, std::uint64_t seed) : region_(std::move(region)), seed_(seed) {
  lat0_ = (region_.south + region_.north) / 2;
  if (region_.name == "bolzano") {
    // Adige (Etsch) from Merano through Bolzano towards Trento, and the Isarco (Eisack) from Brixen.
    rivers_.push_back({{11.02, 46.68},
                       {11.16, 46.665},
                       {11.25, 46.58},
                       {11.33, 46.505},
                       {11.31, 46.40},
                       {11.22, 46.30},
                       {11.15, 46.18},
                       {11.12, 46.05}});
    rivers_.push_back(
        {{11.70, 46.76}, {11.657, 46.712}, {11.56, 46.63}, {11.45, 46.55}, {11.36, 46.505}, {11.33, 46.505}});
    lakes_.push_back({11.262, 46.385, 0.9});  // Lago di Caldaro
    towns_ = {{"Bolzano", 11.352, 46.497, 2.8},
              {"Merano", 11.162, 46.668, 1.8},
              {"Brixen", 11.657, 46.715, 1.3},
              {"Trento", 11.121, 46.068, 2.5}};
  } else {
    const double cx = (region_.west + region_.east) / 2, cy = lat0_;
    const double angle = unit(mix(seed, 1)) * kPi;
    const double dx = std::cos(angle) * (region_.east - region_.west),
                 dy = std::sin(angle) * (region_.north - region_.south);
    rivers_.push_back({{cx - dx, cy - dy}, {cx, cy}, {cx + dx, cy + dy}});
    lakes_.push_back({cx + 0.2 * (region_.east - region_.west) * (unit(mix(seed, 2)) - 0.5),
                      cy + 0.2 * (region_.north - region_.south) * (unit(mix(seed, 3)) - 0.5), 0.8});
    towns_ = {{"Town", cx, cy, 2.0}};
  }
}

double World::km_x(double lon) const { return lon * 111.32 * std::cos(lat0_ * kPi / 180); }
double World::km_y(double lat) const { return lat * 110.57; }

double World::fbm(double x, double y, int octaves, std::uint64_t salt) const {
  // Value noise on an integer lattice with quintic interpolation, summed over octaves. Returns
  // roughly 0..1 with mean 0.5.
  double sum = 0, amp = 0.5, norm = 0;
  for (int o = 0; o < octaves; ++o) {
    const double fx = std::floor(x), fy = std::floor(y);
    const auto ix = static_cast<std::int64_t>(fx), iy = static_cast<std::int64_t>(fy);
    const double tx = x - fx, ty = y - fy;
    const double sx = tx * tx * tx * (tx * (tx * 6 - 15) + 10), sy = ty * ty * ty * (ty * (ty * 6 - 15) + 10);
    auto v = [&](std::int64_t a, std::int64_t b) {
      return unit(mix(seed_ ^ salt, static_cast<std::uint64_t>(a), static_cast<std::uint64_t>(b), o));
    };
    const double n = (v(ix, iy) * (1 - sx) + v(ix + 1, iy) * sx) * (1 - sy) +
                     (v(ix, iy + 1) * (1 - sx) + v(ix + 1, iy + 1) * sx) * sy;
    sum += amp * n;
    norm += amp;
    amp *= 0.5;
    x = x * 2.03 + 17.1;
    y = y * 2.03 - 9.7;
  }
  return sum / norm;
}

double World::valley_distance_km(double lon, double lat) const {
  double best = 1e9;
  const double px = km_x(lon), py = km_y(lat);
  for (const auto& r : rivers_) {
    for (std::size_t i = 1; i < r.size(); ++i) {
      best =
          std::min(best, segment_distance(px, py, km_x(r[i - 1][0]), km_y(r[i - 1][1]), km_x(r[i][0]), km_y(r[i][1])));
    }
  }
  return best;
}

double World::elevation(double lon, double lat) const {
  const double x = km_x(lon), y = km_y(lat);
  // Mountains: broad massifs plus ridges; peaks reach ~3300 m.
  const double massif = fbm(x / 18, y / 18, 3, 11);
  const double ridges = 1 - std::abs(2 * fbm(x / 5, y / 5, 4, 12) - 1);
  double mountain = 450 + 1900 * massif + 750 * ridges * ridges;
  // Valleys carved along the rivers: a flat floor ~1 km wide with slopes rising over ~4 km.
  const double d = valley_distance_km(lon, lat);
  const double floor = 235 + 60 * fbm(x / 10, y / 10, 2, 13) + 4 * std::max(0.0, y - km_y(46.45));
  const double t = smoothstep(0.5, 5.0, d);
  double h = floor + (mountain - floor) * std::pow(t, 1.2);
  for (const auto& l : lakes_) {
    const double dl = std::hypot(x - km_x(l[0]), y - km_y(l[1]));
    if (dl < l[2] * 2.5) h = std::min(h, 215.0 + 300 * smoothstep(l[2], l[2] * 2.5, dl));
  }
  return h;
}

Cover World::cover(double lon, double lat, double elev) const {
  const double x = km_x(lon), y = km_y(lat);
  for (const auto& l : lakes_) {
    if (std::hypot(x - km_x(l[0]), y - km_y(l[1])) < l[2] * (0.9 + 0.2 * fbm(x, y, 2, 21))) return Cover::water;
  }
  if (valley_distance_km(lon, lat) < 0.045) return Cover::water;
  const double n = fbm(x / 2, y / 2, 3, 22) - 0.5;
  for (const auto& t : towns_) {
    if (std::hypot(x - km_x(t.lon), y - km_y(t.lat)) < t.radius_km * (1 + 0.6 * n)) return Cover::urban;
  }
  if (elev > 3000 + 300 * n) return Cover::glacier;
  if (elev > 2450 + 300 * n) return Cover::rock;
  if (elev > 2000 + 300 * n) return Cover::grassland;
  if (elev > 950 + 300 * n) return fbm(x / 1.5, y / 1.5, 2, 23) > 0.66 ? Cover::grassland : Cover::conifer;
  if (elev > 480 + 120 * n) return fbm(x / 1.2, y / 1.2, 2, 24) > 0.7 ? Cover::grassland : Cover::broadleaf;
  // Valley floor: field parcels, mostly orchards and vineyards around Bolzano.
  const auto px = static_cast<std::int64_t>(std::floor(x / 0.22)), py = static_cast<std::int64_t>(std::floor(y / 0.14));
  return unit(mix(seed_, 31, static_cast<std::uint64_t>(px), static_cast<std::uint64_t>(py))) < 0.1 ? Cover::grassland
                                                                                                    : Cover::cropland;
}

double World::crop_green(double lon, double lat, int doy) const {
  const auto px = static_cast<std::int64_t>(std::floor(km_x(lon) / 0.22));
  const auto py = static_cast<std::int64_t>(std::floor(km_y(lat) / 0.14));
  const double kind = unit(mix(seed_, 32, static_cast<std::uint64_t>(px), static_cast<std::uint64_t>(py)));
  const double jitter =
      12 * (unit(mix(seed_, 33, static_cast<std::uint64_t>(px), static_cast<std::uint64_t>(py))) - 0.5);
  const double base = 0.06;
  if (kind < 0.55) return base + 0.86 * rise(doy, 105 + jitter, 8) * (1 - rise(doy, 300 + jitter, 8));  // orchard
  if (kind < 0.75) return base + 0.70 * rise(doy, 135 + jitter, 8) * (1 - rise(doy, 290 + jitter, 8));  // vineyard
  if (kind < 0.90) return base + 0.88 * rise(doy, 85 + jitter, 9) * (1 - rise(doy, 192 + jitter, 2));   // cereal
  return base + 0.86 * rise(doy, 165 + jitter, 9) * (1 - rise(doy, 262 + jitter, 3));                   // maize
}

bool World::snow(double lon, double lat, double elev, int doy) const {
  const double line = 1950 - 1150 * std::cos(2 * kPi * (doy - 20) / 365.25);
  return elev > line + 250 * (fbm(km_x(lon) / 3, km_y(lat) / 3, 3, 41) - 0.5) * 2;
}

double World::cloudiness(std::int64_t day) const {
  const double u = unit(mix(seed_, 51, static_cast<std::uint64_t>(day)));
  const double v = unit(mix(seed_, 52, static_cast<std::uint64_t>(day)));
  if (u < 0.45) return 0.03 * v;
  if (u < 0.75) return 0.05 + 0.30 * v;
  return 0.40 + 0.55 * v;
}

double World::cloud(double lon, double lat, std::int64_t day) const {
  const double c = cloudiness(day);
  if (c <= 0.001) return 0;
  const double n = fbm(km_x(lon) / 14, km_y(lat) / 14, 5, 0x5000 + static_cast<std::uint64_t>(day));
  // fbm of 5 octaves is roughly normal with sd ~0.1: pick the threshold that covers `c`.
  const double threshold = 0.5 + 0.1 * inverse_normal(1 - c);
  return smoothstep(threshold - 0.01, threshold + 0.06, n);
}

double World::no2(double lon, double lat, std::int64_t day) const {
  const double wind_dir = 2 * kPi * unit(mix(seed_, 61, static_cast<std::uint64_t>(day)));
  const double wind_km = 5 + 15 * unit(mix(seed_, 62, static_cast<std::uint64_t>(day)));
  double v = 1.2e-5 + 0.6e-5 * fbm(km_x(lon) / 40, km_y(lat) / 40, 2, 63 + static_cast<std::uint64_t>(day));
  for (const auto& t : towns_) {
    const double dx = km_x(lon) - km_x(t.lon), dy = km_y(lat) - km_y(t.lat);
    // A plume stretched downwind: along-wind distance shifted by half the transport length.
    const double along = dx * std::cos(wind_dir) + dy * std::sin(wind_dir) - wind_km / 2;
    const double across = -dx * std::sin(wind_dir) + dy * std::cos(wind_dir);
    const double sa = 4 + wind_km / 2, sc = 3 + t.radius_km;
    v += 2.5e-5 * t.radius_km * std::exp(-(along * along) / (2 * sa * sa) - (across * across) / (2 * sc * sc));
  }
  return v;
}

namespace {
// Typical summer BOA reflectance per cover class, B01..B12 (B10 is a TOA value: cirrus band).
constexpr double kRefl[8][13] = {
    /* water     */ {.040, .040, .035, .015, .010, .005, .004, .004, .003, .002, .001, .002, .001},
    /* urban     */ {.080, .090, .110, .120, .140, .160, .170, .190, .200, .180, .003, .220, .190},
    /* cropland  */ {.020, .030, .070, .030, .100, .320, .420, .450, .470, .380, .002, .220, .100},
    /* grassland */ {.025, .035, .070, .040, .110, .270, .330, .360, .380, .300, .002, .220, .110},
    /* broadleaf */ {.020, .025, .050, .025, .080, .250, .320, .350, .370, .300, .002, .170, .080},
    /* conifer   */ {.015, .020, .035, .018, .050, .150, .190, .210, .220, .180, .002, .100, .045},
    /* rock      */ {.150, .170, .200, .230, .250, .270, .280, .290, .300, .270, .004, .330, .280},
    /* glacier   */ {.700, .720, .700, .680, .660, .640, .620, .600, .590, .450, .010, .050, .030},
};
constexpr double kSoil[13] = {.070, .080, .110, .140, .170, .190, .210, .220, .240, .220, .003, .300, .250};
constexpr double kSnow[13] = {.850, .880, .860, .840, .820, .800, .780, .760, .740, .550, .010, .060, .040};
constexpr double kCloud[13] = {.600, .620, .620, .630, .640, .640, .650, .650, .650, .500, .150, .400, .250};
}  // namespace

double surface_reflectance(Cover c, int band) { return kRefl[static_cast<int>(c)][band]; }
double snow_reflectance(int band) { return kSnow[band]; }
double cloud_reflectance(int band) { return kCloud[band]; }
double crop_reflectance(double green, int band) {
  return green * kRefl[static_cast<int>(Cover::cropland)][band] + (1 - green) * kSoil[band];
}

}  // namespace ds::synth
