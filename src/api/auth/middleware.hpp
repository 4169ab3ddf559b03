#pragma once
// The authentication, authorisation and rate-limit middleware, installed by src/app with
// http::Pipeline::use. For each routed request it:
//   1. takes a bearer token from `Authorization: Bearer …` or, failing that, `?token=…` (as
//      CDSE's zipper allows) and verifies it (ES256 signature, expiry);
//   2. looks up the route template's policy (auth::PolicyTable): anonymous routes ignore a bad
//      token, token routes answer 401 (WWW-Authenticate: Bearer) without a valid one, admin routes
//      403 for non-admins, custom routes (S3 SigV4) are left to their family;
//   3. sets req.ctx.auth and req.ctx.principal (user id, for the access log);
//   4. admits the request against the route's quota class (per-minute bucket, monthly counter):
//      429 in the route's error format with Retry-After (milliseconds on Sentinel Hub paths
//      /api/v1 and /api/v2, whole seconds elsewhere) and X-RateLimit-Limit/-Remaining/-Reset, which
//      admitted responses carry too.

#include "auth/policy.hpp"
#include "auth/quota.hpp"
#include "auth/service.hpp"
#include "http/middleware.hpp"

namespace ds::api::auth {

http::Middleware make_auth_middleware(ds::auth::AuthService& service, const ds::auth::PolicyTable& policy,
                                      ds::auth::QuotaService& quotas);

// The quota subject of a request's caller (its user, or its address when anonymous): what the
// download, processing and order families pass to QuotaService.
ds::auth::QuotaSubject quota_subject(const http::Request& req);

// Attaches Retry-After (milliseconds on Sentinel Hub paths) and X-RateLimit-* headers of a
// refused decision to a 429 error, for families that check quotas themselves.
Error quota_error(const http::Request& req, const ds::auth::QuotaDecision& decision);

}  // namespace ds::api::auth
