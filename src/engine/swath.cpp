// Swath products without a geotransform: Sentinel-3 OLCI L1 and Sentinel-5P L2. Each becomes a
// VRT (as an XML string GDAL opens directly, so nothing lives in /vsimem/ to clean up) whose bands
// are the product's NetCDF variables, scaled to physical values with NaN as no data, and whose
// GEOLOCATION metadata points at the latitude/longitude arrays (pixel centres), so the engine's
// generic transformer (source_coords) maps grids onto the swath. VRTs are built once per product
// and cached; they are deterministic text, so identical requests read identical sources.

#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/text.hpp"
#include "engine/sources_internal.hpp"
#include "storage/object_store.hpp"

namespace ds::engine::detail {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDeg = kPi / 180.0;

GDALDatasetUniquePtr open_raster(const std::string& path) {
  GDALAllRegister();
  // Missing variables are expected (probing); their errors must not reach the log.
  CPLErrorHandlerPusher quiet(CPLQuietErrorHandler);
  CPLErrorStateBackuper keep;
  return GDALDatasetUniquePtr(static_cast<GDALDataset*>(
      GDALOpenEx(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr)));
}

std::string netcdf_path(const std::string& file, const std::string& variable) {
  return "NETCDF:\"" + file + "\":" + variable;
}

std::string num(double v) { return fmt::format("{:.17g}", v); }

// What a VRT source needs to know about one band of a dataset (so GDAL can open it lazily).
struct SourceBand {
  std::string path;  // GDAL path of the dataset
  int width = 0, height = 0, block_x = 0, block_y = 0;
  GDALDataType type = GDT_Unknown;
  std::optional<double> nodata;
  double scale = 1, offset = 0;
};

std::optional<SourceBand> describe(const std::string& path) {
  auto ds = open_raster(path);
  if (!ds || ds->GetRasterCount() < 1) return std::nullopt;
  GDALRasterBand* b = ds->GetRasterBand(1);
  SourceBand s;
  s.path = path;
  s.width = ds->GetRasterXSize();
  s.height = ds->GetRasterYSize();
  b->GetBlockSize(&s.block_x, &s.block_y);
  s.type = b->GetRasterDataType();
  int has = 0;
  const double nd = b->GetNoDataValue(&has);
  if (has) s.nodata = nd;
  int has_scale = 0, has_offset = 0;
  const double scale = b->GetScale(&has_scale), offset = b->GetOffset(&has_offset);
  if (has_scale) s.scale = scale;
  if (has_offset) s.offset = offset;
  return s;
}

// A <ComplexSource> reading band 1 of `s` scaled to physical values; source no data is skipped
// (left at the VRT band's no data) and `lut` optionally maps the scaled values.
std::string complex_source(const SourceBand& s, const std::string& lut = {}) {
  std::string x = fmt::format(
      "<ComplexSource><SourceFilename relativeToVRT=\"0\">{}</SourceFilename><SourceBand>1</SourceBand>"
      "<SourceProperties RasterXSize=\"{}\" RasterYSize=\"{}\" DataType=\"{}\" BlockXSize=\"{}\" BlockYSize=\"{}\"/>",
      xml_escape(s.path), s.width, s.height, GDALGetDataTypeName(s.type), s.block_x, s.block_y);
  if (s.nodata) x += "<NODATA>" + num(*s.nodata) + "</NODATA>";
  if (s.scale != 1 || s.offset != 0)
    x += "<ScaleOffset>" + num(s.offset) + "</ScaleOffset><ScaleRatio>" + num(s.scale) + "</ScaleRatio>";
  if (!lut.empty()) x += "<LUT>" + lut + "</LUT>";
  return x + "</ComplexSource>";
}

// A one-band Float64 VRT of a scaled coordinate array (GDAL's geolocation reader does not apply
// scale_factor), with a no-data value no latitude or longitude can have.
std::string coordinate_vrt(const SourceBand& s) {
  return fmt::format(
      "<VRTDataset rasterXSize=\"{}\" rasterYSize=\"{}\"><VRTRasterBand dataType=\"Float64\" band=\"1\">"
      "<NoDataValue>-999</NoDataValue>{}</VRTRasterBand></VRTDataset>",
      s.width, s.height, complex_source(s));
}

// GDAL's geolocation transformer wants WKT, not a user-input string such as "EPSG:4326".
const std::string& wgs84_wkt() {
  static const std::string wkt = [] {
    OGRSpatialReference srs;
    srs.importFromEPSG(4326);
    char* text = nullptr;
    srs.exportToWkt(&text);
    std::string out = text != nullptr ? text : "";
    CPLFree(text);
    return out;
  }();
  return wkt;
}

std::string geolocation_metadata(const std::string& x_dataset, const std::string& y_dataset) {
  std::string m = "<Metadata domain=\"GEOLOCATION\">";
  auto item = [&](const char* key, const std::string& value) {
    m += fmt::format("<MDI key=\"{}\">{}</MDI>", key, xml_escape(value));
  };
  item("SRS", wgs84_wkt());
  item("GEOREFERENCING_CONVENTION", "PIXEL_CENTER");
  item("X_DATASET", x_dataset);
  item("X_BAND", "1");
  item("Y_DATASET", y_dataset);
  item("Y_BAND", "1");
  item("PIXEL_OFFSET", "0");
  item("LINE_OFFSET", "0");
  item("PIXEL_STEP", "1");
  item("LINE_STEP", "1");
  return m + "</Metadata>";
}

// A GEOLOCATION block from the coordinate arrays: directly when they need no scaling, else
// through a scaling VRT given inline.
std::string geolocation_for(const SourceBand& lon, const SourceBand& lat) {
  auto dataset = [](const SourceBand& s) { return s.scale == 1 && s.offset == 0 ? s.path : coordinate_vrt(s); };
  return geolocation_metadata(dataset(lon), dataset(lat));
}

double unix_seconds(catalog::Time t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

// Solar zenith angle (degrees) and Earth–Sun distance (AU) from the low-precision solar
// coordinates of the Astronomical Almanac (good to ~0.01° over this century).
void sun(double unix_time, double lon, double lat, double& zenith, double& distance) {
  const double n = unix_time / 86400.0 + 2440587.5 - 2451545.0;  // days since J2000.0
  const double mean_lon = std::fmod(280.460 + 0.9856474 * n, 360.0);
  const double g = std::fmod(357.528 + 0.9856003 * n, 360.0) * kDeg;
  const double ecl = (mean_lon + 1.915 * std::sin(g) + 0.020 * std::sin(2 * g)) * kDeg;
  const double obl = (23.439 - 0.0000004 * n) * kDeg;
  const double ra = std::atan2(std::cos(obl) * std::sin(ecl), std::cos(ecl));
  const double dec = std::asin(std::sin(obl) * std::sin(ecl));
  const double gmst_h = std::fmod(18.697374558 + 24.06570982441908 * n, 24.0);
  const double hour_angle = gmst_h * 15.0 * kDeg + lon * kDeg - ra;
  const double cz = std::sin(lat * kDeg) * std::sin(dec) + std::cos(lat * kDeg) * std::cos(dec) * std::cos(hour_angle);
  zenith = std::acos(std::clamp(cz, -1.0, 1.0)) / kDeg;
  distance = 1.00014 - 0.01671 * std::cos(g) - 0.00014 * std::cos(2 * g);
}

// ---- Sentinel-3 OLCI ---------------------------------------------------------------------------

// Nominal in-band solar irradiance of OLCI Oa01..Oa21 at 1 AU (mW m-2 nm-1), used only when the
// product has no instrument_data.nc with its own solar_flux.
constexpr std::array<double, 21> kOlciE0 = {1650, 1720, 1880, 1960, 1930, 1800, 1650, 1530, 1500, 1470, 1410,
                                            1265, 1250, 1245, 1235, 1205, 955,  930,  895,  820,  700};

struct OlciProduct {
  std::string xml;                     // the multi-band VRT
  std::map<std::string, int> band_of;  // asset key -> VRT band
  std::map<std::string, double> e0;    // radiance asset key -> solar irradiance used (mW m-2 nm-1)
  SourceLut mu;                        // cos(solar zenith) over image coordinates
};

// "Oa08_radiance" -> 8; 0 when the key is not a radiance band.
int olci_band_number(const std::string& key) {
  if (key.size() != 13 || key.rfind("Oa", 0) != 0 || key.substr(4) != "_radiance") return 0;
  if (!std::isdigit(static_cast<unsigned char>(key[2])) || !std::isdigit(static_cast<unsigned char>(key[3]))) return 0;
  const int n = (key[2] - '0') * 10 + (key[3] - '0');
  return n >= 1 && n <= 21 ? n : 0;
}

// A file of the product: the asset's path when catalogued, else the conventional file name if
// the object exists.
std::optional<std::string> product_file(const catalog::Product& p, const storage::ObjectStore& objects,
                                        const std::string& asset_key, const std::string& file) {
  if (const auto* a = find_asset(p, asset_key)) return objects.vsi_path(p.bucket, p.key + "/" + a->path);
  if (objects.head(p.bucket, p.key + "/" + file)) return objects.vsi_path(p.bucket, p.key + "/" + file);
  return std::nullopt;
}

// A NetCDF variable read in file order through GDAL's multidimensional API (the classic raster
// view flips (rows, columns) arrays bottom-up), scaled to physical values; no data -> NaN.
struct FileArray {
  std::vector<std::size_t> shape;
  std::vector<double> values;  // row-major
};

std::optional<FileArray> read_file_array(const std::string& file, const std::string& variable) {
  GDALAllRegister();
  CPLErrorHandlerPusher quiet(CPLQuietErrorHandler);
  CPLErrorStateBackuper keep;
  GDALDatasetUniquePtr ds(GDALDataset::Open(file.c_str(), GDAL_OF_MULTIDIM_RASTER | GDAL_OF_READONLY));
  if (!ds) return std::nullopt;
  auto root = ds->GetRootGroup();
  auto array = root ? root->OpenMDArray(variable) : nullptr;
  if (!array) return std::nullopt;
  FileArray out;
  std::size_t n = 1;
  for (const auto& d : array->GetDimensions()) {
    out.shape.push_back(static_cast<std::size_t>(d->GetSize()));
    n *= out.shape.back();
  }
  if (n == 0 || n > (std::size_t{64} << 20)) return std::nullopt;
  std::vector<GUInt64> start(out.shape.size(), 0);
  out.values.resize(n);
  if (!array->Read(start.data(), out.shape.data(), nullptr, nullptr, GDALExtendedDataType::Create(GDT_Float64),
                   out.values.data()))
    return std::nullopt;
  bool has_nodata = false, has_scale = false, has_offset = false;
  const double nodata = array->GetNoDataValueAsDouble(&has_nodata);
  const double scale = array->GetScale(&has_scale);
  const double offset = array->GetOffset(&has_offset);
  for (auto& v : out.values) {
    if (has_nodata && v == nodata) {
      v = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    v = v * (has_scale ? scale : 1.0) + (has_offset ? offset : 0.0);
  }
  return out;
}

// Whether GDAL's classic netCDF raster view of `variable` shows the file's rows bottom-up
// (comparing its first row with the file's first and last).
bool classic_view_flipped(const std::string& file, const std::string& variable, const SourceBand& classic) {
  auto a = read_file_array(file, variable);
  if (!a || a->shape.size() != 2 || a->shape[0] < 2) return false;
  auto ds = open_raster(classic.path);
  if (!ds) return false;
  const int w = classic.width;
  std::vector<double> row(w);
  if (ds->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, w, 1, row.data(), w, 1, GDT_Float64, 0, 0, nullptr) != CE_None)
    return false;
  auto same = [&](std::size_t file_row) {
    for (int c = 0; c < w; ++c) {
      const double v = a->values[file_row * a->shape[1] + c];
      const double g = row[c] * classic.scale + classic.offset;
      if (std::isfinite(v) && std::fabs(v - g) > 1e-9 * std::max(1.0, std::fabs(v))) return false;
    }
    return true;
  };
  return !same(0) && same(a->shape[0] - 1);
}

// cos(SZA) from tie_geometries.nc (tie points every ac columns and al rows of the image, `height`
// rows high), rows thinned to at most ~512 (the angle varies slowly along track). `flipped`: the
// image rows the engine reads run bottom-up with respect to the file.
std::optional<SourceLut> olci_mu_from_tie_points(const std::string& tie_file, int height, bool flipped) {
  auto sza = read_file_array(tie_file, "SZA");
  if (!sza || sza->shape.size() != 2) return std::nullopt;
  double ac = 64, al = 1;
  {
    // Global attributes of the file.
    GDALDatasetUniquePtr ds(GDALDataset::Open(tie_file.c_str(), GDAL_OF_MULTIDIM_RASTER | GDAL_OF_READONLY));
    auto root = ds ? ds->GetRootGroup() : nullptr;
    auto attr = [&](const char* name, double fallback) {
      auto a = root ? root->GetAttribute(name) : nullptr;
      const double v = a ? a->ReadAsDouble() : 0.0;
      return v > 0 ? v : fallback;
    };
    ac = attr("ac_subsampling_factor", ac);
    al = attr("al_subsampling_factor", al);
  }
  const int h = static_cast<int>(sza->shape[0]), w = static_cast<int>(sza->shape[1]);
  const int step = std::max(1, h / 512);
  std::vector<int> rows;
  for (int r = 0; r < h; r += step) rows.push_back(r);
  if (rows.back() != h - 1) rows.push_back(h - 1);
  if (flipped) std::reverse(rows.begin(), rows.end());  // ascending image rows
  SourceLut lut;
  for (int c = 0; c < w; ++c) lut.cols.push_back(c * ac + 0.5);
  for (int r : rows) {
    const double file_row = r * al;
    lut.rows.push_back((flipped ? height - 1 - file_row : file_row) + 0.5);
    for (int c = 0; c < w; ++c) {
      const double deg = sza->values[static_cast<std::size_t>(r) * w + c];
      lut.values.push_back(static_cast<float>(std::isfinite(deg) ? std::max(std::cos(deg * kDeg), 0.01) : 0.01));
    }
  }
  return lut;
}

// cos(SZA) computed from the geolocation and the acquisition time (file rows equally spaced in
// time between the product's start and end), on nodes every 16 pixels.
SourceLut olci_mu_computed(const catalog::Product& p, const SourceBand& lon, const SourceBand& lat, bool flipped,
                           double& distance) {
  auto lon_ds = open_raster(lon.path), lat_ds = open_raster(lat.path);
  if (!lon_ds || !lat_ds) throw Error(ErrorCode::unprocessable, fmt::format("cannot read {}", lon.path));
  const int w = lon.width, h = lon.height;
  auto nodes = [](int size) {
    std::vector<int> v;
    for (int i = 0; i < size; i += 16) v.push_back(i);
    if (v.back() != size - 1) v.push_back(size - 1);
    return v;
  };
  const auto rows = nodes(h), cols = nodes(w);
  const double t0 = unix_seconds(p.sensing_start), t1 = unix_seconds(p.sensing_end);
  double mid_zenith = 0;
  sun((t0 + t1) / 2, 0, 0, mid_zenith, distance);
  SourceLut lut;
  for (int c : cols) lut.cols.push_back(c + 0.5);
  std::vector<double> xs(w), ys(w);
  double last_cos = 0.5;
  for (int r : rows) {
    if (lon_ds->GetRasterBand(1)->RasterIO(GF_Read, 0, r, w, 1, xs.data(), w, 1, GDT_Float64, 0, 0, nullptr) !=
            CE_None ||
        lat_ds->GetRasterBand(1)->RasterIO(GF_Read, 0, r, w, 1, ys.data(), w, 1, GDT_Float64, 0, 0, nullptr) != CE_None)
      throw Error(ErrorCode::unprocessable, fmt::format("cannot read the geolocation of {}", p.name));
    lut.rows.push_back(r + 0.5);
    const int file_row = flipped ? h - 1 - r : r;
    const double t = h > 1 ? t0 + (t1 - t0) * file_row / (h - 1) : t0;
    for (int c : cols) {
      const double x = xs[c], y = ys[c];
      const bool ok = !(lon.nodata && x == *lon.nodata) && !(lat.nodata && y == *lat.nodata);
      if (ok) {
        double zenith = 0, d = 1;
        sun(t, x * lon.scale + lon.offset, y * lat.scale + lat.offset, zenith, d);
        last_cos = std::max(std::cos(zenith * kDeg), 0.01);
      }
      lut.values.push_back(static_cast<float>(last_cos));
    }
  }
  return lut;
}

// Mean in-band solar flux of OLCI band `n` (1-based) over the detectors, from instrument_data.nc
// (solar_flux is bands x detectors).
std::optional<double> olci_solar_flux(const std::string& instrument_file, int n) {
  auto flux = read_file_array(instrument_file, "solar_flux");
  if (!flux || flux->shape.size() != 2 || static_cast<std::size_t>(n) > flux->shape[0]) return std::nullopt;
  double sum = 0;
  int count = 0;
  for (std::size_t d = 0; d < flux->shape[1]; ++d) {
    const double e = flux->values[static_cast<std::size_t>(n - 1) * flux->shape[1] + d];
    if (!std::isfinite(e) || e <= 0) continue;
    sum += e;
    ++count;
  }
  if (count == 0) return std::nullopt;
  return sum / count;
}

OlciProduct build_olci(const catalog::Product& p, const storage::ObjectStore& objects) {
  auto geo_file = product_file(p, objects, "geo_coordinates", "geo_coordinates.nc");
  if (!geo_file) throw Error(ErrorCode::unprocessable, fmt::format("product {} has no geo_coordinates.nc", p.name));
  auto lon = describe(netcdf_path(*geo_file, "longitude")), lat = describe(netcdf_path(*geo_file, "latitude"));
  if (!lon || !lat)
    throw Error(ErrorCode::unprocessable,
                fmt::format("product {}: geo_coordinates.nc lacks latitude/longitude", p.name));

  OlciProduct out;
  std::string bands;
  int index = 0;
  // Radiances in band order, then the quality flags.
  std::vector<const catalog::Asset*> assets;
  for (const auto& a : p.assets)
    if (olci_band_number(a.key) > 0) assets.push_back(&a);
  std::sort(assets.begin(), assets.end(), [](auto* a, auto* b) { return a->key < b->key; });
  if (const auto* q = find_asset(p, "qualityFlags")) assets.push_back(q);
  for (const auto* a : assets) {
    const bool flags = a->key == "qualityFlags";
    const std::string file = objects.vsi_path(p.bucket, p.key + "/" + a->path);
    auto s = describe(netcdf_path(file, flags ? "quality_flags" : a->key));
    if (!s) continue;
    if (s->width != lon->width || s->height != lon->height)
      throw Error(ErrorCode::unprocessable,
                  fmt::format("product {}: {} and the geolocation arrays differ in size", p.name, a->path));
    ++index;
    if (flags) {
      // Raw bit field: no scaling and no no-data value.
      bands += fmt::format("<VRTRasterBand dataType=\"{}\" band=\"{}\">{}</VRTRasterBand>",
                           GDALGetDataTypeName(s->type), index, complex_source(*s));
    } else {
      bands += fmt::format(
          "<VRTRasterBand dataType=\"Float32\" band=\"{}\"><NoDataValue>nan</NoDataValue>{}</VRTRasterBand>", index,
          complex_source(*s));
    }
    out.band_of[a->key] = index;
  }
  if (index == 0) throw Error(ErrorCode::unprocessable, fmt::format("product {} has no readable OLCI bands", p.name));
  out.xml = fmt::format("<VRTDataset rasterXSize=\"{}\" rasterYSize=\"{}\">{}{}</VRTDataset>", lon->width, lon->height,
                        geolocation_for(*lon, *lat), bands);

  // Illumination: the product's own tie-point angles and solar flux when present, else computed.
  double distance = 1;
  const bool flipped = classic_view_flipped(*geo_file, "latitude", *lat);
  std::optional<SourceLut> mu;
  if (auto tie = product_file(p, objects, "tie_geometries", "tie_geometries.nc"))
    mu = olci_mu_from_tie_points(*tie, lat->height, flipped);
  if (mu) {
    out.mu = std::move(*mu);
  } else {
    out.mu = olci_mu_computed(p, *lon, *lat, flipped, distance);
  }
  auto instrument = product_file(p, objects, "instrument_data", "instrument_data.nc");
  for (const auto& [key, band] : out.band_of) {
    const int n = olci_band_number(key);
    if (n == 0) continue;
    std::optional<double> e0;
    if (instrument) e0 = olci_solar_flux(*instrument, n);
    // The nominal irradiance is at 1 AU; the products' solar_flux is already for the day.
    out.e0[key] = e0 ? *e0 : kOlciE0[n - 1] / (distance * distance);
  }
  return out;
}

std::string product_version(const catalog::Product& p) {
  return p.bucket + "/" + p.key + "@" +
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(p.modification.time_since_epoch()).count());
}

// ---- Sentinel-5P --------------------------------------------------------------------------------

struct S5pVariable {
  const char* band;
  std::vector<const char*> names;  // under /PRODUCT, first found wins
};

const std::vector<S5pVariable>& s5p_variables() {
  static const std::vector<S5pVariable> table = {
      {"NO2", {"nitrogendioxide_tropospheric_column"}},
      {"CO", {"carbonmonoxide_total_column"}},
      {"O3", {"ozone_total_vertical_column"}},
      {"SO2", {"sulfurdioxide_total_vertical_column"}},
      {"HCHO", {"formaldehyde_tropospheric_vertical_column"}},
      {"CH4", {"methane_mixing_ratio_bias_corrected", "methane_mixing_ratio"}},
      {"AER_AI_340_380", {"aerosol_index_340_380"}},
      {"AER_AI_354_388", {"aerosol_index_354_388"}},
      {"CLOUD_FRACTION", {"cloud_fraction"}},
      {"CLOUD_BASE_PRESSURE", {"cloud_base_pressure"}},
      {"CLOUD_TOP_PRESSURE", {"cloud_top_pressure"}},
      {"CLOUD_BASE_HEIGHT", {"cloud_base_height"}},
      {"CLOUD_TOP_HEIGHT", {"cloud_top_height"}},
      {"CLOUD_OPTICAL_THICKNESS", {"cloud_optical_thickness"}},
  };
  return table;
}

std::string build_s5p(const catalog::Product& p, const catalog::Band& band, const std::string& file, int min_qa) {
  const S5pVariable* var = nullptr;
  for (const auto& v : s5p_variables())
    if (band.name == v.band) var = &v;
  if (var == nullptr)
    throw Error(ErrorCode::unprocessable, fmt::format("band {} is not a Sentinel-5P L2 variable we know", band.name));
  std::optional<SourceBand> s;
  for (const char* name : var->names) {
    s = describe(netcdf_path(file, std::string("/PRODUCT/") + name));
    if (s) break;
  }
  if (!s)
    throw Error(ErrorCode::unprocessable,
                fmt::format("product {} ({}) has no data for band {}", p.name, p.product_type, band.name));
  auto lon = describe(netcdf_path(file, "/PRODUCT/longitude")), lat = describe(netcdf_path(file, "/PRODUCT/latitude"));
  if (!lon || !lat || lon->width != s->width || lon->height != s->height)
    throw Error(ErrorCode::unprocessable, fmt::format("product {} has no latitude/longitude arrays", p.name));

  std::string body;
  std::optional<SourceBand> qa;
  if (min_qa > 0) qa = describe(netcdf_path(file, "/PRODUCT/qa_value"));
  if (qa && qa->width == s->width && qa->height == s->height) {
    // value * (qa >= minQa ? 1 : NaN): the qa LUT works on the stored 0..100 integers (scale 0.01).
    SourceBand raw_qa = *qa;
    raw_qa.scale = 1;
    raw_qa.offset = 0;
    raw_qa.nodata.reset();
    const std::string lut = fmt::format("0:nan,{}:nan,{}:1,1000000:1", min_qa - 1, min_qa);
    body = fmt::format(
        "<VRTRasterBand dataType=\"Float32\" band=\"1\" "
        "subClass=\"VRTDerivedRasterBand\"><NoDataValue>nan</NoDataValue>"
        "<PixelFunctionType>mul</PixelFunctionType><SourceTransferType>Float32</SourceTransferType>{}{}"
        "</VRTRasterBand>",
        complex_source(*s), complex_source(raw_qa, lut));
  } else {
    body =
        fmt::format("<VRTRasterBand dataType=\"Float32\" band=\"1\"><NoDataValue>nan</NoDataValue>{}</VRTRasterBand>",
                    complex_source(*s));
  }
  return fmt::format("<VRTDataset rasterXSize=\"{}\" rasterYSize=\"{}\">{}{}</VRTDataset>", s->width, s->height,
                     geolocation_for(*lon, *lat), body);
}

}  // namespace

