#pragma once
// GDAL helpers for the generators: in-memory datasets from our arrays, then written as COG,
// JPEG 2000 (Sentinel-2 style), GeoTIFF or JPEG. Every GDAL failure becomes a ds::Error naming
// the file and the operation.

#include <gdal_priv.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace ds::synth {

struct GdalDatasetCloser {
  void operator()(GDALDataset* ds) const { GDALClose(ds); }
};
using DatasetPtr = std::unique_ptr<GDALDataset, GdalDatasetCloser>;

// Registers GDAL drivers once (thread-safe).
void ensure_gdal();

// A north-up grid: top-left corner, pixel size, size, and the CRS as an EPSG code.
struct GridSpec {
  int epsg = 4326;
  double ulx = 0, uly = 0, res_x = 1, res_y = 1;  // res_y positive; rows go south
  int width = 0, height = 0;
  std::array<double, 6> geotransform() const { return {ulx, res_x, 0, uly, 0, -res_y}; }
};

// In-memory dataset with `bands` bands of `type`, georeferenced by `grid`.
DatasetPtr make_mem(const GridSpec& grid, int bands, GDALDataType type);
// Writes one band from a buffer of the matching C type.
void write_band(GDALDataset& ds, int band, const void* data, GDALDataType type);

// Sentinel-2-like JPEG 2000: lossless (15-bit for reflectances), GMLJP2, tiled.
void write_jp2(GDALDataset& src, const std::filesystem::path& path, int nbits, int block, bool lossless = true);
// Cloud-optimised GeoTIFF (DEFLATE, with overviews).
void write_cog(GDALDataset& src, const std::filesystem::path& path, const std::vector<std::string>& options = {});
// JPEG (quicklooks).
void write_jpeg(GDALDataset& src, const std::filesystem::path& path, int quality = 85);

}  // namespace ds::synth
