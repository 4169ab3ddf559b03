// Output encoders: every image is decoded back with GDAL (PNG/JPEG/GeoTIFF drivers over /vsimem/)
// or libarchive (tar) and compared with what went in.
#include <archive.h>
#include <archive_entry.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <cpl_vsi.h>
#include <gdal.h>
#include <gtest/gtest.h>
#include <ogr_srs_api.h>

#include "core/error.hpp"
#include "engine/encode.hpp"

using namespace ds::engine;

namespace {

// A smooth, satellite-like test pattern (gradients and a soft blob), `bands` samples per pixel.
template <typename T>
Image make_image(int w, int h, int bands, PixelType type, double scale) {
  Image img;
  img.width = w;
  img.height = h;
  img.bands = bands;
  img.type = type;
  img.data.resize(static_cast<std::size_t>(w) * h * bands * sizeof(T));
  auto* p = reinterpret_cast<T*>(img.data.data());
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int b = 0; b < bands; ++b) {
        const double dx = x - w / 2.0, dy = y - h / 2.0;
        const double v = 0.5 + 0.25 * std::sin(0.05 * x + b) * std::cos(0.04 * y) +
                         0.2 * std::exp(-(dx * dx + dy * dy) / (w * h / 8.0)) - 0.1 * b / bands;
        p[(static_cast<std::size_t>(y) * w + x) * bands + b] = static_cast<T>(std::round(v * scale));
      }
    }
  }
  return img;
}

// An encoded file opened through /vsimem/ for as long as the object lives.
class Decoded {
 public:
  Decoded(std::string bytes, const char* ext) : bytes_(std::move(bytes)) {
    static int counter = 0;
    GDALAllRegister();
    path_ = "/vsimem/encode-test-" + std::to_string(counter++) + ext;
    VSIFCloseL(VSIFileFromMemBuffer(path_.c_str(), reinterpret_cast<GByte*>(bytes_.data()), bytes_.size(), FALSE));
    ds_ = GDALOpen(path_.c_str(), GA_ReadOnly);
  }
  ~Decoded() {
    if (ds_ != nullptr) GDALClose(ds_);
    VSIUnlink(path_.c_str());
  }
  GDALDatasetH get() const { return ds_; }
  std::string driver() const { return GDALGetDriverShortName(GDALGetDatasetDriver(ds_)); }
  int bands() const { return GDALGetRasterCount(ds_); }
  GDALRasterBandH band(int b) const { return GDALGetRasterBand(ds_, b); }
  // All bands, pixel-interleaved, as `T`.
  template <typename T>
  std::vector<T> pixels(GDALDataType type) const {
    const int w = GDALGetRasterXSize(ds_), h = GDALGetRasterYSize(ds_), n = bands();
    std::vector<T> out(static_cast<std::size_t>(w) * h * n);
    EXPECT_EQ(GDALDatasetRasterIO(ds_, GF_Read, 0, 0, w, h, out.data(), w, h, type, n, nullptr,
                                  static_cast<int>(sizeof(T)) * n, static_cast<int>(sizeof(T)) * n * w, sizeof(T)),
              CE_None);
    return out;
  }

 private:
  std::string bytes_;  // the file's memory, read by GDAL in place
  std::string path_;
  GDALDatasetH ds_ = nullptr;
};

template <typename T>
std::vector<T> samples(const Image& img) {
  std::vector<T> out(img.data.size() / sizeof(T));
  std::memcpy(out.data(), img.data.data(), img.data.size());
  return out;
}

void expect_error(ds::ErrorCode code, const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error, expected one containing '" << needle << "'";
  } catch (const ds::Error& e) {
    EXPECT_EQ(e.code(), code) << e.message();
    EXPECT_NE(e.message().find(needle), std::string::npos) << e.message();
  }
}

constexpr const char* kUtm32 = "EPSG:32632";

}  // namespace

