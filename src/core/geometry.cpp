#include "core/geometry.hpp"

#include <geos_c.h>

#include <cstdarg>
#include <cstdio>

#include "core/error.hpp"

#include <fmt/format.h>

namespace ds {
namespace {

// GEOS reports errors through a callback; the last message of this thread is kept for our errors.
thread_local std::string t_geos_message;

void geos_message(const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  t_geos_message = buf;
}

struct Context {
  GEOSContextHandle_t handle;
  Context() : handle(GEOS_init_r()) {
    GEOSContext_setErrorHandler_r(handle, geos_message);
    GEOSContext_setNoticeHandler_r(handle, nullptr);
  }
  ~Context() { GEOS_finish_r(handle); }
};

GEOSContextHandle_t ctx() {
  thread_local Context c;
  return c.handle;
}

}  // namespace

struct Geometry::Impl {
  explicit Impl(GEOSGeometry* g) : geom(g) {}
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  // Geometries are used on the thread that made them (per request); the context is per thread.
  ~Impl() { GEOSGeom_destroy_r(ctx(), geom); }
  GEOSGeometry* geom;
};

Geometry::Geometry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Geometry::Geometry(Geometry&&) noexcept = default;
Geometry& Geometry::operator=(Geometry&&) noexcept = default;
Geometry::~Geometry() = default;

Geometry Geometry::from_wkt(std::string_view wkt, const std::string& parameter) {
  t_geos_message.clear();
  GEOSWKTReader* reader = GEOSWKTReader_create_r(ctx());
  GEOSGeometry* g = GEOSWKTReader_read_r(ctx(), reader, std::string(wkt).c_str());
  GEOSWKTReader_destroy_r(ctx(), reader);
  if (!g) {
    throw Error(ErrorCode::invalid_parameter,
                "invalid geometry: " + (t_geos_message.empty() ? "cannot parse WKT" : t_geos_message), parameter);
  }
  return validated(g, parameter);
}

Geometry Geometry::validated(GEOSGeometry* g, const std::string& parameter) {
  auto impl = std::make_unique<Impl>(g);
  if (GEOSisEmpty_r(ctx(), g) == 1) throw Error(ErrorCode::invalid_parameter, "invalid geometry: empty", parameter);
  if (GEOSisValid_r(ctx(), g) != 1) {
    char* reason = GEOSisValidReason_r(ctx(), g);
    std::string why = reason ? reason : "invalid";
    GEOSFree_r(ctx(), reason);
    throw Error(ErrorCode::invalid_parameter, "invalid geometry: " + why, parameter);
  }
  return Geometry(std::move(impl));
}

Geometry Geometry::from_geojson(std::string_view geojson, const std::string& parameter) {
  t_geos_message.clear();
  GEOSGeoJSONReader* reader = GEOSGeoJSONReader_create_r(ctx());
  GEOSGeometry* g = GEOSGeoJSONReader_readGeometry_r(ctx(), reader, std::string(geojson).c_str());
  GEOSGeoJSONReader_destroy_r(ctx(), reader);
  if (!g) {
    throw Error(ErrorCode::invalid_parameter,
                "invalid geometry: " + (t_geos_message.empty() ? "cannot parse GeoJSON" : t_geos_message), parameter);
  }
  return validated(g, parameter);
}

Geometry Geometry::from_bbox(double w, double s, double e, double n, const std::string& parameter) {
  auto lon = [](double v) { return v >= -180.0 && v <= 180.0; };
  auto lat = [](double v) { return v >= -90.0 && v <= 90.0; };
  if (!lon(w) || !lon(e) || !lat(s) || !lat(n)) {
    throw Error(ErrorCode::invalid_parameter,
                "bbox values must be longitudes in [-180, 180] and latitudes in [-90, 90]", parameter);
  }
  if (s > n) throw Error(ErrorCode::invalid_parameter, "bbox south must not be greater than north", parameter);
  auto box = [](double x0, double y0, double x1, double y1) {
    return fmt::format("(({0} {1},{2} {1},{2} {3},{0} {3},{0} {1}))", x0, y0, x1, y1);
  };
  // Degenerate boxes (a point or a line) are made a hair wide so that they remain polygons.
  const double eps = 1e-9;
  if (n - s < eps) n = s + eps;
  if (w <= e) {
    if (e - w < eps) e = w + eps;
    return from_wkt("POLYGON" + box(w, s, e, n), parameter);
  }
  return from_wkt("MULTIPOLYGON(" + box(w, s, 180, n) + "," + box(-180, s, e, n) + ")", parameter);
}

std::string Geometry::to_geojson() const {
  GEOSGeoJSONWriter* writer = GEOSGeoJSONWriter_create_r(ctx());
  char* text = GEOSGeoJSONWriter_writeGeometry_r(ctx(), writer, impl_->geom, -1);
  GEOSGeoJSONWriter_destroy_r(ctx(), writer);
  std::string out = text ? text : "null";
  GEOSFree_r(ctx(), text);
  return out;
}

Geometry Geometry::from_wkb(std::string_view wkb) {
  GEOSWKBReader* reader = GEOSWKBReader_create_r(ctx());
  GEOSGeometry* g = GEOSWKBReader_read_r(ctx(), reader, reinterpret_cast<const unsigned char*>(wkb.data()), wkb.size());
  GEOSWKBReader_destroy_r(ctx(), reader);
  if (!g) throw Error(ErrorCode::internal, "corrupt stored geometry: " + t_geos_message);
  return Geometry(std::make_unique<Impl>(g));
}

std::string Geometry::to_wkb() const {
  GEOSWKBWriter* writer = GEOSWKBWriter_create_r(ctx());
  std::size_t size = 0;
  unsigned char* bytes = GEOSWKBWriter_write_r(ctx(), writer, impl_->geom, &size);
  GEOSWKBWriter_destroy_r(ctx(), writer);
  std::string out(reinterpret_cast<const char*>(bytes), size);
  GEOSFree_r(ctx(), bytes);
  return out;
}

std::string Geometry::to_wkt() const {
  GEOSWKTWriter* writer = GEOSWKTWriter_create_r(ctx());
  GEOSWKTWriter_setTrim_r(ctx(), writer, 1);
  char* text = GEOSWKTWriter_write_r(ctx(), writer, impl_->geom);
  GEOSWKTWriter_destroy_r(ctx(), writer);
  std::string out(text);
  GEOSFree_r(ctx(), text);
  return out;
}

Envelope Geometry::envelope() const {
  Envelope e;
  GEOSGeom_getXMin_r(ctx(), impl_->geom, &e.min_x);
  GEOSGeom_getYMin_r(ctx(), impl_->geom, &e.min_y);
  GEOSGeom_getXMax_r(ctx(), impl_->geom, &e.max_x);
  GEOSGeom_getYMax_r(ctx(), impl_->geom, &e.max_y);
  return e;
}

bool Geometry::test(SpatialPredicate predicate, const Geometry& other) const {
  char r = 0;
  switch (predicate) {
    case SpatialPredicate::intersects:
      r = GEOSIntersects_r(ctx(), impl_->geom, other.impl_->geom);
      break;
    case SpatialPredicate::within:
      r = GEOSWithin_r(ctx(), impl_->geom, other.impl_->geom);
      break;
    case SpatialPredicate::contains:
      r = GEOSContains_r(ctx(), impl_->geom, other.impl_->geom);
      break;
  }
  if (r == 2) throw Error(ErrorCode::internal, "spatial predicate failed: " + t_geos_message);
  return r == 1;
}

}  // namespace ds
