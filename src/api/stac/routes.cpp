#include "api/stac/routes.hpp"

#include <algorithm>
#include <cctype>

#include "api/common/catalog.hpp"
#include "api/stac/compile.hpp"
#include "api/stac/render.hpp"
#include "api/stac/search.hpp"
#include "core/error.hpp"

namespace ds::api::stac {

using nlohmann::json;

namespace {

constexpr const char* kGeoJson = "application/geo+json";

const std::vector<std::string>& conformance() {
  static const std::vector<std::string> uris = {
      "https://api.stacspec.org/v1.0.0/core",
      "https://api.stacspec.org/v1.0.0/collections",
      "https://api.stacspec.org/v1.0.0/ogcapi-features",
      "https://api.stacspec.org/v1.0.0/item-search",
      "https://api.stacspec.org/v1.0.0/item-search#fields",
      "https://api.stacspec.org/v1.0.0/ogcapi-features#fields",
      "https://api.stacspec.org/v1.0.0/item-search#query",
      "https://api.stacspec.org/v1.0.0/ogcapi-features#query",
      "https://api.stacspec.org/v1.0.0/item-search#sort",
      "https://api.stacspec.org/v1.1.0/item-search#sort",
      "https://api.stacspec.org/v1.1.0/ogcapi-features#sort",
      "https://api.stacspec.org/v1.0.0-rc.2/item-search#filter",
      "https://api.stacspec.org/v1.0.0-rc.2/item-search#context",
      "https://api.stacspec.org/v1.0.0-rc.1/item-search#free-text",
      "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
      "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
      "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
      "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
      "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
      "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
      "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
      "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
      "http://www.opengis.net/spec/cql2/1.0/conf/array-functions",
  };
  return uris;
}

// STAC API error body; ds::Error details (position, property) are carried along.
http::Response render_error(const Error& e, const http::Request& req) {
  json body = {{"code", std::string(error_info(e.code()).id)}, {"description", e.message()}};
  if (!e.parameter().empty()) body["parameter"] = e.parameter();
  for (const auto& [k, v] : e.details().items()) body[k] = v;
  if (!req.ctx.request_id.empty()) body["request_id"] = req.ctx.request_id;
  auto res = http::Response::json(body, http_status(e.code()));
  for (const auto& [k, v] : e.headers()) res.headers.set(k, v);
  return res;
}

// Renders client errors (4xx) of a handler as STAC errors; server errors go to the pipeline.
http::Handler guarded(std::function<http::Response(http::Request&)> handler) {
  return [handler = std::move(handler)](http::Request& req) {
    try {
      return handler(req);
    } catch (const Error& e) {
      if (http_status(e.code()) >= 500) throw;
      return render_error(e, req);
    } catch (const json::exception& e) {
      return render_error(Error(ErrorCode::bad_request, std::string("malformed JSON: ") + e.what()), req);
    }
  };
}

json link(const std::string& rel, const std::string& href, const std::string& type, const std::string& title = "") {
  json j = {{"rel", rel}, {"href", href}, {"type", type}};
  if (!title.empty()) j["title"] = title;
  return j;
}

const catalog::CatalogStore& store_of(const Services& s) {
  if (!s.catalog) throw Error(ErrorCode::service_unavailable, "the catalogue is not available");
  return *s.catalog;
}

const catalog::Collection& collection_or_404(const Services& s, const std::string& id) {
  const auto* c = s.collections ? s.collections->find(id) : nullptr;
  if (!c) throw Error(ErrorCode::not_found, "no collection '" + id + "'", "collectionId");
  return *c;
}

// The query string of `req` without `token`, percent-encoded again, for next/prev links.
std::string query_without_token(const http::Request& req) {
  std::string out;
  for (const auto& [k, v] : req.query.items()) {
    if (k == "token") continue;
    out += (out.empty() ? "" : "&") + http::url_encode(k) + "=" + http::url_encode(v);
  }
  return out;
}

json feature_collection(const http::Request& req, const Services& services, const SearchRequest& search,
                        const SearchPage& page, const std::string& self_path, const json* post_body) {
  json features = json::array();
  for (const auto& p : page.products) {
    const auto* c = services.collections ? services.collections->for_product(p) : nullptr;
    const std::string cid = common::collection_id(services.collections, p);
    features.push_back(apply_fields(render_item(req.base_url, p, c, cid), search));
  }
  const std::string self = req.base_url + self_path;
  json links = json::array();
  links.push_back(link("root", stac_root(req.base_url), "application/json"));
  auto page_link = [&](const char* rel, const std::string& token) {
    if (post_body) {
      json body = *post_body;
      body["token"] = token;
      json l = link(rel, self, kGeoJson);
      l["method"] = "POST";
      l["body"] = body;
      return l;
    }
    const std::string q = query_without_token(req);
    return link(rel, self + "?" + q + (q.empty() ? "" : "&") + "token=" + token, kGeoJson);
  };
  if (post_body) {
    json s = link("self", self, kGeoJson);
    s["method"] = "POST";
    links.push_back(s);
  } else {
    links.push_back(link("self", self + (req.query_string.empty() ? "" : "?" + req.query_string), kGeoJson));
  }
  if (page.next_token) links.push_back(page_link("next", *page.next_token));
  if (page.prev_token) links.push_back(page_link("prev", *page.prev_token));

  json context = {{"returned", page.products.size()}, {"limit", search.limit}};
  if (search.requested_limit > search.limit) context["limit_requested"] = search.requested_limit;
  json out = {{"type", "FeatureCollection"}, {"features", features}, {"links", links}};
  out["numberReturned"] = page.products.size();
  if (page.matched) {
    out["numberMatched"] = *page.matched;
    context["matched"] = *page.matched;
  } else if (page.matched_at_least) {
    context["matched_at_least"] = *page.matched_at_least;
    context["matched_exact"] = false;
  }
  out["context"] = context;
  return out;
}

http::Response geojson(const json& body) { return http::Response::json(body, 200, kGeoJson); }

std::optional<catalog::Product> find_item(const Services& services, const std::string& id) {
  const auto& store = store_of(services);
  for (const auto& name : names_for_item_id(id)) {
    if (auto p = store.get_by_name(name)) return p;
  }
  if (id.size() == 36 && std::count(id.begin(), id.end(), '-') == 4) return store.get(id);
  return std::nullopt;
}

bool text_has(const std::string& haystack, const std::string& needle) {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  };
  return lower(haystack).find(lower(needle)) != std::string::npos;
}

}  // namespace

