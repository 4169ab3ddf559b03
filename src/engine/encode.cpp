#include "engine/encode.hpp"

#include <algorithm>
#include <atomic>
#include <csetjmp>
#include <cstdint>
#include <cstdio>  // before jpeglib.h, which uses FILE
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>

#include <cpl_error.h>
#include <cpl_vsi.h>
#include <fmt/format.h>
#include <gdal.h>
#include <jpeglib.h>
#include <libdeflate.h>
#include <ogr_spatialref.h>

#include "core/error.hpp"

namespace ds::engine {

std::size_t pixel_size(PixelType type) {
  switch (type) {
    case PixelType::uint8:
    case PixelType::int8:
      return 1;
    case PixelType::uint16:
    case PixelType::int16:
      return 2;
    case PixelType::float32:
      return 4;
  }
  return 1;
}

std::string_view to_string(PixelType type) {
  switch (type) {
    case PixelType::uint8:
      return "UINT8";
    case PixelType::uint16:
      return "UINT16";
    case PixelType::int8:
      return "INT8";
    case PixelType::int16:
      return "INT16";
    case PixelType::float32:
      return "FLOAT32";
  }
  return "?";
}

namespace {

// The shape checks every encoder starts with: a mismatch is the engine's bug, not the user's.
void check_shape(const Image& image, std::string_view format) {
  if (image.width <= 0 || image.height <= 0 || image.bands <= 0) {
    throw Error(ErrorCode::internal, fmt::format("{} encoder: empty image ({}x{}, {} bands)", format, image.width,
                                                 image.height, image.bands));
  }
  const auto expected = static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) *
                        static_cast<std::size_t>(image.bands) * pixel_size(image.type);
  if (image.data.size() != expected) {
    throw Error(ErrorCode::internal,
                fmt::format("{} encoder: {}x{}x{} {} image needs {} bytes, has {}", format, image.width, image.height,
                            image.bands, to_string(image.type), expected, image.data.size()));
  }
}

// ---------------------------------------------------------------------------------------------------
// PNG: our own container around one libdeflate zlib stream. libpng and libspng both drive zlib,
// which at its fastest level is still 2x slower than libdeflate level 1 and compresses less
// (measured on a 512x512 RGB true-colour tile: libdeflate L1 + Up 5.0 ms / 350 KB, libspng L1 + Up
// 10.3 ms / 368 KB, libpng L1 + Up 13.6 ms / 368 KB, libpng default 91 ms / 324 KB).

void put_be32(std::string& out, std::uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
  out.append(b, 4);
}

// Appends one chunk: length, type, data, CRC-32 of type and data.
void put_chunk(std::string& out, const char type[4], const void* data, std::size_t size) {
  put_be32(out, static_cast<std::uint32_t>(size));
  const std::size_t at = out.size();
  out.append(type, 4);
  if (size > 0) out.append(static_cast<const char*>(data), size);
  put_be32(out, libdeflate_crc32(0, out.data() + at, size + 4));
}

struct CompressorDeleter {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};

// ---------------------------------------------------------------------------------------------------
// JPEG: libjpeg reports fatal errors through error_exit, which must not return; we longjmp back to
// encode_jpeg (no C++ objects with destructors live between setjmp and the libjpeg calls).

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void jpeg_quiet(j_common_ptr, int) {}

// libjpeg's calls under setjmp, kept apart from anything with a destructor. Returns false on a
// libjpeg error (message in err.message); on success *out/*out_size hold a malloc'ed buffer.
bool run_jpeg(jpeg_compress_struct& cinfo, JpegError& err, const Image& image, int quality, unsigned char** out,
              unsigned long* out_size, unsigned char* rgb_row) {
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.mgr.emit_message = jpeg_quiet;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    return false;
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, out, out_size);
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  const bool gray = image.bands == 1;
  cinfo.input_components = gray ? 1 : 3;
  cinfo.in_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  const auto* pixels = reinterpret_cast<const unsigned char*>(image.data.data());
  const std::size_t stride = static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.bands);
  while (cinfo.next_scanline < cinfo.image_height) {
    const unsigned char* src = pixels + cinfo.next_scanline * stride;
    JSAMPROW row;
    if (image.bands == 4) {  // RGBA -> RGB
      for (std::size_t x = 0; x < static_cast<std::size_t>(image.width); ++x)
        std::memcpy(rgb_row + 3 * x, src + 4 * x, 3);
      row = rgb_row;
    } else {
      row = const_cast<unsigned char*>(src);  // libjpeg only reads the input rows
    }
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return true;
}

