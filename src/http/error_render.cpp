#include "http/error_render.hpp"

namespace ds::http {

ErrorRenderers::ErrorRenderers() {
  renderers_[static_cast<std::size_t>(ErrorFormat::problem_json)] = render_problem_json;
}

void ErrorRenderers::set(ErrorFormat format, ErrorRenderer renderer) {
  renderers_[static_cast<std::size_t>(format)] = std::move(renderer);
}

Response ErrorRenderers::render(const Error& error, const Request& req) const {
  const auto& chosen = renderers_[static_cast<std::size_t>(req.ctx.error_format)];
  Response res = chosen ? chosen(error, req) : render_problem_json(error, req);
  for (const auto& [name, value] : error.headers()) res.headers.set(name, value);
  return res;
}

Response render_problem_json(const Error& error, const Request& req) {
  const auto& info = error_info(error.code());
  nlohmann::json body = {
      {"type", "urn:dataspace:error:" + std::string(info.id)},
      {"title", std::string(info.title)},
      {"status", info.http_status},
      {"detail", error.message()},
      {"instance", req.path},
  };
  if (!req.ctx.request_id.empty()) body["request_id"] = req.ctx.request_id;
  if (!error.parameter().empty()) body["parameter"] = error.parameter();
  for (const auto& [k, v] : error.details().items()) {
    if (!body.contains(k)) body[k] = v;
  }
  return Response::json(body, info.http_status, "application/problem+json");
}

}  // namespace ds::http
