#include "api/odata/routes.hpp"

#include <algorithm>
#include <charconv>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "api/common/catalog.hpp"
#include "api/odata/filter.hpp"
#include "api/odata/metadata.hpp"
#include "core/error.hpp"
#include "core/geometry.hpp"
#include "core/time.hpp"
#include "http/body.hpp"
#include "http/range.hpp"

namespace ds::api::odata {
namespace {

using nlohmann::json;

const std::regex& uuid_pattern() {
  static const std::regex r("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");
  return r;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A 422 in the FastAPI/pydantic shape CDSE answers for $top/$skip beyond their caps.
Error beyond_cap(const std::string& option, const std::string& input, std::size_t cap) {
  Error e(ErrorCode::unprocessable, fmt::format("{} must be at most {}", option, cap), option);
  e.with_detail("fastapi", json::array({{{"type", "less_than_equal"},
                                         {"loc", json::array({"query", option})},
                                         {"msg", fmt::format("Input should be less than or equal to {}", cap)},
                                         {"input", input},
                                         {"ctx", {{"le", cap}}}}}));
  return e;
}

std::size_t count_option(const http::Request& req, const std::string& option, std::size_t fallback, std::size_t cap) {
  const auto v = req.query.get(option);
  if (!v) return fallback;
  std::size_t n = 0;
  const auto* end = v->data() + v->size();
  auto [p, ec] = std::from_chars(v->data(), end, n);
  if (ec != std::errc{} || p != end || v->empty()) {
    Error e(ErrorCode::unprocessable, fmt::format("{} must be a non-negative integer (got '{}')", option, *v), option);
    e.with_detail("fastapi",
                  json::array({{{"type", "int_parsing"},
                                {"loc", json::array({"query", option})},
                                {"msg", "Input should be a valid integer, unable to parse string as an integer"},
                                {"input", *v}}}));
    throw e;
  }
  if (n > cap) throw beyond_cap(option, *v, cap);
  return n;
}

bool flag_option(const http::Request& req, const std::string& option) {
  const auto v = req.query.get(option);
  if (!v) return false;
  const auto l = lower(*v);
  if (l == "true" || l == "1") return true;
  if (l == "false" || l == "0") return false;
  throw Error(ErrorCode::invalid_parameter, option + " must be true or false (got '" + *v + "')", option);
}

// What to render of each product: $select and $expand.
struct Shape {
  std::set<std::string> select;  // empty = all
  bool attributes = false, assets = false, locations = false;
};

const std::vector<std::string>& selectable() {
  static const std::vector<std::string> all = {
      "Id",     "Name",         "ContentType", "ContentLength", "OriginDate",  "PublicationDate", "ModificationDate",
      "Online", "EvictionDate", "S3Path",      "Checksum",      "ContentDate", "Footprint",       "GeoFootprint"};
  return all;
}

Shape shape_of(const http::Request& req) {
  Shape s;
  for (const auto& [k, v] : req.query.items()) {
    if (k != "$expand") continue;
    std::size_t start = 0;
    while (start <= v.size()) {
      const auto comma = v.find(',', start);
      std::string item = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      const auto l = lower(item);
      if (l == "attributes")
        s.attributes = true;
      else if (l == "assets")
        s.assets = true;
      else if (l == "locations")
        s.locations = true;
      else if (!item.empty())
        throw Error(ErrorCode::invalid_parameter, "$expand takes Attributes, Assets or Locations (got '" + item + "')",
                    "$expand");
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (auto sel = req.query.get("$select"); sel && *sel != "*") {
    std::size_t start = 0;
    while (start <= sel->size()) {
      const auto comma = sel->find(',', start);
      std::string item = sel->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      if (item == "Geofootprint") item = "GeoFootprint";  // as CDSE's documentation spells it
      if (std::find(selectable().begin(), selectable().end(), item) == selectable().end()) {
        throw Error(ErrorCode::invalid_parameter,
                    "$select: unknown property '" + item +
                        "'; selectable: Id, Name, ContentType, ContentLength, "
                        "OriginDate, PublicationDate, ModificationDate, Online, EvictionDate, S3Path, Checksum, "
                        "ContentDate, Footprint, GeoFootprint",
                    "$select");
      }
      s.select.insert(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return s;
}

std::string context_of(const std::string& set, const Shape& s, bool entity) {
  std::string expand;
  for (const auto& [on, name] : {std::pair{s.attributes, "Attributes()"}, std::pair{s.locations, "Locations()"},
                                 std::pair{s.assets, "Assets()"}}) {
    if (!on) continue;
    if (!expand.empty()) expand += ",";
    expand += name;
  }
  return "$metadata#" + set + (expand.empty() ? "" : "(" + expand + ")") + (entity ? "/$entity" : "");
}

json attribute_entry(const catalog::Attribute& a) {
  const std::string type = catalog::attribute_type_name(a.type());
  json value;
  if (std::holds_alternative<catalog::Time>(a.value)) {
    value = common::format_micros(std::get<catalog::Time>(a.value));
  } else {
    value = common::attribute_json(a.value);
  }
  return {{"@odata.type", "#OData.CSC." + type + "Attribute"}, {"Name", a.name}, {"Value", value}, {"ValueType", type}};
}

json product_json(const catalog::Product& p, const Shape& s, const std::string& base) {
  auto want = [&](const char* name) { return s.select.empty() || s.select.count(name) > 0; };
  json j = json::object();
  j["@odata.mediaContentType"] = "application/octet-stream";
  j["Id"] = p.id;
  if (want("Name")) j["Name"] = p.name;
  if (want("ContentType")) j["ContentType"] = "application/octet-stream";
  if (want("ContentLength")) j["ContentLength"] = p.content_length;
  if (want("OriginDate")) j["OriginDate"] = common::format_micros(p.origin.value_or(p.publication));
  if (want("PublicationDate")) j["PublicationDate"] = common::format_micros(p.publication);
  if (want("ModificationDate")) j["ModificationDate"] = common::format_micros(p.modification);
  if (want("Online")) j["Online"] = p.online;
  if (want("EvictionDate")) {
    j["EvictionDate"] = p.eviction ? common::format_micros(*p.eviction) : "9999-12-31T23:59:59.999999Z";
  }
  if (want("S3Path")) j["S3Path"] = "/" + p.bucket + "/" + p.key;
  if (want("Checksum")) {
    json cs = json::array();
    for (const auto& c : p.checksums) {
      cs.push_back(
          {{"Value", c.value}, {"Algorithm", c.algorithm}, {"ChecksumDate", common::format_micros(p.publication)}});
    }
    j["Checksum"] = cs;
  }
  if (want("ContentDate")) {
    j["ContentDate"] = {{"Start", common::format_micros(p.sensing_start)},
                        {"End", common::format_micros(p.sensing_end)}};
  }
  if (want("Footprint") || want("GeoFootprint")) {
    const auto g = Geometry::from_wkt(p.footprint_wkt, "footprint");
    if (want("Footprint")) j["Footprint"] = "geography'SRID=4326;" + g.to_wkt() + "'";
    if (want("GeoFootprint")) j["GeoFootprint"] = json::parse(g.to_geojson());
  }
  if (s.attributes) {
    json attrs = json::array();
    for (const auto& a : p.attributes) attrs.push_back(attribute_entry(a));
    j["Attributes"] = attrs;
  }
  if (s.assets) {
    json assets = json::array();
    if (const auto* ql = common::quicklook_asset(p)) {
      assets.push_back(
          {{"Type", "QUICKLOOK"},
           {"Id", p.id},
           {"DownloadLink", common::quicklook_url(base, p)},
           {"S3Path", ql->path.front() == '/' ? ql->path : "/" + p.bucket + "/" + p.key + "/" + ql->path}});
    }
    j["Assets"] = assets;
  }
  if (s.locations) {
    json cs = json::array();
    for (const auto& c : p.checksums) {
      cs.push_back(
          {{"Value", c.value}, {"Algorithm", c.algorithm}, {"ChecksumDate", common::format_micros(p.publication)}});
    }
    j["Locations"] = json::array({{{"FormatType", "Extracted"},
                                   {"DownloadLink", common::product_download_url(base, p)},
                                   {"ContentLength", p.content_length},
                                   {"Checksum", cs},
                                   {"S3Path", "/" + p.bucket + "/" + p.key}}});
  }
  return j;
}

// The query string of the next page: every option as the client sent it, $skip advanced, encoded
// as CDSE does (%24 for '$', '+' for spaces).
std::string next_link(const http::Request& req, std::size_t next_skip) {
  std::string q;
  auto add = [&](const std::string& k, const std::string& v) {
    if (!q.empty()) q += "&";
    std::string ev = http::url_encode(v);
    q += http::url_encode(k) + "=" + ev;
  };
  for (const auto& [k, v] : req.query.items()) {
    if (k == "$skip" || k == "token") continue;
    add(k, v);
  }
  add("$skip", std::to_string(next_skip));
  return req.base_url + req.path + "?" + q;
}

class ODataApi {
 public:
  explicit ODataApi(const Services& s) : s_(s) {}

  http::Response products(http::Request& req) {
    const Shape shape = shape_of(req);
    catalog::Query q;
    if (auto f = req.query.get("$filter"); f && !f->empty()) q.where = parse_filter(*f, s_.collections);
    if (auto o = req.query.get("$orderby"); o && !o->empty()) q.sort = parse_orderby(*o);
    const std::size_t top = count_option(req, "$top", kDefaultTop, kMaxTop);
    const std::size_t skip = count_option(req, "$skip", 0, kMaxSkip);
    q.limit = top + 1;  // one more tells whether a next page exists
    q.offset = skip;
    const bool count = flag_option(req, "$count");
    if (count) {
      q.count = catalog::CountMode::exact;
      q.count_limit = s_.config.catalog_count_limit;
    }
    auto result = s_.catalog->search(q);
    const bool more = result.products.size() > top;
    if (more) result.products.resize(top);
    json body = json::object();
    body["@odata.context"] = context_of("Products", shape, false);
    if (count) {
      body["@odata.count"] = *result.total;
      if (!result.total_exact) body["@Dataspace.countIsLowerBound"] = true;
    }
    json value = json::array();
    for (const auto& p : result.products) value.push_back(product_json(p, shape, req.base_url));
    body["value"] = std::move(value);
    if (more && top > 0 && skip + top <= kMaxSkip) body["@odata.nextLink"] = next_link(req, skip + top);
    return http::Response::json(body);
  }

  http::Response product(http::Request& req) {
    const std::string id = req.param("id");
    if (!std::regex_match(id, uuid_pattern())) {
      throw Error(ErrorCode::not_found, "Products(" + id + "): not a product id (a UUID)", "Id");
    }
    const Shape shape = shape_of(req);
    auto p = s_.catalog->get(lower(id));
    if (!p) throw Error(ErrorCode::not_found, "no product with Id " + id, "Id");
    json body = product_json(*p, shape, req.base_url);
    json out = {{"@odata.context", context_of("Products", shape, true)}};
    out.update(body);
    return http::Response::json(out);
  }

  http::Response filter_list(http::Request& req) {
    json doc;
    try {
      doc = json::parse(req.body);
    } catch (const json::parse_error& e) {
      throw Error(ErrorCode::bad_request, std::string("the body is not JSON: ") + e.what(), "FilterProducts");
    }
    if (!doc.is_object() || !doc.contains("FilterProducts") || !doc["FilterProducts"].is_array()) {
      throw Error(ErrorCode::invalid_parameter, R"(the body must be {"FilterProducts": [{"Name": "..."}, ...]})",
                  "FilterProducts");
    }
    const auto& list = doc["FilterProducts"];
    if (list.size() > kMaxTop) {
      throw Error(ErrorCode::invalid_parameter, fmt::format("FilterProducts holds at most {} names", kMaxTop),
                  "FilterProducts");
    }
    std::vector<catalog::AttributeValue> names;
    for (const auto& item : list) {
      if (!item.is_object() || !item.contains("Name") || !item["Name"].is_string()) {
        throw Error(ErrorCode::invalid_parameter, R"(each FilterProducts entry is {"Name": "<product name>"})",
                    "FilterProducts");
      }
      names.emplace_back(item["Name"].get<std::string>());
    }
    const Shape shape = shape_of(req);
    json value = json::array();
    if (!names.empty()) {
      catalog::Query q;
      q.where = catalog::in(catalog::Field::name, std::move(names));
      q.limit = kMaxTop;
      for (const auto& p : s_.catalog->search(q).products) value.push_back(product_json(p, shape, req.base_url));
    }
    return http::Response::json({{"@odata.context", context_of("Products", shape, false)}, {"value", value}});
  }

  static json attribute_list(const std::vector<const catalog::Collection*>& collections) {
    json out = json::array();
    std::set<std::string> seen;
    for (const auto* c : collections) {
      for (const auto& q : c->queryables) {
        if (!seen.insert(q.name).second) continue;
        out.push_back({{"Name", q.name}, {"ValueType", catalog::attribute_type_name(q.type)}});
      }
    }
    return out;
  }

  http::Response attributes(http::Request&) {
    json out = json::object();
    for (const auto& m : s_.collections->missions()) out[m] = attribute_list(s_.collections->of_mission(m));
    return http::Response::json(out);
  }

  http::Response attributes_of(http::Request& req) {
    std::string name = req.param("name");
    if (name.size() >= 2 && name.front() == '\'' && name.back() == '\'') name = name.substr(1, name.size() - 2);
    const auto list = s_.collections->of_mission(name);
    if (list.empty()) {
      throw Error(ErrorCode::not_found, "no collection named '" + name + "'; see /odata/v1/Collections", "Collection");
    }
    return http::Response::json(attribute_list(list));
  }

  http::Response collections(http::Request& req) {
    json value = json::array();
    for (const auto& m : s_.collections->missions()) {
      json types = json::array(), ids = json::array();
      std::string description;
      for (const auto* c : s_.collections->of_mission(m)) {
        for (const auto& t : c->product_types) types.push_back(t);
        ids.push_back(c->id);
        if (description.empty()) description = c->description;
      }
      value.push_back({{"Name", m},
                       {"Description", description},
                       {"ProductTypes", types},
                       {"StacCollections", ids},
                       {"AttributesLink", req.base_url + "/odata/v1/Attributes(" + m + ")"}});
    }
    return http::Response::json({{"@odata.context", "$metadata#Collections"}, {"value", value}});
  }

  http::Response deleted(http::Request& req) {
    const std::size_t top = count_option(req, "$top", kDefaultTop, kMaxTop);
    const std::size_t skip = count_option(req, "$skip", 0, kMaxSkip);
    // Deleted products are few; the filter is applied to the remembered list here. It accepts
    // Name, Id, DeletionDate and DeletionCause comparisons joined with and.
    auto all = s_.catalog->deleted(kMaxSkip + kMaxTop, 0);
    if (auto f = req.query.get("$filter"); f && !f->empty()) all = filter_deleted(std::move(all), *f);
    bool newest_first = false;
    if (auto o = req.query.get("$orderby"); o && !o->empty()) {
      const auto l = lower(*o);
      if (l.rfind("deletiondate", 0) != 0) {
        throw Error(ErrorCode::invalid_parameter, "DeletedProducts sort by DeletionDate [asc|desc]", "$orderby");
      }
      newest_first = l.find("desc") != std::string::npos;
    }
    std::stable_sort(all.begin(), all.end(), [&](const auto& a, const auto& b) {
      return newest_first ? a.deleted > b.deleted : a.deleted < b.deleted;
    });
    json value = json::array();
    for (std::size_t i = skip; i < all.size() && i < skip + top; ++i) {
      value.push_back({{"Id", all[i].id},
                       {"Name", all[i].name},
                       {"DeletionDate", common::format_micros(all[i].deleted)},
                       {"DeletionCause", all[i].cause}});
    }
    json body = {{"@odata.context", "$metadata#DeletedProducts"}};
    if (flag_option(req, "$count")) body["@odata.count"] = all.size();
    body["value"] = value;
    if (skip + top < all.size() && skip + top <= kMaxSkip) body["@odata.nextLink"] = next_link(req, skip + top);
    return http::Response::json(body);
  }

  static std::vector<catalog::DeletedProduct> filter_deleted(std::vector<catalog::DeletedProduct> all,
                                                             const std::string& filter) {
    static const std::regex clause(
        R"(^\s*(Name|Id|DeletionDate|DeletionCause)\s+(eq|ne|lt|le|gt|ge)\s+('([^']*)'|\S+)\s*$)");
    std::vector<std::string> parts;
    std::string rest = filter;
    static const std::regex and_sep(R"(\s+and\s+)");
    std::sregex_token_iterator it(rest.begin(), rest.end(), and_sep, -1), end;
    for (; it != end; ++it) parts.push_back(*it);
    for (const auto& part : parts) {
      std::smatch m;
      if (!std::regex_match(part, m, clause)) {
        throw Error(ErrorCode::invalid_parameter,
                    "DeletedProducts $filter accepts Name, Id, DeletionDate and DeletionCause comparisons joined with "
                    "and (got '" +
                        part + "')",
                    "$filter");
      }
      const std::string prop = m[1], op = m[2], value = m[4].matched ? m[4].str() : m[3].str();
      std::optional<catalog::Time> t;
      if (prop == "DeletionDate") {
        t = parse_iso8601(value);
        if (!t)
          throw Error(ErrorCode::invalid_parameter, "DeletionDate needs a date-time (got '" + value + "')", "$filter");
      }
      auto keep = [&](const catalog::DeletedProduct& d) {
        int c = 0;
        if (t) {
          c = d.deleted < *t ? -1 : d.deleted > *t ? 1 : 0;
        } else {
          const std::string& field = prop == "Name" ? d.name : prop == "Id" ? d.id : d.cause;
          c = field.compare(value);
          c = c < 0 ? -1 : c > 0 ? 1 : 0;
        }
        return op == "eq"   ? c == 0
               : op == "ne" ? c != 0
               : op == "lt" ? c < 0
               : op == "le" ? c <= 0
               : op == "gt" ? c > 0
                            : c >= 0;
      };
      std::erase_if(all, [&](const auto& d) { return !keep(d); });
    }
    return all;
  }

  http::Response asset_value(http::Request& req) {
    const std::string id = req.param("id");
    if (!std::regex_match(id, uuid_pattern()))
      throw Error(ErrorCode::not_found, "Assets(" + id + "): not an asset id", "Id");
    const auto p = s_.catalog->get(lower(id));
    const auto* ql = p ? common::quicklook_asset(*p) : nullptr;
    if (!ql) throw Error(ErrorCode::not_found, "no asset with Id " + id, "Id");
    std::string bucket = p->bucket, key = p->key + "/" + ql->path;
    if (!ql->path.empty() && ql->path.front() == '/') {
      const auto slash = ql->path.find('/', 1);
      bucket = ql->path.substr(1, slash - 1);
      key = ql->path.substr(slash + 1);
    }
    auto object = s_.objects->open(bucket, key);
    if (!object) throw Error(ErrorCode::not_found, "the quicklook of " + p->name + " is missing from the store", "Id");
    http::Representation rep;
    rep.content_type = ql->media_type.empty() ? "application/octet-stream" : ql->media_type;
    rep.etag = object->info().etag;
    rep.last_modified = object->info().modified;
    auto res = http::ranged_response(req, common::object_source(std::move(object)), rep);
    res.headers.set("Cache-Control", "public, max-age=86400");
    return res;
  }

 private:
  const Services& s_;
};

// OData JSON errors: {"error": {"code", "message", "target", "details", "innererror": {request_id}}};
// the FastAPI shape for the 422s CDSE answers that way.
http::Response render_error(const Error& e, const http::Request& req) {
  if (e.details().contains("fastapi")) {
    return http::Response::json({{"detail", e.details()["fastapi"]}}, http_status(e.code()));
  }
  json error = {{"code", std::string(error_info(e.code()).id)}, {"message", e.message()}};
  if (!e.parameter().empty()) error["target"] = e.parameter();
  if (!e.details().empty()) {
    json d = e.details();
    error["details"] = json::array({d});
  }
  error["innererror"] = {{"request_id", req.ctx.request_id}};
  return http::Response::json({{"error", error}}, http_status(e.code()));
}

}  // namespace

void register_routes(http::Router& router, const Services& services) {
  auto api = std::make_shared<ODataApi>(services);
  const auto f = http::ErrorFormat::odata;
  router.set_prefix_error_format("/odata", f);
  router.error_renderers().set(f, render_error);
  router.add_link({"odata", "/odata/v1/Products", "OData catalogue (CDSE-compatible)"});
  router.get(
      "/odata/v1",
      [](http::Request& req) {
        json sets = json::array();
        for (const char* name : {"Products", "DeletedProducts", "Collections", "Attributes"}) {
          sets.push_back({{"name", name}, {"kind", "EntitySet"}, {"url", name}});
        }
        return http::Response::json({{"@odata.context", req.base_url + "/odata/v1/$metadata"}, {"value", sets}});
      },
      f);
  router.get(
      "/odata/v1/Products", [api](http::Request& r) { return api->products(r); }, f);
  router.get(
      "/odata/v1/Products({id})", [api](http::Request& r) { return api->product(r); }, f);
  router.post(
      "/odata/v1/Products/OData.CSC.FilterList", [api](http::Request& r) { return api->filter_list(r); }, f);
  router.get(
      "/odata/v1/Attributes", [api](http::Request& r) { return api->attributes(r); }, f);
  router.get(
      "/odata/v1/Attributes({name})", [api](http::Request& r) { return api->attributes_of(r); }, f);
  router.get(
      "/odata/v1/Collections", [api](http::Request& r) { return api->collections(r); }, f);
  router.get(
      "/odata/v1/DeletedProducts", [api](http::Request& r) { return api->deleted(r); }, f);
  router.get(
      "/odata/v1/Assets({id})/$value", [api](http::Request& r) { return api->asset_value(r); }, f);
  router.get(
      "/odata/v1/$metadata", [](http::Request&) { return http::Response::text(metadata_xml(), "application/xml"); }, f);
}

}  // namespace ds::api::odata