// ---------------------------------------------------------------------------------------------------
// GeoTIFF through GDAL: a MEM dataset over the Image's buffer (no copy), CreateCopy with the COG
// driver into a private /vsimem/ directory, then the file's bytes.

// Collects GDAL's first error message for the scope of one encode instead of reading the global
// last error.
class GdalErrors {
 public:
  GdalErrors() { CPLPushErrorHandlerEx(&GdalErrors::handler, this); }
  ~GdalErrors() { CPLPopErrorHandler(); }
  GdalErrors(const GdalErrors&) = delete;
  GdalErrors& operator=(const GdalErrors&) = delete;
  std::string message(std::string_view fallback) const { return message_.empty() ? std::string(fallback) : message_; }

 private:
  static void CPL_STDCALL handler(CPLErr level, CPLErrorNum, const char* msg) {
    auto* self = static_cast<GdalErrors*>(CPLGetErrorHandlerUserData());
    if (self != nullptr && level >= CE_Failure && self->message_.empty() && msg != nullptr) self->message_ = msg;
  }
  std::string message_;
};

struct DatasetCloser {
  void operator()(void* ds) const { GDALClose(static_cast<GDALDatasetH>(ds)); }
};
using Dataset = std::unique_ptr<void, DatasetCloser>;

// Removes a /vsimem/ directory and everything in it (the TIFF, overview temporaries, .aux.xml).
class VsimemDir {
 public:
  VsimemDir() {
    static std::atomic<std::uint64_t> counter{0};  // unique names only; carries no state between calls
    path_ = fmt::format("/vsimem/ds-encode-{}/", counter.fetch_add(1));
    VSIMkdir(path_.c_str(), 0755);
  }
  ~VsimemDir() { VSIRmdirRecursive(path_.c_str()); }
  VsimemDir(const VsimemDir&) = delete;
  VsimemDir& operator=(const VsimemDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

GDALDataType gdal_type(PixelType type) {
  switch (type) {
    case PixelType::uint8:
      return GDT_Byte;
    case PixelType::uint16:
      return GDT_UInt16;
    case PixelType::int8:
      return GDT_Byte;  // with PIXELTYPE=SIGNEDBYTE (GDAL 3.6 has no GDT_Int8)
    case PixelType::int16:
      return GDT_Int16;
    case PixelType::float32:
      return GDT_Float32;
  }
  return GDT_Byte;
}

void check_nodata(const Image& image) {
  if (!image.nodata) return;
  const double v = *image.nodata;
  if (image.type == PixelType::float32) return;  // NaN and any double that rounds to a float are fine
  double lo = 0, hi = 0;
  switch (image.type) {
    case PixelType::uint8:
      lo = 0, hi = 255;
      break;
    case PixelType::uint16:
      lo = 0, hi = 65535;
      break;
    case PixelType::int8:
      lo = -128, hi = 127;
      break;
    case PixelType::int16:
      lo = -32768, hi = 32767;
      break;
    case PixelType::float32:
      break;
  }
  if (!(v >= lo && v <= hi) || v != static_cast<double>(static_cast<std::int64_t>(v))) {
    throw Error(ErrorCode::invalid_parameter,
                fmt::format("nodataValue {} cannot be stored in {} samples (integers {}..{})", v, to_string(image.type),
                            lo, hi));
  }
}

void ensure_gdal_drivers() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (GDALGetDriverByName("COG") == nullptr || GDALGetDriverByName("MEM") == nullptr) GDALAllRegister();
  });
}

}  // namespace

