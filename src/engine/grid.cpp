#include "engine/grid.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include <fmt/format.h>
#include <gdal_alg.h>
#include <gdal_priv.h>
#include <ogr_api.h>
#include <ogr_geometry.h>
#include <ogr_spatialref.h>

#include "core/error.hpp"

namespace ds::engine {

namespace {

std::optional<int> parse_code(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

Error bad_crs(std::string_view text, const std::string& parameter) {
  return Error(ErrorCode::invalid_parameter,
               fmt::format("unsupported CRS '{}': use http://www.opengis.net/def/crs/EPSG/0/<code> or "
                           "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                           text),
               parameter);
}

}  // namespace

Crs parse_crs(std::string_view text, const std::string& parameter) {
  std::string_view t = text;
  while (!t.empty() && t.back() == '/') t.remove_suffix(1);
  std::optional<int> code;
  for (std::string_view prefix : {"http://www.opengis.net/def/crs/EPSG/0/", "https://www.opengis.net/def/crs/EPSG/0/",
                                  "urn:ogc:def:crs:EPSG::", "EPSG:", "epsg:"}) {
    if (t.substr(0, prefix.size()) == prefix) code = parse_code(t.substr(prefix.size()));
  }
  if (!code) {
    if (t == "http://www.opengis.net/def/crs/OGC/1.3/CRS84" || t == "https://www.opengis.net/def/crs/OGC/1.3/CRS84" ||
        t == "urn:ogc:def:crs:OGC:1.3:CRS84" || t == "CRS84") {
      code = 4326;
    } else {
      code = parse_code(t);
    }
  }
  if (!code) throw bad_crs(text, parameter);
  OGRSpatialReference srs;
  CPLPushErrorHandler(CPLQuietErrorHandler);
  const OGRErr imported = srs.importFromEPSG(*code);
  CPLPopErrorHandler();
  if (imported != OGRERR_NONE) throw bad_crs(text, parameter);
  Crs crs;
  crs.epsg = *code;
  crs.geographic = srs.IsGeographic() != 0;
  char* wkt = nullptr;
  const char* options[] = {"FORMAT=WKT2_2018", nullptr};
  srs.exportToWkt(&wkt, options);
  crs.wkt = wkt ? wkt : "";
  CPLFree(wkt);
  return crs;
}

std::string crs_url(const Crs& crs) { return fmt::format("http://www.opengis.net/def/crs/EPSG/0/{}", crs.epsg); }

std::array<double, 6> Grid::transform() const {
  return {min_x, (max_x - min_x) / width, 0.0, max_y, 0.0, -(max_y - min_y) / height};
}

std::string Grid::wgs84_wkt() const {
  OGRSpatialReference src;
  src.importFromWkt(crs.wkt.c_str());
  src.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  OGRSpatialReference dst;
  dst.importFromEPSG(4326);
  dst.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(&src, &dst));
  if (!ct) throw Error(ErrorCode::invalid_parameter, "cannot transform the bounds to WGS84", "bounds");
  // 16 points per edge, so a UTM box maps to a faithful lon/lat outline.
  constexpr int kSteps = 16;
  std::vector<double> xs, ys;
  auto edge = [&](double x0, double y0, double x1, double y1) {
    for (int i = 0; i < kSteps; ++i) {
      xs.push_back(x0 + (x1 - x0) * i / kSteps);
      ys.push_back(y0 + (y1 - y0) * i / kSteps);
    }
  };
  edge(min_x, min_y, max_x, min_y);
  edge(max_x, min_y, max_x, max_y);
  edge(max_x, max_y, min_x, max_y);
  edge(min_x, max_y, min_x, min_y);
  std::vector<int> ok(xs.size());
  ct->Transform(static_cast<int>(xs.size()), xs.data(), ys.data(), nullptr, ok.data());
  std::string wkt = "POLYGON((";
  int used = 0;
  std::string first;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (!ok[i] || !std::isfinite(xs[i]) || !std::isfinite(ys[i])) continue;
    std::string p = fmt::format("{:.9f} {:.9f}", std::clamp(xs[i], -180.0, 180.0), std::clamp(ys[i], -90.0, 90.0));
    if (used == 0) first = p;
    wkt += (used++ ? "," : "") + p;
  }
  if (used < 3) throw Error(ErrorCode::invalid_parameter, "the bounds are outside the CRS's area of use", "bounds");
  wkt += "," + first + "))";
  return wkt;
}

std::vector<std::uint8_t> Grid::geometry_mask() const {
  std::vector<std::uint8_t> mask(pixels(), geometry ? 0 : 1);
  if (!geometry) return mask;
  OGRGeometryH geom = OGR_G_CreateGeometryFromJson(geometry->dump().c_str());
  if (!geom) throw Error(ErrorCode::invalid_parameter, "invalid GeoJSON geometry", "bounds.geometry");
  if (GDALGetDriverCount() == 0) GDALAllRegister();
  GDALDriverH mem = GDALGetDriverByName("MEM");
  GDALDatasetH ds = GDALCreate(mem, "", width, height, 0, GDT_Byte, nullptr);
  char** options = nullptr;
  options = CSLSetNameValue(options, "DATAPOINTER", fmt::format("{}", static_cast<void*>(mask.data())).c_str());
  GDALAddBand(ds, GDT_Byte, options);
  CSLDestroy(options);
  auto gt = transform();
  GDALSetGeoTransform(ds, gt.data());
  int band = 1;
  double burn = 1;
  CPLErr err = GDALRasterizeGeometries(ds, 1, &band, 1, &geom, nullptr, nullptr, &burn, nullptr, nullptr, nullptr);
  GDALClose(ds);
  OGR_G_DestroyGeometry(geom);
  if (err != CE_None) throw Error(ErrorCode::invalid_parameter, "cannot rasterize the geometry", "bounds.geometry");
  return mask;
}

namespace {

// Envelope of a GeoJSON Polygon/MultiPolygon; throws for anything else.
std::array<double, 4> envelope(const nlohmann::json& g) {
  if (!g.is_object() || !g.contains("type") || !g.contains("coordinates"))
    throw Error(ErrorCode::invalid_parameter, "geometry must be a GeoJSON Polygon or MultiPolygon", "bounds.geometry");
  const std::string type = g["type"].is_string() ? g["type"].get<std::string>() : "";
  if (type != "Polygon" && type != "MultiPolygon")
    throw Error(ErrorCode::invalid_parameter, "geometry must be a GeoJSON Polygon or MultiPolygon, not " + type,
                "bounds.geometry");
  OGRGeometryH geom = OGR_G_CreateGeometryFromJson(g.dump().c_str());
  if (!geom || OGR_G_IsEmpty(geom)) {
    if (geom) OGR_G_DestroyGeometry(geom);
    throw Error(ErrorCode::invalid_parameter, "invalid or empty GeoJSON geometry", "bounds.geometry");
  }
  OGREnvelope env;
  OGR_G_GetEnvelope(geom, &env);
  OGR_G_DestroyGeometry(geom);
  return {env.MinX, env.MinY, env.MaxX, env.MaxY};
}

}  // namespace

Grid make_grid(const Crs& crs, const std::optional<std::array<double, 4>>& bbox,
               const std::optional<nlohmann::json>& geometry, const GridSize& size) {
  Grid g;
  g.crs = crs;
  std::array<double, 4> b{};
  if (bbox) {
    b = *bbox;
  } else if (geometry) {
    b = envelope(*geometry);
  } else {
    throw Error(ErrorCode::missing_parameter, "input.bounds needs a bbox or a geometry", "bounds");
  }
  if (geometry) {
    envelope(*geometry);  // validates
    g.geometry = *geometry;
  }
  for (double v : b)
    if (!std::isfinite(v))
      throw Error(ErrorCode::invalid_parameter, "bbox values must be finite numbers", "bounds.bbox");
  if (!(b[0] < b[2]) || !(b[1] < b[3]))
    throw Error(ErrorCode::invalid_parameter,
                fmt::format("bbox [{}, {}, {}, {}] is empty: minX must be below maxX and minY below maxY", b[0], b[1],
                            b[2], b[3]),
                "bounds.bbox");
  if (crs.geographic && (b[0] < -180.0001 || b[2] > 180.0001 || b[1] < -90.0001 || b[3] > 90.0001))
    throw Error(ErrorCode::invalid_parameter, "bbox is outside [-180, -90, 180, 90] for a geographic CRS",
                "bounds.bbox");
  g.min_x = b[0];
  g.min_y = b[1];
  g.max_x = b[2];
  g.max_y = b[3];
  const bool pixels = size.width || size.height;
  const bool res = size.resx || size.resy;
  if (pixels && res)
    throw Error(ErrorCode::invalid_parameter, "give either width/height or resx/resy, not both", "output");
  if (res) {
    if (!size.resx || !size.resy || !(*size.resx > 0) || !(*size.resy > 0))
      throw Error(ErrorCode::invalid_parameter, "resx and resy must both be positive", "output.resx");
    g.width = static_cast<int>(std::llround(std::min((b[2] - b[0]) / *size.resx, 1e9)));
    g.height = static_cast<int>(std::llround(std::min((b[3] - b[1]) / *size.resy, 1e9)));
    g.width = std::max(g.width, 1);
    g.height = std::max(g.height, 1);
  } else if (pixels) {
    // One side given: keep the bbox's aspect, as Sentinel Hub does.
    double aspect = (b[3] - b[1]) / (b[2] - b[0]);
    if (crs.geographic) aspect /= std::cos((b[1] + b[3]) / 2 * M_PI / 180);
    g.width = size.width ? *size.width : static_cast<int>(std::llround(*size.height / aspect));
    g.height = size.height ? *size.height : static_cast<int>(std::llround(*size.width * aspect));
  } else {
    g.width = g.height = 256;
  }
  for (auto [value, name] : {std::pair{g.width, "output.width"}, std::pair{g.height, "output.height"}}) {
    if (value < 1 || value > kMaxGridSide)
      throw Error(ErrorCode::invalid_parameter,
                  fmt::format("{} is {} px: it must be between 1 and {}", name, value, kMaxGridSide), name);
  }
  return g;
}

}  // namespace ds::engine
