#include <gtest/gtest.h>

#include "core/error.hpp"
#include "http/error_render.hpp"

TEST(Errors, TableMapsEveryCodeToItsStatus) {
  EXPECT_EQ(ds::http_status(ds::ErrorCode::invalid_parameter), 400);
  EXPECT_EQ(ds::http_status(ds::ErrorCode::unauthorized), 401);
  EXPECT_EQ(ds::http_status(ds::ErrorCode::not_found), 404);
  EXPECT_EQ(ds::http_status(ds::ErrorCode::payload_too_large), 413);
  EXPECT_EQ(ds::http_status(ds::ErrorCode::range_not_satisfiable), 416);
  EXPECT_EQ(ds::http_status(ds::ErrorCode::unprocessable), 422);
  EXPECT_EQ(ds::http_status(ds::ErrorCode::header_too_large), 431);
  EXPECT_EQ(ds::http_status(ds::ErrorCode::internal), 500);
  EXPECT_EQ(ds::error_code_for_status(429), ds::ErrorCode::too_many_requests);
}

TEST(Errors, ProblemJson_CarriesParameterRequestIdAndDetails) {
  ds::http::Request req;
  req.path = "/stac/search";
  req.ctx.request_id = "abc";
  ds::Error e(ds::ErrorCode::invalid_parameter, "bbox must have 4 or 6 numbers", "bbox");
  e.with_detail("position", 7);
  auto res = ds::http::render_problem_json(e, req);
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.headers.get("Content-Type"), "application/problem+json");
  auto body = nlohmann::json::parse(res.body);
  EXPECT_EQ(body["type"], "urn:dataspace:error:InvalidParameter");
  EXPECT_EQ(body["status"], 400);
  EXPECT_EQ(body["parameter"], "bbox");
  EXPECT_EQ(body["request_id"], "abc");
  EXPECT_EQ(body["instance"], "/stac/search");
  EXPECT_EQ(body["position"], 7);
}

TEST(Errors, RegisteredRendererIsUsedForItsFormat_AndErrorHeadersAreKept) {
  ds::http::ErrorRenderers renderers;
  renderers.set(ds::http::ErrorFormat::odata, [](const ds::Error& e, const ds::http::Request&) {
    return ds::http::Response::json({{"error", {{"code", "x"}, {"message", e.message()}}}}, ds::http_status(e.code()));
  });
  ds::http::Request req;
  req.ctx.error_format = ds::http::ErrorFormat::odata;
  ds::Error e(ds::ErrorCode::too_many_requests, "slow down");
  e.with_header("Retry-After", "3");
  auto res = renderers.render(e, req);
  EXPECT_EQ(res.status, 429);
  EXPECT_EQ(nlohmann::json::parse(res.body)["error"]["message"], "slow down");
  EXPECT_EQ(res.headers.get("Retry-After"), "3");

  req.ctx.error_format = ds::http::ErrorFormat::ogc;  // nothing registered: RFC 7807
  EXPECT_EQ(renderers.render(e, req).headers.get("Content-Type"), "application/problem+json");
}
