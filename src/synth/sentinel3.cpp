// Sentinel-3 OLCI Level-1 EFR products (.SEN3 directories): xfdumanifest.xml, Oa01..Oa21_radiance.nc
// (scaled uint16 TOA radiance), geo_coordinates.nc, time_coordinates.nc and qualityFlags.nc, as
// NetCDF-4 through GDAL's multidimensional API. The frame is cut to the region plus a margin at the
// native 300 m pixel (independent of --scale: ~250x250 pixels for the Bolzano region), on a
// descending track at ~10:00 local solar time. Radiance = E0 * cos(SZA) / pi * TOA reflectance, where
// the TOA reflectance mixes the world's surface (S2 band reflectances interpolated to the OLCI band
// centres, snow), Rayleigh path reflectance, gas absorption bands, and clouds.
// Products every other day, alternating S3A and S3B.

#include <gdal_priv.h>

#include <algorithm>
#include <array>
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
constexpr double kPixelKm = 0.3;
constexpr double kRowSeconds = 0.044;
constexpr double kHeadingDeg = -167.0;
constexpr double kOrbitPeriod = 27.0 * 86400.0 / 385.0;

struct Band {
  const char* name;
  double centre, width, e0, scale;  // nm, nm, mW m-2 nm-1, scale_factor of the real products
};
constexpr std::array<Band, 21> kBands = {{
    {"Oa01", 400, 15, 1650, 0.013634907081723213},     {"Oa02", 412.5, 10, 1720, 0.011490973643958569},
    {"Oa03", 442.5, 10, 1880, 0.012588496319949627},   {"Oa04", 490, 10, 1960, 0.011396283283829689},
    {"Oa05", 510, 10, 1930, 0.012233924120664597},     {"Oa06", 560, 10, 1800, 0.010038239881396294},
    {"Oa07", 620, 10, 1650, 0.01056649163365364},      {"Oa08", 665, 10, 1530, 0.008974685333669186},
    {"Oa09", 673.75, 7.5, 1500, 0.009690877981483936}, {"Oa10", 681.25, 7.5, 1470, 0.008986380882561207},
    {"Oa11", 708.75, 10, 1410, 0.008361034095287323},  {"Oa12", 753.75, 7.5, 1265, 0.007491027936339378},
    {"Oa13", 761.25, 2.5, 1250, 0.007861301302909851}, {"Oa14", 764.375, 3.75, 1245, 0.007529641035944223},
    {"Oa15", 767.5, 2.5, 1235, 0.00788309145718813},   {"Oa16", 778.75, 15, 1205, 0.007152478210628033},
    {"Oa17", 865, 20, 955, 0.006055756937712431},      {"Oa18", 885, 10, 930, 0.0060341269709169865},
    {"Oa19", 900, 10, 895, 0.0055409627966582775},     {"Oa20", 940, 20, 820, 0.005095385946333408},
    {"Oa21", 1020, 40, 700, 0.004291551187634468},
}};
// Gas transmission in the absorption bands (O2 A-band, water vapour).
double gas_transmission(int b) {
  switch (b) {
    case 12:
      return 0.25;  // Oa13 761 nm
    case 13:
      return 0.55;
    case 14:
      return 0.70;
    case 18:
      return 0.80;  // Oa19 900 nm
    case 19:
      return 0.55;  // Oa20 940 nm
    default:
      return 1.0;
  }
}

// S2 band centres (nm) for interpolating the world's reflectance tables (B10 cirrus skipped).
constexpr std::array<double, 13> kS2Centre = {443, 490, 560, 665, 705, 740, 783, 842, 865, 945, 1375, 1610, 2190};

template <class F>
double interpolate_s2(double nm, F&& value) {
  static const int order[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12};
  if (nm <= kS2Centre[0]) return value(0);
  for (int k = 0; k + 1 < 12; ++k) {
    const int a = order[k], b = order[k + 1];
    if (nm <= kS2Centre[b]) {
      const double t = (nm - kS2Centre[a]) / (kS2Centre[b] - kS2Centre[a]);
      return value(a) * (1 - t) + value(b) * t;
    }
  }
  return value(12);
}

// ---- GDAL multidim helpers -----------------------------------------------------------------------

// ---- geometry and naming ------------------------------------------------------------------------

struct Frame {
  bool s3b = false;
  std::int64_t day = 0;
  int abs_orbit = 0, rel_orbit = 0, cycle = 0;
  int rows = 0, cols = 0;
  double clon = 0, clat = 0, kx = 1, ky = 1;
  double ax = 0, ay = 0, cx = 0, cy = 0, amin = 0, cmin = 0;
  UtcTime start, stop, created;
  std::string name, key;
  void lonlat(double row, double col, double& lon, double& lat) const {
    const double a = amin + row * kPixelKm, c = cmin + col * kPixelKm;
    lon = clon + (a * ax + c * cx) / kx;
    lat = clat + (a * ay + c * cy) / ky;
  }
};

