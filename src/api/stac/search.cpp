#include "api/stac/search.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "api/common/catalog.hpp"
#include "api/stac/compile.hpp"
#include "api/stac/cql2.hpp"
#include "core/error.hpp"
#include "core/geometry.hpp"

namespace ds::api::stac {

using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& parameter, const std::string& why) {
  throw Error(ErrorCode::invalid_parameter, why, parameter);
}

std::string trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  return s;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    std::string item = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::vector<std::string> string_list(const json& v, const std::string& parameter) {
  if (v.is_string()) return split_list(v.get<std::string>());
  if (!v.is_array()) bad(parameter, parameter + " must be an array of strings");
  std::vector<std::string> out;
  for (const auto& x : v) {
    if (!x.is_string()) bad(parameter, parameter + " must be an array of strings");
    out.push_back(x.get<std::string>());
  }
  return out;
}

std::array<double, 4> bbox_from(const std::vector<double>& v) {
  if (v.size() != 4 && v.size() != 6) bad("bbox", "bbox takes 4 numbers (west,south,east,north) or 6 (with heights)");
  std::array<double, 4> b =
      v.size() == 4 ? std::array<double, 4>{v[0], v[1], v[2], v[3]} : std::array<double, 4>{v[0], v[1], v[3], v[4]};
  Geometry::from_bbox(b[0], b[1], b[2], b[3], "bbox");  // validates ranges and south <= north
  return b;
}

std::size_t parse_limit(long long n) {
  if (n < 1) bad("limit", "limit must be at least 1");
  if (static_cast<unsigned long long>(n) > kSpecMaxLimit) {
    bad("limit", "limit must be at most " + std::to_string(kSpecMaxLimit) + " (pages hold at most " +
                     std::to_string(kMaxLimit) + " items)");
  }
  return static_cast<std::size_t>(n);
}

void set_limit(SearchRequest& r, std::size_t n) {
  r.requested_limit = n;
  r.limit = std::min(n, kMaxLimit);
}

SortSpec sort_spec(std::string s) {
  SortSpec spec;
  // '+' arrives as ' ' when the client did not percent-encode it.
  if (!s.empty() && (s.front() == '+' || s.front() == ' ')) {
    s = s.substr(1);
  } else if (!s.empty() && s.front() == '-') {
    spec.descending = true;
    s = s.substr(1);
  }
  spec.field = trim(s);
  if (spec.field.empty()) bad("sortby", "empty sort field");
  return spec;
}

void fields_from_list(SearchRequest& r, const std::vector<std::string>& items) {
  r.has_fields = true;
  for (auto f : items) {
    if (!f.empty() && f.front() == '-') {
      r.exclude.push_back(f.substr(1));
    } else {
      if (!f.empty() && (f.front() == '+' || f.front() == ' ')) f = f.substr(1);
      r.include.push_back(f);
    }
  }
}

json parse_json_param(const std::string& text, const std::string& parameter) {
  try {
    return json::parse(text);
  } catch (const json::exception&) {
    bad(parameter, parameter + " is not valid JSON");
  }
}

void check_filter_crs(const std::optional<std::string>& crs) {
  if (!crs) return;
  if (*crs != "http://www.opengis.net/def/crs/OGC/1.3/CRS84" &&
      *crs != "https://www.opengis.net/def/crs/OGC/1.3/CRS84" && *crs != "EPSG:4326" && *crs != "CRS84") {
    bad("filter-crs", "only http://www.opengis.net/def/crs/OGC/1.3/CRS84 is supported");
  }
}

json filter_from(const json& filter, const std::string& lang) {
  if (lang == "cql2-text") {
    if (!filter.is_string()) bad("filter", "filter-lang cql2-text expects the filter as a string");
    return parse_cql2_text(filter.get<std::string>());
  }
  if (lang == "cql2-json") {
    if (filter.is_string()) return parse_json_param(filter.get<std::string>(), "filter");
    return filter;
  }
  bad("filter-lang", "filter-lang must be cql2-text or cql2-json");
}

}  // namespace

