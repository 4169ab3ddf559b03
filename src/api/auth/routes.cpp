#include "api/auth/routes.hpp"

#include <fmt/format.h>

#include "api/auth/middleware.hpp"
#include "auth/crypto.hpp"
#include "auth/quota.hpp"
#include "auth/service.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "core/time.hpp"

namespace ds::api::auth {
namespace {

namespace da = ds::auth;
using http::ErrorFormat;
using http::Request;
using http::Response;

constexpr const char* kOidc = "/auth/realms/{realm}/protocol/openid-connect";

std::string oauth_code_for(const Error& e) {
  if (e.details().contains("oauth_error") && e.details()["oauth_error"].is_string())
    return e.details()["oauth_error"].get<std::string>();
  switch (e.code()) {
    case ErrorCode::unauthorized:
      return "invalid_token";
    case ErrorCode::forbidden:
      return "access_denied";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::too_many_requests:
      return "too_many_requests";
    case ErrorCode::internal:
      return "server_error";
    case ErrorCode::service_unavailable:
      return "temporarily_unavailable";
    default:
      return "invalid_request";
  }
}

// OAuth 2.0 / Keycloak error body: {"error": "...", "error_description": "..."}.
Response render_oauth(const Error& e, const Request&) {
  Response res =
      Response::json({{"error", oauth_code_for(e)}, {"error_description", e.message()}}, http_status(e.code()));
  res.headers.set("Cache-Control", "no-store");
  return res;
}

Error oauth(ErrorCode code, const std::string& error, const std::string& description) {
  Error e(code, description);
  e.with_detail("oauth_error", error);
  return e;
}

std::string media_type(const Request& req) {
  std::string ct(req.header("Content-Type").value_or(""));
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  for (auto& c : ct) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ct;
}

// The form of an OAuth endpoint (application/x-www-form-urlencoded; a bare body is read as one).
http::QueryParams form(const Request& req) {
  const auto mt = media_type(req);
  if (!mt.empty() && mt != "application/x-www-form-urlencoded")
    throw oauth(ErrorCode::bad_request, "invalid_request", "Content-Type must be application/x-www-form-urlencoded");
  return http::QueryParams(req.body);
}

// A JSON object body (or a form, which browsers post); empty = {}.
nlohmann::json body_object(const Request& req) {
  if (media_type(req) == "application/x-www-form-urlencoded") {
    nlohmann::json j = nlohmann::json::object();
    const http::QueryParams params(req.body);
    for (const auto& [k, v] : params.items()) j[k] = v;
    return j;
  }
  if (req.body.empty()) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(ErrorCode::bad_request, "the body must be a JSON object");
  return j;
}

std::string string_field(const nlohmann::json& j, const char* name, bool required = false) {
  if (!j.contains(name) || j[name].is_null()) {
    if (required) throw Error(ErrorCode::missing_parameter, std::string(name) + " is required", name);
    return {};
  }
  if (!j[name].is_string()) throw Error(ErrorCode::invalid_parameter, std::string(name) + " must be a string", name);
  return j[name].get<std::string>();
}

std::string issuer_of(const Request& req, const da::AuthService& svc) {
  return req.base_url + "/auth/realms/" + svc.options().realm;
}

void check_realm(const Request& req, const da::AuthService& svc) {
  if (req.param("realm") != svc.options().realm)
    throw oauth(ErrorCode::not_found, "Realm does not exist", "Realm does not exist");
}

// client_secret_basic: Authorization: Basic base64(urlencode(id):urlencode(secret)).
void basic_client(const Request& req, std::string& id, std::string& secret) {
  auto h = req.header("Authorization");
  if (!h || h->size() < 6 || !http::iequals(h->substr(0, 6), "Basic ")) return;
  std::string decoded;
  std::string_view b64 = h->substr(6);
  while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
  if (!da::base64url_decode(b64, decoded))
    throw oauth(ErrorCode::unauthorized, "invalid_client", "malformed Basic credentials");
  const auto colon = decoded.find(':');
  if (colon == std::string::npos) throw oauth(ErrorCode::unauthorized, "invalid_client", "malformed Basic credentials");
  id = http::url_decode(decoded.substr(0, colon), true);
  secret = http::url_decode(decoded.substr(colon + 1), true);
}

std::string html_escape(std::string_view in) { return xml_escape(in); }

Response html_page(int status, const std::string& title, const std::string& body) {
  Response res =
      Response::text(fmt::format("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>"
                                 "<meta name=\"viewport\" content=\"width=device-width\"></head><body>"
                                 "<main style=\"max-width:24rem;margin:4rem auto;font-family:sans-serif\">"
                                 "<h1>{}</h1>{}</main></body></html>",
                                 html_escape(title), html_escape(title), body),
                     "text/html; charset=utf-8", status);
  res.headers.set("Cache-Control", "no-store");
  res.headers.set("X-Frame-Options", "DENY");
  res.headers.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'");
  return res;
}

const char* kLoginParams[] = {"response_type", "client_id", "redirect_uri",   "scope",
                              "state",         "nonce",     "code_challenge", "code_challenge_method"};

Response login_form(const http::QueryParams& p, int status, const std::string& message) {
  std::string hidden;
  for (const char* name : kLoginParams) {
    if (auto v = p.get(name))
      hidden += fmt::format("<input type=\"hidden\" name=\"{}\" value=\"{}\">", name, html_escape(*v));
  }
  std::string body;
  if (!message.empty()) body += "<p role=\"alert\" style=\"color:#b00\">" + html_escape(message) + "</p>";
  body += "<form method=\"post\">" + hidden +
          "<p><label>E-mail<br><input name=\"username\" type=\"email\" autocomplete=\"username\" required></label></p>"
          "<p><label>Password<br><input name=\"password\" type=\"password\" autocomplete=\"current-password\" "
          "required></label></p><p><button type=\"submit\">Sign in</button></p></form>";
  return html_page(status, "Sign in to Dataspace", body);
}

Response redirect_to(const std::string& uri, const std::vector<std::pair<std::string, std::string>>& params) {
  std::string location = uri;
  char sep = uri.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    location += sep + k + "=" + http::url_encode(v);
    sep = '&';
  }
  Response res = Response::empty(302);
  res.headers.set("Location", location);
  res.headers.set("Cache-Control", "no-store");
  return res;
}

// The authorization endpoint (code flow with PKCE): a login form, then a redirect with the code.
Response authorize(Request& req, da::AuthService& svc) {
  check_realm(req, svc);
  const http::QueryParams p = req.method == http::Method::post ? http::QueryParams(req.body) : req.query;
  const std::string client_id = p.get("client_id").value_or("");
  const std::string redirect_uri = p.get("redirect_uri").value_or("");
  if (client_id.empty() || (client_id != svc.options().public_client && !svc.store().client(client_id)))
    return html_page(400, "Unknown client", "<p>The application that sent you here is not registered.</p>");
  if (!svc.redirect_allowed(client_id, redirect_uri, req.base_url))
    return html_page(400, "Invalid redirect", "<p>The application's redirect address is not allowed.</p>");
  const std::string state = p.get("state").value_or("");
  if (p.get("response_type").value_or("") != "code")
    return redirect_to(redirect_uri, {{"error", "unsupported_response_type"}, {"state", state}});
  const std::string challenge = p.get("code_challenge").value_or("");
  if (challenge.size() < 43 || p.get("code_challenge_method").value_or("") != "S256")
    return redirect_to(redirect_uri, {{"error", "invalid_request"},
                                      {"error_description", "PKCE with code_challenge_method=S256 is required"},
                                      {"state", state}});
  if (req.method != http::Method::post) return login_form(p, 200, "");
  try {
    const da::User user =
        svc.authenticate(p.get("username").value_or(""), p.get("password").value_or(""), req.ctx.remote_addr);
    const std::string code = svc.create_code(user, client_id, redirect_uri, challenge, p.get("scope").value_or(""),
                                             p.get("nonce").value_or(""));
    return redirect_to(redirect_uri, {{"code", code}, {"state", state}, {"iss", issuer_of(req, svc)}});
  } catch (const Error& e) {
    if (e.code() == ErrorCode::too_many_requests)
      return login_form(p, 429, "Too many failed attempts; try again later.");
    if (e.code() == ErrorCode::unauthorized) return login_form(p, 401, "Invalid e-mail or password.");
    if (e.code() == ErrorCode::bad_request) return login_form(p, 403, "This account is disabled.");
    throw;
  }
}

Response token(Request& req, da::AuthService& svc) {
  check_realm(req, svc);
  const auto f = form(req);
  const std::string grant = f.get("grant_type").value_or("");
  std::string client_id = f.get("client_id").value_or("");
  std::string secret = f.get("client_secret").value_or("");
  basic_client(req, client_id, secret);
  const std::string scope = f.get("scope").value_or("");
  const std::string issuer = issuer_of(req, svc);
  da::TokenSet t;
  if (grant == "password") {
    // `totp` (CDSE's 2FA code) is accepted; accounts here have no second factor enrolled yet.
    t = svc.password_grant(client_id, f.get("username").value_or(""), f.get("password").value_or(""), scope,
                           req.ctx.remote_addr, issuer);
  } else if (grant == "client_credentials") {
    t = svc.client_credentials_grant(client_id, secret, scope, req.ctx.remote_addr, issuer);
  } else if (grant == "refresh_token") {
    t = svc.refresh_grant(client_id, f.get("refresh_token").value_or(""), issuer);
  } else if (grant == "authorization_code") {
    t = svc.code_grant(client_id, f.get("code").value_or(""), f.get("redirect_uri").value_or(""),
                       f.get("code_verifier").value_or(""), issuer);
  } else if (grant.empty()) {
    throw oauth(ErrorCode::bad_request, "invalid_request", "Missing form parameter: grant_type");
  } else {
    throw oauth(ErrorCode::bad_request, "unsupported_grant_type", "Unsupported grant_type");
  }
  Response res = Response::json(t.to_json());
  res.headers.set("Cache-Control", "no-store");
  res.headers.set("Pragma", "no-cache");
  return res;
}

nlohmann::json discovery(const Request& req, const da::AuthService& svc) {
  const std::string iss = issuer_of(req, svc);
  const std::string oidc = iss + "/protocol/openid-connect";
  return {
      {"issuer", iss},
      {"authorization_endpoint", oidc + "/auth"},
      {"token_endpoint", oidc + "/token"},
      {"introspection_endpoint", oidc + "/token/introspect"},
      {"userinfo_endpoint", oidc + "/userinfo"},
      {"end_session_endpoint", oidc + "/logout"},
      {"revocation_endpoint", oidc + "/revoke"},
      {"jwks_uri", oidc + "/certs"},
      {"registration_endpoint", req.base_url + "/auth/register"},
      {"grant_types_supported", {"authorization_code", "refresh_token", "password", "client_credentials"}},
      {"response_types_supported", {"code"}},
      {"response_modes_supported", {"query"}},
      {"subject_types_supported", {"public"}},
      {"id_token_signing_alg_values_supported", {"ES256"}},
      {"token_endpoint_auth_methods_supported", {"client_secret_post", "client_secret_basic", "none"}},
      {"revocation_endpoint_auth_methods_supported", {"client_secret_post", "client_secret_basic", "none"}},
      {"code_challenge_methods_supported", {"S256"}},
      {"scopes_supported", {"openid", "email", "profile", "offline_access", "AUDIENCE_PUBLIC", "user-context"}},
      {"claims_supported",
       {"aud", "sub", "iss", "email", "email_verified", "preferred_username", "name", "realm_access",
        "group_membership", "organizations", "user_typology"}},
      {"claims_parameter_supported", false},
      {"request_parameter_supported", false},
      {"authorization_response_iss_parameter_supported", true},
  };
}

// The authenticated user of a request (the middleware has verified the token); 401 otherwise.
const http::Principal& caller(const Request& req) {
  if (!req.ctx.auth.authenticated()) throw Error(ErrorCode::unauthorized, "Authentication required");
  return req.ctx.auth;
}

nlohmann::json client_json(const da::OAuthClient& c) {
  return {{"client_id", c.client_id},
          {"name", c.name},
          {"redirect_uris", c.redirect_uris},
          {"created", format_iso8601(std::chrono::system_clock::from_time_t(c.created))}};
}

nlohmann::json key_json(const da::S3Key& k) {
  nlohmann::json j = {{"access_id", k.access_key},
                      {"description", k.description},
                      {"created", format_iso8601(std::chrono::system_clock::from_time_t(k.created))},
                      {"expires", nullptr}};
  if (k.expires != 0) j["expires"] = format_iso8601(std::chrono::system_clock::from_time_t(k.expires));
  return j;
}

Response create_s3_key(Request& req, da::AuthService& svc) {
  const auto& who = caller(req);
  const auto body = body_object(req);
  std::int64_t expires = 0;
  if (body.contains("expires_in_days") && !body["expires_in_days"].is_null()) {
    const auto& d = body["expires_in_days"];
    if (!d.is_number() || d.get<double>() <= 0 || d.get<double>() > 3650)
      throw Error(ErrorCode::invalid_parameter, "expires_in_days must be a number of days between 0 and 3650",
                  "expires_in_days");
    expires = da::unix_now() + static_cast<std::int64_t>(d.get<double>() * 86'400);
  }
  const auto created = svc.create_s3_key(who.user_id, string_field(body, "description"), expires);
  nlohmann::json j = key_json(created.key);
  j["secret"] = created.secret;
  // The names boto3/awscli configuration files use, for convenience.
  j["aws_access_key_id"] = created.key.access_key;
  j["aws_secret_access_key"] = created.secret;
  Response res = Response::json(j, 201);
  res.headers.set("Cache-Control", "no-store");
  return res;
}

Response list_s3_keys(Request& req, da::AuthService& svc) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& k : svc.s3_keys(caller(req).user_id)) arr.push_back(key_json(k));
  return Response::json({{"keys", arr}, {"max_keys", svc.options().max_s3_keys}});
}

