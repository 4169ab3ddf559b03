#include "api/stac/compile.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <functional>
#include <map>
#include <set>

#include "core/error.hpp"
#include "core/geometry.hpp"
#include "core/time.hpp"

namespace ds::api::stac {

using catalog::CompareOp;
using catalog::ExprPtr;
using catalog::Field;
using nlohmann::json;

namespace {

constexpr std::array<const char*, 3> kNameExtensions = {".SAFE", ".SEN3", ".nc"};
constexpr std::array<const char*, 4> kPolarizations = {"VV", "VH", "HH", "HV"};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}
std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}
bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

[[noreturn]] void bad(const char* parameter, const std::string& why) {
  throw Error(ErrorCode::invalid_parameter, why, parameter);
}

ExprPtr always() { return catalog::all_of({}); }
ExprPtr never() { return catalog::any_of({}); }

std::string short_json(const json& v) {
  std::string s = v.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

std::optional<CompareOp> compare_op(const std::string& op) {
  if (op == "=") return CompareOp::eq;
  if (op == "<>") return CompareOp::ne;
  if (op == "<") return CompareOp::lt;
  if (op == "<=") return CompareOp::le;
  if (op == ">") return CompareOp::gt;
  if (op == ">=") return CompareOp::ge;
  return std::nullopt;
}

bool is_property(const json& v) { return v.is_object() && v.size() == 1 && v.contains("property"); }

// --- literals --------------------------------------------------------------------------------

catalog::Time parse_time(const std::string& text, const char* parameter, const std::string& what) {
  auto t = parse_iso8601(text);
  if (!t) bad(parameter, "'" + text + "' is not an RFC 3339 date-time (" + what + ")");
  return *t;
}

constexpr auto kDay = std::chrono::hours(24);
constexpr auto kTick = std::chrono::microseconds(1);

// A temporal literal as an interval: timestamp → instant, date → the whole day.
Interval temporal_literal(const json& v, const char* parameter, const std::string& prop) {
  auto end_of = [&](const json& x, bool is_end) -> std::optional<catalog::Time> {
    std::string text;
    bool date = false;
    if (x.is_string()) {
      text = x.get<std::string>();
      date = text.size() == 10;
    } else if (x.is_object() && x.contains("timestamp") && x["timestamp"].is_string()) {
      text = x["timestamp"].get<std::string>();
    } else if (x.is_object() && x.contains("date") && x["date"].is_string()) {
      text = x["date"].get<std::string>();
      date = true;
    } else {
      bad(parameter, "wrong literal type for '" + prop + "': expected a timestamp, got " + short_json(x));
    }
    if (text == ".." || text.empty()) return std::nullopt;
    const auto t = parse_time(text, parameter, "for '" + prop + "'");
    if (date && is_end) return t + kDay - kTick;
    return t;
  };
  if (v.is_object() && v.contains("interval")) {
    const auto& ends = v["interval"];
    if (!ends.is_array() || ends.size() != 2) bad(parameter, "an interval has exactly two ends");
    Interval out{end_of(ends[0], false), end_of(ends[1], true)};
    if (out.start && out.end && *out.start > *out.end) bad(parameter, "the interval starts after it ends");
    return out;
  }
  if (v.is_string() && (v.get<std::string>() == ".." || v.get<std::string>().empty())) {
    bad(parameter, "'..' is only allowed inside INTERVAL");
  }
  return Interval{end_of(v, false), end_of(v, true)};
}

catalog::Time time_literal(const json& v, const char* parameter, const std::string& prop) {
  if (v.is_object() && v.contains("interval")) {
    bad(parameter, "wrong literal type for '" + prop + "': an interval needs a T_* function");
  }
  const Interval i = temporal_literal(v, parameter, prop);
  return *i.start;
}

std::string string_literal(const json& v, const char* parameter, const std::string& prop) {
  if (!v.is_string()) {
    bad(parameter, "wrong literal type for '" + prop + "': expected a string, got " + short_json(v));
  }
  return v.get<std::string>();
}

catalog::AttributeValue typed_literal(const Property& p, const json& v, const char* parameter) {
  switch (p.type) {
    case catalog::AttributeType::string:
      return string_literal(v, parameter, p.name);
    case catalog::AttributeType::integer:
    case catalog::AttributeType::double_:
      if (v.is_number_integer()) return v.get<std::int64_t>();
      if (v.is_number()) return v.get<double>();
      bad(parameter, "wrong literal type for '" + p.name + "': expected a number, got " + short_json(v));
    case catalog::AttributeType::datetime:
      return time_literal(v, parameter, p.name);
    case catalog::AttributeType::boolean:
      if (!v.is_boolean()) {
        bad(parameter, "wrong literal type for '" + p.name + "': expected true or false, got " + short_json(v));
      }
      return v.get<bool>();
  }
  return std::string();
}

std::string geometry_wkt(const json& v, const char* parameter) {
  if (v.is_object() && v.contains("bbox")) {
    const auto& b = v["bbox"];
    if (!b.is_array() || (b.size() != 4 && b.size() != 6) ||
        !std::all_of(b.begin(), b.end(), [](const json& x) { return x.is_number(); })) {
      bad(parameter, "a bbox literal is 4 or 6 numbers");
    }
    const bool three_d = b.size() == 6;
    return Geometry::from_bbox(b[0].get<double>(), b[1].get<double>(), b[three_d ? 3 : 2].get<double>(),
                               b[three_d ? 4 : 3].get<double>(), parameter)
        .to_wkt();
  }
  if (v.is_object() && v.contains("type")) return Geometry::from_geojson(v.dump(), parameter).to_wkt();
  bad(parameter, "expected a GeoJSON geometry or a bbox, got " + short_json(v));
}

// --- property-specific predicates ------------------------------------------------------------

ExprPtr attr_eq(const std::string& name, std::string value) {
  return catalog::attribute(name, CompareOp::eq, std::move(value));
}

ExprPtr platform_eq(const std::string& value) {
  const std::string v = lower(value);
  if (v == "sentinel-5p") return attr_eq("platformShortName", "SENTINEL-5P");
  if (v.size() == 11 && v.rfind("sentinel-", 0) == 0 && std::isdigit(static_cast<unsigned char>(v[9])) &&
      std::isalpha(static_cast<unsigned char>(v[10]))) {
    return catalog::all_of({attr_eq("platformShortName", upper(v.substr(0, 10))),
                            attr_eq("platformSerialIdentifier", upper(v.substr(10)))});
  }
  if (value == upper(value)) return attr_eq("platformShortName", value);
  return catalog::any_of({attr_eq("platformShortName", value), attr_eq("platformShortName", upper(value))});
}

ExprPtr orbit_state_eq(const std::string& value) {
  const std::string v = lower(value);
  if (v == "ascending")
    return catalog::any_of({attr_eq("orbitDirection", "ASCENDING"), attr_eq("orbitDirection", "A")});
  if (v == "descending") {
    return catalog::any_of({attr_eq("orbitDirection", "DESCENDING"), attr_eq("orbitDirection", "D")});
  }
  return attr_eq("orbitDirection", value);
}

ExprPtr grid_code_eq(const std::string& value) {
  std::string v = value;
  if (upper(v.substr(0, 5)) == "MGRS-") v = v.substr(5);
  return attr_eq("tileId", v);
}

// Every value polarisationChannels can take ("VV", "VV, VH", ...), as sets.
std::vector<std::pair<std::string, std::set<std::string>>> polarisation_values() {
  std::vector<std::pair<std::string, std::set<std::string>>> out;
  std::vector<std::string> seq;
  std::function<void()> walk = [&] {
    if (!seq.empty()) {
      std::string text;
      for (const auto& s : seq) text += (text.empty() ? "" : ", ") + s;
      out.emplace_back(text, std::set<std::string>(seq.begin(), seq.end()));
    }
    if (seq.size() == kPolarizations.size()) return;
    for (const char* p : kPolarizations) {
      if (std::find(seq.begin(), seq.end(), p) != seq.end()) continue;
      seq.emplace_back(p);
      walk();
      seq.pop_back();
    }
  };
  walk();
  return out;
}

std::set<std::string> string_set(const json& v, const char* parameter, const Property& p, bool polarisations) {
  if (!v.is_array()) bad(parameter, "wrong literal type for '" + p.name + "': expected an array, got " + short_json(v));
  std::set<std::string> out;
  for (const auto& x : v) {
    std::string s = string_literal(x, parameter, p.name);
    if (polarisations) {
      s = upper(s);
      if (std::find(kPolarizations.begin(), kPolarizations.end(), s) == kPolarizations.end()) {
        bad(parameter, "'" + x.get<std::string>() + "' is not a polarization (VV, VH, HH, HV)");
      }
    } else {
      s = upper(s);
    }
    out.insert(s);
  }
  return out;
}

bool subset(const std::set<std::string>& a, const std::set<std::string>& b) {
  return std::includes(b.begin(), b.end(), a.begin(), a.end());
}

// --- the compiler ----------------------------------------------------------------------------

class Compiler {
 public:
  Compiler(const Vocabulary& vocabulary, const char* parameter) : vocab_(vocabulary), parameter_(parameter) {}

  ExprPtr boolean(const json& node, int depth = 0) {
    if (depth > 64) bad(parameter_, "the filter nests too deep");
    if (node.is_boolean()) return node.get<bool>() ? always() : never();
    if (!node.is_object() || !node.contains("op")) {
      bad(parameter_, "expected a CQL2 predicate ({\"op\":...,\"args\":[...]}), got " + short_json(node));
    }
    if (!node["op"].is_string()) bad(parameter_, "\"op\" must be a string");
    const std::string op = lower(node["op"].get<std::string>());
    const json args = node.contains("args") ? node["args"] : json::array();
    if (!args.is_array()) bad(parameter_, "\"args\" of '" + op + "' must be an array");

    if (op == "and" || op == "or") {
      if (args.empty()) bad(parameter_, "'" + op + "' needs at least one argument");
      std::vector<ExprPtr> items;
      for (const auto& a : args) items.push_back(boolean(a, depth + 1));
      return op == "and" ? catalog::all_of(std::move(items)) : catalog::any_of(std::move(items));
    }
    if (op == "not") {
      arity(op, args, 1);
      return catalog::negate(boolean(args[0], depth + 1));
    }
    if (auto cmp = compare_op(op)) {
      arity(op, args, 2);
      return comparison(*cmp, args[0], args[1]);
    }
    if (op == "like") {
      arity(op, args, 2);
      return like(args[0], args[1]);
    }
    if (op == "between") {
      arity(op, args, 3);
      const Property p = property(args[0], op);
      return catalog::all_of({compare(p, CompareOp::ge, args[1]), compare(p, CompareOp::le, args[2])});
    }
    if (op == "in") {
      arity(op, args, 2);
      const Property p = property(args[0], op);
      if (!args[1].is_array()) bad(parameter_, "IN needs a list of values");
      if (p.kind == PropertyKind::item_id) {
        std::vector<std::string> ids;
        for (const auto& v : args[1]) ids.push_back(string_literal(v, parameter_, p.name));
        return item_ids_expr(ids);
      }
      std::vector<ExprPtr> items;
      for (const auto& v : args[1]) items.push_back(compare(p, CompareOp::eq, v));
      return catalog::any_of(std::move(items));
    }
    if (op == "isnull") {
      arity(op, args, 1);
      return is_null(property(args[0], op));
    }
    if (op == "ds:contains" || op == "ds:startswith" || op == "ds:endswith") {  // query extension
      arity(op, args, 2);
      const Property p = property(args[0], op);
      const auto m = op == "ds:contains"     ? catalog::TextMatch::contains
                     : op == "ds:startswith" ? catalog::TextMatch::starts_with
                                             : catalog::TextMatch::ends_with;
      return text_match(p, m, string_literal(args[1], parameter_, p.name));
    }
    if (op.rfind("s_", 0) == 0) return spatial(op, args);
    if (op.rfind("t_", 0) == 0) return temporal(op, args);
    if (op.rfind("a_", 0) == 0) return array(op, args);
    bad(parameter_, "unknown or unsupported CQL2 operator '" + node["op"].get<std::string>() + "'");
  }

 private:
  void arity(const std::string& op, const json& args, std::size_t n) const {
    if (args.size() != n) {
      bad(parameter_, "'" + op + "' takes " + std::to_string(n) + " argument" + (n == 1 ? "" : "s") + ", got " +
                          std::to_string(args.size()));
    }
  }

  Property property(const json& v, const std::string& op) const {
    if (!is_property(v) || !v["property"].is_string()) {
      bad(parameter_, "the first argument of '" + op + "' must be a property, got " + short_json(v));
    }
    return vocab_.resolve(v["property"].get<std::string>(), parameter_);
  }

  ExprPtr comparison(CompareOp op, const json& a, const json& b) {
    if (is_property(a) && is_property(b)) bad(parameter_, "comparing two properties is not supported");
    if (is_property(a)) return compare(property(a, "comparison"), op, b);
    if (is_property(b)) return compare(property(b, "comparison"), catalog::swapped(op), a);
    bad(parameter_, "a comparison needs a property on one side, got " + short_json(a) + " and " + short_json(b));
  }

  ExprPtr equality(const Property& p, CompareOp op, ExprPtr eq) const {
    if (op == CompareOp::eq) return eq;
    if (op == CompareOp::ne) return catalog::negate(std::move(eq));
    bad(parameter_, "'" + p.name + "' can only be compared with = and <> (or IN)");
  }

  ExprPtr compare(const Property& p, CompareOp op, const json& v) const {
    if (is_property(v)) bad(parameter_, "comparing two properties is not supported");
    switch (p.kind) {
      case PropertyKind::item_id:
        return equality(p, op, item_ids_expr({string_literal(v, parameter_, p.name)}));
      case PropertyKind::collection: {
        const auto id = string_literal(v, parameter_, p.name);
        auto e = collection_expr(vocab_.registry(), id);
        return equality(p, op, e ? *e : never());
      }
      case PropertyKind::geometry:
        bad(parameter_, "compare 'geometry' with S_INTERSECTS, S_WITHIN or S_CONTAINS");
      case PropertyKind::datetime:
        return catalog::compare(Field::sensing_start, op, time_literal(v, parameter_, p.name));
      case PropertyKind::field:
        if (p.field == Field::product_type || p.field == Field::name) {
          return catalog::compare(p.field, op, string_literal(v, parameter_, p.name));
        }
        return catalog::compare(p.field, op, time_literal(v, parameter_, p.name));
      case PropertyKind::attribute:
        return catalog::attribute(p.attribute, op, typed_literal(p, v, parameter_));
      case PropertyKind::platform:
        return equality(p, op, platform_eq(string_literal(v, parameter_, p.name)));
      case PropertyKind::constellation:
        return equality(p, op, attr_eq("platformShortName", upper(string_literal(v, parameter_, p.name))));
      case PropertyKind::instruments:
        return equality(p, op, attr_eq("instrumentShortName", upper(string_literal(v, parameter_, p.name))));
      case PropertyKind::grid_code:
        return equality(p, op, grid_code_eq(string_literal(v, parameter_, p.name)));
      case PropertyKind::orbit_state:
        return equality(p, op, orbit_state_eq(string_literal(v, parameter_, p.name)));
      case PropertyKind::polarizations:
        bad(parameter_, "'sar:polarizations' is an array: use A_CONTAINS, A_OVERLAPS, A_EQUALS or A_CONTAINEDBY");
    }
    return never();
  }

  ExprPtr is_null(const Property& p) const {
    switch (p.kind) {
      case PropertyKind::attribute:
        return catalog::negate(catalog::has_attribute(p.attribute));
      case PropertyKind::platform:
      case PropertyKind::constellation:
        return catalog::negate(catalog::has_attribute("platformShortName"));
      case PropertyKind::instruments:
        return catalog::negate(catalog::has_attribute("instrumentShortName"));
      case PropertyKind::grid_code:
        return catalog::negate(catalog::has_attribute("tileId"));
      case PropertyKind::orbit_state:
        return catalog::negate(catalog::has_attribute("orbitDirection"));
      case PropertyKind::polarizations:
        return catalog::negate(catalog::has_attribute("polarisationChannels"));
      default:
        return never();  // every product has an id, a collection, a footprint and times
    }
  }

  ExprPtr text_match(const Property& p, catalog::TextMatch m, const std::string& text) const {
    if (p.kind == PropertyKind::item_id) {
      if (m != catalog::TextMatch::ends_with) return catalog::match(Field::name, m, text);
      std::vector<ExprPtr> alternatives = {catalog::match(Field::name, m, text)};
      for (const char* ext : kNameExtensions) alternatives.push_back(catalog::match(Field::name, m, text + ext));
      return catalog::any_of(std::move(alternatives));
    }
    if (p.kind == PropertyKind::field && p.field == Field::product_type) return catalog::match(p.field, m, text);
    bad(parameter_,
        "text matching (LIKE, startsWith, endsWith, contains) is supported on 'id' and 'product:type' only, not on '" +
            p.name + "'");
  }

  ExprPtr like(const json& a, const json& b) {
    const Property p = property(a, "like");
    const std::string pattern = string_literal(b, parameter_, p.name);
    // Unescape \% and \_ ; find the unescaped wildcards.
    std::string text;
    std::vector<std::size_t> percents;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      const char c = pattern[i];
      if (c == '\\' && i + 1 < pattern.size() &&
          (pattern[i + 1] == '%' || pattern[i + 1] == '_' || pattern[i + 1] == '\\')) {
        text += pattern[++i];
      } else if (c == '_') {
        bad(parameter_,
            "LIKE: the single-character wildcard '_' is not supported (write '\\_' for an underscore); "
            "supported patterns are 'text', 'text%', '%text' and '%text%'");
      } else if (c == '%') {
        percents.push_back(text.size());
        text += '\x01';
      } else {
        text += c;
      }
    }
    auto strip = [&](std::string s) {
      s.erase(std::remove(s.begin(), s.end(), '\x01'), s.end());
      return s;
    };
    const std::string literal = strip(text);
    const bool lead = !percents.empty() && percents.front() == 0;
    const bool trail = !percents.empty() && percents.back() == text.size() - 1;
    const std::size_t expected = (lead ? 1 : 0) + (trail ? 1 : 0) - (lead && trail && text.size() == 1 ? 1 : 0);
    if (percents.size() != expected || (literal.empty() && !percents.empty())) {
      bad(parameter_, "LIKE pattern '" + pattern +
                          "' is not supported: use 'text', 'text%' (starts with), '%text' (ends with) or '%text%' "
                          "(contains) on 'id' or 'product:type'");
    }
    if (!lead && !trail) {
      if (p.kind == PropertyKind::item_id) return item_ids_expr({literal});
      return compare(p, CompareOp::eq, literal);
    }
    const auto m = lead && trail ? catalog::TextMatch::contains
                   : lead        ? catalog::TextMatch::ends_with
                                 : catalog::TextMatch::starts_with;
    return text_match(p, m, literal);
  }

  ExprPtr spatial(const std::string& op, const json& args) {
    arity(op, args, 2);
    json prop = args[0], lit = args[1];
    bool swapped = false;
    if (!is_property(prop)) {
      std::swap(prop, lit);
      swapped = true;
    }
    const Property p = property(prop, op);
    if (p.kind != PropertyKind::geometry) bad(parameter_, op + " applies to 'geometry', not to '" + p.name + "'");
    if (is_property(lit)) bad(parameter_, "comparing two properties is not supported");
    const std::string wkt = geometry_wkt(lit, parameter_);
    if (op == "s_intersects") return catalog::spatial(catalog::SpatialOp::intersects, wkt);
    if (op == "s_disjoint") return catalog::negate(catalog::spatial(catalog::SpatialOp::intersects, wkt));
    if (op == "s_within") {
      return catalog::spatial(swapped ? catalog::SpatialOp::contains : catalog::SpatialOp::within, wkt);
    }
    if (op == "s_contains") {
      return catalog::spatial(swapped ? catalog::SpatialOp::within : catalog::SpatialOp::contains, wkt);
    }
    bad(parameter_,
        "spatial function '" + op + "' is not supported (supported: s_intersects, s_within, s_contains, s_disjoint)");
  }

  ExprPtr temporal(std::string op, const json& args) {
    arity(op, args, 2);
    json prop = args[0], lit = args[1];
    if (!is_property(prop)) {
      std::swap(prop, lit);
      if (op == "t_before")
        op = "t_after";
      else if (op == "t_after")
        op = "t_before";
      else if (op == "t_during")
        op = "t_contains";
      else if (op == "t_contains")
        op = "t_during";
    }
    const Property p = property(prop, op);
    if (is_property(lit)) bad(parameter_, "comparing two properties is not supported");
    // The property's interval [S, E] as comparisons.
    Field start_field, end_field;
    if (p.kind == PropertyKind::datetime) {
      start_field = Field::sensing_start;
      end_field = Field::sensing_end;
    } else if (p.kind == PropertyKind::field && p.field != Field::product_type && p.field != Field::name) {
      start_field = end_field = p.field;
    } else {
      bad(parameter_,
          op + " applies to datetime, start_datetime, end_datetime, created or updated, not to '" + p.name + "'");
    }
    const Interval i = temporal_literal(lit, parameter_, p.name);
    auto S = [&](CompareOp o, catalog::Time t) { return catalog::compare(start_field, o, t); };
    auto E = [&](CompareOp o, catalog::Time t) { return catalog::compare(end_field, o, t); };
    if (op == "t_intersects" || op == "t_disjoint") {
      std::vector<ExprPtr> parts;
      if (i.end) parts.push_back(S(CompareOp::le, *i.end));
      if (i.start) parts.push_back(E(CompareOp::ge, *i.start));
      ExprPtr e = catalog::all_of(std::move(parts));
      return op == "t_intersects" ? e : catalog::negate(e);
    }
    if (op == "t_before") return i.start ? E(CompareOp::lt, *i.start) : never();
    if (op == "t_after") return i.end ? S(CompareOp::gt, *i.end) : never();
    if (op == "t_during") {
      std::vector<ExprPtr> parts;
      if (i.start) parts.push_back(S(CompareOp::gt, *i.start));
      if (i.end) parts.push_back(E(CompareOp::lt, *i.end));
      return catalog::all_of(std::move(parts));
    }
    if (op == "t_contains") {
      if (!i.start || !i.end) return never();
      return catalog::all_of({S(CompareOp::lt, *i.start), E(CompareOp::gt, *i.end)});
    }
    if (op == "t_equals") {
      if (!i.start || !i.end) return never();
      return catalog::all_of({S(CompareOp::eq, *i.start), E(CompareOp::eq, *i.end)});
    }
    bad(parameter_, "temporal function '" + op +
                        "' is not supported (supported: t_intersects, t_disjoint, t_before, t_after, t_during, "
                        "t_contains, t_equals)");
  }

  ExprPtr array(const std::string& op, const json& args) {
    arity(op, args, 2);
    if (op != "a_contains" && op != "a_overlaps" && op != "a_equals" && op != "a_containedby") {
      bad(parameter_, "unknown array function '" + op + "'");
    }
    const Property p = property(args[0], op);
    if (p.kind == PropertyKind::polarizations) {
      const auto x = string_set(args[1], parameter_, p, true);
      std::vector<ExprPtr> values;
      for (const auto& [text, have] : polarisation_values()) {
        const bool ok = op == "a_contains"      ? subset(x, have)
                        : op == "a_containedby" ? subset(have, x)
                        : op == "a_equals"
                            ? have == x
                            : std::any_of(x.begin(), x.end(), [&](const auto& s) { return have.count(s) > 0; });
        if (ok) values.push_back(attr_eq("polarisationChannels", text));
      }
      return catalog::any_of(std::move(values));
    }
    if (p.kind == PropertyKind::instruments) {
      const auto x = string_set(args[1], parameter_, p, false);
      // A product has exactly one instrument I: {I} ⊇ X, {I} ⊆ X, {I} = X, {I} ∩ X ≠ ∅.
      if (op == "a_contains") {
        if (x.empty()) return catalog::has_attribute("instrumentShortName");
        if (x.size() > 1) return never();
        return attr_eq("instrumentShortName", *x.begin());
      }
      if (op == "a_equals") return x.size() == 1 ? attr_eq("instrumentShortName", *x.begin()) : never();
      std::vector<ExprPtr> values;
      for (const auto& s : x) values.push_back(attr_eq("instrumentShortName", s));
      return catalog::any_of(std::move(values));
    }
    bad(parameter_, op + " applies to array properties (sar:polarizations, instruments), not to '" + p.name + "'");
  }

  const Vocabulary& vocab_;
  const char* parameter_;
};

}  // namespace

