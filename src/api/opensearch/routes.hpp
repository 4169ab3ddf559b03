#pragma once
// OpenSearch, resto-compatible (CDSE's /resto/api/collections/...): search.json (GeoJSON),
// search.atom (Atom), describe.xml (OpenSearch description) per collection and for all
// collections, single features at /resto/collections/<collection>/<id>.json, and resto's error
// JSON for everything under /resto.

#include "api/services.hpp"
#include "http/router.hpp"

namespace ds::api::opensearch {

void register_routes(http::Router& router, const Services& services);

}  // namespace ds::api::opensearch
