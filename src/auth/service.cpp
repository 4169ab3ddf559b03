#include "auth/service.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "auth/crypto.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace ds::auth {
namespace {

Error oauth_error(ErrorCode code, const std::string& error, const std::string& description) {
  Error e(code, description);
  e.with_detail("oauth_error", error);
  return e;
}

bool valid_email(const std::string& e) {
  if (e.size() < 3 || e.size() > 254) return false;
  const auto at = e.find('@');
  if (at == std::string::npos || at == 0 || e.find('@', at + 1) != std::string::npos) return false;
  const auto dot = e.find('.', at + 2);
  if (dot == std::string::npos || dot + 1 >= e.size()) return false;
  return std::all_of(e.begin(), e.end(),
                     [](unsigned char c) { return c > 32 && c < 127 && c != '"' && c != '<' && c != '>'; });
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool has_scope(const std::string& scope, std::string_view item) {
  std::size_t pos = 0;
  while (pos <= scope.size()) {
    const auto end = std::min(scope.find(' ', pos), scope.size());
    if (std::string_view(scope).substr(pos, end - pos) == item) return true;
    pos = end + 1;
  }
  return false;
}

constexpr const char* kDefaultScope = "AUDIENCE_PUBLIC openid email profile user-context";

// 20 characters from an unambiguous upper-case alphabet, like AWS access key ids.
std::string access_key_id() {
  static constexpr char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const std::string r = random_bytes(18);
  std::string out = "DS";
  for (unsigned char c : r) out += alphabet[c % 32];
  return out;
}

}  // namespace

nlohmann::json TokenSet::to_json() const {
  nlohmann::json j = {
      {"access_token", access_token}, {"expires_in", expires_in}, {"refresh_expires_in", refresh_expires_in},
      {"token_type", "Bearer"},       {"not-before-policy", 0},   {"scope", scope}};
  if (!refresh_token.empty()) j["refresh_token"] = refresh_token;
  if (!id_token.empty()) j["id_token"] = id_token;
  if (!session_id.empty()) j["session_state"] = session_id;
  return j;
}

AuthService::AuthService(AuthStore& store, AuthOptions options) : store_(store), options_(std::move(options)) {
  const auto keep = std::max(options_.access_ttl, options_.refresh_ttl) + std::chrono::seconds(60);
  keys_ = std::make_unique<SigningKeys>(options_.keys_dir / "jwt-signing.json", options_.key_rotation, keep);
  s3_key_ = load_or_create_secret_key(options_.keys_dir / "secrets.key");
}

void AuthService::audit(const std::string& actor, const std::string& action, const std::string& subject,
                        const std::string& address, const std::string& detail) {
  try {
    store_.audit({unix_now(), actor, action, subject, address, detail});
  } catch (const std::exception& e) {
    log::warn("audit: cannot record {} {}: {}", action, subject, e.what());
  }
}

User AuthService::create_user(const std::string& email, const std::string& password, Typology typology,
                              const std::string& name, const std::string& actor, const std::string& address) {
  const std::string login = lower(email);
  if (!valid_email(login)) throw Error(ErrorCode::invalid_parameter, "email is not a valid e-mail address", "email");
  if (password.size() < 8)
    throw Error(ErrorCode::invalid_parameter, "password must have at least 8 characters", "password");
  if (typology == Typology::anonymous)
    throw Error(ErrorCode::invalid_parameter, "a user cannot have the anonymous typology", "typology");
  if (store_.user_by_email(login)) throw Error(ErrorCode::conflict, "a user with this e-mail exists", "email");
  User u;
  u.id = random_uuid();
  u.email = login;
  u.name = name;
  u.typology = typology;
  u.password_hash = hash_password(password, options_.password);
  u.created = unix_now();
  try {
    store_.create_user(u);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::conflict) throw Error(ErrorCode::conflict, "a user with this e-mail exists", "email");
    throw;
  }
  audit(actor, "user_created", u.id, address, fmt::format("{} {}", login, typology_name(typology)));
  return u;
}

void AuthService::set_disabled(const std::string& user_id, bool disabled, const std::string& actor) {
  if (!store_.user(user_id)) throw Error(ErrorCode::not_found, "no such user", "user");
  store_.set_disabled(user_id, disabled);
  if (disabled) store_.delete_sessions_of(user_id);
  {
    std::lock_guard lock(cache_mutex_);
    if (disabled)
      disabled_.insert(user_id);
    else
      disabled_.erase(user_id);
  }
  audit(actor, disabled ? "user_disabled" : "user_enabled", user_id);
}

