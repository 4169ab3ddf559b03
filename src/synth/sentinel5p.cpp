// Sentinel-5P TROPOMI L2 NO2 (OFFL) products: NetCDF-4 with the real group layout (PRODUCT,
// PRODUCT/SUPPORT_DATA/{GEOLOCATIONS,DETAILED_RESULTS,INPUT_DATA}, METADATA/...), written with GDAL's
// multidimensional API. A real product holds one whole orbit (4172 scanlines x 450 ground pixels);
// ours keeps the scanlines and ground pixels around the region (5.5 km along track x ~3.5 km across
// track near nadir), one product per day at the early-afternoon overpass.
//
// Object key: CDSE stores an S5P product as a directory named like the file without ".nc",
// holding the .nc file: Sentinel-5P/TROPOMI/L2__NO2___/YYYY/MM/DD/<name>/<name>.nc (a ProductWriter
// product is a directory, so key = .../<name>). The STAC item's asset href is then
// s3://eodata/<key>/<name>.nc.

#include <gdal_priv.h>

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "core/error.hpp"
#include "synth/generator.hpp"
#include "synth/missions.hpp"
#include "synth/netcdf.hpp"
#include "synth/raster.hpp"
#include "synth/util.hpp"

namespace ds::synth {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDeg = kPi / 180.0;
constexpr double kFill = 9.96921e36;  // netCDF default float fill, as in the real product
constexpr double kOrbitPeriod = 16.0 * 86400.0 / 227.0;
constexpr int kRefOrbit = 21566;  // S5P_OFFL_L2__NO2____20211211T104909_..._21566_...
const double kRefOrbitStart = static_cast<double>(days_from_civil(2021, 12, 11)) * 86400.0 + 10 * 3600 + 49 * 60 + 9;
constexpr int kGroundPixels = 450;
constexpr double kScanlineKm = 5.5;
constexpr double kScanlineSeconds = 0.84;
constexpr double kHeadingDeg = -16.0;  // ascending, ~13:30 local solar time

// ---- small GDAL multidim helpers -------------------------------------------------------------

// A float variable with the attributes the S5P products carry.
ArrayPtr float_var(const GroupPtr& g, const std::string& name, const std::vector<DimPtr>& dims,
                   const std::string& units, const std::string& long_name, const std::string& standard_name = {}) {
  auto a = nc_array(g, name, dims, GDT_Float32);
  a->SetNoDataValue(kFill);
  if (!units.empty()) attr(a, "units", units);
  if (!standard_name.empty()) attr(a, "standard_name", standard_name);
  attr(a, "long_name", long_name);
  attr(a, "coordinates", "/PRODUCT/longitude /PRODUCT/latitude");
  return a;
}

// ---- product geometry --------------------------------------------------------------------------

struct Granule {
  std::int64_t day = 0;
  int orbit = 0;
  UtcTime orbit_start, orbit_end, processed, overpass;
  int first_scanline = 0;  // index of our first scanline within the orbit
  int scanlines = 0;
  int first_pixel = 0, pixels = 0;
  int nadir_offset = 0;  // ground pixel of the region centre
  double clon = 0, clat = 0, kx = 1, ky = 1;
  std::string name, key;
};

// Across-track position (km from nadir) of the centre and edges of ground pixel `gp`: pixel width
// grows from ~3.5 km at nadir to ~14 km at the swath edges.
double across_km(double gp) {
  const double u = (gp - kGroundPixels / 2.0) / (kGroundPixels / 2.0);  // -1..1
  return 3.5 * (kGroundPixels / 2.0) * (u + 2.2 * u * u * u / 3.0);     // width 3.5 * (1 + 2.2 u^2) km
}

Granule make_granule(const World& world, std::int64_t day) {
  const Region& r = world.region();
  Granule g;
  g.day = day;
  g.clon = (r.west + r.east) / 2;
  g.clat = (r.south + r.north) / 2;
  g.kx = 111.32 * std::cos(g.clat * kDeg);
  g.ky = 110.57;
  // Overpass at ~13:30 local solar time, drifting with the 16-day ground-track pattern.
  const double drift = 2400.0 * (unit(mix(world.seed(), 0x5501, static_cast<std::uint64_t>(day))) - 0.5);
  const double overpass = static_cast<double>(day) * 86400.0 + (13.5 - g.clon / 15.0) * 3600.0 + drift;
  g.orbit = kRefOrbit + static_cast<int>(std::floor((overpass - kRefOrbitStart) / kOrbitPeriod));
  const double start = kRefOrbitStart + (g.orbit - kRefOrbit) * kOrbitPeriod;
  g.orbit_start = UtcTime::from_day(0, 0).plus(start);
  g.orbit_end = g.orbit_start.plus(kOrbitPeriod + 1.5);
  g.overpass = UtcTime::from_day(0, 0).plus(overpass);
  g.processed = g.orbit_end.plus(36 * 3600 + 7200 * unit(mix(world.seed(), 0x5502, static_cast<std::uint64_t>(day))));
  // Region extent in the swath frame (a = along track, c = across track) plus a 60 km margin.
  const double h = kHeadingDeg * kDeg, ax = std::sin(h), ay = std::cos(h), cx = ay, cy = -ax;
  double amin = 1e9, amax = -1e9, cmin = 1e9, cmax = -1e9;
  for (double lon : {r.west, r.east}) {
    for (double lat : {r.south, r.north}) {
      const double x = (lon - g.clon) * g.kx, y = (lat - g.clat) * g.ky;
      amin = std::min(amin, x * ax + y * ay), amax = std::max(amax, x * ax + y * ay);
      cmin = std::min(cmin, x * cx + y * cy), cmax = std::max(cmax, x * cx + y * cy);
    }
  }
  const double margin = 60.0;
  g.scanlines = static_cast<int>(std::ceil((amax - amin + 2 * margin) / kScanlineKm));
  // Scanline index of the region centre within the orbit: time since orbit start.
  const int centre_line = static_cast<int>((overpass - start) / kScanlineSeconds);
  g.first_scanline = std::max(0, centre_line - g.scanlines / 2);
  g.nadir_offset = 60 + static_cast<int>(mix(world.seed(), 0x5503, static_cast<std::uint64_t>(day)) % 330);
  auto gp_at = [&](double km) {  // ground pixel at an across-track distance from the region centre
    const double target = km + across_km(g.nadir_offset + 0.5);
    int lo = 0;
    while (lo < kGroundPixels - 1 && across_km(lo + 1.0) < target) ++lo;
    return lo;
  };
  g.first_pixel = std::max(0, gp_at(cmin - margin) - 1);
  g.pixels = std::min(kGroundPixels, gp_at(cmax + margin) + 2) - g.first_pixel;
  g.name = fmt::format("S5P_OFFL_L2__NO2____{}_{}_{:05}_02_020301_{}", compact(g.orbit_start), compact(g.orbit_end),
                       g.orbit, compact(g.processed));
  g.key = "Sentinel-5P/TROPOMI/L2__NO2___/" + date_path(g.orbit_start) + "/" + g.name;
  return g;
}

std::string iso_seconds(const UtcTime& t) { return iso(t, 0); }

void generate(const Granule& g, const World& world, ProductWriter& writer) {
  ensure_gdal();
  const int L = g.scanlines, P = g.pixels;
  const std::size_t N = static_cast<std::size_t>(L) * P;
  const double h = kHeadingDeg * kDeg, ax = std::sin(h), ay = std::cos(h), cx = ay, cy = -ax;
  const double centre_across = across_km(g.nadir_offset + 0.5);
  const int centre_line = g.first_scanline + L / 2;
  // Ground position (km east/north of the region centre) of fractional (scanline, ground pixel).
  auto position = [&](double line, double gp, double& lon, double& lat) {
    const double a = (line - centre_line) * kScanlineKm;
    const double c = across_km(gp) - centre_across;
    lon = g.clon + (a * ax + c * cx) / g.kx;
    lat = g.clat + (a * ay + c * cy) / g.ky;
  };
  const UtcTime reference = UtcTime::from_day(g.orbit_start.day(), 0);  // time_reference (day start)

  std::vector<float> lat(N), lon(N), no2(N), no2_prec(N), no2_total(N), no2_strat(N), amf_trop(N), amf_total(N), sza(N),
      saa(N), vza(N), vaa(N), cloud_fraction(N), surface_alt(N), surface_pressure(N), albedo(N), lat_b(N * 4),
      lon_b(N * 4);
  std::vector<std::uint8_t> qa(N), snow_ice(N);
  std::vector<std::int32_t> delta_time(L);
  std::vector<std::string> time_utc(L);
  std::vector<float> sat_lat(L), sat_lon(L), sat_alt(L), phase(L);
  const double strat = 2.6e-5 + 0.4e-5 * std::sin(2 * kPi * (day_of_year(g.day) - 80) / 365.25);
  const int doy = day_of_year(g.day);
  for (int i = 0; i < L; ++i) {
    const int line = g.first_scanline + i;
    const UtcTime t = g.orbit_start.plus(line * kScanlineSeconds);
    delta_time[i] = static_cast<std::int32_t>((t.seconds - reference.seconds) * 1000 + t.micros / 1000);
    time_utc[i] = iso(t, 6);
    double slon = 0, slat = 0;
    position(line + 0.5, kGroundPixels / 2.0, slon, slat);  // sub-satellite point (nadir)
    sat_lat[i] = static_cast<float>(slat);
    sat_lon[i] = static_cast<float>(slon);
    sat_alt[i] = 824000.0f;
    phase[i] = static_cast<float>(std::fmod((t.seconds - g.orbit_start.seconds) / kOrbitPeriod + 0.5, 1.0));
    for (int j = 0; j < P; ++j) {
      const double gp = g.first_pixel + j + 0.5;
      const std::size_t k = static_cast<std::size_t>(i) * P + j;
      double plon = 0, plat = 0;
      position(line + 0.5, gp, plon, plat);
      lon[k] = static_cast<float>(plon);
      lat[k] = static_cast<float>(plat);
      // Corners counter-clockwise: (line, gp), (line, gp+1), (line+1, gp+1), (line+1, gp).
      const double cl[4][2] = {{0, 0}, {0, 1}, {1, 1}, {1, 0}};
      for (int c = 0; c < 4; ++c) {
        double blon = 0, blat = 0;
        position(line + cl[c][0], g.first_pixel + j + cl[c][1], blon, blat);
        lon_b[k * 4 + c] = static_cast<float>(blon);
        lat_b[k * 4 + c] = static_cast<float>(blat);
      }
      // Pixel averages of the world over a 3x3 sub-sampling.
      double v = 0, cl_sum = 0, z = 0;
      int snow = 0;
      for (int sy = 0; sy < 3; ++sy) {
        for (int sx = 0; sx < 3; ++sx) {
          double slon2 = 0, slat2 = 0;
          position(line + (sy + 0.5) / 3.0, g.first_pixel + j + (sx + 0.5) / 3.0, slon2, slat2);
          v += world.no2(slon2, slat2, g.day);
          cl_sum += world.cloud(slon2, slat2, g.day);
          const double e = world.elevation(slon2, slat2);
          z += e;
          snow += world.snow(slon2, slat2, e, doy) ? 1 : 0;
        }
      }
      v /= 9, cl_sum /= 9, z /= 9;
      const std::uint64_t hk = mix(world.seed(), 0x5510, static_cast<std::uint64_t>(g.day), k);
      // Retrieval noise: precision ~0.5e-5 mol/m2 plus 15 % of the column (Box-Muller from the hash).
      const double prec = 0.5e-5 + 0.15 * v;
      const double u1 = std::max(unit(hk), 1e-12), u2 = unit(mix(hk, 1));
      const double noise = std::sqrt(-2 * std::log(u1)) * std::cos(2 * kPi * u2);
      no2[k] = static_cast<float>(v + 0.5 * prec * noise);
      no2_prec[k] = static_cast<float>(prec);
      no2_strat[k] = static_cast<float>(strat);
      no2_total[k] = static_cast<float>(v + strat);
      cloud_fraction[k] = static_cast<float>(cl_sum);
      surface_alt[k] = static_cast<float>(z);
      surface_pressure[k] = static_cast<float>(101325.0 * std::exp(-z / 8434.0));
      snow_ice[k] =
          static_cast<std::uint8_t>(snow >= 5 ? 103 : 0);  // 103 = snow (NISE permanent-ish) / 0 snow-free land
      albedo[k] = static_cast<float>(snow >= 5 ? 0.6 : 0.06);
      amf_trop[k] = static_cast<float>(1.2 + 0.4 * (1 - cl_sum));
      amf_total[k] = static_cast<float>(2.3 + 0.2 * (1 - cl_sum));
      double z_sun = 0, a_sun = 0;
      sun_position(t, plon, plat, z_sun, a_sun);
      sza[k] = static_cast<float>(z_sun);
      saa[k] = static_cast<float>(a_sun > 180 ? a_sun - 360 : a_sun);
      const double off = across_km(gp) - across_km(kGroundPixels / 2.0);
      vza[k] = static_cast<float>(std::atan(std::abs(off) / 824.0) / kDeg * 1.08);
      vaa[k] = static_cast<float>(off < 0 ? kHeadingDeg - 90 : kHeadingDeg + 90);
      // qa_value: 1.0 or 0.75-ish for clear scenes, low under clouds, snow, or a low sun.
      double q = 0.75 + 0.25 * unit(mix(hk, 2));
      if (unit(mix(hk, 3)) < 0.5) q = 1.0;
      if (cl_sum > 0.3) q = 0.74 - 0.2 * std::min(1.0, (cl_sum - 0.3) / 0.5);
      if (snow >= 5) q = std::min(q, 0.5);
      if (z_sun > 80) q = 0;
      qa[k] = static_cast<std::uint8_t>(std::lround(q * 100));
    }
  }

  const std::string file = g.name + ".nc";
  const auto path = writer.path(file);
  GDALDriver* drv = GetGDALDriverManager()->GetDriverByName("netCDF");
  if (!drv) throw Error(ErrorCode::internal, "GDAL netCDF driver not available");
  const char* ds_opts[] = {"FORMAT=NC4", "CONVENTIONS=CF-1.7", nullptr};
  std::unique_ptr<GDALDataset> ds(drv->CreateMultiDimensional(path.c_str(), nullptr, const_cast<char**>(ds_opts)));
  if (!ds) nc_fail("create " + path.string());
  auto root = ds->GetRootGroup();

  // Global attributes (real NO2 OFFL set, values derived from the granule).
  attr(root, "institution", "KNMI");
  attr(root, "source", "Sentinel 5 precursor, TROPOMI, space-borne remote sensing, L2");
  attr(root, "summary", "TROPOMI/S5P NO2 1-Orbit L2 Swath 5.5x3.5km");
  const auto tid = mix(world.seed(), 0x5520, static_cast<std::uint64_t>(g.orbit));
  attr(root, "tracking_id",
       fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", tid >> 32, (tid >> 16) & 0xffff, tid & 0xfff,
                   0x8000 | ((tid >> 20) & 0x3fff), mix(tid) & 0xffffffffffffull));
  attr(root, "id", g.name);
  attr(root, "time_reference", iso_seconds(reference));
  attr(root, "time_reference_days_since_1950", static_cast<double>(reference.day() - days_from_civil(1950, 1, 1)),
       GDT_Int32);
  attr(root, "time_reference_julian_day", static_cast<double>(reference.day()) + 2440587.5, GDT_Float64);
  attr(root, "time_reference_seconds_since_1970", static_cast<double>(reference.seconds), GDT_Int64);
  attr(root, "time_coverage_start", iso_seconds(g.orbit_start));
  attr(root, "time_coverage_end", iso_seconds(g.orbit_end));
  attr(root, "time_coverage_duration", fmt::format("PT{:.3f}S", kOrbitPeriod + 1.5));
  attr(root, "time_coverage_resolution", "PT0.840S");
  attr(root, "orbit", g.orbit, GDT_Int32);
  attr(root, "references", "http://www.tropomi.eu/data-products/nitrogen-dioxide");
  attr(root, "processor_version", "2.3.1");
  attr(root, "keywords_vocabulary", "AGU index terms, http://publications.agu.org/author-resource-center/index-terms/");
  attr(root, "keywords",
       "0345 Pollution, Urban and Regional; 0365 Troposphere, Composition and Chemistry; 0368 Troposphere, "
       "Constituent Transport and Chemistry; 3360 Remote Sensing; 3363 Stratospheric Dynamics");
  attr(root, "standard_name_vocabulary",
       "NetCDF Climate and Forecast Metadata Conventions Standard Name Table (v29, 08 July 2015), "
       "http://cfconventions.org/standard-names.html");
  attr(root, "naming_authority", "nl.knmi");
  attr(root, "cdm_data_type", "Swath");
  attr(root, "date_created", iso_seconds(g.processed));
  attr(root, "creator_name",
       "The Sentinel 5 Precursor TROPOMI Level 2 products are developed with funding from the European Space "
       "Agency (ESA), the Netherlands Space Office (NSO), the Belgian Science Policy Office, the German Aerospace "
       "Center (DLR) and the Bayerisches Staatsministerium fuer Wirtschaft und Medien, Energie und Technologie "
       "(StMWi).");
  attr(root, "creator_url", "http://www.tropomi.eu");
  attr(root, "creator_email", "EOSupport@Copernicus.esa.int");
  attr(root, "project", "Sentinel 5 precursor/TROPOMI");
  attr(root, "geospatial_lat_min", *std::min_element(lat.begin(), lat.end()), GDT_Float32);
  attr(root, "geospatial_lat_max", *std::max_element(lat.begin(), lat.end()), GDT_Float32);
  attr(root, "geospatial_lon_min", *std::min_element(lon.begin(), lon.end()), GDT_Float32);
  attr(root, "geospatial_lon_max", *std::max_element(lon.begin(), lon.end()), GDT_Float32);
  attr(root, "license", "No conditions apply");
  attr(root, "platform", "S5P");
  attr(root, "sensor", "TROPOMI");
  attr(root, "spatial_resolution", "5.5x3.5km2");
  attr(root, "geolocation_grid_from_band", 4, GDT_Int32);
  attr(root, "identifier_product_doi", "10.5270/S5P-9bnp8q8");
  attr(root, "identifier_product_doi_authority", "http://dx.doi.org/");
  attr(root, "algorithm_version", "2.3.1");
  attr(root, "title", "TROPOMI/S5P NO2 1-Orbit L2 Swath 5.5x3.5km");
  attr(root, "product_version", "2.3.1");
  attr(root, "processing_status", "OFFL-processing nominal product");
  attr(root, "Status_MET_2D", "Nominal");
  attr(root, "Status_NISE__", "Nominal");
  attr(root, "Status_CTMFCT", "Nominal");
  attr(root, "history",
       fmt::format("{} f_s5pops tropnll2dp /mnt/data1/storage_offl_l2/cache_offl_l2/WORKING-{}/JobOrder.{}.xml",
                   iso_seconds(g.processed).substr(0, 19), 600000000 + g.orbit * 7, 600000000 + g.orbit * 7 - 1));

