// Sentinel-1 IW GRDH 1SDV products in the CDSE SAFE-COG layout
// (Sentinel-1/SAR/IW_GRDH_1S-COG/YYYY/MM/DD/<name>_COG.SAFE), cropped along and across track to the
// region plus a margin. The image is in radar geometry (rows = azimuth lines, columns = ground
// range samples) on a simple flat-earth swath model: a ground grid rotated to the track heading,
// right-looking, so near range is east on descending passes and west on ascending ones. Every pixel
// samples the World (terrain, cover, snow, crops), gets a C-band backscatter from backscatter.hpp,
// a terrain (local incidence) term, multiplicative Gamma speckle and thermal noise, and is stored
// as amplitude DN = sqrt(sigma0) * A_sigma (the sigmaNought LUT of the calibration annotation).

#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "synth/backscatter.hpp"
#include "synth/generator.hpp"
#include "synth/missions.hpp"
#include "synth/raster.hpp"
#include "synth/util.hpp"

namespace ds::synth {

// ---------------------------------------------------------------------------------------------
// Backscatter model (backscatter.hpp)
// ---------------------------------------------------------------------------------------------
namespace s1 {
namespace {
constexpr double kDeg = 3.14159265358979323846 / 180.0;
double db_to_linear(double db) { return std::pow(10.0, db / 10.0); }
}  // namespace

SigmaDb mean_sigma0_db(const Surface& s, double incidence_deg) {
  SigmaDb out;
  const double di = incidence_deg - 35.0;  // reference incidence of the table below
  if (s.snow && s.cover != Cover::water) {
    // Wet snow absorbs (dark), dry snow is volume scattering over the ground below.
    if (s.wet_snow) {
      out = {-20.0, -27.0};
    } else {
      out = {-12.0, -19.0};
    }
    out.vv -= 0.20 * di;
    out.vh -= 0.15 * di;
    return out;
  }
  switch (s.cover) {
    case Cover::water:
      // Calm water is a specular reflector; wind ripples raise it (and its incidence dependence is steep).
      out.vv = -22.0 + 4.0 * std::clamp(s.wind, 0.0, 1.0) - 0.45 * di;
      out.vh = -28.0 + 1.5 * std::clamp(s.wind, 0.0, 1.0) - 0.25 * di;
      return out;
    case Cover::urban:
      out = {1.0, -6.0};
      break;
    case Cover::cropland: {
      const double g = std::clamp(s.crop_green, 0.0, 1.0);
      out = {-12.0 + 4.0 * g, -21.0 + 7.0 * g};  // bare soil -> dense canopy
      break;
    }
    case Cover::grassland:
      out = {-12.0, -19.0};
      break;
    case Cover::broadleaf:
      out = {-7.0, -13.0};
      break;
    case Cover::conifer:
      out = {-7.5, -13.5};
      break;
    case Cover::rock:
      out = {-9.0, -16.5};
      break;
    case Cover::glacier:
      out = {-12.0, -19.0};
      break;  // dry firn when not flagged as snow
  }
  out.vv -= 0.15 * di;
  out.vh -= 0.12 * di;
  return out;
}

Sigma0 mean_sigma0(const Surface& s, double incidence_deg, double local_incidence_deg) {
  if (local_incidence_deg >= 87.0) return {db_to_linear(-30.0), db_to_linear(-36.0)};  // radar shadow
  const double loc = std::max(local_incidence_deg, 5.0);
  const auto db = mean_sigma0_db(s, loc);
  // Area normalisation: a slope facing the radar gathers more energy per ground-range pixel.
  const double area = std::clamp(std::sin(incidence_deg * kDeg) / std::sin(loc * kDeg), 0.1, 8.0);
  return {db_to_linear(db.vv) * area, db_to_linear(db.vh) * area};
}

double iw_incidence_deg(double ground_km) { return 30.6 + 15.4 * std::clamp(ground_km, 0.0, 250.0) / 250.0; }

double sigma_nought_lut(double incidence_deg) { return kBetaNought / std::sqrt(std::sin(incidence_deg * kDeg)); }
double gamma_lut(double incidence_deg) { return kBetaNought / std::sqrt(std::tan(incidence_deg * kDeg)); }

std::uint64_t SpeckleRng::next() {
  // splitmix64
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double SpeckleRng::uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }

double SpeckleRng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  const double u = uniform(), v = uniform();
  const double r = std::sqrt(-2.0 * std::log(u));
  spare_ = r * std::sin(2 * 3.14159265358979323846 * v);
  has_spare_ = true;
  return r * std::cos(2 * 3.14159265358979323846 * v);
}

double SpeckleRng::gamma_unit_mean(double shape) {
  // Marsaglia & Tsang (2000), shape >= 1; scaled to mean 1.
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = normal();
      v = 1.0 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = uniform();
    if (u < 1 - 0.0331 * x * x * x * x || std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v / shape;
  }
}

}  // namespace s1

// ---------------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------------
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDeg = kPi / 180.0;
constexpr double kLightSpeed = 299792458.0;
constexpr double kEarthRadius = 6371000.0;
constexpr double kAltitude = 693000.0;
constexpr double kGroundSpeed = 6732.0;                  // m/s of the zero-Doppler line on ground
constexpr double kOrbitPeriod = 12.0 * 86400.0 / 175.0;  // S1A: 175 orbits in a 12-day repeat
constexpr double kInclination = 98.18;

// One of the two S1A passes over the region. Reference absolute orbits are real-looking numbers
// consistent with rel = (abs - 73) mod 175 + 1 and with the orbit count of June 2022.
struct Pass {
  bool descending;
  int relative_orbit;
  double heading_deg;       // platformHeading, degrees from north
  double centre_seconds;    // UTC seconds of day over the region centre
  double ground_centre_km;  // ground range of the region centre from the swath near edge
  std::int64_t ref_day;     // a day with this pass
  int ref_abs_orbit;        // its absolute orbit
};