std::string encode_png(const Image& image, PngOptions options) {
  check_shape(image, "PNG");
  if (image.type != PixelType::uint8 && image.type != PixelType::uint16) {
    throw Error(ErrorCode::invalid_parameter,
                fmt::format("PNG takes UINT8 or UINT16 samples, not {}: use sampleType UINT8, UINT16 or AUTO, or "
                            "image/tiff",
                            to_string(image.type)));
  }
  if (image.bands > 4) {
    throw Error(ErrorCode::invalid_parameter,
                fmt::format("PNG takes 1 to 4 bands (gray, gray+alpha, RGB, RGBA), not {}: use image/tiff for more",
                            image.bands));
  }
  if (options.level < 0 || options.level > 12) {
    throw Error(ErrorCode::internal, fmt::format("PNG compression level {} is outside 0..12", options.level));
  }
  const std::size_t sample = pixel_size(image.type);
  const std::size_t row_bytes = static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.bands) * sample;
  const std::size_t height = static_cast<std::size_t>(image.height);

  // Filtered scanlines: a filter-type byte (2 = Up: difference with the row above, which for the
  // first row is zeros) then the row's bytes, big-endian for 16-bit samples. Up is the cheapest
  // filter that still halves the size of smooth imagery; adaptive per-row choice costs 2x the time
  // for ~2% smaller files.
  const std::size_t filtered_size = (row_bytes + 1) * height;
  const auto filtered = std::make_unique_for_overwrite<unsigned char[]>(filtered_size);  // every byte is written
  std::vector<unsigned char> rows(sample == 2 ? 2 * row_bytes : 0);  // current and previous big-endian row
  const auto* pixels = reinterpret_cast<const unsigned char*>(image.data.data());
  const unsigned char* prev = nullptr;
  for (std::size_t y = 0; y < height; ++y) {
    const unsigned char* cur = pixels + y * row_bytes;
    if (sample == 2) {
      unsigned char* be = rows.data() + (y % 2) * row_bytes;
      for (std::size_t i = 0; i < row_bytes; i += 2) {
        std::uint16_t v;
        std::memcpy(&v, cur + i, 2);
        be[i] = static_cast<unsigned char>(v >> 8);
        be[i + 1] = static_cast<unsigned char>(v & 0xff);
      }
      cur = be;
    }
    unsigned char* out = filtered.get() + y * (row_bytes + 1);
    out[0] = 2;
    ++out;
    if (prev == nullptr) {
      std::memcpy(out, cur, row_bytes);
    } else {
      for (std::size_t i = 0; i < row_bytes; ++i) out[i] = static_cast<unsigned char>(cur[i] - prev[i]);
    }
    prev = cur;
  }

  std::unique_ptr<libdeflate_compressor, CompressorDeleter> compressor(libdeflate_alloc_compressor(options.level));
  if (!compressor) throw Error(ErrorCode::internal, "PNG encoder: out of memory for the DEFLATE compressor");
  const std::size_t bound = libdeflate_zlib_compress_bound(compressor.get(), filtered_size);
  const auto zdata = std::make_unique_for_overwrite<unsigned char[]>(bound);
  const std::size_t zsize =
      libdeflate_zlib_compress(compressor.get(), filtered.get(), filtered_size, zdata.get(), bound);
  if (zsize == 0) throw Error(ErrorCode::internal, "PNG encoder: DEFLATE output exceeded its bound");

  std::string png;
  png.reserve(zsize + 64 + zsize / (1 << 20) * 12);
  png.append("\x89PNG\r\n\x1a\n", 8);
  static constexpr unsigned char kColorType[5] = {0, 0, 4, 2, 6};  // by band count: gray, gray+alpha, RGB, RGBA
  unsigned char ihdr[13];
  const auto w = static_cast<std::uint32_t>(image.width), h = static_cast<std::uint32_t>(image.height);
  for (int i = 0; i < 4; ++i) {
    ihdr[i] = static_cast<unsigned char>(w >> (24 - 8 * i));
    ihdr[4 + i] = static_cast<unsigned char>(h >> (24 - 8 * i));
  }
  ihdr[8] = static_cast<unsigned char>(8 * sample);  // bit depth
  ihdr[9] = kColorType[image.bands];
  ihdr[10] = ihdr[11] = ihdr[12] = 0;  // deflate, adaptive filtering, no interlace
  put_chunk(png, "IHDR", ihdr, sizeof ihdr);
  // IDAT chunks of at most 1 MiB: any size is valid, but small chunks suit streaming decoders.
  constexpr std::size_t kChunk = 1 << 20;
  for (std::size_t at = 0; at < zsize; at += kChunk)
    put_chunk(png, "IDAT", zdata.get() + at, std::min(kChunk, zsize - at));
  put_chunk(png, "IEND", nullptr, 0);
  return png;
}

std::string encode_jpeg(const Image& image, int quality) {
  check_shape(image, "JPEG");
  if (image.type != PixelType::uint8) {
    throw Error(
        ErrorCode::invalid_parameter,
        fmt::format("JPEG takes UINT8 samples, not {}: use sampleType UINT8 or AUTO, or image/png or image/tiff",
                    to_string(image.type)));
  }
  if (image.bands != 1 && image.bands != 3 && image.bands != 4) {
    throw Error(ErrorCode::invalid_parameter,
                fmt::format("JPEG takes 1 band (gray) or 3 bands (RGB; a 4th, alpha, is dropped), not {}: use "
                            "image/png or image/tiff",
                            image.bands));
  }
  if (quality < 0 || quality > 100) {
    throw Error(ErrorCode::invalid_parameter, fmt::format("JPEG quality must be 0..100, not {}", quality));
  }
  jpeg_compress_struct cinfo{};
  JpegError err{};
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  std::vector<unsigned char> rgb_row(image.bands == 4 ? static_cast<std::size_t>(image.width) * 3 : 0);
  const bool ok = run_jpeg(cinfo, err, image, quality, &buffer, &size, rgb_row.data());
  std::unique_ptr<unsigned char, decltype(&std::free)> owned(buffer, &std::free);
  if (!ok) throw Error(ErrorCode::internal, fmt::format("JPEG encoder: {}", err.message));
  return std::string(reinterpret_cast<const char*>(buffer), size);
}

