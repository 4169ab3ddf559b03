// CQL2 text → CQL2 JSON: a small recursive-descent parser over an on-the-fly lexer.
//
//   expr      := term { OR term }
//   term      := factor { AND factor }
//   factor    := NOT factor | '(' expr ')' | TRUE | FALSE | call | predicate
//   predicate := scalar ( cmp scalar | [NOT] LIKE scalar | [NOT] BETWEEN scalar AND scalar
//                       | [NOT] IN '(' scalar {',' scalar} ')' | IS [NOT] NULL )
//   call      := s_* | t_* | a_* '(' arg {',' arg} ')'      arg := scalar | '(' list ')'
//   scalar    := property | 'string' | number | TRUE | FALSE | TIMESTAMP('…') | DATE('…')
//              | INTERVAL(a, b) | BBOX(n, n, n, n[, n, n]) | WKT geometry

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string>

#include "api/stac/cql2.hpp"
#include "core/error.hpp"
#include "core/geometry.hpp"

namespace ds::api::stac {
namespace {

using nlohmann::json;

enum class Tok { end, ident, string, number, lparen, rparen, comma, op };

struct Token {
  Tok kind = Tok::end;
  std::string text;     // identifier (as written), string value, number text or operator
  std::size_t pos = 0;  // 0-based offset in the source
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

constexpr std::array<std::string_view, 27> kPredicateFunctions = {
    "s_intersects", "s_equals",   "s_disjoint",   "s_touches",  "s_within",      "s_overlaps",     "s_crosses",
    "s_contains",   "t_after",    "t_before",     "t_contains", "t_disjoint",    "t_during",       "t_equals",
    "t_finishedby", "t_finishes", "t_intersects", "t_meets",    "t_metby",       "t_overlappedby", "t_overlaps",
    "t_startedby",  "t_starts",   "a_equals",     "a_contains", "a_containedby", "a_overlaps"};

constexpr std::array<std::string_view, 7> kGeometryTypes = {
    "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection"};

bool is_predicate_function(const std::string& name) {
  return std::find(kPredicateFunctions.begin(), kPredicateFunctions.end(), name) != kPredicateFunctions.end();
}
bool is_geometry_type(const std::string& name) {
  return std::find(kGeometryTypes.begin(), kGeometryTypes.end(), name) != kGeometryTypes.end();
}

class Parser {
 public:
  Parser(std::string_view src, const char* parameter) : src_(src), parameter_(parameter) {}

  json parse() {
    if (src_.size() > kMaxCql2Length) {
      throw Error(ErrorCode::invalid_parameter,
                  "CQL2 filter is longer than " + std::to_string(kMaxCql2Length) + " bytes", parameter_);
    }
    advance();
    if (tok_.kind == Tok::end) fail(tok_, "the filter is empty");
    json out = expr();
    if (tok_.kind != Tok::end) fail(tok_, "unexpected " + describe(tok_) + " after a complete expression");
    return out;
  }

 private:
  [[noreturn]] void fail(const Token& at, const std::string& why) const {
    throw Error(ErrorCode::invalid_parameter, "CQL2 text: " + why + " at position " + std::to_string(at.pos + 1),
                parameter_)
        .with_detail("position", at.pos + 1);
  }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::end:
        return "end of filter";
      case Tok::string:
        return "string '" + t.text + "'";
      case Tok::number:
        return "number " + t.text;
      case Tok::ident:
        return "'" + t.text + "'";
      default:
        return "'" + t.text + "'";
    }
  }

  // --- lexer ---------------------------------------------------------------------------------
  void advance() { tok_ = lex(); }

