#include "catalog/json.hpp"

#include "core/error.hpp"

namespace ds::catalog {

std::int64_t to_micros(Time t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
Time from_micros(std::int64_t us) {
  return Time(std::chrono::duration_cast<Time::duration>(std::chrono::microseconds(us)));
}

namespace {

nlohmann::json value_json(const AttributeValue& v) {
  switch (v.index()) {
    case 0:
      return std::get<std::string>(v);
    case 1:
      return std::get<std::int64_t>(v);
    case 2:
      return std::get<double>(v);
    case 3:
      return to_micros(std::get<Time>(v));
    default:
      return std::get<bool>(v);
  }
}

AttributeValue value_from(const std::string& type, const nlohmann::json& j) {
  if (type == "String") return j.get<std::string>();
  if (type == "Integer") return j.get<std::int64_t>();
  if (type == "Double") return j.get<double>();
  if (type == "DateTimeOffset") return from_micros(j.get<std::int64_t>());
  if (type == "Boolean") return j.get<bool>();
  throw Error(ErrorCode::internal, "unknown attribute type " + type);
}

}  // namespace

nlohmann::json to_json(const Product& p) {
  nlohmann::json attrs = nlohmann::json::array();
  for (const auto& a : p.attributes) {
    attrs.push_back({{"name", a.name}, {"type", attribute_type_name(a.type())}, {"value", value_json(a.value)}});
  }
  nlohmann::json assets = nlohmann::json::array();
  for (const auto& a : p.assets) {
    nlohmann::json j = {{"key", a.key},     {"path", a.path},   {"media_type", a.media_type},
                        {"roles", a.roles}, {"bands", a.bands}, {"size", a.size},
                        {"title", a.title}};
    if (a.gsd) j["gsd"] = *a.gsd;
    if (a.epsg) j["epsg"] = *a.epsg;
    if (!a.shape.empty()) j["shape"] = a.shape;
    if (!a.transform.empty()) j["transform"] = a.transform;
    if (!a.checksums.empty()) {
      auto& cs = j["checksums"] = nlohmann::json::array();
      for (const auto& c : a.checksums) cs.push_back({{"algorithm", c.algorithm}, {"value", c.value}});
    }
    assets.push_back(std::move(j));
  }
  nlohmann::json checksums = nlohmann::json::array();
  for (const auto& c : p.checksums) checksums.push_back({{"algorithm", c.algorithm}, {"value", c.value}});
  nlohmann::json j = {
      {"id", p.id},
      {"name", p.name},
      {"collection", p.collection},
      {"product_type", p.product_type},
      {"sensing_start", to_micros(p.sensing_start)},
      {"sensing_end", to_micros(p.sensing_end)},
      {"publication", to_micros(p.publication)},
      {"modification", to_micros(p.modification)},
      {"footprint", p.footprint_wkt},
      {"online", p.online},
      {"bucket", p.bucket},
      {"key", p.key},
      {"content_length", p.content_length},
      {"checksums", checksums},
      {"attributes", attrs},
      {"assets", assets},
      {"quicklook", p.quicklook},
  };
  if (p.origin) j["origin"] = to_micros(*p.origin);
  if (p.eviction) j["eviction"] = to_micros(*p.eviction);
  return j;
}

Product product_from_json(const nlohmann::json& j) {
  try {
    Product p;
    p.id = j.at("id").get<std::string>();
    p.name = j.at("name").get<std::string>();
    p.collection = j.at("collection").get<std::string>();
    p.product_type = j.at("product_type").get<std::string>();
    p.sensing_start = from_micros(j.at("sensing_start").get<std::int64_t>());
    p.sensing_end = from_micros(j.at("sensing_end").get<std::int64_t>());
    p.publication = from_micros(j.at("publication").get<std::int64_t>());
    p.modification = from_micros(j.at("modification").get<std::int64_t>());
    if (j.contains("origin")) p.origin = from_micros(j["origin"].get<std::int64_t>());
    if (j.contains("eviction")) p.eviction = from_micros(j["eviction"].get<std::int64_t>());
    p.footprint_wkt = j.at("footprint").get<std::string>();
    p.online = j.at("online").get<bool>();
    p.bucket = j.at("bucket").get<std::string>();
    p.key = j.at("key").get<std::string>();
    p.content_length = j.at("content_length").get<std::uint64_t>();
    for (const auto& c : j.at("checksums")) p.checksums.push_back({c.at("algorithm"), c.at("value")});
    for (const auto& a : j.at("attributes")) {
      p.attributes.push_back(
          {a.at("name").get<std::string>(), value_from(a.at("type").get<std::string>(), a.at("value"))});
    }
    for (const auto& a : j.at("assets")) {
      Asset asset;
      asset.key = a.at("key");
      asset.path = a.at("path");
      asset.media_type = a.at("media_type");
      asset.roles = a.at("roles").get<std::vector<std::string>>();
      asset.bands = a.at("bands").get<std::vector<std::string>>();
      asset.size = a.at("size");
      asset.title = a.at("title");
      if (a.contains("gsd")) asset.gsd = a["gsd"].get<double>();
      if (a.contains("epsg")) asset.epsg = a["epsg"].get<int>();
      if (a.contains("shape")) asset.shape = a["shape"].get<std::vector<std::int64_t>>();
      if (a.contains("transform")) asset.transform = a["transform"].get<std::vector<double>>();
      if (a.contains("checksums")) {
        for (const auto& c : a["checksums"]) asset.checksums.push_back({c.at("algorithm"), c.at("value")});
      }
      p.assets.push_back(std::move(asset));
    }
    p.quicklook = j.at("quicklook");
    return p;
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::internal, std::string("stored product document is malformed: ") + e.what());
  }
}

}  // namespace ds::catalog