TEST(EncodePng, RgbUint8_DecodesToTheSamePixels) {
  const Image img = make_image<std::uint8_t>(300, 200, 3, PixelType::uint8, 255);
  const std::string png = encode_png(img);
  ASSERT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  Decoded d(png, ".png");
  ASSERT_NE(d.get(), nullptr);
  EXPECT_EQ(d.driver(), "PNG");
  EXPECT_EQ(GDALGetRasterXSize(d.get()), 300);
  EXPECT_EQ(GDALGetRasterYSize(d.get()), 200);
  ASSERT_EQ(d.bands(), 3);
  EXPECT_EQ(d.pixels<std::uint8_t>(GDT_Byte), samples<std::uint8_t>(img));
}

TEST(EncodePng, GrayGrayAlphaAndRgba_KeepBandsAndAlpha) {
  for (int bands : {1, 2, 4}) {
    const Image img = make_image<std::uint8_t>(64, 33, bands, PixelType::uint8, 255);
    Decoded d(encode_png(img), ".png");
    ASSERT_NE(d.get(), nullptr);
    ASSERT_EQ(d.bands(), bands);
    EXPECT_EQ(d.pixels<std::uint8_t>(GDT_Byte), samples<std::uint8_t>(img)) << bands << " bands";
    if (bands == 2 || bands == 4) {
      EXPECT_EQ(GDALGetRasterColorInterpretation(d.band(bands)), GCI_AlphaBand);
    }
  }
}

TEST(EncodePng, Uint16_RoundTripsBigEndianSamples) {
  // Values above 255 and with distinct high and low bytes: a byte-order slip shows at once.
  Image img = make_image<std::uint16_t>(77, 51, 3, PixelType::uint16, 60000);
  reinterpret_cast<std::uint16_t*>(img.data.data())[0] = 0x1234;
  reinterpret_cast<std::uint16_t*>(img.data.data())[1] = 65535;
  const std::string png = encode_png(img);
  EXPECT_EQ(static_cast<unsigned char>(png[8 + 8 + 8]), 16);  // IHDR bit depth
  Decoded d(png, ".png");
  ASSERT_NE(d.get(), nullptr);
  EXPECT_EQ(GDALGetRasterDataType(d.band(1)), GDT_UInt16);
  const auto px = d.pixels<std::uint16_t>(GDT_UInt16);
  EXPECT_EQ(px[0], 0x1234);
  EXPECT_EQ(px[1], 65535);
  EXPECT_EQ(px, samples<std::uint16_t>(img));
}

TEST(EncodePng, Uint16Rgba_RoundTrips) {
  const Image img = make_image<std::uint16_t>(40, 40, 4, PixelType::uint16, 65535);
  Decoded d(encode_png(img), ".png");
  ASSERT_NE(d.get(), nullptr);
  ASSERT_EQ(d.bands(), 4);
  EXPECT_EQ(d.pixels<std::uint16_t>(GDT_UInt16), samples<std::uint16_t>(img));
}

TEST(EncodePng, EveryLevel_DecodesIdentically_AndIsDeterministic) {
  const Image img = make_image<std::uint8_t>(128, 128, 3, PixelType::uint8, 255);
  for (int level : {0, 1, 6, 12}) {
    const std::string a = encode_png(img, {level});
    EXPECT_EQ(a, encode_png(img, {level})) << "level " << level;
    Decoded d(a, ".png");
    ASSERT_NE(d.get(), nullptr) << "level " << level;
    EXPECT_EQ(d.pixels<std::uint8_t>(GDT_Byte), samples<std::uint8_t>(img)) << "level " << level;
  }
  EXPECT_LT(encode_png(img, {1}).size(), encode_png(img, {0}).size());
}