  // PRODUCT: dimensions and coordinate variables.
  auto product = root->CreateGroup("PRODUCT");
  if (!product) nc_fail("group PRODUCT");
  auto d_scan = product->CreateDimension("scanline", "", "", L);
  auto d_gp = product->CreateDimension("ground_pixel", "", "", P);
  auto d_corner = product->CreateDimension("corner", "", "", 4);
  auto d_time = product->CreateDimension("time", "", "", 1);
  auto d_poly = product->CreateDimension("polynomial_exponents", "", "", 6);
  auto d_int = product->CreateDimension("intensity_offset_polynomial_exponents", "", "", 1);
  auto d_layer = product->CreateDimension("layer", "", "", 34);
  auto d_vert = product->CreateDimension("vertices", "", "", 2);
  if (!d_scan || !d_gp || !d_corner || !d_time || !d_poly || !d_int || !d_layer || !d_vert) nc_fail("dimensions");
  {
    auto a = nc_array(product, "scanline", {d_scan}, GDT_Float32);
    attr(a, "units", "1");
    attr(a, "axis", "Y");
    attr(a, "long_name", "along-track dimension index");
    std::vector<float> v(L);
    for (int i = 0; i < L; ++i) v[i] = static_cast<float>(g.first_scanline + i);
    nc_write(a, v, GDT_Float32);
    a = nc_array(product, "ground_pixel", {d_gp}, GDT_Float32);
    attr(a, "units", "1");
    attr(a, "axis", "X");
    attr(a, "long_name", "across-track dimension index");
    std::vector<float> w(P);
    for (int j = 0; j < P; ++j) w[j] = static_cast<float>(g.first_pixel + j);
    nc_write(a, w, GDT_Float32);
    a = nc_array(product, "time", {d_time}, GDT_Int32);
    attr(a, "units", "seconds since 2010-01-01 00:00:00");
    attr(a, "standard_name", "time");
    attr(a, "axis", "T");
    attr(a, "long_name", "reference time for the measurements");
    nc_write(
        a,
        std::vector<std::int32_t>{static_cast<std::int32_t>(reference.seconds - days_from_civil(2010, 1, 1) * 86400)},
        GDT_Int32);
    a = nc_array(product, "corner", {d_corner}, GDT_Float32);
    attr(a, "units", "1");
    attr(a, "long_name", "pixel corner index");
    nc_write(a, std::vector<float>{0, 1, 2, 3}, GDT_Float32);
    a = nc_array(product, "polynomial_exponents", {d_poly}, GDT_Int32);
    attr(a, "long_name", "Polynomial exponents for background polynomial");
    nc_write(a, std::vector<std::int32_t>{0, 1, 2, 3, 4, 5}, GDT_Int32);
    a = nc_array(product, "intensity_offset_polynomial_exponents", {d_int}, GDT_Int32);
    attr(a, "long_name", "Polynomial exponents for intensity offset");
    nc_write(a, std::vector<std::int32_t>{0}, GDT_Int32);
    a = nc_array(product, "layer", {d_layer}, GDT_Float32);
    attr(a, "units", "1");
    attr(a, "long_name", "TM5 atmospheric layer numbers");
    std::vector<float> layers(34);
    for (int k = 0; k < 34; ++k) layers[k] = static_cast<float>(k);
    nc_write(a, layers, GDT_Float32);
    a = nc_array(product, "vertices", {d_vert}, GDT_Float32);
    attr(a, "units", "1");
    attr(a, "long_name", "TM5 atmospheric layer upper and lower bound indices");
    nc_write(a, std::vector<float>{0, 1}, GDT_Float32);
  }
  const std::vector<DimPtr> tsg = {d_time, d_scan, d_gp};
  {
    auto a = nc_array(product, "latitude", tsg, GDT_Float32);
    attr(a, "long_name", "pixel center latitude");
    attr(a, "units", "degrees_north");
    attr(a, "standard_name", "latitude");
    attr(a, "valid_min", -90.0, GDT_Float32);
    attr(a, "valid_max", 90.0, GDT_Float32);
    attr(a, "bounds", "/PRODUCT/SUPPORT_DATA/GEOLOCATIONS/latitude_bounds");
    nc_write(a, lat, GDT_Float32);
    a = nc_array(product, "longitude", tsg, GDT_Float32);
    attr(a, "long_name", "pixel center longitude");
    attr(a, "units", "degrees_east");
    attr(a, "standard_name", "longitude");
    attr(a, "valid_min", -180.0, GDT_Float32);
    attr(a, "valid_max", 180.0, GDT_Float32);
    attr(a, "bounds", "/PRODUCT/SUPPORT_DATA/GEOLOCATIONS/longitude_bounds");
    nc_write(a, lon, GDT_Float32);
    a = nc_array(product, "delta_time", {d_time, d_scan}, GDT_Int32);
    a->SetNoDataValue(static_cast<int64_t>(-2147483647));
    attr(a, "long_name", "offset from reference start time of measurement");
    attr(a, "units", "milliseconds since " + iso(reference, 0).substr(0, 10) + " 00:00:00");
    nc_write(a, delta_time, GDT_Int32);
    auto t_utc = product->CreateMDArray("time_utc", {d_time, d_scan}, GDALExtendedDataType::CreateString());
    if (!t_utc) nc_fail("array time_utc");
    attr(t_utc, "long_name", "Time of observation as ISO 8601 date-time string");
    std::vector<const char*> ptrs;
    for (const auto& s : time_utc) ptrs.push_back(s.c_str());
    const GUInt64 st[2] = {0, 0};
    const size_t ct[2] = {1, static_cast<size_t>(L)};
    if (!t_utc->Write(st, ct, nullptr, nullptr, GDALExtendedDataType::CreateString(), ptrs.data()))
      nc_fail("write time_utc");
    a = nc_array(product, "qa_value", tsg, GDT_Byte);
    a->SetNoDataValue(static_cast<int64_t>(255));
    attr(a, "units", "1");
    attr(a, "scale_factor", 0.01, GDT_Float32);
    attr(a, "add_offset", 0.0, GDT_Float32);
    attr(a, "valid_min", 0, GDT_Byte);
    attr(a, "valid_max", 100, GDT_Byte);
    attr(a, "long_name", "data quality value");
    attr(a, "comment",
         "A continuous quality descriptor, varying between 0 (no data) and 1 (full quality data). Recommend to "
         "ignore data with qa_value < 0.5");
    attr(a, "coordinates", "longitude latitude");
    nc_write(a, qa, GDT_Byte);
    a = float_var(product, "nitrogendioxide_tropospheric_column", tsg, "mol m-2",
                  "Tropospheric vertical column of nitrogen dioxide", "troposphere_mole_content_of_nitrogen_dioxide");
    attr(a, "multiplication_factor_to_convert_to_molecules_percm2", 6.02214e+19, GDT_Float32);
    attr(a, "ancillary_variables",
         "nitrogendioxide_tropospheric_column_precision air_mass_factor_troposphere air_mass_factor_total");
    nc_write(a, no2, GDT_Float32);
    a = float_var(product, "nitrogendioxide_tropospheric_column_precision", tsg, "mol m-2",
                  "Precision of the tropospheric vertical column of nitrogen dioxide",
                  "troposphere_mole_content_of_nitrogen_dioxide standard_error");
    attr(a, "multiplication_factor_to_convert_to_molecules_percm2", 6.02214e+19, GDT_Float32);
    nc_write(a, no2_prec, GDT_Float32);
    a = float_var(
        product, "nitrogendioxide_tropospheric_column_precision_kernel", tsg, "mol m-2",
        "Precision of the tropospheric vertical column of nitrogen dioxide when applying the averaging kernel",
        "troposphere_mole_content_of_nitrogen_dioxide standard_error");
    nc_write(a, no2_prec, GDT_Float32);
    a = float_var(product, "air_mass_factor_troposphere", tsg, "1",
                  "Tropospheric air mass factor, computed by integrating the altitude dependent air mass factor over "
                  "the atmospheric layers from the surface up to and including the layer with the tropopause");
    nc_write(a, amf_trop, GDT_Float32);
    a = float_var(product, "air_mass_factor_total", tsg, "1",
                  "Total air mass factor, computed by integrating the altitude dependent air mass factor over the "
                  "atmospheric layers from the surface to top-of-atmosphere");
    nc_write(a, amf_total, GDT_Float32);
    a = nc_array(product, "tm5_tropopause_layer_index", tsg, GDT_Int32);
    a->SetNoDataValue(static_cast<int64_t>(-2147483647));
    attr(a, "long_name", "TM5 layer index of the highest layer in the tropopause");
    nc_write(a, std::vector<std::int32_t>(N, 17), GDT_Int32);
    // TM5 hybrid coefficients of the 34 layers (pressure at a level = a + b * surface pressure).
    std::vector<float> ta(68), tb(68);
    for (int k = 0; k < 34; ++k) {
      for (int v = 0; v < 2; ++v) {
        const double eta = 1.0 - (k + v) / 34.0;  // 1 at the surface, 0 at the top
        tb[k * 2 + v] = static_cast<float>(std::pow(eta, 3.0));
        ta[k * 2 + v] = static_cast<float>(eta > 0 ? 101325.0 * (eta - std::pow(eta, 3.0)) : 0.0);
      }
    }
    a = float_var(product, "tm5_constant_a", {d_layer, d_vert}, "Pa",
                  "TM5 hybrid A coefficient at upper and lower interface levels");
    nc_write(a, ta, GDT_Float32);
    a = float_var(product, "tm5_constant_b", {d_layer, d_vert}, "1",
                  "TM5 hybrid B coefficient at upper and lower interface levels");
    nc_write(a, tb, GDT_Float32);
  }

