#include "api/opensearch/params.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>
#include <set>

#include <fmt/format.h>

#include "api/common/catalog.hpp"
#include "core/error.hpp"
#include "core/geometry.hpp"
#include "core/time.hpp"

namespace ds::api::opensearch {
namespace {

using catalog::CompareOp;
using catalog::ExprPtr;
using catalog::Field;

[[noreturn]] void invalid(const std::string& param, const std::string& message) {
  throw Error(ErrorCode::invalid_parameter, message, param);
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> to_double(std::string_view s) {
  double v = 0;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

const char* type_word(ParamType t) {
  switch (t) {
    case ParamType::integer:
      return "integer";
    case ParamType::number:
      return "number";
    case ParamType::date:
      return "date";
    default:
      return "string";
  }
}

// A typed value for one bound of an attribute test.
catalog::AttributeValue typed_value(const ParamSpec& spec, const std::string& text) {
  if (spec.type == ParamType::integer) {
    if (auto v = to_int(text)) return *v;
  } else if (auto v = to_double(text)) {
    return *v;
  }
  invalid(spec.name, fmt::format("Proper value types for specified attribute query parameters are: '{}'-{}", spec.name,
                                 type_word(spec.type)));
}

double as_number(const catalog::AttributeValue& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}

void check_bounds(const ParamSpec& spec, const catalog::AttributeValue& v) {
  const double x = as_number(v);
  if (spec.minimum && x < *spec.minimum)
    invalid(spec.name, fmt::format("Input should be greater than or equal to {}.", *spec.minimum));
  if (spec.maximum && x > *spec.maximum)
    invalid(spec.name, fmt::format("Input should be less than or equal to {}.", *spec.maximum));
}

struct Range {
  std::optional<std::string> lo, hi;
  bool lo_inclusive = true, hi_inclusive = true;
  bool single = false;
};

// "v", "[a,b]", "]a,b[", "[a,b[", "]a,b]"; an empty bound is open ("[10,]").
Range parse_range(const ParamSpec& spec, const std::string& v) {
  Range r;
  const bool bracketed =
      v.size() >= 2 && (v.front() == '[' || v.front() == ']') && (v.back() == ']' || v.back() == '[');
  if (!bracketed) {
    if (v.find(',') != std::string::npos && spec.range)
      invalid(spec.name, "A range is written [min,max] (inclusive), ]min,max[ (exclusive) or a mix of both.");
    r.single = true;
    r.lo = v;
    return r;
  }
  if (!spec.range) invalid(spec.name, "This parameter does not accept a range.");
  const std::string inner = v.substr(1, v.size() - 2);
  const auto comma = inner.find(',');
  if (comma == std::string::npos || inner.find(',', comma + 1) != std::string::npos)
    invalid(spec.name, "A range is written [min,max] with exactly two bounds.");
  const std::string a = trim(inner.substr(0, comma)), b = trim(inner.substr(comma + 1));
  if (a.empty() && b.empty()) invalid(spec.name, "A range needs at least one bound.");
  if (!a.empty()) r.lo = a;
  if (!b.empty()) r.hi = b;
  r.lo_inclusive = v.front() == '[';
  r.hi_inclusive = v.back() == ']';
  return r;
}

// A date or date-time (RFC 3339, offsets allowed). A '+' sent unencoded arrives as a space: put it back.
struct DateValue {
  catalog::Time time;
  bool date_only = false;
};
DateValue parse_date(const std::string& name, const std::string& text) {
  auto t = parse_iso8601(text);
  std::string fixed = text;
  if (!t) {
    if (const auto sp = fixed.rfind(' '); sp != std::string::npos && sp > 10) {
      fixed[sp] = '+';
      t = parse_iso8601(fixed);
    }
  }
  if (!t)
    invalid(name, "Input should be a valid date or date-time (RFC 3339, e.g. 2022-06-11 or 2022-06-11T10:00:00Z).");
  const bool date_only = fixed.size() == 10 && fixed.find_first_of("Tt ") == std::string::npos;
  return {*t, date_only};
}

constexpr auto kDay = std::chrono::hours(24);

bool looks_like_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

ExprPtr attr_eq(const std::string& attr, std::string value) {
  return catalog::attribute(attr, CompareOp::eq, std::move(value));
}

// The numeric or text test of an attribute parameter (single value or range).
ExprPtr numeric_filter(const ParamSpec& spec, const std::string& value) {
  const Range r = parse_range(spec, value);
  const std::string& attr = spec.attributes.front();
  if (r.single) {
    const auto v = typed_value(spec, *r.lo);
    check_bounds(spec, v);
    return catalog::attribute(attr, CompareOp::eq, v);
  }
  std::vector<ExprPtr> parts;
  std::optional<double> lo, hi;
  if (r.lo) {
    const auto v = typed_value(spec, *r.lo);
    check_bounds(spec, v);
    lo = as_number(v);
    parts.push_back(catalog::attribute(attr, r.lo_inclusive ? CompareOp::ge : CompareOp::gt, v));
  }
  if (r.hi) {
    const auto v = typed_value(spec, *r.hi);
    check_bounds(spec, v);
    hi = as_number(v);
    parts.push_back(catalog::attribute(attr, r.hi_inclusive ? CompareOp::le : CompareOp::lt, v));
  }
  if (lo && hi && *lo > *hi) invalid(spec.name, "The range's minimum must not be greater than its maximum.");
  return parts.size() == 1 ? parts.front() : catalog::all_of(std::move(parts));
}

// A date parameter: single value (on or after) or range; date-only upper bounds include the whole day.
ExprPtr date_filter(const ParamSpec& spec, Field field, const std::string& value, nlohmann::json& applied) {
  const Range r = parse_range(spec, value);
  if (r.single) {
    const auto d = parse_date(spec.name, *r.lo);
    applied[spec.name] = common::format_rfc3339(d.time);
    return catalog::compare(field, CompareOp::ge, d.time);
  }
  std::vector<ExprPtr> parts;
  std::optional<catalog::Time> lo, hi;
  if (r.lo) {
    const auto d = parse_date(spec.name, *r.lo);
    lo = d.time;
    parts.push_back(catalog::compare(field, r.lo_inclusive ? CompareOp::ge : CompareOp::gt, d.time));
  }
  if (r.hi) {
    const auto d = parse_date(spec.name, *r.hi);
    hi = d.time;
    if (d.date_only && r.hi_inclusive)
      parts.push_back(catalog::compare(field, CompareOp::lt, d.time + kDay));
    else
      parts.push_back(catalog::compare(field, r.hi_inclusive ? CompareOp::le : CompareOp::lt, d.time));
  }
  if (lo && hi && *lo > *hi) invalid(spec.name, "The range's start must not be after its end.");
  applied[spec.name] = value;
  return parts.size() == 1 ? parts.front() : catalog::all_of(std::move(parts));
}

// platform=S2A / S5P / SENTINEL-1A / Sentinel-2B, or a platform short name ("TanDEM-X").
ExprPtr platform_filter(const std::string& value) {
  std::string v = upper(value);
  std::string number, serial;
  auto parse_tail = [&](std::string_view rest) {
    std::size_t i = 0;
    while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) ++i;
    if (i == 0) return false;
    number = std::string(rest.substr(0, i));
    rest.remove_prefix(i);
    if (!rest.empty() && rest.front() == 'P' && number == "5") {
      number += "P";
      rest.remove_prefix(1);
    }
    if (rest.size() > 1) return false;
    if (rest.size() == 1 && !(rest.front() >= 'A' && rest.front() <= 'Z')) return false;
    serial = std::string(rest);
    return true;
  };
  bool sentinel = false;
  if (v.rfind("SENTINEL-", 0) == 0)
    sentinel = parse_tail(std::string_view(v).substr(9));
  else if (v.size() >= 2 && v.front() == 'S')
    sentinel = parse_tail(std::string_view(v).substr(1));
  if (!sentinel) return attr_eq("platformShortName", value);
  std::vector<ExprPtr> parts = {catalog::compare(Field::collection, CompareOp::eq, std::string("SENTINEL-" + number))};
  if (!serial.empty()) parts.push_back(attr_eq("platformSerialIdentifier", serial));
  return catalog::all_of(std::move(parts));
}

ExprPtr polarisation_filter(const std::string& value) {
  std::vector<std::string> tokens;
  std::string cur;
  for (char c : upper(value) + ",") {
    if (c == '&' || c == ',' || c == ' ' || c == '+' || c == '/') {
      if (!cur.empty()) tokens.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (tokens.empty()) invalid("polarisation", "Input should be a polarisation such as VV, VH, HH&HV or VV&VH.");
  if (tokens.size() == 1) return attr_eq("polarisationChannels", tokens.front());
  std::vector<ExprPtr> spellings;
  for (const char* sep : {"&", ", ", ",", " ", "+"}) {
    std::string s = tokens.front();
    for (std::size_t i = 1; i < tokens.size(); ++i) s += sep + tokens[i];
    spellings.push_back(attr_eq("polarisationChannels", s));
  }
  return catalog::any_of(std::move(spellings));
}

// Designated initializers name only the fields that matter; the rest keep their defaults.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
std::vector<ParamSpec> build_table() {
  std::vector<ParamSpec> t;
  auto add = [&](ParamSpec s) { t.push_back(std::move(s)); };
  // Paging, sorting, counting.
  add({.name = "maxRecords",
       .os_name = "count",
       .type = ParamType::integer,
       .paging = true,
       .minimum = 1,
       .maximum = static_cast<double>(kMaxRecords),
       .title = "Number of results per page (default 20)"});
  add({.name = "index",
       .os_name = "startIndex",
       .type = ParamType::integer,
       .paging = true,
       .minimum = 1,
       .maximum = static_cast<double>(kMaxIndex),
       .title = "First result, 1-based, on the first page"});
  add({.name = "page",
       .os_name = "startPage",
       .type = ParamType::integer,
       .paging = true,
       .minimum = 1,
       .title = "Page number, 1-based"});
  add({.name = "sortParam",
       .os_name = "resto:sortParam",
       .type = ParamType::choice,
       .paging = true,
       .options = {"startDate", "completionDate", "published", "updated"},
       .title = "Sort key (default startDate)"});
  add({.name = "sortOrder",
       .os_name = "resto:sortOrder",
       .type = ParamType::choice,
       .paging = true,
       .options = {"ascending", "descending"},
       .title = "Sort order (default descending)"});
  add({.name = "exactCount",
       .os_name = "resto:exactCount",
       .type = ParamType::flag,
       .paging = true,
       .options = {"0", "1"},
       .title = "1: compute totalResults and the last link"});
  // Identity, place and time.
  add({.name = "identifier", .os_name = "geo:uid", .title = "Product id (UUID) or name"});
  add({.name = "productIdentifier",
       .os_name = "resto:productIdentifier",
       .title = "Product path, /eodata/<...>/<name>, or name"});
  add({.name = "geometry",
       .os_name = "geo:geometry",
       .type = ParamType::wkt,
       .title = "WKT geometry (WGS84 lon lat) the footprint intersects"});
  add({.name = "box",
       .os_name = "geo:box",
       .type = ParamType::box,
       .pattern = R"(^-?[0-9.]+,-?[0-9.]+,-?[0-9.]+,-?[0-9.]+$)",
       .title = "west,south,east,north (west > east crosses the antimeridian)"});
  add({.name = "lon",
       .os_name = "geo:lon",
       .type = ParamType::number,
       .minimum = -180,
       .maximum = 180,
       .title = "Longitude of a point (with lat)"});
  add({.name = "lat",
       .os_name = "geo:lat",
       .type = ParamType::number,
       .minimum = -90,
       .maximum = 90,
       .title = "Latitude of a point (with lon)"});
  add({.name = "radius",
       .os_name = "geo:radius",
       .type = ParamType::number,
       .minimum = 1,
       .maximum = kMaxRadius,
       .title = "Radius in metres around lon/lat"});
  add({.name = "startDate",
       .os_name = "time:start",
       .type = ParamType::date,
       .title = "Sensing start on or after this date/time"});
  add({.name = "completionDate",
       .os_name = "time:end",
       .type = ParamType::date,
       .title = "Sensing start on or before this date/time (a date includes the whole day)"});
  add({.name = "publishedAfter",
       .os_name = "resto:publishedAfter",
       .type = ParamType::date,
       .title = "Published on or after"});
  add({.name = "publishedBefore",
       .os_name = "resto:publishedBefore",
       .type = ParamType::date,
       .title = "Published on or before"});
  add({.name = "published",
       .os_name = "resto:published",
       .type = ParamType::date,
       .range = true,
       .title = "Published on or after a date, or within [start,end]"});
  add({.name = "updated",
       .os_name = "resto:updated",
       .type = ParamType::date,
       .range = true,
       .title = "Updated on or after a date, or within [start,end]"});
  add({.name = "status",
       .os_name = "resto:status",
       .type = ParamType::choice,
       .options = {"ONLINE", "OFFLINE", "ALL"},
       .title = "Availability"});
  add({.name = "productType", .os_name = "eo:productType", .title = "Product type (comma-separated for several)"});
  // Attributes (offered where a collection lists the attribute as queryable; the first is tested).
  add({.name = "processingLevel",
       .os_name = "eo:processingLevel",
       .attributes = {"processingLevel"},
       .title = "Processing level"});
  add({.name = "platform",
       .os_name = "eo:platform",
       .attributes = {"platformShortName", "platformSerialIdentifier"},
       .title = "Platform: S1A, S2B, S5P, SENTINEL-2A... or its short name"});
  add({.name = "instrument",
       .os_name = "eo:instrument",
       .attributes = {"instrumentShortName"},
       .title = "Instrument short name"});
  add({.name = "sensorMode",
       .os_name = "eo:sensorMode",
       .attributes = {"operationalMode"},
       .title = "Sensor (operational) mode"});
  add({.name = "orbitDirection",
       .os_name = "eo:orbitDirection",
       .type = ParamType::choice,
       .attributes = {"orbitDirection"},
       .options = {"ASCENDING", "DESCENDING"},
       .title = "Orbit direction"});
  add({.name = "orbitNumber",
       .os_name = "eo:orbitNumber",
       .type = ParamType::integer,
       .range = true,
       .attributes = {"orbitNumber"},
       .minimum = 0,
       .title = "Absolute orbit number, or [min,max]"});
  add({.name = "relativeOrbitNumber",
       .os_name = "eo:relativeOrbitNumber",
       .type = ParamType::integer,
       .range = true,
       .attributes = {"relativeOrbitNumber"},
       .minimum = 0,
       .title = "Relative orbit (track), or [min,max]"});
  add({.name = "resolution",
       .os_name = "eo:resolution",
       .type = ParamType::number,
       .range = true,
       .attributes = {"spatialResolution"},
       .minimum = 0,
       .title = "Spatial resolution in metres, or [min,max]"});
  add({.name = "polarisation",
       .os_name = "eo:polarisationChannels",
       .attributes = {"polarisationChannels"},
       .title = "Polarisation: VV, VH, HH, HV, VV&VH, HH&HV"});
  add({.name = "swath",
       .os_name = "eo:swathIdentifier",
       .attributes = {"swathIdentifier"},
       .title = "Swath identifier"});
  add({.name = "timeliness", .os_name = "resto:timeliness", .attributes = {"timeliness"}, .title = "Timeliness"});
  add({.name = "processingBaseline",
       .os_name = "resto:processingBaseline",
       .attributes = {"processingBaseline"},
       .title = "Processing baseline (as the product writes it)"});
  add({.name = "tileId", .os_name = "resto:tileId", .attributes = {"tileId"}, .title = "MGRS tile (e.g. 32TPS)"});
  add({.name = "cloudCover",
       .os_name = "eo:cloudCover",
       .type = ParamType::number,
       .range = true,
       .attributes = {"cloudCover"},
       .minimum = 0,
       .maximum = 100,
       .title = "Cloud cover in percent, or [min,max]"});
  add({.name = "snowCover",
       .os_name = "eo:snowCover",
       .type = ParamType::number,
       .range = true,
       .attributes = {"snowCover", "cloudCover"},
       .minimum = 0,
       .maximum = 100,
       .title = "Snow cover in percent, or [min,max] (only products that carry it)"});
  return t;
}
#pragma GCC diagnostic pop

}  // namespace

const std::vector<ParamSpec>& parameter_table() {
  static const std::vector<ParamSpec> table = build_table();
  return table;
}

std::vector<const ParamSpec*> parameters_for(const catalog::CollectionRegistry& registry, const std::string& mission) {
  std::set<std::string> queryable;
  for (const auto& c : registry.all()) {
    if (!mission.empty() && c.mission != mission) continue;
    for (const auto& q : c.queryables) queryable.insert(q.name);
  }
  std::vector<const ParamSpec*> out;
  for (const auto& p : parameter_table()) {
    bool offered = p.attributes.empty();
    for (const auto& a : p.attributes) offered = offered || queryable.count(a) > 0;
    if (offered) out.push_back(&p);
  }
  return out;
}

std::string resto_name(const std::string& mission) {
  std::string out;
  std::size_t start = 0;
  while (start <= mission.size()) {
    const auto dash = mission.find('-', start);
    std::string part = mission.substr(start, dash == std::string::npos ? std::string::npos : dash - start);
    if (!part.empty() && !std::isdigit(static_cast<unsigned char>(part.front()))) {
      for (std::size_t i = 1; i < part.size(); ++i)
        part[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(part[i])));
    }
    out += part;
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  return out;
}

std::optional<std::string> mission_of(const catalog::CollectionRegistry& registry, const std::string& name) {
  for (const auto& m : registry.missions()) {
    if (name == m || name == resto_name(m)) return m;
  }
  return std::nullopt;
}

std::string circle_wkt(double lon, double lat, double radius) {
  constexpr double kEarth = 6'371'008.8;  // mean radius, metres
  constexpr double deg = std::numbers::pi / 180.0;
  const double d = radius / kEarth;  // angular radius, radians
  const double phi = lat * deg, lam = lon * deg;
  const double d_deg = d / deg;
  auto bbox_fallback = [&] {
    const double south = std::max(-90.0, lat - d_deg), north = std::min(90.0, lat + d_deg);
    if (lat + d_deg >= 90.0 || lat - d_deg <= -90.0)
      return Geometry::from_bbox(-180, south, 180, north, "radius").to_wkt();
    const double span = std::asin(std::min(1.0, std::sin(d) / std::cos(phi))) / deg;
    if (span >= 180.0) return Geometry::from_bbox(-180, south, 180, north, "radius").to_wkt();
    auto wrap = [](double x) { return x > 180 ? x - 360 : (x < -180 ? x + 360 : x); };
    return Geometry::from_bbox(wrap(lon - span), south, wrap(lon + span), north, "radius").to_wkt();
  };
  if (std::abs(lat) + d_deg >= 89.0) return bbox_fallback();
  std::string wkt = "POLYGON((";
  constexpr int n = 64;
  for (int i = 0; i <= n; ++i) {
    const double theta = (i % n) * 2.0 * std::numbers::pi / n;
    const double phi2 = std::asin(std::sin(phi) * std::cos(d) + std::cos(phi) * std::sin(d) * std::cos(theta));
    const double lam2 =
        lam + std::atan2(std::sin(theta) * std::sin(d) * std::cos(phi), std::cos(d) - std::sin(phi) * std::sin(phi2));
    const double x = lam2 / deg, y = phi2 / deg;
    if (x > 180.0 || x < -180.0) return bbox_fallback();
    wkt += fmt::format("{}{:.7f} {:.7f}", i ? "," : "", x, y);
  }
  return wkt + "))";
}

Search parse_search(const http::QueryParams& params, const catalog::CollectionRegistry& registry,
                    const std::string& mission) {
  Search s;
  const auto offered = parameters_for(registry, mission);
  auto spec_of = [&](const std::string& name) -> const ParamSpec* {
    for (const auto* p : offered)
      if (p->name == name) return p;
    return nullptr;
  };

  // Unknown names first (all of them, in request order), then duplicates.
  std::vector<std::string> unknown;
  std::set<std::string> seen;
  for (const auto& [name, value] : params.items()) {
    if (!spec_of(name)) {
      if (std::find(unknown.begin(), unknown.end(), name) == unknown.end()) unknown.push_back(name);
    } else if (!seen.insert(name).second) {
      invalid(name, "The parameter is given more than once.");
    }
  }
  if (!unknown.empty()) {
    Error e(ErrorCode::invalid_parameter,
            mission.empty() ? "Query parameters do not exist."
                            : "Query parameters do not exist or are not available for specified collection.",
            unknown.front());
    e.with_detail("unknown", unknown);
    throw e;
  }

  // Values; an empty value is an optional template parameter left out (OpenSearch clients send them).
  std::map<std::string, std::string> v;
  for (const auto& [name, value] : params.items()) {
    std::string t = trim(value);
    if (!t.empty()) v[name] = t;
  }
  auto get = [&](const std::string& name) -> const std::string* {
    auto it = v.find(name);
    return it == v.end() ? nullptr : &it->second;
  };
  auto paging_int = [&](const std::string& name, std::size_t fallback) -> std::size_t {
    const auto* text = get(name);
    if (!text) return fallback;
    const auto n = to_int(*text);
    if (!n) invalid(name, "Input should be a valid integer.");
    const auto* spec = spec_of(name);
    if (spec->minimum && static_cast<double>(*n) < *spec->minimum)
      invalid(name, fmt::format("Input should be greater than or equal to {}.", *spec->minimum));
    if (spec->maximum && static_cast<double>(*n) > *spec->maximum)
      invalid(name, fmt::format("Input should be less than or equal to {}.", *spec->maximum));
    return static_cast<std::size_t>(*n);
  };

  s.max_records = paging_int("maxRecords", kDefaultMaxRecords);
  s.index = paging_int("index", 1);
  s.page = paging_int("page", 1);
  const bool beyond = s.page - 1 > kMaxSkip || (s.page - 1) * s.max_records + (s.index - 1) > kMaxSkip;
  if (beyond) {
    Error e(ErrorCode::invalid_parameter,
            "The '(page - 1) * maxRecords + index - 1' should be less than 10000. By default, 'maxRecords' is set "
            "to 20, while both 'page' and 'index' are set to 1 if not specified.",
            "page");
    e.with_detail("loc", nlohmann::json::array({"page", "maxRecords", "index"}));
    throw e;
  }
  s.offset = (s.page - 1) * s.max_records + (s.index - 1);

  if (const auto* e = get("exactCount")) {
    if (*e == "1" || lower(*e) == "true")
      s.exact_count = true;
    else if (*e != "0" && lower(*e) != "false")
      invalid("exactCount", "Input should be 0 or 1.");
  }

  catalog::SortKey key;
  key.field = Field::sensing_start;
  key.descending = true;
  if (const auto* p = get("sortParam")) {
    if (*p == "startDate")
      key.field = Field::sensing_start;
    else if (*p == "completionDate")
      key.field = Field::sensing_end;
    else if (*p == "published")
      key.field = Field::publication;
    else if (*p == "updated")
      key.field = Field::modification;
    else
      invalid("sortParam", "Input should be 'startDate', 'completionDate', 'published' or 'updated'.");
  }
  if (const auto* o = get("sortOrder")) {
    const std::string l = lower(*o);
    if (l == "ascending" || l == "asc")
      key.descending = false;
    else if (l == "descending" || l == "desc")
      key.descending = true;
    else
      invalid("sortOrder", "Input should be 'ascending' or 'descending'.");
  }
  s.query.sort = {key};

  std::vector<ExprPtr> where;
  std::optional<catalog::Time> window_start, window_end;  // startDate; the end completionDate allows
  bool end_exclusive = false;
  if (!mission.empty()) {
    where.push_back(catalog::compare(Field::collection, CompareOp::eq, mission));
    s.original_filters["collection"] = mission;
    s.applied_filters["collection"] = mission;
  }

  for (const auto& [name, value] : v) {
    const ParamSpec& spec = *spec_of(name);
    if (spec.paging) continue;
    s.original_filters[name] = value;
    s.applied_filters[name] = value;
    if (name == "identifier") {
      if (looks_like_uuid(value))
        where.push_back(catalog::compare(Field::id, CompareOp::eq, lower(value)));
      else
        where.push_back(catalog::compare(Field::name, CompareOp::eq, value));
    } else if (name == "productIdentifier") {
      std::string path = value;
      while (path.size() > 1 && path.back() == '/') path.pop_back();
      const auto slash = path.rfind('/');
      const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
      if (base.empty()) invalid(name, "Input should be a product path such as /eodata/Sentinel-2/.../<name>.");
      where.push_back(catalog::compare(Field::name, CompareOp::eq, base));
    } else if (name == "geometry") {
      const auto g = Geometry::from_wkt(value, "geometry");
      where.push_back(catalog::spatial(catalog::SpatialOp::intersects, g.to_wkt()));
    } else if (name == "box") {
      std::vector<double> n;
      std::size_t start = 0;
      while (start <= value.size()) {
        const auto comma = value.find(',', start);
        const auto d =
            to_double(trim(value.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
        if (!d) invalid(name, "Input should be four numbers: west,south,east,north.");
        n.push_back(*d);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      if (n.size() != 4) invalid(name, "Input should be four numbers: west,south,east,north.");
      const auto g = Geometry::from_bbox(n[0], n[1], n[2], n[3], "box");
      where.push_back(catalog::spatial(catalog::SpatialOp::intersects, g.to_wkt()));
    } else if (name == "lon" || name == "lat" || name == "radius") {
      continue;  // below, together
    } else if (name == "startDate" || name == "completionDate" || name == "publishedAfter" ||
               name == "publishedBefore") {
      const auto d = parse_date(name, value);
      s.applied_filters[name] = common::format_rfc3339(d.time);
      const bool upper_bound = name == "completionDate" || name == "publishedBefore";
      if (name == "startDate") window_start = d.time;
      if (name == "completionDate") {
        window_end = d.date_only ? d.time + kDay : d.time;
        end_exclusive = d.date_only;
      }
      const Field f = (name == "startDate" || name == "completionDate") ? Field::sensing_start : Field::publication;
      if (!upper_bound)
        where.push_back(catalog::compare(f, CompareOp::ge, d.time));
      else if (d.date_only)
        where.push_back(catalog::compare(f, CompareOp::lt, d.time + kDay));
      else
        where.push_back(catalog::compare(f, CompareOp::le, d.time));
    } else if (name == "published") {
      where.push_back(date_filter(spec, Field::publication, value, s.applied_filters));
    } else if (name == "updated") {
      where.push_back(date_filter(spec, Field::modification, value, s.applied_filters));
    } else if (name == "status") {
      const std::string u = upper(value);
      if (u == "ONLINE")
        where.push_back(catalog::compare(Field::online, CompareOp::eq, true));
      else if (u == "OFFLINE")
        where.push_back(catalog::compare(Field::online, CompareOp::eq, false));
      else if (u != "ALL")
        invalid(name, "Input should be 'ONLINE', 'OFFLINE' or 'ALL'.");
      s.applied_filters[name] = u;
    } else if (name == "productType") {
      std::vector<catalog::AttributeValue> types;
      std::size_t start = 0;
      while (start <= value.size()) {
        const auto comma = value.find(',', start);
        std::string t = trim(value.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (!t.empty()) types.emplace_back(std::move(t));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      if (types.empty()) invalid(name, "Input should be a product type.");
      where.push_back(types.size() == 1 ? catalog::compare(Field::product_type, CompareOp::eq, types.front())
                                        : catalog::in(Field::product_type, std::move(types)));
    } else if (name == "platform") {
      where.push_back(platform_filter(value));
    } else if (name == "orbitDirection") {
      const std::string u = upper(value);
      if (u != "ASCENDING" && u != "DESCENDING") invalid(name, "Input should be 'ASCENDING' or 'DESCENDING'.");
      where.push_back(catalog::any_of({attr_eq("orbitDirection", u), attr_eq("orbitDirection", lower(u)),
                                       attr_eq("orbitDirection", u.substr(0, 1))}));
      s.applied_filters[name] = u;
    } else if (name == "polarisation") {
      where.push_back(polarisation_filter(value));
    } else if (spec.type == ParamType::integer || spec.type == ParamType::number) {
      where.push_back(numeric_filter(spec, value));
    } else if (!spec.attributes.empty()) {
      where.push_back(attr_eq(spec.attributes.front(), value));
    }
  }

  // window_end is exclusive for a date-only completionDate, inclusive otherwise.
  if (window_start && window_end && (*window_start > *window_end || (end_exclusive && *window_start == *window_end))) {
    Error e(ErrorCode::invalid_parameter, "startDate must not be after completionDate.", "startDate");
    e.with_detail("loc", nlohmann::json::array({"startDate", "completionDate"}));
    throw e;
  }

  // lon/lat (a point) and radius (a circle around it, in metres).
  const auto* lon_text = get("lon");
  const auto* lat_text = get("lat");
  const auto* radius_text = get("radius");
  if (lon_text || lat_text || radius_text) {
    if (!lon_text || !lat_text) {
      Error e(ErrorCode::invalid_parameter, "lon and lat must be given together (radius needs both).",
              lon_text ? "lat" : "lon");
      e.with_detail("loc", nlohmann::json::array({"lon", "lat"}));
      throw e;
    }
    auto number = [&](const std::string& name, const std::string& text) {
      const auto d = to_double(text);
      if (!d) invalid(name, "Input should be a valid number.");
      const auto* spec = spec_of(name);
      if (*d < *spec->minimum)
        invalid(name, fmt::format("Input should be greater than or equal to {}.", *spec->minimum));
      if (*d > *spec->maximum) invalid(name, fmt::format("Input should be less than or equal to {}.", *spec->maximum));
      return *d;
    };
    const double lon = number("lon", *lon_text), lat = number("lat", *lat_text);
    std::string wkt = fmt::format("POINT({} {})", lon, lat);
    if (radius_text) wkt = circle_wkt(lon, lat, number("radius", *radius_text));
    where.push_back(catalog::spatial(catalog::SpatialOp::intersects, wkt));
  }

  if (!where.empty()) s.query.where = where.size() == 1 ? where.front() : catalog::all_of(std::move(where));
  s.query.limit = s.max_records + 1;
  s.query.offset = s.offset;
  if (s.exact_count) {
    s.query.count = catalog::CountMode::exact;
    s.query.count_limit = kCountBound;
  }
  return s;
}

}  // namespace ds::api::opensearch