TEST(EncodePng, LargeImage_SplitsIdatAndDecodes) {
  // > 1 MiB of compressed data: several IDAT chunks.
  Image img = make_image<std::uint8_t>(800, 700, 4, PixelType::uint8, 255);
  std::uint32_t state = 1;  // noise, so that DEFLATE cannot shrink it below 1 MiB
  for (auto& b : img.data) b = static_cast<std::byte>((state = state * 1664525u + 1013904223u) >> 24);
  const std::string png = encode_png(img);
  EXPECT_GT(png.size(), 2u << 20);  // three IDAT chunks
  Decoded d(png, ".png");
  ASSERT_NE(d.get(), nullptr);
  EXPECT_EQ(d.pixels<std::uint8_t>(GDT_Byte), samples<std::uint8_t>(img));
}

TEST(EncodePng, RejectsFloatSignedAndTooManyBands_With400) {
  using ds::ErrorCode;
  expect_error(
      ErrorCode::invalid_parameter, [] { encode_png(make_image<float>(8, 8, 3, PixelType::float32, 1)); }, "FLOAT32");
  expect_error(
      ErrorCode::invalid_parameter, [] { encode_png(make_image<std::int16_t>(8, 8, 1, PixelType::int16, 100)); },
      "INT16");
  expect_error(
      ErrorCode::invalid_parameter, [] { encode_png(make_image<std::uint8_t>(8, 8, 5, PixelType::uint8, 255)); },
      "1 to 4 bands");
  EXPECT_EQ(ds::http_status(ErrorCode::invalid_parameter), 400);
}

TEST(EncodePng, ShapeMismatch_IsAnInternalError) {
  Image img = make_image<std::uint8_t>(8, 8, 3, PixelType::uint8, 255);
  img.data.pop_back();
  expect_error(
      ds::ErrorCode::internal, [&] { encode_png(img); }, "needs 192 bytes");
  img.width = 0;
  expect_error(
      ds::ErrorCode::internal, [&] { encode_png(img); }, "empty image");
}

TEST(EncodeJpeg, RgbAndGray_DecodeCloseToTheInput) {
  for (int bands : {1, 3}) {
    const Image img = make_image<std::uint8_t>(256, 200, bands, PixelType::uint8, 255);
    const std::string jpg = encode_jpeg(img, 90);
    ASSERT_EQ(jpg.substr(0, 3), std::string("\xff\xd8\xff", 3));
    Decoded d(jpg, ".jpg");
    ASSERT_NE(d.get(), nullptr);
    EXPECT_EQ(d.driver(), "JPEG");
    ASSERT_EQ(d.bands(), bands);
    const auto px = d.pixels<std::uint8_t>(GDT_Byte);
    const auto in = samples<std::uint8_t>(img);
    double err = 0;
    for (std::size_t i = 0; i < px.size(); ++i) err += std::abs(px[i] - in[i]);
    EXPECT_LT(err / px.size(), 1.5) << bands << " bands";  // smooth input at quality 90
  }
}

TEST(EncodeJpeg, Rgba_DropsAlpha) {
  const Image rgba = make_image<std::uint8_t>(64, 64, 4, PixelType::uint8, 255);
  Image rgb = make_image<std::uint8_t>(64, 64, 3, PixelType::uint8, 255);
  for (std::size_t i = 0; i < 64 * 64; ++i) std::memcpy(&rgb.data[3 * i], &rgba.data[4 * i], 3);
  const std::string jpg = encode_jpeg(rgba);
  EXPECT_EQ(jpg, encode_jpeg(rgb));
  Decoded d(jpg, ".jpg");
  ASSERT_NE(d.get(), nullptr);
  EXPECT_EQ(d.bands(), 3);
}

TEST(EncodeJpeg, QualityChangesSize_AndOutputIsDeterministic) {
  const Image img = make_image<std::uint8_t>(256, 256, 3, PixelType::uint8, 255);
  const std::string q90 = encode_jpeg(img, 90);
  EXPECT_EQ(q90, encode_jpeg(img, 90));
  EXPECT_LT(encode_jpeg(img, 20).size(), q90.size());
  EXPECT_GT(encode_jpeg(img, 100).size(), q90.size());
  EXPECT_FALSE(encode_jpeg(img, 0).empty());
}

