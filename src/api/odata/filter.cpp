#include "api/odata/filter.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/geometry.hpp"
#include "core/time.hpp"

namespace ds::api::odata {
namespace {

using catalog::AttributeType;
using catalog::AttributeValue;
using catalog::CompareOp;
using catalog::ExprPtr;
using catalog::Field;

enum class Tok { end, lparen, rparen, comma, colon, equals, string, geography, word, literal };

struct Token {
  Tok kind = Tok::end;
  std::string text;  // word/literal text, or the unquoted string
  std::size_t pos = 0;
};

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' || c == '-' || c == ':' ||
         c == '+';
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

[[noreturn]] void fail(const std::string& why, std::size_t pos, const std::string& token) {
  Error e(ErrorCode::invalid_parameter,
          fmt::format("invalid $filter at position {}{}: {}", pos, token.empty() ? "" : " ('" + token + "')", why),
          "$filter");
  e.with_detail("position", pos);
  if (!token.empty()) e.with_detail("token", token);
  throw e;
}

std::vector<Token> tokenize(std::string_view s) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    const std::size_t start = i;
    if (c == '(' || c == ')' || c == ',' || c == '=') {
      out.push_back({c == '(' ? Tok::lparen : c == ')' ? Tok::rparen : c == ',' ? Tok::comma : Tok::equals, {}, start});
      ++i;
      continue;
    }
    if (c == '\'') {
      std::string text;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '\'') {
          if (i + 1 < s.size() && s[i + 1] == '\'') {  // '' escapes a quote
            text += '\'';
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        text += s[i++];
      }
      if (!closed) fail("unterminated string literal", start, "'" + text);
      // geography'...' is one token.
      if (!out.empty() && out.back().kind == Tok::word && lower(out.back().text) == "geography" &&
          out.back().pos + 9 == start) {
        out.back() = {Tok::geography, text, out.back().pos};
      } else {
        out.push_back({Tok::string, text, start});
      }
      continue;
    }
    if (word_char(c)) {
      const bool literal_start = std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+';
      // Date-times keep their ':'; in names a ':' ends the word (the lambda variable "att:").
      while (i < s.size() && word_char(s[i]) && (literal_start || s[i] != ':')) ++i;
      out.push_back({literal_start ? Tok::literal : Tok::word, std::string(s.substr(start, i - start)), start});
      if (!literal_start && i < s.size() && s[i] == ':') out.push_back({Tok::colon, {}, i++});
      continue;
    }
    fail("unexpected character", start, std::string(1, c));
  }
  out.push_back({Tok::end, {}, s.size()});
  return out;
}

const std::regex& uuid_pattern() {
  static const std::regex r("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");
  return r;
}

// A literal as written: its kind decides how it may be coerced.
struct Literal {
  enum Kind { string, number, datetime, boolean, null } kind = string;
  std::string text;
  double number_value = 0;
  bool integral = false;
  catalog::Time when{};
  bool bool_value = false;
  std::size_t pos = 0;
};

std::optional<double> to_number(const std::string& t, bool& integral) {
  if (t.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || !std::isfinite(v)) return std::nullopt;
  integral = t.find_first_of(".eE") == std::string::npos && std::abs(v) < 9e15;
  return v;
}

struct FieldInfo {
  Field field;
  enum Kind { text, time, boolean } kind;
};

std::optional<FieldInfo> field_of(const std::string& name) {
  if (name == "Id") return FieldInfo{Field::id, FieldInfo::text};
  if (name == "Name") return FieldInfo{Field::name, FieldInfo::text};
  if (name == "Collection/Name") return FieldInfo{Field::collection, FieldInfo::text};
  if (name == "ProductType") return FieldInfo{Field::product_type, FieldInfo::text};
  if (name == "ContentDate/Start") return FieldInfo{Field::sensing_start, FieldInfo::time};
  if (name == "ContentDate/End") return FieldInfo{Field::sensing_end, FieldInfo::time};
  if (name == "PublicationDate") return FieldInfo{Field::publication, FieldInfo::time};
  if (name == "ModificationDate") return FieldInfo{Field::modification, FieldInfo::time};
  if (name == "Online") return FieldInfo{Field::online, FieldInfo::boolean};
  return std::nullopt;
}

