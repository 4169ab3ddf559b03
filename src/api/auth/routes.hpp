#pragma once
// The identity family: Keycloak-compatible OpenID Connect endpoints under /auth/realms/<realm>/
// (discovery, token, JWKS, userinfo, logout, revocation, introspection, the authorization-code
// login page), self-registration (POST /auth/register), the caller's account (/me, /me/quotas),
// their OAuth clients (/me/clients) and S3 keys (/me/s3-keys, and CloudFerro's key-manager paths
// /api/user/credentials). src/app installs the default route policy (install_default_policy)
// before any family registers, so families' own declarations refine it.

#include "api/services.hpp"
#include "auth/policy.hpp"
#include "http/router.hpp"

namespace ds::api::auth {

void register_routes(http::Router& router, const Services& services);

// The policy of the paths CDSE clients use, declared here so that download and processing routes
// are protected the moment they exist; families refine it with their own, more specific patterns.
void install_default_policy(ds::auth::PolicyTable& policy);

}  // namespace ds::api::auth
