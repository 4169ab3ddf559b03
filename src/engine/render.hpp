#pragma once
// One processing request end to end: scene selection through the catalogue, reading onto the
// output grid, mosaicking, the evalscript, sample-type conversion and encoding. The Process API
// binds its JSON into a RenderRequest; OGC, Statistical and openEO will bind theirs into the same.

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/collection.hpp"
#include "catalog/model.hpp"
#include "engine/grid.hpp"
#include "engine/raster.hpp"

namespace ds::catalog {
class CatalogStore;
}
namespace ds::storage {
class ObjectStore;
}

namespace ds::engine {

enum class MosaickingOrder { most_recent, least_recent, least_cc };

// One entry of input.data, validated against its collection.
struct DataInput {
  std::string id;  // the request's alias for data fusion; "" when none
  const catalog::Collection* collection = nullptr;
  std::string type;            // as the request named it ("sentinel-2-l2a", "S2L2A")
  catalog::Time from{}, to{};  // inclusive
  MosaickingOrder order = MosaickingOrder::most_recent;
  std::optional<double> max_cloud;                 // percent
  std::map<std::string, std::string> attributes;   // exact-match attribute filters (orbitDirection...)
  std::vector<std::string> product_type_contains;  // e.g. "GRDH" for resolution HIGH
  Resampling upsampling = Resampling::nearest;
  Resampling downsampling = Resampling::nearest;
  bool harmonize = true;                        // Sentinel-2: remove the PB 04.00 offset, clamp negatives
  std::string back_coeff = "GAMMA0_ELLIPSOID";  // Sentinel-1 GRD
  std::optional<int> min_qa;                    // Sentinel-5P, 0..100 (default per species)
  // Sentinel-1 GRD: orthorectify with the heights of this DEM collection (nullptr = ellipsoid
  // geometry, warped from the geolocation grid alone).
  const catalog::Collection* orthorectify_dem = nullptr;
};

enum class OutputFormat { png, jpeg, tiff, json };
OutputFormat parse_output_format(const std::string& media_type, const std::string& parameter);
std::string media_type(OutputFormat f);
std::string file_extension(OutputFormat f);

struct ResponseRequest {
  std::string identifier = "default";
  OutputFormat format = OutputFormat::png;
  int quality = 90;  // JPEG
};

struct RenderRequest {
  Grid grid;
  std::vector<DataInput> inputs;
  std::string evalscript;
  std::vector<ResponseRequest> responses;  // empty = one PNG "default"
  // Who asks (the user's id): the evalscript's warm context is only reused for the same owner.
  std::string owner;
};

struct RenderedOutput {
  std::string identifier;
  OutputFormat format;
  std::string bytes;
};

struct RenderResult {
  std::vector<RenderedOutput> outputs;
  double processing_units = 0;
  std::size_t scenes = 0;  // products that contributed data
  // Where the time went, in milliseconds: "setup" (script compile + setup), "select" (catalogue),
  // "read" (decode + resample), "script" (evaluatePixel), "encode".
  std::vector<std::pair<std::string, double>> timings;
};

struct RenderContext {
  const catalog::CatalogStore& catalog;
  const storage::ObjectStore& objects;
  std::chrono::milliseconds script_timeout{10'000};
  std::size_t script_heap_bytes = 256u << 20;
  std::size_t max_input_bytes = 512u << 20;  // samples held for one request
  std::size_t max_scenes = 200;              // per input
};

// Throws ds::Error: invalid_parameter/unprocessable for requests that cannot be served (naming
// the field), and the evalscript's errors as invalid_parameter with the script's message.
RenderResult render(const RenderContext& context, const RenderRequest& request);

// Processing units of a request (Sentinel Hub's formula): area × bands/3 × format × samples ×
// fusion, at least 0.005.
double processing_units(const Grid& grid, std::size_t input_bands, bool float_tiff, std::size_t samples,
                        std::size_t fusion_factor);

}  // namespace ds::engine