  Token lex() {
    while (pos_ < src_.size() && std::isspace(static_cast<unsigned char>(src_[pos_]))) ++pos_;
    Token t;
    t.pos = pos_;
    if (pos_ >= src_.size()) return t;
    const char c = src_[pos_];
    auto single = [&](Tok k) {
      t.kind = k;
      t.text = std::string(1, c);
      ++pos_;
      return t;
    };
    if (c == '(') return single(Tok::lparen);
    if (c == ')') return single(Tok::rparen);
    if (c == ',') return single(Tok::comma);
    if (c == '\'') {
      ++pos_;
      std::string value;
      while (true) {
        if (pos_ >= src_.size()) {
          t.text = value;
          fail(t, "unterminated string literal");
        }
        if (src_[pos_] == '\'') {
          if (pos_ + 1 < src_.size() && src_[pos_ + 1] == '\'') {
            value += '\'';
            pos_ += 2;
            continue;
          }
          ++pos_;
          break;
        }
        value += src_[pos_++];
      }
      t.kind = Tok::string;
      t.text = value;
      return t;
    }
    if (c == '"') {  // delimited identifier
      const auto close = src_.find('"', pos_ + 1);
      if (close == std::string_view::npos) fail(t, "unterminated quoted identifier");
      t.kind = Tok::ident;
      t.text = std::string(src_.substr(pos_ + 1, close - pos_ - 1));
      pos_ = close + 1;
      if (t.text.empty()) fail(t, "empty quoted identifier");
      return t;
    }
    const bool sign = (c == '-' || c == '+') && pos_ + 1 < src_.size() &&
                      (std::isdigit(static_cast<unsigned char>(src_[pos_ + 1])) || src_[pos_ + 1] == '.');
    if (std::isdigit(static_cast<unsigned char>(c)) || sign ||
        (c == '.' && pos_ + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1])))) {
      std::size_t end = pos_ + (sign ? 1 : 0);
      while (end < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[end])) || src_[end] == '.')) ++end;
      if (end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
        std::size_t e = end + 1;
        if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
        if (e < src_.size() && std::isdigit(static_cast<unsigned char>(src_[e]))) {
          end = e;
          while (end < src_.size() && std::isdigit(static_cast<unsigned char>(src_[end]))) ++end;
        }
      }
      t.kind = Tok::number;
      t.text = std::string(src_.substr(pos_, end - pos_));
      pos_ = end;
      return t;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t end = pos_;
      while (end < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[end])) || src_[end] == '_' ||
                                   src_[end] == ':' || src_[end] == '.')) {
        ++end;
      }
      t.kind = Tok::ident;
      t.text = std::string(src_.substr(pos_, end - pos_));
      pos_ = end;
      return t;
    }
    if (c == '<' || c == '>' || c == '=') {
      t.kind = Tok::op;
      if (c == '<' && pos_ + 1 < src_.size() && (src_[pos_ + 1] == '=' || src_[pos_ + 1] == '>')) {
        t.text = std::string(src_.substr(pos_, 2));
        pos_ += 2;
      } else if (c == '>' && pos_ + 1 < src_.size() && src_[pos_ + 1] == '=') {
        t.text = ">=";
        pos_ += 2;
      } else {
        t.text = std::string(1, c);
        ++pos_;
      }
      return t;
    }
    if (c == '!' && pos_ + 1 < src_.size() && src_[pos_ + 1] == '=') {
      t.text = "!=";
      fail(t, "'!=' is not CQL2, use '<>'");
    }
    t.text = std::string(1, c);
    fail(t, std::string("unexpected character '") + (std::isprint(static_cast<unsigned char>(c)) ? t.text : "?") + "'");
  }

  bool keyword(const char* kw) const { return tok_.kind == Tok::ident && lower(tok_.text) == kw; }

  void expect(Tok kind, const char* what) {
    if (tok_.kind != kind) fail(tok_, std::string("expected ") + what + ", found " + describe(tok_));
    advance();
  }

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxCql2Depth) {
        p.fail(p.tok_, "the filter nests deeper than " + std::to_string(kMaxCql2Depth) + " levels");
      }
    }
    ~DepthGuard() { --p.depth_; }
  };

  // --- boolean level -------------------------------------------------------------------------
  json expr() {
    DepthGuard guard(*this);
    json left = term();
    if (!keyword("or")) return left;
    json args = json::array({left});
    while (keyword("or")) {
      advance();
      args.push_back(term());
    }
    return {{"op", "or"}, {"args", args}};
  }

  json term() {
    json left = factor();
    if (!keyword("and")) return left;
    json args = json::array({left});
    while (keyword("and")) {
      advance();
      args.push_back(factor());
    }
    return {{"op", "and"}, {"args", args}};
  }

  json factor() {
    DepthGuard guard(*this);
    if (keyword("not")) {
      advance();
      return {{"op", "not"}, {"args", json::array({factor()})}};
    }
    if (tok_.kind == Tok::lparen) {
      const Token open = tok_;
      advance();
      json inner = expr();
      if (tok_.kind != Tok::rparen) {
        fail(tok_, "expected ')' to close the '(' opened at character " + std::to_string(open.pos + 1) + ", found " +
                       describe(tok_));
      }
      advance();
      return inner;
    }
    if (tok_.kind == Tok::ident) {
      const std::string name = lower(tok_.text);
      if (is_predicate_function(name)) return call();
    }
    return predicate();
  }

  json call() {
    const Token fn = tok_;
    const std::string name = lower(fn.text);
    advance();
    if (tok_.kind != Tok::lparen) fail(tok_, "expected '(' after " + fn.text + ", found " + describe(tok_));
    advance();
    json args = json::array();
    if (tok_.kind != Tok::rparen) {
      while (true) {
        args.push_back(argument());
        if (tok_.kind == Tok::comma) {
          advance();
          continue;
        }
        break;
      }
    }
    if (tok_.kind != Tok::rparen) fail(tok_, "expected ',' or ')' in " + fn.text + "(...), found " + describe(tok_));
    advance();
    return {{"op", name}, {"args", args}};
  }

  // A function argument: a scalar or a parenthesised array ('a', 'b').
  json argument() {
    DepthGuard guard(*this);
    if (tok_.kind != Tok::lparen) return scalar();
    advance();
    json items = json::array();
    if (tok_.kind != Tok::rparen) {
      while (true) {
        items.push_back(argument());
        if (tok_.kind == Tok::comma) {
          advance();
          continue;
        }
        break;
      }
    }
    expect(Tok::rparen, "',' or ')' in an array");
    return items;
  }

  json predicate() {
    const Token start = tok_;
    json left = scalar();
    if (tok_.kind == Tok::op) {
      const std::string op = tok_.text;
      advance();
      return {{"op", op}, {"args", json::array({left, scalar()})}};
    }
    bool negated = false;
    if (keyword("not")) {
      negated = true;
      advance();
      if (!keyword("like") && !keyword("between") && !keyword("in")) {
        fail(tok_, "expected LIKE, BETWEEN or IN after NOT, found " + describe(tok_));
      }
    }
    json out;
    if (keyword("like")) {
      advance();
      out = {{"op", "like"}, {"args", json::array({left, scalar()})}};
    } else if (keyword("between")) {
      advance();
      json low = scalar();
      if (!keyword("and")) fail(tok_, "expected AND in BETWEEN ... AND ..., found " + describe(tok_));
      advance();
      json high = scalar();
      out = {{"op", "between"}, {"args", json::array({left, low, high})}};
    } else if (keyword("in")) {
      advance();
      if (tok_.kind != Tok::lparen) fail(tok_, "expected '(' after IN, found " + describe(tok_));
      advance();
      json list = json::array();
      while (true) {
        list.push_back(scalar());
        if (tok_.kind == Tok::comma) {
          advance();
          continue;
        }
        break;
      }
      expect(Tok::rparen, "',' or ')' in the IN list");
      out = {{"op", "in"}, {"args", json::array({left, list})}};
    } else if (keyword("is")) {
      advance();
      bool not_null = false;
      if (keyword("not")) {
        not_null = true;
        advance();
      }
      if (!keyword("null")) fail(tok_, "expected NULL after IS, found " + describe(tok_));
      advance();
      out = {{"op", "isNull"}, {"args", json::array({left})}};
      if (not_null) out = {{"op", "not"}, {"args", json::array({out})}};
    } else {
      if (left.is_boolean() && start.kind == Tok::ident) return left;  // TRUE / FALSE on their own
      fail(tok_, "expected a comparison operator (= <> < <= > >=), LIKE, BETWEEN, IN or IS NULL after " +
                     describe(start) + ", found " + describe(tok_));
    }
    if (negated) out = {{"op", "not"}, {"args", json::array({out})}};
    return out;
  }

  // --- scalars -------------------------------------------------------------------------------
  json scalar() {
    const Token t = tok_;
    switch (t.kind) {
      case Tok::string:
        advance();
        return t.text;
      case Tok::number:
        advance();
        return number(t);
      case Tok::ident:
        break;
      default:
        fail(t, "expected a property, a literal or a function, found " + describe(t));
    }
    const std::string name = lower(t.text);
    if (name == "true" || name == "false") {
      advance();
      return name == "true";
    }
    if (is_geometry_type(name)) return geometry(t);
    advance();
    if (tok_.kind != Tok::lparen) {
      if (name == "null") fail(t, "NULL is only allowed in IS [NOT] NULL");
      return {{"property", t.text}};
    }
    if (name == "timestamp" || name == "date") {
      advance();
      const Token arg = tok_;
      expect(Tok::string, "a quoted date-time");
      expect(Tok::rparen, "')'");
      return {{name, arg.text}};
    }
    if (name == "interval") {
      advance();
      json ends = json::array();
      for (int i = 0; i < 2; ++i) {
        if (i) expect(Tok::comma, "',' between the two ends of INTERVAL");
        const Token arg = tok_;
        if (arg.kind == Tok::string) {
          ends.push_back(arg.text);
          advance();
        } else if (arg.kind == Tok::ident && (lower(arg.text) == "timestamp" || lower(arg.text) == "date")) {
          json v = scalar();
          ends.push_back(v.begin().value());
        } else {
          fail(arg, "expected a quoted date-time or '..' in INTERVAL, found " + describe(arg));
        }
      }
      expect(Tok::rparen, "')' closing INTERVAL");
      return {{"interval", ends}};
    }
    if (name == "bbox") {
      advance();
      json numbers = json::array();
      while (true) {
        const Token n = tok_;
        if (n.kind != Tok::number) fail(n, "expected a number in BBOX(...), found " + describe(n));
        numbers.push_back(number(n));
        advance();
        if (tok_.kind == Tok::comma) {
          advance();
          continue;
        }
        break;
      }
      expect(Tok::rparen, "',' or ')' in BBOX(...)");
      if (numbers.size() != 4 && numbers.size() != 6) fail(t, "BBOX takes 4 or 6 numbers");
      return {{"bbox", numbers}};
    }
    if (is_predicate_function(name)) fail(t, t.text + " is a predicate and cannot be used as a value");
    fail(t, "unknown function '" + t.text + "'");
  }

  json number(const Token& t) const {
    const char* b = t.text.data();
    const char* e = b + t.text.size();
    if (*b == '+') ++b;
    const bool integral = t.text.find_first_of(".eE") == std::string::npos;
    if (integral) {
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(b, e, v);
      if (ec == std::errc() && p == e) return v;
    }
    double d = 0;
    auto [p, ec] = std::from_chars(b, e, d);
    if (ec != std::errc() || p != e) fail(t, "malformed number '" + t.text + "'");
    return d;
  }

  // A WKT geometry: the raw text up to its balanced closing parenthesis, validated by GEOS.
  json geometry(const Token& t) {
    std::size_t i = pos_;  // just after the type keyword
    while (i < src_.size() && std::isspace(static_cast<unsigned char>(src_[i]))) ++i;
    // Optional dimension (Z, M, ZM) or EMPTY.
    std::size_t word = i;
    while (word < src_.size() && std::isalpha(static_cast<unsigned char>(src_[word]))) ++word;
    const std::string tag = lower(std::string(src_.substr(i, word - i)));
    if (tag == "empty") fail(t, "empty geometries are not accepted");
    if (tag == "z" || tag == "m" || tag == "zm") i = word;
    while (i < src_.size() && std::isspace(static_cast<unsigned char>(src_[i]))) ++i;
    if (i >= src_.size() || src_[i] != '(') {
      Token at{Tok::end, "", i};
      fail(at, "expected '(' after " + t.text);
    }
    int depth = 0;
    std::size_t end = i;
    for (; end < src_.size(); ++end) {
      if (src_[end] == '(') ++depth;
      if (src_[end] == ')' && --depth == 0) break;
      if (depth > kMaxCql2Depth) fail(t, "the geometry nests too deep");
    }
    if (end >= src_.size()) fail(t, "unbalanced parentheses in the " + t.text + " geometry");
    const std::string wkt(src_.substr(t.pos, end + 1 - t.pos));
    pos_ = end + 1;
    std::string geojson;
    try {
      geojson = Geometry::from_wkt(wkt, parameter_).to_geojson();
    } catch (const Error& e) {
      fail(t, "invalid WKT geometry (" + e.message() + ")");
    }
    advance();
    return json::parse(geojson);
  }

  std::string_view src_;
  const char* parameter_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  Token tok_;
};

}  // namespace

json parse_cql2_text(std::string_view text, const char* parameter) { return Parser(text, parameter).parse(); }

}  // namespace ds::api::stac
