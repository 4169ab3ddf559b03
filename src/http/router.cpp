#include "http/router.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace ds::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);  // /stac/ == /stac
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.empty()) return out;
  while (true) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

bool is_int(std::string_view s) {
  return !s.empty() && s.size() <= 18 &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

std::string_view normalise(std::string_view path) {
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}

}  // namespace

std::vector<Router::Segment> Router::compile(std::string_view tmpl) {
  if (tmpl.empty() || tmpl.front() != '/') throw std::invalid_argument("route template must start with '/'");
  std::vector<Segment> out;
  for (std::string_view seg : split_path(tmpl)) {
    Segment s;
    std::size_t i = 0;
    bool literal_only = true;
    int typed = 0;
    while (i < seg.size()) {
      if (seg[i] == '{') {
        auto close = seg.find('}', i);
        if (close == std::string_view::npos) throw std::invalid_argument("unclosed '{' in " + std::string(tmpl));
        std::string_view spec = seg.substr(i + 1, close - i - 1);
        std::string_view name = spec;
        Part::Kind kind = Part::Kind::str;
        if (auto colon = spec.find(':'); colon != std::string_view::npos) {
          name = spec.substr(0, colon);
          std::string_view type = spec.substr(colon + 1);
          if (type == "int")
            kind = Part::Kind::integer;
          else if (type == "uuid")
            kind = Part::Kind::uuid;
          else if (type == "path")
            kind = Part::Kind::path;
          else if (type != "str")
            throw std::invalid_argument("unknown parameter type " + std::string(type));
        }
        if (name.empty()) throw std::invalid_argument("unnamed parameter in " + std::string(tmpl));
        if (!s.parts.empty() && s.parts.back().kind != Part::Kind::literal)
          throw std::invalid_argument("two adjacent parameters in " + std::string(tmpl));
        s.parts.push_back({kind, std::string(name)});
        literal_only = false;
        if (kind == Part::Kind::integer || kind == Part::Kind::uuid) typed = 1;
        if (kind == Part::Kind::path) typed = -1;
        i = close + 1;
      } else {
        auto open = seg.find('{', i);
        s.parts.push_back({Part::Kind::literal, std::string(seg.substr(i, open - i))});
        i = open == std::string_view::npos ? seg.size() : open;
      }
    }
    if (literal_only)
      s.score = 4;
    else if (typed < 0)
      s.score = 0;
    else if (s.parts.size() > 1)
      s.score = 3;
    else if (typed > 0)
      s.score = 2;
    else
      s.score = 1;
    out.push_back(std::move(s));
  }
  for (std::size_t k = 0; k < out.size(); ++k) {
    for (const auto& p : out[k].parts) {
      if (p.kind == Part::Kind::path && (k + 1 != out.size() || out[k].parts.size() != 1))
        throw std::invalid_argument("a {name:path} parameter must be the whole last segment");
    }
  }
  return out;
}

void Router::add(Method method, std::string_view tmpl, Handler handler, ErrorFormat error_format) {
  auto route = std::make_unique<Route>();
  route->method = method;
  route->path_template = std::string(normalise(tmpl));
  route->segments = compile(tmpl);
  route->handler = std::move(handler);
  route->error_format = error_format;
  route->stats = metrics_.route(std::string(method_name(method)), route->path_template);
  route->order = routes_.size();
  bool all_literal = true;
  for (const auto& s : route->segments) {
    route->specificity.push_back(s.score);
    all_literal = all_literal && s.score == 4;
  }
  for (const auto& r : routes_) {
    if (r->method == method && r->path_template == route->path_template)
      throw std::invalid_argument("route registered twice: " + route->path_template);
  }
  if (all_literal) literal_[route->path_template].push_back(route.get());
  routes_.push_back(std::move(route));
  std::stable_sort(routes_.begin(), routes_.end(), [](const auto& a, const auto& b) {
    if (a->specificity != b->specificity) return a->specificity > b->specificity;
    return a->order < b->order;
  });
  index_first_segments();
}

const std::string* Router::plain_literal(const std::vector<Segment>& segments) {
  if (segments.empty() || segments.front().parts.size() != 1) return nullptr;
  const auto& part = segments.front().parts.front();
  return part.kind == Part::Kind::literal ? &part.text : nullptr;
}

void Router::index_first_segments() {
  by_first_.clear();
  generic_.clear();
  for (const auto& r : routes_) {
    if (const std::string* first = plain_literal(r->segments)) by_first_.try_emplace(*first);
  }
  for (const auto& r : routes_) {
    const std::string* first = plain_literal(r->segments);
    if (!first) generic_.push_back(r.get());
    for (auto& [literal, list] : by_first_) {
      if (!first || *first == literal) list.push_back(r.get());
    }
  }
}

