// Sentinel-5P TROPOMI Level-2 NetCDF: our products are a folder <name> holding <name>.nc. Read
// through GDAL's multidimensional API: global attributes (time coverage, orbit, versions, bounds)
// and the METADATA group (or, as GDAL exposes for some files, its flattened *_METADATA attributes).

#include <algorithm>
#include <cmath>
#include <regex>

#include <gdal_priv.h>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/geometry.hpp"
#include "ingest/readers.hpp"
#include "ingest/support.hpp"

namespace ds::ingest {
namespace {

using namespace detail;

struct DatasetCloser {
  void operator()(GDALDataset* ds) const { GDALClose(GDALDataset::ToHandle(ds)); }
};

std::optional<std::string> attr_string(const std::shared_ptr<GDALGroup>& group, const char* name) {
  auto attr = group->GetAttribute(name);
  if (!attr) return std::nullopt;
  const char* s = attr->ReadAsString();
  if (s == nullptr) return std::nullopt;
  return std::string(s);
}

std::optional<double> attr_double(const std::shared_ptr<GDALGroup>& group, const char* name) {
  auto attr = group->GetAttribute(name);
  if (!attr) return std::nullopt;
  return attr->ReadAsDouble();
}

// The perimeter of the (time, scanline, ground_pixel) latitude/longitude grids, at most ~200
// points, as WKT; nullopt when the grids are missing or the outline is not a valid polygon.
std::optional<std::string> swath_outline(const std::shared_ptr<GDALGroup>& root, const std::string& file) {
  auto product = root->OpenGroup("PRODUCT");
  if (!product) return std::nullopt;
  auto lat = product->OpenMDArray("latitude");
  auto lon = product->OpenMDArray("longitude");
  if (!lat || !lon || lat->GetDimensionCount() != 3 || lon->GetDimensionCount() != 3) return std::nullopt;
  const auto& dims = lat->GetDimensions();
  const std::size_t rows = dims[1]->GetSize(), cols = dims[2]->GetSize();
  if (rows < 2 || cols < 2 || rows * cols > 50'000'000 || lon->GetTotalElementsCount() != rows * cols) {
    return std::nullopt;
  }
  std::vector<float> la(rows * cols), lo(rows * cols);
  const GUInt64 start[3] = {0, 0, 0};
  const size_t count[3] = {1, rows, cols};
  const auto type = GDALExtendedDataType::Create(GDT_Float32);
  if (!lat->Read(start, count, nullptr, nullptr, type, la.data()) ||
      !lon->Read(start, count, nullptr, nullptr, type, lo.data())) {
    return std::nullopt;
  }
  std::vector<std::pair<double, double>> ring;
  const std::size_t step_r = std::max<std::size_t>(1, rows / 50), step_c = std::max<std::size_t>(1, cols / 50);
  auto at = [&](std::size_t r, std::size_t c) { ring.emplace_back(lo[r * cols + c], la[r * cols + c]); };
  for (std::size_t c = 0; c < cols - 1; c += step_c) at(0, c);
  for (std::size_t r = 0; r < rows - 1; r += step_r) at(r, cols - 1);
  for (std::size_t c = cols - 1; c > 0; c = c > step_c ? c - step_c : 0) at(rows - 1, c);
  for (std::size_t r = rows - 1; r > 0; r = r > step_r ? r - step_r : 0) at(r, 0);
  for (const auto& [x, y] : ring) {
    if (!std::isfinite(x) || !std::isfinite(y) || std::abs(x) > 180 || std::abs(y) > 90) return std::nullopt;
  }
  try {
    auto wkt = footprint_wkt(ring, file);
    Geometry::from_wkt(wkt, "footprint");
    return wkt;
  } catch (const Error&) {
    return std::nullopt;
  }
}

class S5pNetcdfReader final : public ProductReader {
 public:
  std::string id() const override { return "reader.s5p-netcdf"; }

  bool accepts(std::string_view name) const override {
    static const std::regex pattern(
        R"(^S5P_(OFFL|NRTI|RPRO)_L[12][A-Z0-9_]{8}_\d{8}T\d{6}_\d{8}T\d{6}_\d{5}_\d{2}_\d{6}_\d{8}T\d{6}(\.nc)?$)");
    return std::regex_match(name.begin(), name.end(), pattern);
  }