  auto support = product->CreateGroup("SUPPORT_DATA");
  auto geo = support ? support->CreateGroup("GEOLOCATIONS") : nullptr;
  if (!geo) nc_fail("group GEOLOCATIONS");
  {
    const std::vector<DimPtr> ts = {d_time, d_scan};
    auto a = float_var(geo, "satellite_latitude", ts, "degrees_north", "sub-satellite latitude");
    nc_write(a, sat_lat, GDT_Float32);
    a = float_var(geo, "satellite_longitude", ts, "degrees_east", "sub-satellite longitude");
    nc_write(a, sat_lon, GDT_Float32);
    a = float_var(geo, "satellite_altitude", ts, "m", "satellite altitude");
    nc_write(a, sat_alt, GDT_Float32);
    a = float_var(geo, "satellite_orbit_phase", ts, "1", "fractional satellite orbit phase");
    nc_write(a, phase, GDT_Float32);
    a = float_var(geo, "solar_zenith_angle", tsg, "degree", "solar zenith angle", "solar_zenith_angle");
    nc_write(a, sza, GDT_Float32);
    a = float_var(geo, "solar_azimuth_angle", tsg, "degree", "solar azimuth angle", "solar_azimuth_angle");
    nc_write(a, saa, GDT_Float32);
    a = float_var(geo, "viewing_zenith_angle", tsg, "degree",
                  "Zenith angle of the satellite at the ground pixel location on the reference ellipsoid. Angle is "
                  "measured away from the vertical",
                  "viewing_zenith_angle");
    nc_write(a, vza, GDT_Float32);
    a = float_var(geo, "viewing_azimuth_angle", tsg, "degree",
                  "Satellite azimuth angle at the ground pixel location on the reference ellipsoid. Angle is measured "
                  "clockwise from the North (East = 90, South = 180, West = 270)",
                  "viewing_azimuth_angle");
    nc_write(a, vaa, GDT_Float32);
    const std::vector<DimPtr> tsgc = {d_time, d_scan, d_gp, d_corner};
    a = float_var(geo, "latitude_bounds", tsgc, "degrees_north", "latitude of the ground pixel corners");
    nc_write(a, lat_b, GDT_Float32);
    a = float_var(geo, "longitude_bounds", tsgc, "degrees_east", "longitude of the ground pixel corners");
    nc_write(a, lon_b, GDT_Float32);
    a = nc_array(geo, "geolocation_flags", tsg, GDT_Byte);
    a->SetNoDataValue(static_cast<int64_t>(255));
    attr(a, "long_name", "ground pixel quality flag");
    attr(a, "flag_masks", std::vector<double>{0, 1, 2, 4, 8, 16, 128}, GDT_Byte);
    attr(a, "flag_meanings",
         "no_error solar_eclipse sun_glint_possible descending night geo_boundary_crossing geolocation_error");
    nc_write(a, std::vector<std::uint8_t>(N, 0), GDT_Byte);
  }
  auto detailed = support->CreateGroup("DETAILED_RESULTS");
  if (!detailed) nc_fail("group DETAILED_RESULTS");
  {
    auto a = nc_array(detailed, "processing_quality_flags", tsg, GDT_UInt32);
    a->SetNoDataValue(static_cast<uint64_t>(4294967295u));
    attr(a, "long_name", "Processing quality flags");
    std::vector<std::uint32_t> flags(N);
    for (std::size_t k = 0; k < N; ++k) flags[k] = qa[k] == 0 ? 1u : 0u;
    nc_write(a, flags, GDT_UInt32);
    a = float_var(detailed, "nitrogendioxide_total_column", tsg, "mol m-2",
                  "Total vertical column of nitrogen dioxide derived from the total slant column and TM5 profile in "
                  "stratosphere and troposphere",
                  "atmosphere_mole_content_of_nitrogen_dioxide");
    nc_write(a, no2_total, GDT_Float32);
    a = float_var(detailed, "nitrogendioxide_stratospheric_column", tsg, "mol m-2",
                  "Stratospheric vertical column of nitrogen dioxide, derived from the TM5-MP vertical profiles",
                  "stratosphere_mole_content_of_nitrogen_dioxide");
    nc_write(a, no2_strat, GDT_Float32);
    a = float_var(detailed, "cloud_fraction_crb_nitrogendioxide_window", tsg, "1",
                  "Cloud fraction at 440 nm for NO2 retrieval");
    nc_write(a, cloud_fraction, GDT_Float32);
  }
  auto input = support->CreateGroup("INPUT_DATA");
  if (!input) nc_fail("group INPUT_DATA");
  {
    auto a = float_var(input, "surface_altitude", tsg, "m", "Surface altitude", "surface_altitude");
    nc_write(a, surface_alt, GDT_Float32);
    a = float_var(input, "surface_pressure", tsg, "Pa", "Surface pressure", "surface_air_pressure");
    nc_write(a, surface_pressure, GDT_Float32);
    a = float_var(input, "surface_albedo_nitrogendioxide_window", tsg, "1", "Surface albedo in the NO2 fit window");
    nc_write(a, albedo, GDT_Float32);
    a = float_var(input, "cloud_fraction_crb", tsg, "1", "Effective cloud fraction from the cloud product");
    nc_write(a, cloud_fraction, GDT_Float32);
    a = nc_array(input, "snow_ice_flag", tsg, GDT_Byte);
    a->SetNoDataValue(static_cast<int64_t>(254));
    attr(a, "long_name", "Snow-ice mask");
    nc_write(a, snow_ice, GDT_Byte);
  }

