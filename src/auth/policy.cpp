#include "auth/policy.hpp"

#include <algorithm>

namespace ds::auth {

std::string_view access_name(Access a) {
  switch (a) {
    case Access::anonymous:
      return "anonymous";
    case Access::token:
      return "token";
    case Access::admin:
      return "admin";
    case Access::custom:
      return "custom";
  }
  return "token";
}

bool PolicyTable::glob_match(std::string_view p, std::string_view t) {
  // Iterative wildcard match with single-star backtracking: O(|p|·|t|) at worst.
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (pi < p.size() && p[pi] == t[ti]) {
      ++pi;
      ++ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

void PolicyTable::add(std::string pattern, RoutePolicy policy) {
  std::unique_lock lock(mutex_);
  std::erase_if(rules_, [&](const Rule& r) { return r.pattern == pattern; });
  const auto literal =
      static_cast<std::size_t>(std::count_if(pattern.begin(), pattern.end(), [](char c) { return c != '*'; }));
  rules_.push_back({std::move(pattern), std::move(policy), literal});
}

RoutePolicy PolicyTable::lookup(std::string_view route) const {
  std::shared_lock lock(mutex_);
  const Rule* best = nullptr;
  for (const auto& r : rules_) {
    if (glob_match(r.pattern, route) && (!best || r.literal_chars >= best->literal_chars)) best = &r;
  }
  return best ? best->policy : RoutePolicy{};
}

std::vector<std::pair<std::string, RoutePolicy>> PolicyTable::rules() const {
  std::shared_lock lock(mutex_);
  std::vector<std::pair<std::string, RoutePolicy>> out;
  for (const auto& r : rules_) out.emplace_back(r.pattern, r.policy);
  return out;
}

}  // namespace ds::auth
