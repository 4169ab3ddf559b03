#pragma once
// Wiring of the identity module for `serve` and the `user` subcommands: the identity store in the
// catalogue's database (SQLite <data>/catalogue.db or catalog.url), the token service with its keys
// under <data>/keys, quotas and the route policy.

#include <memory>
#include <optional>

#include <CLI/CLI.hpp>

#include "auth/policy.hpp"
#include "auth/quota.hpp"
#include "auth/service.hpp"
#include "auth/store.hpp"
#include "core/config.hpp"

namespace ds::app {

struct Identity {
  std::unique_ptr<auth::AuthStore> store;
  std::unique_ptr<auth::AuthService> service;
  std::unique_ptr<auth::QuotaService> quotas;  // after store: flushed before the store closes
  auth::PolicyTable policy;
};

// Opens the store and the token service; quotas too when `with_quotas` (serve). Throws ds::Error
// (invalid_parameter for a bad quota.limits entry).
std::unique_ptr<Identity> open_identity(const Config& config, bool with_quotas);

// `dataspace user ...`: add, list, disable, enable, delete, client add, s3key add, org add.
class UserCommands {
 public:
  void add_to(CLI::App& app);
  // The exit code when a user subcommand was given, nullopt otherwise.
  std::optional<int> run();

 private:
  struct State;
  std::shared_ptr<State> s_;
};

}  // namespace ds::app
