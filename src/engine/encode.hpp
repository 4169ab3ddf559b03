#pragma once
// Output encoders of the raster engine: PNG, JPEG, GeoTIFF (COG layout) and tar archives of several
// outputs. Every encoder is deterministic (the same Image gives the same bytes: no timestamps, no
// random names in the output) and thread-safe (no shared state between calls).
//
// Combinations a format cannot carry (JPEG with FLOAT32, PNG with 5 bands...) throw
// ds::Error(invalid_parameter) with a message meant for the user; an Image whose buffer does not
// match its shape is a programming error and throws ds::Error(internal).

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ds::engine {

enum class PixelType { uint8, uint16, int8, int16, float32 };

// Bytes per sample (1, 2 or 4).
std::size_t pixel_size(PixelType type);
// "UINT8", "UINT16", "INT8", "INT16", "FLOAT32" (the evalscript sampleType names).
std::string_view to_string(PixelType type);

// A raster in memory: pixel-interleaved samples in host byte order, row-major, top row first.
struct Image {
  int width = 0, height = 0, bands = 0;
  PixelType type = PixelType::uint8;
  std::vector<std::byte> data;  // width * height * bands * pixel_size(type) bytes
  // Georeference, used by encode_geotiff only: the CRS as WKT, "EPSG:<code>" or an OGC CRS URI
  // (never a file name or URL that would be fetched), and a GDAL geotransform
  // (origin x, pixel width, row rotation, origin y, column rotation, pixel height).
  std::string crs_wkt;
  std::array<double, 6> transform{};
  bool georeferenced = false;
  std::optional<double> nodata;  // GeoTIFF GDAL_NODATA tag; ignored by PNG and JPEG
};

struct PngOptions {
  // DEFLATE level 0 (stored) .. 12 (libdeflate's slowest). 1 is the measured sweet spot: a 512x512
  // RGB true-colour tile in ~5 ms, ~8% bigger than zlib's default level (which takes ~80-90 ms).
  int level = 1;
};

// PNG of 1 to 4 bands (gray, gray+alpha, RGB, RGBA), UINT8 or UINT16 (16-bit samples are written
// big-endian, as PNG requires). Every row uses the Up filter; one zlib stream by libdeflate.
std::string encode_png(const Image& image, PngOptions options = {});

// Baseline JPEG (4:2:0 for RGB) of UINT8 samples: 1 band (gray) or 3 bands (RGB); with 4 bands the
// 4th (alpha: JPEG has no transparency) is dropped. quality 0..100, as the Process API's format.quality.
std::string encode_jpeg(const Image& image, int quality = 90);

// Cloud-optimised GeoTIFF (GDAL's COG driver): 512x512 tiles, DEFLATE level 3 without predictor,
// pixel-interleaved, overviews when the image is larger than one tile, CRS and geotransform when `georeferenced`,
// GDAL_NODATA when `nodata`. Any PixelType and band count. UINT8/UINT16 images of 3 or 4 bands are tagged RGB(A).
std::string encode_geotiff(const Image& image);

// A POSIX ustar archive of the members in the given order (name -> content): mode 0644, owner 0:0,
// mtime 0, so the bytes depend on the members only. Names are relative paths of at most 100
// characters (255 when they split at a '/' into prefix and name); no "..", no leading '/'.
std::string encode_tar(const std::vector<std::pair<std::string, std::string>>& members);

}  // namespace ds::engine
