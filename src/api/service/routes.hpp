#pragma once
// Service endpoints: landing page (/), liveness (/health), readiness (/health/ready), Prometheus
// metrics (/metrics).

#include "api/services.hpp"
#include "http/router.hpp"

namespace ds::api::service {

void register_routes(http::Router& router, const Services& services);

}  // namespace ds::api::service
