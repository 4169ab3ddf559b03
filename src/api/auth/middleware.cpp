#include "api/auth/middleware.hpp"

#include <cmath>

#include <fmt/format.h>

namespace ds::api::auth {
namespace {

namespace da = ds::auth;

bool sentinelhub_path(const http::Request& req) {
  return req.path.rfind("/api/v1/", 0) == 0 || req.path.rfind("/api/v2/", 0) == 0 ||
         req.ctx.error_format == http::ErrorFormat::sentinelhub;
}

void rate_headers(http::Headers& h, const da::QuotaDecision& d) {
  if (d.limit < 0) return;
  h.set("X-RateLimit-Limit", fmt::format("{}", static_cast<long long>(std::floor(d.limit))));
  h.set("X-RateLimit-Remaining", fmt::format("{}", static_cast<long long>(std::floor(std::max(0.0, d.remaining)))));
  h.set("X-RateLimit-Reset", fmt::format("{}", static_cast<long long>(std::ceil(d.reset_s))));
}

std::string bearer_token(const http::Request& req) {
  if (auto h = req.header("Authorization")) {
    std::string_view v = *h;
    if (v.size() > 7 && http::iequals(v.substr(0, 7), "Bearer ")) {
      v.remove_prefix(7);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
      return std::string(v);
    }
    return {};  // another scheme (Basic for the token endpoint, AWS4-HMAC-SHA256 for S3)
  }
  return req.query.get("token").value_or("");
}

Error unauthorized(const std::string& realm, const std::string& why, bool had_token) {
  Error e(ErrorCode::unauthorized,
          had_token ? "Invalid access token: " + why
                    : "Authentication required: send an access token in the header [Authorization: Bearer "
                      "<accessToken>]");
  e.with_header("WWW-Authenticate",
                had_token
                    ? fmt::format("Bearer realm=\"{}\", error=\"invalid_token\", error_description=\"{}\"", realm, why)
                    : fmt::format("Bearer realm=\"{}\"", realm));
  return e;
}

}  // namespace

da::QuotaSubject quota_subject(const http::Request& req) {
  const auto& p = req.ctx.auth;
  if (!p.authenticated()) return {"addr:" + req.ctx.remote_addr, da::Typology::anonymous, false};
  return {p.user_id, da::parse_typology(p.typology).value_or(da::Typology::general), true};
}

Error quota_error(const http::Request& req, const da::QuotaDecision& d) {
  Error e(ErrorCode::too_many_requests, "You have exceeded your rate limit (" + d.limit_name + ")");
  e.with_detail("limit", d.limit_name);
  const double wait = std::isfinite(d.retry_after_s) ? std::max(0.0, d.retry_after_s) : 86'400.0;
  if (sentinelhub_path(req))
    e.with_header("Retry-After", fmt::format("{}", static_cast<long long>(std::ceil(wait * 1000))));
  else
    e.with_header("Retry-After", fmt::format("{}", std::max<long long>(1, static_cast<long long>(std::ceil(wait)))));
  if (d.limit >= 0) {
    e.with_header("X-RateLimit-Limit", fmt::format("{}", static_cast<long long>(std::floor(d.limit))));
    e.with_header("X-RateLimit-Remaining", "0");
    e.with_header("X-RateLimit-Reset", fmt::format("{}", static_cast<long long>(std::ceil(std::max(d.reset_s, wait)))));
  }
  return e;
}

http::Middleware make_auth_middleware(da::AuthService& service, const da::PolicyTable& policy,
                                      da::QuotaService& quotas) {
  return [&service, &policy, &quotas](http::Request& req, const http::Next& next) -> http::Response {
    const da::RoutePolicy rule = policy.lookup(req.ctx.route);
    if (rule.access == da::Access::custom) return next(req);

    const std::string token = bearer_token(req);
    std::string why;
    std::optional<da::Principal> principal;
    if (!token.empty()) principal = service.verify_access_token(token, why);
    if (!principal && rule.access != da::Access::anonymous)
      throw unauthorized(service.options().realm, token.empty() ? "" : why, !token.empty());
    if (principal) {
      req.ctx.auth.user_id = principal->user_id;
      req.ctx.auth.email = principal->email;
      req.ctx.auth.client_id = principal->client_id;
      req.ctx.auth.typology = std::string(da::typology_name(principal->typology));
      req.ctx.principal = principal->user_id;
    }
    if (rule.access == da::Access::admin && (!principal || principal->typology != da::Typology::admin))
      throw Error(ErrorCode::forbidden, "This operation is reserved to administrators");

    if (rule.quota_class.empty()) return next(req);
    const auto decision = quotas.admit_request(quota_subject(req), rule.quota_class);
    if (!decision.allowed) throw quota_error(req, decision);
    http::Response res = next(req);
    rate_headers(res.headers, decision);
    return res;
  };
}

}  // namespace ds::api::auth
