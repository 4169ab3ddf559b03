#include "app/identity.hpp"

#include <iomanip>
#include <iostream>
#include <map>

#include "auth/crypto.hpp"
#include "core/error.hpp"
#include "core/time.hpp"

namespace ds::app {

std::unique_ptr<Identity> open_identity(const Config& config, bool with_quotas) {
  auto id = std::make_unique<Identity>();
  if (!config.catalog_url.empty()) {
    id->store = auth::open_postgres_auth_store(config.catalog_url);
  } else {
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    id->store = auth::open_sqlite_auth_store(config.data_dir / "catalogue.db");
  }
  auth::AuthOptions o;
  o.realm = config.auth.realm;
  o.access_ttl = std::chrono::duration_cast<std::chrono::seconds>(config.auth.access_token_lifetime);
  o.refresh_ttl = std::chrono::duration_cast<std::chrono::seconds>(config.auth.refresh_token_lifetime);
  o.key_rotation = std::chrono::duration_cast<std::chrono::seconds>(config.auth.key_rotation);
  if (o.access_ttl.count() < 1) o.access_ttl = std::chrono::seconds(1);
  o.open_registration = config.auth.open_registration;
  o.max_s3_keys = config.auth.s3_keys_per_user;
  o.password.memory_kib = static_cast<std::uint32_t>(config.auth.password_memory / 1024);
  o.keys_dir = config.data_dir / "keys";
  o.redirect_prefixes = config.auth.redirect_uris;
  id->service = std::make_unique<auth::AuthService>(*id->store, o);
  if (with_quotas) {
    auto profiles = auth::default_quota_profiles();
    auth::apply_quota_overrides(profiles, config.auth.quota_limits);
    id->quotas = std::make_unique<auth::QuotaService>(id->store.get(), std::move(profiles));
  }
  return id;
}

struct UserCommands::State {
  std::string config_file;
  std::map<std::string, std::string> values;
  std::string email, password, typology = "general", name, description, org, role = "member";
  bool password_stdin = false;
  double days = 0;
  CLI::App* user = nullptr;
  CLI::App *add = nullptr, *list = nullptr, *disable = nullptr, *enable = nullptr, *del = nullptr;
  CLI::App *client = nullptr, *client_add = nullptr, *s3key = nullptr, *s3key_add = nullptr, *org_cmd = nullptr,
           *org_add = nullptr;

