#include "ingest/quicklook.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include <cpl_error.h>
#include <cpl_vsi.h>
#include <gdal_priv.h>

#include "core/log.hpp"

namespace ds::ingest {
namespace {

struct DatasetCloser {
  void operator()(GDALDataset* ds) const { GDALClose(GDALDataset::ToHandle(ds)); }
};
using DatasetPtr = std::unique_ptr<GDALDataset, DatasetCloser>;

// How one output channel is made: a GDAL source and a stretch (fixed range or percentiles).
struct Channel {
  std::string source;         // GDAL dataset name
  std::optional<double> low;  // fixed stretch; both empty = 2nd..98th percentile
  std::optional<double> high;
};

const catalog::Asset* asset(const catalog::Product& p, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    for (const auto& a : p.assets) {
      if (a.key == k) return &a;
    }
  }
  return nullptr;
}

// Sentinel-2 DN → reflectance has an offset of -1000 from processing baseline 04.00 on.
double s2_offset(const catalog::Product& p) {
  const auto* pb = p.attribute("processingBaseline");
  if (!pb || !std::holds_alternative<std::string>(pb->value)) return 0;
  return std::atof(std::get<std::string>(pb->value).c_str()) >= 4.0 ? 1000.0 : 0.0;
}

std::vector<Channel> recipe(const storage::ObjectStore& store, const std::string& bucket, const catalog::Product& p) {
  auto path = [&](const catalog::Asset* a) { return store.vsi_path(bucket, p.key + "/" + a->path); };
  std::vector<Channel> out;
  if (p.collection == "SENTINEL-2") {
    const double off = s2_offset(p);
    for (auto keys : {std::initializer_list<const char*>{"B04_60m", "B04_20m", "B04_10m", "B04"},
                      std::initializer_list<const char*>{"B03_60m", "B03_20m", "B03_10m", "B03"},
                      std::initializer_list<const char*>{"B02_60m", "B02_20m", "B02_10m", "B02"}}) {
      const auto* a = asset(p, keys);
      if (!a) return {};
      out.push_back({path(a), off, off + 2500.0});  // reflectance 0..0.25: natural colour
    }
  } else if (p.collection == "SENTINEL-3") {
    for (const char* k : {"Oa08_radiance", "Oa06_radiance", "Oa04_radiance"}) {
      const auto* a = asset(p, {k});
      if (!a) return {};
      out.push_back({path(a), {}, {}});
    }
  } else if (p.collection == "SENTINEL-1") {
    if (const auto* a = asset(p, {"vv", "hh", "vh", "hv"})) out.push_back({path(a), {}, {}});
  } else if (p.collection == "SENTINEL-5P") {
    if (const auto* a = asset(p, {"netcdf"}); a && p.product_type == "L2__NO2___") {
      out.push_back({"NETCDF:\"" + path(a) + "\":/PRODUCT/nitrogendioxide_tropospheric_column", {}, {}});
    }
  } else if (p.collection == "GLOBAL-MOSAICS") {
    for (const char* k : {"B04", "B03", "B02"}) {
      const auto* a = asset(p, {k});
      if (!a) return {};
      out.push_back({path(a), {}, {}});
    }
  } else if (p.collection == "COG") {
    for (const auto& a : p.assets) {
      if (a.media_type.find("geotiff") != std::string::npos) {
        out.push_back({path(&a), {}, {}});
        break;
      }
    }
  } else if (p.collection == "COP-DEM") {
    if (const auto* a = asset(p, {"dem"})) out.push_back({path(a), {}, {}});
  }
  return out;
}

// Reads band 1 of `source` into a w×h float grid (GDAL picks the overview; small grids such as
// Sentinel-5P swaths are enlarged); NaN where no data.
bool read_channel(const std::string& source, unsigned& w, unsigned& h, std::vector<float>& values) {
  DatasetPtr ds(GDALDataset::Open(source.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  if (!ds || ds->GetRasterCount() < 1) return false;
  const int sx = ds->GetRasterXSize(), sy = ds->GetRasterYSize();
  if (sx <= 0 || sy <= 0) return false;
  if (w == 0) {  // the first channel fixes the size
    const double scale = static_cast<double>(kQuicklookSize) / std::max(sx, sy);
    w = std::max(1u, static_cast<unsigned>(std::lround(sx * scale)));
    h = std::max(1u, static_cast<unsigned>(std::lround(sy * scale)));
  }
  values.assign(static_cast<std::size_t>(w) * h, 0.0f);
  GDALRasterBand* band = ds->GetRasterBand(1);
  GDALRasterIOExtraArg extra;
  INIT_RASTERIO_EXTRA_ARG(extra);
  extra.eResampleAlg = GRIORA_Average;
  if (band->RasterIO(GF_Read, 0, 0, sx, sy, values.data(), static_cast<int>(w), static_cast<int>(h), GDT_Float32, 0, 0,
                     &extra) != CE_None) {
    return false;
  }
  int has_nodata = 0;
  const double nodata = band->GetNoDataValue(&has_nodata);
  for (auto& v : values) {
    if ((has_nodata && v == static_cast<float>(nodata)) || !std::isfinite(v) || std::abs(v) > 1e30f) v = NAN;
  }
  return true;
}

std::pair<double, double> percentiles(const std::vector<float>& values) {
  std::vector<float> finite;
  finite.reserve(values.size());
  for (float v : values) {
    if (std::isfinite(v)) finite.push_back(v);
  }
  if (finite.empty()) return {0, 1};
  auto at = [&](double q) {
    auto it = finite.begin() + static_cast<std::ptrdiff_t>(q * static_cast<double>(finite.size() - 1));
    std::nth_element(finite.begin(), it, finite.end());
    return static_cast<double>(*it);
  };
  const double lo = at(0.02), hi = at(0.98);
  return {lo, hi > lo ? hi : lo + 1};
}

}  // namespace

std::optional<catalog::Asset> make_quicklook(storage::ObjectStore& store, const std::string& bucket,
                                             const catalog::Product& product) {
  const auto channels = recipe(store, bucket, product);
  if (channels.empty()) return std::nullopt;
  GDALAllRegister();
  CPLPushErrorHandler(CPLQuietErrorHandler);
  struct PopHandler {
    ~PopHandler() { CPLPopErrorHandler(); }
  } pop;

  unsigned w = 0, h = 0;
  const int bands = channels.size() == 1 ? 2 : 4;  // grey+alpha or RGB+alpha
  std::vector<std::uint8_t> pixels;
  std::vector<float> values;
  std::vector<bool> valid;
  for (std::size_t c = 0; c < channels.size(); ++c) {
    if (!read_channel(channels[c].source, w, h, values)) {
      log::debug("quicklook: cannot read {} for {}", channels[c].source, product.name);
      return std::nullopt;
    }
    if (c == 0) {
      pixels.assign(static_cast<std::size_t>(w) * h * static_cast<std::size_t>(bands), 0);
      valid.assign(static_cast<std::size_t>(w) * h, true);
    }
    auto [lo, hi] = channels[c].low ? std::pair{*channels[c].low, *channels[c].high} : percentiles(values);
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i])) {
        valid[i] = false;
        continue;
      }
      const double t = std::clamp((values[i] - lo) / (hi - lo), 0.0, 1.0);
      pixels[i * static_cast<std::size_t>(bands) + c] = static_cast<std::uint8_t>(std::lround(255.0 * std::sqrt(t)));
    }
  }
  for (std::size_t i = 0; i < valid.size(); ++i) {
    pixels[i * static_cast<std::size_t>(bands) + static_cast<std::size_t>(bands - 1)] = valid[i] ? 255 : 0;
  }

  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDriver* png = GetGDALDriverManager()->GetDriverByName("PNG");
  if (!mem || !png) return std::nullopt;
  DatasetPtr img(mem->Create("", static_cast<int>(w), static_cast<int>(h), bands, GDT_Byte, nullptr));
  if (!img) return std::nullopt;
  if (img->RasterIO(GF_Write, 0, 0, static_cast<int>(w), static_cast<int>(h), pixels.data(), static_cast<int>(w),
                    static_cast<int>(h), GDT_Byte, bands, nullptr, bands, static_cast<GSpacing>(w) * bands, 1,
                    nullptr) != CE_None) {
    return std::nullopt;
  }
  const std::string tmp = "/vsimem/quicklook-" + product.id + ".png";
  {
    const char* opts[] = {"ZLEVEL=6", nullptr};
    DatasetPtr out(png->CreateCopy(tmp.c_str(), img.get(), FALSE, const_cast<char**>(opts), nullptr, nullptr));
    if (!out) return std::nullopt;
  }
  vsi_l_offset size = 0;
  GByte* bytes = VSIGetMemFileBuffer(tmp.c_str(), &size, TRUE);
  if (!bytes) return std::nullopt;
  std::unique_ptr<GByte, decltype(&VSIFree)> owned(bytes, VSIFree);

  if (!store.bucket_exists(kQuicklookBucket)) store.create_bucket(kQuicklookBucket);
  const std::string key = product.key + "-ql.png";
  auto writer = store.put(kQuicklookBucket, key);
  writer->write(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(size));
  writer->commit();

  catalog::Asset a;
  a.key = "quicklook";
  a.path = std::string("/") + kQuicklookBucket + "/" + key;
  a.media_type = "image/png";
  a.roles = {"thumbnail", "overview"};
  a.size = static_cast<std::uint64_t>(size);
  a.title = "Quicklook";
  return a;
}

}  // namespace ds::ingest
