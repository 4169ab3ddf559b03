#pragma once
// Reading source rasters onto an output grid: per-thread GDAL handles, the overview level that
// matches the output resolution, only the window the grid needs, and resampling from a control
// grid of exact coordinate transforms (bilinearly interpolated between control points, as GDAL's
// approximate transformer does) instead of a PROJ call per pixel.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/grid.hpp"

namespace ds::engine {

enum class Resampling { nearest, bilinear, bicubic };

// A value that varies smoothly over a source raster, sampled on a (possibly irregular) grid of
// full-resolution source pixel coordinates and interpolated bilinearly between samples: the
// Sentinel-1 calibration and noise vectors are such grids.
struct SourceLut {
  std::vector<double> rows;   // ascending source line coordinates of the sample rows
  std::vector<double> cols;   // ascending source pixel coordinates of the samples in each row
  std::vector<float> values;  // rows.size() * cols.size(), row-major
  // Bilinear interpolation, clamped at the edges.
  float at(double col, double row) const;
};

// Radiometric calibration applied to each sample where it is read, at its source coordinates:
// value = (dn^2 - noise) / gain^2 when `power` (Sentinel-1 LINEAR_POWER), else dn / gain.
struct Calibration {
  SourceLut gain;
  std::optional<SourceLut> noise;
  bool power = true;
};

// One band of a raster the engine can read: a GDAL-openable path (local path or VSI path from the
// object store, or a VRT the engine built) and a 1-based band index.
struct BandSource {
  std::string path;
  int band = 1;
  std::optional<double> nodata;                    // overrides the file's own nodata value
  std::shared_ptr<const Calibration> calibration;  // applied before resampling
};

// Where each output pixel falls in one source raster's georeferencing (its CRS, geotransform,
// GCPs or geolocation arrays): source pixel/line coordinates at full resolution, NaN where the
// transform fails. Computed once per source grid and reused for every band sharing it.
struct SourceCoords {
  int source_width = 0, source_height = 0;
  std::vector<float> x, y;  // per output pixel, row-major
  bool any_inside = false;  // some output pixel lands inside the source raster
  // What read_band derives from x and y (their footprint, the nearest sample of each pixel in the
  // window last read), kept for the next band read through these coordinates: the bands of one
  // raster share them. Filled on first use; reset it after changing x or y.
  struct Derived;
  mutable std::shared_ptr<Derived> derived;
};

// Computes the source coordinates of every output pixel centre for the raster at `path`, exactly
// at control points every `step` output pixels and interpolated between them. Throws ds::Error
// (internal) when the raster cannot be opened or has no georeferencing.
SourceCoords source_coords(const std::string& path, const Grid& grid, int step = 16);

// A key equal for rasters that share their georeferencing exactly (size, geotransform and CRS),
// so their SourceCoords can be shared: the 10 m bands of one Sentinel-2 tile. Rasters located by
// GCPs or geolocation arrays get their own path as key.
std::string georeferencing_key(const std::string& path);

// Reads one band onto the grid. For every output pixel where the source has data (inside the
// raster, not nodata, not NaN) writes the raw sample value into `out` and sets `valid` to 1;
// other pixels are left untouched when `overwrite` is false (mosaicking), or set to 0/valid 0.
// Returns the number of valid pixels written.
std::size_t read_band(const BandSource& source, const SourceCoords& coords, const Grid& grid, Resampling resampling,
                      std::span<float> out, std::span<std::uint8_t> valid, bool overwrite);

// Sets the GDAL block cache size (bytes), process-wide; call once at start.
void set_block_cache(std::size_t bytes);

// Drops the calling thread's cached dataset handles (tests, and after archive changes).
void clear_thread_datasets();

}  // namespace ds::engine
