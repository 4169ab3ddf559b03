#pragma once
// Per-route access policy: which routes need a token and which quota class they count against.
// Patterns are matched against the route template the router matched (req.ctx.route, e.g.
// "/odata/v1/Products({id:uuid})/$value"); '*' matches any run of characters. The most specific
// pattern wins (most literal characters), then the later registration. API families declare the
// needs of their routes from register_routes() through Services::policy; src/api/auth installs
// the defaults for the CDSE paths (so a download or processing route is protected even before its
// family declares it). A route no pattern covers requires a token: deny by default.

#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ds::auth {

enum class Access {
  anonymous,  // no credentials needed; a valid token still identifies the caller (its quotas apply)
  token,      // a valid bearer token (user or OAuth client) is required: 401 otherwise
  admin,      // a token of an admin-typology user is required: 403 for others
  custom,     // the family authenticates itself (S3 SigV4) and applies quotas through the API
};

struct RoutePolicy {
  Access access = Access::token;
  std::string quota_class;  // e.g. "catalogue", "download", "processing", "s3"; empty = not rate limited
};

class PolicyTable {
 public:
  // Adds (or, for an identical pattern, replaces) a rule. Thread-safe.
  void add(std::string pattern, RoutePolicy policy);
  // The rule for a matched route template; the default (token, no class) when none matches.
  RoutePolicy lookup(std::string_view route) const;
  // Every rule, for documentation and /me introspection.
  std::vector<std::pair<std::string, RoutePolicy>> rules() const;

  static bool glob_match(std::string_view pattern, std::string_view text);

 private:
  struct Rule {
    std::string pattern;
    RoutePolicy policy;
    std::size_t literal_chars;
  };
  mutable std::shared_mutex mutex_;
  std::vector<Rule> rules_;
};

std::string_view access_name(Access a);

}  // namespace ds::auth
