#include <gtest/gtest.h>

#include "core/error.hpp"
#include "http/router.hpp"

using namespace ds::http;

namespace {

Request make(Method m, std::string target) {
  Request r;
  r.method = m;
  r.method_text = std::string(method_name(m));
  r.target = std::move(target);
  split_target(r);
  return r;
}

Handler tag(std::string name) {
  return [name](Request&) { return Response::text(name, "text/plain"); };
}

std::string call(const Router& router, Method m, const std::string& target, Request* out = nullptr) {
  auto req = make(m, target);
  auto res = router.resolve(req)(req);
  if (out) *out = req;
  return res.body;
}

}  // namespace

TEST(Router, LiteralBeatsParameter_RegardlessOfOrder) {
  Metrics metrics;
  Router router(metrics);
  router.get("/collections/{id}", tag("param"));
  router.get("/collections/queryables", tag("literal"));
  EXPECT_EQ(call(router, Method::get, "/collections/queryables"), "literal");
  EXPECT_EQ(call(router, Method::get, "/collections/sentinel-2-l2a"), "param");
}

TEST(Router, ParametersAreDecodedAndTyped) {
  Metrics metrics;
  Router router(metrics);
  router.get("/jobs/{n:int}", tag("int"));
  router.get("/jobs/{name}", tag("str"));
  router.get("/odata/v1/Products({id:uuid})/$value", tag("uuid"));
  router.get("/odata/v1/Products({name})", tag("name"));
  router.get("/files/{rest:path}", tag("path"));
  Request req;
  EXPECT_EQ(call(router, Method::get, "/jobs/42", &req), "int");
  EXPECT_EQ(req.param("n"), "42");
  EXPECT_EQ(call(router, Method::get, "/jobs/my%20job", &req), "str");
  EXPECT_EQ(req.param("name"), "my job");
  EXPECT_EQ(call(router, Method::get, "/odata/v1/Products(0a1b2c3d-0000-4000-8000-00000000abcd)/$value", &req), "uuid");
  EXPECT_EQ(req.param("id"), "0a1b2c3d-0000-4000-8000-00000000abcd");
  EXPECT_EQ(call(router, Method::get, "/odata/v1/Products('S2A(x)')", &req), "name");
  EXPECT_EQ(req.param("name"), "'S2A(x)'");
  EXPECT_EQ(call(router, Method::get, "/files/a/b/c.tif", &req), "path");
  EXPECT_EQ(req.param("rest"), "a/b/c.tif");
  EXPECT_EQ(req.ctx.route, "/files/{rest:path}");
}

TEST(Router, TrailingSlashIsIgnoredAndQueryIsParsed) {
  Metrics metrics;
  Router router(metrics);
  router.get("/stac", tag("landing"));
  Request req;
  EXPECT_EQ(call(router, Method::get, "/stac/?limit=10&q=a+b&x=%2F", &req), "landing");
  EXPECT_EQ(req.query.get("limit"), "10");
  EXPECT_EQ(req.query.get("q"), "a b");
  EXPECT_EQ(req.query.get("x"), "/");
}

TEST(Router, UnknownPath_Is404_WithPrefixErrorFormat) {
  Metrics metrics;
  Router router(metrics);
  router.set_prefix_error_format("/odata", ErrorFormat::odata);
  auto req = make(Method::get, "/odata/v1/Nothing");
  try {
    router.resolve(req);
    FAIL();
  } catch (const ds::Error& e) {
    EXPECT_EQ(e.code(), ds::ErrorCode::not_found);
  }
  EXPECT_EQ(req.ctx.error_format, ErrorFormat::odata);
}

TEST(Router, WrongMethod_Is405_WithAllowListingHeadAndOptions) {
  Metrics metrics;
  Router router(metrics);
  router.get("/search", tag("get"));
  router.post("/search", tag("post"));
  auto req = make(Method::delete_, "/search");
  try {
    router.resolve(req);
    FAIL();
  } catch (const ds::Error& e) {
    EXPECT_EQ(e.code(), ds::ErrorCode::method_not_allowed);
    ASSERT_EQ(e.headers().size(), 1u);
    EXPECT_EQ(e.headers()[0].second, "GET, HEAD, OPTIONS, POST");
  }
}

TEST(Router, HeadFallsBackToGet) {
  Metrics metrics;
  Router router(metrics);
  router.get("/health", tag("get"));
  router.get("/items/{id}", tag("item"));
  EXPECT_EQ(call(router, Method::head, "/health"), "get");
  EXPECT_EQ(call(router, Method::head, "/items/7"), "item");
}

TEST(Router, MalformedTemplatesAndDuplicatesAreRejected) {
  Metrics metrics;
  Router router(metrics);
  EXPECT_THROW(router.get("no-slash", tag("x")), std::invalid_argument);
  EXPECT_THROW(router.get("/a/{b", tag("x")), std::invalid_argument);
  EXPECT_THROW(router.get("/a/{b:float}", tag("x")), std::invalid_argument);
  EXPECT_THROW(router.get("/a/{b:path}/c", tag("x")), std::invalid_argument);
  EXPECT_THROW(router.get("/a/{b}{c}", tag("x")), std::invalid_argument);
  router.get("/a", tag("x"));
  EXPECT_THROW(router.get("/a", tag("y")), std::invalid_argument);
}