// --- Vocabulary ------------------------------------------------------------------------------

Vocabulary::Vocabulary(const catalog::CollectionRegistry* registry, std::vector<const catalog::Collection*> scope)
    : registry_(registry), scope_(std::move(scope)) {}

Property Vocabulary::resolve(const std::string& raw, const char* parameter) const {
  std::string name = raw;
  if (name.rfind("properties.", 0) == 0) name = name.substr(11);
  Property p;
  p.name = name;
  auto field = [&](Field f) {
    p.kind = PropertyKind::field;
    p.field = f;
    return p;
  };
  auto special = [&](PropertyKind k) {
    p.kind = k;
    return p;
  };
  if (name == "id") return special(PropertyKind::item_id);
  if (name == "collection") return special(PropertyKind::collection);
  if (name == "geometry") return special(PropertyKind::geometry);
  if (name == "datetime") return special(PropertyKind::datetime);
  if (name == "start_datetime") return field(Field::sensing_start);
  if (name == "end_datetime") return field(Field::sensing_end);
  if (name == "created" || name == "published") return field(Field::publication);
  if (name == "updated") return field(Field::modification);
  if (name == "product:type" || name == "productType") return field(Field::product_type);
  if (name == "platform") return special(PropertyKind::platform);
  if (name == "constellation") return special(PropertyKind::constellation);
  if (name == "instruments") return special(PropertyKind::instruments);
  if (name == "grid:code") return special(PropertyKind::grid_code);
  if (name == "sat:orbit_state") return special(PropertyKind::orbit_state);
  if (name == "sar:polarizations") return special(PropertyKind::polarizations);
  if (registry_) {
    std::vector<const catalog::Collection*> scope = scope_;
    if (scope.empty()) {
      for (const auto& c : registry_->all()) scope.push_back(&c);
    }
    for (const auto* c : scope) {
      for (const auto& q : c->queryables) {
        if (q.name == name || (!q.stac.empty() && q.stac == name)) {
          p.kind = PropertyKind::attribute;
          p.attribute = q.name;
          p.type = q.type;
          return p;
        }
      }
    }
  }
  throw Error(ErrorCode::invalid_parameter,
              "unknown property '" + raw + "' (the queryables are listed at /stac/queryables)", parameter)
      .with_detail("property", raw);
}

