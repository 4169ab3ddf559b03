#pragma once
// Password hashing with Argon2id (libargon2), encoded in the PHC string format
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash) so that parameters can change without a migration:
// every stored hash carries its own.

#include <cstdint>
#include <string>
#include <string_view>

namespace ds::auth {

struct PasswordParams {
  // OWASP's first recommended Argon2id configuration: 19 MiB, 2 passes, 1 lane (~25 ms on one
  // core). Hashing runs on the HTTP I/O thread of a login, so it must stay in the tens of ms.
  std::uint32_t memory_kib = 19 * 1024;
  std::uint32_t iterations = 2;
  std::uint32_t parallelism = 1;
};

// Hashes with a fresh random 16-byte salt. Throws ds::Error(invalid_parameter) for a password
// longer than 1024 bytes, ds::Error(internal) if libargon2 fails.
std::string hash_password(std::string_view password, const PasswordParams& params = {});
// True when `password` matches `encoded`; false for a mismatch or a malformed encoding. Never throws.
bool verify_password(std::string_view encoded, std::string_view password);

}  // namespace ds::auth