const Pass& pass(int i) {
  static const Pass passes[2] = {
      {true, 168, -167.0, 5 * 3600 + 26 * 60 + 35.0, 140.0, days_from_civil(2022, 6, 25), 43815},
      {false, 117, -13.0, 17 * 3600 + 6 * 60 + 40.0, 170.0, days_from_civil(2022, 6, 21), 43764},
  };
  return passes[i];
}

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// 2022-06-21T07:53:23.364527 (S1 annotation style, no zone designator).
std::string s1_time(const UtcTime& t) {
  auto s = iso(t, 6);
  s.pop_back();
  return s;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string e15(double v) { return fmt::format("{:.15e}", v); }
std::string e6(double v) { return fmt::format("{:.6e}", v); }

// Everything about one product that plan() needs (names, times) plus the scene geometry.
struct Scene {
  int pass_index = 0;
  std::int64_t day = 0;
  int abs_orbit = 0;
  int datatake = 0;
  unsigned product_id = 0;
  int scale = 10;
  double spacing_m = 100;
  int lines = 0, samples = 0;
  double clon = 0, clat = 0, kx = 1, ky = 1;  // local tangent plane (km per degree)
  double ax = 0, ay = 0, rx = 0, ry = 0;      // along-track and range unit vectors (east, north)
  double amin_km = 0, rmin_km = 0;            // first line and near range offsets from the centre
  double line_interval = 0;                   // seconds
  UtcTime first, last, anx;
  std::string name, key;

  void lonlat(double line, double sample, double& lon, double& lat) const {
    const double a = amin_km + line * spacing_m / 1000.0, r = rmin_km + sample * spacing_m / 1000.0;
    lon = clon + (a * ax + r * rx) / kx;
    lat = clat + (a * ay + r * ry) / ky;
  }
  // Where pixel (line, sample) looks on the terrain: the radar measures slant range, so a point h
  // metres up at ground range r' is imaged at r' - h / tan(incidence). Solved for r' by fixed-point
  // iteration (exact away from layover, where slopes facing the radar exceed the incidence angle).
  void terrain_lonlat(const World& world, double line, double sample, double& lon, double& lat, double& h) const {
    const double t = std::tan(incidence(sample) * kDeg);
    double shifted = sample;
    for (int k = 0; k < 4; ++k) {
      lonlat(line, shifted, lon, lat);
      h = world.elevation(lon, lat);
      shifted = sample + h / t / spacing_m;
    }
    lonlat(line, shifted, lon, lat);
    h = world.elevation(lon, lat);
  }
  double ground_range_km(double sample) const {
    return pass(pass_index).ground_centre_km + rmin_km + sample * spacing_m / 1000.0;
  }
  double incidence(double sample) const { return s1::iw_incidence_deg(ground_range_km(sample)); }
};

// Look (off-nadir) angle and two-way slant range time for an incidence angle on a spherical earth.
void radar_geometry(double incidence_deg, double& look_deg, double& slant_time) {
  const double rs = kEarthRadius + kAltitude;
  const double look = std::asin(kEarthRadius / rs * std::sin(incidence_deg * kDeg));
  const double gamma = incidence_deg * kDeg - look;
  const double range = std::sqrt(kEarthRadius * kEarthRadius + rs * rs - 2 * kEarthRadius * rs * std::cos(gamma));
  look_deg = look / kDeg;
  slant_time = 2 * range / kLightSpeed;
}

Scene make_scene(const SynthOptions& options, const World& world, int pass_index, std::int64_t day, int abs_orbit) {
  const Pass& p = pass(pass_index);
  const Region& region = world.region();
  Scene s;
  s.pass_index = pass_index;
  s.day = day;
  s.abs_orbit = abs_orbit;
  s.scale = options.scale;
  s.spacing_m = 10.0 * options.scale;
  s.clon = (region.west + region.east) / 2;
  s.clat = (region.south + region.north) / 2;
  s.kx = 111.32 * std::cos(s.clat * kDeg);
  s.ky = 110.57;
  const double h = p.heading_deg * kDeg;
  s.ax = std::sin(h);
  s.ay = std::cos(h);
  s.rx = s.ay;  // right of the track
  s.ry = -s.ax;
  double amin = 1e9, amax = -1e9, rmin = 1e9, rmax = -1e9;
  for (double lon : {region.west, region.east}) {
    for (double lat : {region.south, region.north}) {
      const double x = (lon - s.clon) * s.kx, y = (lat - s.clat) * s.ky;
      const double a = x * s.ax + y * s.ay, r = x * s.rx + y * s.ry;
      amin = std::min(amin, a), amax = std::max(amax, a), rmin = std::min(rmin, r), rmax = std::max(rmax, r);
    }
  }
  const double margin = 6.0;  // km
  // The along-track position of the cut varies a little from pass to pass, as real slices do.
  const double shift = 4.0 * (unit(mix(world.seed(), 0x5101, static_cast<std::uint64_t>(abs_orbit))) - 0.5);
  s.amin_km = amin - margin + shift;
  s.rmin_km = rmin - margin;
  const double sp = s.spacing_m / 1000.0;
  s.lines = static_cast<int>(std::ceil((amax - amin + 2 * margin) / sp)) + 1;
  s.samples = static_cast<int>(std::ceil((rmax - rmin + 2 * margin) / sp)) + 1;
  s.line_interval = s.spacing_m / kGroundSpeed;
  const double jitter = 2.0 * (unit(mix(world.seed(), 0x5102, static_cast<std::uint64_t>(abs_orbit))) - 0.5);
  const UtcTime centre = UtcTime::from_day(day, p.centre_seconds + jitter);
  s.first = centre.plus(s.amin_km * 1000.0 / kGroundSpeed);
  s.last = s.first.plus((s.lines - 1) * s.line_interval);
  // Time since the ascending node: argument of latitude of the region centre on this pass.
  const double u = std::asin(std::clamp(std::sin(s.clat * kDeg) / std::sin(kInclination * kDeg), -1.0, 1.0)) / kDeg;
  const double since_anx = (p.descending ? 180.0 - u : u) / 360.0 * kOrbitPeriod;
  s.anx = centre.plus(-since_anx);
  // Datatake ids grow by ~8.58 per orbit (342369 at orbit 43758, 432090 at 54210).
  s.datatake = 342369 + static_cast<int>(std::lround((abs_orbit - 43758) * 8.584)) +
               static_cast<int>(mix(world.seed(), 0x5103, static_cast<std::uint64_t>(abs_orbit)) % 5);
  s.product_id = static_cast<unsigned>(mix(world.seed(), 0x5104, static_cast<std::uint64_t>(abs_orbit)) & 0xFFFF);
  s.name = fmt::format("S1A_IW_GRDH_1SDV_{}_{}_{:06}_{:06X}_{:04X}", compact(s.first), compact(s.last), abs_orbit,
                       s.datatake, s.product_id);
  s.key = "Sentinel-1/SAR/IW_GRDH_1S-COG/" + date_path(s.first) + "/" + s.name + "_COG.SAFE";
  return s;
}

struct Files {
  std::string stem[2];  // s1a-iw-grd-vv-<start>-<stop>-<abs>-<dtid>-001-cog
};

Files file_names(const Scene& s) {
  Files f;
  const char* pols[2] = {"vv", "vh"};
  for (int k = 0; k < 2; ++k) {
    f.stem[k] = fmt::format("s1a-iw-grd-{}-{}-{}-{:06}-{}-{:03}-cog", pols[k], lower(compact(s.first)),
                            lower(compact(s.last)), s.abs_orbit, lower(fmt::format("{:06X}", s.datatake)), k + 1);
  }
  return f;
}

// Thermal noise power (DN^2) across the swath: three sub-swaths with scalloping at their edges.
double noise_power(double ground_km) {
  const double x = std::clamp(ground_km, 0.0, 250.0) / 250.0;
  return 1300.0 + 600.0 * std::abs(std::cos(3 * kPi * x)) - 300.0 * x;
}

std::string ads_header(const Scene& s, const char* pol, int image) {
  return fmt::format(
      "  <adsHeader>\n    <missionId>S1A</missionId>\n    <productType>GRD</productType>\n"
      "    <polarisation>{}</polarisation>\n    <mode>IW</mode>\n    <swath>IW</swath>\n"
      "    <startTime>{}</startTime>\n    <stopTime>{}</stopTime>\n"
      "    <absoluteOrbitNumber>{}</absoluteOrbitNumber>\n    <missionDataTakeId>{}</missionDataTakeId>\n"
      "    <imageNumber>{:03}</imageNumber>\n  </adsHeader>\n",
      pol, s1_time(s.first), s1_time(s.last), s.abs_orbit, s.datatake, image);
}

// Lines and pixels of the annotation grids: `n` intervals, always including the last index.
std::vector<int> grid_indices(int size, int n) {
  std::vector<int> v;
  for (int k = 0; k <= n; ++k) {
    const int i = static_cast<int>(std::lround(static_cast<double>(k) * (size - 1) / n));
    if (v.empty() || v.back() != i) v.push_back(i);
  }
  return v;
}

std::vector<int> step_indices(int size, int step) {
  std::vector<int> v;
  for (int i = 0; i < size - 1; i += step) v.push_back(i);
  v.push_back(size - 1);
  return v;
}

struct GeoPoint {
  int line, pixel;
  UtcTime time;
  double slant_time, lat, lon, height, incidence, elevation_angle;
};

std::string product_annotation(const Scene& s, const char* pol, int image, const std::vector<GeoPoint>& points,
                               double mean_dn, double sd_dn) {
  const Pass& p = pass(s.pass_index);
  double look = 0, near_time = 0;
  radar_geometry(s.incidence(0), look, near_time);
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<product>\n" + ads_header(s, pol, image);
  x += fmt::format(
      "  <qualityInformation>\n    <productQualityIndex>0.000000000000000e+00</productQualityIndex>\n"
      "    <qualityDataList count=\"0\"/>\n  </qualityInformation>\n"
      "  <generalAnnotation>\n    <productInformation>\n      <pass>{}</pass>\n"
      "      <timelinessCategory>Fast-24h</timelinessCategory>\n      <platformHeading>{}</platformHeading>\n"
      "      <projection>Ground Range</projection>\n      "
      "<rangeSamplingRate>6.434523812571428e+07</rangeSamplingRate>\n"
      "      <radarFrequency>5.405000454334350e+09</radarFrequency>\n"
      "      <azimuthSteeringRate>1.590368784000000e+00</azimuthSteeringRate>\n    </productInformation>\n"
      "  </generalAnnotation>\n",
      p.descending ? "Descending" : "Ascending", e15(p.heading_deg));
  double mid_look = 0, mid_time = 0;
  const double mid_inc = s.incidence((s.samples - 1) / 2.0);
  radar_geometry(mid_inc, mid_look, mid_time);
  x += fmt::format(
      "  <imageAnnotation>\n    <imageInformation>\n"
      "      <productFirstLineUtcTime>{}</productFirstLineUtcTime>\n"
      "      <productLastLineUtcTime>{}</productLastLineUtcTime>\n"
      "      <ascendingNodeTime>{}</ascendingNodeTime>\n      <anchorTime>{}</anchorTime>\n"
      "      <productComposition>Slice</productComposition>\n      <sliceNumber>4</sliceNumber>\n"
      "      <slantRangeTime>{}</slantRangeTime>\n      <pixelValue>Detected</pixelValue>\n"
      "      <outputPixels>16 bit Unsigned Integer</outputPixels>\n"
      "      <rangePixelSpacing>{}</rangePixelSpacing>\n      <azimuthPixelSpacing>{}</azimuthPixelSpacing>\n"
      "      <azimuthTimeInterval>{}</azimuthTimeInterval>\n      <azimuthFrequency>{}</azimuthFrequency>\n"
      "      <numberOfSamples>{}</numberOfSamples>\n      <numberOfLines>{}</numberOfLines>\n"
      "      <zeroDopMinusAcqTime>4.853125300000000e+01</zeroDopMinusAcqTime>\n"
      "      <incidenceAngleMidSwath>{}</incidenceAngleMidSwath>\n"
      "      <imageStatistics>\n        <outputDataMean>{}</outputDataMean>\n"
      "        <outputDataStdDev>{}</outputDataStdDev>\n      </imageStatistics>\n    </imageInformation>\n"
      "    <processingInformation>\n      "
      "<rangeSpreadingLossCompensationApplied>true</rangeSpreadingLossCompensationApplied>\n"
      "      <srgrConversionApplied>true</srgrConversionApplied>\n      <detectionPerformed>true</detectionPerformed>\n"
      "      <thermalNoiseCorrectionPerformed>false</thermalNoiseCorrectionPerformed>\n"
      "      <applicationLutId>IW_Default</applicationLutId>\n"
      "      <ellipsoidName>WGS84</ellipsoidName>\n"
      "      <ellipsoidSemiMajorAxis>6.378137000000000e+06</ellipsoidSemiMajorAxis>\n"
      "      <ellipsoidSemiMinorAxis>6.356752314245000e+06</ellipsoidSemiMinorAxis>\n"
      "    </processingInformation>\n  </imageAnnotation>\n",
      s1_time(s.first), s1_time(s.last), s1_time(s.anx), s1_time(s.first.plus(-40.0)), e15(near_time), e6(s.spacing_m),
      e6(s.spacing_m), e15(s.line_interval), e15(1.0 / s.line_interval), s.samples, s.lines, e15(mid_inc), e15(mean_dn),
      e15(sd_dn));
  x += "  <swathTiming>\n    <linesPerBurst>0</linesPerBurst>\n    <samplesPerBurst>0</samplesPerBurst>\n"
       "    <burstList count=\"0\"/>\n  </swathTiming>\n";
  x += fmt::format("  <geolocationGrid>\n    <geolocationGridPointList count=\"{}\">\n", points.size());
  for (const auto& g : points) {
    x += fmt::format(
        "      <geolocationGridPoint>\n        <azimuthTime>{}</azimuthTime>\n"
        "        <slantRangeTime>{}</slantRangeTime>\n        <line>{}</line>\n        <pixel>{}</pixel>\n"
        "        <latitude>{}</latitude>\n        <longitude>{}</longitude>\n        <height>{}</height>\n"
        "        <incidenceAngle>{}</incidenceAngle>\n        <elevationAngle>{}</elevationAngle>\n"
        "      </geolocationGridPoint>\n",
        s1_time(g.time), e15(g.slant_time), g.line, g.pixel, e15(g.lat), e15(g.lon), e15(g.height), e15(g.incidence),
        e15(g.elevation_angle));
  }
  x += "    </geolocationGridPointList>\n  </geolocationGrid>\n</product>\n";
  return x;
}

std::string join_values(const std::vector<double>& v, const char* fmt_spec) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ' ';
    out += fmt::format(fmt::runtime(fmt_spec), v[i]);
  }
  return out;
}