std::string encode_geotiff(const Image& image) {
  check_shape(image, "GeoTIFF");
  check_nodata(image);
  ensure_gdal_drivers();
  GdalErrors errors;

  GDALDriverH mem = GDALGetDriverByName("MEM");
  GDALDriverH cog = GDALGetDriverByName("COG");
  if (mem == nullptr || cog == nullptr)
    throw Error(ErrorCode::internal, "GeoTIFF encoder: GDAL has no MEM or COG driver");

  Dataset src(GDALCreate(mem, "", image.width, image.height, 0, GDT_Byte, nullptr));
  if (!src) throw Error(ErrorCode::internal, "GeoTIFF encoder: " + errors.message("cannot create a MEM dataset"));
  const std::size_t sample = pixel_size(image.type);
  const std::size_t pixel_stride = sample * static_cast<std::size_t>(image.bands);
  const std::size_t line_stride = pixel_stride * static_cast<std::size_t>(image.width);
  // MEM bands read the Image's buffer in place; GDAL takes the pointer as text.
  auto* base = const_cast<std::byte*>(image.data.data());
  for (int b = 0; b < image.bands; ++b) {
    const std::string pointer = fmt::format("DATAPOINTER={}", static_cast<void*>(base + b * sample));
    const std::string pixel = fmt::format("PIXELOFFSET={}", pixel_stride);
    const std::string line = fmt::format("LINEOFFSET={}", line_stride);
    const char* band_options[] = {pointer.c_str(), pixel.c_str(), line.c_str(), nullptr};
    if (GDALAddBand(src.get(), gdal_type(image.type), const_cast<char**>(band_options)) != CE_None) {
      throw Error(ErrorCode::internal, "GeoTIFF encoder: " + errors.message("cannot add a MEM band"));
    }
    GDALRasterBandH band = GDALGetRasterBand(src.get(), b + 1);
    if (image.type == PixelType::int8) GDALSetMetadataItem(band, "PIXELTYPE", "SIGNEDBYTE", "IMAGE_STRUCTURE");
    if (image.nodata) GDALSetRasterNoDataValue(band, *image.nodata);
    if ((image.type == PixelType::uint8 || image.type == PixelType::uint16) && (image.bands == 3 || image.bands == 4)) {
      static constexpr GDALColorInterp kRgba[4] = {GCI_RedBand, GCI_GreenBand, GCI_BlueBand, GCI_AlphaBand};
      GDALSetRasterColorInterpretation(band, kRgba[b]);
    }
  }

  if (image.georeferenced) {
    std::array<double, 6> transform = image.transform;
    if (GDALSetGeoTransform(src.get(), transform.data()) != CE_None) {
      throw Error(ErrorCode::internal, "GeoTIFF encoder: " + errors.message("cannot set the geotransform"));
    }
    OGRSpatialReference srs;
    // The engine's CRS text only: never a file or a URL to fetch.
    const char* srs_options[] = {"ALLOW_NETWORK_ACCESS=NO", "ALLOW_FILE_ACCESS=NO", nullptr};
    if (image.crs_wkt.empty() || srs.SetFromUserInput(image.crs_wkt.c_str(), srs_options) != OGRERR_NONE) {
      throw Error(ErrorCode::internal, fmt::format("GeoTIFF encoder: unusable CRS '{}'", image.crs_wkt.substr(0, 80)));
    }
    srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    if (GDALSetSpatialRef(src.get(), OGRSpatialReference::ToHandle(&srs)) != CE_None) {
      throw Error(ErrorCode::internal, "GeoTIFF encoder: " + errors.message("cannot set the CRS"));
    }
  }

  VsimemDir dir;
  const std::string path = dir.path() + "out.tif";
  // DEFLATE (libdeflate inside libtiff) at level 3 and no predictor, measured on 512x512 engine
  // outputs from full-resolution S2 (CPU ms / KB): UINT8 RGB 9 / 168, UINT16 4 bands 50 / 624,
  // FLOAT32 reflectance 3 bands 84 / 565, FLOAT32 NDVI 24 / 468. GDAL's default level 6 costs ~2x
  // the time for 5-10% less; level 1 is 10-30% bigger. The horizontal and floating-point predictors
  // made every one of these bigger (FLOAT32 reflectance 3.3x: values derived from integer DNs).
  // BIGTIFF=IF_SAFER keeps >4 GiB outputs possible (they cannot happen at 2500 px today).
  const char* options[] = {"COMPRESS=DEFLATE", "LEVEL=3", "BLOCKSIZE=512", "BIGTIFF=IF_SAFER", nullptr};
  {
    Dataset out(GDALCreateCopy(cog, path.c_str(), src.get(), FALSE, const_cast<char**>(options), nullptr, nullptr));
    if (!out) throw Error(ErrorCode::internal, "GeoTIFF encoder: " + errors.message("COG driver failed"));
  }
  vsi_l_offset length = 0;
  GByte* bytes = VSIGetMemFileBuffer(path.c_str(), &length, FALSE);
  if (bytes == nullptr) throw Error(ErrorCode::internal, "GeoTIFF encoder: the COG driver wrote no file");
  return std::string(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(length));
}

