#pragma once

#include "api/services.hpp"
#include "http/router.hpp"

namespace ds::app {

// Registers every API family. Adding a family = one line here.
void register_all_routes(http::Router& router, const api::Services& services);

}  // namespace ds::app
