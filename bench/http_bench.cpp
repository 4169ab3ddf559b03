// Micro-benchmarks of the per-request work that does not touch the network: routing (literal fast
// path and parameterised templates) and the whole middleware pipeline for /health.

#include <benchmark/benchmark.h>

#include "http/middleware.hpp"

using namespace ds::http;

namespace {

struct World {
  Metrics metrics;
  Router router{metrics};
  Pipeline pipeline{router, PipelineOptions{}};
  World() {
    router.get("/health", [](Request&) { return Response::text(R"({"status":"ok"})", "application/json"); });
    for (int i = 0; i < 40; ++i) {
      router.get("/family" + std::to_string(i) + "/collections/{id}/items/{item}",
                 [](Request& r) { return Response::text(r.param("item"), "text/plain"); });
    }
    router.get("/odata/v1/Products({id:uuid})/Nodes({node})/$value",
               [](Request& r) { return Response::text(r.param("node"), "text/plain"); });
  }
};

Request make(const std::string& target) {
  Request r;
  r.method_text = "GET";
  r.target = target;
  split_target(r);
  r.headers.add("Host", "localhost");
  r.headers.add("User-Agent", "wrk");
  return r;
}

void BM_RouteLiteral(benchmark::State& state) {
  World w;
  for (auto _ : state) {
    auto req = make("/health");
    benchmark::DoNotOptimize(&w.router.resolve(req));
  }
}
BENCHMARK(BM_RouteLiteral);

void BM_RouteTemplate(benchmark::State& state) {
  World w;
  for (auto _ : state) {
    auto req = make("/family39/collections/sentinel-2-l2a/items/S2A_MSIL2A_20220615T101031");
    benchmark::DoNotOptimize(&w.router.resolve(req));
  }
}
BENCHMARK(BM_RouteTemplate);

void BM_RouteOdataNode(benchmark::State& state) {
  World w;
  for (auto _ : state) {
    auto req = make("/odata/v1/Products(0a1b2c3d-0000-4000-8000-00000000abcd)/Nodes(MTD_MSIL2A.xml)/$value");
    benchmark::DoNotOptimize(&w.router.resolve(req));
  }
}
BENCHMARK(BM_RouteOdataNode);

void BM_PipelineHealth(benchmark::State& state) {
  World w;
  for (auto _ : state) {
    auto req = make("/health");
    benchmark::DoNotOptimize(w.pipeline.handle(req));
  }
}
BENCHMARK(BM_PipelineHealth);

}  // namespace

BENCHMARK_MAIN();