Response revoke_s3_key(Request& req, da::AuthService& svc, const std::string& param) {
  if (!svc.revoke_s3_key(caller(req).user_id, req.param(param)))
    throw Error(ErrorCode::not_found, "no such S3 key", param);
  return Response::empty(204);
}

}  // namespace

void install_default_policy(da::PolicyTable& policy) {
  using da::Access;
  const auto anon = [](std::string cls) { return da::RoutePolicy{Access::anonymous, std::move(cls)}; };
  const auto tok = [](std::string cls) { return da::RoutePolicy{Access::token, std::move(cls)}; };
  // Service endpoints and the browser.
  for (const char* p : {"/", "/health", "/health/*", "/metrics", "/browser*", "/_test/*"}) policy.add(p, anon(""));
  // Identity: the token service is rate limited per address; the account API needs a token.
  policy.add("/auth/*", anon("auth"));
  policy.add("/.well-known/*", anon(""));
  policy.add("/me", tok("account"));
  policy.add("/me/*", tok("account"));
  policy.add("/api/user/*", tok("account"));
  // Catalogue search is anonymous; downloads need a token.
  for (const char* p : {"/odata/*", "/stac", "/stac/*", "/resto/*", "/opensearch*", "/trace*", "/catalogue/*"})
    policy.add(p, anon("catalogue"));
  for (const char* p : {"/odata/v1/Products(*)/$value", "/odata/v1/Products(*)/$zip",
                        "/odata/v1/Products(*)/Nodes*/$value", "/download/*", "/zipper/*"})
    policy.add(p, tok("download"));
  // Processing: Sentinel Hub APIs, OGC services, openEO jobs and synchronous results.
  for (const char* p : {"/api/v1/*", "/api/v2/*", "/ogc/*"}) policy.add(p, tok("processing"));
  policy.add("/openeo*", anon("openeo"));
  for (const char* p : {"/openeo*/jobs*", "/openeo*/result*", "/openeo*/me", "/openeo*/process_graphs*",
                        "/openeo*/files*", "/openeo*/services*"})
    policy.add(p, tok("processing"));
  // S3 authenticates with SigV4 in its own family (auth::AuthService::lookup_s3_secret).
  policy.add("/s3*", {Access::custom, "s3"});
}

