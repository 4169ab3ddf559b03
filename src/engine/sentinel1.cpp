// Sentinel-1 GRD calibration: the annotation's calibration vectors (sigmaNought, betaNought,
// gamma per line and pixel) and thermal noise vectors (range LUT per line, times the azimuth LUT
// of each swath block when the product has one) as LUTs over full-resolution image coordinates,
// applied as (DN^2 - noise) / A^2.

#include <cpl_conv.h>
#include <cpl_minixml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "engine/sources_internal.hpp"
#include "storage/object_store.hpp"

namespace ds::engine::detail {

namespace {

struct XmlDeleter {
  void operator()(CPLXMLNode* n) const { CPLDestroyXMLNode(n); }
};
using XmlPtr = std::unique_ptr<CPLXMLNode, XmlDeleter>;

XmlPtr parse_xml(const std::string& text, const std::string& key) {
  XmlPtr root(CPLParseXMLString(text.c_str()));
  if (!root) throw Error(ErrorCode::unprocessable, fmt::format("{} is not well-formed XML", key));
  CPLStripXMLNamespace(root.get(), nullptr, TRUE);
  return root;
}

std::vector<double> numbers(const char* text) {
  std::vector<double> out;
  if (text == nullptr) return out;
  const char* p = text;
  for (;;) {
    while (*p != '\0' && std::isspace(static_cast<unsigned char>(*p))) ++p;
    if (*p == '\0') break;
    char* end = nullptr;
    const double v = std::strtod(p, &end);
    if (end == p) break;
    out.push_back(v);
    p = end;
  }
  return out;
}

// One vector of an annotation list: a line and values at pixel positions.
struct Vector {
  double line = 0;
  std::vector<double> pixels, values;
  // Linear interpolation along the pixels, clamped at the ends.
  double at(double pixel) const {
    if (pixels.size() == 1 || pixel <= pixels.front()) return values.front();
    if (pixel >= pixels.back()) return values.back();
    auto i = static_cast<std::size_t>(std::upper_bound(pixels.begin(), pixels.end(), pixel) - pixels.begin()) - 1;
    const double t = (pixel - pixels[i]) / (pixels[i + 1] - pixels[i]);
    return values[i] * (1 - t) + values[i + 1] * t;
  }
};

const CPLXMLNode* child(const CPLXMLNode* node, const char* name) {
  return CPLGetXMLNode(const_cast<CPLXMLNode*>(node), name);
}

// The vectors of `<list>` (children named `item`), reading the values of element `value`.
std::vector<Vector> read_vectors(const CPLXMLNode* list, const char* item, const char* value, const std::string& key) {
  std::vector<Vector> out;
  if (list == nullptr) return out;
  for (const CPLXMLNode* n = list->psChild; n != nullptr; n = n->psNext) {
    if (n->eType != CXT_Element || std::string(n->pszValue) != item) continue;
    Vector v;
    const char* line = CPLGetXMLValue(const_cast<CPLXMLNode*>(n), "line", nullptr);
    v.pixels = numbers(CPLGetXMLValue(const_cast<CPLXMLNode*>(n), "pixel", nullptr));
    v.values = numbers(CPLGetXMLValue(const_cast<CPLXMLNode*>(n), value, nullptr));
    if (line == nullptr || v.pixels.empty() || v.pixels.size() != v.values.size())
      throw Error(ErrorCode::unprocessable,
                  fmt::format("{}: {} without line, pixels or {} of the same length", key, item, value));
    if (!std::is_sorted(v.pixels.begin(), v.pixels.end()))
      throw Error(ErrorCode::unprocessable, fmt::format("{}: {} pixels are not ascending", key, item));
    v.line = std::strtod(line, nullptr);
    out.push_back(std::move(v));
  }
  std::stable_sort(out.begin(), out.end(), [](const Vector& a, const Vector& b) { return a.line < b.line; });
  return out;
}

// Sorted unique positions; when there are more than `cap`, `cap` evenly spaced ones over the range.
std::vector<double> axis(std::set<double> positions, std::size_t cap) {
  std::vector<double> out(positions.begin(), positions.end());
  if (out.size() > cap && cap >= 2) {
    const double lo = out.front(), hi = out.back();
    out.resize(cap);
    for (std::size_t i = 0; i < cap; ++i) out[i] = lo + (hi - lo) * static_cast<double>(i) / (cap - 1);
  }
  return out;
}

constexpr std::size_t kMaxAxis = 2048;

// The value at (line, pixel) from vectors at increasing lines: along each vector by pixel, then
// linearly between the two vectors around the line (clamped).
double between_vectors(const std::vector<Vector>& vectors, double line, double pixel) {
  if (vectors.size() == 1 || line <= vectors.front().line) return vectors.front().at(pixel);
  if (line >= vectors.back().line) return vectors.back().at(pixel);
  std::size_t i = 0;
  while (i + 2 < vectors.size() && vectors[i + 1].line <= line) ++i;
  const double span = vectors[i + 1].line - vectors[i].line;
  const double t = span > 0 ? (line - vectors[i].line) / span : 0.0;
  return vectors[i].at(pixel) * (1 - t) + vectors[i + 1].at(pixel) * t;
}

// Annotation indices name pixels; the engine samples at pixel centres (index + 0.5).
SourceLut lut_from_vectors(const std::vector<Vector>& vectors) {
  SourceLut lut;
  std::set<double> lines, pixels;
  for (const auto& v : vectors) {
    lines.insert(v.line);
    pixels.insert(v.pixels.begin(), v.pixels.end());
  }
  const auto rows = axis(lines, kMaxAxis), cols = axis(pixels, kMaxAxis);
  lut.values.reserve(rows.size() * cols.size());
  for (double r : rows)
    for (double c : cols) lut.values.push_back(static_cast<float>(between_vectors(vectors, r, c)));
  for (double r : rows) lut.rows.push_back(r + 0.5);
  for (double c : cols) lut.cols.push_back(c + 0.5);
  return lut;
}

// A noise azimuth block: a rectangle of the image and the azimuth LUT along its lines.
struct AzimuthBlock {
  double first_line = 0, last_line = 0, first_sample = 0, last_sample = 0;
  Vector lut;  // "pixels" are lines here
};

double azimuth_factor(const std::vector<AzimuthBlock>& blocks, double line, double pixel) {
  for (const auto& b : blocks) {
    if (line >= b.first_line && line <= b.last_line && pixel >= b.first_sample && pixel <= b.last_sample)
      return b.lut.at(line);
  }
  return 1.0;
}

struct S1Luts {
  SourceLut sigma, beta, gamma;
  std::optional<SourceLut> noise;
};

S1Luts parse_calibration(const std::string& text, const std::string& key) {
  auto root = parse_xml(text, key);
  const CPLXMLNode* list = CPLGetXMLNode(root.get(), "=calibration.calibrationVectorList");
  if (list == nullptr) throw Error(ErrorCode::unprocessable, fmt::format("{}: no calibrationVectorList", key));
  S1Luts out;
  auto sigma = read_vectors(list, "calibrationVector", "sigmaNought", key);
  if (sigma.empty()) throw Error(ErrorCode::unprocessable, fmt::format("{}: no calibration vectors", key));
  out.sigma = lut_from_vectors(sigma);
  out.beta = lut_from_vectors(read_vectors(list, "calibrationVector", "betaNought", key));
  out.gamma = lut_from_vectors(read_vectors(list, "calibrationVector", "gamma", key));
  return out;
}

std::optional<SourceLut> parse_noise(const std::string& text, const std::string& key) {
  auto root = parse_xml(text, key);
  const CPLXMLNode* noise = CPLGetXMLNode(root.get(), "=noise");
  if (noise == nullptr) throw Error(ErrorCode::unprocessable, fmt::format("{}: not a noise annotation", key));
  // IPF 2.9 and later: range vectors and azimuth blocks; before: noiseVectorList/noiseLut.
  std::vector<Vector> range;
  if (const CPLXMLNode* list = child(noise, "noiseRangeVectorList"))
    range = read_vectors(list, "noiseRangeVector", "noiseRangeLut", key);
  else if (const CPLXMLNode* old = child(noise, "noiseVectorList"))
    range = read_vectors(old, "noiseVector", "noiseLut", key);
  if (range.empty()) return std::nullopt;

  std::vector<AzimuthBlock> blocks;
  bool flat = true;
  if (const CPLXMLNode* list = child(noise, "noiseAzimuthVectorList")) {
    for (const CPLXMLNode* n = list->psChild; n != nullptr; n = n->psNext) {
      if (n->eType != CXT_Element || std::string(n->pszValue) != "noiseAzimuthVector") continue;
      auto* node = const_cast<CPLXMLNode*>(n);
      AzimuthBlock b;
      b.first_line = CPLAtof(CPLGetXMLValue(node, "firstAzimuthLine", "0"));
      b.last_line = CPLAtof(CPLGetXMLValue(node, "lastAzimuthLine", "0"));
      b.first_sample = CPLAtof(CPLGetXMLValue(node, "firstRangeSample", "0"));
      b.last_sample = CPLAtof(CPLGetXMLValue(node, "lastRangeSample", "0"));
      b.lut.pixels = numbers(CPLGetXMLValue(node, "line", nullptr));
      b.lut.values = numbers(CPLGetXMLValue(node, "noiseAzimuthLut", nullptr));
      if (b.lut.values.empty() || b.lut.pixels.size() != b.lut.values.size() ||
          !std::is_sorted(b.lut.pixels.begin(), b.lut.pixels.end()))
        throw Error(ErrorCode::unprocessable, fmt::format("{}: bad noiseAzimuthVector", key));
      for (double v : b.lut.values) flat = flat && std::fabs(v - 1.0) < 1e-9;
      blocks.push_back(std::move(b));
    }
  }
  if (blocks.empty() || flat) return lut_from_vectors(range);

  // Range LUT times the azimuth LUT of the block each node falls in, on a grid that has nodes on
  // both sides of every block edge so the product stays sharp where swaths meet.
  std::set<double> lines, pixels;
  for (const auto& v : range) {
    lines.insert(v.line);
    pixels.insert(v.pixels.begin(), v.pixels.end());
  }
  for (const auto& b : blocks) {
    lines.insert(b.lut.pixels.begin(), b.lut.pixels.end());
    for (double l : {b.first_line, b.last_line, b.first_line - 0.5, b.last_line + 0.5}) lines.insert(l);
    for (double s : {b.first_sample, b.last_sample, b.first_sample - 0.5, b.last_sample + 0.5}) pixels.insert(s);
  }
  const auto rows = axis(lines, kMaxAxis), cols = axis(pixels, kMaxAxis);
  SourceLut lut;
  lut.values.reserve(rows.size() * cols.size());
  for (double r : rows)
    for (double c : cols)
      lut.values.push_back(static_cast<float>(between_vectors(range, r, c) * azimuth_factor(blocks, r, c)));
  for (double r : rows) lut.rows.push_back(r + 0.5);
  for (double c : cols) lut.cols.push_back(c + 0.5);
  return lut;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The annotation asset of `kind` ("calibration", "noise") for the polarisation: by the ingest's
// asset key, else by the file name pattern annotation/calibration/<kind>-*-<pol>-*.xml.
const catalog::Asset* annotation_asset(const catalog::Product& product, const std::string& kind,
                                       const std::string& pol) {
  if (const auto* a = find_asset(product, "schema-" + kind + "-" + pol)) return a;
  const std::string prefix = "annotation/calibration/" + kind + "-";
  for (const auto& a : product.assets) {
    if (a.path.rfind(prefix, 0) == 0 && a.path.find("-" + pol + "-") != std::string::npos) return &a;
  }
  return nullptr;
}

// One geolocation grid quantity as vectors per line, for lut_from_vectors.
struct GridVectors {
  std::vector<Vector> height, incidence, range_time;
};

GridVectors geolocation_vectors(const CPLXMLNode* list, const std::string& key) {
  std::map<double, std::size_t> rows;
  GridVectors g;
  for (const CPLXMLNode* n = list->psChild; n != nullptr; n = n->psNext) {
    if (n->eType != CXT_Element || std::string(n->pszValue) != "geolocationGridPoint") continue;
    auto* node = const_cast<CPLXMLNode*>(n);
    const char* line = CPLGetXMLValue(node, "line", nullptr);
    const char* pixel = CPLGetXMLValue(node, "pixel", nullptr);
    const char* height = CPLGetXMLValue(node, "height", nullptr);
    const char* incidence = CPLGetXMLValue(node, "incidenceAngle", nullptr);
    const char* range_time = CPLGetXMLValue(node, "slantRangeTime", nullptr);
    if (!line || !pixel || !height || !incidence || !range_time)
      throw Error(ErrorCode::unprocessable,
                  fmt::format("{}: geolocationGridPoint without line, pixel, height, incidenceAngle or "
                              "slantRangeTime",
                              key));
    const double l = CPLAtof(line);
    auto [it, fresh] = rows.emplace(l, g.height.size());
    if (fresh) {
      for (auto* v : {&g.height, &g.incidence, &g.range_time}) v->push_back(Vector{l, {}, {}});
    }
    const double px = CPLAtof(pixel);
    g.height[it->second].pixels.push_back(px);
    g.height[it->second].values.push_back(CPLAtof(height));
    g.incidence[it->second].pixels.push_back(px);
    g.incidence[it->second].values.push_back(CPLAtof(incidence));
    g.range_time[it->second].pixels.push_back(px);
    g.range_time[it->second].values.push_back(CPLAtof(range_time));
  }
  for (auto* vs : {&g.height, &g.incidence, &g.range_time}) {
    for (auto& v : *vs) {
      // Points come in pixel order in every product seen; sort defensively, keeping pairs together.
      std::vector<std::size_t> order(v.pixels.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return v.pixels[a] < v.pixels[b]; });
      Vector sorted{v.line, {}, {}};
      for (auto i : order) {
        sorted.pixels.push_back(v.pixels[i]);
        sorted.values.push_back(v.values[i]);
      }
      v = std::move(sorted);
    }
    std::stable_sort(vs->begin(), vs->end(), [](const Vector& a, const Vector& b) { return a.line < b.line; });
  }
  return g;
}

RadarGeometry parse_geometry(const std::string& text, const std::string& key) {
  auto root = parse_xml(text, key);
  const CPLXMLNode* list = CPLGetXMLNode(root.get(), "=product.geolocationGrid.geolocationGridPointList");
  const char* spacing =
      CPLGetXMLValue(root.get(), "=product.imageAnnotation.imageInformation.rangePixelSpacing", nullptr);
  if (list == nullptr || spacing == nullptr)
    throw Error(ErrorCode::unprocessable, fmt::format("{}: no geolocationGridPointList or rangePixelSpacing", key));
  auto g = geolocation_vectors(list, key);
  if (g.height.empty()) throw Error(ErrorCode::unprocessable, fmt::format("{}: empty geolocation grid", key));
  RadarGeometry out;
  out.range_spacing = CPLAtof(spacing);
  if (!(out.range_spacing > 0))
    throw Error(ErrorCode::unprocessable, fmt::format("{}: rangePixelSpacing must be positive", key));
  out.height = lut_from_vectors(g.height);
  out.incidence = lut_from_vectors(g.incidence);
  const auto& first = g.range_time.front();
  out.range_direction = first.values.back() >= first.values.front() ? 1.0 : -1.0;
  return out;
}

}  // namespace

std::optional<BandSource> sentinel1_source(const catalog::Product& product, const catalog::Band& band,
                                           const SourceOptions& options, const storage::ObjectStore& objects) {
  if (options.unit == "DN") return std::nullopt;
  const std::string pol = lower(band.name);
  if (pol != "vv" && pol != "vh" && pol != "hh" && pol != "hv") return std::nullopt;
  const std::string& coeff = options.back_coeff.empty() ? std::string("GAMMA0_ELLIPSOID") : options.back_coeff;
  if (coeff == "GAMMA0_TERRAIN")
    throw Error(ErrorCode::not_implemented, "backCoeff GAMMA0_TERRAIN (terrain flattening) is not supported yet",
                "backCoeff");
  if (coeff != "SIGMA0_ELLIPSOID" && coeff != "BETA0" && coeff != "GAMMA0_ELLIPSOID")
    throw Error(ErrorCode::invalid_parameter,
                fmt::format("backCoeff '{}' is not one of BETA0, SIGMA0_ELLIPSOID, GAMMA0_ELLIPSOID", coeff),
                "backCoeff");

  const catalog::Asset* measurement = find_asset(product, band.asset.empty() ? pol : band.asset);
  if (measurement == nullptr)
    throw Error(ErrorCode::unprocessable, fmt::format("product {} has no {} measurement", product.name, band.name));
  const catalog::Asset* cal = annotation_asset(product, "calibration", pol);
  const catalog::Asset* noise = annotation_asset(product, "noise", pol);
  if (cal == nullptr)
    throw Error(ErrorCode::unprocessable,
                fmt::format("product {} has no calibration annotation for {}", product.name, band.name));

  // Parsed once per file version; a few hundred KB per polarisation of a full product at most.
  static LruCache<S1Luts> cache(256);
  const std::string cal_key = product.key + "/" + cal->path;
  const std::string noise_key = noise != nullptr ? product.key + "/" + noise->path : std::string();
  const std::string version = object_version(objects, product.bucket, cal_key) + "|" +
                              (noise != nullptr ? object_version(objects, product.bucket, noise_key) : "");
  auto luts = cache.get_or_make(version, [&] {
    S1Luts l = parse_calibration(read_object(objects, product.bucket, cal_key), cal_key);
    if (noise != nullptr) l.noise = parse_noise(read_object(objects, product.bucket, noise_key), noise_key);
    return l;
  });

  // One Calibration per (file version, coefficient), shared by every request that reads it.
  static LruCache<Calibration> calibrations(512);
  auto calibration = calibrations.get_or_make(version + "|" + coeff, [&] {
    Calibration c;
    c.gain = coeff == "SIGMA0_ELLIPSOID" ? luts->sigma : coeff == "BETA0" ? luts->beta : luts->gamma;
    c.noise = luts->noise;
    c.power = true;
    return c;
  });

  BandSource src;
  src.path = objects.vsi_path(product.bucket, product.key + "/" + measurement->path);
  src.band = 1;
  src.nodata = 0.0;  // DN 0 is the no-data border of GRD products
  src.calibration = std::move(calibration);
  return src;
}

}  // namespace ds::engine::detail