catalog::ExprPtr compile_cql2(const json& filter, const Vocabulary& vocabulary, const char* parameter) {
  return Compiler(vocabulary, parameter).boolean(filter);
}

json query_extension_to_cql2(const json& query) {
  const char* parameter = "query";
  if (!query.is_object()) bad(parameter, "the query extension expects an object {\"property\":{\"op\":value}}");
  json args = json::array();
  for (const auto& [name, ops] : query.items()) {
    if (!ops.is_object()) bad(parameter, "query: the value of '" + name + "' must be an object of operators");
    const json prop = {{"property", name}};
    for (const auto& [op, value] : ops.items()) {
      static const std::map<std::string, std::string> kOps = {{"eq", "="},
                                                              {"neq", "<>"},
                                                              {"lt", "<"},
                                                              {"lte", "<="},
                                                              {"gt", ">"},
                                                              {"gte", ">="},
                                                              {"startsWith", "ds:startswith"},
                                                              {"endsWith", "ds:endswith"},
                                                              {"contains", "ds:contains"},
                                                              {"in", "in"}};
      const auto it = kOps.find(op);
      if (it == kOps.end()) {
        bad(parameter,
            "query: unknown operator '" + op + "' (eq, neq, lt, lte, gt, gte, startsWith, endsWith, contains, in)");
      }
      if (op == "in" && !value.is_array()) bad(parameter, "query: 'in' takes an array");
      args.push_back({{"op", it->second}, {"args", json::array({prop, value})}});
    }
  }
  if (args.empty()) return true;
  if (args.size() == 1) return args[0];
  return {{"op", "and"}, {"args", args}};
}