// Reference passes over the region: S3A from the CDSE name S3A_OL_1_EFR____20220615T094112_..._086_307_...
// (cycle 86, relative orbit 307), S3B numbering from a real S3B product (abs 25397, rel 100, cycle 77).
struct Platform {
  const char* id;
  double ref_time;  // seconds since epoch of a pass over the region
  int ref_abs, ref_rel, ref_cycle;
};
const Platform& platform(bool s3b) {
  static const Platform a{"S3A", static_cast<double>(days_from_civil(2022, 6, 15)) * 86400 + 9 * 3600 + 41 * 60 + 12,
                          33032, 307, 86};
  static const Platform b{"S3B", static_cast<double>(days_from_civil(2022, 6, 14)) * 86400 + 9 * 3600 + 20 * 60 + 5,
                          21560, 121, 67};
  return s3b ? b : a;
}

Frame make_frame(const World& world, std::int64_t day, bool s3b) {
  const Region& r = world.region();
  const Platform& p = platform(s3b);
  Frame f;
  f.s3b = s3b;
  f.day = day;
  f.clon = (r.west + r.east) / 2;
  f.clat = (r.south + r.north) / 2;
  f.kx = 111.32 * std::cos(f.clat * kDeg);
  f.ky = 110.57;
  const double h = kHeadingDeg * kDeg;
  f.ax = std::sin(h), f.ay = std::cos(h), f.cx = -f.ay, f.cy = f.ax;  // columns run west to east
  double amin = 1e9, amax = -1e9, cmin = 1e9, cmax = -1e9;
  for (double lon : {r.west, r.east}) {
    for (double lat : {r.south, r.north}) {
      const double x = (lon - f.clon) * f.kx, y = (lat - f.clat) * f.ky;
      amin = std::min(amin, x * f.ax + y * f.ay), amax = std::max(amax, x * f.ax + y * f.ay);
      cmin = std::min(cmin, x * f.cx + y * f.cy), cmax = std::max(cmax, x * f.cx + y * f.cy);
    }
  }
  const double margin = 5.0;
  f.amin = amin - margin, f.cmin = cmin - margin;
  f.rows = static_cast<int>(std::ceil((amax - amin + 2 * margin) / kPixelKm));
  f.cols = static_cast<int>(std::ceil((cmax - cmin + 2 * margin) / kPixelKm));
  // The orbit passing nearest to 10:00 local solar time that day.
  const double wanted = static_cast<double>(day) * 86400.0 + (10.0 - f.clon / 15.0) * 3600.0;
  const auto n = static_cast<int>(std::lround((wanted - p.ref_time) / kOrbitPeriod));
  const double centre = p.ref_time + n * kOrbitPeriod;
  f.abs_orbit = p.ref_abs + n;
  const int k = p.ref_rel - 1 + n;
  f.rel_orbit = ((k % 385) + 385) % 385 + 1;
  f.cycle = p.ref_cycle + static_cast<int>(std::floor(k / 385.0));
  f.start = UtcTime::from_day(0, 0).plus(centre + f.amin / kPixelKm * kRowSeconds);
  f.stop = f.start.plus((f.rows - 1) * kRowSeconds);
  f.created = f.stop.plus(27 * 3600 + 3600 * unit(mix(world.seed(), 0x5301, static_cast<std::uint64_t>(day))));
  const int duration = static_cast<int>(std::lround((f.rows - 1) * kRowSeconds));
  // Along-track coordinate of the frame: seconds since the descending node crossing, ~2160 for 46 N.
  const int frame_coord = 2160 + static_cast<int>(std::lround(f.amin / kPixelKm * kRowSeconds));
  f.name = fmt::format("{}_OL_1_EFR____{}_{}_{}_{:04}_{:03}_{:03}_{:04}_PS{}_O_NT_002.SEN3", p.id, compact(f.start),
                       compact(f.stop), compact(f.created), duration, f.cycle, f.rel_orbit, frame_coord, s3b ? 2 : 1);
  f.key = "Sentinel-3/OLCI/OL_1_EFR___/" + date_path(f.start) + "/" + f.name;
  return f;
}

// One NetCDF file of the product: global attributes as the real L1 files, dims rows/columns.
struct NcFile {
  std::unique_ptr<GDALDataset> ds;
  GroupPtr root;
  DimPtr rows, cols;
};