bool AuthService::delete_user(const std::string& user_id, const std::string& actor) {
  const bool found = store_.delete_user(user_id);
  if (found) {
    std::lock_guard lock(cache_mutex_);
    disabled_.insert(user_id);
  }
  if (found) audit(actor, "user_deleted", user_id);
  return found;
}

void AuthService::throttle_check(const std::string& email, const std::string& address) {
  const auto now = unix_now();
  std::lock_guard lock(throttle_mutex_);
  auto over = [&](const std::string& key, std::size_t max) -> std::int64_t {
    auto it = failures_.find(key);
    if (it == failures_.end()) return 0;
    auto& q = it->second;
    while (!q.empty() && q.front() + options_.login_window.count() <= now) q.pop_front();
    if (q.empty()) {
      failures_.erase(it);
      return 0;
    }
    return q.size() >= max ? q.front() + options_.login_window.count() - now : 0;
  };
  const auto wait = std::max(over("u:" + email, options_.max_login_failures),
                             address.empty() ? 0 : over("a:" + address, options_.max_login_failures * 4));
  if (wait > 0) {
    auto e =
        oauth_error(ErrorCode::too_many_requests, "temporarily_unavailable", "Too many failed logins; try again later");
    e.with_header("Retry-After", std::to_string(wait));
    throw e;
  }
}

