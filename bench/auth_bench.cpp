// Micro-benchmarks of the per-request token check (issue #5: "token verification cost per
// request"): AuthService::verify_access_token on a real ES256 access token issued by the password
// grant, when the token is in the verified-token cache (every request after a client's first one)
// and when it is not (its first request: signature, expiry and claims), plus the signature check
// alone; then the whole in-process pipeline (router + auth middleware + handler) for the same request
// with and without `Authorization: Bearer`, on an anonymous route without quota (/health) and on a
// catalogue route with quota admission (limits lifted so nothing is refused). The whole-request
// cost over the network, authenticated vs anonymous, is measured with wrk in bench/run.

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>

#include "api/auth/middleware.hpp"
#include "api/auth/routes.hpp"
#include "auth/policy.hpp"
#include "auth/quota.hpp"
#include "auth/service.hpp"
#include "auth/store.hpp"
#include "http/middleware.hpp"

namespace fs = std::filesystem;
using namespace ds::auth;

namespace {

const char* kIssuer = "http://127.0.0.1/auth/realms/CDSE";

// One identity service over a throw-away SQLite store, with one user and one issued token.
struct World {
  fs::path dir;
  std::unique_ptr<AuthStore> store;
  std::unique_ptr<AuthService> service;
  std::string token;
  nlohmann::json claims;
  std::unique_ptr<QuotaService> quotas;
  PolicyTable policy;
  ds::http::Metrics metrics;
  ds::http::Router router{metrics};
  ds::http::Pipeline pipeline{router, ds::http::PipelineOptions{}};

  World() {
    dir = fs::temp_directory_path() / ("ds-bench-auth-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    store = open_sqlite_auth_store(dir / "catalogue.db");
    AuthOptions o;
    o.keys_dir = dir / "keys";
    o.password = {1024, 1, 1};  // the password hash is not what is measured here
    service = std::make_unique<AuthService>(*store, o);
    service->create_user("bench@example.org", "bench-password", Typology::general, "Bench", "bench");
    token = service->password_grant("cdse-public", "bench@example.org", "bench-password", "", "127.0.0.1", kIssuer)
                .access_token;
    std::string why;
    claims = *service->keys().verify(token, unix_now(), why);
    auto profiles = default_quota_profiles();
    apply_quota_overrides(profiles,
                          {"anonymous.catalogue_per_minute=unlimited", "general.catalogue_per_minute=unlimited"});
    quotas = std::make_unique<QuotaService>(store.get(), std::move(profiles));
    ds::api::auth::install_default_policy(policy);
    router.get("/health",
               [](ds::http::Request&) { return ds::http::Response::text(R"({"status":"ok"})", "application/json"); });
    router.get("/odata/v1/Products",
               [](ds::http::Request&) { return ds::http::Response::text(R"({"value":[]})", "application/json"); });
    pipeline.use(ds::api::auth::make_auth_middleware(*service, policy, *quotas));
  }
  ~World() {
    quotas.reset();
    service.reset();
    store.reset();
    fs::remove_all(dir);
  }
};

World& world() {
  static World w;
  return w;
}

// Every request after a client's first: the token is in the cache (lookup under a mutex + expiry).
void BM_VerifyToken_CacheHit(benchmark::State& state) {
  auto& w = world();
  std::string why;
  if (!w.service->verify_access_token(w.token, why)) state.SkipWithError(why.c_str());
  for (auto _ : state) benchmark::DoNotOptimize(w.service->verify_access_token(w.token, why));
}
BENCHMARK(BM_VerifyToken_CacheHit)->Threads(1)->Threads(2)->Unit(benchmark::kMicrosecond);

// A client's first request: an access token never seen (same claims as the issued one, a new jti,
// signed outside the timed region), so ES256 signature, expiry and claims are checked in full.
void BM_VerifyToken_CacheMiss(benchmark::State& state) {
  auto& w = world();
  std::string why;
  std::int64_t n = 0;
  for (auto _ : state) {
    auto claims = w.claims;
    claims["jti"] = "bench-" + std::to_string(++n);
    const std::string fresh = w.service->keys().sign(claims);
    const auto t0 = std::chrono::steady_clock::now();
    auto p = w.service->verify_access_token(fresh, why);
    const auto t1 = std::chrono::steady_clock::now();
    if (!p) {
      state.SkipWithError(why.c_str());
      break;
    }
    benchmark::DoNotOptimize(p);
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
  }
}
BENCHMARK(BM_VerifyToken_CacheMiss)->UseManualTime()->Unit(benchmark::kMicrosecond);

// The JWS check alone (header, ES256 signature with OpenSSL, exp/nbf): most of a cache miss.
void BM_JwsVerify(benchmark::State& state) {
  auto& w = world();
  std::string why;
  const auto now = unix_now();
  for (auto _ : state) benchmark::DoNotOptimize(w.service->keys().verify(w.token, now, why));
}
BENCHMARK(BM_JwsVerify)->Unit(benchmark::kMicrosecond);

ds::http::Request make(const std::string& target, const std::string& token) {
  ds::http::Request r;
  r.method_text = "GET";
  r.target = target;
  ds::http::split_target(r);
  r.headers.add("Host", "localhost");
  r.headers.add("User-Agent", "wrk");
  if (!token.empty()) r.headers.add("Authorization", "Bearer " + token);
  r.ctx.remote_addr = "127.0.0.1";
  return r;
}

// arg 0: /health (anonymous, no quota class), 1: /odata/v1/Products (anonymous, catalogue quota).
const char* kTargets[] = {"/health", "/odata/v1/Products?$top=1"};

void pipeline_bench(benchmark::State& state, bool with_token) {
  auto& w = world();
  const std::string target = kTargets[state.range(0)];
  const std::string token = with_token ? w.token : "";
  {
    auto req = make(target, token);
    const auto res = w.pipeline.handle(req);
    if (res.status != 200 || (with_token && req.ctx.auth.user_id.empty())) state.SkipWithError("not admitted");
  }
  for (auto _ : state) {
    auto req = make(target, token);
    benchmark::DoNotOptimize(w.pipeline.handle(req));
  }
  state.SetLabel(target);
}
void BM_Pipeline_Anonymous(benchmark::State& state) { pipeline_bench(state, false); }
void BM_Pipeline_Bearer(benchmark::State& state) { pipeline_bench(state, true); }
BENCHMARK(BM_Pipeline_Anonymous)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Pipeline_Bearer)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
