#include "auth/store.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "auth/crypto.hpp"
#include "core/error.hpp"

namespace ds::auth {
namespace {

// Versioned migrations, one list of statements per version; portable SQL (TEXT, BIGINT, INTEGER and
// DOUBLE PRECISION mean the same in SQLite and PostgreSQL). Never edit a shipped one: append.
const std::vector<std::vector<const char*>> kMigrations = {
    {
        "CREATE TABLE auth_users(id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL, "
        "typology TEXT NOT NULL, password_hash TEXT NOT NULL, disabled INTEGER NOT NULL, created BIGINT NOT NULL)",
        "CREATE TABLE auth_organisations(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created BIGINT NOT NULL)",
        "CREATE TABLE auth_memberships(org_id TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL, "
        "PRIMARY KEY(org_id, user_id))",
        "CREATE INDEX auth_memberships_user ON auth_memberships(user_id)",
        "CREATE TABLE auth_clients(client_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, name TEXT NOT NULL, "
        "secret_hash TEXT NOT NULL, redirect_uris TEXT NOT NULL, created BIGINT NOT NULL)",
        "CREATE INDEX auth_clients_user ON auth_clients(user_id)",
        "CREATE TABLE auth_s3_keys(access_key TEXT PRIMARY KEY, user_id TEXT NOT NULL, sealed_secret TEXT NOT NULL, "
        "description TEXT NOT NULL, created BIGINT NOT NULL, expires BIGINT NOT NULL)",
        "CREATE INDEX auth_s3_keys_user ON auth_s3_keys(user_id)",
        "CREATE TABLE auth_sessions(id TEXT PRIMARY KEY, user_id TEXT NOT NULL, client_id TEXT NOT NULL, "
        "refresh_hash TEXT NOT NULL UNIQUE, scope TEXT NOT NULL, created BIGINT NOT NULL, expires BIGINT NOT NULL)",
        "CREATE INDEX auth_sessions_user ON auth_sessions(user_id)",
        "CREATE TABLE auth_codes(code_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, client_id TEXT NOT NULL, "
        "redirect_uri TEXT NOT NULL, code_challenge TEXT NOT NULL, scope TEXT NOT NULL, nonce TEXT NOT NULL, "
        "expires BIGINT NOT NULL)",
        "CREATE TABLE auth_usage(user_id TEXT NOT NULL, period TEXT NOT NULL, metric TEXT NOT NULL, "
        "amount DOUBLE PRECISION NOT NULL, PRIMARY KEY(user_id, period, metric))",
        "CREATE TABLE auth_audit(id TEXT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, "
        "subject TEXT NOT NULL, address TEXT NOT NULL, detail TEXT NOT NULL)",
        "CREATE INDEX auth_audit_at ON auth_audit(at)",
    },
};

// Microseconds since the epoch, strictly increasing within this process: audit ids sort by time.
std::int64_t unique_micros() {
  static std::atomic<std::int64_t> last{0};
  std::int64_t now =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::int64_t prev = last.load();
  while (true) {
    const std::int64_t next = std::max(now, prev + 1);
    if (last.compare_exchange_weak(prev, next)) return next;
  }
}

constexpr std::int64_t kMigrationLock = 0x44535f41555448;  // "DS_AUTH"

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

constexpr const char* kUserCols = "id, email, name, typology, password_hash, disabled, created";

User user_from(const SqlRow& r) {
  User u;
  u.id = as_text(r[0]);
  u.email = as_text(r[1]);
  u.name = as_text(r[2]);
  u.typology = parse_typology(as_text(r[3])).value_or(Typology::general);
  u.password_hash = as_text(r[4]);
  u.disabled = as_int(r[5]) != 0;
  u.created = as_int(r[6]);
  return u;
}

constexpr const char* kClientCols = "client_id, user_id, name, secret_hash, redirect_uris, created";

OAuthClient client_from(const SqlRow& r) {
  OAuthClient c;
  c.client_id = as_text(r[0]);
  c.user_id = as_text(r[1]);
  c.name = as_text(r[2]);
  c.secret_hash = as_text(r[3]);
  try {
    c.redirect_uris = nlohmann::json::parse(as_text(r[4])).get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception&) {
  }
  c.created = as_int(r[5]);
  return c;
}

constexpr const char* kKeyCols = "access_key, user_id, sealed_secret, description, created, expires";

S3Key key_from(const SqlRow& r) {
  return {as_text(r[0]), as_text(r[1]), as_text(r[2]), as_text(r[3]), as_int(r[4]), as_int(r[5])};
}

}  // namespace

AuthStore::AuthStore(std::unique_ptr<SqlDatabase> db) : db_(std::move(db)) { migrate(); }

void AuthStore::migrate() {
  const auto known = static_cast<std::int64_t>(kMigrations.size());
  db_->transaction([&](SqlConnection& c) {
    if (db_->is_postgres()) c.exec("SELECT pg_advisory_xact_lock($1)", {kMigrationLock});
    c.exec("CREATE TABLE IF NOT EXISTS auth_schema_version(version INTEGER NOT NULL)");
    const auto rows = c.exec("SELECT max(version) FROM auth_schema_version");
    const std::int64_t version = rows.empty() ? 0 : as_int(rows[0][0]);
    if (version > known) {
      throw Error(ErrorCode::service_unavailable,
                  fmt::format("identity store has schema {} from a newer release (this one knows {})", version, known));
    }
    for (std::int64_t v = version + 1; v <= known; ++v) {
      for (const char* stmt : kMigrations[static_cast<std::size_t>(v - 1)]) c.exec(stmt);
      c.exec("INSERT INTO auth_schema_version(version) VALUES($1)", {v});
    }
  });
}

void AuthStore::create_user(const User& u) {
  db_->exec(
      "INSERT INTO auth_users(id, email, name, typology, password_hash, disabled, created) "
      "VALUES($1, $2, $3, $4, $5, $6, $7)",
      {u.id, lower(u.email), u.name, std::string(typology_name(u.typology)), u.password_hash,
       std::int64_t{u.disabled ? 1 : 0}, u.created});
}

std::optional<User> AuthStore::user(const std::string& id) const {
  const auto rows = db_->exec(fmt::format("SELECT {} FROM auth_users WHERE id = $1", kUserCols), {id});
  if (rows.empty()) return std::nullopt;
  return user_from(rows[0]);
}

std::optional<User> AuthStore::user_by_email(const std::string& email) const {
  const auto rows = db_->exec(fmt::format("SELECT {} FROM auth_users WHERE email = $1", kUserCols), {lower(email)});
  if (rows.empty()) return std::nullopt;
  return user_from(rows[0]);
}

std::vector<User> AuthStore::users() const {
  std::vector<User> out;
  for (const auto& r : db_->exec(fmt::format("SELECT {} FROM auth_users ORDER BY created, email", kUserCols)))
    out.push_back(user_from(r));
  return out;
}

void AuthStore::set_disabled(const std::string& user_id, bool disabled) {
  db_->exec("UPDATE auth_users SET disabled = $1 WHERE id = $2", {std::int64_t{disabled ? 1 : 0}, user_id});
}

void AuthStore::set_typology(const std::string& user_id, Typology typology) {
  db_->exec("UPDATE auth_users SET typology = $1 WHERE id = $2", {std::string(typology_name(typology)), user_id});
}

void AuthStore::set_password_hash(const std::string& user_id, const std::string& hash) {
  db_->exec("UPDATE auth_users SET password_hash = $1 WHERE id = $2", {hash, user_id});
}

bool AuthStore::delete_user(const std::string& user_id) {
  bool found = false;
  db_->transaction([&](SqlConnection& c) {
    for (const char* table :
         {"auth_clients", "auth_s3_keys", "auth_sessions", "auth_memberships", "auth_codes", "auth_usage"})
      c.exec(fmt::format("DELETE FROM {} WHERE user_id = $1", table), {user_id});
    found = !c.exec("DELETE FROM auth_users WHERE id = $1 RETURNING id", {user_id}).empty();
  });
  return found;
}

void AuthStore::create_organisation(const Organisation& org) {
  db_->exec("INSERT INTO auth_organisations(id, name, created) VALUES($1, $2, $3)", {org.id, org.name, org.created});
}

std::optional<Organisation> AuthStore::organisation_by_name(const std::string& name) const {
  const auto rows = db_->exec("SELECT id, name, created FROM auth_organisations WHERE name = $1", {name});
  if (rows.empty()) return std::nullopt;
  return Organisation{as_text(rows[0][0]), as_text(rows[0][1]), as_int(rows[0][2])};
}

void AuthStore::set_membership(const std::string& org_id, const std::string& user_id, OrgRole role) {
  db_->exec(
      "INSERT INTO auth_memberships(org_id, user_id, role) VALUES($1, $2, $3) "
      "ON CONFLICT(org_id, user_id) DO UPDATE SET role = excluded.role",
      {org_id, user_id, std::string(org_role_name(role))});
}

bool AuthStore::remove_membership(const std::string& org_id, const std::string& user_id) {
  return !db_->exec("DELETE FROM auth_memberships WHERE org_id = $1 AND user_id = $2 RETURNING org_id",
                    {org_id, user_id})
              .empty();
}

std::vector<Membership> AuthStore::memberships(const std::string& user_id) const {
  std::vector<Membership> out;
  for (const auto& r : db_->exec("SELECT o.id, o.name, o.created, m.role FROM auth_memberships m "
                                 "JOIN auth_organisations o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY o.name",
                                 {user_id})) {
    out.push_back(
        {{as_text(r[0]), as_text(r[1]), as_int(r[2])}, parse_org_role(as_text(r[3])).value_or(OrgRole::member)});
  }
  return out;
}

void AuthStore::create_client(const OAuthClient& c) {
  db_->exec(
      "INSERT INTO auth_clients(client_id, user_id, name, secret_hash, redirect_uris, created) "
      "VALUES($1, $2, $3, $4, $5, $6)",
      {c.client_id, c.user_id, c.name, c.secret_hash, nlohmann::json(c.redirect_uris).dump(), c.created});
}

std::optional<OAuthClient> AuthStore::client(const std::string& client_id) const {
  const auto rows =
      db_->exec(fmt::format("SELECT {} FROM auth_clients WHERE client_id = $1", kClientCols), {client_id});
  if (rows.empty()) return std::nullopt;
  return client_from(rows[0]);
}

std::vector<OAuthClient> AuthStore::clients_of(const std::string& user_id) const {
  std::vector<OAuthClient> out;
  for (const auto& r :
       db_->exec(fmt::format("SELECT {} FROM auth_clients WHERE user_id = $1 ORDER BY created, client_id", kClientCols),
                 {user_id}))
    out.push_back(client_from(r));
  return out;
}

bool AuthStore::delete_client(const std::string& user_id, const std::string& client_id) {
  return !db_->exec("DELETE FROM auth_clients WHERE client_id = $1 AND user_id = $2 RETURNING client_id",
                    {client_id, user_id})
              .empty();
}

void AuthStore::create_s3_key(const S3Key& k) {
  db_->exec(
      "INSERT INTO auth_s3_keys(access_key, user_id, sealed_secret, description, created, expires) "
      "VALUES($1, $2, $3, $4, $5, $6)",
      {k.access_key, k.user_id, k.sealed_secret, k.description, k.created, k.expires});
}

std::optional<S3Key> AuthStore::s3_key(const std::string& access_key) const {
  const auto rows = db_->exec(fmt::format("SELECT {} FROM auth_s3_keys WHERE access_key = $1", kKeyCols), {access_key});
  if (rows.empty()) return std::nullopt;
  return key_from(rows[0]);
}

std::vector<S3Key> AuthStore::s3_keys_of(const std::string& user_id) const {
  std::vector<S3Key> out;
  for (const auto& r :
       db_->exec(fmt::format("SELECT {} FROM auth_s3_keys WHERE user_id = $1 ORDER BY created, access_key", kKeyCols),
                 {user_id}))
    out.push_back(key_from(r));
  return out;
}

bool AuthStore::delete_s3_key(const std::string& user_id, const std::string& access_key) {
  return !db_->exec("DELETE FROM auth_s3_keys WHERE access_key = $1 AND user_id = $2 RETURNING access_key",
                    {access_key, user_id})
              .empty();
}

void AuthStore::create_session(const Session& s) {
  db_->exec(
      "INSERT INTO auth_sessions(id, user_id, client_id, refresh_hash, scope, created, expires) "
      "VALUES($1, $2, $3, $4, $5, $6, $7)",
      {s.id, s.user_id, s.client_id, s.refresh_hash, s.scope, s.created, s.expires});
}

std::optional<Session> AuthStore::session_by_refresh_hash(const std::string& refresh_hash) const {
  const auto rows = db_->exec(
      "SELECT id, user_id, client_id, refresh_hash, scope, created, expires FROM auth_sessions WHERE refresh_hash = $1",
      {refresh_hash});
  if (rows.empty()) return std::nullopt;
  const auto& r = rows[0];
  return Session{as_text(r[0]), as_text(r[1]), as_text(r[2]), as_text(r[3]), as_text(r[4]), as_int(r[5]), as_int(r[6])};
}

bool AuthStore::delete_session(const std::string& session_id) {
  return !db_->exec("DELETE FROM auth_sessions WHERE id = $1 RETURNING id", {session_id}).empty();
}

void AuthStore::delete_sessions_of(const std::string& user_id) {
  db_->exec("DELETE FROM auth_sessions WHERE user_id = $1", {user_id});
}

std::size_t AuthStore::purge_expired(std::int64_t now) {
  std::size_t n = 0;
  db_->transaction([&](SqlConnection& c) {
    n += c.exec("DELETE FROM auth_sessions WHERE expires <= $1 RETURNING id", {now}).size();
    n += c.exec("DELETE FROM auth_codes WHERE expires <= $1 RETURNING code_hash", {now}).size();
  });
  return n;
}

void AuthStore::create_code(const AuthCode& a) {
  db_->exec(
      "INSERT INTO auth_codes(code_hash, user_id, client_id, redirect_uri, code_challenge, scope, nonce, "
      "expires) VALUES($1, $2, $3, $4, $5, $6, $7, $8)",
      {a.code_hash, a.user_id, a.client_id, a.redirect_uri, a.code_challenge, a.scope, a.nonce, a.expires});
}

std::optional<AuthCode> AuthStore::consume_code(const std::string& code_hash) {
  // DELETE ... RETURNING is atomic in both engines: of two concurrent redemptions one gets the row.
  const auto rows = db_->exec(
      "DELETE FROM auth_codes WHERE code_hash = $1 RETURNING code_hash, user_id, client_id, redirect_uri, "
      "code_challenge, scope, nonce, expires",
      {code_hash});
  if (rows.empty()) return std::nullopt;
  const auto& r = rows[0];
  return AuthCode{as_text(r[0]), as_text(r[1]), as_text(r[2]), as_text(r[3]),
                  as_text(r[4]), as_text(r[5]), as_text(r[6]), as_int(r[7])};
}

void AuthStore::add_usage(const std::string& user_id, const std::string& period, const std::string& metric,
                          double delta) {
  db_->exec(
      "INSERT INTO auth_usage(user_id, period, metric, amount) VALUES($1, $2, $3, $4) "
      "ON CONFLICT(user_id, period, metric) DO UPDATE SET amount = auth_usage.amount + excluded.amount",
      {user_id, period, metric, delta});
}

std::map<std::string, double> AuthStore::usage(const std::string& user_id, const std::string& period) const {
  std::map<std::string, double> out;
  for (const auto& r :
       db_->exec("SELECT metric, amount FROM auth_usage WHERE user_id = $1 AND period = $2", {user_id, period}))
    out[as_text(r[0])] = as_double(r[1]);
  return out;
}

void AuthStore::audit(const AuditEvent& e) {
  db_->exec(
      "INSERT INTO auth_audit(id, at, actor, action, subject, address, detail) "
      "VALUES($1, $2, $3, $4, $5, $6, $7)",
      {fmt::format("{:016x}-{}", unique_micros(), random_token(6)), e.at, e.actor, e.action, e.subject, e.address,
       e.detail});
}

std::vector<AuditEvent> AuthStore::audit_log(std::size_t limit) const {
  std::vector<AuditEvent> out;
  for (const auto& r : db_->exec("SELECT at, actor, action, subject, address, detail FROM auth_audit "
                                 "ORDER BY at DESC, id DESC LIMIT $1",
                                 {static_cast<std::int64_t>(limit)}))
    out.push_back({as_int(r[0]), as_text(r[1]), as_text(r[2]), as_text(r[3]), as_text(r[4]), as_text(r[5])});
  return out;
}

void AuthStore::ping() const { db_->exec("SELECT 1"); }

std::unique_ptr<AuthStore> open_sqlite_auth_store(const std::filesystem::path& file) {
  return std::make_unique<AuthStore>(open_sqlite_database(file));
}

std::unique_ptr<AuthStore> open_postgres_auth_store(const std::string& url) {
  return std::make_unique<AuthStore>(open_postgres_database(url));
}

}  // namespace ds::auth