void Router::set_prefix_error_format(std::string prefix, ErrorFormat format) {
  prefix_formats_.emplace_back(std::move(prefix), format);
  std::sort(prefix_formats_.begin(), prefix_formats_.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

void Router::stream_bodies(std::string prefix, std::uint64_t max_bytes, BodySinkFactory factory) {
  streamed_.push_back({std::move(prefix), max_bytes, std::move(factory)});
  std::sort(streamed_.begin(), streamed_.end(),
            [](const auto& a, const auto& b) { return a.prefix.size() > b.prefix.size(); });
}

const StreamedBodies* Router::streamed_bodies_for(std::string_view path) const {
  for (const auto& s : streamed_) {
    if (path.substr(0, s.prefix.size()) == s.prefix) return &s;
  }
  return nullptr;
}

std::uint64_t Router::max_streamed_body() const {
  std::uint64_t out = 0;
  for (const auto& s : streamed_) out = std::max(out, s.max_bytes);
  return out;
}

ErrorFormat Router::error_format_for(std::string_view path) const {
  for (const auto& [prefix, format] : prefix_formats_) {
    if (path.substr(0, prefix.size()) == prefix) return format;
  }
  return ErrorFormat::problem_json;
}

bool Router::match_segment(const std::vector<Part>& parts, std::size_t pi, std::string_view seg,
                           std::map<std::string, std::string, std::less<>>& params) {
  if (pi == parts.size()) return seg.empty();
  const Part& part = parts[pi];
  if (part.kind == Part::Kind::literal) {
    if (seg.substr(0, part.text.size()) != part.text) return false;
    return match_segment(parts, pi + 1, seg.substr(part.text.size()), params);
  }
  // A parameter takes a non-empty prefix of the segment; try each split, longest last literal wins
  // naturally because a literal must then match the remainder exactly.
  for (std::size_t len = seg.size(); len >= 1; --len) {
    std::string_view value = seg.substr(0, len);
    if (pi + 1 == parts.size() && len != seg.size()) return false;
    if (pi + 1 < parts.size()) {
      const Part& next = parts[pi + 1];
      if (seg.substr(len, next.text.size()) != next.text) continue;
    }
    std::string decoded = url_decode(value);
    if (part.kind == Part::Kind::integer && !is_int(decoded)) continue;
    if (part.kind == Part::Kind::uuid && !is_uuid(decoded)) continue;
    if (match_segment(parts, pi + 1, seg.substr(len), params)) {
      params[part.text] = std::move(decoded);
      return true;
    }
  }
  return false;
}

bool Router::match_route(const Route& route, const std::vector<std::string_view>& segments,
                         std::map<std::string, std::string, std::less<>>& params) {
  const auto& tsegs = route.segments;
  const bool tail = !tsegs.empty() && tsegs.back().parts.front().kind == Part::Kind::path;
  if (tail ? segments.size() < tsegs.size() : segments.size() != tsegs.size()) return false;
  // The literals at both ends of each segment first: most routes fail there, before any parameter
  // is decoded or stored (no allocation for the routes a path does not take).
  for (std::size_t i = 0; i < tsegs.size(); ++i) {
    const auto& parts = tsegs[i].parts;
    if (parts.front().kind == Part::Kind::path) break;
    const std::string_view seg = segments[i];
    if (parts.size() == 1 && parts.front().kind == Part::Kind::literal) {
      if (seg != parts.front().text) return false;
      continue;
    }
    if (parts.front().kind == Part::Kind::literal && !seg.starts_with(parts.front().text)) return false;
    if (parts.back().kind == Part::Kind::literal && !seg.ends_with(parts.back().text)) return false;
  }
  std::map<std::string, std::string, std::less<>> found;
  for (std::size_t i = 0; i < tsegs.size(); ++i) {
    const auto& parts = tsegs[i].parts;
    if (parts.front().kind == Part::Kind::path) {
      std::string rest;
      for (std::size_t k = i; k < segments.size(); ++k) {
        if (k > i) rest += '/';
        rest += url_decode(segments[k]);
      }
      if (rest.empty()) return false;
      found[parts.front().text] = std::move(rest);
      break;
    }
    if (!match_segment(parts, 0, segments[i], found)) return false;
  }
  params = std::move(found);
  return true;
}

const Handler& Router::resolve(Request& req) const {
  const std::string_view path = normalise(req.path);
  const Method wanted = req.method;
  auto accept = [&](const Route& r) -> const Handler& {
    req.ctx.route = r.path_template;
    req.ctx.error_format = r.error_format;
    req.ctx.stats = r.stats;
    return r.handler;
  };

  // Fast path: an all-literal template equal to the path.
  if (auto it = literal_.find(std::string(path)); it != literal_.end()) {
    for (const Route* r : it->second) {
      if (r->method == wanted) return accept(*r);
    }
    if (wanted == Method::head) {
      for (const Route* r : it->second) {
        if (r->method == Method::get) return accept(*r);
      }
    }
  }

  const auto segments = split_path(path);
  std::vector<std::string> allowed;
  const Route* get_match = nullptr;
  std::map<std::string, std::string, std::less<>> get_params;
  ErrorFormat matched_format = error_format_for(path);
  const auto candidates = segments.empty() ? by_first_.end() : by_first_.find(std::string(segments.front()));
  for (const Route* r : candidates == by_first_.end() ? generic_ : candidates->second) {
    std::map<std::string, std::string, std::less<>> params;
    if (!match_route(*r, segments, params)) continue;
    if (r->method == wanted) {
      req.params = std::move(params);
      return accept(*r);
    }
    if (allowed.empty()) matched_format = r->error_format;
    if (r->method == Method::get && !get_match) {
      get_match = r;
      get_params = std::move(params);
    }
    allowed.emplace_back(method_name(r->method));
  }
  if (wanted == Method::head && get_match) {
    req.params = std::move(get_params);
    return accept(*get_match);
  }
  req.ctx.error_format = matched_format;
  if (allowed.empty()) {
    throw Error(ErrorCode::not_found, "no resource at " + std::string(path));
  }
  if (std::find(allowed.begin(), allowed.end(), "GET") != allowed.end()) allowed.emplace_back("HEAD");
  allowed.emplace_back("OPTIONS");
  std::sort(allowed.begin(), allowed.end());
  allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
  std::string allow;
  for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
  throw Error(ErrorCode::method_not_allowed, "method " + req.method_text + " is not allowed on " + std::string(path))
      .with_detail("allowed_methods", allowed)
      .with_header("Allow", allow);
}

}  // namespace ds::http
