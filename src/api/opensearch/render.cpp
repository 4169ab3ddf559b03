#include "api/opensearch/render.hpp"

#include <chrono>

#include <fmt/format.h>

#include "api/common/catalog.hpp"
#include "core/geometry.hpp"
#include "core/text.hpp"
#include "core/time.hpp"

namespace ds::api::opensearch {
namespace {

const catalog::Attribute* attr(const catalog::Product& p, const char* name) { return p.attribute(name); }

nlohmann::json attr_or_null(const catalog::Product& p, const char* name) {
  const auto* a = attr(p, name);
  return a ? common::attribute_json(a->value) : nlohmann::json(nullptr);
}

std::string attr_text(const catalog::Product& p, const char* name) {
  const auto* a = attr(p, name);
  if (!a) return {};
  if (const auto* s = std::get_if<std::string>(&a->value)) return *s;
  return common::attribute_json(a->value).dump();
}

// "S1A", "S2B", "S5P" for Sentinels (as resto writes them), else the platform short name.
nlohmann::json platform_of(const catalog::Product& p) {
  const std::string shortname = attr_text(p, "platformShortName");
  const std::string serial = attr_text(p, "platformSerialIdentifier");
  std::string mission = p.collection;
  if (mission.rfind("SENTINEL-", 0) == 0) {
    const std::string number = mission.substr(9);
    return "S" + number + (serial == number ? "" : serial);
  }
  if (!shortname.empty()) return shortname;
  return nullptr;
}

nlohmann::json orbit_direction(const catalog::Product& p) {
  std::string d = attr_text(p, "orbitDirection");
  if (d.empty()) return nullptr;
  for (char& c : d) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (d == "A") return "ASCENDING";
  if (d == "D") return "DESCENDING";
  return d;
}

// "VV, VH" (as the product writes it) -> "VV&VH" (as resto writes it).
std::string polarisation(std::string v) {
  std::string out, cur;
  for (char c : v + ",") {
    if (c == '&' || c == ',' || c == ' ' || c == '+' || c == '/') {
      if (!cur.empty()) out += (out.empty() ? "" : "&") + cur;
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

// processingBaseline is a number in resto ("04.00" -> 4.0); other spellings stay text.
nlohmann::json baseline(const std::string& text) {
  if (text.empty()) return nullptr;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end && *end == '\0') return v;
  return text;
}

std::string feature_href(const std::string& base, const catalog::Product& p) {
  return base + "/resto/collections/" + p.collection + "/" + p.id + ".json";
}

nlohmann::json geometry_json(const catalog::Product& p) {
  if (p.footprint_wkt.empty()) return nullptr;
  try {
    return nlohmann::json::parse(Geometry::from_wkt(p.footprint_wkt, "footprint").to_geojson());
  } catch (const std::exception&) {
    return nullptr;
  }
}

std::string page_href(const std::string& base, const std::string& path, const std::string& raw_query,
                      std::size_t page) {
  std::string q;
  std::size_t start = 0;
  while (start <= raw_query.size()) {
    const auto amp = raw_query.find('&', start);
    const std::string piece = raw_query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    const std::string key = http::url_decode(piece.substr(0, piece.find('=')), true);
    if (!piece.empty() && key != "page") q += piece + "&";
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return base + path + "?" + q + "page=" + std::to_string(page);
}

nlohmann::json link(const std::string& rel, const std::string& type, const std::string& title,
                    const std::string& href) {
  return {{"rel", rel}, {"type", type}, {"title", title}, {"href", href}};
}

}  // namespace

nlohmann::json feature_json(const std::string& base, const catalog::Product& p,
                            const catalog::CollectionRegistry* registry) {
  const catalog::Collection* c = registry ? registry->for_product(p) : nullptr;
  nlohmann::json props;
  props["collection"] = p.collection;
  props["status"] = p.online ? "ONLINE" : "OFFLINE";
  if (c) {
    props["license"] = {{"licenseId", c->license},
                        {"hasToBeSigned", "never"},
                        {"viewService", "public"},
                        {"description", {{"shortName", c->license}, {"url", c->license_url}}}};
  }
  props["parentIdentifier"] = nullptr;
  props["title"] = p.name;
  props["description"] = c ? c->title : p.collection;
  props["organisationName"] = nullptr;
  props["startDate"] = common::format_micros(p.sensing_start);
  props["completionDate"] = common::format_micros(p.sensing_end);
  props["productType"] = p.product_type;
  props["processingLevel"] = attr_or_null(p, "processingLevel");
  props["platform"] = platform_of(p);
  props["instrument"] = attr_or_null(p, "instrumentShortName");
  if (const auto* r = attr(p, "spatialResolution"))
    props["resolution"] = common::attribute_json(r->value);
  else
    props["resolution"] = c && c->gsd ? nlohmann::json(*c->gsd) : nlohmann::json(0);
  props["sensorMode"] = attr_or_null(p, "operationalMode");
  props["orbitNumber"] = attr_or_null(p, "orbitNumber");
  const std::string ql = common::quicklook_url(base, p);
  props["quicklook"] = ql.empty() ? nlohmann::json(nullptr) : nlohmann::json(ql);
  props["thumbnail"] = ql.empty() ? nlohmann::json(nullptr) : nlohmann::json(ql);
  props["updated"] = common::format_micros(p.modification);
  props["published"] = common::format_micros(p.publication);
  if (const auto* a = attr(p, "snowCover")) props["snowCover"] = common::attribute_json(a->value);
  if (const auto* a = attr(p, "cloudCover")) props["cloudCover"] = common::attribute_json(a->value);
  nlohmann::json geometry = geometry_json(p);
  if (!p.footprint_wkt.empty()) {
    try {
      const auto env = Geometry::from_wkt(p.footprint_wkt, "footprint").envelope();
      props["centroid"] = {{"type", "Point"},
                           {"coordinates", {(env.min_x + env.max_x) / 2, (env.min_y + env.max_y) / 2}}};
    } catch (const std::exception&) {
    }
  }
  props["productIdentifier"] = "/" + p.bucket + "/" + p.key;
  if (auto d = orbit_direction(p); !d.is_null()) props["orbitDirection"] = d;
  if (const auto* a = attr(p, "timeliness")) props["timeliness"] = common::attribute_json(a->value);
  if (const auto* a = attr(p, "relativeOrbitNumber")) props["relativeOrbitNumber"] = common::attribute_json(a->value);
  if (attr(p, "processingBaseline")) props["processingBaseline"] = baseline(attr_text(p, "processingBaseline"));
  if (attr(p, "polarisationChannels")) props["polarisation"] = polarisation(attr_text(p, "polarisationChannels"));
  if (const auto* a = attr(p, "swathIdentifier")) props["swath"] = common::attribute_json(a->value);
  if (const auto* a = attr(p, "tileId")) props["tileId"] = common::attribute_json(a->value);
  if (const auto* a = attr(p, "cycleNumber")) props["cycleNumber"] = common::attribute_json(a->value);
  if (const auto* a = attr(p, "processingMode")) props["processingMode"] = common::attribute_json(a->value);

  nlohmann::json download = {{"url", common::product_download_url(base, p)}, {"mimeType", "application/zip"}};
  if (p.content_length > 0) download["size"] = p.content_length;
  if (!p.checksums.empty()) {
    std::string algo = p.checksums.front().algorithm;
    for (char& ch : algo) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    download["checksum"] = algo + "=" + p.checksums.front().value;
  }
  props["services"] = {{"download", download}};
  props["links"] =
      nlohmann::json::array({link("self", "application/json", "GeoJSON link for " + p.id, feature_href(base, p))});
  return {{"type", "Feature"}, {"id", p.id}, {"geometry", geometry}, {"properties", props}};
}

PageLinks page_links(const std::string& base, const std::string& path, const std::string& raw_query,
                     const std::string& describe_href, const Search& s, std::size_t returned, bool has_more,
                     std::optional<std::size_t> exact_total) {
  (void)returned;
  PageLinks l;
  l.self = base + path + (raw_query.empty() ? "" : "?" + raw_query);
  l.search = describe_href;
  if (s.page > 1) {
    l.previous = page_href(base, path, raw_query, s.page - 1);
    l.first = page_href(base, path, raw_query, 1);
  }
  if (has_more && s.page * s.max_records + s.index - 1 <= kMaxSkip)
    l.next = page_href(base, path, raw_query, s.page + 1);
  if (exact_total) {
    const std::size_t before = s.index - 1;
    const std::size_t remaining = *exact_total > before ? *exact_total - before : 0;
    const std::size_t last = std::max<std::size_t>(1, (remaining + s.max_records - 1) / s.max_records);
    if ((last - 1) * s.max_records + before <= kMaxSkip) l.last = page_href(base, path, raw_query, last);
  }
  return l;
}

nlohmann::json feature_collection_json(const std::string& base, const Page& page,
                                       const catalog::CollectionRegistry* registry) {
  const Search& s = *page.search;
  nlohmann::json links = nlohmann::json::array();
  links.push_back(link("self", "application/json", "self", page.links.self));
  links.push_back(
      link("search", "application/opensearchdescription+xml", "OpenSearch Description Document", page.links.search));
  if (page.links.previous) links.push_back(link("previous", "application/json", "previous", *page.links.previous));
  if (page.links.first) links.push_back(link("first", "application/json", "first", *page.links.first));
  if (page.links.next) links.push_back(link("next", "application/json", "next", *page.links.next));
  if (page.links.last) links.push_back(link("last", "application/json", "last", *page.links.last));

  nlohmann::json props = {
      {"id", page.id},
      {"totalResults", page.total ? nlohmann::json(*page.total) : nlohmann::json(nullptr)},
      {"exactCount", s.exact_count ? 1 : 0},
      {"startIndex", s.offset + 1},
      {"itemsPerPage", page.products.size()},
      {"query",
       {{"originalFilters", s.original_filters},
        {"appliedFilters", s.applied_filters},
        {"processingTime", page.processing_time}}},
      {"links", links},
  };
  // Counting stops at a bound: totalResults is then a lower bound, and we say so.
  if (page.total) props["totalResultsExact"] = page.total_exact;
  nlohmann::json features = nlohmann::json::array();
  for (const auto& p : page.products) features.push_back(feature_json(base, p, registry));
  return {{"type", "FeatureCollection"}, {"properties", props}, {"features", features}};
}

std::string atom_feed(const std::string& base, const Page& page, const std::string& title) {
  const Search& s = *page.search;
  std::string x = R"(<?xml version="1.0" encoding="UTF-8"?>)"
                  "\n"
                  R"(<feed xmlns="http://www.w3.org/2005/Atom" xmlns:os="http://a9.com/-/spec/opensearch/1.1/" )"
                  R"(xmlns:georss="http://www.georss.org/georss" xmlns:dc="http://purl.org/dc/elements/1.1/" )"
                  R"(xmlns:eo="http://a9.com/-/opensearch/extensions/eo/1.0/">)"
                  "\n";
  x += "  <title>" + xml_escape(title) + "</title>\n";
  x += "  <subtitle>" + std::to_string(page.products.size()) + " result(s)</subtitle>\n";
  x += "  <id>" + xml_escape(page.links.self) + "</id>\n";
  x += "  <updated>" + format_iso8601(std::chrono::system_clock::now()) + "</updated>\n";
  x += "  <author><name>Dataspace</name></author>\n";
  x += "  <generator>Dataspace resto-compatible OpenSearch</generator>\n";
  if (page.total) x += "  <os:totalResults>" + std::to_string(*page.total) + "</os:totalResults>\n";
  x += "  <os:startIndex>" + std::to_string(s.offset + 1) + "</os:startIndex>\n";
  x += "  <os:itemsPerPage>" + std::to_string(page.products.size()) + "</os:itemsPerPage>\n";
  x += R"(  <os:Query role="request" startPage=")" + std::to_string(s.page) + R"(" count=")" +
       std::to_string(s.max_records) + R"("/>)" + "\n";
  auto add_link = [&](const char* rel, const char* type, const std::string& href) {
    x += fmt::format("  <link rel=\"{}\" type=\"{}\" href=\"{}\"/>\n", rel, type, xml_escape(href));
  };
  add_link("self", "application/atom+xml", page.links.self);
  add_link("search", "application/opensearchdescription+xml", page.links.search);
  if (page.links.previous) add_link("previous", "application/atom+xml", *page.links.previous);
  if (page.links.first) add_link("first", "application/atom+xml", *page.links.first);
  if (page.links.next) add_link("next", "application/atom+xml", *page.links.next);
  if (page.links.last) add_link("last", "application/atom+xml", *page.links.last);
  for (const auto& p : page.products) {
    x += "  <entry>\n";
    x += "    <id>urn:uuid:" + p.id + "</id>\n";
    x += "    <title>" + xml_escape(p.name) + "</title>\n";
    x += "    <updated>" + common::format_micros(p.modification) + "</updated>\n";
    x += "    <published>" + common::format_micros(p.publication) + "</published>\n";
    x += "    <summary>" + xml_escape(p.collection + " " + p.product_type + " " + p.name) + "</summary>\n";
    x += "    <dc:identifier>" + p.id + "</dc:identifier>\n";
    x += "    <dc:date>" + common::format_micros(p.sensing_start) + "/" + common::format_micros(p.sensing_end) +
         "</dc:date>\n";
    x += "    <eo:productType>" + xml_escape(p.product_type) + "</eo:productType>\n";
    x += "    <category term=\"" + xml_escape(p.collection) + "\"/>\n";
    if (!p.footprint_wkt.empty()) {
      try {
        const auto g = Geometry::from_wkt(p.footprint_wkt, "footprint");
        const auto env = g.envelope();
        const auto gj = nlohmann::json::parse(g.to_geojson());
        // GeoRSS simple: the exterior ring of the (first) polygon, "lat lon" pairs.
        const nlohmann::json* ring = nullptr;
        if (gj.value("type", "") == "Polygon" && !gj["coordinates"].empty()) ring = &gj["coordinates"][0];
        if (gj.value("type", "") == "MultiPolygon" && !gj["coordinates"].empty() && !gj["coordinates"][0].empty())
          ring = &gj["coordinates"][0][0];
        if (ring) {
          std::string pts;
          for (const auto& pt : *ring)
            pts += fmt::format("{}{} {}", pts.empty() ? "" : " ", pt[1].get<double>(), pt[0].get<double>());
          x += "    <georss:polygon>" + pts + "</georss:polygon>\n";
        }
        x += fmt::format("    <georss:box>{} {} {} {}</georss:box>\n", env.min_y, env.min_x, env.max_y, env.max_x);
      } catch (const std::exception&) {
      }
    }
    x += fmt::format("    <link rel=\"enclosure\" type=\"application/zip\" title=\"Download\"{} href=\"{}\"/>\n",
                     p.content_length ? fmt::format(" length=\"{}\"", p.content_length) : "",
                     xml_escape(common::product_download_url(base, p)));
    x += "    <link rel=\"alternate\" type=\"application/json\" title=\"GeoJSON\" href=\"" +
         xml_escape(feature_href(base, p)) + "\"/>\n";
    if (const auto ql = common::quicklook_url(base, p); !ql.empty()) {
      const auto* a = common::quicklook_asset(p);
      x += "    <link rel=\"icon\" type=\"" + xml_escape(a && !a->media_type.empty() ? a->media_type : "image/png") +
           "\" title=\"Quicklook\" href=\"" + xml_escape(ql) + "\"/>\n";
    }
    x += "  </entry>\n";
  }
  x += "</feed>\n";
  return x;
}

std::string describe_xml(const std::string& search_base, const std::string& self_href, const std::string& name,
                         const std::string& description, const std::vector<const ParamSpec*>& params) {
  std::string query;
  for (const auto* p : params) query += (query.empty() ? "" : "&") + p->name + "={" + p->os_name + "?}";
  auto parameter_elements = [&] {
    std::string out;
    for (const auto* p : params) {
      out += "    <parameters:Parameter name=\"" + p->name + "\" value=\"{" + p->os_name + "}\"";
      if (p->minimum) out += fmt::format(" minInclusive=\"{}\"", *p->minimum);
      if (p->maximum) out += fmt::format(" maxInclusive=\"{}\"", *p->maximum);
      std::string pattern = p->pattern;
      if (pattern.empty() && p->range) {
        pattern = p->type == ParamType::date ? R"(^[\[\]]?[^,\[\]]*(,[^,\[\]]*[\[\]])?$)"
                                             : R"(^(-?[0-9.]+|[\[\]]-?[0-9.]*,-?[0-9.]*[\[\]])$)";
      }
      if (!pattern.empty()) out += " pattern=\"" + xml_escape(pattern) + "\"";
      out += " title=\"" + xml_escape(p->title) + "\"";
      if (p->options.empty()) {
        out += "/>\n";
      } else {
        out += ">\n";
        for (const auto& o : p->options)
          out += "      <parameters:Option value=\"" + xml_escape(o) + "\" label=\"" + xml_escape(o) + "\"/>\n";
        out += "    </parameters:Parameter>\n";
      }
    }
    return out;
  };
  const std::string short_name = name.empty() ? "Dataspace" : name;
  std::string x = R"(<?xml version="1.0" encoding="UTF-8"?>)"
                  "\n"
                  R"(<OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/" )"
                  R"(xmlns:geo="http://a9.com/-/opensearch/extensions/geo/1.0/" )"
                  R"(xmlns:time="http://a9.com/-/opensearch/extensions/time/1.0/" )"
                  R"(xmlns:eo="http://a9.com/-/opensearch/extensions/eo/1.0/" )"
                  R"(xmlns:parameters="http://a9.com/-/spec/opensearch/extensions/parameters/1.0/" )"
                  R"(xmlns:resto="http://mapshup.info/-/resto/2.0/" xmlns:atom="http://www.w3.org/2005/Atom">)"
                  "\n";
  x += "  <ShortName>" + xml_escape(short_name) + "</ShortName>\n";
  x += "  <Description>" + xml_escape(description) + "</Description>\n";
  x +=
      "  <Tags>" + xml_escape(name.empty() ? std::string("copernicus sentinel") : name) + " earth-observation</Tags>\n";
  x += "  <Contact>operator</Contact>\n";
  for (const auto& [type, ext] : {std::pair{"application/json", ".json"}, std::pair{"application/atom+xml", ".atom"}}) {
    x += std::string("  <Url type=\"") + type + "\" rel=\"results\" template=\"" +
         xml_escape(search_base + ext + "?" + query) + "\">\n";
    x += parameter_elements();
    x += "  </Url>\n";
  }
  x += "  <Url type=\"application/opensearchdescription+xml\" rel=\"self\" template=\"" + xml_escape(self_href) +
       "\"/>\n";
  x += "  <LongName>" + xml_escape(short_name + " catalogue search (resto-compatible OpenSearch)") + "</LongName>\n";
  x += "  <Query role=\"example\" searchTerms=\"\" startPage=\"1\" count=\"20\"/>\n";
  x += "  <Developer>Dataspace</Developer>\n";
  x += "  <Attribution>Contains Copernicus data</Attribution>\n";
  x += "  <SyndicationRight>open</SyndicationRight>\n";
  x += "  <AdultContent>false</AdultContent>\n";
  x += "  <Language>en</Language>\n";
  x += "  <OutputEncoding>UTF-8</OutputEncoding>\n";
  x += "  <InputEncoding>UTF-8</InputEncoding>\n";
  x += "</OpenSearchDescription>\n";
  return x;
}

http::Response error_response(const Error& error, const std::string& request_id) {
  const int status = http_status(error.code());
  const auto& d = error.details();
  nlohmann::json body = {{"ErrorCode", status}};
  if (d.contains("unknown")) {
    body["ErrorMessage"] = "Unknown query parameter(s).";
    body["ErrorDetail"] = {{"loc", d["unknown"]}, {"msg", error.message()}};
  } else {
    std::string message;
    if (d.contains("resto_message"))
      message = d["resto_message"].get<std::string>();
    else if (status == 400)
      message = "Validation error.";
    else
      message = std::string(error_info(error.code()).title) + ".";
    body["ErrorMessage"] = message;
    nlohmann::json loc = nlohmann::json::array();
    if (d.contains("loc"))
      loc = d["loc"];
    else if (!error.parameter().empty())
      loc.push_back(error.parameter());
    body["ErrorDetail"] = nlohmann::json::array({{{"loc", loc}, {"msg", error.message()}}});
  }
  body["RequestID"] = request_id;
  auto res = http::Response::json({{"detail", body}}, status);
  for (const auto& [k, v] : error.headers()) res.headers.set(k, v);
  return res;
}

}  // namespace ds::api::opensearch