std::string join_ints(const std::vector<int>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + std::to_string(v[i]);
  return out;
}

std::string calibration_annotation(const Scene& s, const char* pol, int image) {
  const auto pixels = step_indices(s.samples, 40);
  const auto lines = grid_indices(s.lines, std::max(1, std::min(9, s.lines / 40)));
  std::vector<double> sigma, beta, gamma, dn;
  for (int px : pixels) {
    const double inc = s.incidence(px);
    sigma.push_back(s1::sigma_nought_lut(inc));
    beta.push_back(s1::kBetaNought);
    gamma.push_back(s1::gamma_lut(inc));
    dn.push_back(s1::kBetaNought);
  }
  const auto n = pixels.size();
  const std::string px = join_ints(pixels), sg = join_values(sigma, "{:.6e}"), bt = join_values(beta, "{:.6e}"),
                    gm = join_values(gamma, "{:.6e}"), d = join_values(dn, "{:.6e}");
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<calibration>\n" + ads_header(s, pol, image);
  x += "  <calibrationInformation>\n    <absoluteCalibrationConstant>1.000000e+00</absoluteCalibrationConstant>\n"
       "  </calibrationInformation>\n";
  x += fmt::format("  <calibrationVectorList count=\"{}\">\n", lines.size());
  for (int line : lines) {
    x += fmt::format(
        "    <calibrationVector>\n      <azimuthTime>{}</azimuthTime>\n      <line>{}</line>\n"
        "      <pixel count=\"{}\">{}</pixel>\n      <sigmaNought count=\"{}\">{}</sigmaNought>\n"
        "      <betaNought count=\"{}\">{}</betaNought>\n      <gamma count=\"{}\">{}</gamma>\n"
        "      <dn count=\"{}\">{}</dn>\n    </calibrationVector>\n",
        s1_time(s.first.plus(line * s.line_interval)), line, n, px, n, sg, n, bt, n, gm, n, d);
  }
  x += "  </calibrationVectorList>\n</calibration>\n";
  return x;
}

