#include "app/routes.hpp"

#include "api/service/routes.hpp"
#include "api/stac/routes.hpp"

namespace ds::app {

void register_all_routes(http::Router& router, const api::Services& services) {
  api::service::register_routes(router, services);
  api::stac::register_routes(router, services);
}

}  // namespace ds::app