std::optional<catalog::ExprPtr> collection_expr(const catalog::CollectionRegistry* registry, const std::string& id) {
  if (registry) {
    if (const auto* c = registry->find(id)) {
      std::vector<catalog::AttributeValue> own;
      for (const auto& t : c->product_types) {
        if (registry->for_product_type(t) == c) own.emplace_back(t);
      }
      std::vector<ExprPtr> parts = {catalog::in(Field::product_type, own)};
      const auto same_mission = registry->of_mission(c->mission);
      if (!same_mission.empty() && same_mission.front() == c) {
        // Products of the mission whose type no collection claims belong to its first collection.
        std::vector<catalog::AttributeValue> claimed;
        for (const auto& other : registry->all()) {
          for (const auto& t : other.product_types) claimed.emplace_back(t);
        }
        parts.push_back(catalog::all_of({catalog::compare(Field::collection, CompareOp::eq, c->mission),
                                         catalog::negate(catalog::in(Field::product_type, claimed))}));
      }
      // The mission first: its equality lets the stores range over (collection, sensing_start).
      return catalog::all_of(
          {catalog::compare(Field::collection, CompareOp::eq, c->mission), catalog::any_of(std::move(parts))});
    }
    for (const auto& m : registry->missions()) {
      if (lower(m) == lower(id)) return catalog::compare(Field::collection, CompareOp::eq, m);
    }
    return std::nullopt;
  }
  return catalog::compare(Field::collection, CompareOp::eq, upper(id));
}