void register_routes(http::Router& router, const Services& services) {
  router.add_link({"data", "/stac", "STAC API 1.0 (catalogue)"});
  const Services* s = &services;

  auto landing = guarded([s](http::Request& req) {
    const std::string root = stac_root(req.base_url);
    json links = json::array({
        link("self", root, "application/json", "This document"),
        link("root", root, "application/json"),
        link("conformance", root + "/conformance", "application/json", "Conformance classes"),
        link("data", root + "/collections", "application/json", "Collections"),
        link("http://www.opengis.net/def/rel/ogc/1.0/queryables", root + "/queryables", "application/schema+json",
             "Queryables"),
    });
    json get = link("search", root + "/search", kGeoJson, "Item search");
    get["method"] = "GET";
    json post = get;
    post["method"] = "POST";
    links.push_back(get);
    links.push_back(post);
    if (s->collections) {
      for (const auto& c : s->collections->all()) {
        links.push_back(link("child", root + "/collections/" + http::url_encode(c.id), "application/json", c.title));
      }
    }
    return http::Response::json({{"type", "Catalog"},
                                 {"stac_version", kStacVersion},
                                 {"id", "dataspace"},
                                 {"title", "Dataspace STAC API"},
                                 {"description", "Earth-observation products of this data space, as STAC items."},
                                 {"conformsTo", conformance()},
                                 {"links", links}});
  });
  router.get("/stac", landing);

  router.get("/stac/conformance", guarded([](http::Request&) {
               return http::Response::json({{"conformsTo", conformance()}});
             }));

  router.get(
      "/stac/collections", guarded([s](http::Request& req) {
        const auto q = req.query.get("q");
        std::vector<std::string> terms;
        if (q) {
          std::size_t start = 0;
          while (start <= q->size()) {
            auto comma = q->find(',', start);
            std::string t = q->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            t.erase(0, t.find_first_not_of(' '));
            t.erase(t.find_last_not_of(' ') + 1);
            if (!t.empty()) terms.push_back(t);
            if (comma == std::string::npos) break;
            start = comma + 1;
          }
        }
        json collections = json::array();
        if (s->collections) {
          for (const auto& c : s->collections->all()) {
            if (!terms.empty()) {
              const bool hit = std::any_of(terms.begin(), terms.end(), [&](const std::string& t) {
                if (text_has(c.title, t) || text_has(c.description, t) || text_has(c.id, t)) return true;
                return std::any_of(c.keywords.begin(), c.keywords.end(),
                                   [&](const std::string& k) { return text_has(k, t); });
              });
              if (!hit) continue;
            }
            collections.push_back(render_collection(req.base_url, c));
          }
        }
        const std::string root = stac_root(req.base_url);
        return http::Response::json(
            {{"collections", collections},
             {"links", json::array({link("self", root + "/collections", "application/json"),
                                    link("root", root, "application/json"), link("parent", root, "application/json")})},
             {"numberMatched", collections.size()},
             {"numberReturned", collections.size()}});
      }));

  router.get(
      "/stac/collections/{collectionId}", guarded([s](http::Request& req) {
        return http::Response::json(render_collection(req.base_url, collection_or_404(*s, req.param("collectionId"))));
      }));

  router.get("/stac/collections/{collectionId}/queryables", guarded([s](http::Request& req) {
               const auto& c = collection_or_404(*s, req.param("collectionId"));
               return http::Response::json(render_queryables(req.base_url, s->collections, &c), 200,
                                           "application/schema+json");
             }));
  router.get("/stac/queryables", guarded([s](http::Request& req) {
               return http::Response::json(render_queryables(req.base_url, s->collections, nullptr), 200,
                                           "application/schema+json");
             }));

  router.get(
      "/stac/collections/{collectionId}/items", guarded([s](http::Request& req) {
        const auto& c = collection_or_404(*s, req.param("collectionId"));
        SearchRequest search = parse_get(req.query);
        search.collections = {c.id};
        const auto page = run_search(search, store_of(*s), s->collections, s->config.stac_count_limit);
        const std::string path = "/stac/collections/" + http::url_encode(c.id) + "/items";
        json out = feature_collection(req, *s, search, page, path, nullptr);
        out["links"].push_back(
            link("collection", stac_root(req.base_url) + "/collections/" + http::url_encode(c.id), "application/json"));
        return geojson(out);
      }));

  router.get(
      "/stac/collections/{collectionId}/items/{itemId}", guarded([s](http::Request& req) {
        const std::string cid = req.param("collectionId");
        collection_or_404(*s, cid);
        const std::string id = req.param("itemId");
        const auto p = find_item(*s, id);
        if (!p || common::collection_id(s->collections, *p) != cid) {
          throw Error(ErrorCode::not_found, "no item '" + id + "' in collection '" + cid + "'", "itemId");
        }
        return geojson(render_item(req.base_url, *p, s->collections ? s->collections->for_product(*p) : nullptr, cid));
      }));

  // The static STAC item of a product at a URL that names only the product (UUID, name or item
  // id), whatever collection it belongs to.
  router.get("/stac/items/{itemId}", guarded([s](http::Request& req) {
               const std::string id = req.param("itemId");
               const auto p = find_item(*s, id);
               if (!p) throw Error(ErrorCode::not_found, "no item '" + id + "'", "itemId");
               return geojson(render_item(req.base_url, *p, s->collections ? s->collections->for_product(*p) : nullptr,
                                          common::collection_id(s->collections, *p)));
             }));

  router.get("/stac/search", guarded([s](http::Request& req) {
               const SearchRequest search = parse_get(req.query);
               const auto page = run_search(search, store_of(*s), s->collections, s->config.stac_count_limit);
               return geojson(feature_collection(req, *s, search, page, "/stac/search", nullptr));
             }));

  router.post("/stac/search", guarded([s](http::Request& req) {
                if (auto ct = req.header("Content-Type"); ct && ct->find("json") == std::string_view::npos) {
                  throw Error(ErrorCode::unsupported_media_type, "the search body must be application/json");
                }
                json body;
                try {
                  body = req.body.empty() ? json::object() : json::parse(req.body);
                } catch (const json::exception&) {
                  throw Error(ErrorCode::bad_request, "the search body is not valid JSON", "body");
                }
                const SearchRequest search = parse_post(body);
                const auto page = run_search(search, store_of(*s), s->collections, s->config.stac_count_limit);
                body.erase("token");
                return geojson(feature_collection(req, *s, search, page, "/stac/search", &body));
              }));

  // Anything else under /stac answers a STAC error, not the server's generic one.
  router.get("/stac/{rest:path}", guarded([](http::Request& req) -> http::Response {
               throw Error(ErrorCode::not_found, "no STAC resource at " + req.path);
             }));
}

}  // namespace ds::api::stac
