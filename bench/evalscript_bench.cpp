// Micro-benchmarks of the evalscript runtime (issue #8): an NDVI evalscript over a 512×512 tile
// in one call, as the raster engine calls it for outputs up to 2^20 pixels.
//   Warm: the same Script evaluated again (JIT warm) — the pixel cost alone.
//   Request: a new Script per tile for the same owner — what a repeated request pays: the script's
//         top-level code, setup and pixels in the warm context of the previous request.
//   Cold: a new Script per tile for a new owner each time (fresh context + library + compile +
//         setup + pixels) — what a first request pays on a warm worker thread.
//   ColdThread: a new thread, hence a new isolate, per tile — a worker's first request.
//   Create: context + library + compile + setup() only.
// Counters: ns_per_px (time per pixel) and px/s.

#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "evalscript/script.hpp"

using namespace ds::evalscript;

namespace {

constexpr std::size_t kSide = 512, kPixels = kSide * kSide, kBatch = kPixels;

const char* kNdvi = R"(//VERSION=3
function setup() {
  return {input: ["B04", "B08", "dataMask"], output: {bands: 2, sampleType: "FLOAT32"}};
}
function evaluatePixel(s) {
  return [index(s.B08, s.B04), s.dataMask];
}
)";

const char* kNdviRamp = R"(//VERSION=3
const ramp = new ColorRampVisualizer([[-0.2, 0xbfbfbf], [0, 0xeaeaea], [0.2, 0xccc682], [0.4, 0x91bf51],
                                      [0.6, 0x4f892d], [0.8, 0x0f540a], [1, 0x004400]]);
function setup() {
  return {input: ["B04", "B08", "dataMask"], output: {bands: 4}};
}
function evaluatePixel(s) {
  const ndvi = index(s.B08, s.B04);
  return ramp.process(ndvi).concat(s.dataMask);
}
)";

// Band-major input of the whole tile (B04, B08, dataMask) with plausible reflectances.
struct Tile {
  std::vector<float> bands[3];
  Tile() {
    for (auto& b : bands) b.resize(kPixels);
    for (std::size_t i = 0; i < kPixels; ++i) {
      bands[0][i] = 0.02f + 0.2f * static_cast<float>((i * 7919) % 1000) / 1000.0f;
      bands[1][i] = 0.05f + 0.5f * static_cast<float>((i * 104729) % 1000) / 1000.0f;
      bands[2][i] = (i % 97) ? 1.0f : 0.0f;
    }
  }
};

const Tile& tile() {
  static const Tile t;
  return t;
}

// Evaluates the whole tile batch by batch; `out` holds kPixels × bands.
void run_tile(Script& script, std::vector<float>& out, std::vector<float>& batch) {
  const auto& t = tile();
  const int bands = script.setup().outputs[0].bands;
  out.resize(kPixels * static_cast<std::size_t>(bands));
  batch.resize(3 * kBatch);
  for (std::size_t start = 0; start < kPixels; start += kBatch) {
    const std::size_t n = std::min(kBatch, kPixels - start);
    for (int b = 0; b < 3; ++b) std::copy_n(t.bands[b].data() + start, n, batch.data() + b * n);
    SourceBatch src{"", {"B04", "B08", "dataMask"}, 1, batch.data()};
    OutputBatch ob{std::span<float>(out.data() + start * bands, n * bands)};
    script.evaluate(std::span<const SourceBatch>(&src, 1), n, std::span<OutputBatch>(&ob, 1));
  }
}

void per_pixel_counters(benchmark::State& state) {
  const double px = static_cast<double>(kPixels);
  // Shown as seconds per 1e9 pixels, i.e. ns per pixel (wall time).
  state.counters["ns_per_px"] =
      benchmark::Counter(px * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["px/s"] = benchmark::Counter(px, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Warm(benchmark::State& state, const char* source) {
  Script script(thread_runtime(), source);
  std::vector<float> out, batch;
  run_tile(script, out, batch);  // warm the JIT
  for (auto _ : state) {
    run_tile(script, out, batch);
    benchmark::DoNotOptimize(out.data());
  }
  per_pixel_counters(state);
}

void BM_Request(benchmark::State& state, const char* source) {
  std::vector<float> out, batch;
  {
    Script first(thread_runtime(), source, "bench");
    run_tile(first, out, batch);
  }
  for (auto _ : state) {
    Script script(thread_runtime(), source, "bench");
    run_tile(script, out, batch);
    benchmark::DoNotOptimize(out.data());
  }
  per_pixel_counters(state);
}

void BM_Cold(benchmark::State& state, const char* source) {
  std::vector<float> out, batch;
  {
    Script first(thread_runtime(), source);  // the isolate and the compiled library exist
    first.setup();
  }
  std::size_t owner = 0;
  for (auto _ : state) {
    Script script(thread_runtime(), source, "owner-" + std::to_string(++owner));
    run_tile(script, out, batch);
    benchmark::DoNotOptimize(out.data());
  }
  per_pixel_counters(state);
}

void BM_ColdThread(benchmark::State& state, const char* source) {
  std::vector<float> out, batch;
  for (auto _ : state) {
    std::thread([&] {
      Script script(thread_runtime(), source);
      run_tile(script, out, batch);
    }).join();
    benchmark::DoNotOptimize(out.data());
  }
  per_pixel_counters(state);
}

void BM_Create(benchmark::State& state, const char* source) {
  {
    Script first(thread_runtime(), source);
    first.setup();
  }
  std::size_t owner = 0;
  for (auto _ : state) {
    Script script(thread_runtime(), source, "owner-" + std::to_string(++owner));
    benchmark::DoNotOptimize(&script.setup());
  }
}

// A trivial request in a warm context: instantiate, setup, one pixel, the release check.
void BM_Release(benchmark::State& state) {
  std::vector<float> out(2), in = {0.1f, 0.2f, 1.0f};
  for (auto _ : state) {
    Script script(thread_runtime(), kNdvi, "bench-release");
    SourceBatch src{"", {"B04", "B08", "dataMask"}, 1, in.data()};
    OutputBatch ob{std::span<float>(out)};
    script.evaluate(std::span<const SourceBatch>(&src, 1), 1, std::span<OutputBatch>(&ob, 1));
  }
}

}  // namespace

BENCHMARK_CAPTURE(BM_Warm, ndvi, kNdvi)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Request, ndvi, kNdvi)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Cold, ndvi, kNdvi)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_ColdThread, ndvi, kNdvi)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Warm, ndvi_ramp, kNdviRamp)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Request, ndvi_ramp, kNdviRamp)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Cold, ndvi_ramp, kNdviRamp)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Create, ndvi, kNdvi)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Release)->Unit(benchmark::kMicrosecond)->UseRealTime();

BENCHMARK_MAIN();
