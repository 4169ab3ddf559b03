// The identity store contract as a typed suite: SQLite always; PostgreSQL when DATASPACE_PG_URL
// names a server (CTest auth_postgres runs that half under scripts/with-postgres).

#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "auth/crypto.hpp"
#include "auth/store.hpp"
#include "core/error.hpp"

namespace fs = std::filesystem;
using namespace ds::auth;

namespace {

void pg_exec(const std::string& url, const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url.c_str()), PQfinish);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()), PQclear);
  ASSERT_EQ(PQresultStatus(r.get()), PGRES_COMMAND_OK) << PQerrorMessage(conn.get());
}

struct Sqlite {
  static constexpr const char* skip_reason = "";
  static std::unique_ptr<AuthStore> open(const fs::path& dir, std::string&) {
    return open_sqlite_auth_store(dir / "catalogue.db");
  }
  static void cleanup(const std::string&) {}
};

struct Postgres {
  static constexpr const char* skip_reason =
      "DATASPACE_PG_URL is not set: run under scripts/with-postgres (CTest: auth_postgres)";
  // Each test gets its own schema, first on the search_path, dropped afterwards.
  static std::unique_ptr<AuthStore> open(const fs::path&, std::string& schema) {
    const char* url = std::getenv("DATASPACE_PG_URL");
    if (!url || !*url) return nullptr;
    schema = "ds_auth_test_" + std::to_string(::getpid());
    pg_exec(url, "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    pg_exec(url, "CREATE SCHEMA " + schema);
    const std::string base = url;
    return open_postgres_auth_store(base + (base.find('?') == std::string::npos ? "?" : "&") +
                                    "options=-csearch_path%3D" + schema);
  }
  static void cleanup(const std::string& schema) {
    if (const char* url = std::getenv("DATASPACE_PG_URL"); url && *url && !schema.empty())
      pg_exec(url, "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
  }
};

template <class T>
class AuthStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ds-auth-store-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = T::open(dir_, schema_);
    if (!store_) GTEST_SKIP() << T::skip_reason;
  }
  void TearDown() override {
    store_.reset();
    T::cleanup(schema_);
    fs::remove_all(dir_);
  }
  User user(const std::string& email) {
    User u;
    u.id = random_uuid();
    u.email = email;
    u.name = "N";
    u.password_hash = "$argon2id$fake";
    u.created = 1'700'000'000;
    store_->create_user(u);
    return u;
  }
  fs::path dir_;
  std::string schema_;
  std::unique_ptr<AuthStore> store_;
};

using Stores = ::testing::Types<Sqlite, Postgres>;
TYPED_TEST_SUITE(AuthStoreTest, Stores);

}  // namespace

TYPED_TEST(AuthStoreTest, Users_RoundTripAndEmailIsCaseInsensitiveAndUnique) {
  const auto u = this->user("Alice@Example.org");
  const auto got = this->store_->user_by_email("alice@example.ORG");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, u.id);
  EXPECT_EQ(got->email, "alice@example.org");
  EXPECT_EQ(got->typology, Typology::general);
  EXPECT_FALSE(got->disabled);
  EXPECT_EQ(got->created, 1'700'000'000);
  try {
    this->user("alice@example.org");
    FAIL() << "duplicate accepted";
  } catch (const ds::Error& e) {
    EXPECT_EQ(e.code(), ds::ErrorCode::conflict);
  }
  this->store_->set_disabled(u.id, true);
  this->store_->set_typology(u.id, Typology::services);
  const auto changed = this->store_->user(u.id);
  EXPECT_TRUE(changed->disabled);
  EXPECT_EQ(changed->typology, Typology::services);
  EXPECT_EQ(this->store_->users().size(), 1u);
}

TYPED_TEST(AuthStoreTest, Reopen_KeepsDataAndDoesNotReapplyMigrations) {
  if (std::is_same_v<TypeParam, Postgres>) GTEST_SKIP() << "reopen covered by the SQLite half";
  const auto u = this->user("a@example.org");
  this->store_.reset();
  std::string schema;
  this->store_ = TypeParam::open(this->dir_, schema);
  ASSERT_TRUE(this->store_->user(u.id));
}

