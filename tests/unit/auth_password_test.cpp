// Password hashing: Argon2id PHC strings with their own parameters and a fresh salt each time.

#include <gtest/gtest.h>

#include "auth/password.hpp"
#include "core/error.hpp"

using namespace ds::auth;

namespace {
// Small parameters keep the suite fast; production defaults are tested once below.
const PasswordParams kFast{1024, 1, 1};
}  // namespace

TEST(Password, HashIsArgon2idAndVerifiesOnlyTheRightPassword) {
  const auto h = hash_password("correct horse", kFast);
  EXPECT_EQ(h.rfind("$argon2id$v=19$m=1024,t=1,p=1$", 0), 0u) << h;
  EXPECT_EQ(h.find("correct horse"), std::string::npos);
  EXPECT_TRUE(verify_password(h, "correct horse"));
  EXPECT_FALSE(verify_password(h, "correct horse "));
  EXPECT_FALSE(verify_password(h, ""));
}

TEST(Password, SamePasswordGetsDifferentSalts) {
  EXPECT_NE(hash_password("pw-12345", kFast), hash_password("pw-12345", kFast));
}

TEST(Password, MalformedHashesNeverVerify) {
  EXPECT_FALSE(verify_password("", "x"));
  EXPECT_FALSE(verify_password("plain", "plain"));
  EXPECT_FALSE(verify_password("$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaA", "x"));
  EXPECT_FALSE(verify_password("$argon2id$v=19$m=1024,t=1,p=1$$", "x"));
}

TEST(Password, DefaultParametersAreTheDocumentedOnes) {
  const auto h = hash_password("pw-12345");
  EXPECT_EQ(h.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << h;
  EXPECT_TRUE(verify_password(h, "pw-12345"));
}

TEST(Password, RejectsOverlongPasswords) {
  EXPECT_THROW(hash_password(std::string(1025, 'x'), kFast), ds::Error);
  EXPECT_FALSE(verify_password(hash_password("short-pw", kFast), std::string(2000, 'x')));
}
