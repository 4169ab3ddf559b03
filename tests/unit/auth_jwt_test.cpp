// Token signing and verification: ES256 JWTs from the persisted key ring, expiry, tampering,
// foreign keys, "alg: none", rotation that keeps live tokens valid, and reload by another process.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "auth/crypto.hpp"
#include "auth/jwt.hpp"
#include "core/error.hpp"

namespace fs = std::filesystem;
using namespace ds::auth;
using namespace std::chrono_literals;

namespace {

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ds-jwt-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

nlohmann::json claims(std::int64_t exp) { return {{"sub", "u1"}, {"typ", "Bearer"}, {"exp", exp}}; }

std::string replace_part(const std::string& token, int part, const std::string& text) {
  const auto d1 = token.find('.'), d2 = token.find('.', d1 + 1);
  std::string parts[3] = {token.substr(0, d1), token.substr(d1 + 1, d2 - d1 - 1), token.substr(d2 + 1)};
  parts[part] = text;
  return parts[0] + "." + parts[1] + "." + parts[2];
}

}  // namespace

TEST_F(JwtTest, SignsAndVerifiesWithTheStoredKey_FileIs0600) {
  SigningKeys keys(dir_ / "keys" / "jwt.json", 0s, 600s);
  const auto now = unix_now();
  const auto token = keys.sign(claims(now + 60));
  std::string why;
  const auto c = keys.verify(token, now, why);
  ASSERT_TRUE(c) << why;
  EXPECT_EQ((*c)["sub"], "u1");
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "keys" / "jwt.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  // A second ring over the same file (a restart, another node) verifies the same token.
  SigningKeys again(dir_ / "keys" / "jwt.json", 0s, 600s);
  EXPECT_TRUE(again.verify(token, now, why)) << why;
  EXPECT_EQ(again.active_kid(), keys.active_kid());
}

TEST_F(JwtTest, Verify_RejectsExpiredToken) {
  SigningKeys keys(dir_ / "jwt.json", 0s, 600s);
  const auto now = unix_now();
  std::string why;
  EXPECT_FALSE(keys.verify(keys.sign(claims(now - 1)), now, why));
  EXPECT_EQ(why, "token expired");
  EXPECT_FALSE(keys.verify(keys.sign({{"sub", "u1"}}), now, why));
  EXPECT_EQ(why, "token has no expiry");
}

TEST_F(JwtTest, Verify_RejectsTamperedPayloadAndSignature) {
  SigningKeys keys(dir_ / "jwt.json", 0s, 600s);
  const auto now = unix_now();
  const auto token = keys.sign(claims(now + 60));
  std::string why;
  const auto forged = replace_part(token, 1, base64url_encode(R"({"sub":"admin","typ":"Bearer","exp":9999999999})"));
  EXPECT_FALSE(keys.verify(forged, now, why));
  EXPECT_EQ(why, "invalid signature");
  std::string flipped = token;
  flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(keys.verify(flipped, now, why));
  EXPECT_FALSE(keys.verify("not.a.jwt", now, why));
  EXPECT_FALSE(keys.verify("", now, why));
  EXPECT_FALSE(keys.verify("a.b", now, why));
}

TEST_F(JwtTest, Verify_RejectsAlgNoneAndForeignKeys) {
  SigningKeys keys(dir_ / "a.json", 0s, 600s);
  SigningKeys other(dir_ / "b.json", 0s, 600s);
  const auto now = unix_now();
  std::string why;
  const auto token = keys.sign(claims(now + 60));
  const auto none = base64url_encode(R"({"alg":"none","typ":"JWT","kid":")" + keys.active_kid() + "\"}");
  EXPECT_FALSE(keys.verify(replace_part(replace_part(token, 0, none), 2, ""), now, why));
  EXPECT_EQ(why, "unsupported signature algorithm");
  EXPECT_FALSE(keys.verify(replace_part(token, 0, base64url_encode(R"({"alg":"HS256","kid":"x"})")), now, why));
  // Signed by another ring: unknown kid.
  EXPECT_FALSE(keys.verify(other.sign(claims(now + 60)), now, why));
  EXPECT_EQ(why, "unknown signing key");
  // Another ring's signature under our kid: invalid.
  const auto theirs = other.sign(claims(now + 60));
  EXPECT_FALSE(keys.verify(replace_part(theirs, 0, token.substr(0, token.find('.'))), now, why));
  EXPECT_EQ(why, "invalid signature");
}