std::string noise_annotation(const Scene& s, const char* pol, int image) {
  const auto pixels = step_indices(s.samples, 40);
  const auto lines = grid_indices(s.lines, std::max(1, std::min(9, s.lines / 40)));
  std::vector<double> lut;
  for (int px : pixels) lut.push_back(noise_power(s.ground_range_km(px)));
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<noise>\n" + ads_header(s, pol, image);
  x += fmt::format("  <noiseRangeVectorList count=\"{}\">\n", lines.size());
  const std::string px = join_ints(pixels), lv = join_values(lut, "{:.6e}");
  for (int line : lines) {
    x += fmt::format(
        "    <noiseRangeVector>\n      <azimuthTime>{}</azimuthTime>\n      <line>{}</line>\n"
        "      <pixel count=\"{}\">{}</pixel>\n      <noiseRangeLut count=\"{}\">{}</noiseRangeLut>\n"
        "    </noiseRangeVector>\n",
        s1_time(s.first.plus(line * s.line_interval)), line, pixels.size(), px, pixels.size(), lv);
  }
  x += "  </noiseRangeVectorList>\n";
  const auto az = grid_indices(s.lines, std::max(1, std::min(20, s.lines / 10)));
  std::vector<double> ones(az.size(), 1.0);
  x += fmt::format(
      "  <noiseAzimuthVectorList count=\"1\">\n    <noiseAzimuthVector>\n      <swath>IW1</swath>\n"
      "      <firstAzimuthLine>0</firstAzimuthLine>\n      <firstRangeSample>0</firstRangeSample>\n"
      "      <lastAzimuthLine>{}</lastAzimuthLine>\n      <lastRangeSample>{}</lastRangeSample>\n"
      "      <line count=\"{}\">{}</line>\n      <noiseAzimuthLut count=\"{}\">{}</noiseAzimuthLut>\n"
      "    </noiseAzimuthVector>\n  </noiseAzimuthVectorList>\n</noise>\n",
      s.lines - 1, s.samples - 1, az.size(), join_ints(az), az.size(), join_values(ones, "{:.6e}"));
  return x;
}

// Four footprint corners: (last line, near), (last line, far), (first line, far), (first line, near).
std::vector<std::pair<double, double>> footprint(const Scene& s) {
  std::vector<std::pair<double, double>> c;  // lon, lat
  const double l1 = s.lines - 1, p1 = s.samples - 1;
  for (auto [l, px] : {std::pair{l1, 0.0}, std::pair{l1, p1}, std::pair{0.0, p1}, std::pair{0.0, 0.0}}) {
    double lon = 0, lat = 0;
    s.lonlat(l, px, lon, lat);
    c.emplace_back(lon, lat);
  }
  return c;
}

std::string map_overlay(const Scene& s) {
  std::string coords;
  for (auto [lon, lat] : footprint(s)) coords += fmt::format("{}{:.6f},{:.6f}", coords.empty() ? "" : " ", lon, lat);
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xmlns:gml=\"http://www.opengis.net/gml\" xmlns:xfdu=\"urn:ccsds:schema:xfdu:1\" "
      "xmlns:safe=\"http://www.esa.int/safe/sentinel-1.0\" "
      "xmlns:s1=\"http://www.esa.int/safe/sentinel-1.0/sentinel-1\" "
      "xmlns:s1sar=\"http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar\" "
      "xmlns:s1sarl1=\"http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1\" "
      "xmlns:s1sarl2=\"http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-2\" "
      "xmlns:gx=\"http://www.google.com/kml/ext/2.2\">\n  <Document>\n    <name>Sentinel-1 Map Overlay</name>\n"
      "    <Folder>\n      <name>Sentinel-1 Scene Overlay</name>\n      <GroundOverlay>\n"
      "        <name>Sentinel-1 Image Overlay</name>\n        <Icon>\n          <href>quick-look.png</href>\n"
      "        </Icon>\n        <gx:LatLonQuad>\n          <coordinates>{}</coordinates>\n        </gx:LatLonQuad>\n"
      "      </GroundOverlay>\n    </Folder>\n  </Document>\n</kml>\n",
      coords);
}

std::string object_id(const std::string& stem) {
  std::string out;
  for (char c : stem) {
    if (c != '-') out += c;
  }
  return out;
}