std::optional<CompareOp> op_of(const std::string& w) {
  if (w == "eq") return CompareOp::eq;
  if (w == "ne") return CompareOp::ne;
  if (w == "lt") return CompareOp::lt;
  if (w == "le") return CompareOp::le;
  if (w == "gt") return CompareOp::gt;
  if (w == "ge") return CompareOp::ge;
  return std::nullopt;
}

// The attribute type CDSE's ValueType would say, from the collection definitions.
std::optional<AttributeType> attribute_type_of(const catalog::CollectionRegistry* registry, const std::string& name) {
  if (!registry) return std::nullopt;
  for (const auto& c : registry->all()) {
    for (const auto& q : c.queryables) {
      if (q.name == name) return q.type;
    }
  }
  return std::nullopt;
}

std::optional<AttributeType> cast_type(const std::string& path) {
  // "...OData.CSC.DoubleAttribute..." → Double
  static const std::pair<const char*, AttributeType> casts[] = {{"StringAttribute", AttributeType::string},
                                                                {"IntegerAttribute", AttributeType::integer},
                                                                {"DoubleAttribute", AttributeType::double_},
                                                                {"DateTimeOffsetAttribute", AttributeType::datetime},
                                                                {"BooleanAttribute", AttributeType::boolean}};
  for (const auto& [name, t] : casts) {
    if (path.find(name) != std::string::npos) return t;
  }
  return std::nullopt;
}

class Parser {
 public:
  Parser(std::string_view text, const catalog::CollectionRegistry* registry)
      : tokens_(tokenize(text)), registry_(registry) {}

  ExprPtr parse() {
    if (peek().kind == Tok::end) fail("the filter is empty", 0, "");
    auto e = parse_or();
    if (peek().kind != Tok::end) fail("unexpected token after a complete expression", peek().pos, show(peek()));
    return e;
  }

 private:
  std::vector<Token> tokens_;
  std::size_t at_ = 0;
  const catalog::CollectionRegistry* registry_;
  int depth_ = 0;

  const Token& peek(std::size_t ahead = 0) const { return tokens_[std::min(at_ + ahead, tokens_.size() - 1)]; }
  const Token& next() { return tokens_[std::min(at_++, tokens_.size() - 1)]; }
  static std::string show(const Token& t) {
    switch (t.kind) {
      case Tok::end:
        return "";
      case Tok::lparen:
        return "(";
      case Tok::rparen:
        return ")";
      case Tok::comma:
        return ",";
      case Tok::colon:
        return ":";
      case Tok::equals:
        return "=";
      case Tok::string:
        return "'" + t.text + "'";
      case Tok::geography:
        return "geography'" + t.text.substr(0, 40) + "'";
      default:
        return t.text;
    }
  }
  bool is_word(const Token& t, const char* w) const { return t.kind == Tok::word && t.text == w; }
  void expect(Tok kind, const char* what) {
    const Token& t = peek();
    if (t.kind != kind) fail(std::string("expected ") + what, t.pos, show(t));
    ++at_;
  }

