#include "synth/raster.hpp"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <ogr_spatialref.h>

#include <mutex>

#include "core/error.hpp"

namespace ds::synth {
namespace {

// Collects the messages of GDAL errors raised on this thread while it is alive, so a failure is
// reported with GDAL's own words instead of a global "last error" that another thread may reset.
class ErrorCapture {
 public:
  ErrorCapture() { CPLPushErrorHandlerEx(&ErrorCapture::handler, this); }
  ~ErrorCapture() { CPLPopErrorHandler(); }
  std::string message() const { return message_.empty() ? "unknown GDAL error" : message_; }

 private:
  static void CPL_STDCALL handler(CPLErr cls, CPLErrorNum, const char* msg) {
    if (cls < CE_Failure) return;
    auto* self = static_cast<ErrorCapture*>(CPLGetErrorHandlerUserData());
    if (!self->message_.empty()) self->message_ += "; ";
    self->message_ += msg;
  }
  std::string message_;
};

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path, const ErrorCapture& errors) {
  throw Error(ErrorCode::internal, what + " " + path.string() + ": " + errors.message());
}

void create_copy(const char* driver_name, GDALDataset& src, const std::filesystem::path& path,
                 const CPLStringList& options) {
  ensure_gdal();
  ErrorCapture errors;
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName(driver_name);
  if (!driver) fail(std::string("no GDAL driver ") + driver_name + " for", path, errors);
  GDALDataset* out = driver->CreateCopy(path.c_str(), &src, FALSE, options.List(), nullptr, nullptr);
  if (!out) fail(std::string("cannot write ") + driver_name, path, errors);
  GDALClose(out);
  if (CPLGetLastErrorType() == CE_Failure && !errors.message().empty() && errors.message() != "unknown GDAL error")
    fail("cannot close", path, errors);
  // Side files GDAL may leave (statistics) are not part of products.
  std::error_code ec;
  std::filesystem::remove(path.string() + ".aux.xml", ec);
}

}  // namespace

void ensure_gdal() {
  static std::once_flag once;
  std::call_once(once, [] {
    GDALAllRegister();
    // Products must be byte-identical for a seed: no timestamps or software versions in files.
    CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
  });
}

DatasetPtr make_mem(const GridSpec& grid, int bands, GDALDataType type) {
  ensure_gdal();
  ErrorCapture errors;
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  DatasetPtr ds(mem->Create("", grid.width, grid.height, bands, type, nullptr));
  if (!ds) fail("cannot create in-memory raster for", "MEM", errors);
  auto gt = grid.geotransform();
  ds->SetGeoTransform(gt.data());
  OGRSpatialReference srs;
  srs.importFromEPSG(grid.epsg);
  ds->SetSpatialRef(&srs);
  return ds;
}

void write_band(GDALDataset& ds, int band, const void* data, GDALDataType type) {
  ErrorCapture errors;
  auto* b = ds.GetRasterBand(band);
  if (b->RasterIO(GF_Write, 0, 0, ds.GetRasterXSize(), ds.GetRasterYSize(), const_cast<void*>(data),
                  ds.GetRasterXSize(), ds.GetRasterYSize(), type, 0, 0, nullptr) != CE_None) {
    fail("cannot fill band of", "MEM", errors);
  }
}

void write_jp2(GDALDataset& src, const std::filesystem::path& path, int nbits, int block, bool lossless) {
  CPLStringList o;
  o.SetNameValue("CODEC", "JP2");
  o.SetNameValue("REVERSIBLE", lossless ? "YES" : "NO");
  o.SetNameValue("QUALITY", lossless ? "100" : "25");
  if (nbits > 0) o.SetNameValue("NBITS", std::to_string(nbits).c_str());
  o.SetNameValue("GeoJP2", "NO");
  o.SetNameValue("GMLJP2", "YES");
  o.SetNameValue("JPX", "NO");
  o.SetNameValue("PROFILE", "UNRESTRICTED");
  o.SetNameValue("BLOCKXSIZE", std::to_string(block).c_str());
  o.SetNameValue("BLOCKYSIZE", std::to_string(block).c_str());
  int resolutions = 1;
  for (int s = std::min(src.GetRasterXSize(), src.GetRasterYSize()); s > 64 && resolutions < 6; s /= 2) ++resolutions;
  o.SetNameValue("RESOLUTIONS", std::to_string(resolutions).c_str());
  o.SetNameValue("COMMENT", "Kakadu-v7.4");
  o.SetNameValue("WRITE_METADATA", "NO");
  create_copy("JP2OpenJPEG", src, path, o);
}

void write_cog(GDALDataset& src, const std::filesystem::path& path, const std::vector<std::string>& options) {
  CPLStringList o;
  o.SetNameValue("COMPRESS", "DEFLATE");
  o.SetNameValue("BLOCKSIZE", "512");
  o.SetNameValue("OVERVIEW_RESAMPLING", "AVERAGE");
  for (const auto& kv : options) o.AddString(kv.c_str());
  create_copy("COG", src, path, o);
}

void write_jpeg(GDALDataset& src, const std::filesystem::path& path, int quality) {
  CPLStringList o;
  o.SetNameValue("QUALITY", std::to_string(quality).c_str());
  o.SetNameValue("WORLDFILE", "NO");
  create_copy("JPEG", src, path, o);
}

}  // namespace ds::synth
