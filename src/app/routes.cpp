#include "app/routes.hpp"

#include "api/auth/routes.hpp"
#include "api/download/routes.hpp"
#include "api/odata/routes.hpp"
#include "api/opensearch/routes.hpp"
#include "api/process/routes.hpp"
#include "api/s3/routes.hpp"
#include "api/service/routes.hpp"
#include "api/stac/routes.hpp"

namespace ds::app {

void register_all_routes(http::Router& router, const api::Services& services) {
  api::service::register_routes(router, services);
  api::auth::register_routes(router, services);
  api::odata::register_routes(router, services);
  api::opensearch::register_routes(router, services);
  api::stac::register_routes(router, services);
  api::s3::register_routes(router, services);
  api::download::register_routes(router, services);
  api::process::register_routes(router, services);
}

}  // namespace ds::app