namespace ds::engine {

std::shared_ptr<const RadarGeometry> radar_geometry(const catalog::Product& product, const catalog::Band& band,
                                                    const storage::ObjectStore& objects) {
  if (product.collection != "SENTINEL-1" || product.product_type.find("GRD") == std::string::npos) return nullptr;
  const std::string pol = detail::lower(band.name);
  const catalog::Asset* annotation = detail::find_asset(product, "schema-product-" + pol);
  if (annotation == nullptr) return nullptr;
  static detail::LruCache<RadarGeometry> cache(256);
  const std::string key = product.key + "/" + annotation->path;
  const std::string version = detail::object_version(objects, product.bucket, key);
  return cache.get_or_make(
      version, [&] { return detail::parse_geometry(detail::read_object(objects, product.bucket, key), key); });
}

void orthorectify(SourceCoords& coords, const RadarGeometry& geometry, std::span<const float> heights) {
  constexpr double kDeg = M_PI / 180.0;
  const std::size_t n = std::min(heights.size(), coords.x.size());
  bool inside = false;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = coords.x[i], y = coords.y[i], h = heights[i];
    if (std::isnan(x) || std::isnan(y)) continue;
    double moved = x;
    if (!std::isnan(h)) {
      const double incidence = geometry.incidence.at(x, y) * kDeg;
      const double t = std::tan(std::clamp(incidence, 1.0 * kDeg, 89.0 * kDeg));
      const double shift = (h - geometry.height.at(x, y)) / (t * geometry.range_spacing);
      moved = x - geometry.range_direction * shift;
      coords.x[i] = static_cast<float>(moved);
    }
    inside = inside || (moved >= 0 && moved < coords.source_width && y >= 0 && y < coords.source_height);
  }
  coords.any_inside = inside;
  coords.derived.reset();
}

}  // namespace ds::engine