TYPED_TEST(AuthStoreTest, ClientsAndKeys_AreVisibleOnlyToTheirOwner) {
  const auto a = this->user("a@example.org");
  const auto b = this->user("b@example.org");
  this->store_->create_client({"sh-1", a.id, "mine", "hash", {"https://x.example/cb"}, 1});
  this->store_->create_s3_key({"AKA", a.id, "sealed", "desc", 1, 0});
  EXPECT_EQ(this->store_->clients_of(a.id).size(), 1u);
  EXPECT_TRUE(this->store_->clients_of(b.id).empty());
  EXPECT_TRUE(this->store_->s3_keys_of(b.id).empty());
  EXPECT_EQ(this->store_->client("sh-1")->redirect_uris, std::vector<std::string>{"https://x.example/cb"});
  EXPECT_FALSE(this->store_->delete_client(b.id, "sh-1"));
  EXPECT_FALSE(this->store_->delete_s3_key(b.id, "AKA"));
  EXPECT_TRUE(this->store_->s3_key("AKA"));
  EXPECT_TRUE(this->store_->delete_s3_key(a.id, "AKA"));
  EXPECT_FALSE(this->store_->s3_key("AKA"));
  EXPECT_TRUE(this->store_->delete_client(a.id, "sh-1"));
}

TYPED_TEST(AuthStoreTest, DeleteUser_RemovesEverythingTheyOwn) {
  const auto a = this->user("a@example.org");
  this->store_->create_client({"sh-1", a.id, "c", "h", {}, 1});
  this->store_->create_s3_key({"AKA", a.id, "sealed", "", 1, 0});
  this->store_->create_session({"s1", a.id, "cdse-public", "rh", "openid", 1, 4'000'000'000});
  this->store_->add_usage(a.id, "2024-06", "pu", 1.5);
  EXPECT_TRUE(this->store_->delete_user(a.id));
  EXPECT_FALSE(this->store_->user(a.id));
  EXPECT_FALSE(this->store_->client("sh-1"));
  EXPECT_FALSE(this->store_->s3_key("AKA"));
  EXPECT_FALSE(this->store_->session_by_refresh_hash("rh"));
  EXPECT_TRUE(this->store_->usage(a.id, "2024-06").empty());
  EXPECT_FALSE(this->store_->delete_user(a.id));
}

TYPED_TEST(AuthStoreTest, Codes_AreSingleUse_SessionsExpire) {
  const auto a = this->user("a@example.org");
  this->store_->create_code({"ch", a.id, "cdse-public", "http://localhost/cb", "chal", "openid", "n", 2'000});
  const auto c = this->store_->consume_code("ch");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->redirect_uri, "http://localhost/cb");
  EXPECT_EQ(c->expires, 2'000);
  EXPECT_FALSE(this->store_->consume_code("ch"));
  this->store_->create_session({"s1", a.id, "cdse-public", "rh1", "openid", 1, 1'000});
  this->store_->create_session({"s2", a.id, "cdse-public", "rh2", "openid", 1, 3'000});
  this->store_->create_code({"ch2", a.id, "cdse-public", "u", "c", "", "", 1'500});
  EXPECT_EQ(this->store_->purge_expired(2'000), 2u);
  EXPECT_FALSE(this->store_->session_by_refresh_hash("rh1"));
  EXPECT_EQ(this->store_->session_by_refresh_hash("rh2")->id, "s2");
  EXPECT_TRUE(this->store_->delete_session("s2"));
}

TYPED_TEST(AuthStoreTest, Usage_AddsFractionalAmountsPerPeriod) {
  const auto a = this->user("a@example.org");
  this->store_->add_usage(a.id, "2024-06", "pu", 0.25);
  this->store_->add_usage(a.id, "2024-06", "pu", 1.5);
  this->store_->add_usage(a.id, "2024-06", "download_bytes", 12e12);
  this->store_->add_usage(a.id, "2024-07", "pu", 7);
  const auto june = this->store_->usage(a.id, "2024-06");
  EXPECT_DOUBLE_EQ(june.at("pu"), 1.75);
  EXPECT_DOUBLE_EQ(june.at("download_bytes"), 12e12);
  EXPECT_DOUBLE_EQ(this->store_->usage(a.id, "2024-07").at("pu"), 7);
}

TYPED_TEST(AuthStoreTest, Organisations_AndAudit) {
  const auto a = this->user("a@example.org");
  this->store_->create_organisation({"o1", "ESA", 1});
  this->store_->set_membership("o1", a.id, OrgRole::member);
  this->store_->set_membership("o1", a.id, OrgRole::admin);
  const auto m = this->store_->memberships(a.id);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].organisation.name, "ESA");
  EXPECT_EQ(m[0].role, OrgRole::admin);
  EXPECT_TRUE(this->store_->remove_membership("o1", a.id));
  this->store_->audit({10, "cli", "user_created", a.id, "", ""});
  this->store_->audit({11, a.id, "login", "s1", "127.0.0.1", ""});
  const auto log = this->store_->audit_log(10);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].action, "login");
  EXPECT_EQ(log[0].address, "127.0.0.1");
}