  ExprPtr parse_or() {
    std::vector<ExprPtr> items{parse_and()};
    while (is_word(peek(), "or")) {
      ++at_;
      items.push_back(parse_and());
    }
    return items.size() == 1 ? items.front() : catalog::any_of(std::move(items));
  }
  ExprPtr parse_and() {
    std::vector<ExprPtr> items{parse_unary()};
    while (is_word(peek(), "and")) {
      ++at_;
      items.push_back(parse_unary());
    }
    return items.size() == 1 ? items.front() : catalog::all_of(std::move(items));
  }
  ExprPtr parse_unary() {
    if (++depth_ > 64) fail("the filter nests too deeply (at most 64 levels)", peek().pos, "");
    struct Leave {
      int& d;
      ~Leave() { --d; }
    } leave{depth_};
    const Token& t = peek();
    if (is_word(t, "not")) {
      ++at_;
      return catalog::negate(parse_unary());
    }
    if (t.kind == Tok::lparen) {
      ++at_;
      auto e = parse_or();
      if (peek().kind != Tok::rparen)
        fail("missing ')' to close the '(' at position " + std::to_string(t.pos), peek().pos, show(peek()));
      ++at_;
      return e;
    }
    if (t.kind == Tok::word) {
      const std::string l = lower(t.text);
      if (l == "contains" || l == "startswith" || l == "endswith") return parse_text_function();
      if (l == "odata.csc.intersects") return parse_intersects();
      if (l.rfind("attributes/", 0) == 0) return parse_lambda();
      return parse_comparison();
    }
    if (t.kind == Tok::literal || t.kind == Tok::string) return parse_reversed_comparison();
    if (t.kind == Tok::end) fail("the filter ends where an expression was expected", t.pos, "");
    fail("expected an expression", t.pos, show(t));
  }

  // A function returning a boolean may be compared with true/false: "contains(Name,'x') eq true".
  ExprPtr boolean_suffix(ExprPtr e) {
    if ((is_word(peek(), "eq") || is_word(peek(), "ne")) && peek(1).kind == Tok::word &&
        (peek(1).text == "true" || peek(1).text == "false")) {
      const bool negated = (peek().text == "ne") != (peek(1).text == "false");
      at_ += 2;
      return negated ? catalog::negate(e) : e;
    }
    return e;
  }

  ExprPtr parse_text_function() {
    const Token fn = next();
    expect(Tok::lparen, "'('");
    const Token prop = next();
    if (prop.kind != Tok::word) fail("expected a property name", prop.pos, show(prop));
    Field f;
    if (prop.text == "Name") {
      f = Field::name;
    } else if (prop.text == "ProductType") {
      f = Field::product_type;
    } else {
      fail(fn.text + "() applies to Name only", prop.pos, prop.text);
    }
    expect(Tok::comma, "','");
    const Token text = next();
    if (text.kind != Tok::string) fail(fn.text + "() needs a quoted string", text.pos, show(text));
    expect(Tok::rparen, "')'");
    const std::string l = lower(fn.text);
    const auto m = l == "contains"     ? catalog::TextMatch::contains
                   : l == "startswith" ? catalog::TextMatch::starts_with
                                       : catalog::TextMatch::ends_with;
    return boolean_suffix(catalog::match(f, m, text.text));
  }

  ExprPtr parse_intersects() {
    const Token fn = next();
    expect(Tok::lparen, "'(' after OData.CSC.Intersects");
    const Token name = next();
    if (name.kind != Tok::word || (lower(name.text) != "area" && lower(name.text) != "footprint")) {
      fail("OData.CSC.Intersects takes area=geography'SRID=4326;<WKT>'", name.pos, show(name));
    }
    expect(Tok::equals, "'=' after area");
    const Token g = next();
    if (g.kind != Tok::geography) fail("expected geography'SRID=4326;<WKT>'", g.pos, show(g));
    std::string wkt = g.text;
    const auto semi = wkt.find(';');
    if (semi != std::string::npos) {
      std::string srid = wkt.substr(0, semi);
      srid.erase(std::remove(srid.begin(), srid.end(), ' '), srid.end());
      if (lower(srid) != "srid=4326") fail("only SRID=4326 (WGS84 lon/lat) is supported", g.pos, srid);
      wkt = wkt.substr(semi + 1);
    }
    try {
      Geometry::from_wkt(wkt, "$filter");
    } catch (const Error& e) {
      fail(e.message(), g.pos, show(g));
    }
    expect(Tok::rparen, "')' to close OData.CSC.Intersects");
    return boolean_suffix(catalog::spatial(catalog::SpatialOp::intersects, wkt));
  }