void AuthService::throttle_fail(const std::string& email, const std::string& address) {
  const auto now = unix_now();
  std::lock_guard lock(throttle_mutex_);
  if (failures_.size() > 100'000) failures_.clear();  // bounded memory under a spray of logins
  failures_["u:" + email].push_back(now);
  if (!address.empty()) failures_["a:" + address].push_back(now);
}

User AuthService::authenticate(const std::string& email, const std::string& password, const std::string& address) {
  const std::string login = lower(email);
  throttle_check(login, address);
  auto user = store_.user_by_email(login);
  // Hash even for an unknown account, so that timing does not reveal which e-mails exist.
  static const std::string dummy = hash_password("not-a-password", {});
  const bool ok = verify_password(user ? user->password_hash : dummy, password) && user;
  if (!ok) {
    throttle_fail(login, address);
    audit(login, "login_failed", user ? user->id : "", address);
    throw oauth_error(ErrorCode::unauthorized, "invalid_grant", "Invalid user credentials");
  }
  if (user->disabled) {
    audit(login, "login_failed", user->id, address, "account disabled");
    throw oauth_error(ErrorCode::bad_request, "invalid_grant", "Account disabled");
  }
  {
    std::lock_guard lock(throttle_mutex_);
    failures_.erase("u:" + login);
  }
  return *user;
}

TokenSet AuthService::issue(const User& user, const std::string& client_id, const std::string& scope,
                            const std::string& issuer, const std::optional<Session>& session,
                            const std::string& nonce) {
  const auto now = unix_now();
  keys_->maybe_rotate(now);
  nlohmann::json orgs = nlohmann::json::array();
  for (const auto& m : store_.memberships(user.id)) orgs.push_back(m.organisation.name);
  const std::string typ_group = "/access_groups/user_typology/copernicus_" + std::string(typology_name(user.typology));
  nlohmann::json claims = {
      {"iss", issuer},
      {"sub", user.id},
      {"aud", nlohmann::json::array({"CLOUDFERRO_PUBLIC", "account"})},
      {"azp", client_id},
      {"typ", "Bearer"},
      {"iat", now},
      {"exp", now + options_.access_ttl.count()},
      {"jti", random_uuid()},
      {"scope", scope},
      {"email", user.email},
      {"email_verified", true},
      {"preferred_username", user.email},
      {"name", user.name},
      {"realm_access", {{"roles", {typology_role(user.typology), "offline_access", "uma_authorization"}}}},
      {"group_membership", {typ_group}},
      {"organizations", orgs},
      {"user_typology", std::string(typology_name(user.typology))},
  };
  TokenSet t;
  t.scope = scope;
  t.expires_in = options_.access_ttl.count();
  if (session) {
    claims["sid"] = session->id;
    t.session_id = session->id;
  }
  t.access_token = keys_->sign(claims);
  if (has_scope(scope, "openid")) {
    nlohmann::json id = {{"iss", issuer},
                         {"sub", user.id},
                         {"aud", client_id},
                         {"azp", client_id},
                         {"typ", "ID"},
                         {"iat", now},
                         {"exp", claims["exp"]},
                         {"email", user.email},
                         {"email_verified", true},
                         {"preferred_username", user.email},
                         {"name", user.name}};
    if (session) id["sid"] = session->id;
    if (!nonce.empty()) id["nonce"] = nonce;
    t.id_token = keys_->sign(id);
  }
  return t;
}

TokenSet AuthService::password_grant(const std::string& client_id, const std::string& email,
                                     const std::string& password, const std::string& scope, const std::string& address,
                                     const std::string& issuer) {
  if (client_id != options_.public_client)
    throw oauth_error(ErrorCode::bad_request, "unauthorized_client",
                      "The password grant is offered to the public client " + options_.public_client);
  if (email.empty() || password.empty())
    throw oauth_error(ErrorCode::bad_request, "invalid_request", "username and password are required");
  const User user = authenticate(email, password, address);
  const auto now = unix_now();
  Session s;
  s.id = random_uuid();
  s.user_id = user.id;
  s.client_id = client_id;
  s.scope = scope.empty() ? kDefaultScope : scope;
  s.created = now;
  s.expires = now + options_.refresh_ttl.count();
  const std::string refresh = keys_->sign({{"iss", issuer},
                                           {"sub", user.id},
                                           {"typ", "Refresh"},
                                           {"azp", client_id},
                                           {"sid", s.id},
                                           {"iat", now},
                                           {"exp", s.expires},
                                           {"jti", random_uuid()}});
  s.refresh_hash = sha256_hex(refresh);
  store_.create_session(s);
  TokenSet t = issue(user, client_id, s.scope, issuer, s);
  t.refresh_token = refresh;
  t.refresh_expires_in = s.expires - now;
  audit(user.id, "login", s.id, address, "password grant, client " + client_id);
  return t;
}

TokenSet AuthService::client_credentials_grant(const std::string& client_id, const std::string& secret,
                                               const std::string& scope, const std::string& address,
                                               const std::string& issuer) {
  if (client_id.empty() || secret.empty())
    throw oauth_error(ErrorCode::unauthorized, "invalid_client", "client_id and client_secret are required");
  throttle_check("client:" + client_id, address);
  const auto client = store_.client(client_id);
  if (!client || !constant_time_equal(client->secret_hash, sha256_hex(secret))) {
    throttle_fail("client:" + client_id, address);
    throw oauth_error(ErrorCode::unauthorized, "invalid_client", "Invalid client or Invalid client credentials");
  }
  const auto user = store_.user(client->user_id);
  if (!user || user->disabled)
    throw oauth_error(ErrorCode::bad_request, "invalid_grant", "The owner of this client is disabled");
  TokenSet t = issue(*user, client_id, scope.empty() ? "email profile" : scope, issuer, std::nullopt);
  return t;
}

TokenSet AuthService::refresh_grant(const std::string& client_id, const std::string& refresh_token,
                                    const std::string& issuer) {
  if (refresh_token.empty()) throw oauth_error(ErrorCode::bad_request, "invalid_request", "refresh_token is required");
  const auto now = unix_now();
  const auto s = store_.session_by_refresh_hash(sha256_hex(refresh_token));
  if (!s || s->expires <= now) throw oauth_error(ErrorCode::bad_request, "invalid_grant", "Invalid refresh token");
  if (!client_id.empty() && client_id != s->client_id)
    throw oauth_error(ErrorCode::bad_request, "invalid_grant", "Token client and authorized client don't match");
  const auto user = store_.user(s->user_id);
  if (!user || user->disabled) throw oauth_error(ErrorCode::bad_request, "invalid_grant", "Account disabled");
  TokenSet t = issue(*user, s->client_id, s->scope, issuer, s);
  // Usable repeatedly until the session ends (CDSE: 60 minutes), so the same refresh token returns.
  t.refresh_token = refresh_token;
  t.refresh_expires_in = s->expires - now;
  return t;
}

bool AuthService::redirect_allowed(const std::string& client_id, const std::string& uri,
                                   const std::string& base_url) const {
  if (uri.empty() || uri.find_first_of(" \r\n\t#") != std::string::npos) return false;
  if (client_id == options_.public_client) {
    auto starts = [&](const std::string& prefix) { return uri.rfind(prefix, 0) == 0; };
    auto host_is = [&](const std::string& scheme_host) {
      return uri == scheme_host || starts(scheme_host + "/") || starts(scheme_host + ":") || starts(scheme_host + "?");
    };
    if (!base_url.empty() && (uri == base_url || starts(base_url + "/"))) return true;
    if (host_is("http://localhost") || host_is("http://127.0.0.1") || host_is("http://[::1]")) return true;
    return std::any_of(options_.redirect_prefixes.begin(), options_.redirect_prefixes.end(),
                       [&](const std::string& p) { return !p.empty() && starts(p); });
  }
  const auto client = store_.client(client_id);
  return client &&
         std::find(client->redirect_uris.begin(), client->redirect_uris.end(), uri) != client->redirect_uris.end();
}

std::string AuthService::create_code(const User& user, const std::string& client_id, const std::string& redirect_uri,
                                     const std::string& code_challenge, const std::string& scope,
                                     const std::string& nonce) {
  const std::string code = random_token(32);
  AuthCode c;
  c.code_hash = sha256_hex(code);
  c.user_id = user.id;
  c.client_id = client_id;
  c.redirect_uri = redirect_uri;
  c.code_challenge = code_challenge;
  c.scope = scope.empty() ? kDefaultScope : scope;
  c.nonce = nonce;
  c.expires = unix_now() + options_.code_ttl.count();
  store_.create_code(c);
  return code;
}

TokenSet AuthService::code_grant(const std::string& client_id, const std::string& code, const std::string& redirect_uri,
                                 const std::string& code_verifier, const std::string& issuer) {
  if (code.empty()) throw oauth_error(ErrorCode::bad_request, "invalid_request", "code is required");
  const auto now = unix_now();
  const auto c = store_.consume_code(sha256_hex(code));
  if (!c || c->expires <= now) throw oauth_error(ErrorCode::bad_request, "invalid_grant", "Code not valid");
  if (c->client_id != client_id)
    throw oauth_error(ErrorCode::bad_request, "invalid_grant", "Code was issued to another client");
  if (c->redirect_uri != redirect_uri)
    throw oauth_error(ErrorCode::bad_request, "invalid_grant", "Incorrect redirect_uri");
  if (code_verifier.size() < 43 || code_verifier.size() > 128 ||
      !constant_time_equal(base64url_encode(sha256(code_verifier)), c->code_challenge))
    throw oauth_error(ErrorCode::bad_request, "invalid_grant",
                      "PKCE verification failed: code_verifier does not match");
  const auto user = store_.user(c->user_id);
  if (!user || user->disabled) throw oauth_error(ErrorCode::bad_request, "invalid_grant", "Account disabled");
  Session s;
  s.id = random_uuid();
  s.user_id = user->id;
  s.client_id = client_id;
  s.scope = c->scope;
  s.created = now;
  s.expires = now + options_.refresh_ttl.count();
  const std::string refresh = keys_->sign({{"iss", issuer},
                                           {"sub", user->id},
                                           {"typ", "Refresh"},
                                           {"azp", client_id},
                                           {"sid", s.id},
                                           {"iat", now},
                                           {"exp", s.expires},
                                           {"jti", random_uuid()}});
  s.refresh_hash = sha256_hex(refresh);
  store_.create_session(s);
  TokenSet t = issue(*user, client_id, s.scope, issuer, s, c->nonce);
  t.refresh_token = refresh;
  t.refresh_expires_in = s.expires - now;
  audit(user->id, "login", s.id, "", "authorization code, client " + client_id);
  return t;
}

bool AuthService::end_session(const std::string& refresh_token) {
  const auto s = store_.session_by_refresh_hash(sha256_hex(refresh_token));
  if (!s) return false;
  store_.delete_session(s->id);
  audit(s->user_id, "logout", s->id);
  return true;
}

std::optional<Principal> AuthService::verify_access_token(const std::string& token, std::string& why) {
  const auto now = unix_now();
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = cache_.find(token); it != cache_.end()) {
      const auto& p = it->second.principal;
      if (p.expires > now && !disabled_.contains(p.user_id)) return p;
      why = p.expires <= now ? "token expired" : "account disabled";
      cache_.erase(it);
      return std::nullopt;
    }
  }
  auto claims = keys_->verify(token, now, why);
  if (!claims) return std::nullopt;
  if (claims->value("typ", "") != "Bearer" || !(*claims)["sub"].is_string()) {
    why = "not an access token";
    return std::nullopt;
  }
  Principal p;
  p.user_id = (*claims)["sub"].get<std::string>();
  p.email = claims->value("email", "");
  p.client_id = claims->value("azp", "");
  p.session_id = claims->value("sid", "");
  p.typology = parse_typology(claims->value("user_typology", "general")).value_or(Typology::general);
  if (claims->contains("organizations") && (*claims)["organizations"].is_array()) {
    for (const auto& o : (*claims)["organizations"])
      if (o.is_string()) p.organisations.push_back(o.get<std::string>());
  }
  p.expires = static_cast<std::int64_t>((*claims)["exp"].get<double>());
  std::lock_guard lock(cache_mutex_);
  if (disabled_.contains(p.user_id)) {
    why = "account disabled";
    return std::nullopt;
  }
  if (cache_.size() >= 10'000) cache_.clear();
  cache_.emplace(token, Cached{p});
  return p;
}