NcFile open_nc(const std::filesystem::path& path, const Frame& f, const std::string& title, bool columns = true) {
  GDALDriver* drv = GetGDALDriverManager()->GetDriverByName("netCDF");
  if (!drv) throw Error(ErrorCode::internal, "GDAL netCDF driver not available");
  const char* opts[] = {"FORMAT=NC4", "CONVENTIONS=CF-1.6", nullptr};
  NcFile nc;
  nc.ds.reset(drv->CreateMultiDimensional(path.c_str(), nullptr, const_cast<char**>(opts)));
  if (!nc.ds) nc_fail("create " + path.string());
  nc.root = nc.ds->GetRootGroup();
  const auto& r = nc.root;
  attr(r, "absolute_orbit_number", f.abs_orbit, GDT_UInt32);
  attr(r, "ac_subsampling_factor", 64, GDT_UInt16);
  attr(r, "al_subsampling_factor", 1, GDT_UInt16);
  attr(r, "comment", " ");
  attr(r, "contact", "eosupport@copernicus.esa.int");
  attr(r, "creation_time", iso(f.created, 0));
  attr(r, "history", "  " + iso(f.created, 0) + ": PUGCoreProcessor JobOrder.1864371.xml");
  attr(r, "institution", f.s3b ? "PS2" : "PS1");
  attr(r, "netCDF_version", "4.2 of Mar 29 2022 09:28:14 $");
  attr(r, "processing_baseline", "OL__L1_.002.03.00");
  attr(r, "product_name", f.name);
  attr(r, "references",
       "S3IPF PDS 004.1 - i2r5 - Product Data Format Specification - OLCI Level 1, S3IPF PDS 002 - i1r8 - Product "
       "Data Format Specification - Product Structures, S3IPF DPM 002 - i2r7 - Detailed Processing Model - OLCI Level "
       "1");
  attr(r, "resolution", "[ 270 294 ]");
  attr(r, "source", "IPF-OL-1-EO 06.13");
  attr(r, "start_time", iso(f.start, 6));
  attr(r, "stop_time", iso(f.stop, 6));
  attr(r, "title", title);
  if (columns) nc.cols = r->CreateDimension("columns", "", "", f.cols);
  nc.rows = r->CreateDimension("rows", "", "", f.rows);
  if (!nc.rows || (columns && !nc.cols)) nc_fail("dimensions of " + path.string());
  return nc;
}

void close_nc(NcFile& nc, const std::string& what) {
  CPLErrorReset();
  nc.ds.reset();  // flushes and closes the file
  if (CPLGetLastErrorType() >= CE_Failure) nc_fail("close " + what);
}

void solar_angles(const UtcTime& t, double lon, double lat, double& zenith) {
  double azimuth = 0;
  sun_position(t, lon, lat, zenith, azimuth);
}