std::string manifest(const Scene& s, const Files& f, const std::vector<FileEntry>& entries, const UtcTime& proc_start,
                     const UtcTime& proc_stop) {
  const Pass& p = pass(s.pass_index);
  auto entry = [&](const std::string& path) -> const FileEntry& {
    for (const auto& e : entries) {
      if (e.path == path) return e;
    }
    throw Error(ErrorCode::internal, "manifest: missing file " + path);
  };
  std::string x =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xfdu:XFDU xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xmlns:gml=\"http://www.opengis.net/gml\" xmlns:xfdu=\"urn:ccsds:schema:xfdu:1\" "
      "xmlns:safe=\"http://www.esa.int/safe/sentinel-1.0\" "
      "xmlns:s1=\"http://www.esa.int/safe/sentinel-1.0/sentinel-1\" "
      "xmlns:s1sar=\"http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar\" "
      "xmlns:s1sarl1=\"http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1\" "
      "xmlns:s1sarl2=\"http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-2\" "
      "xmlns:gx=\"http://www.google.com/kml/ext/2.2\" "
      "version=\"esa/safe/sentinel-1.0/sentinel-1/sar/level-1/grd/standard/iwdp\">\n"
      "  <informationPackageMap>\n"
      "    <xfdu:contentUnit unitType=\"SAFE Archive Information Package\" textInfo=\"Sentinel-1 IW Level-1 GRD "
      "Product\" "
      "dmdID=\"acquisitionPeriod platform generalProductInformation measurementOrbitReference measurementFrameSet\" "
      "pdiID=\"processing\">\n";
  // Metadata units: product, noise, calibration annotation per polarisation (VH first, as IPF does).
  const int order[2] = {1, 0};
  for (int k : order) {
    const std::string id = object_id(f.stem[k]);
    for (auto [prefix, rep] : {std::pair{"product", "s1Level1ProductSchema"}, std::pair{"noise", "s1Level1NoiseSchema"},
                               std::pair{"calibration", "s1Level1CalibrationSchema"}}) {
      x += fmt::format(
          "      <xfdu:contentUnit unitType=\"Metadata Unit\" repID=\"{}\">\n        <dataObjectPointer "
          "dataObjectID=\"{}{}\"/>\n      </xfdu:contentUnit>\n",
          rep, prefix, id);
    }
  }
  x += "      <xfdu:contentUnit unitType=\"Metadata Unit\" repID=\"s1Level1MapOverlaySchema\">\n"
       "        <dataObjectPointer dataObjectID=\"mapoverlay\"/>\n      </xfdu:contentUnit>\n";
  for (int k : order) {
    const std::string id = object_id(f.stem[k]);
    x += fmt::format(
        "      <xfdu:contentUnit unitType=\"Measurement Data Unit\" repID=\"s1Level1MeasurementSchema\" "
        "dmdID=\"product{0}Annotation noise{0}Annotation calibration{0}Annotation \">\n"
        "        <dataObjectPointer dataObjectID=\"{0}\"/>\n      </xfdu:contentUnit>\n",
        id);
  }
  x += "      <xfdu:contentUnit unitType=\"Measurement Data Unit\" repID=\"s1Level1QuickLookSchema\">\n"
       "        <dataObjectPointer dataObjectID=\"quicklook\"/>\n      </xfdu:contentUnit>\n"
       "    </xfdu:contentUnit>\n  </informationPackageMap>\n  <metadataSection>\n";
  for (int k : order) {
    const std::string id = object_id(f.stem[k]);
    for (const char* prefix : {"product", "noise", "calibration"}) {
      x += fmt::format(
          "    <metadataObject ID=\"{0}{1}Annotation\" classification=\"DESCRIPTION\" category=\"DMD\">\n"
          "      <dataObjectPointer dataObjectID=\"{0}{1}\"/>\n    </metadataObject>\n",
          prefix, id);
    }
  }
  x += "    <metadataObject ID=\"mapoverlayAnnotation\" classification=\"DESCRIPTION\" category=\"DMD\">\n"
       "      <dataObjectPointer dataObjectID=\"mapoverlay\"/>\n    </metadataObject>\n";
  std::string coords;
  for (auto [lon, lat] : footprint(s)) coords += fmt::format("{}{:.6f},{:.6f}", coords.empty() ? "" : " ", lat, lon);
  const int cycle = (s.abs_orbit - 73) / 175 + 15;
  x += fmt::format(
      "    <metadataObject ID=\"processing\" classification=\"PROVENANCE\" category=\"PDI\">\n"
      "      <metadataWrap mimeType=\"text/xml\" vocabularyName=\"SAFE\" textInfo=\"Processing\">\n        <xmlData>\n"
      "          <safe:processing name=\"GRD Post Processing\" start=\"{0}\" stop=\"{1}\">\n"
      "            <safe:facility country=\"Germany\" name=\"Copernicus Ground Segment\" organisation=\"ESA\" "
      "site=\"Production Service-DLR\">\n              <safe:software name=\"Sentinel-1 IPF\" version=\"003.52\"/>\n"
      "            </safe:facility>\n"
      "            <safe:resource name=\"Sentinel-1 Product Definition (S1-RS-MDA-52-7440) release 2/7\" "
      "role=\"product definition\"/>\n"
      "            <safe:resource name=\"Sentinel-1 Product Specification (S1-RS-MDA-52-7441) release 3/11\" "
      "role=\"product specification\"/>\n          </safe:processing>\n        </xmlData>\n      </metadataWrap>\n"
      "    </metadataObject>\n"
      "    <metadataObject ID=\"platform\" classification=\"DESCRIPTION\" category=\"DMD\">\n"
      "      <metadataWrap mimeType=\"text/xml\" vocabularyName=\"SAFE\" textInfo=\"Platform Description\">\n"
      "        <xmlData>\n          <safe:platform>\n            "
      "<safe:nssdcIdentifier>2014-016A</safe:nssdcIdentifier>\n"
      "            <safe:familyName>SENTINEL-1</safe:familyName>\n            <safe:number>A</safe:number>\n"
      "            <safe:instrument>\n              <safe:familyName abbreviation=\"SAR\">Synthetic Aperture "
      "Radar</safe:familyName>\n"
      "              <safe:extension>\n                <s1sarl1:instrumentMode>\n                  "
      "<s1sarl1:mode>IW</s1sarl1:mode>\n"
      "                  <s1sarl1:swath>IW</s1sarl1:swath>\n                </s1sarl1:instrumentMode>\n"
      "              </safe:extension>\n            </safe:instrument>\n          </safe:platform>\n        "
      "</xmlData>\n"
      "      </metadataWrap>\n    </metadataObject>\n"
      "    <metadataObject ID=\"measurementOrbitReference\" classification=\"DESCRIPTION\" category=\"DMD\">\n"
      "      <metadataWrap mimeType=\"text/xml\" vocabularyName=\"SAFE\" textInfo=\"Orbit Reference\">\n        "
      "<xmlData>\n"
      "          <safe:orbitReference>\n            <safe:orbitNumber type=\"start\">{2}</safe:orbitNumber>\n"
      "            <safe:orbitNumber type=\"stop\">{2}</safe:orbitNumber>\n"
      "            <safe:relativeOrbitNumber type=\"start\">{3}</safe:relativeOrbitNumber>\n"
      "            <safe:relativeOrbitNumber type=\"stop\">{3}</safe:relativeOrbitNumber>\n"
      "            <safe:cycleNumber>{4}</safe:cycleNumber>\n            "
      "<safe:phaseIdentifier>1</safe:phaseIdentifier>\n"
      "            <safe:extension>\n              <s1:orbitProperties>\n                <s1:pass>{5}</s1:pass>\n"
      "                <s1:ascendingNodeTime>{6}</s1:ascendingNodeTime>\n              </s1:orbitProperties>\n"
      "            </safe:extension>\n          </safe:orbitReference>\n        </xmlData>\n      </metadataWrap>\n"
      "    </metadataObject>\n",
      s1_time(proc_start), s1_time(proc_stop), s.abs_orbit, p.relative_orbit, cycle,
      p.descending ? "DESCENDING" : "ASCENDING", s1_time(s.anx));
  x += fmt::format(
      "    <metadataObject ID=\"generalProductInformation\" classification=\"DESCRIPTION\" category=\"DMD\">\n"
      "      <metadataWrap mimeType=\"text/xml\" vocabularyName=\"SAFE\" textInfo=\"General Product Information\">\n"
      "        <xmlData>\n          <s1sarl1:standAloneProductInformation>\n"
      "            <s1sarl1:instrumentConfigurationID>7</s1sarl1:instrumentConfigurationID>\n"
      "            <s1sarl1:missionDataTakeID>{0}</s1sarl1:missionDataTakeID>\n"
      "            <s1sarl1:transmitterReceiverPolarisation>VV</s1sarl1:transmitterReceiverPolarisation>\n"
      "            <s1sarl1:transmitterReceiverPolarisation>VH</s1sarl1:transmitterReceiverPolarisation>\n"
      "            <s1sarl1:productClass>S</s1sarl1:productClass>\n"
      "            <s1sarl1:productClassDescription>SAR Standard L1 Product</s1sarl1:productClassDescription>\n"
      "            <s1sarl1:productComposition>Slice</s1sarl1:productComposition>\n"
      "            <s1sarl1:productType>GRD</s1sarl1:productType>\n"
      "            <s1sarl1:productTimelinessCategory>Fast-24h</s1sarl1:productTimelinessCategory>\n"
      "            <s1sarl1:sliceProductFlag>true</s1sarl1:sliceProductFlag>\n"
      "            <s1sarl1:segmentStartTime>{1}</s1sarl1:segmentStartTime>\n"
      "            <s1sarl1:sliceNumber>4</s1sarl1:sliceNumber>\n            "
      "<s1sarl1:totalSlices>9</s1sarl1:totalSlices>\n"
      "          </s1sarl1:standAloneProductInformation>\n        </xmlData>\n      </metadataWrap>\n"
      "    </metadataObject>\n"
      "    <metadataObject ID=\"acquisitionPeriod\" classification=\"DESCRIPTION\" category=\"DMD\">\n"
      "      <metadataWrap mimeType=\"text/xml\" vocabularyName=\"SAFE\" textInfo=\"Acquisition Period\">\n"
      "        <xmlData>\n          <safe:acquisitionPeriod>\n            <safe:startTime>{2}</safe:startTime>\n"
      "            <safe:stopTime>{3}</safe:stopTime>\n            <safe:extension>\n              <s1:timeANX>\n"
      "                <s1:startTimeANX>{4:.6e}</s1:startTimeANX>\n                "
      "<s1:stopTimeANX>{5:.6e}</s1:stopTimeANX>\n"
      "              </s1:timeANX>\n            </safe:extension>\n          </safe:acquisitionPeriod>\n"
      "        </xmlData>\n      </metadataWrap>\n    </metadataObject>\n"
      "    <metadataObject ID=\"measurementFrameSet\" classification=\"DESCRIPTION\" category=\"DMD\">\n"
      "      <metadataWrap mimeType=\"text/xml\" vocabularyName=\"SAFE\" textInfo=\"Frame Set\">\n        <xmlData>\n"
      "          <safe:frameSet>\n            <safe:frame>\n"
      "              <safe:footPrint srsName=\"http://www.opengis.net/gml/srs/epsg.xml#4326\">\n"
      "                <gml:coordinates>{6}</gml:coordinates>\n              </safe:footPrint>\n"
      "            </safe:frame>\n          </safe:frameSet>\n        </xmlData>\n      </metadataWrap>\n"
      "    </metadataObject>\n",
      s.datatake, s1_time(s.first.plus(-75.0)), s1_time(s.first), s1_time(s.last),
      static_cast<double>(s.first.seconds - s.anx.seconds) * 1000.0 + (s.first.micros - s.anx.micros) / 1000.0,
      static_cast<double>(s.last.seconds - s.anx.seconds) * 1000.0 + (s.last.micros - s.anx.micros) / 1000.0, coords);
  for (auto [id, href] : {std::pair{"s1Level1ProductSchema", "s1-level-1-product.xsd"},
                          std::pair{"s1Level1NoiseSchema", "s1-level-1-noise.xsd"},
                          std::pair{"s1Level1CalibrationSchema", "s1-level-1-calibration.xsd"},
                          std::pair{"s1ObjectTypesSchema", "s1-object-types.xsd"},
                          std::pair{"s1Level1MeasurementSchema", "s1-level-1-measurement.xsd"},
                          std::pair{"s1Level1QuickLookSchema", "s1-level-1-quicklook.xsd"},
                          std::pair{"s1Level1MapOverlaySchema", "s1-map-overlay.xsd"}}) {
    x += fmt::format(
        "    <metadataObject ID=\"{}\" classification=\"SYNTAX\" category=\"REP\">\n"
        "      <metadataReference mimeType=\"text/xml\" vocabularyName=\"XML Schema\" locatorType=\"URL\" "
        "href=\"./support/{}\"/>\n    </metadataObject>\n",
        id, href);
  }
  x += "  </metadataSection>\n  <dataObjectSection>\n";
  auto data_object = [&](const std::string& id, const char* rep, const char* mime, const std::string& path) {
    const auto& e = entry(path);
    x += fmt::format(
        "    <dataObject ID=\"{}\" repID=\"{}\">\n      <byteStream mimeType=\"{}\" size=\"{}\">\n"
        "        <fileLocation locatorType=\"URL\" href=\"./{}\"/>\n"
        "        <checksum checksumName=\"MD5\">{}</checksum>\n      </byteStream>\n    </dataObject>\n",
        id, rep, mime, e.size, path, e.md5);
  };
  for (int k : order) {
    const std::string id = object_id(f.stem[k]);
    data_object("product" + id, "s1Level1ProductSchema", "text/xml", "annotation/" + f.stem[k] + ".xml");
    data_object("noise" + id, "s1Level1NoiseSchema", "text/xml", "annotation/calibration/noise-" + f.stem[k] + ".xml");
    data_object("calibration" + id, "s1Level1CalibrationSchema", "text/xml",
                "annotation/calibration/calibration-" + f.stem[k] + ".xml");
  }
  data_object("mapoverlay", "s1Level1MapOverlaySchema", "text/xml", "preview/map-overlay.kml");
  for (int k : order) {
    data_object(object_id(f.stem[k]), "s1Level1MeasurementSchema", "application/octet-stream",
                "measurement/" + f.stem[k] + ".tiff");
  }
  data_object("quicklook", "s1Level1QuickLookSchema", "application/octet-stream", "preview/quick-look.png");
  x += "  </dataObjectSection>\n</xfdu:XFDU>\n";
  return x;
}

