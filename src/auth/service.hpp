#pragma once
// The identity service: registration, logins and the OAuth 2.0 / OpenID Connect grants (password,
// client credentials, refresh token, authorization code + PKCE), token verification, OAuth client
// and S3 key management, login throttling and the audit trail. Everything protocol-specific (HTTP,
// form encoding, Keycloak's JSON) lives in src/api/auth; this class knows no HTTP. Thread-safe.
//
// Failures are ds::Error with a detail "oauth_error" holding the OAuth 2.0 error code
// (invalid_grant, invalid_client, invalid_request, unauthorized_client, ...) for the token
// endpoint's renderer.

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/jwt.hpp"
#include "auth/model.hpp"
#include "auth/password.hpp"
#include "auth/quota.hpp"
#include "auth/store.hpp"

namespace ds::auth {

struct AuthOptions {
  std::string realm = "CDSE";
  std::string public_client = "cdse-public";  // the public client of the password and code grants
  std::chrono::seconds access_ttl{600};
  std::chrono::seconds refresh_ttl{3600};
  std::chrono::seconds code_ttl{60};
  std::chrono::seconds key_rotation{30 * 24 * 3600};  // 0 = never rotate automatically
  bool open_registration = true;
  std::size_t max_s3_keys = 5;         // per user
  std::size_t max_clients = 20;        // per user
  std::size_t max_login_failures = 5;  // per account within login_window; the address gets 4x
  std::chrono::seconds login_window{300};
  PasswordParams password;
  std::filesystem::path keys_dir;              // <data>/keys
  std::vector<std::string> redirect_prefixes;  // extra allowed redirect URI prefixes (code flow)
};

// The caller behind a verified access token. Built from the token's claims alone (no database
// read per request).
struct Principal {
  std::string user_id;
  std::string email;
  std::string client_id;   // azp: cdse-public, or the user's OAuth client
  std::string session_id;  // sid, empty for client-credentials tokens
  Typology typology = Typology::anonymous;
  std::vector<std::string> organisations;
  std::int64_t expires = 0;
};

struct TokenSet {
  std::string access_token;
  std::int64_t expires_in = 0;
  std::string refresh_token;  // empty for client credentials
  std::int64_t refresh_expires_in = 0;
  std::string id_token;  // when scope has openid
  std::string scope;
  std::string session_id;
  nlohmann::json to_json() const;  // Keycloak's token response
};

struct CreatedClient {
  OAuthClient client;
  std::string secret;  // shown once
};

struct CreatedS3Key {
  S3Key key;
  std::string secret;  // shown once
};

// What the S3 API needs to verify a SigV4 signature: the secret and who it belongs to.
struct S3Credential {
  std::string access_key;
  std::string secret;
  std::string user_id;
  std::string email;
  Typology typology = Typology::general;
};

class AuthService {
 public:
  AuthService(AuthStore& store, AuthOptions options);

  const AuthOptions& options() const { return options_; }
  AuthStore& store() { return store_; }
  SigningKeys& keys() { return *keys_; }

  // Creates a user. Validates the e-mail and the password (8..1024 bytes); throws
  // invalid_parameter, or conflict when the e-mail is registered. `actor` is who did it (for the
  // audit log): "self", "cli", or an admin's user id.
  User create_user(const std::string& email, const std::string& password, Typology typology, const std::string& name,
                   const std::string& actor, const std::string& address = {});
  void set_disabled(const std::string& user_id, bool disabled, const std::string& actor);
  bool delete_user(const std::string& user_id, const std::string& actor);

  // Checks e-mail + password, throttled per account and per address (429 after too many
  // failures). Throws unauthorized (invalid_grant) for wrong credentials and disabled accounts.
  User authenticate(const std::string& email, const std::string& password, const std::string& address);

  // The grants. `issuer` is the realm URL as the client sees it (https://host/auth/realms/CDSE).
  TokenSet password_grant(const std::string& client_id, const std::string& email, const std::string& password,
                          const std::string& scope, const std::string& address, const std::string& issuer);
  TokenSet client_credentials_grant(const std::string& client_id, const std::string& secret, const std::string& scope,
                                    const std::string& address, const std::string& issuer);
  TokenSet refresh_grant(const std::string& client_id, const std::string& refresh_token, const std::string& issuer);
  // Authorization code + PKCE (S256 only).
  bool redirect_allowed(const std::string& client_id, const std::string& redirect_uri,
                        const std::string& base_url) const;
  std::string create_code(const User& user, const std::string& client_id, const std::string& redirect_uri,
                          const std::string& code_challenge, const std::string& scope, const std::string& nonce);
  TokenSet code_grant(const std::string& client_id, const std::string& code, const std::string& redirect_uri,
                      const std::string& code_verifier, const std::string& issuer);
  // Ends the session of a refresh token (logout, revocation). Returns whether one existed.
  bool end_session(const std::string& refresh_token);

  // Verifies an access token (signature, expiry, typ); recently verified tokens come from a cache.
  // nullopt with the reason in `why` when invalid.
  std::optional<Principal> verify_access_token(const std::string& token, std::string& why);

  // OAuth clients of a user.
  CreatedClient create_client(const std::string& user_id, const std::string& name,
                              const std::vector<std::string>& redirect_uris);
  std::vector<OAuthClient> clients(const std::string& user_id) const;
  bool delete_client(const std::string& user_id, const std::string& client_id);

  // S3 keys of a user (at most max_s3_keys; conflict beyond). `expires` 0 = never.
  CreatedS3Key create_s3_key(const std::string& user_id, const std::string& description, std::int64_t expires);
  std::vector<S3Key> s3_keys(const std::string& user_id) const;
  bool revoke_s3_key(const std::string& user_id, const std::string& access_key);
  // For SigV4 verification: the secret and owner of a live key of an enabled user, else nullopt.
  std::optional<S3Credential> lookup_s3_secret(const std::string& access_key) const;

  // The quota subject of a principal (an address for anonymous callers).
  static QuotaSubject quota_subject(const Principal* p, const std::string& address);

  void audit(const std::string& actor, const std::string& action, const std::string& subject,
             const std::string& address = {}, const std::string& detail = {});

 private:
  TokenSet issue(const User& user, const std::string& client_id, const std::string& scope, const std::string& issuer,
                 const std::optional<Session>& session, const std::string& nonce = {});
  void throttle_check(const std::string& email, const std::string& address);
  void throttle_fail(const std::string& email, const std::string& address);

  AuthStore& store_;
  AuthOptions options_;
  std::unique_ptr<SigningKeys> keys_;
  std::string s3_key_;  // 32-byte server key sealing S3 secrets

  std::mutex throttle_mutex_;
  std::unordered_map<std::string, std::deque<std::int64_t>> failures_;  // "u:<email>" / "a:<addr>"

  struct Cached {
    Principal principal;
  };
  std::mutex cache_mutex_;
  std::unordered_map<std::string, Cached> cache_;
  std::unordered_set<std::string> disabled_;  // users disabled by this process: their tokens stop at once
};

}  // namespace ds::auth