std::optional<BandSource> sentinel3_source(const catalog::Product& product, const catalog::Band& band,
                                           const SourceOptions& options, const storage::ObjectStore& objects) {
  if (band.asset.empty()) return std::nullopt;  // tie-point angles and meteo: not served yet
  const bool radiance_band = olci_band_number(band.asset) > 0;
  if (!radiance_band && band.asset != "qualityFlags") return std::nullopt;
  const std::string unit = options.unit.empty() ? band.unit : options.unit;
  if (radiance_band && unit != "REFLECTANCE" && unit != "RADIANCE")
    throw Error(ErrorCode::invalid_parameter,
                fmt::format("band {} has units REFLECTANCE and RADIANCE, not '{}'", band.name, unit), "units");

  static LruCache<OlciProduct> cache(1024);
  const std::string version = product_version(product);
  auto olci = cache.get_or_make(version, [&] { return build_olci(product, objects); });
  auto it = olci->band_of.find(band.asset);
  if (it == olci->band_of.end())
    throw Error(ErrorCode::unprocessable, fmt::format("product {} has no {}", product.name, band.asset));

  BandSource src;
  src.path = olci->xml;
  src.band = it->second;
  if (radiance_band && unit == "REFLECTANCE") {
    // reflectance = pi * L / (E0 * cos(SZA)): a gain of E0 * cos(SZA) / pi per sample.
    static LruCache<Calibration> calibrations(4096);
    src.calibration = calibrations.get_or_make(version + "|" + band.asset, [&] {
      Calibration c;
      c.power = false;
      c.gain = olci->mu;
      const double k = olci->e0.at(band.asset) / kPi;
      for (auto& v : c.gain.values) v = static_cast<float>(v * k);
      return c;
    });
  }
  return src;
}

std::optional<BandSource> sentinel5p_source(const catalog::Product& product, const catalog::Band& band,
                                            const SourceOptions& options, const storage::ObjectStore& objects) {
  const catalog::Asset* asset = find_asset(product, band.asset.empty() ? "netcdf" : band.asset);
  if (asset == nullptr)
    throw Error(ErrorCode::unprocessable, fmt::format("product {} has no NetCDF file", product.name));
  const int min_qa = std::clamp(options.min_qa.value_or(band.name == "NO2" ? 75 : 50), 0, 100);
  const std::string file = objects.vsi_path(product.bucket, product.key + "/" + asset->path);
  static LruCache<std::string> cache(4096);
  auto xml = cache.get_or_make(product_version(product) + "|" + band.name + "|" + std::to_string(min_qa),
                               [&] { return build_s5p(product, band, file, min_qa); });
  BandSource src;
  src.path = *xml;
  src.band = 1;
  return src;
}

}  // namespace ds::engine::detail