  // METADATA groups hold attributes only (GDAL shows them as JSON attributes of the root group).
  auto metadata = root->CreateGroup("METADATA");
  if (!metadata) nc_fail("group METADATA");
  {
    auto qa_stats = metadata->CreateGroup("QA_STATISTICS");
    std::size_t good = 0;
    for (auto q : qa) good += q >= 75 ? 1 : 0;
    attr(qa_stats, "number_of_groundpixels", static_cast<double>(N), GDT_Int32);
    attr(qa_stats, "number_of_processed_pixels", static_cast<double>(N), GDT_Int32);
    attr(qa_stats, "number_of_successfully_processed_pixels", static_cast<double>(N), GDT_Int32);
    attr(qa_stats, "number_of_qa_value_ge_0.75", static_cast<double>(good), GDT_Int32);
    metadata->CreateGroup("ALGORITHM_SETTINGS");
    auto granule = metadata->CreateGroup("GRANULE_DESCRIPTION");
    attr(granule, "GranuleStart", iso_seconds(g.orbit_start));
    attr(granule, "GranuleEnd", iso_seconds(g.orbit_end));
    attr(granule, "InstrumentName", "TROPOMI");
    attr(granule, "MissionName", "Sentinel-5 precursor");
    attr(granule, "MissionShortName", "S5P");
    attr(granule, "ProcessLevel", "2");
    attr(granule, "ProcessingCenter", "PDGS-OP");
    attr(granule, "ProcessingNode", "s5p-off-pn19");
    attr(granule, "ProcessorVersion", "2.3.1");
    attr(granule, "ProductFormatVersion", "20300");
    attr(granule, "ProcessingMode", "Offline");
    attr(granule, "LongitudeOfDaysideNadirEquatorCrossing",
         g.clon + (across_km(kGroundPixels / 2.0) - centre_across) / 111.32, GDT_Float32);
    attr(granule, "ProductShortName", "L2__NO2___");
    attr(granule, "CollectionIdentifier", "02");
    metadata->CreateGroup("ISO_METADATA");
    metadata->CreateGroup("EOP_METADATA");
    metadata->CreateGroup("ESA_METADATA");
  }
  ds.reset();  // closes (flushes) the file
}

std::set<std::int64_t> product_days(const SynthOptions& o) {
  std::set<std::int64_t> days;
  for (std::int64_t d = o.from_day; d <= o.to_day; ++d) days.insert(d);
  for (auto d : o.extra_days) days.insert(d);
  return days;
}

class Sentinel5pGenerator final : public MissionGenerator {
 public:
  std::string id() const override { return "s5p"; }
  std::vector<Task> plan(const SynthOptions& options, const World& world) const override {
    std::vector<Task> tasks;
    for (std::int64_t day : product_days(options)) {
      Granule g = make_granule(world, day);
      const World* w = &world;
      tasks.push_back({g.key, [g, w](ProductWriter& writer) { generate(g, *w, writer); }});
    }
    return tasks;
  }
};

}  // namespace

std::unique_ptr<MissionGenerator> make_sentinel5p_generator() { return std::make_unique<Sentinel5pGenerator>(); }

}  // namespace ds::synth
