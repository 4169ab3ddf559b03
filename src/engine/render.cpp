#include "engine/render.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>

#include "catalog/query.hpp"
#include "catalog/store.hpp"
#include "core/error.hpp"
#include "core/time.hpp"
#include "engine/encode.hpp"
#include "engine/sources.hpp"
#include "evalscript/script.hpp"
#include "storage/object_store.hpp"

namespace ds::engine {

namespace {

using catalog::Product;
namespace es = ds::evalscript;

// One product picked for an input, in mosaicking order.
struct Scene {
  const Product* product;
  std::optional<double> cloud;
};

// What the evalscript sees as one "scene" slot: a mosaic of one or more products (SIMPLE: all of
// them; ORBIT: those of one UTC day; TILE: one product).
struct Slot {
  std::vector<const Scene*> scenes;
  catalog::Time date_from{}, date_to{};
};

std::string base_name(const std::string& name) {
  std::string b = name;
  if (auto p = b.find("_COG.SAFE"); p != std::string::npos) b.erase(p, 4);
  return b;
}

bool is_cog_product(const Product& p) {
  return p.name.find("_COG") != std::string::npos || p.product_type.ends_with("-COG");
}

std::vector<Product> find_products(const RenderContext& ctx, const DataInput& in, const Grid& grid) {
  using namespace catalog;
  std::vector<ExprPtr> where;
  where.push_back(compare(Field::collection, CompareOp::eq, in.collection->mission));
  if (!in.collection->product_types.empty()) {
    std::vector<AttributeValue> types(in.collection->product_types.begin(), in.collection->product_types.end());
    where.push_back(catalog::in(Field::product_type, std::move(types)));
  }
  for (const auto& part : in.product_type_contains)
    where.push_back(match(Field::product_type, TextMatch::contains, part));
  where.push_back(compare(Field::sensing_start, CompareOp::le, in.to));
  where.push_back(compare(Field::sensing_end, CompareOp::ge, in.from));
  where.push_back(spatial(SpatialOp::intersects, grid.wgs84_wkt()));
  if (in.max_cloud && *in.max_cloud < 100) where.push_back(attribute("cloudCover", CompareOp::le, *in.max_cloud));
  for (const auto& [name, value] : in.attributes) where.push_back(attribute(name, CompareOp::eq, value));
  Query q;
  q.where = all_of(std::move(where));
  q.limit = std::min<std::size_t>(ctx.max_scenes * 2, 10000);
  SortKey by_time;
  by_time.field = Field::sensing_start;
  by_time.descending = in.order != MosaickingOrder::least_recent;
  if (in.order == MosaickingOrder::least_cc) {
    SortKey by_cloud;
    by_cloud.attribute = "cloudCover";
    by_cloud.attribute_type = AttributeType::double_;
    q.sort = {by_cloud, by_time};
  } else {
    q.sort = {by_time};
  }
  auto found = ctx.catalog.search(q).products;
  // The same acquisition may be stored twice (SAFE with JPEG 2000 and SAFE-COG): keep one, the COG.
  std::vector<Product> kept;
  std::unordered_map<std::string, std::size_t> seen;
  for (auto& p : found) {
    if (!p.online) continue;
    auto key = base_name(p.name);
    if (auto it = seen.find(key); it != seen.end()) {
      if (is_cog_product(p) && !is_cog_product(kept[it->second])) kept[it->second] = std::move(p);
      continue;
    }
    seen[key] = kept.size();
    kept.push_back(std::move(p));
  }
  if (kept.size() > ctx.max_scenes) kept.resize(ctx.max_scenes);
  return kept;
}

// The product's asset carrying `band` of the collection.
const catalog::Asset* band_asset(const Product& p, const catalog::Band& band) {
  for (const auto& a : p.assets)
    if (a.key == band.asset) return &a;
  for (const auto& a : p.assets)
    if (std::find(a.bands.begin(), a.bands.end(), band.name) != a.bands.end()) return &a;
  return nullptr;
}

// Sentinel-2 processing baseline 04.00 and later add 1000 to every DN (BOA/RADIO_ADD_OFFSET).
double baseline_offset(const Product& p) {
  if (p.collection != "SENTINEL-2") return 0;
  const auto* a = p.attribute("processingBaseline");
  if (!a) return 0;
  const auto* s = std::get_if<std::string>(&a->value);
  if (!s) return 0;
  try {
    return std::stod(*s) >= 4.0 ? -1000.0 : 0.0;
  } catch (...) {
    return 0;
  }
}

std::string iso(catalog::Time t) { return format_iso8601(t); }

catalog::Time day_start(catalog::Time t) {
  using namespace std::chrono;
  return time_point_cast<system_clock::duration>(floor<days>(t));
}

// The bands one input reads, resolved against its collection ("dataMask" is synthesised).
struct BoundBand {
  std::string name;
  const catalog::Band* band = nullptr;  // null for dataMask
  std::string unit;
};

struct BoundInput {
  const DataInput* data;
  es::InputSpec spec;
  es::Mosaicking mosaicking;
  std::vector<BoundBand> bands;
  std::vector<Product> products;
  std::vector<Scene> scenes;
  std::vector<Slot> slots;
  std::vector<float> values;  // band-major per slot, full grid
  std::size_t contributing = 0;
  std::string extra_type_filter;  // product type must contain this (Sentinel-5P species)
};

Resampling resampling_for(const DataInput& in, const catalog::Band& band, const Grid& grid) {
  // Upsampling when the output pixel is finer than the band's native resolution.
  double out_res = (grid.max_x - grid.min_x) / grid.width;
  if (grid.crs.geographic) out_res *= 111320.0 * std::cos((grid.min_y + grid.max_y) / 2 * M_PI / 180);
  if (band.sample_type == "UINT8" && band.name == "SCL") return Resampling::nearest;  // classes
  return out_res < band.resolution ? in.upsampling : in.downsampling;
}

// How a band's stored values become the unit the script asked for, decided once per band and
// scene: value = (dn + pre) * scale + post, then max(value, 0) when `clamp`; or dB.
struct Conversion {
  bool db = false;
  bool clamp = false;
  double pre = 0, scale = 1, post = 0;
  double operator()(double dn) const {
    if (db) return dn > 0 ? 10.0 * std::log10(dn) : -std::numeric_limits<double>::infinity();
    const double v = (dn + pre) * scale + post;
    return clamp ? std::max(v, 0.0) : v;
  }
};

Conversion conversion(const BoundBand& b, double offset, bool harmonize) {
  const auto& band = *b.band;
  Conversion c;
  if (b.unit == "DB") {
    c.db = true;
    return c;
  }
  if (band.scale && band.name != "SCL") {
    c.clamp = harmonize;
    if (b.unit == "DN") {
      c.pre = harmonize ? offset : 0.0;
    } else {
      c.pre = offset;
      c.scale = *band.scale;
      c.post = band.offset.value_or(0.0);
    }
  }
  return c;
}

// How to read `band` of `p` (mission-specific or the band's asset file) and where the grid's
// pixels fall in it (shared by bands with the same georeferencing, through `coords`).
// With `heights` (DEM heights on the grid), radar images are orthorectified.
std::pair<BandSource, const SourceCoords*> band_source(const RenderContext& ctx, const Product& p,
                                                       const catalog::Band& band, const catalog::Asset& asset,
                                                       const std::string& unit, const DataInput& in, const Grid& grid,
                                                       std::unordered_map<std::string, SourceCoords>& coords,
                                                       const std::vector<float>* heights = nullptr) {
  BandSource src;
  if (auto special = mission_band_source(p, band, SourceOptions{unit, in.back_coeff, in.min_qa}, ctx.objects)) {
    src = std::move(*special);
  } else {
    src.path = ctx.objects.vsi_path(p.bucket, p.key + "/" + asset.path);
    src.nodata = band.nodata;
  }
  std::shared_ptr<const RadarGeometry> radar;
  if (heights) radar = radar_geometry(p, band, ctx.objects);
  std::string key = georeferencing_key(src.path);
  if (radar) key += "|orthorectified";
  auto it = coords.find(key);
  if (it == coords.end()) {
    it = coords.emplace(key, source_coords(src.path, grid)).first;
    if (radar) orthorectify(it->second, *radar, *heights);
  }
  return {std::move(src), &it->second};
}

// The heights of `dem` on the grid (bilinear, newest product first where tiles overlap); NaN where
// no DEM product covers a pixel.
std::vector<float> dem_heights(const RenderContext& ctx, const Grid& grid, const catalog::Collection& dem) {
  std::vector<float> heights(grid.pixels(), std::numeric_limits<float>::quiet_NaN());
  const catalog::Band* band = dem.band("DEM");
  if (!band) band = dem.bands.empty() ? nullptr : &dem.bands.front();
  if (!band) return heights;
  DataInput in;
  in.collection = &dem;
  in.from = catalog::Time{};
  in.to = std::chrono::system_clock::now();
  std::vector<float> tmp(grid.pixels());
  std::vector<std::uint8_t> valid(grid.pixels());
  std::size_t remaining = heights.size();
  for (const auto& p : find_products(ctx, in, grid)) {
    const catalog::Asset* asset = band_asset(p, *band);
    if (!asset) continue;
    BandSource src;
    src.path = ctx.objects.vsi_path(p.bucket, p.key + "/" + asset->path);
    src.nodata = band->nodata;
    const SourceCoords coords = source_coords(src.path, grid);
    if (!coords.any_inside) continue;
    read_band(src, coords, grid, Resampling::bilinear, tmp, valid, true);
    for (std::size_t i = 0; i < heights.size(); ++i) {
      if (valid[i] && std::isnan(heights[i])) {
        heights[i] = tmp[i];
        --remaining;
      }
    }
    if (remaining == 0) break;
  }
  return heights;
}

// Reads every slot of one input onto the grid.
void load_input(const RenderContext& ctx, const Grid& grid, const std::vector<std::uint8_t>& geometry_mask,
                BoundInput& in) {
  const std::size_t n = grid.pixels();
  const std::size_t nb = in.bands.size();
  in.values.assign(in.slots.size() * nb * n, 0.0f);
  std::vector<float> tmp(n);
  std::vector<std::uint8_t> valid(n), scene_valid(n), filled(n);
  std::unordered_map<std::string, SourceCoords> coords_cache;
  std::vector<bool> product_used(in.scenes.size(), false);
  std::optional<std::vector<float>> heights;
  if (in.data->orthorectify_dem && !in.slots.empty()) heights = dem_heights(ctx, grid, *in.data->orthorectify_dem);
  const std::vector<float>* terrain = heights ? &*heights : nullptr;
  for (std::size_t s = 0; s < in.slots.size(); ++s) {
    std::fill(filled.begin(), filled.end(), 0);
    std::size_t remaining = 0;
    for (auto m : geometry_mask) remaining += m;
    float* slot = in.values.data() + s * nb * n;
    for (const Scene* scene : in.slots[s].scenes) {
      if (remaining == 0) break;
      const Product& p = *scene->product;
      const double offset = baseline_offset(p);
      // Read the data bands; the scene has data where the first data band has.
      std::vector<std::vector<float>> band_values(nb);
      bool first = true;
      bool any = false;
      for (std::size_t b = 0; b < nb; ++b) {
        const auto& bb = in.bands[b];
        if (!bb.band) continue;
        const catalog::Asset* asset = band_asset(p, *bb.band);
        if (!asset) {
          throw Error(ErrorCode::unprocessable, fmt::format("product {} has no file for band {}", p.name, bb.name),
                      "evalscript");
        }
        const auto [src, coords] =
            band_source(ctx, p, *bb.band, *asset, bb.unit, *in.data, grid, coords_cache, terrain);
        band_values[b].assign(n, 0.0f);
        read_band(src, *coords, grid, resampling_for(*in.data, *bb.band, grid), band_values[b],
                  first ? std::span<std::uint8_t>(scene_valid) : std::span<std::uint8_t>(valid), true);
        if (first) {
          first = false;
          any = std::any_of(scene_valid.begin(), scene_valid.end(), [](auto v) { return v != 0; });
          if (!any) break;
        }
      }
      if (first) {
        // Only dataMask asked: the scene covers where its first band has data.
        for (const auto& band : in.data->collection->bands) {
          const catalog::Asset* asset = band_asset(p, band);
          if (!asset) continue;
          const auto [src, coords] =
              band_source(ctx, p, band, *asset, band.unit, *in.data, grid, coords_cache, terrain);
          read_band(src, *coords, grid, Resampling::nearest, tmp, scene_valid, true);
          any = std::any_of(scene_valid.begin(), scene_valid.end(), [](auto v) { return v != 0; });
          break;
        }
      }
      if (!any) continue;
      std::vector<Conversion> conversions(nb);
      for (std::size_t b = 0; b < nb; ++b)
        if (in.bands[b].band) conversions[b] = conversion(in.bands[b], offset, in.data->harmonize);
      std::size_t used = 0;
      for (std::size_t i = 0; i < n; ++i) {
        if (!scene_valid[i] || filled[i] || !geometry_mask[i]) continue;
        filled[i] = 1;
        --remaining;
        ++used;
        for (std::size_t b = 0; b < nb; ++b) {
          slot[b * n + i] = in.bands[b].band ? static_cast<float>(conversions[b](band_values[b][i])) : 1.0f;
        }
      }
      if (used) product_used[static_cast<std::size_t>(scene - in.scenes.data())] = true;
    }
  }
  in.contributing = static_cast<std::size_t>(std::count(product_used.begin(), product_used.end(), true));
}

nlohmann::json tile_json(const Scene& s) {
  nlohmann::json t = {{"date", iso(s.product->sensing_start)},
                      {"shId", s.product->id},
                      {"productId", s.product->id},
                      {"dataPath", "s3://" + s.product->bucket + "/" + s.product->key}};
  if (s.cloud) t["cloudCoverage"] = *s.cloud;
  return t;
}

nlohmann::json scenes_json(const BoundInput& in) {
  if (in.mosaicking == es::Mosaicking::simple) return nlohmann::json::object();
  if (in.mosaicking == es::Mosaicking::tile) {
    nlohmann::json tiles = nlohmann::json::array();
    for (const auto& slot : in.slots) tiles.push_back(tile_json(*slot.scenes.front()));
    return {{"tiles", tiles}};
  }
  nlohmann::json orbits = nlohmann::json::array();
  for (const auto& slot : in.slots) {
    nlohmann::json tiles = nlohmann::json::array();
    for (const auto* s : slot.scenes) tiles.push_back(tile_json(*s));
    orbits.push_back({{"dateFrom", iso(slot.date_from)}, {"dateTo", iso(slot.date_to)}, {"tiles", tiles}});
  }
  return {{"orbits", orbits}};
}

void build_slots(BoundInput& in) {
  in.slots.clear();
  if (in.mosaicking == es::Mosaicking::simple) {
    Slot slot;
    for (const auto& s : in.scenes) slot.scenes.push_back(&s);
    slot.date_from = in.data->from;
    slot.date_to = in.data->to;
    in.slots.push_back(std::move(slot));
    return;
  }
  if (in.mosaicking == es::Mosaicking::tile) {
    for (const auto& s : in.scenes) {
      Slot slot;
      slot.scenes.push_back(&s);
      slot.date_from = slot.date_to = s.product->sensing_start;
      in.slots.push_back(std::move(slot));
    }
    return;
  }
  // ORBIT: one slot per UTC day, in mosaicking order of each day's first scene.
  std::map<catalog::Time, std::size_t> by_day;
  for (const auto& s : in.scenes) {
    const auto day = day_start(s.product->sensing_start);
    auto it = by_day.find(day);
    if (it == by_day.end()) {
      Slot slot;
      slot.date_from = day;
      slot.date_to = day + std::chrono::hours(24) - std::chrono::seconds(1);
      it = by_day.emplace(day, in.slots.size()).first;
      in.slots.push_back(std::move(slot));
    }
    in.slots[it->second].scenes.push_back(&s);
  }
}

// Applies preProcessScenes' answer: keeps the slots whose date (ORBIT) or id (TILE) survived.
void apply_preprocess(BoundInput& in, const nlohmann::json& answer) {
  const nlohmann::json* scenes = answer.contains("scenes") ? &answer["scenes"] : &answer;
  std::vector<Slot> kept;
  if (in.mosaicking == es::Mosaicking::orbit && scenes->contains("orbits") && (*scenes)["orbits"].is_array()) {
    for (const auto& o : (*scenes)["orbits"]) {
      if (!o.contains("dateFrom") || !o["dateFrom"].is_string()) continue;
      for (const auto& slot : in.slots)
        if (iso(slot.date_from) == o["dateFrom"].get<std::string>()) kept.push_back(slot);
    }
    in.slots = std::move(kept);
  } else if (in.mosaicking == es::Mosaicking::tile && scenes->contains("tiles") && (*scenes)["tiles"].is_array()) {
    for (const auto& t : (*scenes)["tiles"]) {
      if (!t.contains("shId") || !t["shId"].is_string()) continue;
      for (const auto& slot : in.slots)
        if (slot.scenes.front()->product->id == t["shId"].get<std::string>()) kept.push_back(slot);
    }
    in.slots = std::move(kept);
  }
}

nlohmann::json preprocess_argument(const BoundInput& in) {
  if (in.mosaicking == es::Mosaicking::tile) return {{"scenes", scenes_json(in)}};
  nlohmann::json orbits = nlohmann::json::array();
  for (const auto& slot : in.slots)
    orbits.push_back({{"dateFrom", iso(slot.date_from)}, {"dateTo", iso(slot.date_to)}});
  return {{"from", iso(in.data->from)}, {"to", iso(in.data->to)}, {"scenes", {{"orbits", orbits}}}};
}

PixelType pixel_type(es::SampleType t) {
  switch (t) {
    case es::SampleType::automatic:
    case es::SampleType::uint8:
      return PixelType::uint8;
    case es::SampleType::int8:
      return PixelType::int8;
    case es::SampleType::int16:
      return PixelType::int16;
    case es::SampleType::uint16:
      return PixelType::uint16;
    case es::SampleType::float32:
      return PixelType::float32;
  }
  return PixelType::uint8;
}

template <typename T>
void store_integer(const std::vector<float>& in, std::vector<std::byte>& out, double scale) {
  out.resize(in.size() * sizeof(T));
  T* dst = reinterpret_cast<T*>(out.data());
  const double lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  for (std::size_t i = 0; i < in.size(); ++i) {
    const double v = static_cast<double>(in[i]) * scale;
    if (std::isnan(v)) {
      dst[i] = 0;
    } else if (v <= lo) {
      dst[i] = static_cast<T>(lo);
    } else if (v >= hi) {
      dst[i] = static_cast<T>(hi);
    } else {
      // Rounded half away from zero, as std::round but without its library call: the fraction
      // v - trunc(v) is exact here (|v| < 2^16).
      auto t = static_cast<long>(v);
      const double frac = v - static_cast<double>(t);
      if (frac >= 0.5) ++t;
      if (frac <= -0.5) --t;
      dst[i] = static_cast<T>(t);
    }
  }
}

Image to_image(const std::vector<float>& values, const es::OutputSpec& spec, const Grid& grid) {
  Image img;
  img.width = grid.width;
  img.height = grid.height;
  img.bands = spec.bands;
  img.type = pixel_type(spec.sample_type);
  switch (spec.sample_type) {
    case es::SampleType::automatic:
      store_integer<std::uint8_t>(values, img.data, 255.0);
      break;
    case es::SampleType::uint8:
      store_integer<std::uint8_t>(values, img.data, 1.0);
      break;
    case es::SampleType::int8:
      store_integer<std::int8_t>(values, img.data, 1.0);
      break;
    case es::SampleType::uint16:
      store_integer<std::uint16_t>(values, img.data, 1.0);
      break;
    case es::SampleType::int16:
      store_integer<std::int16_t>(values, img.data, 1.0);
      break;
    case es::SampleType::float32:
      img.data.resize(values.size() * sizeof(float));
      std::memcpy(img.data.data(), values.data(), img.data.size());
      break;
  }
  img.crs_wkt = grid.crs.wkt;
  img.transform = grid.transform();
  img.georeferenced = true;
  img.nodata = spec.nodata;
  return img;
}

}  // namespace

OutputFormat parse_output_format(const std::string& media_type, const std::string& parameter) {
  std::string t = media_type.substr(0, media_type.find(';'));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  if (t == "image/png") return OutputFormat::png;
  if (t == "image/jpeg" || t == "image/jpg") return OutputFormat::jpeg;
  if (t == "image/tiff" || t == "image/geotiff") return OutputFormat::tiff;
  if (t == "application/json") return OutputFormat::json;
  throw Error(
      ErrorCode::invalid_parameter,
      fmt::format("unsupported format '{}': use image/png, image/jpeg, image/tiff or application/json", media_type),
      parameter);
}

std::string media_type(OutputFormat f) {
  switch (f) {
    case OutputFormat::png:
      return "image/png";
    case OutputFormat::jpeg:
      return "image/jpeg";
    case OutputFormat::tiff:
      return "image/tiff";
    case OutputFormat::json:
      return "application/json";
  }
  return "application/octet-stream";
}

std::string file_extension(OutputFormat f) {
  switch (f) {
    case OutputFormat::png:
      return "png";
    case OutputFormat::jpeg:
      return "jpg";
    case OutputFormat::tiff:
      return "tif";
    case OutputFormat::json:
      return "json";
  }
  return "bin";
}

double processing_units(const Grid& grid, std::size_t input_bands, bool float_tiff, std::size_t samples,
                        std::size_t fusion_factor) {
  const double area = std::max(static_cast<double>(grid.pixels()) / (512.0 * 512.0), 0.01);
  const double bands = static_cast<double>(std::max<std::size_t>(input_bands, 1)) / 3.0;
  const double pu = area * bands * (float_tiff ? 2.0 : 1.0) * static_cast<double>(std::max<std::size_t>(samples, 1)) *
                    static_cast<double>(std::max<std::size_t>(fusion_factor, 1));
  return std::max(pu, 0.005);
}

RenderResult render(const RenderContext& ctx, const RenderRequest& req) {
  const Grid& grid = req.grid;
  RenderResult result;
  auto mark = std::chrono::steady_clock::now();
  auto lap = [&](const char* stage) {
    const auto now = std::chrono::steady_clock::now();
    result.timings.emplace_back(stage, std::chrono::duration<double, std::milli>(now - mark).count());
    mark = now;
  };
  if (req.inputs.empty())
    throw Error(ErrorCode::missing_parameter, "input.data needs at least one entry", "input.data");
  es::Limits limits;
  limits.call_timeout = ctx.script_timeout;
  limits.heap_bytes = ctx.script_heap_bytes;
  es::Script script(es::thread_runtime(limits), req.evalscript, req.owner);
  const es::Setup& setup = script.setup();
  if (setup.inputs.empty()) throw Error(ErrorCode::invalid_parameter, "setup() declares no input", "evalscript");

  // Match setup inputs to input.data entries: by datasource id, else by position.
  std::vector<BoundInput> inputs;
  const bool fusion = req.inputs.size() > 1;  // for processing units: several collections
  for (std::size_t k = 0; k < setup.inputs.size(); ++k) {
    const auto& spec = setup.inputs[k];
    const DataInput* data = nullptr;
    if (!spec.datasource.empty()) {
      for (const auto& d : req.inputs)
        if (d.id == spec.datasource) data = &d;
      if (!data)
        throw Error(ErrorCode::invalid_parameter,
                    fmt::format("setup() input names datasource '{}' but input.data has no entry with that id",
                                spec.datasource),
                    "evalscript");
    } else {
      if (k >= req.inputs.size())
        throw Error(
            ErrorCode::invalid_parameter,
            fmt::format("setup() declares {} inputs but input.data has {}", setup.inputs.size(), req.inputs.size()),
            "evalscript");
      data = &req.inputs[k];
    }
    BoundInput in;
    in.data = data;
    in.spec = spec;
    in.mosaicking = spec.mosaicking.value_or(setup.mosaicking);
    for (std::size_t b = 0; b < spec.bands.size(); ++b) {
      BoundBand bb;
      bb.name = spec.bands[b];
      if (bb.name != "dataMask") {
        bb.band = data->collection->band(bb.name);
        if (!bb.band || bb.band->asset.empty()) {
          std::string known;
          for (const auto& band : data->collection->bands) known += (known.empty() ? "" : ", ") + band.name;
          throw Error(ErrorCode::invalid_parameter,
                      fmt::format("unknown band '{}' for collection {}; its bands are {}, dataMask", bb.name,
                                  data->type, known),
                      "evalscript");
        }
        std::string unit = b < spec.units.size() ? spec.units[b] : (spec.units.size() == 1 ? spec.units[0] : "");
        bb.unit = unit.empty() ? bb.band->unit : unit;
        if (!unit.empty() && std::find(bb.band->units.begin(), bb.band->units.end(), unit) == bb.band->units.end() &&
            unit != bb.band->unit) {
          throw Error(ErrorCode::invalid_parameter,
                      fmt::format("band {} of {} has no unit '{}'", bb.name, data->type, unit), "evalscript");
        }
      }
      in.bands.push_back(std::move(bb));
    }
    // Sentinel-5P stores one product type per species: select the type that carries the bands.
    if (data->collection->mission == "SENTINEL-5P") {
      static const std::map<std::string, std::string> species = {{"NO2", "NO2"},
                                                                 {"CO", "L2__CO_"},
                                                                 {"O3", "L2__O3_"},
                                                                 {"SO2", "SO2"},
                                                                 {"HCHO", "HCHO"},
                                                                 {"CH4", "CH4"},
                                                                 {"AER_AI_340_380", "AER_AI"},
                                                                 {"AER_AI_354_388", "AER_AI"},
                                                                 {"CLOUD_BASE_PRESSURE", "CLOUD"},
                                                                 {"CLOUD_TOP_PRESSURE", "CLOUD"},
                                                                 {"CLOUD_BASE_HEIGHT", "CLOUD"},
                                                                 {"CLOUD_TOP_HEIGHT", "CLOUD"},
                                                                 {"CLOUD_OPTICAL_THICKNESS", "CLOUD"},
                                                                 {"CLOUD_FRACTION", "CLOUD"}};
      std::string type;
      for (const auto& bb : in.bands) {
        if (!bb.band) continue;
        auto it = species.find(bb.name);
        if (it == species.end()) continue;
        if (!type.empty() && type != it->second)
          throw Error(ErrorCode::invalid_parameter,
                      "Sentinel-5P bands of different products (" + type + ", " + it->second +
                          ") need one input.data entry each (data fusion)",
                      "evalscript");
        type = it->second;
      }
      if (!type.empty()) in.extra_type_filter = type;
    }
    inputs.push_back(std::move(in));
  }

  // The samples' shape is the runtime's decision ({id: [...]} with data fusion); scenes and
  // collection arguments follow it, keyed by id or by position.
  bool fusion_shape = false;
  {
    std::vector<es::SourceBatch> shape(inputs.size());
    for (std::size_t k = 0; k < inputs.size(); ++k) shape[k].id = inputs[k].data->id;
    fusion_shape = es::is_fusion(setup, shape);
  }
  auto source_key = [&](std::size_t k) { return inputs[k].data->id.empty() ? std::to_string(k) : inputs[k].data->id; };

  lap("setup");

  // Scenes, slots and the script's hooks on them.
  for (auto& in : inputs) {
    if (in.extra_type_filter.empty()) {
      in.products = find_products(ctx, *in.data, grid);
    } else {
      DataInput filtered = *in.data;
      filtered.product_type_contains.push_back(in.extra_type_filter);
      in.products = find_products(ctx, filtered, grid);
    }
    for (const auto& p : in.products) {
      Scene s{&p, std::nullopt};
      if (const auto* a = p.attribute("cloudCover")) {
        if (const auto* d = std::get_if<double>(&a->value)) s.cloud = *d;
        if (const auto* i = std::get_if<std::int64_t>(&a->value)) s.cloud = static_cast<double>(*i);
      }
      in.scenes.push_back(s);
    }
    build_slots(in);
  }
  if (script.has_preprocess_scenes()) {
    for (auto& in : inputs)
      if (in.mosaicking != es::Mosaicking::simple)
        apply_preprocess(in, script.preprocess_scenes(preprocess_argument(in)));
  }
  if (script.has_update_output()) {
    nlohmann::json collection;
    auto scenes_of = [](const BoundInput& in) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& slot : in.slots) arr.push_back({{"date", iso(slot.date_from)}});
      return arr;
    };
    if (!fusion_shape) {
      collection = {{"scenes", scenes_of(inputs[0])}};
    } else {
      for (std::size_t k = 0; k < inputs.size(); ++k) collection[source_key(k)] = {{"scenes", scenes_of(inputs[k])}};
    }
    script.update_output(collection);
  }

  std::size_t total_products = 0;
  for (const auto& in : inputs) {
    std::size_t slot_products = 0;
    for (const auto& slot : in.slots) slot_products += slot.scenes.size();
    total_products += slot_products;
  }
  if (total_products == 0) {
    throw Error(ErrorCode::not_found,
                fmt::format("no {} product covers the requested area between {} and {}", inputs[0].data->type,
                            iso(inputs[0].data->from), iso(inputs[0].data->to)),
                "input.data");
  }

  // Memory guard before reading anything.
  std::size_t samples = 0;
  for (const auto& in : inputs) samples += std::max<std::size_t>(in.slots.size(), 1) * in.bands.size() * grid.pixels();
  if (samples * sizeof(float) > ctx.max_input_bytes)
    throw Error(ErrorCode::payload_too_large,
                fmt::format("the request needs {} MB of input samples, more than the limit of {} MB: ask for fewer "
                            "pixels, bands or a shorter time range",
                            samples * sizeof(float) >> 20, ctx.max_input_bytes >> 20),
                "output");

  lap("select");
  const auto mask = grid.geometry_mask();
  std::size_t contributing = 0;
  for (auto& in : inputs) {
    load_input(ctx, grid, mask, in);
    contributing += in.contributing;
  }
  if (contributing == 0) {
    throw Error(
        ErrorCode::not_found,
        fmt::format("{} products intersect the request, but none has data inside the requested area", total_products),
        "input.bounds");
  }

  lap("read");

  // The evalscript over the whole grid, in batches.
  nlohmann::json scenes_arg;
  if (!fusion_shape) {
    scenes_arg = scenes_json(inputs[0]);
  } else {
    scenes_arg = nlohmann::json::object();
    for (std::size_t k = 0; k < inputs.size(); ++k) scenes_arg[source_key(k)] = scenes_json(inputs[k]);
  }
  script.set_context(scenes_arg, {{"serviceVersion", "1.0.0"}, {"normalizationFactor", 0.0001}});
  const auto& outputs = script.setup().outputs;
  const std::size_t n = grid.pixels();
  std::vector<std::vector<float>> out_values(outputs.size());
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    if (outputs[o].bands < 1 || outputs[o].bands > 256)
      throw Error(ErrorCode::invalid_parameter,
                  fmt::format("output '{}' has {} bands: 1 to 256 are allowed", outputs[o].id, outputs[o].bands),
                  "evalscript");
    out_values[o].assign(n * static_cast<std::size_t>(outputs[o].bands), 0.0f);
  }
  // One call into the script for up to 2^20 pixels (a 1024 x 1024 output), straight over the
  // engine's arrays: every call re-enters the driver, and on a new context each re-entry pays
  // another optimising compile (measured: a 512 x 512 tile in four calls took 27-34 ms of script
  // time, in one call 13-21 ms; in a warm context 2-4 ms). Larger outputs go in batches, copied
  // out band by band.
  constexpr std::size_t kBatch = std::size_t{1} << 20;
  std::vector<std::vector<float>> batch_in(inputs.size());
  for (std::size_t start = 0; start < n; start += kBatch) {
    const std::size_t count = std::min(kBatch, n - start);
    std::vector<es::SourceBatch> sources;
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      const auto& in = inputs[k];
      const std::size_t nb = in.bands.size(), slots = in.slots.size();
      es::SourceBatch sb;
      sb.id = in.data->id;
      for (const auto& bb : in.bands) sb.bands.push_back(bb.name);
      sb.scenes = slots;
      if (count == n) {
        sb.values = in.values.data();
      } else {
        auto& buf = batch_in[k];
        buf.resize(slots * nb * count);
        for (std::size_t s = 0; s < slots; ++s)
          for (std::size_t b = 0; b < nb; ++b)
            std::memcpy(buf.data() + (s * nb + b) * count, in.values.data() + (s * nb + b) * n + start,
                        count * sizeof(float));
        sb.values = buf.data();
      }
      sources.push_back(std::move(sb));
    }
    std::vector<es::OutputBatch> outs;
    for (std::size_t o = 0; o < outputs.size(); ++o)
      outs.push_back({std::span<float>(out_values[o].data() + start * outputs[o].bands, count * outputs[o].bands)});
    script.evaluate(sources, count, outs);
  }

  lap("script");
  result.scenes = contributing;
  std::vector<ResponseRequest> responses = req.responses;
  if (responses.empty()) responses.push_back(ResponseRequest{});
  bool float_tiff = false;
  for (const auto& r : responses) {
    if (r.identifier == "userdata") {
      if (r.format != OutputFormat::json)
        throw Error(ErrorCode::invalid_parameter, "the userdata response must have format application/json",
                    "output.responses");
      auto ud = script.user_data();
      result.outputs.push_back({r.identifier, r.format, ud.is_null() ? "null" : ud.dump()});
      continue;
    }
    std::size_t o = 0;
    while (o < outputs.size() && outputs[o].id != r.identifier) ++o;
    if (o == outputs.size()) {
      std::string ids;
      for (const auto& spec : outputs) ids += (ids.empty() ? "" : ", ") + spec.id;
      throw Error(ErrorCode::invalid_parameter,
                  fmt::format("response '{}' names no output of setup(); the outputs are: {}", r.identifier, ids),
                  "output.responses");
    }
    const auto& spec = outputs[o];
    if (r.format == OutputFormat::json)
      throw Error(ErrorCode::invalid_parameter, "application/json is only for the userdata response",
                  "output.responses");
    Image img = to_image(out_values[o], spec, grid);
    std::string bytes;
    switch (r.format) {
      case OutputFormat::png:
        bytes = encode_png(img);
        break;
      case OutputFormat::jpeg:
        bytes = encode_jpeg(img, r.quality);
        break;
      case OutputFormat::tiff:
        bytes = encode_geotiff(img);
        if (spec.sample_type == es::SampleType::float32) float_tiff = true;
        break;
      case OutputFormat::json:
        break;
    }
    result.outputs.push_back({r.identifier, r.format, std::move(bytes)});
  }

  lap("encode");
  std::size_t input_bands = 0, data_mask_only = 0, max_slots = 1;
  for (const auto& in : inputs) {
    for (const auto& bb : in.bands) (bb.band ? input_bands : data_mask_only)++;
    if (in.mosaicking != es::Mosaicking::simple) max_slots = std::max(max_slots, in.slots.size());
  }
  if (input_bands == 0) input_bands = data_mask_only;
  result.processing_units = processing_units(grid, input_bands, float_tiff, max_slots, fusion ? inputs.size() : 1);
  return result;
}

}  // namespace ds::engine