DatasetPtr make_mem_raw(int width, int height, int bands, GDALDataType type) {
  ensure_gdal();
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  DatasetPtr ds(mem->Create("", width, height, bands, type, nullptr));
  if (!ds) throw Error(ErrorCode::internal, "cannot create in-memory raster");
  return ds;
}

void write_png(GDALDataset& src, const std::filesystem::path& path) {
  GDALDriver* png = GetGDALDriverManager()->GetDriverByName("PNG");
  if (!png) throw Error(ErrorCode::internal, "no GDAL PNG driver");
  const char* opts[] = {"WORLDFILE=NO", nullptr};
  GDALDataset* out = png->CreateCopy(path.c_str(), &src, FALSE, const_cast<char**>(opts), nullptr, nullptr);
  if (!out) throw Error(ErrorCode::internal, "cannot write " + path.string() + ": " + CPLGetLastErrorMsg());
  GDALClose(out);
  std::error_code ec;
  std::filesystem::remove(path.string() + ".aux.xml", ec);
}

std::string tiff_datetime(const UtcTime& t) {
  std::string s = iso(t, 0);  // 2022-06-21T09:58:28Z
  return s.substr(0, 4) + ":" + s.substr(5, 2) + ":" + s.substr(8, 2) + " " + s.substr(11, 8);
}

