#pragma once
// STAC item search: the request (from GET parameters or a POST body), its compilation into a
// catalog::Query, paging tokens (keyset when every sort key is a product field, offset when one is
// an attribute) and the fields extension.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/collection.hpp"
#include "catalog/query.hpp"
#include "catalog/store.hpp"
#include "http/message.hpp"

namespace ds::api::stac {

inline constexpr std::size_t kDefaultLimit = 10;
inline constexpr std::size_t kMaxLimit = 1000;       // larger limits are served as this many
inline constexpr std::size_t kSpecMaxLimit = 10000;  // larger limits are refused

struct SortSpec {
  std::string field;
  bool descending = false;
};

struct SearchRequest {
  std::optional<std::array<double, 4>> bbox;  // west, south, east, north
  std::optional<nlohmann::json> intersects;   // GeoJSON geometry
  std::optional<std::string> datetime;
  std::vector<std::string> ids;
  std::vector<std::string> collections;
  std::size_t limit = kDefaultLimit;
  std::size_t requested_limit = kDefaultLimit;
  std::optional<std::string> token;
  std::vector<SortSpec> sortby;
  bool has_fields = false;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  std::optional<nlohmann::json> filter;  // CQL2 JSON (text is parsed on the way in)
  std::optional<nlohmann::json> query;   // query extension
  std::vector<std::string> q;            // free-text terms
};

// Throws ds::Error(invalid_parameter, name) for any malformed parameter.
SearchRequest parse_get(const http::QueryParams& params);
SearchRequest parse_post(const nlohmann::json& body);

struct SearchPage {
  std::vector<catalog::Product> products;
  std::optional<std::size_t> matched;           // exact count
  std::optional<std::size_t> matched_at_least;  // when counting stopped at the bound
  std::optional<std::string> next_token;
  std::optional<std::string> prev_token;
};

// Runs the search. `count_limit` bounds the count (0 = exact always).
SearchPage run_search(const SearchRequest& request, const catalog::CatalogStore& store,
                      const catalog::CollectionRegistry* registry, std::size_t count_limit);

// The fields extension applied to one item.
nlohmann::json apply_fields(const nlohmann::json& item, const SearchRequest& request);

}  // namespace ds::api::stac
