#pragma once
// JSON Web Tokens signed with ES256 (ECDSA P-256 + SHA-256, OpenSSL 3), and the key ring that
// signs them. ES256 rather than Ed25519 because every JOSE library our users' clients embed
// (python-jose, PyJWT, jose for JavaScript, Keycloak adapters) verifies it.
//
// The ring is persisted as one JSON file (default <data>/keys/jwt-signing.json, 0600, written
// atomically) holding each key's id, creation time, retirement time and private key (PEM). One key
// is active; rotate() retires it and makes a new one. A retired key stays in the ring (and in the
// JWKS) until every token it signed has expired, so rotation never invalidates a live token.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ds::auth {

// Seconds since the Unix epoch.
std::int64_t unix_now();

class SigningKeys {
 public:
  // Loads the ring from `file`, creating it with one fresh key when absent. `rotation` is the age at
  // which maybe_rotate() replaces the active key (0 = never); `keep_retired` how long a retired key
  // keeps verifying (the longest token lifetime). Throws ds::Error(internal) on an unreadable file.
  SigningKeys(std::filesystem::path file, std::chrono::seconds rotation, std::chrono::seconds keep_retired);
  ~SigningKeys();
  SigningKeys(const SigningKeys&) = delete;
  SigningKeys& operator=(const SigningKeys&) = delete;

  // Compact JWS of `claims` with header {"alg":"ES256","typ":"JWT","kid":<active>}. Thread-safe.
  std::string sign(const nlohmann::json& claims) const;

  // Verifies a compact JWS: header alg must be ES256 and kid a key of the ring (the ring is
  // re-read from disk, at most once a second, when the kid is unknown: another node may have
  // rotated), the signature valid, and `exp` (required) in the future and `nbf` (if any) past, both
  // with `leeway_s`. Returns the claims, or nullopt with the reason in `why`. Thread-safe.
  std::optional<nlohmann::json> verify(std::string_view token, std::int64_t now, std::string& why,
                                       std::int64_t leeway_s = 0) const;

  // Makes a new active key, retires the current one and drops keys retired longer than
  // `keep_retired` ago; persists the ring. Thread-safe.
  void rotate();
  // Rotates when the active key is older than `rotation`. Returns whether it did.
  bool maybe_rotate(std::int64_t now);

  // The public keys as a JWK Set ({"keys":[{"kty":"EC","crv":"P-256","x","y","kid","use":"sig","alg":"ES256"}]}).
  nlohmann::json jwks() const;
  std::string active_kid() const;

 private:
  struct Key;
  void load_locked();
  void save_locked() const;
  void reload_if_unknown(const std::string& kid) const;

  std::filesystem::path file_;
  std::chrono::seconds rotation_;
  std::chrono::seconds keep_retired_;
  mutable std::shared_mutex mutex_;
  mutable std::vector<std::shared_ptr<Key>> keys_;  // active key last
  mutable std::int64_t last_reload_ = 0;
};

}  // namespace ds::auth