void generate(const Frame& f, const World& world, ProductWriter& writer) {
  ensure_gdal();
  const int R = f.rows, C = f.cols;
  const std::size_t N = static_cast<std::size_t>(R) * C;
  const int doy = day_of_year(f.day);
  const double earth_sun = 1.0 - 0.01672 * std::cos(2 * kPi * (doy - 4) / 365.25);  // AU
  std::vector<std::int32_t> lat(N), lon(N);
  std::vector<std::int16_t> alt(N);
  std::vector<std::uint32_t> flags(N);
  std::vector<std::vector<std::uint16_t>> rad(kBands.size(), std::vector<std::uint16_t>(N));
  std::size_t bright = 0, water = 0;
  for (int i = 0; i < R; ++i) {
    const UtcTime t = f.start.plus(i * kRowSeconds);
    for (int j = 0; j < C; ++j) {
      const std::size_t k = static_cast<std::size_t>(i) * C + j;
      double plon = 0, plat = 0;
      f.lonlat(i + 0.5, j + 0.5, plon, plat);
      const double z = world.elevation(plon, plat);
      const Cover cover = world.cover(plon, plat, z);
      const bool snow = cover == Cover::glacier || world.snow(plon, plat, z, doy);
      const double cloud = world.cloud(plon, plat, f.day);
      const double green = cover == Cover::cropland ? world.crop_green(plon, plat, doy) : 0;
      double sza = 0;
      solar_angles(t, plon, plat, sza);
      const double mu = std::max(0.05, std::cos(sza * kDeg));
      lat[k] = static_cast<std::int32_t>(std::lround(plat * 1e6));
      lon[k] = static_cast<std::int32_t>(std::lround(plon * 1e6));
      alt[k] = static_cast<std::int16_t>(std::lround(z));
      std::uint32_t fl = 0;
      if (cover == Cover::water) {
        fl |= 1u << 29;  // fresh_inland_water
        ++water;
      } else {
        fl |= 1u << 31;  // land
      }
      const bool is_bright = snow || cloud > 0.5;
      if (is_bright) {
        fl |= 1u << 27;  // bright
        ++bright;
      }
      for (std::size_t b = 0; b < kBands.size(); ++b) {
        const double nm = kBands[b].centre;
        const double rho = snow ? interpolate_s2(nm, [](int s) { return snow_reflectance(s); })
                           : cover == Cover::cropland
                               ? interpolate_s2(nm, [&](int s) { return crop_reflectance(green, s); })
                               : interpolate_s2(nm, [&](int s) { return surface_reflectance(cover, s); });
        const double cloud_rho = interpolate_s2(nm, [](int s) { return cloud_reflectance(s); });
        const double rayleigh = 0.12 * std::pow(400.0 / nm, 4.0) / (0.6 + 0.4 * mu);
        const double transmit = 0.88 * gas_transmission(static_cast<int>(b));
        const double toa_clear = rayleigh + transmit * rho;
        const double toa =
            (1 - cloud) * toa_clear + cloud * (cloud_rho * gas_transmission(static_cast<int>(b)) + 0.3 * rayleigh);
        const double radiance = kBands[b].e0 * mu * toa / (kPi * earth_sun * earth_sun);
        const double dn = std::round(radiance / kBands[b].scale);
        std::uint16_t v = static_cast<std::uint16_t>(std::clamp(dn, 0.0, 65534.0));
        if (dn > 65534.0) fl |= 1u << (20 - b);  // saturated@OaNN
        rad[b][k] = v;
      }
      flags[k] = fl;
    }
  }

  std::vector<std::string> files;
  for (std::size_t b = 0; b < kBands.size(); ++b) {
    const std::string file = std::string(kBands[b].name) + "_radiance.nc";
    NcFile nc =
        open_nc(writer.path(file), f, std::string("OLCI Level 1b Product, Radiance ") + kBands[b].name + " Data Set");
    auto a = nc_array(nc.root, std::string(kBands[b].name) + "_radiance", {nc.rows, nc.cols}, GDT_UInt16);
    a->SetNoDataValue(static_cast<uint64_t>(65535));
    attr(a, "add_offset", 0.0, GDT_Float32);
    attr(a, "ancillary_variables", std::string(kBands[b].name) + "_radiance_unc");
    attr(a, "coordinates", "time_stamp altitude latitude longitude");
    attr(a, "long_name", std::string("TOA radiance for OLCI acquisition band ") + kBands[b].name);
    attr(a, "scale_factor", kBands[b].scale, GDT_Float32);
    attr(a, "standard_name", "toa_upwelling_spectral_radiance");
    attr(a, "units", "mW.m-2.sr-1.nm-1");
    attr(a, "valid_max", 65534, GDT_UInt16);
    attr(a, "valid_min", 0, GDT_UInt16);
    nc_write(a, rad[b], GDT_UInt16);
    close_nc(nc, file);
    files.push_back(file);
  }
  {
    NcFile nc = open_nc(writer.path("geo_coordinates.nc"), f, "OLCI Level 1b Product, Geo Coordinates Data Set");
    auto a = nc_array(nc.root, "altitude", {nc.rows, nc.cols}, GDT_Int16);
    a->SetNoDataValue(static_cast<int64_t>(-32768));
    attr(a, "long_name", "DEM corrected altitude");
    attr(a, "standard_name", "altitude");
    attr(a, "units", "m");
    attr(a, "valid_max", 9000, GDT_Int16);
    attr(a, "valid_min", -1000, GDT_Int16);
    nc_write(a, alt, GDT_Int16);
    for (auto [name, values, units, range] : {std::tuple{"latitude", &lat, "degrees_north", 90000000.0},
                                              std::tuple{"longitude", &lon, "degrees_east", 180000000.0}}) {
      a = nc_array(nc.root, name, {nc.rows, nc.cols}, GDT_Int32);
      a->SetNoDataValue(static_cast<int64_t>(-2147483648LL));
      attr(a, "long_name", std::string("DEM corrected ") + name);
      attr(a, "scale_factor", 1e-6, GDT_Float64);
      attr(a, "standard_name", name);
      attr(a, "units", units);
      attr(a, "valid_max", range, GDT_Int32);
      attr(a, "valid_min", -range, GDT_Int32);
      nc_write(a, *values, GDT_Int32);
    }
    close_nc(nc, "geo_coordinates.nc");
    files.push_back("geo_coordinates.nc");
  }
  {
    NcFile nc = open_nc(writer.path("time_coordinates.nc"), f, "OLCI Level 1b Product, Time Stamps Data Set", false);
    auto a = nc_array(nc.root, "time_stamp", {nc.rows}, GDT_Int64);
    a->SetNoDataValue(static_cast<int64_t>(-1));
    attr(a, "long_name", "Elapsed time since 01 Jan 2000 0h");
    attr(a, "standard_name", "time");
    attr(a, "units", "microseconds since 2000-01-01 00:00:00");
    std::vector<std::int64_t> ts(R);
    const std::int64_t epoch = days_from_civil(2000, 1, 1) * 86400;
    for (int i = 0; i < R; ++i) {
      const UtcTime t = f.start.plus(i * kRowSeconds);
      ts[i] = (t.seconds - epoch) * 1000000 + t.micros;
    }
    nc_write(a, ts, GDT_Int64);
    close_nc(nc, "time_coordinates.nc");
    files.push_back("time_coordinates.nc");
  }
  {
    NcFile nc =
        open_nc(writer.path("qualityFlags.nc"), f, "OLCI Level 1b Product, Classification and Quality Flags Data Set");
    auto a = nc_array(nc.root, "quality_flags", {nc.rows, nc.cols}, GDT_UInt32);
    attr(a, "coordinates", "time_stamp altitude latitude longitude");
    std::vector<double> masks;
    for (int bit = 31; bit >= 0; --bit) masks.push_back(static_cast<double>(1u << bit));
    attr(a, "flag_masks", masks, GDT_UInt32);
    std::string meanings =
        "land coastline fresh_inland_water tidal_region bright straylight_risk invalid cosmetic duplicated "
        "sun-glint_risk dubious";
    for (const auto& b : kBands) meanings += std::string(" saturated@") + b.name;
    attr(a, "flag_meanings", meanings);
    attr(a, "long_name", "Classification and quality flags");
    nc_write(a, flags, GDT_UInt32);
    close_nc(nc, "qualityFlags.nc");
    files.push_back("qualityFlags.nc");
  }

  // xfdumanifest.xml (written last: sizes and MD5 of every file).
  std::uint64_t total = 0;
  std::vector<FileEntry> entries;
  for (const auto& file : files) {
    entries.push_back(writer.describe(file));
    total += entries.back().size;
  }
  std::string poslist;
  for (auto [r, c] : {std::pair{0.0, 0.0}, std::pair{0.0, 1.0 * C}, std::pair{1.0 * R, 1.0 * C},
                      std::pair{1.0 * R, 0.0}, std::pair{0.0, 0.0}}) {
    double plon = 0, plat = 0;
    f.lonlat(r, c, plon, plat);
    poslist += fmt::format("{}{:.4f} {:.4f}", poslist.empty() ? "" : " ", plat, plon);
  }
  std::string x = fmt::format(
      "<?xml version =\"1.0\" encoding=\"UTF-8\"?>\n"
      "   <xfdu:XFDU xmlns:xfdu=\"urn:ccsds:schema:xfdu:1\" "
      "xmlns:sentinel-safe=\"http://www.esa.int/safe/sentinel/1.1\" "
      "xmlns:gml=\"http://www.opengis.net/gml\" xmlns:sentinel3=\"http://www.esa.int/safe/sentinel/sentinel-3/1.0\" "
      "xmlns:olci=\"http://www.esa.int/safe/sentinel/sentinel-3/olci/1.0\" "
      "version=\"esa/safe/sentinel/sentinel-3/olci/level-1/1.0\">\n"
      "      <informationPackageMap>\n"
      "         <xfdu:contentUnit ID=\"packageUnit\" unitType=\"Information Package\" textInfo=\"SENTINEL-3 OLCI Level "
      "1 "
      "Earth Observation Full Resolution Product\" dmdID=\"acquisitionPeriod platform measurementOrbitReference "
      "measurementQualityInformation processing measurementFrameSet generalProductInformation "
      "olciProductInformation\">\n");
  for (const auto& b : kBands) {
    x += fmt::format(
        "            <xfdu:contentUnit  ID=\"{0}_radianceUnit\" unitType=\"Measurement Data Unit\" textInfo=\"TOA "
        "radiance "
        "for OLCI acquisition band {0}\" dmdID=\"geoCoordinatesAnnotation timeCoordinatesAnnotation "
        "qualityFlagsAnnotation\">\n"
        "               <dataObjectPointer dataObjectID=\"{0}_radianceData\"/>\n            </xfdu:contentUnit>\n",
        b.name);
  }
  x += "            <xfdu:contentUnit  ID=\"geoCoordinatesUnit\" unitType=\"Annotation Data Unit\" textInfo=\"Geo "
       "Coordinates "
       "Annotations\" dmdID=\"timeCoordinatesAnnotation\">\n               <dataObjectPointer "
       "dataObjectID=\"geoCoordinatesData\"/>\n"
       "            </xfdu:contentUnit>\n"
       "            <xfdu:contentUnit  ID=\"qualityFlagsUnit\" unitType=\"Annotation Data Unit\" textInfo=\"Quality "
       "flags\" "
       "dmdID=\"timeCoordinatesAnnotation geoCoordinatesAnnotation\">\n"
       "               <dataObjectPointer dataObjectID=\"qualityFlagsData\"/>\n            </xfdu:contentUnit>\n"
       "            <xfdu:contentUnit  ID=\"timeCoordinatesUnit\" unitType=\"Annotation Data Unit\" textInfo=\"Time "
       "Coordinates "
       "Annotations\">\n               <dataObjectPointer dataObjectID=\"timeCoordinatesData\"/>\n            "
       "</xfdu:contentUnit>\n"
       "         </xfdu:contentUnit>\n      </informationPackageMap>\n      <metadataSection>\n";
  const double pct_bright = 100.0 * static_cast<double>(bright) / static_cast<double>(N);
  const double pct_water = 100.0 * static_cast<double>(water) / static_cast<double>(N);
  x += fmt::format(
      "         <metadataObject ID=\"acquisitionPeriod\" classification=\"DESCRIPTION\" category=\"DMD\">\n"
      "            <metadataWrap mimeType=\"text/xml\" vocabularyName=\"Sentinel-SAFE\" textInfo=\"Acquisition "
      "Period\">\n"
      "               <xmlData>\n                  <sentinel-safe:acquisitionPeriod>\n"
      "                     <sentinel-safe:startTime>{0}</sentinel-safe:startTime>\n"
      "                     <sentinel-safe:stopTime>{1}</sentinel-safe:stopTime>\n"
      "                  </sentinel-safe:acquisitionPeriod>\n               </xmlData>\n            </metadataWrap>\n"
      "         </metadataObject>\n"
      "         <metadataObject ID=\"platform\" classification=\"DESCRIPTION\" category=\"DMD\">\n"
      "            <metadataWrap mimeType=\"text/xml\" vocabularyName=\"Sentinel-SAFE\" textInfo=\"Platform "
      "Description\">\n"
      "               <xmlData>\n                  <sentinel-safe:platform>\n"
      "                     <sentinel-safe:nssdcIdentifier>{2}</sentinel-safe:nssdcIdentifier>\n"
      "                     <sentinel-safe:familyName>Sentinel-3</sentinel-safe:familyName>\n"
      "                     <sentinel-safe:number>{3}</sentinel-safe:number>\n                     "
      "<sentinel-safe:instrument>\n"
      "                        <sentinel-safe:familyName abbreviation=\"OLCI\">Ocean Land Colour "
      "Instrument</sentinel-safe:familyName>\n"
      "                        <sentinel-safe:mode identifier=\"EO\">Earth Observation</sentinel-safe:mode>\n"
      "                     </sentinel-safe:instrument>\n                  </sentinel-safe:platform>\n               "
      "</xmlData>\n"
      "            </metadataWrap>\n         </metadataObject>\n"
      "         <metadataObject ID=\"measurementFrameSet\" classification=\"DESCRIPTION\" category=\"DMD\">\n"
      "            <metadataWrap mimeType=\"text/xml\" vocabularyName=\"Sentinel-SAFE\" textInfo=\"Frame Set\">\n"
      "               <xmlData>\n                  <sentinel-safe:frameSet>\n"
      "                     <sentinel-safe:footPrint srsName=\"http://www.opengis.net/def/crs/EPSG/0/4326\">\n"
      "                        <gml:posList>{4}</gml:posList>\n                     </sentinel-safe:footPrint>\n"
      "                  </sentinel-safe:frameSet>\n               </xmlData>\n            </metadataWrap>\n"
      "         </metadataObject>\n",
      iso(f.start, 6), iso(f.stop, 6), f.s3b ? "2018-039A" : "2016-011A", f.s3b ? "B" : "A", poslist);
  x += fmt::format(
      "         <metadataObject ID=\"generalProductInformation\" classification=\"DESCRIPTION\" category=\"DMD\">\n"
      "            <metadataWrap mimeType=\"text/xml\" vocabularyName=\"Sentinel-SAFE\" textInfo=\"General Product "
      "Information\">\n"
      "               <xmlData>\n                  <sentinel3:generalProductInformation>\n"
      "                     <sentinel3:productName>{0}</sentinel3:productName>\n"
      "                     <sentinel3:productType>OL_1_EFR___</sentinel3:productType>\n"
      "                     <sentinel3:timeliness>NT</sentinel3:timeliness>\n"
      "                     <sentinel3:baselineCollection>002</sentinel3:baselineCollection>\n"
      "                     <sentinel3:processingBaseline>OL__L1_.002.03.00</sentinel3:processingBaseline>\n"
      "                     <sentinel3:creationTime>{1}</sentinel3:creationTime>\n"
      "                     <sentinel3:productSize>{2}</sentinel3:productSize>\n"
      "                     <sentinel3:dispositionMode>Operational</sentinel3:dispositionMode>\n"
      "                     <sentinel3:productUnit>\n                        <sentinel3:type>FRAME</sentinel3:type>\n"
      "                        <sentinel3:alongtrackCoordinate>2160</sentinel3:alongtrackCoordinate>\n"
      "                     </sentinel3:productUnit>\n                  </sentinel3:generalProductInformation>\n"
      "               </xmlData>\n            </metadataWrap>\n         </metadataObject>\n"
      "         <metadataObject ID=\"olciProductInformation\" classification=\"DESCRIPTION\" category=\"DMD\">\n"
      "            <metadataWrap mimeType=\"text/xml\" vocabularyName=\"Sentinel-SAFE\" textInfo=\"Olci Product "
      "Information\">\n"
      "               <xmlData>\n                  <olci:olciProductInformation>\n"
      "                     <olci:classificationSummary>\n"
      "                        <sentinel3:salineWaterPixels percentage=\"0.000000\"/>\n"
      "                        <sentinel3:coastalPixels percentage=\"0.000000\"/>\n"
      "                        <sentinel3:freshInlandWaterPixels percentage=\"{3:.6f}\"/>\n"
      "                        <sentinel3:tidalRegionPixels percentage=\"0.000000\"/>\n"
      "                        <sentinel3:brightPixels percentage=\"{4:.6f}\"/>\n"
      "                     </olci:classificationSummary>\n"
      "                     <olci:imageSize>\n                        <sentinel3:rows>{5}</sentinel3:rows>\n"
      "                        <sentinel3:columns>{6}</sentinel3:columns>\n                     </olci:imageSize>\n"
      "                     <olci:samplingParameters>\n                        "
      "<olci:alTimeSampling>44000</olci:alTimeSampling>\n"
      "                        <olci:alSpatialSampling>300</olci:alSpatialSampling>\n"
      "                        <olci:acSpatialSampling>300</olci:acSpatialSampling>\n"
      "                     </olci:samplingParameters>\n                     <olci:bandDescriptions bands=\"21\">\n",
      f.name, compact(f.created), total, pct_water, pct_bright, R, C);
  for (const auto& b : kBands) {
    x += fmt::format(
        "                        <sentinel3:band name=\"{}\">\n"
        "                           <sentinel3:centralWavelength>{}</sentinel3:centralWavelength>\n"
        "                           <sentinel3:bandwidth>{}</sentinel3:bandwidth>\n                        "
        "</sentinel3:band>\n",
        b.name, b.centre, b.width);
  }
  x += fmt::format(
      "                     </olci:bandDescriptions>\n                  </olci:olciProductInformation>\n"
      "               </xmlData>\n            </metadataWrap>\n         </metadataObject>\n"
      "         <metadataObject ID=\"measurementOrbitReference\" classification=\"DESCRIPTION\" category=\"DMD\">\n"
      "            <metadataWrap mimeType=\"text/xml\" vocabularyName=\"Sentinel-SAFE\" textInfo=\"Orbit Reference\">\n"
      "               <xmlData>\n                  <sentinel-safe:orbitReference>\n"
      "                     <sentinel-safe:orbitNumber type=\"start\" "
      "groundTrackDirection=\"descending\">{0}</sentinel-safe:orbitNumber>\n"
      "                     <sentinel-safe:relativeOrbitNumber type=\"start\" "
      "groundTrackDirection=\"descending\">{1}</sentinel-safe:relativeOrbitNumber>\n"
      "                     <sentinel-safe:passNumber type=\"start\" "
      "groundTrackDirection=\"descending\">{2}</sentinel-safe:passNumber>\n"
      "                     <sentinel-safe:relativePassNumber type=\"start\" "
      "groundTrackDirection=\"descending\">{3}</sentinel-safe:relativePassNumber>\n"
      "                     <sentinel-safe:cycleNumber>{4}</sentinel-safe:cycleNumber>\n"
      "                     <sentinel-safe:phaseIdentifier>1</sentinel-safe:phaseIdentifier>\n"
      "                  </sentinel-safe:orbitReference>\n               </xmlData>\n            </metadataWrap>\n"
      "         </metadataObject>\n"
      "         <metadataObject ID=\"measurementQualityInformation\" classification=\"DESCRIPTION\" category=\"DMD\">\n"
      "            <metadataWrap mimeType=\"text/xml\" vocabularyName=\"Sentinel-SAFE\" textInfo=\"Quality "
      "Information\">\n"
      "               <xmlData>\n                  <sentinel-safe:qualityInformation>\n                     "
      "<sentinel-safe:extension>\n"
      "                        <sentinel3:productQuality>\n"
      "                           <sentinel3:onlineQualityCheck>PASSED</sentinel3:onlineQualityCheck>\n"
      "                        </sentinel3:productQuality>\n                     </sentinel-safe:extension>\n"
      "                  </sentinel-safe:qualityInformation>\n               </xmlData>\n            </metadataWrap>\n"
      "         </metadataObject>\n"
      "         <metadataObject ID=\"processing\" classification=\"PROVENANCE\" category=\"PDI\">\n"
      "            <metadataWrap mimeType=\"text/xml\" vocabularyName=\"Sentinel-SAFE\" textInfo=\"Processing\">\n"
      "               <xmlData>\n                  <sentinel-safe:processing name=\"DataProcessing\" start=\"{5}\" "
      "stop=\"{6}\">\n"
      "                     <sentinel-safe:facility name=\"{7}\" organisation=\"European Space Agency\" site=\"{7}\" "
      "country=\"{8}\">\n"
      "                        <sentinel-safe:software name=\"PUGCoreProcessor\" version=\"06.13\"/>\n"
      "                     </sentinel-safe:facility>\n                  </sentinel-safe:processing>\n"
      "               </xmlData>\n            </metadataWrap>\n         </metadataObject>\n",
      f.abs_orbit, f.rel_orbit, 2 * f.abs_orbit, 2 * f.rel_orbit, f.cycle, iso(f.created.plus(-600.0), 6),
      iso(f.created, 6), f.s3b ? "PS2" : "PS1", f.s3b ? "United Kingdom" : "Italy");
  for (auto [id, data] : {std::pair{"geoCoordinatesAnnotation", "geoCoordinatesData"},
                          std::pair{"qualityFlagsAnnotation", "qualityFlagsData"},
                          std::pair{"timeCoordinatesAnnotation", "timeCoordinatesData"}}) {
    x += fmt::format(
        "         <metadataObject ID=\"{}\" classification=\"DESCRIPTION\" category=\"DMD\">\n"
        "            <dataObjectPointer dataObjectID=\"{}\"/>\n         </metadataObject>\n",
        id, data);
  }
  x += "      </metadataSection>\n      <dataObjectSection>\n";
  for (const auto& e : entries) {
    std::string id, text;
    if (e.path.find("_radiance.nc") != std::string::npos) {
      const std::string band = e.path.substr(0, 4);
      id = band + "_radianceData";
      text = "TOA radiance for OLCI acquisition band " + band;
    } else if (e.path == "geo_coordinates.nc") {
      id = "geoCoordinatesData", text = "Geo Coordinates Annotations";
    } else if (e.path == "time_coordinates.nc") {
      id = "timeCoordinatesData", text = "Time Coordinates Annotations";
    } else {
      id = "qualityFlagsData", text = "Classification and Quality Flags";
    }
    x += fmt::format(
        "         <dataObject ID=\"{}\">\n            <byteStream mimeType=\"application/x-netcdf\" size=\"{}\">\n"
        "               <fileLocation locatorType=\"URL\" textInfo=\"{}\" href=\"./{}\"/>\n"
        "               <checksum checksumName=\"MD5\">{}</checksum>\n            </byteStream>\n         "
        "</dataObject>\n",
        id, e.size, text, e.path, e.md5);
  }
  x += "      </dataObjectSection>\n   </xfdu:XFDU>\n";
  writer.write_text("xfdumanifest.xml", x);
}

std::set<std::int64_t> product_days(const SynthOptions& o) {
  std::set<std::int64_t> days;
  for (std::int64_t d = o.from_day; d <= o.to_day; ++d) days.insert(d);
  for (auto d : o.extra_days) days.insert(d);
  return days;
}

class Sentinel3Generator final : public MissionGenerator {
 public:
  std::string id() const override { return "s3"; }
  std::vector<Task> plan(const SynthOptions& options, const World& world) const override {
    std::vector<Task> tasks;
    for (std::int64_t day : product_days(options)) {
      // Every other day, alternating S3A and S3B. Extra (single) days always get a product.
      const bool extra = day < options.from_day || day > options.to_day;
      if (!extra && ((day % 2) + 2) % 2 != 0) continue;
      const bool s3b = ((day / 2) % 2 + 2) % 2 == 1;
      Frame f = make_frame(world, day, s3b);
      const World* w = &world;
      tasks.push_back({f.key, [f, w](ProductWriter& writer) { generate(f, *w, writer); }});
    }
    return tasks;
  }
};

}  // namespace

std::unique_ptr<MissionGenerator> make_sentinel3_generator() { return std::make_unique<Sentinel3Generator>(); }

}  // namespace ds::synth
