// Fuzz target: raw bytes → Beast request parser (with the server's limits) → our Request →
// routing + the whole middleware pipeline. Must never crash, hang or leak; any input yields a
// Response. Built with libFuzzer by `make fuzz` (clang); the normal build links it to
// fuzz_driver.cpp and replays the corpus plus random mutations as a CTest test.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/error.hpp"
#include "http/middleware.hpp"

namespace {

namespace bhttp = boost::beast::http;
using namespace ds::http;

struct World {
  Metrics metrics;
  Router router{metrics};
  Pipeline pipeline{router, PipelineOptions{}};
  World() {
    router.get("/health", [](Request&) { return Response::text("{}", "application/json"); });
    router.get("/collections/{id}/items/{item}", [](Request& r) { return Response::json({{"id", r.param("item")}}); });
    router.get("/odata/v1/Products({id:uuid})/$value",
               [](Request& r) { return Response::text(r.param("id"), "text/plain"); });
    router.get("/files/{rest:path}", [](Request& r) { return Response::text(r.param("rest"), "text/plain"); });
    router.post("/echo", [](Request& r) { return Response::text(r.body, "application/json"); });
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World world;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return 0;
  const auto& msg = parser.get();
  Request req;
  req.method_text = std::string(msg.method_string());
  req.method = parse_method(req.method_text);
  req.target = std::string(msg.target());
  split_target(req);
  for (const auto& f : msg) req.headers.add(std::string(f.name_string()), std::string(f.value()));
  req.body = msg.body();
  Response res = world.pipeline.handle(req);
  if (res.status < 100 || res.status > 599) __builtin_trap();
  return 0;
}
