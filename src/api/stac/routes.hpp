#pragma once
// STAC API 1.0 at /stac: landing page, conformance, collections, features, item search (GET and
// POST) with the filter (CQL2 text and JSON), sort, fields, query and free-text extensions, and
// queryables. Errors are STAC's {"code","description"} JSON.

#include "api/services.hpp"
#include "http/router.hpp"

namespace ds::api::stac {

void register_routes(http::Router& router, const Services& services);

}  // namespace ds::api::stac
