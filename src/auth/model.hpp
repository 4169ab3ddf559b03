#pragma once
// The identity model: users, organisations, OAuth clients, S3 keys, sessions, authorization codes,
// usage counters and audit events. Times are seconds since the Unix epoch.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ds::auth {

// User typologies (CDSE's seed B.1) plus anonymous (no credentials) and admin (operators).
enum class Typology { anonymous, general, services, collaborative, international, admin };

std::string_view typology_name(Typology t);  // "general", "services", ...
// Accepts our names and CDSE's long forms ("copernicus_general", "copernicus-services", ...).
std::optional<Typology> parse_typology(std::string_view text);
// CDSE realm role for a typology, e.g. "copernicus-general".
std::string typology_role(Typology t);
const std::vector<Typology>& all_typologies();

struct User {
  std::string id;     // UUID
  std::string email;  // lower-case, the login
  std::string name;
  Typology typology = Typology::general;
  std::string password_hash;  // Argon2id PHC string; never leaves the store except to verify
  bool disabled = false;
  std::int64_t created = 0;
};

enum class OrgRole { member, admin };
std::string_view org_role_name(OrgRole r);
std::optional<OrgRole> parse_org_role(std::string_view text);

struct Organisation {
  std::string id;
  std::string name;
  std::int64_t created = 0;
};

struct Membership {
  Organisation organisation;
  OrgRole role = OrgRole::member;
};

// A confidential OAuth client owned by a user (Sentinel Hub style "sh-..." id). The secret is kept
// only as its SHA-256: it is 32 random bytes, so a slow hash adds nothing.
struct OAuthClient {
  std::string client_id;
  std::string user_id;
  std::string name;
  std::string secret_hash;
  std::vector<std::string> redirect_uris;
  std::int64_t created = 0;
};

// An S3 access key pair. The secret must be recoverable to verify SigV4 signatures (an HMAC over
// the secret), so it is stored sealed with the server key (AES-256-GCM), not hashed.
struct S3Key {
  std::string access_key;
  std::string user_id;
  std::string sealed_secret;
  std::string description;
  std::int64_t created = 0;
  std::int64_t expires = 0;  // 0 = never
};

// A login session: the refresh token (stored as its SHA-256) and its absolute expiry.
struct Session {
  std::string id;
  std::string user_id;
  std::string client_id;
  std::string refresh_hash;
  std::string scope;
  std::int64_t created = 0;
  std::int64_t expires = 0;
};

// An authorization code of the code + PKCE flow (single use, stored as its SHA-256).
struct AuthCode {
  std::string code_hash;
  std::string user_id;
  std::string client_id;
  std::string redirect_uri;
  std::string code_challenge;  // S256 of the verifier, base64url
  std::string scope;
  std::string nonce;
  std::int64_t expires = 0;
};

struct AuditEvent {
  std::int64_t at = 0;
  std::string actor;    // user id, "cli", or the login tried
  std::string action;   // login, login_failed, user_created, client_created, s3key_created, ...
  std::string subject;  // what was acted on
  std::string address;  // client address, when over HTTP
  std::string detail;
};

}  // namespace ds::auth
