#pragma once
// Fast lon/lat for every pixel of a projected grid: the exact PROJ transform is computed on a
// coarse lattice of control points and interpolated bilinearly in between (exact transforms per
// pixel cost ~300 ns each; interpolation error is far below a pixel for 64-pixel cells).

#include <vector>

#include "synth/raster.hpp"

namespace ds::synth {

class LonLatGrid {
 public:
  // Throws ds::Error if PROJ cannot transform from grid.epsg to WGS84.
  explicit LonLatGrid(const GridSpec& grid, int step = 64);
  // Lon/lat of the centre of pixel (col, row).
  void lonlat(int col, int row, double& lon, double& lat) const;

 private:
  GridSpec grid_;
  int step_;
  int nx_, ny_;
  std::vector<double> lon_, lat_;
};

// Transforms a point between EPSG codes (x=easting/lon, y=northing/lat, traditional GIS order).
void transform_point(int from_epsg, int to_epsg, double& x, double& y);

}  // namespace ds::synth
