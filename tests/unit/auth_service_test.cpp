// The identity service over a real SQLite store: grants, refresh, the code flow with PKCE, token
// verification, disabled accounts, login throttling, OAuth clients and S3 keys with their limits.

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "auth/crypto.hpp"
#include "auth/service.hpp"
#include "core/error.hpp"

namespace fs = std::filesystem;
using namespace ds::auth;

namespace {

const char* kIss = "http://localhost/auth/realms/CDSE";

class AuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ds-auth-svc-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = open_sqlite_auth_store(dir_ / "catalogue.db");
    AuthOptions o;
    o.keys_dir = dir_ / "keys";
    o.password = {1024, 1, 1};
    o.max_s3_keys = 2;
    o.max_login_failures = 3;
    svc_ = std::make_unique<AuthService>(*store_, o);
    alice_ = svc_->create_user("Alice@Example.org", "alice-pw-1", Typology::general, "Alice", "test");
  }
  void TearDown() override {
    svc_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  static std::string oauth_error(const ds::Error& e) { return e.details().value("oauth_error", ""); }

  fs::path dir_;
  std::unique_ptr<AuthStore> store_;
  std::unique_ptr<AuthService> svc_;
  User alice_;
};

}  // namespace

TEST_F(AuthServiceTest, PasswordGrant_IssuesVerifiableTokensWithCdseClaims) {
  const auto t = svc_->password_grant("cdse-public", "alice@example.org", "alice-pw-1", "", "1.2.3.4", kIss);
  EXPECT_EQ(t.expires_in, 600);
  EXPECT_EQ(t.refresh_expires_in, 3600);
  EXPECT_FALSE(t.id_token.empty());
  std::string why;
  const auto p = svc_->verify_access_token(t.access_token, why);
  ASSERT_TRUE(p) << why;
  EXPECT_EQ(p->user_id, alice_.id);
  EXPECT_EQ(p->client_id, "cdse-public");
  EXPECT_EQ(p->typology, Typology::general);
  const auto claims = svc_->keys().verify(t.access_token, unix_now(), why);
  EXPECT_EQ((*claims)["iss"], kIss);
  EXPECT_EQ((*claims)["realm_access"]["roles"][0], "copernicus-general");
  EXPECT_EQ((*claims)["aud"][0], "CLOUDFERRO_PUBLIC");
  EXPECT_EQ(svc_->verify_access_token(t.id_token, why), std::nullopt);  // an id token is no access token
  EXPECT_EQ(svc_->verify_access_token(t.refresh_token, why), std::nullopt);
}

TEST_F(AuthServiceTest, PasswordGrant_WrongPasswordIs401InvalidGrant_UnknownClientRefused) {
  try {
    svc_->password_grant("cdse-public", "alice@example.org", "nope", "", "1.2.3.4", kIss);
    FAIL();
  } catch (const ds::Error& e) {
    EXPECT_EQ(e.code(), ds::ErrorCode::unauthorized);
    EXPECT_EQ(oauth_error(e), "invalid_grant");
  }
  try {
    svc_->password_grant("someone-else", "alice@example.org", "alice-pw-1", "", "1.2.3.4", kIss);
    FAIL();
  } catch (const ds::Error& e) {
    EXPECT_EQ(oauth_error(e), "unauthorized_client");
  }
}

TEST_F(AuthServiceTest, Login_IsThrottledPerAccountAfterRepeatedFailures) {
  for (int i = 0; i < 3; ++i) EXPECT_THROW(svc_->authenticate("alice@example.org", "bad", "10.0.0.1"), ds::Error);
  try {
    svc_->authenticate("alice@example.org", "alice-pw-1", "10.0.0.2");  // right password, still locked
    FAIL();
  } catch (const ds::Error& e) {
    EXPECT_EQ(e.code(), ds::ErrorCode::too_many_requests);
    ASSERT_FALSE(e.headers().empty());
    EXPECT_EQ(e.headers()[0].first, "Retry-After");
  }
  bool logged = false;
  for (const auto& a : store_->audit_log(20)) logged |= a.action == "login_failed";
  EXPECT_TRUE(logged);
}

TEST_F(AuthServiceTest, DisabledUser_CannotLogInRefreshOrUseLiveTokens) {
  const auto t = svc_->password_grant("cdse-public", "alice@example.org", "alice-pw-1", "", "", kIss);
  std::string why;
  ASSERT_TRUE(svc_->verify_access_token(t.access_token, why));
  svc_->set_disabled(alice_.id, true, "test");
  EXPECT_FALSE(svc_->verify_access_token(t.access_token, why));
  EXPECT_THROW(svc_->refresh_grant("cdse-public", t.refresh_token, kIss), ds::Error);
  try {
    svc_->password_grant("cdse-public", "alice@example.org", "alice-pw-1", "", "", kIss);
    FAIL();
  } catch (const ds::Error& e) {
    EXPECT_EQ(e.code(), ds::ErrorCode::bad_request);
    EXPECT_EQ(e.message(), "Account disabled");
  }
}

