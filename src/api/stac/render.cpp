#include "api/stac/render.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "api/common/catalog.hpp"
#include "api/stac/compile.hpp"
#include "core/error.hpp"
#include "core/geometry.hpp"
#include "http/message.hpp"

namespace ds::api::stac {

using nlohmann::json;

namespace {

const std::map<std::string, std::string>& extension_urls() {
  static const std::map<std::string, std::string> urls = {
      {"eo", "https://stac-extensions.github.io/eo/v2.0.0/schema.json"},
      {"sat", "https://stac-extensions.github.io/sat/v1.1.0/schema.json"},
      {"sar", "https://stac-extensions.github.io/sar/v1.3.0/schema.json"},
      {"grid", "https://stac-extensions.github.io/grid/v1.1.0/schema.json"},
      {"processing", "https://stac-extensions.github.io/processing/v1.2.0/schema.json"},
      {"product", "https://stac-extensions.github.io/product/v1.0.0/schema.json"},
      {"file", "https://stac-extensions.github.io/file/v2.1.0/schema.json"},
      {"raster", "https://stac-extensions.github.io/raster/v2.0.0/schema.json"},
      {"alternate", "https://stac-extensions.github.io/alternate-assets/v1.2.0/schema.json"},
      {"timestamps", "https://stac-extensions.github.io/timestamps/v1.1.0/schema.json"},
      {"proj", "https://stac-extensions.github.io/projection/v1.1.0/schema.json"},
      {"view", "https://stac-extensions.github.io/view/v1.1.0/schema.json"},
  };
  return urls;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string str(const catalog::AttributeValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return common::attribute_json(v).dump();
}

// The prefix ("eo") of a prefixed property name ("eo:cloud_cover"), when we declare its extension.
std::string known_prefix(const std::string& name) {
  const auto colon = name.find(':');
  if (colon == std::string::npos) return {};
  const std::string prefix = name.substr(0, colon);
  return extension_urls().count(prefix) ? prefix : std::string();
}

std::string platform_of(const std::string& short_name, const std::string& serial) {
  const std::string sn = lower(short_name);
  const std::string se = lower(serial);
  if (sn.rfind("sentinel-", 0) == 0 && !se.empty() &&
      (sn.size() < se.size() || sn.substr(sn.size() - se.size()) != se)) {
    return sn + se;
  }
  return sn;
}

// EPSG code of a Sentinel-2 MGRS tile's UTM zone ("32TPS" → 32632), 0 if malformed.
int mgrs_epsg(const std::string& tile) {
  if (tile.size() < 3 || !std::isdigit(static_cast<unsigned char>(tile[0]))) return 0;
  std::size_t i = 0;
  int zone = 0;
  while (i < tile.size() && i < 2 && std::isdigit(static_cast<unsigned char>(tile[i])))
    zone = zone * 10 + (tile[i++] - '0');
  if (zone < 1 || zone > 60 || i >= tile.size()) return 0;
  const char band = static_cast<char>(std::toupper(static_cast<unsigned char>(tile[i])));
  if (band < 'C' || band > 'X' || band == 'I' || band == 'O') return 0;
  return (band >= 'N' ? 32600 : 32700) + zone;
}

std::string data_type(const std::string& sample_type) {
  static const std::set<std::string> ok = {"int8",    "int16",  "int32",  "int64",    "uint8",
                                           "uint16",  "uint32", "uint64", "float16",  "float32",
                                           "float64", "cint16", "cint32", "cfloat32", "cfloat64"};
  const std::string t = lower(sample_type);
  return ok.count(t) ? t : std::string();
}

json band_json(const catalog::Band& b, std::set<std::string>& ext, bool with_raster) {
  json j = {{"name", b.name}};
  if (!b.description.empty()) j["description"] = b.description;
  if (!b.common_name.empty()) j["eo:common_name"] = b.common_name;
  if (b.center_wavelength) j["eo:center_wavelength"] = *b.center_wavelength;
  if (b.full_width_half_max) j["eo:full_width_half_max"] = *b.full_width_half_max;
  if (!b.common_name.empty() || b.center_wavelength || b.full_width_half_max) ext.insert("eo");
  if (!with_raster) return j;
  if (b.nodata) j["nodata"] = *b.nodata;
  if (const auto t = data_type(b.sample_type); !t.empty()) j["data_type"] = t;
  if (b.scale) {
    j["raster:scale"] = *b.scale;
    ext.insert("raster");
  }
  if (b.offset) {
    j["raster:offset"] = *b.offset;
    ext.insert("raster");
  }
  return j;
}

json merged(json a, const json& b) {
  a.update(b);
  return a;
}

json link(const std::string& rel, const std::string& href, const std::string& type, const std::string& title = "") {
  json j = {{"rel", rel}, {"href", href}, {"type", type}};
  if (!title.empty()) j["title"] = title;
  return j;
}

}  // namespace

std::string stac_root(const std::string& base) { return base + "/stac"; }

std::string item_url(const std::string& base, const std::string& collection, const std::string& id) {
  return stac_root(base) + "/collections/" + http::url_encode(collection) + "/items/" + http::url_encode(id);
}

std::string multihash(const std::vector<catalog::Checksum>& checksums) {
  // multihash: varint code, varint digest length, digest.
  static const std::vector<std::pair<std::string, std::string>> kCodes = {
      {"SHA3-256", "1620"}, {"SHA-256", "1220"}, {"SHA256", "1220"}, {"MD5", "d50110"}};
  for (const auto& [algorithm, prefix] : kCodes) {
    for (const auto& c : checksums) {
      if (c.algorithm == algorithm && !c.value.empty()) return prefix + lower(c.value);
    }
  }
  return {};
}

json render_item(const std::string& base, const catalog::Product& p, const catalog::Collection* collection,
                 const std::string& cid) {
  std::set<std::string> ext = {"product", "timestamps", "alternate"};
  json props = json::object();
  props["datetime"] = common::format_micros(p.sensing_start);
  props["start_datetime"] = common::format_micros(p.sensing_start);
  props["end_datetime"] = common::format_micros(p.sensing_end);
  props["created"] = common::format_micros(p.publication);
  props["updated"] = common::format_micros(p.modification);
  props["published"] = common::format_micros(p.publication);
  props["product:type"] = p.product_type;

  std::map<std::string, const catalog::Attribute*> attrs;
  for (const auto& a : p.attributes) attrs[a.name] = &a;
  std::set<std::string> used = {"beginningDateTime", "endingDateTime", "productType"};
  auto take = [&](const std::string& name) -> const catalog::Attribute* {
    const auto it = attrs.find(name);
    if (it == attrs.end()) return nullptr;
    used.insert(name);
    return it->second;
  };
  auto put = [&](const std::string& key, json value) {
    props[key] = std::move(value);
    if (auto prefix = known_prefix(key); !prefix.empty()) ext.insert(prefix);
  };

  const bool sentinel1 = p.collection == "SENTINEL-1";
  if (const auto* sn = take("platformShortName")) {
    const auto* serial = take("platformSerialIdentifier");
    put("platform", platform_of(str(sn->value), serial ? str(serial->value) : ""));
    put("constellation",
        collection && !collection->constellation.empty() ? collection->constellation : lower(str(sn->value)));
  }
  if (const auto* a = take("instrumentShortName")) put("instruments", json::array({lower(str(a->value))}));
  if (collection && collection->gsd) put("gsd", *collection->gsd);
  if (const auto* a = take("cloudCover")) put("eo:cloud_cover", common::attribute_json(a->value));
  if (const auto* a = take("orbitDirection")) {
    std::string v = lower(str(a->value));
    if (v == "a") v = "ascending";
    if (v == "d") v = "descending";
    if (v == "ascending" || v == "descending" || v == "geostationary") put("sat:orbit_state", v);
  }
  if (const auto* a = take("relativeOrbitNumber")) put("sat:relative_orbit", common::attribute_json(a->value));
  if (const auto* a = take("orbitNumber")) put("sat:absolute_orbit", common::attribute_json(a->value));
  if (const auto* a = take("platformIdentifier")) put("sat:platform_international_designator", str(a->value));
  if (const auto* a = take("tileId")) {
    const std::string tile = str(a->value);
    put("grid:code", "MGRS-" + tile);
    if (const int epsg = mgrs_epsg(tile)) put("proj:epsg", epsg);
  }
  if (const auto* a = take("processingLevel")) put("processing:level", str(a->value));
  if (const auto* a = take("processingBaseline")) put("processing:version", str(a->value));
  if (const auto* a = take("processingDate")) put("processing:datetime", common::attribute_json(a->value));
  if (const auto* a = take("processingCenter")) put("processing:facility", str(a->value));
  if (const auto* a = take("processorName")) {
    const auto* v = take("processorVersion");
    put("processing:software", json{{str(a->value), v ? str(v->value) : std::string()}});
  }
  if (sentinel1) {
    if (const auto* a = take("operationalMode")) put("sar:instrument_mode", str(a->value));
    if (const auto* a = take("polarisationChannels")) {
      json pols = json::array();
      std::string v = str(a->value);
      std::size_t start = 0;
      while (start <= v.size()) {
        auto comma = v.find(',', start);
        std::string part = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        part.erase(0, part.find_first_not_of(' '));
        part.erase(part.find_last_not_of(' ') + 1);
        if (!part.empty()) pols.push_back(part);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      put("sar:polarizations", pols);
    }
    if (props.contains("sar:instrument_mode")) {
      put("sar:frequency_band", "C");
      put("sar:center_frequency", 5.405);
      if (p.product_type.size() >= 6) put("sar:product_type", p.product_type.substr(3, 3));
    }
  }
  // The rest: under their STAC name when the collection gives one whose extension we declare,
  // else under the CDSE attribute name.
  for (const auto& a : p.attributes) {
    if (used.count(a.name)) continue;
    std::string key = a.name;
    if (collection) {
      if (const auto* q = collection->queryable(a.name);
          q && !q->stac.empty() && !known_prefix(q->stac).empty() && !props.contains(q->stac) &&
          q->stac != "product:timeliness_category") {  // it needs product:timeliness, which CDSE lacks
        key = q->stac;
      }
    }
    if (props.contains(key)) continue;
    put(key, common::attribute_json(a.value));
  }

  // Assets.
  json assets = json::object();
  bool files = false;
  for (const auto& a : p.assets) {
    const bool quicklook = a.key == p.quicklook;
    json j = {{"href", common::asset_url(base, p, a)}};
    if (!a.media_type.empty()) j["type"] = a.media_type;
    if (!a.title.empty()) j["title"] = a.title;
    json roles = a.roles.empty() ? json::array() : json(a.roles);
    if (quicklook && std::find(a.roles.begin(), a.roles.end(), "thumbnail") == a.roles.end()) {
      roles.push_back("thumbnail");
    }
    if (!roles.empty()) j["roles"] = roles;
    if (a.size > 0) {
      j["file:size"] = a.size;
      files = true;
    }
    if (const auto h = multihash(a.checksums); !h.empty()) {
      j["file:checksum"] = h;
      files = true;
    }
    if (a.gsd) j["gsd"] = *a.gsd;
    if (a.epsg && a.shape.size() == 2 && a.transform.size() == 6) {
      // STAC's transform is the affine row-major order (dx, rx, x0, ry, dy, y0); GDAL's is (x0, dx, rx, y0, ry, dy).
      j["proj:epsg"] = *a.epsg;
      j["proj:shape"] = a.shape;
      j["proj:transform"] = {a.transform[1], a.transform[2], a.transform[0],
                             a.transform[4], a.transform[5], a.transform[3]};
      ext.insert("proj");
    }
    if (!a.bands.empty()) {
      json bands = json::array();
      for (const auto& name : a.bands) {
        const catalog::Band* b = collection ? collection->band(name) : nullptr;
        bands.push_back(b ? band_json(*b, ext, true) : json{{"name", name}});
      }
      j["bands"] = bands;
    }
    j["alternate"] = {{"s3", {{"href", common::s3_href(p, a.path)}, {"alternate:name", "S3"}}}};
    assets[quicklook ? "thumbnail" : a.key] = j;
  }
  json product = {{"href", common::product_download_url(base, p)},
                  {"type", "application/zip"},
                  {"title", "Zipped product"},
                  {"roles", {"data", "metadata", "archive"}},
                  {"alternate", {{"s3", {{"href", common::s3_href(p) + "/"}, {"alternate:name", "S3"}}}}}};
  if (const auto h = multihash(p.checksums); !h.empty()) {
    product["file:checksum"] = h;
    files = true;
  }
  assets["product"] = product;
  if (files) ext.insert("file");

  json geometry = nullptr;
  json bbox;
  try {
    const Geometry g = Geometry::from_wkt(p.footprint_wkt);
    geometry = json::parse(g.to_geojson());
    const auto e = g.envelope();
    bbox = {e.min_x, e.min_y, e.max_x, e.max_y};
  } catch (const std::exception&) {
    geometry = nullptr;  // a footprint the catalogue cannot parse: an item without geometry
  }

  const std::string id = item_id(p.name);
  const std::string coll_url = stac_root(base) + "/collections/" + http::url_encode(cid);
  json links = json::array({
      link("self", item_url(base, cid, id), "application/geo+json"),
      link("parent", coll_url, "application/json"),
      link("collection", coll_url, "application/json"),
      link("root", stac_root(base), "application/json"),
      link("enclosure", common::s3_href(p) + "/", "application/x-directory", "S3 location of the product folder"),
  });

  json extensions = json::array();
  for (const auto& e : ext) extensions.push_back(extension_urls().at(e));
  json item = {{"type", "Feature"}, {"stac_version", kStacVersion}, {"stac_extensions", extensions}, {"id", id},
               {"collection", cid}, {"geometry", geometry}};
  if (!bbox.is_null()) item["bbox"] = bbox;
  item["properties"] = props;
  item["links"] = links;
  item["assets"] = assets;
  return item;
}

json render_collection(const std::string& base, const catalog::Collection& c) {
  std::set<std::string> ext;
  const std::string self = stac_root(base) + "/collections/" + http::url_encode(c.id);
  json summaries = json::object();
  if (!c.platforms.empty()) summaries["platform"] = c.platforms;
  if (!c.constellation.empty()) summaries["constellation"] = json::array({c.constellation});
  if (!c.instruments.empty()) summaries["instruments"] = c.instruments;
  if (c.gsd) summaries["gsd"] = json::array({*c.gsd});
  if (!c.product_types.empty()) {
    summaries["product:type"] = c.product_types;
    ext.insert("product");
  }
  json bands = json::array();
  json item_assets = json::object();
  for (const auto& b : c.bands) {
    bands.push_back(band_json(b, ext, false));
    if (b.asset.empty()) continue;
    auto& entry = item_assets[b.asset];
    if (entry.is_null()) entry = {{"title", b.asset}, {"roles", {"data"}}, {"bands", json::array()}};
    if (b.resolution > 0) entry["gsd"] = b.resolution;
    entry["bands"].push_back(band_json(b, ext, true));
  }
  if (!bands.empty()) summaries["bands"] = bands;
  for (const auto& [k, v] : c.summaries.items()) summaries[k] = v;

  json providers = json::array();
  if (c.mission.rfind("SENTINEL", 0) == 0) {
    providers.push_back(
        {{"name", "European Space Agency (ESA)"}, {"roles", {"producer", "licensor"}}, {"url", "https://www.esa.int"}});
  }
  providers.push_back({{"name", "Dataspace"}, {"roles", {"host", "processor"}}, {"url", stac_root(base)}});

  json interval = json::array({c.start ? json(common::format_rfc3339(*c.start)) : json(nullptr),
                               c.end ? json(common::format_rfc3339(*c.end)) : json(nullptr)});
  json bbox = c.bbox.size() == 4 ? json(c.bbox) : json({-180, -90, 180, 90});
  json links = json::array({
      link("self", self, "application/json"),
      link("root", stac_root(base), "application/json"),
      link("parent", stac_root(base), "application/json"),
      link("items", self + "/items", "application/geo+json", "Items"),
      link("http://www.opengis.net/def/rel/ogc/1.0/queryables", self + "/queryables", "application/schema+json",
           "Queryables"),
  });
  if (!c.license_url.empty()) links.push_back(link("license", c.license_url, "text/html", "Licence"));
  json extensions = json::array();
  for (const auto& e : ext) extensions.push_back(extension_urls().at(e));
  json out = {
      {"type", "Collection"},
      {"stac_version", kStacVersion},
      {"stac_extensions", extensions},
      {"id", c.id},
      {"title", c.title},
      {"description", c.description.empty() ? c.title : c.description},
      {"keywords", c.keywords},
      {"license", c.license.empty() ? "other" : c.license},
      {"providers", providers},
      {"extent", {{"spatial", {{"bbox", json::array({bbox})}}}, {"temporal", {{"interval", json::array({interval})}}}}},
      {"summaries", summaries},
      {"links", links}};
  if (!item_assets.empty()) out["item_assets"] = item_assets;
  return out;
}

json render_queryables(const std::string& base, const catalog::CollectionRegistry* registry,
                       const catalog::Collection* collection) {
  std::vector<const catalog::Collection*> scope;
  if (collection) {
    scope.push_back(collection);
  } else if (registry) {
    for (const auto& c : registry->all()) scope.push_back(&c);
  }
  json props = json::object();
  json ids = json::array();
  std::set<std::string> platforms, types;
  for (const auto* c : scope) {
    ids.push_back(c->id);
    platforms.insert(c->platforms.begin(), c->platforms.end());
    types.insert(c->product_types.begin(), c->product_types.end());
  }
  const json time = {{"type", "string"}, {"format", "date-time"}};
  props["id"] = {{"title", "Item id (product name without .SAFE/.SEN3/.nc)"}, {"type", "string"}};
  props["collection"] = {{"title", "Collection"}, {"type", "string"}, {"enum", ids}};
  props["geometry"] = {{"title", "Footprint"}, {"$ref", "https://geojson.org/schema/Geometry.json"}};
  props["datetime"] = merged({{"title", "Sensing start"}}, time);
  props["start_datetime"] = merged({{"title", "Sensing start"}}, time);
  props["end_datetime"] = merged({{"title", "Sensing end"}}, time);
  props["created"] = merged({{"title", "Catalogue publication"}}, time);
  props["updated"] = merged({{"title", "Last modification"}}, time);
  props["product:type"] = {{"title", "Product type (CDSE productType)"}, {"type", "string"}, {"enum", types}};
  props["platform"] = {{"title", "Platform"}, {"type", "string"}, {"enum", platforms}};
  props["constellation"] = {{"title", "Constellation (platformShortName)"}, {"type", "string"}};
  props["instruments"] = {
      {"title", "Instrument (instrumentShortName)"}, {"type", "array"}, {"items", {{"type", "string"}}}};
  for (const auto* c : scope) {
    for (const auto& q : c->queryables) {
      const std::string key = q.stac.empty() ? q.name : q.stac;
      if (props.contains(key)) continue;
      json s = {{"title", q.title.empty() ? q.name : q.title}, {"description", "CDSE attribute '" + q.name + "'"}};
      switch (q.type) {
        case catalog::AttributeType::string:
          s["type"] = "string";
          break;
        case catalog::AttributeType::integer:
          s["type"] = "integer";
          break;
        case catalog::AttributeType::double_:
          s["type"] = "number";
          break;
        case catalog::AttributeType::datetime:
          s.update(time);
          break;
        case catalog::AttributeType::boolean:
          s["type"] = "boolean";
          break;
      }
      if (q.minimum) s["minimum"] = *q.minimum;
      if (q.maximum) s["maximum"] = *q.maximum;
      if (!q.values.empty()) s["enum"] = q.values;
      if (key == "sat:orbit_state") s["enum"] = {"ascending", "descending"};
      if (key == "grid:code") s["pattern"] = "^MGRS-[0-9]{1,2}[A-Z]{3}$";
      if (key == "sar:polarizations") {
        s.erase("type");
        s["type"] = "array";
        s["items"] = {{"type", "string"}, {"enum", {"VV", "VH", "HH", "HV"}}};
      }
      props[key] = s;
    }
  }
  const std::string id = collection
                             ? stac_root(base) + "/collections/" + http::url_encode(collection->id) + "/queryables"
                             : stac_root(base) + "/queryables";
  return {{"$schema", "https://json-schema.org/draft/2019-09/schema"},
          {"$id", id},
          {"type", "object"},
          {"title", collection ? "Queryables of " + collection->id : std::string("Queryables of every collection")},
          {"description",
           "Properties accepted by filter (CQL2), query and sortby. CDSE attribute names are accepted as well."},
          {"properties", props},
          {"additionalProperties", false}};
}

}  // namespace ds::api::stac
