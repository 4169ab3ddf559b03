#pragma once
// What the API families get to work with: references to the lower layers, wired in src/app/.
// Each family exposes `void register_routes(http::Router&, const Services&)` and nothing else global.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "catalog/collection.hpp"
#include "catalog/store.hpp"
#include "core/config.hpp"
#include "storage/object_store.hpp"

namespace ds::auth {
class AuthService;
class PolicyTable;
class QuotaService;
}  // namespace ds::auth

namespace ds::api {

// A named dependency check for /health/ready: returns an explanation when not ready.
struct ReadinessCheck {
  std::string name;
  std::function<std::optional<std::string>()> check;
};

struct Services {
  const Config& config;
  std::vector<ReadinessCheck> readiness;
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
  // The stores; owned by src/app, alive for as long as the server. Null only in unit tests of
  // families that do not need them.
  catalog::CatalogStore* catalog = nullptr;
  storage::ObjectStore* objects = nullptr;
  const catalog::CollectionRegistry* collections = nullptr;
  // Identity (src/auth): token verification, users' clients and S3 keys; the route policy families
  // declare their routes' needs in (auth/policy.hpp); quotas (auth/quota.hpp). Null when unused.
  ds::auth::AuthService* auth = nullptr;
  ds::auth::PolicyTable* policy = nullptr;
  ds::auth::QuotaService* quotas = nullptr;
};

}  // namespace ds::api