  Literal literal(const Token& t) {
    Literal lit;
    lit.pos = t.pos;
    lit.text = t.text;
    if (t.kind == Tok::string) {
      lit.kind = Literal::string;
      return lit;
    }
    if (t.kind == Tok::word) {
      if (t.text == "true" || t.text == "false") {
        lit.kind = Literal::boolean;
        lit.bool_value = t.text == "true";
        return lit;
      }
      if (t.text == "null") {
        lit.kind = Literal::null;
        return lit;
      }
      if (std::regex_match(t.text, uuid_pattern())) {
        lit.kind = Literal::string;
        return lit;
      }
      fail("expected a value (a quoted string, number, date-time, true or false)", t.pos, t.text);
    }
    if (t.kind != Tok::literal) fail("expected a value", t.pos, show(t));
    if (std::regex_match(t.text, uuid_pattern())) {
      lit.kind = Literal::string;
      return lit;
    }
    bool integral = false;
    if (auto n = to_number(t.text, integral)) {
      lit.kind = Literal::number;
      lit.number_value = *n;
      lit.integral = integral;
      return lit;
    }
    if (auto time = parse_iso8601(t.text)) {
      lit.kind = Literal::datetime;
      lit.when = *time;
      return lit;
    }
    fail("not a number or an ISO 8601 date-time", t.pos, t.text);
  }

  AttributeValue field_value(const FieldInfo& f, const Literal& lit, const std::string& prop) {
    switch (f.kind) {
      case FieldInfo::time:
        if (lit.kind == Literal::datetime) return lit.when;
        if (lit.kind == Literal::string) {
          if (auto t = parse_iso8601(lit.text)) return *t;
        }
        fail(prop + " must be compared with a date-time such as 2022-06-01T00:00:00.000Z", lit.pos, lit.text);
      case FieldInfo::boolean:
        if (lit.kind == Literal::boolean) return lit.bool_value;
        fail(prop + " must be compared with true or false", lit.pos, lit.text);
      case FieldInfo::text:
        if (lit.kind == Literal::string) return lit.text;
        fail(prop + " must be compared with a quoted string", lit.pos, lit.text);
    }
    fail("unsupported comparison", lit.pos, lit.text);
  }

  ExprPtr parse_comparison() {
    const Token prop = next();
    const auto f = field_of(prop.text);
    if (!f) {
      if (prop.text == "OriginDate" || prop.text == "EvictionDate" || prop.text == "ContentLength" ||
          prop.text == "S3Path" || prop.text == "Footprint") {
        fail(prop.text +
                 " cannot be filtered on; filterable: Id, Name, Collection/Name, ContentDate/Start, "
                 "ContentDate/End, PublicationDate, ModificationDate, Online, Attributes, OData.CSC.Intersects",
             prop.pos, prop.text);
      }
      fail("unknown property or function", prop.pos, prop.text);
    }
    const Token opt = next();
    if (opt.kind == Tok::word && opt.text == "in") {
      expect(Tok::lparen, "'(' after in");
      std::vector<AttributeValue> values;
      while (true) {
        values.push_back(field_value(*f, literal(next()), prop.text));
        if (values.size() > 1000) fail("an in list holds at most 1000 values", opt.pos, "in");
        const Token sep = next();
        if (sep.kind == Tok::rparen) break;
        if (sep.kind != Tok::comma) fail("expected ',' or ')' in the in list", sep.pos, show(sep));
      }
      return catalog::in(f->field, std::move(values));
    }
    const auto op = opt.kind == Tok::word ? op_of(opt.text) : std::nullopt;
    if (!op) fail("expected a comparison operator (eq, ne, lt, le, gt, ge, in)", opt.pos, show(opt));
    const Literal lit = literal(next());
    if (lit.kind == Literal::null) fail(prop.text + " is never null", lit.pos, "null");
    if (f->kind == FieldInfo::boolean && *op != CompareOp::eq && *op != CompareOp::ne) {
      fail(prop.text + " only supports eq and ne", opt.pos, opt.text);
    }
    return catalog::compare(f->field, *op, field_value(*f, lit, prop.text));
  }

