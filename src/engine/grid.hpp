#pragma once
// The output grid of a processing request: a CRS, bounds in that CRS and a pixel size, plus the
// optional geometry that limits where data is shown (dataMask 0 outside it).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ds::engine {

// A coordinate reference system as requests name it. Coordinates are always in the traditional
// GIS order (easting/longitude first), as Sentinel Hub and GeoJSON use them.
struct Crs {
  int epsg = 4326;         // 4326 for CRS84
  std::string wkt;         // WKT2 of the CRS
  bool geographic = true;  // degrees
};

// Accepts "http://www.opengis.net/def/crs/EPSG/0/<code>", ".../OGC/1.3/CRS84", "EPSG:<code>",
// "urn:ogc:def:crs:EPSG::<code>" and bare codes. Throws ds::Error(invalid_parameter, parameter)
// for anything else or an unknown code.
Crs parse_crs(std::string_view text, const std::string& parameter = "crs");

// The opengis URL of a CRS ("http://www.opengis.net/def/crs/EPSG/0/32633").
std::string crs_url(const Crs& crs);

// Output pixels are limited to this many per side (Sentinel Hub's synchronous limit).
inline constexpr int kMaxGridSide = 2500;

struct Grid {
  Crs crs;
  double min_x = 0, min_y = 0, max_x = 0, max_y = 0;  // in crs units
  int width = 0, height = 0;
  // Optional area of interest in crs coordinates (GeoJSON Polygon or MultiPolygon).
  std::optional<nlohmann::json> geometry;

  // GDAL order: x0, dx, 0, y0, 0, dy (dy negative: row 0 is the northern edge).
  std::array<double, 6> transform() const;
  std::size_t pixels() const { return static_cast<std::size_t>(width) * height; }
  // The bounds as a WGS84 lon/lat polygon (WKT), densified along the edges, for the catalogue.
  std::string wgs84_wkt() const;
  // 1 for pixels whose centre lies inside `geometry` (all 1 when there is none).
  std::vector<std::uint8_t> geometry_mask() const;
};

// How the request sizes the grid: pixels, or a resolution in CRS units.
struct GridSize {
  std::optional<int> width, height;
  std::optional<double> resx, resy;
};

// Builds and validates a grid from an optional bbox [minx,miny,maxx,maxy] and/or a geometry
// (GeoJSON, in crs) and a size. Without a bbox the geometry's envelope is used. Throws
// ds::Error(invalid_parameter) naming the offending field (bounds, width, resx...).
Grid make_grid(const Crs& crs, const std::optional<std::array<double, 4>>& bbox,
               const std::optional<nlohmann::json>& geometry, const GridSize& size);

}  // namespace ds::engine