std::string item_id(const std::string& product_name) {
  for (const char* ext : kNameExtensions) {
    if (ends_with(product_name, ext)) return product_name.substr(0, product_name.size() - std::string(ext).size());
  }
  return product_name;
}

std::vector<std::string> names_for_item_id(const std::string& id) {
  std::vector<std::string> out = {id};
  if (item_id(id) != id) return out;  // already a full name
  for (const char* ext : kNameExtensions) out.push_back(id + ext);
  return out;
}

catalog::ExprPtr item_ids_expr(const std::vector<std::string>& ids) {
  std::vector<catalog::AttributeValue> names;
  for (const auto& id : ids) {
    for (auto& n : names_for_item_id(id)) names.emplace_back(std::move(n));
  }
  return catalog::in(Field::name, std::move(names));
}

Interval parse_datetime_interval(const std::string& text, const char* parameter) {
  auto one = [&](const std::string& s, bool is_end) -> std::optional<catalog::Time> {
    if (s.empty() || s == "..") return std::nullopt;
    auto t = parse_iso8601(s);
    if (!t) {
      bad(parameter,
          "'" + s + "' is not an RFC 3339 date-time (expected an instant, 'start/end', '../end' or 'start/..')");
    }
    if (is_end && s.size() == 10) return *t + kDay - kTick;  // a bare date ends with its day
    return *t;
  };
  if (text.empty()) bad(parameter, "datetime is empty");
  const auto slash = text.find('/');
  if (slash == std::string::npos) {
    if (text == "..") bad(parameter, "datetime '..' needs a second end ('start/..' or '../end')");
    Interval i{one(text, false), one(text, true)};
    if (text.size() != 10) i.end = i.start;
    return i;
  }
  if (text.find('/', slash + 1) != std::string::npos) bad(parameter, "datetime has more than one '/'");
  Interval i{one(text.substr(0, slash), false), one(text.substr(slash + 1), true)};
  if (!i.start && !i.end) bad(parameter, "datetime '" + text + "' is open at both ends");
  if (i.start && i.end && *i.start > *i.end) bad(parameter, "datetime '" + text + "' starts after it ends");
  return i;
}

