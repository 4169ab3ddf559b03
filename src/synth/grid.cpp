#include "synth/grid.hpp"

#include <ogr_spatialref.h>

#include <memory>

#include "core/error.hpp"

namespace ds::synth {
namespace {

struct TransformDeleter {
  void operator()(OGRCoordinateTransformation* t) const { OGRCoordinateTransformation::DestroyCT(t); }
};

std::unique_ptr<OGRCoordinateTransformation, TransformDeleter> make_transform(int from, int to) {
  OGRSpatialReference a, b;
  a.importFromEPSG(from);
  b.importFromEPSG(to);
  a.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  b.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  std::unique_ptr<OGRCoordinateTransformation, TransformDeleter> t(OGRCreateCoordinateTransformation(&a, &b));
  if (!t)
    throw Error(ErrorCode::internal,
                "no transformation from EPSG:" + std::to_string(from) + " to EPSG:" + std::to_string(to));
  return t;
}

}  // namespace

void transform_point(int from_epsg, int to_epsg, double& x, double& y) {
  if (from_epsg == to_epsg) return;
  ensure_gdal();
  auto t = make_transform(from_epsg, to_epsg);
  if (!t->Transform(1, &x, &y)) throw Error(ErrorCode::internal, "coordinate transformation failed");
}

LonLatGrid::LonLatGrid(const GridSpec& grid, int step) : grid_(grid), step_(step) {
  ensure_gdal();
  nx_ = grid.width / step + 2;
  ny_ = grid.height / step + 2;
  lon_.resize(static_cast<std::size_t>(nx_) * ny_);
  lat_.resize(lon_.size());
  for (int j = 0; j < ny_; ++j) {
    for (int i = 0; i < nx_; ++i) {
      const std::size_t k = static_cast<std::size_t>(j) * nx_ + i;
      lon_[k] = grid.ulx + (i * step + 0.5) * grid.res_x;
      lat_[k] = grid.uly - (j * step + 0.5) * grid.res_y;
    }
  }
  if (grid.epsg != 4326) {
    auto t = make_transform(grid.epsg, 4326);
    if (!t->Transform(static_cast<int>(lon_.size()), lon_.data(), lat_.data())) {
      throw Error(ErrorCode::internal, "cannot compute lon/lat of grid");
    }
  }
}

void LonLatGrid::lonlat(int col, int row, double& lon, double& lat) const {
  const double fx = static_cast<double>(col) / step_, fy = static_cast<double>(row) / step_;
  const int i = std::min(static_cast<int>(fx), nx_ - 2), j = std::min(static_cast<int>(fy), ny_ - 2);
  const double tx = fx - i, ty = fy - j;
  const std::size_t k = static_cast<std::size_t>(j) * nx_ + i;
  auto lerp = [&](const std::vector<double>& v) {
    return (v[k] * (1 - tx) + v[k + 1] * tx) * (1 - ty) + (v[k + nx_] * (1 - tx) + v[k + nx_ + 1] * tx) * ty;
  };
  lon = lerp(lon_);
  lat = lerp(lat_);
}

}  // namespace ds::synth
