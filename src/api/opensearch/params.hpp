#pragma once
// resto-style OpenSearch parameters: the table of what we accept (which also writes describe.xml),
// the resto collection names, and the compiler from a request's query string to one
// catalog::Query. Protocol only: no SQL, no HTTP objects beyond the decoded query parameters.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/collection.hpp"
#include "catalog/query.hpp"
#include "http/message.hpp"

namespace ds::api::opensearch {

// Limits, as CDSE's resto enforces them.
inline constexpr std::size_t kDefaultMaxRecords = 20;
inline constexpr std::size_t kMaxRecords = 2000;
inline constexpr std::size_t kMaxSkip = 10000;  // (page - 1) * maxRecords + index - 1
inline constexpr std::size_t kMaxIndex = 10001;
// exactCount=1 counts exactly up to this many matches, then reports the bound, flagged inexact.
inline constexpr std::size_t kCountBound = 100000;  // default; the server applies catalog.count_limit
// lat/lon/radius: the largest radius we approximate with a polygon, metres.
inline constexpr double kMaxRadius = 5'000'000;

enum class ParamType { integer, number, text, date, choice, wkt, box, flag };

// One accepted parameter. `attributes` are the catalogue attributes it tests: the parameter is
// offered for a collection when one of them is a queryable of one of the collection's definitions
// (empty = offered everywhere).
struct ParamSpec {
  std::string name;     // "cloudCover"
  std::string os_name;  // OpenSearch template variable, "eo:cloudCover"
  ParamType type = ParamType::text;
  bool range = false;   // accepts [min,max] / ]min,max[ ranges
  bool paging = false;  // paging/sorting/format: not a filter (kept out of originalFilters)
  std::vector<std::string> attributes;
  std::vector<std::string> options;  // closed set of values (choice)
  std::optional<double> minimum;
  std::optional<double> maximum;
  std::string pattern;  // regular expression for describe.xml
  std::string title;
};

// Every parameter we know, in describe.xml order.
const std::vector<ParamSpec>& parameter_table();
// The parameters offered for `mission` ("" = every mission of the registry: the all-collections search).
std::vector<const ParamSpec*> parameters_for(const catalog::CollectionRegistry& registry, const std::string& mission);

// The OData mission ("SENTINEL-2") of a resto collection name ("Sentinel2", "SENTINEL-2",
// "Sentinel5P", "CopDem", "COP-DEM", "GlobalMosaics"), among the registry's missions; nullopt when
// unknown. Names are case-sensitive, as in resto.
std::optional<std::string> mission_of(const catalog::CollectionRegistry& registry, const std::string& name);
// The resto name of a mission: "SENTINEL-2" -> "Sentinel2", "COP-DEM" -> "CopDem".
std::string resto_name(const std::string& mission);

// A parsed search request.
struct Search {
  catalog::Query query;  // where + sort; limit/offset set for one page (limit = maxRecords + 1, to see a next page)
  std::size_t max_records = kDefaultMaxRecords;
  std::size_t page = 1;
  std::size_t index = 1;
  std::size_t offset = 0;  // (page - 1) * maxRecords + index - 1
  bool exact_count = false;
  nlohmann::json original_filters = nlohmann::json::object();  // as sent, plus "collection"
  nlohmann::json applied_filters = nlohmann::json::object();   // as understood
};

// Validates and compiles the request's parameters for `mission` ("" = all collections). Throws
// ds::Error(invalid_parameter) naming the parameter: unknown parameters carry the detail
// "unknown" (the list of names); validation errors may carry "loc" (several parameter names).
Search parse_search(const http::QueryParams& params, const catalog::CollectionRegistry& registry,
                    const std::string& mission);

// A circle of `radius` metres around lon/lat as a WGS84 polygon (WKT): 64 vertices on the sphere,
// or the circle's bounding box when it reaches a pole or the antimeridian.
std::string circle_wkt(double lon, double lat, double radius);

}  // namespace ds::api::opensearch
