#pragma once
// The identity store: users, organisations, OAuth clients, S3 keys, sessions, authorization codes,
// monthly usage counters and the audit log, in the catalogue's database (SQLite file or PostgreSQL)
// under tables of its own (auth_*) with its own schema version (auth_schema_version), so its
// migrations never collide with the catalogue's. One implementation over sql.hpp's two engines.
// Thread-safe. Every method throws ds::Error (conflict for a duplicate, service_unavailable when
// the database is unreachable).

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/model.hpp"
#include "auth/sql.hpp"

namespace ds::auth {

class AuthStore {
 public:
  // Opens the database and applies pending migrations (serialised: BEGIN IMMEDIATE on SQLite, an
  // advisory lock on PostgreSQL, so concurrent openers are safe).
  explicit AuthStore(std::unique_ptr<SqlDatabase> db);

  // Users. create_user throws conflict when the e-mail is taken. Emails are compared lower-case.
  void create_user(const User& user);
  std::optional<User> user(const std::string& id) const;
  std::optional<User> user_by_email(const std::string& email) const;
  std::vector<User> users() const;
  void set_disabled(const std::string& user_id, bool disabled);
  void set_typology(const std::string& user_id, Typology typology);
  void set_password_hash(const std::string& user_id, const std::string& hash);
  // Deletes the user and everything they own (clients, keys, sessions, memberships, counters).
  bool delete_user(const std::string& user_id);

  // Organisations.
  void create_organisation(const Organisation& org);
  std::optional<Organisation> organisation_by_name(const std::string& name) const;
  void set_membership(const std::string& org_id, const std::string& user_id, OrgRole role);
  bool remove_membership(const std::string& org_id, const std::string& user_id);
  std::vector<Membership> memberships(const std::string& user_id) const;

  // OAuth clients.
  void create_client(const OAuthClient& client);
  std::optional<OAuthClient> client(const std::string& client_id) const;
  std::vector<OAuthClient> clients_of(const std::string& user_id) const;
  // Only the owner's own client is deleted; false when it is not theirs or does not exist.
  bool delete_client(const std::string& user_id, const std::string& client_id);

  // S3 keys.
  void create_s3_key(const S3Key& key);
  std::optional<S3Key> s3_key(const std::string& access_key) const;
  std::vector<S3Key> s3_keys_of(const std::string& user_id) const;
  bool delete_s3_key(const std::string& user_id, const std::string& access_key);

  // Sessions (refresh tokens).
  void create_session(const Session& session);
  std::optional<Session> session_by_refresh_hash(const std::string& refresh_hash) const;
  bool delete_session(const std::string& session_id);
  void delete_sessions_of(const std::string& user_id);
  // Drops expired sessions and authorization codes. Returns how many rows went.
  std::size_t purge_expired(std::int64_t now);

  // Authorization codes: consume_code returns the code and deletes it in one step (single use).
  void create_code(const AuthCode& code);
  std::optional<AuthCode> consume_code(const std::string& code_hash);

  // Usage counters by (user, period "YYYY-MM", metric). add_usage adds `delta` (may be fractional:
  // processing units) and returns nothing; usage() returns the period's counters by metric.
  void add_usage(const std::string& user_id, const std::string& period, const std::string& metric, double delta);
  std::map<std::string, double> usage(const std::string& user_id, const std::string& period) const;

  // Audit log, newest first.
  void audit(const AuditEvent& event);
  std::vector<AuditEvent> audit_log(std::size_t limit) const;

  void ping() const;
  bool is_postgres() const { return db_->is_postgres(); }

 private:
  void migrate();
  std::unique_ptr<SqlDatabase> db_;
};

// The store in the SQLite file `file` (the catalogue's <data>/catalogue.db by default).
std::unique_ptr<AuthStore> open_sqlite_auth_store(const std::filesystem::path& file);
// The store in PostgreSQL at a libpq URL (the catalogue's catalog.url in scale-out mode).
std::unique_ptr<AuthStore> open_postgres_auth_store(const std::string& url);

}  // namespace ds::auth