namespace {

// Writes `value` as `width - 1` zero-padded octal digits and a NUL into field[0..width).
bool put_octal(char* field, std::size_t width, std::uint64_t value) {
  for (std::size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
  field[width - 1] = '\0';
  return value == 0;
}

// Splits a member name into ustar's prefix (<= 155) and name (<= 100) fields at a '/'.
bool split_name(const std::string& path, std::string& prefix, std::string& name) {
  if (path.size() <= 100) {
    prefix.clear();
    name = path;
    return true;
  }
  for (std::size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    if (slash <= 155 && path.size() - slash - 1 <= 100 && slash + 1 < path.size()) {
      prefix = path.substr(0, slash);
      name = path.substr(slash + 1);
      return true;
    }
  }
  return false;
}

void check_member_name(const std::string& path) {
  auto bad = [&](std::string_view why) {
    throw Error(ErrorCode::invalid_parameter, fmt::format("tar member name '{}' {}", path, why));
  };
  if (path.empty()) bad("is empty");
  if (path.front() == '/') bad("is absolute");
  if (path.back() == '/') bad("ends with '/'");
  if (path.find('\0') != std::string::npos) bad("contains NUL");
  for (std::size_t start = 0; start <= path.size();) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string_view part(path.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") bad("has an empty, '.' or '..' component");
    start = end + 1;
  }
}

}  // namespace

std::string encode_tar(const std::vector<std::pair<std::string, std::string>>& members) {
  std::size_t total = 1024;
  for (const auto& [name, content] : members) total += 512 + (content.size() + 511) / 512 * 512;
  std::string tar;
  tar.reserve(total);
  std::set<std::string> seen;
  for (const auto& [path, content] : members) {
    check_member_name(path);
    if (!seen.insert(path).second) {
      throw Error(ErrorCode::invalid_parameter, fmt::format("tar member name '{}' appears twice", path));
    }
    std::string prefix, name;
    if (!split_name(path, prefix, name)) {
      throw Error(ErrorCode::invalid_parameter,
                  fmt::format("tar member name '{}' is too long for ustar (100 characters, 255 split at a '/')", path));
    }
    // Fields are fixed-width; text fields that fill their width carry no NUL (ustar allows it).
    char header[512] = {};
    std::memcpy(header, name.data(), name.size());
    put_octal(header + 100, 8, 0644);  // mode
    put_octal(header + 108, 8, 0);     // uid
    put_octal(header + 116, 8, 0);     // gid
    if (!put_octal(header + 124, 12, content.size())) {
      throw Error(ErrorCode::payload_too_large, fmt::format("tar member '{}' exceeds ustar's 8 GiB", path));
    }
    put_octal(header + 136, 12, 0);  // mtime: fixed, so the archive is deterministic
    header[156] = '0';               // regular file
    std::memcpy(header + 257, "ustar", 6);
    std::memcpy(header + 263, "00", 2);
    put_octal(header + 329, 8, 0);  // devmajor
    put_octal(header + 337, 8, 0);  // devminor
    std::memcpy(header + 345, prefix.data(), prefix.size());
    // Checksum: the header's byte sum with the checksum field counted as eight spaces.
    std::memset(header + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : header) sum += c;
    put_octal(header + 148, 7, sum);  // six digits, NUL, then the space already there
    tar.append(header, sizeof header);
    tar.append(content);
    tar.append((512 - content.size() % 512) % 512, '\0');
  }
  tar.append(1024, '\0');  // end of archive: two zero blocks
  return tar;
}

}  // namespace ds::engine
