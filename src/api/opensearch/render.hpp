#pragma once
// What resto answers, built from catalogue products: GeoJSON features and feature collections,
// the Atom alternative, the OpenSearch description document, and resto's error JSON.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/opensearch/params.hpp"
#include "catalog/collection.hpp"
#include "catalog/model.hpp"
#include "core/error.hpp"
#include "http/message.hpp"

namespace ds::api::opensearch {

// One product as a resto GeoJSON feature. `base` is the server's base URL.
nlohmann::json feature_json(const std::string& base, const catalog::Product& p,
                            const catalog::CollectionRegistry* registry);

// The navigation links of a result page (rel, href), in resto's order: self, search, previous,
// first, next, last. `path` is the request path, `raw_query` its raw query string.
struct PageLinks {
  std::string self, search;
  std::optional<std::string> previous, first, next, last;
};
PageLinks page_links(const std::string& base, const std::string& path, const std::string& raw_query,
                     const std::string& describe_href, const Search& search, std::size_t returned, bool has_more,
                     std::optional<std::size_t> exact_total);

struct Page {
  const Search* search = nullptr;
  std::vector<catalog::Product> products;  // this page only
  std::optional<std::size_t> total;        // with exactCount=1
  bool total_exact = true;
  PageLinks links;
  std::string id;              // of this search (the request id)
  double processing_time = 0;  // seconds
};

nlohmann::json feature_collection_json(const std::string& base, const Page& page,
                                       const catalog::CollectionRegistry* registry);
std::string atom_feed(const std::string& base, const Page& page, const std::string& title);

// The OpenSearch 1.1 description document of `name` (a resto collection name; empty = all
// collections) whose searches go to `search_base` (…/search without the extension).
std::string describe_xml(const std::string& search_base, const std::string& self_href, const std::string& name,
                         const std::string& description, const std::vector<const ParamSpec*>& params);

// resto's error body: {"detail": {"ErrorMessage", "ErrorCode", "ErrorDetail", "RequestID"}}.
http::Response error_response(const Error& error, const std::string& request_id);

}  // namespace ds::api::opensearch
