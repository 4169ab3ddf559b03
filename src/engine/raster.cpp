#include "engine/raster.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <list>
#include <mutex>
#include <type_traits>
#include <unordered_map>

#include <fmt/format.h>
#include <gdal_alg.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include "core/error.hpp"

namespace ds::engine {

namespace {

void forget_transformers(const std::string& path);

// Per-thread cache of open datasets (GDAL handles are not safe to share between threads).
class DatasetCache {
 public:
  GDALDataset* open(const std::string& path) {
    auto it = index_.find(path);
    if (it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return it->second->second.get();
    }
    static std::once_flag registered;
    std::call_once(registered, [] { GDALAllRegister(); });
    CPLErrorReset();
    auto* ds = static_cast<GDALDataset*>(
        GDALOpenEx(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
    if (!ds) {
      throw Error(ErrorCode::internal, fmt::format("cannot open raster {}: {}", path, CPLGetLastErrorMsg()));
    }
    order_.emplace_front(path, GDALDatasetUniquePtr(ds));
    index_[path] = order_.begin();
    if (order_.size() > kCapacity) {
      forget_transformers(order_.back().first);  // they may refer to the dataset
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    return ds;
  }
  void clear() {
    index_.clear();
    order_.clear();
  }

 private:
  static constexpr std::size_t kCapacity = 256;
  std::list<std::pair<std::string, GDALDatasetUniquePtr>> order_;
  std::unordered_map<std::string, decltype(order_)::iterator> index_;
};

DatasetCache& thread_cache() {
  thread_local DatasetCache cache;
  return cache;
}

struct TransformerDeleter {
  void operator()(void* t) const { GDALDestroyGenImgProjTransformer(t); }
};

// Per-thread cache of coordinate transformers, keyed by source path and target CRS.
class TransformerCache {
 public:
  void* get(const std::string& path, GDALDataset* ds, const std::string& dst_wkt) {
    const std::string key = path + '\n' + dst_wkt;
    for (auto it = items_.begin(); it != items_.end(); ++it) {
      if (it->first == key) {
        items_.splice(items_.begin(), items_, it);
        return items_.front().second.get();
      }
    }
    char** options = nullptr;
    options = CSLSetNameValue(options, "DST_SRS", dst_wkt.c_str());
    // Radar images are located by a grid of GCPs that follow the terrain heights: a thin-plate
    // spline passes through every one, where GDAL's default polynomial would smooth them away.
    double gt[6];
    if (ds->GetGCPCount() >= 3 && ds->GetGeoTransform(gt) != CE_None)
      options = CSLSetNameValue(options, "METHOD", "GCP_TPS");
    CPLErrorReset();
    std::unique_ptr<void, TransformerDeleter> tr(GDALCreateGenImgProjTransformer2(ds, nullptr, options));
    CSLDestroy(options);
    if (!tr)
      throw Error(ErrorCode::internal,
                  fmt::format("raster {} has no usable georeferencing: {}", path, CPLGetLastErrorMsg()));
    items_.emplace_front(key, std::move(tr));
    if (items_.size() > kCapacity) items_.pop_back();
    return items_.front().second.get();
  }
  void clear() { items_.clear(); }
  void forget(const std::string& path) {
    items_.remove_if([&](const auto& item) { return item.first.compare(0, path.size() + 1, path + '\n') == 0; });
  }

 private:
  static constexpr std::size_t kCapacity = 32;
  std::list<std::pair<std::string, std::unique_ptr<void, TransformerDeleter>>> items_;
};

TransformerCache& thread_transformers() {
  thread_local TransformerCache cache;
  return cache;
}

void forget_transformers(const std::string& path) { thread_transformers().forget(path); }

void* thread_transformer(const std::string& path, GDALDataset* ds, const std::string& dst_wkt) {
  return thread_transformers().get(path, ds, dst_wkt);
}

}  // namespace

float SourceLut::at(double col, double row) const {
  if (rows.empty() || cols.empty() || values.size() != rows.size() * cols.size()) return 1.0f;
  auto locate = [](const std::vector<double>& axis, double v, std::size_t& i, double& t) {
    if (axis.size() == 1 || v <= axis.front()) {
      i = 0;
      t = 0;
      return;
    }
    if (v >= axis.back()) {
      i = axis.size() - 2;
      t = 1;
      return;
    }
    i = static_cast<std::size_t>(std::upper_bound(axis.begin(), axis.end(), v) - axis.begin()) - 1;
    t = (v - axis[i]) / (axis[i + 1] - axis[i]);
  };
  std::size_t r = 0, c = 0;
  double tr = 0, tc = 0;
  locate(rows, row, r, tr);
  locate(cols, col, c, tc);
  const std::size_t r1 = std::min(r + 1, rows.size() - 1), c1 = std::min(c + 1, cols.size() - 1);
  const std::size_t w = cols.size();
  const double top = (1 - tc) * values[r * w + c] + tc * values[r * w + c1];
  const double bottom = (1 - tc) * values[r1 * w + c] + tc * values[r1 * w + c1];
  return static_cast<float>((1 - tr) * top + tr * bottom);
}

void set_block_cache(std::size_t bytes) { GDALSetCacheMax64(static_cast<GIntBig>(bytes)); }

void clear_thread_datasets() {
  thread_transformers().clear();
  thread_cache().clear();
}

std::string georeferencing_key(const std::string& path) {
  GDALDataset* ds = thread_cache().open(path);
  double gt[6];
  const OGRSpatialReference* srs = ds->GetSpatialRef();
  if (ds->GetGeoTransform(gt) != CE_None || !srs || ds->GetMetadata("GEOLOCATION") != nullptr) return path;
  const char* auth = srs->GetAuthorityCode(nullptr);
  std::string crs;
  if (auth) {
    crs = auth;
  } else {
    char* wkt = nullptr;
    srs->exportToWkt(&wkt);
    crs = wkt ? wkt : "";
    CPLFree(wkt);
  }
  return fmt::format("{}x{}|{:.17g},{:.17g},{:.17g},{:.17g},{:.17g},{:.17g}|{}", ds->GetRasterXSize(),
                     ds->GetRasterYSize(), gt[0], gt[1], gt[2], gt[3], gt[4], gt[5], crs);
}

SourceCoords source_coords(const std::string& path, const Grid& grid, int step) {
  GDALDataset* ds = thread_cache().open(path);
  SourceCoords sc;
  sc.source_width = ds->GetRasterXSize();
  sc.source_height = ds->GetRasterYSize();
  // Destination = the output grid; the transformer maps destination pixel/line to source
  // pixel/line through the source's geotransform, GCPs or geolocation arrays.
  // Transformers are cached per thread by source and target CRS: building one over geolocation
  // arrays (Sentinel-3, Sentinel-5P swaths) costs tens of milliseconds, up to seconds for a full
  // OLCI frame; only the destination geotransform changes between requests.
  void* tr = thread_transformer(path, ds, grid.crs.wkt);
  auto gt = grid.transform();
  GDALSetGenImgProjTransformerDstGeoTransform(tr, gt.data());

  const int w = grid.width, h = grid.height;
  const int cols = (w + step - 1) / step + 1, rows = (h + step - 1) / step + 1;
  std::vector<double> cx, cy, cz;
  std::vector<int> ok;
  cx.resize(static_cast<std::size_t>(cols) * rows);
  cy.resize(cx.size());
  // Control points sit at pixel centres (i + 0.5); the last row/column at the far edge.
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      auto i = static_cast<std::size_t>(r) * cols + c;
      cx[i] = std::min(c * step + 0.5, w - 0.5);
      cy[i] = std::min(r * step + 0.5, h - 0.5);
    }
  }
  cz.assign(cx.size(), 0.0);
  ok.assign(cx.size(), 0);
  GDALGenImgProjTransform(tr, TRUE, static_cast<int>(cx.size()), cx.data(), cy.data(), cz.data(), ok.data());