void generate(const Scene& s, const World& world, ProductWriter& writer) {
  const Pass& p = pass(s.pass_index);
  const int W = s.samples, H = s.lines;
  const int doy = day_of_year(s.day);
  const double sp_m = s.spacing_m;
  const std::uint64_t key_hash = fnv1a(s.key);
  const double wind = unit(mix(world.seed(), 0x5110, static_cast<std::uint64_t>(s.day)));
  // World sampled once per pixel, where the pixel looks on the terrain; elevation kept for one
  // extra row/column to derive slopes.
  struct Row {
    std::vector<double> z, lon, lat;
  };
  auto elev_row = [&](int line, Row& out) {
    out.z.resize(W);
    out.lon.resize(W);
    out.lat.resize(W);
    for (int j = 0; j < W; ++j) s.terrain_lonlat(world, line, j, out.lon[j], out.lat[j], out.z[j]);
  };
  std::vector<double> incidence(W), noise(W), a_sigma(W);
  for (int j = 0; j < W; ++j) {
    incidence[j] = s.incidence(j);
    noise[j] = noise_power(s.ground_range_km(j));
    a_sigma[j] = s1::sigma_nought_lut(incidence[j]);
  }
  std::vector<std::uint16_t> vv(static_cast<std::size_t>(W) * H), vh(vv.size());
  Row prev, cur, next;
  elev_row(std::max(0, -1), prev);
  elev_row(0, cur);
  double sum = 0, sum2 = 0;
  for (int i = 0; i < H; ++i) {
    elev_row(std::min(H - 1, i + 1), next);
    s1::SpeckleRng rng(mix(world.seed(), key_hash, static_cast<std::uint64_t>(i)));
    for (int j = 0; j < W; ++j) {
      const double lon = cur.lon[j], lat = cur.lat[j];
      const double z = cur.z[j];
      s1::Surface surf;
      surf.cover = world.cover(lon, lat, z);
      surf.snow = surf.cover == Cover::glacier || world.snow(lon, lat, z, doy);
      surf.wet_snow = surf.snow && doy >= 100 && doy <= 260 && (!p.descending || (doy >= 150 && doy <= 240));
      if (surf.cover == Cover::cropland) surf.crop_green = world.crop_green(lon, lat, doy);
      surf.wind = wind;
      // Terrain slope in the (along-track, range) frame and the local incidence angle.
      const double dzda = (next.z[j] - prev.z[j]) / ((i > 0 && i < H - 1 ? 2.0 : 1.0) * sp_m);
      const double dzdr =
          (cur.z[std::min(W - 1, j + 1)] - cur.z[std::max(0, j - 1)]) / ((j > 0 && j < W - 1 ? 2.0 : 1.0) * sp_m);
      const double th = incidence[j] * kDeg;
      const double cos_loc = (dzdr * std::sin(th) + std::cos(th)) / std::sqrt(dzda * dzda + dzdr * dzdr + 1.0);
      const double loc = std::acos(std::clamp(cos_loc, -1.0, 1.0)) / kDeg;
      const auto sigma = s1::mean_sigma0(surf, incidence[j], loc);
      const double a2 = a_sigma[j] * a_sigma[j];
      const double p_vv =
          a2 * sigma.vv * rng.gamma_unit_mean(s1::kEnlGrdh) + noise[j] * rng.gamma_unit_mean(s1::kEnlGrdh);
      const double p_vh =
          a2 * sigma.vh * rng.gamma_unit_mean(s1::kEnlGrdh) + noise[j] * rng.gamma_unit_mean(s1::kEnlGrdh);
      const std::size_t k = static_cast<std::size_t>(i) * W + j;
      vv[k] = static_cast<std::uint16_t>(std::clamp(std::lround(std::sqrt(p_vv)), 1L, 65535L));
      vh[k] = static_cast<std::uint16_t>(std::clamp(std::lround(std::sqrt(p_vh)), 1L, 65535L));
      sum += vv[k];
      sum2 += static_cast<double>(vv[k]) * vv[k];
    }
    std::swap(prev, cur);
    std::swap(cur, next);
  }
  const double n = static_cast<double>(vv.size());
  const double mean = sum / n, sd = std::sqrt(std::max(0.0, sum2 / n - mean * mean));

  // Geolocation grid (annotation) = TIFF GCPs.
  std::vector<GeoPoint> points;
  for (int line : grid_indices(H, std::max(1, std::min(9, H / 20)))) {
    for (int px : grid_indices(W, std::max(1, std::min(20, W / 20)))) {
      GeoPoint g;
      g.line = line;
      g.pixel = px;
      g.time = s.first.plus(line * s.line_interval);
      s.terrain_lonlat(world, line, px, g.lon, g.lat, g.height);
      g.incidence = s.incidence(px);
      radar_geometry(g.incidence, g.elevation_angle, g.slant_time);
      points.push_back(g);
    }
  }
  std::vector<GDAL_GCP> gcps(points.size());
  std::vector<std::string> gcp_ids(points.size());
  for (std::size_t k = 0; k < points.size(); ++k) {
    gcp_ids[k] = std::to_string(k + 1);
    gcps[k].pszId = gcp_ids[k].data();
    gcps[k].pszInfo = const_cast<char*>("");
    gcps[k].dfGCPPixel = points[k].pixel;
    gcps[k].dfGCPLine = points[k].line;
    gcps[k].dfGCPX = points[k].lon;
    gcps[k].dfGCPY = points[k].lat;
    gcps[k].dfGCPZ = points[k].height;
  }
  OGRSpatialReference wgs84;
  wgs84.importFromEPSG(4326);
  wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);

  const Files f = file_names(s);
  const UtcTime proc_stop = s.last.plus(2 * 3600 + 9 * 60 + 600 * unit(mix(world.seed(), 0x5105, key_hash)));
  const UtcTime proc_start = proc_stop.plus(-540.0);
  const char* pols[2] = {"VV", "VH"};
  for (int k = 0; k < 2; ++k) {
    auto ds = make_mem_raw(W, H, 1, GDT_UInt16);
    write_band(*ds, 1, k == 0 ? vv.data() : vh.data(), GDT_UInt16);
    ds->SetGCPs(static_cast<int>(gcps.size()), gcps.data(), &wgs84);
    ds->SetMetadataItem("TIFFTAG_IMAGEDESCRIPTION", "Sentinel-1A IW GRD HR L1");
    ds->SetMetadataItem("TIFFTAG_SOFTWARE", "Sentinel-1 IPF 003.52");
    ds->SetMetadataItem("TIFFTAG_DATETIME", tiff_datetime(proc_stop).c_str());
    write_cog(*ds, writer.path("measurement/" + f.stem[k] + ".tiff"), {"PREDICTOR=YES"});
    writer.write_text("annotation/" + f.stem[k] + ".xml", product_annotation(s, pols[k], k + 1, points, mean, sd));
    writer.write_text("annotation/calibration/calibration-" + f.stem[k] + ".xml",
                      calibration_annotation(s, pols[k], k + 1));
    writer.write_text("annotation/calibration/noise-" + f.stem[k] + ".xml", noise_annotation(s, pols[k], k + 1));
  }

  // Quick-look: decimated RGB of VV, VH and the VV/VH ratio (dB), in radar geometry like the IPF's.
  const int q = std::max(1, static_cast<int>(std::ceil(std::max(W, H) / 600.0)));
  const int qw = W / q, qh = H / q;
  if (qw > 0 && qh > 0) {
    std::vector<std::uint8_t> rgb(static_cast<std::size_t>(qw) * qh * 3);
    for (int y = 0; y < qh; ++y) {
      for (int x = 0; x < qw; ++x) {
        double pv = 0, ph = 0;
        for (int dy = 0; dy < q; ++dy) {
          for (int dx = 0; dx < q; ++dx) {
            const std::size_t k = static_cast<std::size_t>(y * q + dy) * W + (x * q + dx);
            const double a2 = a_sigma[x * q + dx] * a_sigma[x * q + dx];
            pv += static_cast<double>(vv[k]) * vv[k] / a2;
            ph += static_cast<double>(vh[k]) * vh[k] / a2;
          }
        }
        const double dvv = 10 * std::log10(std::max(pv / (q * q), 1e-6));
        const double dvh = 10 * std::log10(std::max(ph / (q * q), 1e-6));
        auto byte = [](double v, double lo, double hi) {
          return static_cast<std::uint8_t>(std::clamp((v - lo) / (hi - lo) * 255.0, 0.0, 255.0));
        };
        const std::size_t o = static_cast<std::size_t>(y) * qw + x;
        rgb[o] = byte(dvv, -25, 0);
        rgb[o + static_cast<std::size_t>(qw) * qh] = byte(dvh, -32, -7);
        rgb[o + 2 * static_cast<std::size_t>(qw) * qh] = byte(dvv - dvh, 0, 15);
      }
    }
    auto ql = make_mem_raw(qw, qh, 3, GDT_Byte);
    for (int b = 0; b < 3; ++b) write_band(*ql, b + 1, rgb.data() + static_cast<std::size_t>(b) * qw * qh, GDT_Byte);
    write_png(*ql, writer.path("preview/quick-look.png"));
    // CDSE's SAFE-COG products also carry a smaller thumbnail (outside the manifest's inventory).
    const int tw = std::max(1, qw / 2), th = std::max(1, qh / 2);
    std::vector<std::uint8_t> thumb(static_cast<std::size_t>(tw) * th * 3);
    for (int b = 0; b < 3; ++b) {
      for (int y = 0; y < th; ++y) {
        for (int x = 0; x < tw; ++x) {
          thumb[static_cast<std::size_t>(b) * tw * th + static_cast<std::size_t>(y) * tw + x] =
              rgb[static_cast<std::size_t>(b) * qw * qh + static_cast<std::size_t>(2 * y) * qw + 2 * x];
        }
      }
    }
    auto td = make_mem_raw(tw, th, 3, GDT_Byte);
    for (int b = 0; b < 3; ++b) write_band(*td, b + 1, thumb.data() + static_cast<std::size_t>(b) * tw * th, GDT_Byte);
    write_png(*td, writer.path("preview/thumbnail.png"));
  }
  writer.write_text("preview/map-overlay.kml", map_overlay(s));

  std::vector<FileEntry> entries;
  for (int k = 0; k < 2; ++k) {
    for (const auto& path :
         {"annotation/" + f.stem[k] + ".xml", "annotation/calibration/calibration-" + f.stem[k] + ".xml",
          "annotation/calibration/noise-" + f.stem[k] + ".xml", "measurement/" + f.stem[k] + ".tiff"}) {
      entries.push_back(writer.describe(path));
    }
  }
  entries.push_back(writer.describe("preview/map-overlay.kml"));
  entries.push_back(writer.describe("preview/quick-look.png"));
  writer.write_text("manifest.safe", manifest(s, f, entries, proc_start, proc_stop));
}