TEST_F(AuthServiceTest, Refresh_ReturnsNewAccessTokenUntilLogout) {
  const auto t = svc_->password_grant("cdse-public", "alice@example.org", "alice-pw-1", "", "", kIss);
  const auto r = svc_->refresh_grant("cdse-public", t.refresh_token, kIss);
  EXPECT_NE(r.access_token, t.access_token);
  EXPECT_EQ(r.refresh_token, t.refresh_token);
  EXPECT_THROW(svc_->refresh_grant("other-client", t.refresh_token, kIss), ds::Error);
  EXPECT_TRUE(svc_->end_session(t.refresh_token));
  EXPECT_THROW(svc_->refresh_grant("cdse-public", t.refresh_token, kIss), ds::Error);
  EXPECT_THROW(svc_->refresh_grant("cdse-public", "garbage", kIss), ds::Error);
}

TEST_F(AuthServiceTest, ClientCredentials_WorkWithTheSecretShownOnceOnly) {
  const auto c = svc_->create_client(alice_.id, "script", {});
  EXPECT_EQ(c.client.client_id.rfind("sh-", 0), 0u);
  EXPECT_NE(store_->client(c.client.client_id)->secret_hash, c.secret);  // stored hashed
  const auto t = svc_->client_credentials_grant(c.client.client_id, c.secret, "", "", kIss);
  EXPECT_TRUE(t.refresh_token.empty());
  std::string why;
  const auto p = svc_->verify_access_token(t.access_token, why);
  ASSERT_TRUE(p) << why;
  EXPECT_EQ(p->user_id, alice_.id);
  EXPECT_EQ(p->client_id, c.client.client_id);
  try {
    svc_->client_credentials_grant(c.client.client_id, c.secret + "x", "", "", kIss);
    FAIL();
  } catch (const ds::Error& e) {
    EXPECT_EQ(e.code(), ds::ErrorCode::unauthorized);
    EXPECT_EQ(oauth_error(e), "invalid_client");
  }
}

TEST_F(AuthServiceTest, CodeFlow_RequiresTheMatchingPkceVerifierAndIsSingleUse) {
  const std::string verifier = random_token(40);
  const std::string challenge = base64url_encode(sha256(verifier));
  const std::string redirect = "http://localhost:8400/cb";
  EXPECT_TRUE(svc_->redirect_allowed("cdse-public", redirect, "http://eo.example"));
  EXPECT_TRUE(svc_->redirect_allowed("cdse-public", "http://eo.example/browser/", "http://eo.example"));
  EXPECT_FALSE(svc_->redirect_allowed("cdse-public", "https://evil.example/cb", "http://eo.example"));
  EXPECT_FALSE(svc_->redirect_allowed("cdse-public", "http://localhost.evil.example/cb", "http://eo.example"));
  const auto code = svc_->create_code(alice_, "cdse-public", redirect, challenge, "openid", "n-1");
  EXPECT_THROW(svc_->code_grant("cdse-public", code, redirect, random_token(40), kIss), ds::Error);
  // The failed attempt consumed the code (single use).
  EXPECT_THROW(svc_->code_grant("cdse-public", code, redirect, verifier, kIss), ds::Error);
  const auto code2 = svc_->create_code(alice_, "cdse-public", redirect, challenge, "openid", "n-2");
  const auto t = svc_->code_grant("cdse-public", code2, redirect, verifier, kIss);
  std::string why;
  EXPECT_TRUE(svc_->verify_access_token(t.access_token, why)) << why;
  EXPECT_EQ((*svc_->keys().verify(t.id_token, unix_now(), why))["nonce"], "n-2");
}

TEST_F(AuthServiceTest, S3Keys_LimitedPerUser_SecretRecoverableForSigV4_OwnerOnly) {
  const auto bob = svc_->create_user("bob@example.org", "bob-pw-12", Typology::services, "", "test");
  const auto k1 = svc_->create_s3_key(alice_.id, "laptop", 0);
  svc_->create_s3_key(alice_.id, "server", unix_now() + 3600);
  EXPECT_EQ(k1.key.access_key.size(), 20u);
  EXPECT_EQ(store_->s3_key(k1.key.access_key)->sealed_secret.find(k1.secret), std::string::npos);
  try {
    svc_->create_s3_key(alice_.id, "third", 0);
    FAIL();
  } catch (const ds::Error& e) {
    EXPECT_EQ(e.code(), ds::ErrorCode::conflict);
  }
  const auto cred = svc_->lookup_s3_secret(k1.key.access_key);
  ASSERT_TRUE(cred);
  EXPECT_EQ(cred->secret, k1.secret);
  EXPECT_EQ(cred->user_id, alice_.id);
  EXPECT_FALSE(svc_->revoke_s3_key(bob.id, k1.key.access_key));
  EXPECT_TRUE(svc_->s3_keys(bob.id).empty());
  svc_->set_disabled(alice_.id, true, "test");
  EXPECT_FALSE(svc_->lookup_s3_secret(k1.key.access_key));
  svc_->set_disabled(alice_.id, false, "test");
  EXPECT_TRUE(svc_->revoke_s3_key(alice_.id, k1.key.access_key));
  EXPECT_FALSE(svc_->lookup_s3_secret(k1.key.access_key));
}

TEST_F(AuthServiceTest, CreateUser_ValidatesInput) {
  EXPECT_THROW(svc_->create_user("not-an-email", "long-enough", Typology::general, "", "t"), ds::Error);
  EXPECT_THROW(svc_->create_user("c@example.org", "short", Typology::general, "", "t"), ds::Error);
  EXPECT_THROW(svc_->create_user("ALICE@example.org", "long-enough", Typology::general, "", "t"), ds::Error);
  EXPECT_THROW(svc_->create_user("c@example.org", "long-enough", Typology::anonymous, "", "t"), ds::Error);
}
