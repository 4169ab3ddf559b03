#pragma once
// Transport-neutral HTTP request/response types that handlers see. Beast stays inside server.cpp,
// so api code compiles without it and handlers can be unit-tested without sockets.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/error_format.hpp"

namespace ds::http {

class BodyStream;
class BodySink;
struct RouteStats;

enum class Method { get, head, post, put, patch, delete_, options, other };
std::string_view method_name(Method m);
Method parse_method(std::string_view name);

bool iequals(std::string_view a, std::string_view b);

// Ordered header list with case-insensitive names (repeated names allowed, as HTTP permits).
class Headers {
 public:
  using Item = std::pair<std::string, std::string>;
  // First value of the header, if present.
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  // Replaces every value of `name` with one.
  void set(std::string_view name, std::string value);
  void add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }
  void erase(std::string_view name);
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  std::size_t size() const { return items_.size(); }

 private:
  std::vector<Item> items_;
};

// Decoded query string, in request order (a name may repeat).
class QueryParams {
 public:
  QueryParams() = default;
  // Parses a raw query string (without '?'); '+' means space; invalid escapes are kept literally.
  explicit QueryParams(std::string_view raw);
  std::optional<std::string> get(std::string_view name) const;
  // Same, with ASCII case-insensitive name comparison (OGC key-value pairs).
  std::optional<std::string> get_ci(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// Percent-decoding of a path segment or query component. `plus_is_space` for query strings.
std::string url_decode(std::string_view in, bool plus_is_space = false);
std::string url_encode(std::string_view in);

// The authenticated caller as the auth middleware (src/api/auth) established it. Plain strings, so
// the http layer needs no auth types; an empty user_id means anonymous.
struct Principal {
  std::string user_id;
  std::string email;
  std::string client_id;               // the OAuth client the token was issued to (azp)
  std::string typology = "anonymous";  // general|services|collaborative|international|admin
  bool authenticated() const { return !user_id.empty(); }
};

// Per-request state that travels with the request through middleware and handlers.
struct RequestContext {
  std::string request_id;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::string remote_addr;
  std::string route = "unmatched";  // matched route template, for logs and metrics
  ErrorFormat error_format = ErrorFormat::problem_json;
  std::string principal = "anonymous";                   // set by the auth hook
  Principal auth;                                        // the caller, set by the auth middleware
  RouteStats* stats = nullptr;                           // metrics slot of the matched route
  nlohmann::json log_fields = nlohmann::json::object();  // extra fields for the access log
};

struct Request {
  Method method = Method::get;
  std::string method_text;   // as sent, e.g. "GET" or an unknown token
  std::string target;        // raw request target, e.g. /stac/search?limit=10
  std::string path;          // raw (still percent-encoded) path part of target
  std::string query_string;  // raw query without '?'
  Headers headers;
  std::string body;
  // Set instead of `body` when the route streams request bodies (Router::stream_bodies) and its
  // factory took this one: the body has gone into this sink.
  std::shared_ptr<BodySink> body_sink;
  bool keep_alive = true;
  QueryParams query;
  std::map<std::string, std::string, std::less<>> params;  // decoded path parameters
  RequestContext ctx;

  // Path parameter by name; throws if the route did not declare it (a programming error).
  const std::string& param(std::string_view name) const;
  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
  // Scheme://host[:port] for links: configured public URL, or derived from the Host header.
  std::string base_url;
};

// Builds Request::path/query_string/query from target.
void split_target(Request& req);

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // When set, the body is streamed from here instead of `body` (Content-Length when the stream
  // knows its size, chunked transfer coding otherwise).
  std::shared_ptr<BodyStream> stream;

  static Response json(const nlohmann::json& value, int status = 200,
                       std::string_view content_type = "application/json");
  static Response text(std::string body, std::string_view content_type, int status = 200);
  static Response empty(int status);
};

}  // namespace ds::http