  Config load() const {
    std::optional<std::filesystem::path> file;
    if (!config_file.empty()) file = config_file;
    return load_config(file, dataspace_environment(), values);
  }
  void common(CLI::App& cmd) {
    cmd.add_option("--config", config_file, "TOML configuration file (default: ./dataspace.toml if present)");
    cmd.add_option_function<std::string>(
        "--data", [this](const std::string& v) { values["data"] = v; },
        "Data root: users live in DIR/catalogue.db, keys in DIR/keys (default: var)");
    cmd.add_option_function<std::string>(
        "--catalog-url", [this](const std::string& v) { values["catalog.url"] = v; },
        "PostgreSQL URL of the catalogue, whose database also holds the users (default: DATA/catalogue.db)");
  }
  auth::User user_by_email(Identity& id) const {
    auto u = id.store->user_by_email(email);
    if (!u) throw Error(ErrorCode::not_found, "no user with e-mail " + email, "email");
    return *u;
  }
};

void UserCommands::add_to(CLI::App& app) {
  s_ = std::make_shared<State>();
  auto& s = *s_;
  s.user = app.add_subcommand("user", "Manage users, their OAuth clients, S3 keys and organisations");
  s.user->require_subcommand(1);
  s.add = s.user->add_subcommand("add", "Create a user and print its id");
  s.common(*s.add);
  s.add->add_option("--email", s.email, "E-mail address (the login)")->required();
  s.add->add_option("--password", s.password, "Password (8+ characters); see --password-stdin");
  s.add->add_flag("--password-stdin", s.password_stdin, "Read the password from the first line of stdin");
  s.add->add_option("--typology", s.typology, "general|services|collaborative|international|admin")
      ->capture_default_str();
  s.add->add_option("--name", s.name, "Display name");
  s.list = s.user->add_subcommand("list", "List users");
  s.common(*s.list);
  for (auto** cmd : {&s.disable, &s.enable, &s.del}) {
    const char* n = cmd == &s.disable ? "disable" : cmd == &s.enable ? "enable" : "delete";
    *cmd = s.user->add_subcommand(n, std::string(n) + " a user (delete also removes their clients, keys, sessions)");
    s.common(**cmd);
    (*cmd)->add_option("--email", s.email, "E-mail address of the user")->required();
  }
  s.client = s.user->add_subcommand("client", "OAuth clients (client credentials, Sentinel Hub style)");
  s.client->require_subcommand(1);
  s.client_add = s.client->add_subcommand("add", "Create an OAuth client for a user; prints its id and secret once");
  s.common(*s.client_add);
  s.client_add->add_option("--email", s.email, "E-mail address of the owner")->required();
  s.client_add->add_option("--name", s.name, "Client name");
  s.s3key = s.user->add_subcommand("s3key", "S3 access keys");
  s.s3key->require_subcommand(1);
  s.s3key_add = s.s3key->add_subcommand("add", "Create an S3 key pair for a user; prints the key and secret once");
  s.common(*s.s3key_add);
  s.s3key_add->add_option("--email", s.email, "E-mail address of the owner")->required();
  s.s3key_add->add_option("--description", s.description, "What the key is for");
  s.s3key_add->add_option("--days", s.days, "Expiry in days (default: never)");
  s.org_cmd = s.user->add_subcommand("org", "Organisations");
  s.org_cmd->require_subcommand(1);
  s.org_add = s.org_cmd->add_subcommand("add", "Add a user to an organisation (created when new)");
  s.common(*s.org_add);
  s.org_add->add_option("--name", s.org, "Organisation name")->required();
  s.org_add->add_option("--email", s.email, "E-mail address of the member")->required();
  s.org_add->add_option("--role", s.role, "member|admin")->capture_default_str();
}

std::optional<int> UserCommands::run() {
  auto& s = *s_;
  if (!*s.user) return std::nullopt;
  const Config config = s.load();
  auto id = open_identity(config, false);
  auto& svc = *id->service;
  if (*s.add) {
    if (s.password_stdin) std::getline(std::cin, s.password);
    const auto typology = auth::parse_typology(s.typology);
    if (!typology)
      throw Error(ErrorCode::invalid_parameter,
                  "typology must be general, services, collaborative, international or admin", "typology");
    std::cout << svc.create_user(s.email, s.password, *typology, s.name, "cli").id << "\n";
    return 0;
  }
  if (*s.list) {
    for (const auto& u : id->store->users()) {
      std::cout << u.id << "  " << std::left << std::setw(32) << u.email << " " << std::setw(14)
                << auth::typology_name(u.typology) << (u.disabled ? " disabled " : " enabled  ")
                << format_iso8601(std::chrono::system_clock::from_time_t(u.created)) << "\n";
    }
    return 0;
  }
  if (*s.disable || *s.enable) {
    svc.set_disabled(s.user_by_email(*id).id, static_cast<bool>(*s.disable), "cli");
    return 0;
  }
  if (*s.del) {
    svc.delete_user(s.user_by_email(*id).id, "cli");
    return 0;
  }
  if (*s.client_add) {
    const auto c = svc.create_client(s.user_by_email(*id).id, s.name, {});
    std::cout << "client_id=" << c.client.client_id << "\nclient_secret=" << c.secret << "\n";
    return 0;
  }
  if (*s.s3key_add) {
    const std::int64_t expires = s.days > 0 ? auth::unix_now() + static_cast<std::int64_t>(s.days * 86'400) : 0;
    const auto k = svc.create_s3_key(s.user_by_email(*id).id, s.description, expires);
    std::cout << "aws_access_key_id=" << k.key.access_key << "\naws_secret_access_key=" << k.secret << "\n";
    return 0;
  }
  if (*s.org_add) {
    const auto role = auth::parse_org_role(s.role);
    if (!role) throw Error(ErrorCode::invalid_parameter, "role must be member or admin", "role");
    const auto user = s.user_by_email(*id);
    auto org = id->store->organisation_by_name(s.org);
    if (!org) {
      id->store->create_organisation({auth::random_uuid(), s.org, auth::unix_now()});
      org = id->store->organisation_by_name(s.org);
    }
    id->store->set_membership(org->id, user.id, *role);
    svc.audit("cli", "membership_set", user.id, "", s.org + " " + s.role);
    std::cout << org->id << "\n";
    return 0;
  }
  return 1;
}

}  // namespace ds::app