void register_routes(http::Router& router, const Services& services) {
  if (!services.auth) return;
  da::AuthService& svc = *services.auth;
  da::QuotaService* quotas = services.quotas;
  router.error_renderers().set(ErrorFormat::oauth, render_oauth);
  router.set_prefix_error_format("/auth/realms/", ErrorFormat::oauth);

  const std::string oidc = kOidc;
  auto disco = [&svc](Request& req) {
    Response res = Response::json(discovery(req, svc));
    res.headers.set("Cache-Control", "public, max-age=300");
    return res;
  };
  router.get(
      "/auth/realms/{realm}/.well-known/openid-configuration",
      [&svc, disco](Request& req) {
        check_realm(req, svc);
        return disco(req);
      },
      ErrorFormat::oauth);
  router.get("/.well-known/openid-configuration", disco, ErrorFormat::oauth);
  router.get(
      "/auth/realms/{realm}",
      [&svc](Request& req) {
        check_realm(req, svc);
        const std::string iss = issuer_of(req, svc);
        return Response::json({{"realm", svc.options().realm},
                               {"token-service", iss + "/protocol/openid-connect"},
                               {"account-service", iss + "/account"},
                               {"tokens-not-before", 0}});
      },
      ErrorFormat::oauth);
  router.post(
      oidc + "/token", [&svc](Request& req) { return token(req, svc); }, ErrorFormat::oauth);
  router.get(
      oidc + "/certs",
      [&svc](Request& req) {
        check_realm(req, svc);
        Response res = Response::json(svc.keys().jwks());
        res.headers.set("Cache-Control", "public, max-age=60");
        return res;
      },
      ErrorFormat::oauth);
  auto userinfo = [&svc](Request& req) {
    check_realm(req, svc);
    std::string why = "no access token";
    std::string tok;
    if (auto h = req.header("Authorization"); h && h->size() > 7 && http::iequals(h->substr(0, 7), "Bearer "))
      tok = std::string(h->substr(7));
    else if (req.method == http::Method::post)
      tok = http::QueryParams(req.body).get("access_token").value_or("");
    const auto p = tok.empty() ? std::nullopt : svc.verify_access_token(tok, why);
    if (!p) {
      auto e = oauth(ErrorCode::unauthorized, "invalid_token", "Token verification failed: " + why);
      e.with_header("WWW-Authenticate", "Bearer realm=\"" + svc.options().realm + "\", error=\"invalid_token\"");
      throw e;
    }
    const auto user = svc.store().user(p->user_id);
    if (!user || user->disabled) throw oauth(ErrorCode::unauthorized, "invalid_token", "User not found or disabled");
    return Response::json({{"sub", user->id},
                           {"email", user->email},
                           {"email_verified", true},
                           {"preferred_username", user->email},
                           {"name", user->name},
                           {"user_typology", std::string(da::typology_name(user->typology))}});
  };
  router.get(oidc + "/userinfo", userinfo, ErrorFormat::oauth);
  router.post(oidc + "/userinfo", userinfo, ErrorFormat::oauth);
  router.post(
      oidc + "/logout",
      [&svc](Request& req) {
        check_realm(req, svc);
        const auto f = form(req);
        const auto refresh = f.get("refresh_token").value_or("");
        if (refresh.empty()) throw oauth(ErrorCode::bad_request, "invalid_request", "refresh_token is required");
        if (!svc.end_session(refresh)) throw oauth(ErrorCode::bad_request, "invalid_grant", "Invalid refresh token");
        return Response::empty(204);
      },
      ErrorFormat::oauth);
  router.get(
      oidc + "/logout",
      [&svc](Request& req) {
        check_realm(req, svc);
        const auto to = req.query.get("post_logout_redirect_uri").value_or("");
        if (!to.empty() && svc.redirect_allowed(svc.options().public_client, to, req.base_url))
          return redirect_to(to, {{"state", req.query.get("state").value_or("")}});
        return html_page(200, "Signed out", "<p>You can close this page.</p>");
      },
      ErrorFormat::oauth);
  router.post(
      oidc + "/revoke",
      [&svc](Request& req) {
        check_realm(req, svc);
        const auto f = form(req);
        const std::string tok = f.get("token").value_or("");
        if (tok.empty()) throw oauth(ErrorCode::bad_request, "invalid_request", "token is required");
        // A refresh token ends its session. For an access token, its session ends (no more
        // refreshes); the JWT itself stays valid until it expires (access_token_lifetime).
        if (!svc.end_session(tok)) {
          std::string why;
          if (const auto p = svc.verify_access_token(tok, why); p && !p->session_id.empty())
            svc.store().delete_session(p->session_id);
        }
        return Response::empty(200);
      },
      ErrorFormat::oauth);
  router.post(
      oidc + "/token/introspect",
      [&svc](Request& req) {
        check_realm(req, svc);
        const auto f = form(req);
        std::string why;
        const auto p = svc.verify_access_token(f.get("token").value_or(""), why);
        if (!p) return Response::json({{"active", false}});
        return Response::json({{"active", true},
                               {"sub", p->user_id},
                               {"email", p->email},
                               {"client_id", p->client_id},
                               {"username", p->email},
                               {"token_type", "Bearer"},
                               {"exp", p->expires},
                               {"user_typology", std::string(da::typology_name(p->typology))}});
      },
      ErrorFormat::oauth);
  router.get(oidc + "/auth", [&svc](Request& req) { return authorize(req, svc); });
  router.post(oidc + "/auth", [&svc](Request& req) { return authorize(req, svc); });

  router.post("/auth/register", [&svc](Request& req) {
    if (!svc.options().open_registration)
      throw Error(ErrorCode::forbidden, "Self-registration is closed on this server: ask an operator for an account");
    const auto body = body_object(req);
    const auto user = svc.create_user(string_field(body, "email", true), string_field(body, "password", true),
                                      da::Typology::general, string_field(body, "name"), "self", req.ctx.remote_addr);
    Response res = Response::json({{"id", user.id},
                                   {"email", user.email},
                                   {"typology", std::string(da::typology_name(user.typology))},
                                   {"created", format_iso8601(std::chrono::system_clock::from_time_t(user.created))}},
                                  201);
    res.headers.set("Location", req.base_url + "/me");
    return res;
  });

  router.get("/me", [&svc](Request& req) {
    const auto& who = caller(req);
    const auto user = svc.store().user(who.user_id);
    if (!user) throw Error(ErrorCode::not_found, "this account no longer exists");
    nlohmann::json orgs = nlohmann::json::array();
    for (const auto& m : svc.store().memberships(user->id))
      orgs.push_back(
          {{"id", m.organisation.id}, {"name", m.organisation.name}, {"role", std::string(da::org_role_name(m.role))}});
    return Response::json({{"id", user->id},
                           {"email", user->email},
                           {"name", user->name},
                           {"typology", std::string(da::typology_name(user->typology))},
                           {"roles", {da::typology_role(user->typology)}},
                           {"organisations", orgs},
                           {"client_id", who.client_id},
                           {"created", format_iso8601(std::chrono::system_clock::from_time_t(user->created))}});
  });
  // Downloads now: "degraded" once the monthly volume is spent; null = unlimited.
  auto download_state = [](const da::QuotaReport::Downloads& d) {
    auto limit = [](double v) { return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(static_cast<long long>(v)); };
    return nlohmann::json{{"degraded", d.degraded},
                          {"bandwidth", limit(d.bandwidth)},
                          {"connections", limit(d.connections)},
                          {"open", d.open}};
  };
  router.get("/me/quotas", [quotas, download_state](Request& req) {
    caller(req);
    if (!quotas) throw Error(ErrorCode::not_implemented, "quotas are not enabled on this server");
    const auto subject = quota_subject(req);
    const auto r = quotas->report(subject);
    return Response::json({{"typology", std::string(da::typology_name(subject.typology))},
                           {"period", r.period},
                           {"limits", r.limits},
                           {"usage", r.usage},
                           {"available_per_minute", r.buckets},
                           {"downloads", download_state(r.downloads)}});
  });

  router.get("/me/clients", [&svc](Request& req) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& c : svc.clients(caller(req).user_id)) arr.push_back(client_json(c));
    return Response::json({{"clients", arr}});
  });
  router.post("/me/clients", [&svc](Request& req) {
    const auto& who = caller(req);
    const auto body = body_object(req);
    std::vector<std::string> redirects;
    if (body.contains("redirect_uris")) {
      if (!body["redirect_uris"].is_array())
        throw Error(ErrorCode::invalid_parameter, "redirect_uris must be an array of URLs", "redirect_uris");
      for (const auto& u : body["redirect_uris"]) {
        if (!u.is_string())
          throw Error(ErrorCode::invalid_parameter, "redirect_uris must be an array of URLs", "redirect_uris");
        redirects.push_back(u.get<std::string>());
      }
    }
    const auto created = svc.create_client(who.user_id, string_field(body, "name"), redirects);
    nlohmann::json j = client_json(created.client);
    j["client_secret"] = created.secret;
    Response res = Response::json(j, 201);
    res.headers.set("Cache-Control", "no-store");
    return res;
  });
  router.del("/me/clients/{client_id}", [&svc](Request& req) {
    if (!svc.delete_client(caller(req).user_id, req.param("client_id")))
      throw Error(ErrorCode::not_found, "no such OAuth client", "client_id");
    return Response::empty(204);
  });

  router.get("/me/s3-keys", [&svc](Request& req) { return list_s3_keys(req, svc); });
  router.post("/me/s3-keys", [&svc](Request& req) { return create_s3_key(req, svc); });
  router.del("/me/s3-keys/{access_id}", [&svc](Request& req) { return revoke_s3_key(req, svc, "access_id"); });
  // CloudFerro's S3 key manager paths, as CDSE's documentation scripts call them.
  router.get("/api/user/credentials", [&svc](Request& req) { return list_s3_keys(req, svc); });
  router.post("/api/user/credentials", [&svc](Request& req) { return create_s3_key(req, svc); });
  router.del("/api/user/credentials/access_id/{access_id}",
             [&svc](Request& req) { return revoke_s3_key(req, svc, "access_id"); });
}

}  // namespace ds::api::auth