SearchRequest parse_get(const http::QueryParams& params) {
  SearchRequest r;
  if (auto v = params.get("bbox")) {
    std::vector<double> numbers;
    for (const auto& item : split_list(*v)) {
      char* end = nullptr;
      const double d = std::strtod(item.c_str(), &end);
      if (end != item.c_str() + item.size()) bad("bbox", "bbox value '" + item + "' is not a number");
      numbers.push_back(d);
    }
    r.bbox = bbox_from(numbers);
  }
  if (auto v = params.get("intersects")) r.intersects = parse_json_param(*v, "intersects");
  if (auto v = params.get("datetime")) r.datetime = *v;
  if (auto v = params.get("ids")) r.ids = split_list(*v);
  if (auto v = params.get("collections")) r.collections = split_list(*v);
  if (auto v = params.get("limit")) {
    long long n = 0;
    const std::string t = trim(*v);
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
    if (ec != std::errc() || p != t.data() + t.size()) bad("limit", "limit must be a whole number");
    set_limit(r, parse_limit(n));
  }
  if (auto v = params.get("token")) r.token = *v;
  if (auto v = params.get("sortby")) {
    std::size_t start = 0;
    const std::string s = *v;
    while (start <= s.size()) {
      const auto comma = s.find(',', start);
      const std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!trim(item).empty()) r.sortby.push_back(sort_spec(item));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (auto v = params.get("fields")) fields_from_list(r, split_list(*v));
  check_filter_crs(params.get("filter-crs"));
  if (auto v = params.get("filter")) {
    r.filter = filter_from(json(*v), params.get("filter-lang").value_or("cql2-text"));
  } else if (auto lang = params.get("filter-lang"); lang && *lang != "cql2-text" && *lang != "cql2-json") {
    bad("filter-lang", "filter-lang must be cql2-text or cql2-json");
  }
  if (auto v = params.get("query")) r.query = parse_json_param(*v, "query");
  if (auto v = params.get("q")) r.q = split_list(*v);
  if (r.bbox && r.intersects) bad("intersects", "bbox and intersects cannot be used together");
  return r;
}

SearchRequest parse_post(const json& body) {
  if (!body.is_object()) bad("body", "the search body must be a JSON object");
  SearchRequest r;
  if (body.contains("bbox") && !body["bbox"].is_null()) {
    const auto& b = body["bbox"];
    if (!b.is_array() || !std::all_of(b.begin(), b.end(), [](const json& x) { return x.is_number(); })) {
      bad("bbox", "bbox must be an array of 4 or 6 numbers");
    }
    r.bbox = bbox_from(b.get<std::vector<double>>());
  }
  if (body.contains("intersects") && !body["intersects"].is_null()) {
    if (!body["intersects"].is_object()) bad("intersects", "intersects must be a GeoJSON geometry object");
    r.intersects = body["intersects"];
  }
  if (body.contains("datetime") && !body["datetime"].is_null()) {
    if (!body["datetime"].is_string()) bad("datetime", "datetime must be a string");
    r.datetime = body["datetime"].get<std::string>();
  }
  if (body.contains("ids") && !body["ids"].is_null()) r.ids = string_list(body["ids"], "ids");
  if (body.contains("collections") && !body["collections"].is_null()) {
    r.collections = string_list(body["collections"], "collections");
  }
  if (body.contains("limit") && !body["limit"].is_null()) {
    const auto& l = body["limit"];
    if (!l.is_number_integer()) bad("limit", "limit must be a whole number");
    set_limit(r, parse_limit(l.get<long long>()));
  }
  if (body.contains("token") && !body["token"].is_null()) {
    if (!body["token"].is_string()) bad("token", "token must be a string");
    r.token = body["token"].get<std::string>();
  }
  if (body.contains("sortby") && !body["sortby"].is_null()) {
    const auto& s = body["sortby"];
    if (s.is_string()) {
      for (const auto& item : split_list(s.get<std::string>())) r.sortby.push_back(sort_spec(item));
    } else if (s.is_array()) {
      for (const auto& item : s) {
        if (!item.is_object() || !item.contains("field") || !item["field"].is_string()) {
          bad("sortby", "sortby items are {\"field\": ..., \"direction\": \"asc\"|\"desc\"}");
        }
        SortSpec spec{item["field"].get<std::string>(), false};
        if (item.contains("direction")) {
          const auto& d = item["direction"];
          if (!d.is_string() || (d != "asc" && d != "desc")) bad("sortby", "direction must be \"asc\" or \"desc\"");
          spec.descending = d == "desc";
        }
        r.sortby.push_back(spec);
      }
    } else {
      bad("sortby", "sortby must be an array");
    }
  }
  if (body.contains("fields") && !body["fields"].is_null()) {
    const auto& f = body["fields"];
    if (f.is_string()) {
      fields_from_list(r, split_list(f.get<std::string>()));
    } else if (f.is_object()) {
      r.has_fields = true;
      if (f.contains("include")) r.include = string_list(f["include"], "fields");
      if (f.contains("exclude")) r.exclude = string_list(f["exclude"], "fields");
    } else {
      bad("fields", "fields must be {\"include\": [...], \"exclude\": [...]}");
    }
  }
  if (body.contains("filter-crs") && !body["filter-crs"].is_null()) {
    if (!body["filter-crs"].is_string()) bad("filter-crs", "filter-crs must be a string");
    check_filter_crs(body["filter-crs"].get<std::string>());
  }
  if (body.contains("filter") && !body["filter"].is_null()) {
    std::string lang = "cql2-json";
    if (body.contains("filter-lang")) {
      if (!body["filter-lang"].is_string()) bad("filter-lang", "filter-lang must be a string");
      lang = body["filter-lang"].get<std::string>();
    }
    r.filter = filter_from(body["filter"], lang);
  }
  if (body.contains("query") && !body["query"].is_null()) r.query = body["query"];
  if (body.contains("q") && !body["q"].is_null()) r.q = string_list(body["q"], "q");
  if (r.bbox && r.intersects) bad("intersects", "bbox and intersects cannot be used together");
  return r;
}

namespace {

std::string sort_signature(const std::vector<catalog::SortKey>& sort) {
  std::string s;
  for (const auto& k : sort) {
    s += k.attribute.empty() ? std::string(catalog::field_name(k.field)) : "@" + k.attribute;
    s += k.descending ? "-" : "+";
  }
  return s;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

}  // namespace

SearchPage run_search(const SearchRequest& r, const catalog::CatalogStore& store,
                      const catalog::CollectionRegistry* registry, std::size_t count_limit) {
  std::vector<const catalog::Collection*> scope;
  std::vector<catalog::ExprPtr> parts;
  if (!r.collections.empty()) {
    std::vector<catalog::ExprPtr> any;
    for (const auto& id : r.collections) {
      if (registry) {
        if (const auto* c = registry->find(id)) {
          scope.push_back(c);
        } else {
          for (const auto& m : registry->missions()) {
            if (upper(m) == upper(id)) {
              for (const auto* c2 : registry->of_mission(m)) scope.push_back(c2);
            }
          }
        }
      }
      if (auto e = collection_expr(registry, id)) any.push_back(*e);
    }
    parts.push_back(catalog::any_of(std::move(any)));
  }
  const Vocabulary vocab(registry, scope);
  if (!r.ids.empty()) parts.push_back(item_ids_expr(r.ids));
  if (r.bbox) {
    const auto& b = *r.bbox;
    parts.push_back(
        catalog::spatial(catalog::SpatialOp::intersects, Geometry::from_bbox(b[0], b[1], b[2], b[3], "bbox").to_wkt()));
  }
  if (r.intersects) {
    parts.push_back(catalog::spatial(catalog::SpatialOp::intersects,
                                     Geometry::from_geojson(r.intersects->dump(), "intersects").to_wkt()));
  }
  if (r.datetime) parts.push_back(interval_intersects(parse_datetime_interval(*r.datetime)));
  if (r.filter) parts.push_back(compile_cql2(*r.filter, vocab, "filter"));
  if (r.query) parts.push_back(compile_cql2(query_extension_to_cql2(*r.query), vocab, "query"));
  if (!r.q.empty()) {
    std::vector<catalog::ExprPtr> terms;
    for (const auto& t : r.q) {
      terms.push_back(catalog::match(catalog::Field::name, catalog::TextMatch::contains, t));
      if (upper(t) != t) terms.push_back(catalog::match(catalog::Field::name, catalog::TextMatch::contains, upper(t)));
    }
    parts.push_back(catalog::any_of(std::move(terms)));
  }

  catalog::Query query;
  query.where = parts.empty() ? nullptr : catalog::all_of(std::move(parts));
  for (const auto& s : r.sortby) query.sort.push_back(sort_key(s.field, s.descending, vocab));
  if (query.sort.empty()) query.sort.push_back({catalog::Field::sensing_start, true});
  const bool keyset =
      std::all_of(query.sort.begin(), query.sort.end(), [](const auto& k) { return k.attribute.empty(); });
  const bool has_id = std::any_of(query.sort.begin(), query.sort.end(),
                                  [](const auto& k) { return k.attribute.empty() && k.field == catalog::Field::id; });
  // An explicit id key makes the order total, so a reversed order (for `prev`) is exact too.
  if (keyset && !has_id) query.sort.push_back({catalog::Field::id, false});
  const std::string signature = sort_signature(query.sort);

  bool backwards = false;
  std::size_t offset = 0;
  if (r.token) {
    const json t = common::decode_token(*r.token, "token");
    if (!t.contains("s") || t["s"] != signature) bad("token", "the paging token does not match this query's sortby");
    if (keyset) {
      if (!t.contains("d") || !t["d"].is_string() || !t.contains("c")) bad("token", "malformed paging token");
      backwards = t["d"] == "p";
      auto sort = query.sort;
      if (backwards) {
        for (auto& k : sort) k.descending = !k.descending;
      }
      query.after = common::cursor_from_json(t["c"], sort, "token");
      if (backwards) query.sort = sort;
    } else {
      if (!t.contains("o") || !t["o"].is_number_unsigned()) bad("token", "malformed paging token");
      offset = t["o"].get<std::size_t>();
    }
  }
  query.limit = r.limit + 1;  // one more tells whether there is a further page
  query.offset = offset;
  query.count = catalog::CountMode::exact;
  query.count_limit = count_limit;
  catalog::SearchResult result = store.search(query);

  SearchPage page;
  const bool more = result.products.size() > r.limit;
  if (more) result.products.resize(r.limit);
  if (result.total) {
    if (result.total_exact) {
      page.matched = *result.total;
    } else {
      page.matched_at_least = *result.total;
    }
  }
  if (keyset) {
    if (backwards) {
      std::reverse(result.products.begin(), result.products.end());
      for (auto& k : query.sort) k.descending = !k.descending;  // back to the client's order
    }
    auto reversed = query.sort;
    for (auto& k : reversed) k.descending = !k.descending;
    const bool has_next = backwards ? true : more;
    const bool has_prev = backwards ? more : r.token.has_value();
    if (!result.products.empty()) {
      if (has_next) {
        page.next_token = common::encode_token(
            {{"d", "n"},
             {"s", signature},
             {"c", common::cursor_json(catalog::cursor_after(result.products.back(), query.sort))}});
      }
      if (has_prev) {
        page.prev_token = common::encode_token(
            {{"d", "p"},
             {"s", signature},
             {"c", common::cursor_json(catalog::cursor_after(result.products.front(), reversed))}});
      }
    }
  } else {
    if (more) page.next_token = common::encode_token({{"s", signature}, {"o", offset + r.limit}});
    if (offset > 0)
      page.prev_token = common::encode_token({{"s", signature}, {"o", offset > r.limit ? offset - r.limit : 0}});
  }
  page.products = std::move(result.products);
  return page;
}

namespace {

// Copies `path` (dotted) from `from` into `to`, if present.
void copy_path(const json& from, json& to, const std::string& path) {
  const auto dot = path.find('.');
  const std::string head = path.substr(0, dot);
  if (!from.is_object() || !from.contains(head)) return;
  if (dot == std::string::npos) {
    to[head] = from[head];
    return;
  }
  if (!to.contains(head) || !to[head].is_object()) to[head] = json::object();
  copy_path(from[head], to[head], path.substr(dot + 1));
  if (to[head].empty()) to.erase(head);
}

void erase_path(json& j, const std::string& path) {
  if (!j.is_object()) return;
  const auto dot = path.find('.');
  if (dot == std::string::npos) {
    j.erase(path);
    return;
  }
  const std::string head = path.substr(0, dot);
  if (j.contains(head)) erase_path(j[head], path.substr(dot + 1));
}

}  // namespace

json apply_fields(const json& item, const SearchRequest& r) {
  if (!r.has_fields || (r.include.empty() && r.exclude.empty())) return item;
  json out;
  if (!r.include.empty()) {
    out = json::object();
    for (const char* always : {"type", "stac_version", "id", "collection", "links"}) copy_path(item, out, always);
    for (const auto& p : r.include) copy_path(item, out, p);
  } else {
    out = item;
  }
  for (const auto& p : r.exclude) {
    if (std::find(r.include.begin(), r.include.end(), p) != r.include.end()) continue;  // include wins
    erase_path(out, p);
  }
  return out;
}

}  // namespace ds::api::stac
