#pragma once
// Method + path-template routing. Templates are literal segments mixed with typed parameters:
//   /collections/{id}/items/{item_id}      one segment each (no '/')
//   /odata/v1/Products({id:uuid})/$value   a parameter inside a segment
//   /jobs/{n:int}                          digits only
//   /files/{rest:path}                     the rest of the path, '/' included (last only)
// More specific templates win (literal > mixed > typed > string > path, segment by segment), then
// registration order. A path that matches with another method answers 405 with Allow; HEAD is
// served by the GET handler when no HEAD route exists.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/error_render.hpp"
#include "http/message.hpp"
#include "http/metrics.hpp"

namespace ds::http {

using Handler = std::function<Response(Request&)>;

class BodySink;
// Decides, from a request's head (method, path, query, headers; no body yet), whether its body is
// streamed into a sink: returns the sink, or nullptr to have the body read into Request::body as
// usual (within http.body_limit). Runs before the middleware chain, so it authenticates itself;
// a ds::Error thrown here is answered (in the path's error format) before any body byte is read.
using BodySinkFactory = std::function<std::shared_ptr<BodySink>(Request&)>;
struct StreamedBodies {
  std::string prefix;       // paths starting with this
  std::uint64_t max_bytes;  // largest body a sink takes (larger: 413 before reading it)
  BodySinkFactory factory;
};

struct Link {
  std::string rel;
  std::string href;  // path relative to the server root, e.g. "/stac"
  std::string title;
  std::string type = "application/json";
};

class Router {
 public:
  explicit Router(Metrics& metrics) : metrics_(metrics) {}
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Registers a handler. Throws std::invalid_argument for a malformed template.
  void add(Method method, std::string_view path_template, Handler handler,
           ErrorFormat error_format = ErrorFormat::problem_json);
  void get(std::string_view t, Handler h, ErrorFormat f = ErrorFormat::problem_json) {
    add(Method::get, t, std::move(h), f);
  }
  void post(std::string_view t, Handler h, ErrorFormat f = ErrorFormat::problem_json) {
    add(Method::post, t, std::move(h), f);
  }
  void put(std::string_view t, Handler h, ErrorFormat f = ErrorFormat::problem_json) {
    add(Method::put, t, std::move(h), f);
  }
  void del(std::string_view t, Handler h, ErrorFormat f = ErrorFormat::problem_json) {
    add(Method::delete_, t, std::move(h), f);
  }

  // Error format of requests under `prefix` that match no route (so a 404 under /odata is OData's).
  void set_prefix_error_format(std::string prefix, ErrorFormat format);
  ErrorRenderers& error_renderers() { return renderers_; }
  const ErrorRenderers& error_renderers() const { return renderers_; }

  // Request bodies under `prefix` may be streamed into sinks made by `factory` (see BodySink)
  // instead of being read into memory, up to `max_bytes` instead of http.body_limit.
  void stream_bodies(std::string prefix, std::uint64_t max_bytes, BodySinkFactory factory);
  // The declaration covering `path`, or null.
  const StreamedBodies* streamed_bodies_for(std::string_view path) const;
  // The largest max_bytes declared (0 when none).
  std::uint64_t max_streamed_body() const;

  // Links shown on the landing page, one per API family.
  void add_link(Link link) { links_.push_back(std::move(link)); }
  const std::vector<Link>& links() const { return links_; }

  Metrics& metrics() { return metrics_; }

  // Finds the handler for `req`: fills req.params, req.ctx.route, req.ctx.error_format and
  // req.ctx.stats. Throws ds::Error not_found or method_not_allowed (with an Allow header).
  const Handler& resolve(Request& req) const;
  // The error format that applies to a path, whether or not a route matches it.
  ErrorFormat error_format_for(std::string_view path) const;

 private:
  struct Part {
    enum class Kind { literal, str, integer, uuid, path } kind;
    std::string text;  // literal text, or parameter name
  };
  struct Segment {
    std::vector<Part> parts;
    int score = 0;
  };
  struct Route {
    Method method;
    std::string path_template;
    std::vector<Segment> segments;
    Handler handler;
    ErrorFormat error_format;
    RouteStats* stats;
    std::vector<int> specificity;
    std::size_t order;
  };

  static std::vector<Segment> compile(std::string_view path_template);
  static bool match_route(const Route& route, const std::vector<std::string_view>& segments,
                          std::map<std::string, std::string, std::less<>>& params);
  static bool match_segment(const std::vector<Part>& parts, std::size_t pi, std::string_view seg,
                            std::map<std::string, std::string, std::less<>>& params);

  Metrics& metrics_;
  std::vector<std::unique_ptr<Route>> routes_;                          // sorted by specificity
  std::unordered_map<std::string, std::vector<const Route*>> literal_;  // all-literal templates by path
  // The routes a path can match, in routes_ order, by the path's first segment: those whose first
  // segment is that literal, and those whose first segment is not a plain literal (generic_).
  std::unordered_map<std::string, std::vector<const Route*>> by_first_;
  std::vector<const Route*> generic_;
  void index_first_segments();
  // The text of a first segment that is one literal (e.g. "odata"), or nullptr.
  static const std::string* plain_literal(const std::vector<Segment>& segments);
  std::vector<std::pair<std::string, ErrorFormat>> prefix_formats_;
  std::vector<StreamedBodies> streamed_;
  ErrorRenderers renderers_;
  std::vector<Link> links_;
};

}  // namespace ds::http