  // "2022-01-01T00:00:00Z lt ContentDate/Start": the literal first.
  ExprPtr parse_reversed_comparison() {
    const Token lit_tok = next();
    const Token opt = next();
    const auto op = opt.kind == Tok::word ? op_of(opt.text) : std::nullopt;
    if (!op) fail("expected a comparison operator after a value", opt.pos, show(opt));
    const Token prop = next();
    const auto f = prop.kind == Tok::word ? field_of(prop.text) : std::nullopt;
    if (!f) fail("expected a property name", prop.pos, show(prop));
    return catalog::compare(f->field, catalog::swapped(*op), field_value(*f, literal(lit_tok), prop.text));
  }

  AttributeValue coerce(const std::string& name, std::optional<AttributeType> declared, const Literal& lit) {
    auto type = attribute_type_of(registry_, name);
    if (!type) {
      // Unknown to every collection: the literal decides (a cast only refines numbers).
      switch (lit.kind) {
        case Literal::string:
          return lit.text;
        case Literal::number:
          if (declared == AttributeType::integer && lit.integral) return static_cast<std::int64_t>(lit.number_value);
          return lit.number_value;
        case Literal::datetime:
          return lit.when;
        case Literal::boolean:
          return lit.bool_value;
        case Literal::null:
          break;
      }
      fail("attribute values are never null", lit.pos, "null");
    }
    const std::string what = fmt::format("attribute {} is {}", name, catalog::attribute_type_name(*type));
    switch (*type) {
      case AttributeType::string:
        if (lit.kind == Literal::string || lit.kind == Literal::number) return lit.text;
        if (lit.kind == Literal::boolean) return std::string(lit.bool_value ? "true" : "false");
        fail(what + ": compare it with a quoted string", lit.pos, lit.text);
      case AttributeType::integer:
      case AttributeType::double_: {
        bool integral = lit.integral;
        std::optional<double> v;
        if (lit.kind == Literal::number) v = lit.number_value;
        if (lit.kind == Literal::string) v = to_number(lit.text, integral);
        if (!v) fail(what + ": compare it with a number", lit.pos, lit.text);
        if (*type == AttributeType::integer && integral) return static_cast<std::int64_t>(*v);
        return *v;
      }
      case AttributeType::datetime:
        if (lit.kind == Literal::datetime) return lit.when;
        if (lit.kind == Literal::string) {
          if (auto t = parse_iso8601(lit.text)) return *t;
        }
        fail(what + ": compare it with a date-time", lit.pos, lit.text);
      case AttributeType::boolean:
        if (lit.kind == Literal::boolean) return lit.bool_value;
        if (lit.kind == Literal::string && (lit.text == "true" || lit.text == "false")) return lit.text == "true";
        fail(what + ": compare it with true or false", lit.pos, lit.text);
    }
    fail("unsupported attribute comparison", lit.pos, lit.text);
  }

