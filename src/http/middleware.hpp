#pragma once
// The request pipeline: a chain of middleware around the router. Built-in links, outermost first:
//   request id  → CORS → gzip → error rendering → [user middleware, e.g. auth/quota] → route handler
// The access log and metrics are recorded by the server once the last byte is sent, because only
// then are the status, the byte count and the duration final.

#include <functional>
#include <string>
#include <vector>

#include "http/message.hpp"
#include "http/router.hpp"

namespace ds::http {

class Pipeline;

// Calls the rest of the chain.
class Next {
 public:
  Next(const Pipeline& p, std::size_t index, const Handler& handler) : pipeline_(p), index_(index), handler_(handler) {}
  Response operator()(Request& req) const;

 private:
  const Pipeline& pipeline_;
  std::size_t index_;
  const Handler& handler_;
};

using Middleware = std::function<Response(Request&, const Next&)>;

struct PipelineOptions {
  std::vector<std::string> cors_origins = {"*"};
  std::size_t gzip_min_bytes = 1024;
  std::string public_url;  // base for links; empty = from Host header
};

class Pipeline {
 public:
  Pipeline(const Router& router, PipelineOptions options);

  // Adds a middleware that runs after routing (req.ctx.route is known) and inside error rendering,
  // in the order added. The identity issue installs authentication and quotas here.
  void use(Middleware m) { inner_.push_back(std::move(m)); }

  const Router& router() const { return router_; }

  // Runs the whole chain. Never throws: every failure becomes an error response.
  Response handle(Request& req) const;
  // The error response for a failure detected before a Request could be dispatched
  // (bad syntax, head too large...), rendered in the format that applies to the path.
  Response reject(Request& req, const Error& error) const;

 private:
  friend class Next;
  Response run_inner(Request& req, std::size_t index, const Handler& handler) const;
  Response render(Request& req, const Error& error) const;
  void finish(const Request& req, Response& res) const;

  const Router& router_;
  PipelineOptions options_;
  std::vector<Middleware> inner_;
};

// Fresh random request id (32 hex digits), or the client's X-Request-Id when it is sane.
std::string request_id_for(const Request& req);

// gzip-compresses `in` (level 5). Used for text bodies when the client accepts gzip.
std::string gzip_compress(std::string_view in);

}  // namespace ds::http