TEST(EncodeJpeg, RejectsNonByteTwoBandsAndBadQuality_With400) {
  using ds::ErrorCode;
  expect_error(
      ErrorCode::invalid_parameter, [] { encode_jpeg(make_image<float>(8, 8, 3, PixelType::float32, 1)); }, "FLOAT32");
  expect_error(
      ErrorCode::invalid_parameter, [] { encode_jpeg(make_image<std::uint16_t>(8, 8, 3, PixelType::uint16, 1000)); },
      "UINT16");
  expect_error(
      ErrorCode::invalid_parameter, [] { encode_jpeg(make_image<std::uint8_t>(8, 8, 2, PixelType::uint8, 255)); },
      "not 2");
  expect_error(
      ErrorCode::invalid_parameter, [] { encode_jpeg(make_image<std::uint8_t>(8, 8, 5, PixelType::uint8, 255)); },
      "not 5");
  expect_error(
      ErrorCode::invalid_parameter, [] { encode_jpeg(make_image<std::uint8_t>(8, 8, 3, PixelType::uint8, 255), 101); },
      "0..100");
}

TEST(EncodeGeotiff, Float32_HasCrsTransformNodataAndCogLayout) {
  Image img = make_image<float>(300, 260, 3, PixelType::float32, 1);
  reinterpret_cast<float*>(img.data.data())[5] = NAN;
  img.georeferenced = true;
  img.crs_wkt = kUtm32;
  img.transform = {680000, 10, 0, 5160000, 0, -10};
  img.nodata = -9999;
  const std::string tif = encode_geotiff(img);
  Decoded d(tif, ".tif");
  ASSERT_NE(d.get(), nullptr);
  EXPECT_EQ(d.driver(), "GTiff");
  ASSERT_EQ(d.bands(), 3);
  EXPECT_EQ(GDALGetRasterDataType(d.band(1)), GDT_Float32);

  OGRSpatialReferenceH srs = GDALGetSpatialRef(d.get());
  ASSERT_NE(srs, nullptr);
  EXPECT_STREQ(OSRGetAuthorityCode(srs, nullptr), "32632");
  double gt[6];
  ASSERT_EQ(GDALGetGeoTransform(d.get(), gt), CE_None);
  for (int i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(gt[i], img.transform[i]) << i;
  for (int b = 1; b <= 3; ++b) {
    int has = 0;
    EXPECT_EQ(GDALGetRasterNoDataValue(d.band(b), &has), -9999);
    EXPECT_TRUE(has);
  }
  const char* layout = GDALGetMetadataItem(d.get(), "LAYOUT", "IMAGE_STRUCTURE");
  ASSERT_NE(layout, nullptr);
  EXPECT_STREQ(layout, "COG");
  EXPECT_STREQ(GDALGetMetadataItem(d.get(), "COMPRESSION", "IMAGE_STRUCTURE"), "DEFLATE");
  EXPECT_STREQ(GDALGetMetadataItem(d.get(), "INTERLEAVE", "IMAGE_STRUCTURE"), "PIXEL");

  const auto px = d.pixels<float>(GDT_Float32);
  const auto in = samples<float>(img);
  ASSERT_EQ(px.size(), in.size());
  EXPECT_TRUE(std::isnan(px[5]));
  for (std::size_t i = 0; i < px.size(); ++i) {
    if (i != 5) {
      ASSERT_EQ(px[i], in[i]) << i;
    }
  }
  EXPECT_EQ(tif, encode_geotiff(img));  // deterministic
}

TEST(EncodeGeotiff, EveryPixelType_RoundTrips) {
  struct Case {
    PixelType type;
    GDALDataType gdal;
  };
  for (auto [type, gdal] : {Case{PixelType::uint8, GDT_Byte}, Case{PixelType::uint16, GDT_UInt16},
                            Case{PixelType::int16, GDT_Int16}, Case{PixelType::int8, GDT_Byte}}) {
    Image img;
    switch (type) {
      case PixelType::uint8:
        img = make_image<std::uint8_t>(70, 50, 2, type, 255);
        break;
      case PixelType::uint16:
        img = make_image<std::uint16_t>(70, 50, 2, type, 60000);
        break;
      case PixelType::int16:
        img = make_image<std::int16_t>(70, 50, 2, type, -30000);
        break;
      default:
        img = make_image<std::int8_t>(70, 50, 2, type, -120);
        break;
    }
    img.georeferenced = true;
    img.crs_wkt = "http://www.opengis.net/def/crs/EPSG/0/3857";
    img.transform = {1.2e6, 20, 0, 5.9e6, 0, -20};
    Decoded d(encode_geotiff(img), ".tif");
    ASSERT_NE(d.get(), nullptr) << to_string(type);
    EXPECT_EQ(GDALGetRasterDataType(d.band(1)), gdal) << to_string(type);
    EXPECT_STREQ(OSRGetAuthorityCode(GDALGetSpatialRef(d.get()), nullptr), "3857");
    if (type == PixelType::int8) {
      const char* pt = GDALGetMetadataItem(d.band(1), "PIXELTYPE", "IMAGE_STRUCTURE");
      ASSERT_NE(pt, nullptr);
      EXPECT_STREQ(pt, "SIGNEDBYTE");
    }
    if (pixel_size(type) == 1) {
      EXPECT_EQ(d.pixels<std::uint8_t>(GDT_Byte), samples<std::uint8_t>(img)) << to_string(type);
    } else {
      EXPECT_EQ(d.pixels<std::uint16_t>(gdal), samples<std::uint16_t>(img)) << to_string(type);
    }
  }
}

TEST(EncodeGeotiff, RgbaUint8_TagsAlpha_AndLargeImagesGetOverviews) {
  Image img = make_image<std::uint8_t>(1030, 600, 4, PixelType::uint8, 255);
  img.georeferenced = true;
  img.crs_wkt = kUtm32;
  img.transform = {680000, 10, 0, 5160000, 0, -10};
  Decoded d(encode_geotiff(img), ".tif");
  ASSERT_NE(d.get(), nullptr);
  EXPECT_EQ(GDALGetRasterColorInterpretation(d.band(1)), GCI_RedBand);
  EXPECT_EQ(GDALGetRasterColorInterpretation(d.band(4)), GCI_AlphaBand);
  EXPECT_STREQ(GDALGetMetadataItem(d.get(), "LAYOUT", "IMAGE_STRUCTURE"), "COG");
  EXPECT_GE(GDALGetOverviewCount(d.band(1)), 1);
  int bx = 0, by = 0;
  GDALGetBlockSize(d.band(1), &bx, &by);
  EXPECT_EQ(bx, 512);
  EXPECT_EQ(by, 512);
  EXPECT_EQ(d.pixels<std::uint8_t>(GDT_Byte), samples<std::uint8_t>(img));
}

TEST(EncodeGeotiff, WithoutGeoreference_HasNoCrs) {
  const Image img = make_image<std::uint16_t>(20, 20, 1, PixelType::uint16, 1000);
  Decoded d(encode_geotiff(img), ".tif");
  ASSERT_NE(d.get(), nullptr);
  EXPECT_EQ(GDALGetSpatialRef(d.get()), nullptr);
  int has = 1;
  GDALGetRasterNoDataValue(d.band(1), &has);
  EXPECT_FALSE(has);
}

TEST(EncodeGeotiff, NodataOutsideTheTypeOrUnusableCrs_AreErrors) {
  Image img = make_image<std::uint8_t>(8, 8, 1, PixelType::uint8, 255);
  img.nodata = 300;
  expect_error(
      ds::ErrorCode::invalid_parameter, [&] { encode_geotiff(img); }, "nodataValue 300");
  img.nodata = 0.5;
  expect_error(
      ds::ErrorCode::invalid_parameter, [&] { encode_geotiff(img); }, "UINT8");
  img.nodata = 0;
  img.georeferenced = true;
  img.crs_wkt = "/etc/passwd";  // never read as a file
  expect_error(
      ds::ErrorCode::internal, [&] { encode_geotiff(img); }, "unusable CRS");
}

TEST(EncodeConcurrency, ThreadsEncodingAtOnce_GetTheSingleThreadedBytes) {
  Image img = make_image<std::uint16_t>(200, 150, 3, PixelType::uint16, 50000);
  img.georeferenced = true;
  img.crs_wkt = kUtm32;
  img.transform = {680000, 10, 0, 5160000, 0, -10};
  img.nodata = 0;
  const std::string png = encode_png(img), tif = encode_geotiff(img);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        if (encode_png(img) != png) ++mismatches;
        if (encode_geotiff(img) != tif) ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

namespace {

std::vector<std::pair<std::string, std::string>> read_tar(const std::string& bytes) {
  std::vector<std::pair<std::string, std::string>> out;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, bytes.data(), bytes.size()), ARCHIVE_OK) << archive_error_string(a);
  archive_entry* entry = nullptr;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    EXPECT_EQ(archive_format(a), ARCHIVE_FORMAT_TAR_USTAR);
    EXPECT_EQ(archive_entry_mtime(entry), 0);
    EXPECT_EQ(archive_entry_perm(entry), 0644u);
    EXPECT_EQ(archive_entry_filetype(entry), static_cast<unsigned>(AE_IFREG));
    std::string content(static_cast<std::size_t>(archive_entry_size(entry)), '\0');
    EXPECT_EQ(archive_read_data(a, content.data(), content.size()), static_cast<la_ssize_t>(content.size()));
    out.emplace_back(archive_entry_pathname(entry), std::move(content));
  }
  archive_read_free(a);
  return out;
}

}  // namespace