CreatedClient AuthService::create_client(const std::string& user_id, const std::string& name,
                                         const std::vector<std::string>& redirect_uris) {
  if (name.size() > 200) throw Error(ErrorCode::invalid_parameter, "name longer than 200 characters", "name");
  for (const auto& u : redirect_uris) {
    if (u.rfind("https://", 0) != 0 && u.rfind("http://", 0) != 0)
      throw Error(ErrorCode::invalid_parameter, "redirect URIs must be http(s) URLs", "redirect_uris");
  }
  if (store_.clients_of(user_id).size() >= options_.max_clients)
    throw Error(ErrorCode::conflict, fmt::format("at most {} OAuth clients per user", options_.max_clients));
  CreatedClient out;
  out.client.client_id = "sh-" + random_uuid();
  out.client.user_id = user_id;
  out.client.name = name;
  out.client.redirect_uris = redirect_uris;
  out.client.created = unix_now();
  out.secret = random_token(32);
  out.client.secret_hash = sha256_hex(out.secret);
  store_.create_client(out.client);
  audit(user_id, "client_created", out.client.client_id);
  return out;
}

std::vector<OAuthClient> AuthService::clients(const std::string& user_id) const { return store_.clients_of(user_id); }

bool AuthService::delete_client(const std::string& user_id, const std::string& client_id) {
  const bool ok = store_.delete_client(user_id, client_id);
  if (ok) audit(user_id, "client_deleted", client_id);
  return ok;
}

