#pragma once
// Sentinel Hub Process API: POST /api/v1/process (JSON or multipart/form-data), answered by the
// raster engine with PNG, JPEG, GeoTIFF, JSON or a tar of several outputs, in Sentinel Hub's
// error format, charging processing units to the caller's quota.

#include <nlohmann/json.hpp>

#include "api/services.hpp"
#include "engine/render.hpp"
#include "http/router.hpp"

namespace ds::api::process {

void register_routes(http::Router& router, const Services& services);

// Binds a Process API request body (already JSON, evalscript inside or given separately) into the
// engine's request. Throws ds::Error(invalid_parameter/missing_parameter) naming the field.
engine::RenderRequest bind_request(const nlohmann::json& body, const catalog::CollectionRegistry& collections);

}  // namespace ds::api::process
