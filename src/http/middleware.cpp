#include "http/middleware.hpp"

#include <zlib.h>

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "core/log.hpp"

namespace ds::http {
namespace {

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':';
  });
}

bool compressible(std::string_view content_type) {
  auto semi = content_type.find(';');
  std::string_view t = content_type.substr(0, semi);
  return t.rfind("text/", 0) == 0 || t.find("json") != std::string_view::npos ||
         t.find("xml") != std::string_view::npos || t == "application/javascript";
}

// True when Accept-Encoding lists gzip with a non-zero quality.
bool accepts_gzip(std::string_view ae) {
  while (!ae.empty()) {
    auto comma = ae.find(',');
    std::string_view item = ae.substr(0, comma);
    ae = comma == std::string_view::npos ? std::string_view{} : ae.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    auto semi = item.find(';');
    std::string_view coding = item.substr(0, semi);
    while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
    if (!iequals(coding, "gzip") && coding != "*") continue;
    if (semi == std::string_view::npos) return true;
    std::string_view q = item.substr(semi + 1);
    auto eq = q.find('=');
    if (eq == std::string_view::npos) return true;
    q = q.substr(eq + 1);
    return !(q == "0" || q == "0.0" || q == "0.00" || q == "0.000");
  }
  return false;
}

constexpr std::string_view kExposedHeaders =
    "Content-Length, Content-Range, Content-Disposition, Content-Encoding, ETag, Last-Modified, Location, "
    "X-Request-Id, Retry-After";

}  // namespace

std::string request_id_for(const Request& req) {
  if (auto id = req.header("X-Request-Id"); id && sane_request_id(*id)) return std::string(*id);
  thread_local std::mt19937_64 rng(std::random_device{}());
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

std::string gzip_compress(std::string_view in) {
  z_stream zs{};
  if (deflateInit2(&zs, 5, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::bad_alloc();
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip failed");
  return out;
}

Response Next::operator()(Request& req) const { return pipeline_.run_inner(req, index_, handler_); }

Pipeline::Pipeline(const Router& router, PipelineOptions options) : router_(router), options_(std::move(options)) {}

Response Pipeline::run_inner(Request& req, std::size_t index, const Handler& handler) const {
  if (index < inner_.size()) return inner_[index](req, Next(*this, index + 1, handler));
  return handler(req);
}

Response Pipeline::render(Request& req, const Error& error) const {
  try {
    return router_.error_renderers().render(error, req);
  } catch (const std::exception& e) {
    log::error("request {}: error renderer failed: {}", req.ctx.request_id, e.what());
    return render_problem_json(error, req);
  }
}

Response Pipeline::reject(Request& req, const Error& error) const {
  if (req.ctx.request_id.empty()) req.ctx.request_id = request_id_for(req);
  req.ctx.error_format = router_.error_format_for(req.path);
  Response res = render(req, error);
  finish(req, res);
  return res;
}

Response Pipeline::handle(Request& req) const {
  req.ctx.request_id = request_id_for(req);
  if (req.base_url.empty()) {
    if (!options_.public_url.empty()) {
      req.base_url = options_.public_url;
    } else {
      auto host = req.header("Host");
      req.base_url = "http://" + std::string(host ? *host : "localhost");
    }
  }
  Response res;
  // CORS preflight: answered here for every path, before routing and authentication.
  const auto origin = req.header("Origin");
  if (req.method == Method::options && origin && req.header("Access-Control-Request-Method")) {
    res.status = 204;
    req.ctx.route = "preflight";
    res.headers.set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    if (auto h = req.header("Access-Control-Request-Headers"))
      res.headers.set("Access-Control-Allow-Headers", std::string(*h));
    res.headers.set("Access-Control-Max-Age", "86400");
  } else {
    try {
      const Handler& handler = router_.resolve(req);
      res = run_inner(req, 0, handler);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::internal) log::error("request {}: {}", req.ctx.request_id, e.message());
      res = render(req, e);
    } catch (const std::exception& e) {
      // Never leak internals to the client; the request id links the answer to this log line.
      log::error("request {}: unhandled exception: {}", req.ctx.request_id, e.what());
      res = render(req, Error(ErrorCode::internal, "internal error (request id " + req.ctx.request_id + ")"));
    } catch (...) {
      log::error("request {}: unhandled non-standard exception", req.ctx.request_id);
      res = render(req, Error(ErrorCode::internal, "internal error (request id " + req.ctx.request_id + ")"));
    }
  }
  finish(req, res);
  return res;
}

void Pipeline::finish(const Request& req, Response& res) const {
  res.headers.set("X-Request-Id", req.ctx.request_id);
  if (auto origin = req.header("Origin")) {
    const auto& allowed = options_.cors_origins;
    const bool any = std::find(allowed.begin(), allowed.end(), "*") != allowed.end();
    if (any) {
      res.headers.set("Access-Control-Allow-Origin", "*");
    } else if (std::find(allowed.begin(), allowed.end(), *origin) != allowed.end()) {
      res.headers.set("Access-Control-Allow-Origin", std::string(*origin));
      res.headers.add("Vary", "Origin");
    }
    if (res.headers.has("Access-Control-Allow-Origin"))
      res.headers.set("Access-Control-Expose-Headers", std::string(kExposedHeaders));
  }
  // gzip for in-memory text bodies only: streams are usually already compressed or ranged.
  if (!res.stream && res.body.size() >= options_.gzip_min_bytes && !res.headers.has("Content-Encoding")) {
    auto ct = res.headers.get("Content-Type");
    auto ae = req.header("Accept-Encoding");
    if (ct && compressible(*ct)) res.headers.add("Vary", "Accept-Encoding");  // caches must key on it
    if (ct && compressible(*ct) && ae && accepts_gzip(*ae)) {
      res.body = gzip_compress(res.body);
      res.headers.set("Content-Encoding", "gzip");
      if (auto etag = res.headers.get("ETag"); etag && etag->size() > 2 && etag->back() == '"') {
        std::string tagged(*etag);
        tagged.insert(tagged.size() - 1, "-gzip");
        res.headers.set("ETag", tagged);
      }
    }
  }
}

}  // namespace ds::http