CreatedS3Key AuthService::create_s3_key(const std::string& user_id, const std::string& description,
                                        std::int64_t expires) {
  if (description.size() > 200)
    throw Error(ErrorCode::invalid_parameter, "description longer than 200 characters", "description");
  const auto now = unix_now();
  if (expires != 0 && expires <= now)
    throw Error(ErrorCode::invalid_parameter, "expiry must be in the future", "expires");
  std::size_t live = 0;
  for (const auto& k : store_.s3_keys_of(user_id))
    if (k.expires == 0 || k.expires > now) ++live;
  if (live >= options_.max_s3_keys)
    throw Error(ErrorCode::conflict,
                fmt::format("at most {} S3 keys per user: revoke one first", options_.max_s3_keys));
  CreatedS3Key out;
  out.key.access_key = access_key_id();
  out.key.user_id = user_id;
  out.key.description = description;
  out.key.created = now;
  out.key.expires = expires;
  out.secret = random_token(30);
  out.key.sealed_secret = seal(s3_key_, out.secret, out.key.access_key + "|" + user_id);
  store_.create_s3_key(out.key);
  audit(user_id, "s3key_created", out.key.access_key);
  return out;
}

std::vector<S3Key> AuthService::s3_keys(const std::string& user_id) const { return store_.s3_keys_of(user_id); }

bool AuthService::revoke_s3_key(const std::string& user_id, const std::string& access_key) {
  const bool ok = store_.delete_s3_key(user_id, access_key);
  if (ok) audit(user_id, "s3key_revoked", access_key);
  return ok;
}

std::optional<S3Credential> AuthService::lookup_s3_secret(const std::string& access_key) const {
  const auto k = store_.s3_key(access_key);
  if (!k || (k->expires != 0 && k->expires <= unix_now())) return std::nullopt;
  const auto u = store_.user(k->user_id);
  if (!u || u->disabled) return std::nullopt;
  return S3Credential{k->access_key, open_sealed(s3_key_, k->sealed_secret, k->access_key + "|" + k->user_id), u->id,
                      u->email, u->typology};
}

QuotaSubject AuthService::quota_subject(const Principal* p, const std::string& address) {
  if (!p || p->user_id.empty()) return {"addr:" + address, Typology::anonymous, false};
  return {p->user_id, p->typology, true};
}

}  // namespace ds::auth