catalog::ExprPtr interval_intersects(const Interval& interval) {
  std::vector<ExprPtr> parts;
  if (interval.end) parts.push_back(catalog::compare(Field::sensing_start, CompareOp::le, *interval.end));
  if (interval.start) parts.push_back(catalog::compare(Field::sensing_end, CompareOp::ge, *interval.start));
  return catalog::all_of(std::move(parts));
}

catalog::SortKey sort_key(const std::string& field, bool descending, const Vocabulary& vocabulary) {
  const Property p = vocabulary.resolve(field, "sortby");
  catalog::SortKey k;
  k.descending = descending;
  auto attr = [&](const std::string& name, catalog::AttributeType t) {
    k.attribute = name;
    k.attribute_type = t;
    return k;
  };
  switch (p.kind) {
    case PropertyKind::item_id:
      k.field = Field::name;
      return k;
    case PropertyKind::collection:
      k.field = Field::product_type;
      return k;
    case PropertyKind::datetime:
      k.field = Field::sensing_start;
      return k;
    case PropertyKind::field:
      k.field = p.field;
      return k;
    case PropertyKind::attribute:
      return attr(p.attribute, p.type);
    case PropertyKind::platform:
    case PropertyKind::constellation:
      return attr("platformShortName", catalog::AttributeType::string);
    case PropertyKind::instruments:
      return attr("instrumentShortName", catalog::AttributeType::string);
    case PropertyKind::grid_code:
      return attr("tileId", catalog::AttributeType::string);
    case PropertyKind::orbit_state:
      return attr("orbitDirection", catalog::AttributeType::string);
    case PropertyKind::polarizations:
      return attr("polarisationChannels", catalog::AttributeType::string);
    case PropertyKind::geometry:
      break;
  }
  bad("sortby", "'" + field + "' is not sortable");
}

}  // namespace ds::api::stac
