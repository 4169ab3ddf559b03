#pragma once
// Geometry through GEOS (reentrant C API, one context per thread): WKT/WKB parsing with
// validation, envelopes, and the spatial predicates the catalogue needs. Coordinates are WGS84
// lon/lat wherever the catalogue is concerned.

#include <memory>
#include <string>
#include <string_view>

struct GEOSGeom_t;

namespace ds {

struct Envelope {
  double min_x = 0, min_y = 0, max_x = 0, max_y = 0;
};

enum class SpatialPredicate { intersects, within, contains };

class Geometry {
 public:
  // Parses WKT. Throws ds::Error(invalid_parameter, parameter) for a syntax error or an invalid
  // geometry (self-intersecting polygon, unclosed ring...), naming GEOS's reason.
  static Geometry from_wkt(std::string_view wkt, const std::string& parameter = "geometry");
  // Parses a GeoJSON geometry object (text). Same validation and errors as from_wkt.
  static Geometry from_geojson(std::string_view geojson, const std::string& parameter = "geometry");
  // The box west,south,east,north as a polygon; west > east crosses the antimeridian and gives a
  // two-part MULTIPOLYGON. Throws ds::Error(invalid_parameter) for south > north or values
  // outside lon/lat ranges.
  static Geometry from_bbox(double west, double south, double east, double north,
                            const std::string& parameter = "bbox");
  // Parses WKB written by to_wkb(). Throws ds::Error(internal) on corrupt bytes.
  static Geometry from_wkb(std::string_view wkb);

  Geometry(Geometry&&) noexcept;
  Geometry& operator=(Geometry&&) noexcept;
  ~Geometry();

  std::string to_wkb() const;
  std::string to_wkt() const;
  std::string to_geojson() const;  // a GeoJSON geometry object, as text
  Envelope envelope() const;
  // `this` <predicate> `other`, e.g. footprint.test(within, area).
  bool test(SpatialPredicate predicate, const Geometry& other) const;

 private:
  struct Impl;
  explicit Geometry(std::unique_ptr<Impl> impl);
  // Takes ownership of a freshly parsed geometry and refuses empty or invalid ones.
  static Geometry validated(GEOSGeom_t* g, const std::string& parameter);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ds
