#pragma once
// Turns a ds::Error into a response in the vocabulary of the protocol that was asked. The RFC 7807
// renderer is built in; protocol families register theirs (OData, OGC, openEO, S3, Sentinel Hub)
// on the Router from their register_routes().

#include <array>
#include <functional>

#include "core/error.hpp"
#include "http/error_format.hpp"
#include "http/message.hpp"

namespace ds::http {

using ErrorRenderer = std::function<Response(const Error&, const Request&)>;

class ErrorRenderers {
 public:
  ErrorRenderers();
  void set(ErrorFormat format, ErrorRenderer renderer);
  // Renders with the request's error format (its route's, or its prefix's), falling back to RFC 7807
  // when no renderer is registered for it. Adds the error's own headers (Allow, Retry-After...).
  Response render(const Error& error, const Request& req) const;

 private:
  std::array<ErrorRenderer, 8> renderers_;
};

// application/problem+json: type, title, status, detail, instance, plus request_id, parameter and
// the error's details.
Response render_problem_json(const Error& error, const Request& req);

}  // namespace ds::http