  ExprPtr parse_lambda() {
    const Token path = next();
    const std::string l = lower(path.text);
    if (l.size() < 4 || l.compare(l.size() - 4, 4, "/any") != 0) {
      if (l.size() >= 4 && l.compare(l.size() - 4, 4, "/all") == 0) {
        fail("only the any() lambda is supported on Attributes", path.pos, path.text);
      }
      fail("expected Attributes/OData.CSC.<Type>Attribute/any(...)", path.pos, path.text);
    }
    const auto declared_outer = cast_type(path.text);
    expect(Tok::lparen, "'(' after any");
    const Token var = next();
    if (var.kind != Tok::word) fail("expected a lambda variable, e.g. any(att: ...)", var.pos, show(var));
    expect(Tok::colon, "':' after the lambda variable");
    // The body: var/Name eq '<name>' and var/[cast/]Value <op> <literal> (in either order, optionally parenthesised).
    int parens = 0;
    while (peek().kind == Tok::lparen) {
      ++at_;
      ++parens;
    }
    std::optional<std::string> name;
    std::optional<std::pair<CompareOp, Literal>> value;
    std::optional<AttributeType> declared = declared_outer;
    for (int part = 0; part < 2; ++part) {
      if (part == 1) {
        if (!is_word(peek(), "and"))
          fail("expected 'and' between the Name and Value conditions", peek().pos, show(peek()));
        ++at_;
      }
      const Token lhs = next();
      if (lhs.kind != Tok::word || lhs.text.rfind(var.text + "/", 0) != 0) {
        fail("expected " + var.text + "/Name or " + var.text + "/Value", lhs.pos, show(lhs));
      }
      const std::string member = lhs.text.substr(var.text.size() + 1);
      const Token opt = next();
      const auto op = opt.kind == Tok::word ? op_of(opt.text) : std::nullopt;
      if (!op) fail("expected a comparison operator", opt.pos, show(opt));
      const Literal lit = literal(next());
      if (member == "Name") {
        if (*op != CompareOp::eq || lit.kind != Literal::string) {
          fail("the attribute is chosen with " + var.text + "/Name eq '<name>'", lhs.pos, lhs.text);
        }
        name = lit.text;
      } else if (member == "Value" || (member.size() > 6 && member.compare(member.size() - 6, 6, "/Value") == 0)) {
        if (auto c = cast_type(member)) declared = c;
        value = std::make_pair(*op, lit);
      } else {
        fail("expected " + var.text + "/Name or " + var.text + "/Value", lhs.pos, lhs.text);
      }
    }
    while (parens-- > 0) expect(Tok::rparen, "')'");
    if (!name || !value) fail("the lambda needs one Name and one Value condition", var.pos, var.text);
    expect(Tok::rparen, "')' to close any(...)");
    if (value->second.kind == Literal::null) fail("attribute values are never null", value->second.pos, "null");
    return catalog::attribute(*name, value->first, coerce(*name, declared, value->second));
  }
};

}  // namespace

catalog::ExprPtr parse_filter(std::string_view text, const catalog::CollectionRegistry* registry) {
  if (text.size() > 64 * 1024) fail("the filter is longer than 64 KiB", 0, "");
  return Parser(text, registry).parse();
}

std::vector<catalog::SortKey> parse_orderby(std::string_view text) {
  std::vector<catalog::SortKey> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    std::string item(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    std::vector<std::string> words;
    std::size_t i = 0;
    while (i < item.size()) {
      while (i < item.size() && std::isspace(static_cast<unsigned char>(item[i]))) ++i;
      const std::size_t b = i;
      while (i < item.size() && !std::isspace(static_cast<unsigned char>(item[i]))) ++i;
      if (i > b) words.push_back(item.substr(b, i - b));
    }
    auto bad = [&](const std::string& why) {
      return Error(ErrorCode::invalid_parameter, "invalid $orderby '" + item + "': " + why, "$orderby");
    };
    if (words.empty() || words.size() > 2) throw bad("expected '<property> [asc|desc]'");
    catalog::SortKey k;
    const auto& p = words[0];
    if (p == "ContentDate/Start")
      k.field = Field::sensing_start;
    else if (p == "ContentDate/End")
      k.field = Field::sensing_end;
    else if (p == "PublicationDate")
      k.field = Field::publication;
    else if (p == "ModificationDate")
      k.field = Field::modification;
    else if (p == "Name")
      k.field = Field::name;
    else if (p == "Id")
      k.field = Field::id;
    else
      throw bad("sortable: ContentDate/Start, ContentDate/End, PublicationDate, ModificationDate, Name, Id");
    if (words.size() == 2) {
      const auto d = lower(words[1]);
      if (d != "asc" && d != "desc") throw bad("the direction is asc or desc");
      k.descending = d == "desc";
    }
    out.push_back(k);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (out.size() > 4) throw Error(ErrorCode::invalid_parameter, "$orderby takes at most 4 keys", "$orderby");
  return out;
}

}  // namespace ds::api::odata
