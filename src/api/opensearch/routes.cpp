#include "api/opensearch/routes.hpp"

#include <chrono>
#include <functional>

#include "api/opensearch/params.hpp"
#include "api/opensearch/render.hpp"
#include "core/error.hpp"

namespace ds::api::opensearch {
namespace {

constexpr const char* kPrefix = "/resto/api/collections/";

// Errors of every /resto handler are rendered in resto's JSON (the router's formats do not know it).
http::Handler resto_errors(std::function<http::Response(http::Request&)> f) {
  return [f = std::move(f)](http::Request& req) {
    try {
      return f(req);
    } catch (const Error& e) {
      return error_response(e, req.ctx.request_id);
    }
  };
}

const catalog::CollectionRegistry& registry(const Services& services) {
  if (!services.collections || !services.catalog)
    throw Error(ErrorCode::service_unavailable, "the catalogue is not available");
  return *services.collections;
}

// The collection named in the path ("" for the all-collections endpoints) and its mission.
struct Target {
  std::string name;
  std::string mission;
};
Target target_of(const http::Request& req, const Services& services) {
  Target t;
  if (req.params.count("collection") == 0) return t;
  t.name = req.param("collection");
  const auto mission = mission_of(registry(services), t.name);
  if (!mission) {
    Error e(ErrorCode::not_found, "Collection '" + t.name + "' does not exist.", "collection");
    e.with_detail("resto_message", "Unknown collection.");
    throw e;
  }
  t.mission = *mission;
  return t;
}

std::string collection_path(const Target& t) { return kPrefix + (t.name.empty() ? std::string() : t.name + "/"); }

http::Response search(http::Request& req, const Services& services, bool atom) {
  const auto started = std::chrono::steady_clock::now();
  const Target t = target_of(req, services);
  Search s = parse_search(req.query, registry(services), t.mission);
  if (s.query.count == catalog::CountMode::exact) s.query.count_limit = services.config.catalog_count_limit;
  catalog::SearchResult result = services.catalog->search(s.query);
  const bool has_more = result.products.size() > s.max_records;
  if (has_more) result.products.resize(s.max_records);

  Page page;
  page.search = &s;
  page.total = result.total;
  page.total_exact = result.total_exact;
  page.products = std::move(result.products);
  page.id = req.ctx.request_id;
  const std::optional<std::size_t> exact_total =
      result.total && result.total_exact ? result.total : std::optional<std::size_t>();
  page.links = page_links(req.base_url, req.path, req.query_string, req.base_url + collection_path(t) + "describe.xml",
                          s, page.products.size(), has_more, exact_total);
  page.processing_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (atom) {
    const std::string title = (t.name.empty() ? std::string("All collections") : t.name) + " search results";
    return http::Response::text(atom_feed(req.base_url, page, title), "application/atom+xml; charset=utf-8");
  }
  return http::Response::json(feature_collection_json(req.base_url, page, services.collections));
}

http::Response describe(http::Request& req, const Services& services) {
  const Target t = target_of(req, services);
  const auto& reg = registry(services);
  std::string description;
  for (const auto& c : reg.all()) {
    if (!t.mission.empty() && c.mission != t.mission) continue;
    description += (description.empty() ? "" : ", ") + c.title;
  }
  description = (t.mission.empty() ? "Every collection: " : t.mission + ": ") + description;
  const std::string base = req.base_url + collection_path(t);
  return http::Response::text(
      describe_xml(base + "search", base + "describe.xml", t.name, description, parameters_for(reg, t.mission)),
      "application/opensearchdescription+xml; charset=utf-8");
}

http::Response feature(http::Request& req, const Services& services) {
  const std::string& name = req.param("collection");
  const std::string& id = req.param("id");
  const auto mission = mission_of(registry(services), name);
  auto product = mission ? services.catalog->get(id) : std::nullopt;
  if (!product || product->collection != *mission) {
    Error e(ErrorCode::not_found, "Feature '" + id + "' does not exist in collection '" + name + "'.", "identifier");
    e.with_detail("resto_message", "Not Found.");
    throw e;
  }
  return http::Response::json(feature_json(req.base_url, *product, services.collections));
}

}  // namespace

void register_routes(http::Router& router, const Services& services) {
  router.add_link({"search", "/resto/api/collections/describe.xml", "OpenSearch (resto-compatible)",
                   "application/opensearchdescription+xml"});
  const Services* s = &services;
  for (const std::string prefix : {"/resto/api/collections", "/resto/api/collections/{collection}"}) {
    router.get(prefix + "/search.json", resto_errors([s](http::Request& r) { return search(r, *s, false); }));
    router.get(prefix + "/search.atom", resto_errors([s](http::Request& r) { return search(r, *s, true); }));
    router.get(prefix + "/describe.xml", resto_errors([s](http::Request& r) { return describe(r, *s); }));
  }
  router.get("/resto/collections/{collection}/{id}.json",
             resto_errors([s](http::Request& r) { return feature(r, *s); }));
  // Anything else under /resto answers resto's 404, not the server's.
  router.get("/resto/{rest:path}", resto_errors([](http::Request& r) -> http::Response {
               Error e(ErrorCode::not_found, "No resource at " + r.path + ".", "path");
               e.with_detail("resto_message", "Not Found.");
               throw e;
             }));
}

}  // namespace ds::api::opensearch