  sc.x.assign(grid.pixels(), std::numeric_limits<float>::quiet_NaN());
  sc.y.assign(grid.pixels(), std::numeric_limits<float>::quiet_NaN());
  // Failed control points become NaN once, so the interpolation below needs no tests: a NaN
  // corner makes its cell's pixels NaN.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 0; i < cx.size(); ++i) {
    if (!ok[i] || !std::isfinite(cx[i])) cx[i] = nan;
    if (!ok[i] || !std::isfinite(cy[i])) cy[i] = nan;
  }
  for (int py = 0; py < h; ++py) {
    const double fy = py + 0.5;
    int r0 = std::min(static_cast<int>(py / step), rows - 2);
    const double y0 = std::min(r0 * step + 0.5, h - 0.5), y1 = std::min((r0 + 1) * step + 0.5, h - 0.5);
    const double ty = y1 > y0 ? (fy - y0) / (y1 - y0) : 0.0;
    const int r1 = std::min(r0 + 1, rows - 1);
    const double* x_top = cx.data() + static_cast<std::size_t>(r0) * cols;
    const double* x_bottom = cx.data() + static_cast<std::size_t>(r1) * cols;
    const double* y_top = cy.data() + static_cast<std::size_t>(r0) * cols;
    const double* y_bottom = cy.data() + static_cast<std::size_t>(r1) * cols;
    for (int px = 0; px < w; ++px) {
      const double fx = px + 0.5;
      int c0 = std::min(static_cast<int>(px / step), cols - 2);
      if (cols < 2) c0 = 0;
      const double x0 = std::min(c0 * step + 0.5, w - 0.5), x1 = std::min((c0 + 1) * step + 0.5, w - 0.5);
      const double tx = x1 > x0 ? (fx - x0) / (x1 - x0) : 0.0;
      const int c1 = std::min(c0 + 1, cols - 1);
      double sx =
          (1 - ty) * ((1 - tx) * x_top[c0] + tx * x_top[c1]) + ty * ((1 - tx) * x_bottom[c0] + tx * x_bottom[c1]);
      double sy =
          (1 - ty) * ((1 - tx) * y_top[c0] + tx * y_top[c1]) + ty * ((1 - tx) * y_bottom[c0] + tx * y_bottom[c1]);
      auto i = static_cast<std::size_t>(py) * w + px;
      sc.x[i] = static_cast<float>(sx);
      sc.y[i] = static_cast<float>(sy);
      if (sx >= 0 && sy >= 0 && sx < sc.source_width && sy < sc.source_height) sc.any_inside = true;
    }
  }
  return sc;
}

struct SourceCoords::Derived {
  bool footprint = false;  // some pixel lands within 2 pixels of the source
  double min_x = 1e300, min_y = 1e300, max_x = -1e300, max_y = -1e300;
  // The window the index was made for, and per output pixel the offset of its nearest sample in
  // that window's buffer (-1: outside the source).
  std::array<double, 7> window{};
  std::vector<std::int32_t> nearest;
};

namespace {

SourceCoords::Derived& derived(const SourceCoords& coords) {
  if (coords.derived) return *coords.derived;
  auto d = std::make_shared<SourceCoords::Derived>();
  for (std::size_t i = 0; i < coords.x.size(); ++i) {
    const float x = coords.x[i], y = coords.y[i];
    if (!std::isfinite(x) || !std::isfinite(y)) continue;
    if (x < -2 || y < -2 || x > coords.source_width + 2 || y > coords.source_height + 2) continue;
    d->min_x = std::min<double>(d->min_x, x);
    d->max_x = std::max<double>(d->max_x, x);
    d->min_y = std::min<double>(d->min_y, y);
    d->max_y = std::max<double>(d->max_y, y);
  }
  d->footprint = d->min_x <= d->max_x;
  coords.derived = std::move(d);
  return *coords.derived;
}

inline double cubic_weight(double t) {
  // Catmull-Rom (a = -0.5), as GDAL's cubic kernel.
  t = std::fabs(t);
  if (t < 1) return (1.5 * t - 2.5) * t * t + 1;
  if (t < 2) return ((-0.5 * t + 2.5) * t - 4) * t + 2;
  return 0;
}

}  // namespace

std::size_t read_band(const BandSource& source, const SourceCoords& coords, const Grid& grid, Resampling resampling,
                      std::span<float> out, std::span<std::uint8_t> valid, bool overwrite) {
  if (!coords.any_inside) {
    if (overwrite) {
      std::fill(out.begin(), out.end(), 0.0f);
      std::fill(valid.begin(), valid.end(), 0);
    }
    return 0;
  }
  GDALDataset* ds = thread_cache().open(source.path);
  if (source.band < 1 || source.band > ds->GetRasterCount())
    throw Error(ErrorCode::internal, fmt::format("raster {} has no band {}", source.path, source.band));
  GDALRasterBand* full = ds->GetRasterBand(source.band);
  const std::size_t n = grid.pixels();

  // Footprint of the grid in full-resolution source pixels, and the scale (source px per output px).
  SourceCoords::Derived& shared = derived(coords);
  const double min_x = shared.min_x, min_y = shared.min_y, max_x = shared.max_x, max_y = shared.max_y;
  if (!shared.footprint) {
    if (overwrite) {
      std::fill(out.begin(), out.end(), 0.0f);
      std::fill(valid.begin(), valid.end(), 0);
    }
    return 0;
  }
  // Source pixels per output pixel, from the centre row/column of the grid.
  auto span_of = [&](std::size_t a, std::size_t b, double px) {
    const double dx = coords.x[b] - coords.x[a], dy = coords.y[b] - coords.y[a];
    return std::sqrt(dx * dx + dy * dy) / px;
  };
  const int w = grid.width, h = grid.height;
  double scale = 1;
  if (w > 1 && h > 1) {
    const std::size_t mid_row = static_cast<std::size_t>(h / 2) * w, mid_col = static_cast<std::size_t>(w / 2);
    const double sx = span_of(mid_row, mid_row + w - 1, w - 1);
    const double sy = span_of(mid_col, mid_col + static_cast<std::size_t>(h - 1) * w, h - 1);
    if (std::isfinite(sx) && std::isfinite(sy)) scale = std::min(sx, sy);
  }
  if (!std::isfinite(scale) || scale <= 0) scale = 1;

  // The coarsest overview that still has at least the output's resolution.
  GDALRasterBand* band = full;
  double factor = 1;
  for (int o = 0; o < full->GetOverviewCount(); ++o) {
    GDALRasterBand* ov = full->GetOverview(o);
    if (!ov || ov->GetXSize() == 0) continue;
    const double f = static_cast<double>(full->GetXSize()) / ov->GetXSize();
    if (f <= scale * 1.0001 && f > factor) {
      band = ov;
      factor = f;
    }
  }
  const int bw = band->GetXSize(), bh = band->GetYSize();
  const int margin = resampling == Resampling::nearest ? 1 : 3;
  int x0 = std::max(0, static_cast<int>(std::floor(min_x / factor)) - margin);
  int y0 = std::max(0, static_cast<int>(std::floor(min_y / factor)) - margin);
  int x1 = std::min(bw, static_cast<int>(std::ceil(max_x / factor)) + margin);
  int y1 = std::min(bh, static_cast<int>(std::ceil(max_y / factor)) + margin);
  if (x1 <= x0 || y1 <= y0) {
    if (overwrite) {
      std::fill(out.begin(), out.end(), 0.0f);
      std::fill(valid.begin(), valid.end(), 0);
    }
    return 0;
  }
  // Very large windows without overviews (no pyramid) are read decimated by GDAL itself.
  int ww = x1 - x0, wh = y1 - y0;
  double decim = 1;
  constexpr double kMaxWindowPixels = 32.0 * 1024 * 1024;
  if (static_cast<double>(ww) * wh > kMaxWindowPixels)
    decim = std::sqrt(static_cast<double>(ww) * wh / kMaxWindowPixels);
  const int bufw = std::max(1, static_cast<int>(ww / decim)), bufh = std::max(1, static_cast<int>(wh / decim));
  std::vector<float> buf(static_cast<std::size_t>(bufw) * bufh);
  GDALRasterIOExtraArg extra;
  INIT_RASTERIO_EXTRA_ARG(extra);
  extra.eResampleAlg = GRIORA_NearestNeighbour;
  CPLErrorReset();
  if (band->RasterIO(GF_Read, x0, y0, ww, wh, buf.data(), bufw, bufh, GDT_Float32, 0, 0, &extra) != CE_None)
    throw Error(ErrorCode::internal, fmt::format("cannot read {}: {}", source.path, CPLGetLastErrorMsg()));

  int has_nodata = 0;
  double nodata = full->GetNoDataValue(&has_nodata);
  if (source.nodata) {
    nodata = *source.nodata;
    has_nodata = 1;
  }
  const auto nd = static_cast<float>(nodata);
  // Calibration works on the samples at their own source coordinates, before resampling.
  if (const Calibration* cal = source.calibration.get()) {
    const double to_full_x = factor * ww / bufw, to_full_y = factor * wh / bufh;
    for (int r = 0; r < bufh; ++r) {
      const double row = (r + 0.5) * to_full_y + y0 * factor;
      for (int c = 0; c < bufw; ++c) {
        float& v = buf[static_cast<std::size_t>(r) * bufw + c];
        if (std::isnan(v) || (has_nodata && v == nd)) continue;
        const double col = (c + 0.5) * to_full_x + x0 * factor;
        const double g = cal->gain.at(col, row);
        if (cal->power) {
          double p = static_cast<double>(v) * v - (cal->noise ? cal->noise->at(col, row) : 0.0);
          v = static_cast<float>(std::max(p, 0.0) / (g * g));
        } else {
          v = static_cast<float>(v / g);
        }
        if (has_nodata && v == nd) v = std::nextafter(nd, std::numeric_limits<float>::max());
      }
    }
  }
  auto usable = [&](float v) { return !std::isnan(v) && !(has_nodata && v == nd); };
  // Source full-res pixel coordinate → buffer coordinate.
  const double kx = 1.0 / factor * bufw / ww, ky = 1.0 / factor * bufh / wh;
  const double ox = x0 * static_cast<double>(bufw) / ww, oy = y0 * static_cast<double>(bufh) / wh;

  std::size_t written = 0;
  // Bilinear and bicubic: a kernel around each pixel's source position.
  auto sample_kernel = [&] {
    for (std::size_t i = 0; i < n; ++i) {
      const double sx = coords.x[i] * kx - ox, sy = coords.y[i] * ky - oy;
      const bool inside_source = coords.x[i] >= 0 && coords.y[i] >= 0 && coords.x[i] < coords.source_width &&
                                 coords.y[i] < coords.source_height;
      float value = 0;
      bool ok = false;
      if (inside_source && std::isfinite(sx) && std::isfinite(sy)) {
        // Pixel centres at +0.5: kernel around (sx - 0.5, sy - 0.5); taps that are nodata or
        // outside are dropped and the weights renormalised.
        const double fx = sx - 0.5, fy = sy - 0.5;
        const int cx = static_cast<int>(std::floor(fx)), cy = static_cast<int>(std::floor(fy));
        const double tx = fx - cx, ty = fy - cy;
        const int lo = resampling == Resampling::bilinear ? 0 : -1, hi = resampling == Resampling::bilinear ? 1 : 2;
        double sum = 0, wsum = 0;
        for (int dy = lo; dy <= hi; ++dy) {
          const int yy = cy + dy;
          if (yy < 0 || yy >= bufh) continue;
          const double wy = resampling == Resampling::bilinear ? (dy == 0 ? 1 - ty : ty) : cubic_weight(dy - ty);
          for (int dx = lo; dx <= hi; ++dx) {
            const int xx = cx + dx;
            if (xx < 0 || xx >= bufw) continue;
            const float v = buf[static_cast<std::size_t>(yy) * bufw + xx];
            if (!usable(v)) continue;
            const double wx = resampling == Resampling::bilinear ? (dx == 0 ? 1 - tx : tx) : cubic_weight(dx - tx);
            sum += wx * wy * v;
            wsum += wx * wy;
          }
        }
        // The nearest sample decides whether there is data at all.
        const int ix = std::clamp(static_cast<int>(sx), 0, bufw - 1),
                  iy = std::clamp(static_cast<int>(sy), 0, bufh - 1);
        ok = usable(buf[static_cast<std::size_t>(iy) * bufw + ix]) && std::fabs(wsum) > 1e-9;
        if (ok) value = static_cast<float>(sum / wsum);
      }
      if (ok) {
        out[i] = value;
        valid[i] = 1;
        ++written;
      } else if (overwrite) {
        out[i] = 0;
        valid[i] = 0;
      }
    }
  };
  if (resampling == Resampling::nearest) {
    // The sample each pixel takes depends on the coordinates and the window only: made once for
    // the bands read through the same window, then a gather per band.
    const std::array<double, 7> window{static_cast<double>(x0),
                                       static_cast<double>(y0),
                                       static_cast<double>(ww),
                                       static_cast<double>(wh),
                                       static_cast<double>(bufw),
                                       static_cast<double>(bufh),
                                       factor};
    if (shared.nearest.size() != n || shared.window != window) {
      shared.window = window;
      shared.nearest.assign(n, -1);
      for (std::size_t i = 0; i < n; ++i) {
        const double sx = coords.x[i] * kx - ox, sy = coords.y[i] * ky - oy;
        const bool inside_source = coords.x[i] >= 0 && coords.y[i] >= 0 && coords.x[i] < coords.source_width &&
                                   coords.y[i] < coords.source_height;
        if (!inside_source || !std::isfinite(sx) || !std::isfinite(sy)) continue;
        const int ix = std::clamp(static_cast<int>(sx), 0, bufw - 1),
                  iy = std::clamp(static_cast<int>(sy), 0, bufh - 1);
        shared.nearest[i] = static_cast<std::int32_t>(static_cast<std::size_t>(iy) * bufw + ix);
      }
    }
    const std::int32_t* index = shared.nearest.data();
    for (std::size_t i = 0; i < n; ++i) {
      if (index[i] >= 0) {
        const float value = buf[static_cast<std::size_t>(index[i])];
        if (usable(value)) {
          out[i] = value;
          valid[i] = 1;
          ++written;
          continue;
        }
      }
      if (overwrite) {
        out[i] = 0;
        valid[i] = 0;
      }
    }
  } else {
    sample_kernel();
  }
  return written;
}

}  // namespace ds::engine