TEST(EncodeTar, UstarMembersReadBackByLibarchive_InOrder) {
  const std::string long_dir(120, 'd');
  const std::vector<std::pair<std::string, std::string>> members = {
      {"default.tif", std::string(1000, 'x')},
      {"userdata.json", R"({"scenes":[]})"},
      {"empty.png", ""},
      {"exact.bin", std::string(512, 'y')},
      {long_dir + "/name.txt", "split into prefix and name"},
  };
  const std::string tar = encode_tar(members);
  EXPECT_EQ(tar.size() % 512, 0u);
  EXPECT_EQ(read_tar(tar), members);
  EXPECT_EQ(tar, encode_tar(members));  // deterministic
  EXPECT_EQ(encode_tar({}).size(), 1024u);
}

TEST(EncodeTar, TarCommandListsTheMembers) {
  const std::string tar = encode_tar({{"default.png", "png"}, {"userdata.json", "{}"}});
  const std::string path = ::testing::TempDir() + "encode_test.tar";
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(tar.data(), 1, tar.size(), f);
  std::fclose(f);
  FILE* p = ::popen(("tar -tf '" + path + "' 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string listing;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p) != nullptr) listing += buf;
  EXPECT_EQ(::pclose(p), 0) << listing;
  EXPECT_EQ(listing, "default.png\nuserdata.json\n");
  std::remove(path.c_str());
}

TEST(EncodeTar, RejectsUnsafeDuplicateAndOverlongNames) {
  using ds::ErrorCode;
  for (const std::string bad : {"", "/etc/passwd", "../x", "a/../b", "a//b", "dir/", "./a"}) {
    expect_error(
        ErrorCode::invalid_parameter,
        [&] {
          encode_tar({{bad, "x"}});
        },
        "tar member name");
  }
  expect_error(
      ErrorCode::invalid_parameter,
      [] {
        encode_tar({{"a.png", "1"}, {"a.png", "2"}});
      },
      "appears twice");
  expect_error(
      ErrorCode::invalid_parameter,
      [] {
        encode_tar({{std::string(101, 'n'), "x"}});
      },
      "too long");
}
