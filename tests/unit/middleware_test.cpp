#include <zlib.h>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "http/middleware.hpp"

using namespace ds::http;

namespace {

std::string gunzip(const std::string& in) {
  z_stream zs{};
  inflateInit2(&zs, 15 + 16);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

struct Fixture {
  Metrics metrics;
  Router router{metrics};
  std::unique_ptr<Pipeline> pipeline;

  explicit Fixture(std::vector<std::string> origins = {"*"}) {
    router.get("/big", [](Request&) { return Response::text(std::string(5000, 'a'), "application/json"); });
    router.get("/small", [](Request&) { return Response::text("{}", "application/json"); });
    router.get("/png", [](Request&) { return Response::text(std::string(5000, 'p'), "image/png"); });
    router.get("/boom", [](Request&) -> Response { throw std::runtime_error("secret internals"); });
    router.get("/bad", [](Request&) -> Response { throw ds::Error(ds::ErrorCode::invalid_parameter, "nope", "x"); });
    PipelineOptions o;
    o.cors_origins = std::move(origins);
    pipeline = std::make_unique<Pipeline>(router, o);
  }

  Response get(const std::string& target, std::initializer_list<std::pair<std::string, std::string>> headers = {}) {
    Request r;
    r.method_text = "GET";
    r.target = target;
    split_target(r);
    for (const auto& [k, v] : headers) r.headers.add(k, v);
    return pipeline->handle(r);
  }
};

}  // namespace

TEST(Pipeline, GzipsLargeTextBodiesOnlyWhenAccepted) {
  Fixture f;
  auto zipped = f.get("/big", {{"Accept-Encoding", "gzip, deflate"}});
  EXPECT_EQ(zipped.headers.get("Content-Encoding"), "gzip");
  EXPECT_EQ(gunzip(zipped.body), std::string(5000, 'a'));
  EXPECT_FALSE(f.get("/big").headers.has("Content-Encoding"));
  EXPECT_FALSE(f.get("/big", {{"Accept-Encoding", "gzip;q=0"}}).headers.has("Content-Encoding"));
  EXPECT_FALSE(f.get("/small", {{"Accept-Encoding", "gzip"}}).headers.has("Content-Encoding"));
  EXPECT_FALSE(f.get("/png", {{"Accept-Encoding", "gzip"}}).headers.has("Content-Encoding"));
}

TEST(Pipeline, RequestIdIsEchoedWhenSaneAndGeneratedOtherwise) {
  Fixture f;
  EXPECT_EQ(f.get("/small", {{"X-Request-Id", "client-42"}}).headers.get("X-Request-Id"), "client-42");
  auto generated = f.get("/small", {{"X-Request-Id", "bad id with spaces"}}).headers.get("X-Request-Id");
  ASSERT_TRUE(generated);
  EXPECT_EQ(generated->size(), 32u);
}

TEST(Pipeline, HandlerExceptionBecomes500WithoutInternals) {
  Fixture f;
  auto res = f.get("/boom");
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body.find("secret internals"), std::string::npos);
  EXPECT_EQ(f.get("/bad").status, 400);
  EXPECT_EQ(f.get("/missing").status, 404);
}

TEST(Pipeline, CorsAllowsConfiguredOriginsAndAnswersPreflight) {
  Fixture any;
  EXPECT_EQ(any.get("/small", {{"Origin", "https://a.example"}}).headers.get("Access-Control-Allow-Origin"), "*");
  Fixture strict({"https://ok.example"});
  EXPECT_EQ(strict.get("/small", {{"Origin", "https://ok.example"}}).headers.get("Access-Control-Allow-Origin"),
            "https://ok.example");
  EXPECT_FALSE(strict.get("/small", {{"Origin", "https://evil.example"}}).headers.has("Access-Control-Allow-Origin"));

  Request pre;
  pre.method = Method::options;
  pre.method_text = "OPTIONS";
  pre.target = "/anything";
  split_target(pre);
  pre.headers.add("Origin", "https://a.example");
  pre.headers.add("Access-Control-Request-Method", "POST");
  pre.headers.add("Access-Control-Request-Headers", "authorization, content-type");
  auto res = any.pipeline->handle(pre);
  EXPECT_EQ(res.status, 204);
  EXPECT_EQ(res.headers.get("Access-Control-Allow-Headers"), "authorization, content-type");
}

TEST(Pipeline, UserMiddlewareRunsAfterRoutingAndCanRefuse) {
  Fixture f;
  f.pipeline->use([](Request& req, const Next& next) -> Response {
    if (req.ctx.route == "/big") throw ds::Error(ds::ErrorCode::unauthorized, "token required");
    req.ctx.principal = "user-1";
    return next(req);
  });
  EXPECT_EQ(f.get("/big").status, 401);
  EXPECT_EQ(f.get("/small").status, 200);
}

TEST(Metrics, PrometheusExpositionCountsByRouteAndStatus) {
  Metrics m;
  auto* r = m.route("GET", "/health");
  r->observe(200, 0.0002, 15);
  r->observe(200, 0.003, 15);
  r->observe(503, 0.2, 10);
  const auto text = m.prometheus();
  EXPECT_NE(text.find("dataspace_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("dataspace_http_requests_total{method=\"GET\",route=\"/health\",status=\"503\"} 1"),
            std::string::npos);
  EXPECT_NE(
      text.find("dataspace_http_request_duration_seconds_bucket{method=\"GET\",route=\"/health\",le=\"0.0005\"} 1"),
      std::string::npos);
  EXPECT_NE(text.find("le=\"+Inf\"} 3"), std::string::npos);
  EXPECT_NE(text.find("dataspace_http_response_bytes_total{method=\"GET\",route=\"/health\"} 40"), std::string::npos);
}
