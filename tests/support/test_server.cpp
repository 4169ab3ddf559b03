// `dataspace` plus routes under /_test/ that exercise the HTTP core's streaming paths (file and
// multi-range bodies, chunked generators), its failure handling and graceful drain, for the API
// tests in tests/api/. Never built into the product binary.

#include <filesystem>
#include <fstream>
#include <thread>

#include "app/cli.hpp"
#include "core/error.hpp"
#include "http/body.hpp"
#include "http/range.hpp"

namespace {

// Deterministic bytes so clients can verify any range without a copy of the file.
std::string pattern_bytes(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * 31 + 7) % 251);
  return out;
}

void test_routes(ds::http::Router& router, const ds::Config& config) {
  using namespace ds::http;
  const auto file = config.data_dir / "_test" / "pattern.bin";
  std::filesystem::create_directories(file.parent_path());
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    const auto bytes = pattern_bytes(1'000'003);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  router.get("/_test/file", [file](Request& req) {
    Representation rep;
    rep.content_type = "application/octet-stream";
    rep.etag = "\"pattern-1000003\"";
    rep.last_modified = std::chrono::system_clock::from_time_t(1'650'000'000);
    return ranged_response(req, file_source(file), rep);
  });

  router.get("/_test/chunked", [](Request& req) {
    const std::size_t total = std::stoul(req.query.get("n").value_or("100000"));
    auto produced = std::make_shared<std::size_t>(0);
    Response res;
    res.headers.set("Content-Type", "application/octet-stream");
    res.stream = generator_stream([total, produced](char* out, std::size_t cap) {
      const std::size_t n = std::min(cap, total - *produced);
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>(((*produced + i) * 31 + 7) % 251);
      *produced += n;
      return n;
    });
    return res;
  });

  router.get("/_test/slow", [](Request& req) {
    const auto ms = std::stoul(req.query.get("ms").value_or("1000"));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<unsigned long>(ms, 10'000)));
    return Response::json({{"slept_ms", ms}});
  });

  router.get("/_test/throw", [](Request&) -> Response { throw std::runtime_error("deliberate failure"); });

  // A stand-in for a Sentinel Hub processing route (policy /api/v1/*: token, quota class processing)
  // until the processing family exists, for the identity tests. Echoes the caller.
  router.post(
      "/api/v1/_test/process",
      [](Request& req) {
        return Response::json({{"user", req.ctx.auth.user_id}, {"client_id", req.ctx.auth.client_id}});
      },
      ErrorFormat::sentinelhub);

  router.get("/_test/error", [](Request&) -> Response {
    throw ds::Error(ds::ErrorCode::invalid_parameter, "bbox must have 4 numbers", "bbox");
  });

  router.post("/_test/echo", [](Request& req) { return Response::json({{"bytes", req.body.size()}}); });

  router.get("/_test/items/{id:int}", [](Request& req) { return Response::json({{"id", req.param("id")}}); });
}

}  // namespace

int main(int argc, char** argv) { return ds::app::run_cli(argc, argv, test_routes); }