std::set<std::int64_t> product_days(const SynthOptions& o) {
  std::set<std::int64_t> days;
  for (std::int64_t d = o.from_day; d <= o.to_day; ++d) days.insert(d);
  for (auto d : o.extra_days) days.insert(d);
  return days;
}

class Sentinel1Generator final : public MissionGenerator {
 public:
  std::string id() const override { return "s1"; }

  std::vector<Task> plan(const SynthOptions& options, const World& world) const override {
    std::vector<Task> tasks;
    for (std::int64_t day : product_days(options)) {
      for (int pi = 0; pi < 2; ++pi) {
        const Pass& p = pass(pi);
        const std::int64_t diff = day - p.ref_day;
        if (((diff % 12) + 12) % 12 != 0) continue;
        const std::int64_t abs_orbit = p.ref_abs_orbit + 175 * (diff / 12);
        if (abs_orbit < 1) continue;  // before launch
        Scene scene = make_scene(options, world, pi, day, static_cast<int>(abs_orbit));
        const World* w = &world;
        tasks.push_back({scene.key, [scene, w](ProductWriter& writer) { generate(scene, *w, writer); }});
      }
    }
    return tasks;
  }
};

}  // namespace

std::unique_ptr<MissionGenerator> make_sentinel1_generator() { return std::make_unique<Sentinel1Generator>(); }

}  // namespace ds::synth