TEST_F(JwtTest, Rotation_KeepsOldTokensValidUntilRetentionEnds) {
  SigningKeys keys(dir_ / "jwt.json", 1s, 600s);
  const auto now = unix_now();
  const auto old_token = keys.sign(claims(now + 60));
  const auto old_kid = keys.active_kid();
  keys.rotate();
  EXPECT_NE(keys.active_kid(), old_kid);
  const auto new_token = keys.sign(claims(now + 60));
  std::string why;
  EXPECT_TRUE(keys.verify(old_token, now, why)) << why;
  EXPECT_TRUE(keys.verify(new_token, now, why)) << why;
  const auto jwks = keys.jwks();
  ASSERT_EQ(jwks["keys"].size(), 2u);
  EXPECT_EQ(jwks["keys"][0]["kid"], keys.active_kid());
  EXPECT_EQ(jwks["keys"][0]["kty"], "EC");
  EXPECT_EQ(jwks["keys"][0]["crv"], "P-256");
  EXPECT_FALSE(jwks["keys"][0].contains("d"));  // never the private part
  // maybe_rotate only acts once the active key is older than the rotation age.
  EXPECT_FALSE(keys.maybe_rotate(now - 10));
  EXPECT_TRUE(keys.maybe_rotate(now + 5));
}

TEST_F(JwtTest, Rotation_DropsKeysRetiredLongerThanRetention) {
  SigningKeys keys(dir_ / "jwt.json", 0s, 0s);
  const auto now = unix_now();
  const auto old_token = keys.sign(claims(now + 60));
  const auto old_kid = keys.active_kid();
  keys.rotate();
  std::this_thread::sleep_for(1100ms);
  keys.rotate();  // the first key has now been retired > 0 s: dropped; the second was just retired
  std::string why;
  EXPECT_FALSE(keys.verify(old_token, unix_now(), why));
  const auto jwks = keys.jwks();
  ASSERT_EQ(jwks["keys"].size(), 2u);
  for (const auto& k : jwks["keys"]) EXPECT_NE(k["kid"], old_kid);
}

TEST_F(JwtTest, Verify_ReloadsTheRingWhenAnotherProcessRotated) {
  SigningKeys node_a(dir_ / "jwt.json", 0s, 600s);
  SigningKeys node_b(dir_ / "jwt.json", 0s, 600s);
  node_b.rotate();
  const auto now = unix_now();
  std::string why;
  EXPECT_TRUE(node_a.verify(node_b.sign(claims(now + 60)), now, why)) << why;
}

TEST(Crypto, SealedSecretsRoundTripAndDetectTampering) {
  const std::string key = random_bytes(32);
  const auto sealed = seal(key, "s3-secret", "AKID|user");
  EXPECT_EQ(open_sealed(key, sealed, "AKID|user"), "s3-secret");
  EXPECT_THROW(open_sealed(key, sealed, "AKID|other-user"), ds::Error);
  EXPECT_THROW(open_sealed(random_bytes(32), sealed, "AKID|user"), ds::Error);
  std::string out;
  EXPECT_TRUE(base64url_decode(base64url_encode("\x01\x02\xff"), out));
  EXPECT_EQ(out, "\x01\x02\xff");
  EXPECT_FALSE(base64url_decode("a", out));
  EXPECT_FALSE(base64url_decode("ab!c", out));
  EXPECT_EQ(random_uuid().size(), 36u);
}
