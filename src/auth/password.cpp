#include "auth/password.hpp"

#include <argon2.h>

#include <vector>

#include "auth/crypto.hpp"
#include "core/error.hpp"

namespace ds::auth {

std::string hash_password(std::string_view password, const PasswordParams& params) {
  if (password.size() > 1024) throw Error(ErrorCode::invalid_parameter, "password longer than 1024 bytes", "password");
  const std::string salt = random_bytes(16);
  constexpr std::size_t kHashLen = 32;
  const std::size_t len = argon2_encodedlen(params.iterations, params.memory_kib, params.parallelism,
                                            static_cast<uint32_t>(salt.size()), kHashLen, Argon2_id);
  std::vector<char> encoded(len);
  const int rc = argon2id_hash_encoded(params.iterations, params.memory_kib, params.parallelism, password.data(),
                                       password.size(), salt.data(), salt.size(), kHashLen, encoded.data(), len);
  if (rc != ARGON2_OK) throw Error(ErrorCode::internal, std::string("argon2: ") + argon2_error_message(rc));
  return std::string(encoded.data());
}

bool verify_password(std::string_view encoded, std::string_view password) {
  if (encoded.rfind("$argon2id$", 0) != 0 || password.size() > 1024) return false;
  const std::string enc(encoded);  // libargon2 wants a NUL-terminated string
  return argon2id_verify(enc.c_str(), password.data(), password.size()) == ARGON2_OK;
}

}  // namespace ds::auth