  catalog::Product read(const storage::ObjectStore& store, const std::string& bucket,
                        const std::string& key) const override {
    auto files = list_product(store, bucket, key);
    std::string base = last_segment(key);
    if (base.size() > 3 && base.compare(base.size() - 3, 3, ".nc") == 0) base.resize(base.size() - 3);
    const std::string nc_rel = base + ".nc";
    const std::string nc_key = key + "/" + nc_rel;
    if (files.count(nc_rel) == 0) fail(nc_key, "file is missing (no NetCDF file in the product folder)");

    std::unique_ptr<GDALDataset, DatasetCloser> ds;
    {
      GDALAllRegister();  // idempotent; the readers may run before anything else touched GDAL
      CPLPushErrorHandler(CPLQuietErrorHandler);
      ds.reset(GDALDataset::Open(store.vsi_path(bucket, nc_key).c_str(), GDAL_OF_MULTIDIM_RASTER | GDAL_OF_READONLY));
      CPLPopErrorHandler();
    }
    if (!ds) fail(nc_key, "cannot be opened as NetCDF");
    auto root = ds->GetRootGroup();
    if (!root) fail(nc_key, "has no root group");
    auto metadata = root->OpenGroup("METADATA");
    if (!metadata && !root->GetAttribute("GRANULE_DESCRIPTION")) fail(nc_key, "missing METADATA group");

    catalog::Product p;
    p.collection = "SENTINEL-5P";
    p.product_type = base.substr(9, 10);  // "L2__NO2___"
    auto start = attr_string(root, "time_coverage_start");
    auto end = attr_string(root, "time_coverage_end");
    if (!start || !end) fail(nc_key, "missing global attribute time_coverage_start/time_coverage_end");
    p.sensing_start = require_time(*start, nc_key, "time_coverage_start");
    p.sensing_end = require_time(*end, nc_key, "time_coverage_end");
    if (auto created = attr_string(root, "date_created")) p.origin = parse_time(*created);

    // The footprint is the outline of the swath's geolocation grid (/PRODUCT/latitude and
    // longitude); the geospatial_* bounds are the fallback when the grid is absent or its outline is
    // not a valid polygon (a real orbit wrapping over a pole).
    if (auto outline = swath_outline(root, nc_key)) {
      p.footprint_wkt = *outline;
    } else {
      auto w = attr_double(root, "geospatial_lon_min"), e = attr_double(root, "geospatial_lon_max");
      auto s = attr_double(root, "geospatial_lat_min"), n = attr_double(root, "geospatial_lat_max");
      if (!w || !e || !s || !n) fail(nc_key, "missing /PRODUCT/latitude+longitude and geospatial_lat/lon_min/max");
      if (*w <= *e) {
        p.footprint_wkt = footprint_wkt({{*w, *s}, {*e, *s}, {*e, *n}, {*w, *n}}, nc_key);
      } else {  // bounds written across the antimeridian
        p.footprint_wkt = footprint_wkt({{*w, *s}, {*e + 360.0, *s}, {*e + 360.0, *n}, {*w, *n}}, nc_key);
      }
    }

    Attributes a;
    a.str("productType", p.product_type);
    a.str("processingMode", base.substr(4, 4));
    a.str("processingLevel", base.substr(9, 2));
    a.str("platformShortName", "SENTINEL-5P");
    a.str("platformSerialIdentifier", "5P");
    a.str("instrumentShortName", "TROPOMI");
    a.str("identifier", attr_string(root, "id").value_or(base));
    a.str("baselineCollection", base.substr(58, 2));
    a.str("processingBaseline", base.substr(61, 6));
    a.str("processorVersion", attr_string(root, "processor_version"));
    a.str("doi", attr_string(root, "identifier_product_doi"));
    if (auto orbit = attr_double(root, "orbit")) a.integer("orbitNumber", static_cast<std::int64_t>(*orbit));
    a.time("beginningDateTime", p.sensing_start);
    a.time("endingDateTime", p.sensing_end);
    a.time("processingDate", p.origin);
    p.attributes = a.take();

    p.assets.push_back({"netcdf", nc_rel, kMediaNetcdf, {"data"}, {}, 5500.0, 0, base});
    finish_product(p, bucket, key, files);
    return p;
  }
};

}  // namespace

std::unique_ptr<ProductReader> make_s5p_netcdf_reader() { return std::make_unique<S5pNetcdfReader>(); }

}  // namespace ds::ingest
