// Script: setup() parsing and validation, the sample shapes of SIMPLE/ORBIT/data fusion, return
// values, hooks, error messages with the user's line and column, and the limits (timeout, heap)
// after which the thread's isolate must still serve the next script.

#include <cmath>
#include <future>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "evalscript/script.hpp"

using namespace ds::evalscript;
using nlohmann::json;

namespace {

const std::string kNdvi = R"(//VERSION=3
function setup() {
  return {input: ["B04", "B08", "dataMask"], output: {bands: 2, sampleType: "FLOAT32"}};
}
function evaluatePixel(s) {
  return [index(s.B08, s.B04), s.dataMask];
}
)";

// Runs `fn` on a new thread (so that it gets its own runtime with `limits`) and returns its result.
template <typename F>
auto on_thread(const Limits& limits, F fn) {
  return std::async(std::launch::async, [limits, fn] { return fn(thread_runtime(limits)); }).get();
}

ScriptError::Kind error_kind(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const ScriptError& e) {
    if (message) *message = e.what();
    return e.kind;
  }
  ADD_FAILURE() << "no ScriptError";
  return ScriptError::Kind::runtime;
}

// Expects a ScriptError of `kind` whose message contains `needle`; returns it.
ScriptError expect_error(ScriptError::Kind kind, const std::string& needle, const std::function<void()>& f) {
  try {
    f();
  } catch (const ScriptError& e) {
    EXPECT_EQ(static_cast<int>(e.kind), static_cast<int>(kind)) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    return e;
  }
  ADD_FAILURE() << "no ScriptError";
  return ScriptError(ScriptError::Kind::runtime, "");
}

ds::evalscript::Setup setup_of(const std::string& setup_body) {
  Script s(thread_runtime(),
           "//VERSION=3\nfunction setup() { return " + setup_body + "; }\nfunction evaluatePixel() {}\n");
  return s.setup();
}

// One SIMPLE source named by `bands` with `values` band-major; returns the output values.
std::vector<float> run_simple(Script& s, const std::vector<std::string>& bands, const std::vector<float>& values,
                              std::size_t pixels, float fill = -1.0f) {
  SourceBatch src;
  src.bands = bands;
  src.values = values.data();
  const auto& out = s.setup().outputs.at(0);
  std::vector<float> result(pixels * static_cast<std::size_t>(out.bands), fill);
  OutputBatch ob{result};
  s.evaluate(std::span<const SourceBatch>(&src, 1), pixels, std::span<OutputBatch>(&ob, 1));
  return result;
}

}  // namespace

// ---- names ----------------------------------------------------------------------------------------

TEST(EvalscriptNames, ParseAndPrintSampleTypesAndMosaicking) {
  EXPECT_EQ(parse_sample_type("AUTO"), SampleType::automatic);
  EXPECT_EQ(parse_sample_type("uint16"), SampleType::uint16);
  EXPECT_EQ(parse_sample_type("FLOAT32"), SampleType::float32);
  EXPECT_FALSE(parse_sample_type("UINT32"));
  EXPECT_EQ(parse_mosaicking("ORBIT"), Mosaicking::orbit);
  EXPECT_EQ(parse_mosaicking("tile"), Mosaicking::tile);
  EXPECT_FALSE(parse_mosaicking("MOSAIC"));
  EXPECT_EQ(to_string(SampleType::automatic), "AUTO");
  EXPECT_EQ(to_string(SampleType::int8), "INT8");
  EXPECT_EQ(to_string(Mosaicking::simple), "SIMPLE");
}

// ---- setup() --------------------------------------------------------------------------------------

TEST(EvalscriptSetup, StringInputAndSingleOutputDefaults) {
  const ds::evalscript::Setup s = setup_of(R"({input: ["B02", "B03", "dataMask"], output: {bands: 3}})");
  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_EQ(s.inputs[0].bands, (std::vector<std::string>{"B02", "B03", "dataMask"}));
  EXPECT_TRUE(s.inputs[0].units.empty());
  EXPECT_TRUE(s.inputs[0].datasource.empty());
  ASSERT_EQ(s.outputs.size(), 1u);
  EXPECT_EQ(s.outputs[0].id, "default");
  EXPECT_EQ(s.outputs[0].bands, 3);
  EXPECT_EQ(s.outputs[0].sample_type, SampleType::automatic);
  EXPECT_FALSE(s.outputs[0].nodata);
  EXPECT_EQ(s.mosaicking, Mosaicking::simple);
}

TEST(EvalscriptSetup, InputObjectsWithUnitsDatasourceMosaickingAndMetadata) {
  const ds::evalscript::Setup s = setup_of(R"({
    input: [{bands: ["B04", "B08"], units: "DN", datasource: "s2", metadata: ["bounds"]},
            {bands: ["VV"], units: ["LINEAR_POWER"], datasource: "s1", mosaicking: "ORBIT"}],
    output: [{id: "rgb", bands: 3, sampleType: SampleType.UINT8},
             {id: "index", bands: ["ndvi"], sampleType: "FLOAT32", nodataValue: NaN},
             {id: "mask", bands: 1, sampleType: "uint16", nodataValue: 65535}],
    mosaicking: Mosaicking.TILE})");
  ASSERT_EQ(s.inputs.size(), 2u);
  EXPECT_EQ(s.inputs[0].units, (std::vector<std::string>{"DN", "DN"}));
  EXPECT_EQ(s.inputs[0].datasource, "s2");
  EXPECT_TRUE(s.inputs[0].metadata_bounds);
  EXPECT_FALSE(s.inputs[0].mosaicking);
  EXPECT_EQ(s.inputs[1].units, (std::vector<std::string>{"LINEAR_POWER"}));
  EXPECT_EQ(s.inputs[1].mosaicking, Mosaicking::orbit);
  EXPECT_FALSE(s.inputs[1].metadata_bounds);
  ASSERT_EQ(s.outputs.size(), 3u);
  EXPECT_EQ(s.outputs[0].sample_type, SampleType::uint8);
  EXPECT_EQ(s.outputs[1].bands, 1);
  EXPECT_EQ(s.outputs[1].band_names, (std::vector<std::string>{"ndvi"}));
  ASSERT_TRUE(s.outputs[1].nodata);
  EXPECT_TRUE(std::isnan(*s.outputs[1].nodata));
  EXPECT_EQ(s.outputs[2].sample_type, SampleType::uint16);
  EXPECT_EQ(s.outputs[2].nodata, 65535.0);
  EXPECT_EQ(s.mosaicking, Mosaicking::tile);
}

TEST(EvalscriptSetup, RejectsBrokenSetupsWithClearMessages) {
  using K = ScriptError::Kind;
  expect_error(K::contract, "unknown sampleType \"UINT32\" for output 'default'",
               [] { setup_of(R"({input: ["B04"], output: {bands: 1, sampleType: "UINT32"}})"); });
  expect_error(K::contract, "two outputs have the id 'a'",
               [] { setup_of(R"({input: ["B04"], output: [{id: "a", bands: 1}, {id: "a", bands: 2}]})"); });
  expect_error(K::contract, "1 to 1024", [] { setup_of(R"({input: ["B04"], output: {bands: 0}})"); });
  expect_error(K::contract, "whole number", [] { setup_of(R"({input: ["B04"], output: {bands: 2.5}})"); });
  expect_error(K::contract, "output 'default' has no bands", [] { setup_of(R"({input: ["B04"], output: {}})"); });
  expect_error(K::contract, "no output", [] { setup_of(R"({input: ["B04"]})"); });
  expect_error(K::contract, "no input", [] { setup_of(R"({output: {bands: 1}})"); });
  expect_error(K::contract, "empty array", [] { setup_of(R"({input: [], output: {bands: 1}})"); });
  expect_error(K::contract, "has 2 bands but 1 units",
               [] { setup_of(R"({input: [{bands: ["B04", "B08"], units: ["DN"]}], output: {bands: 1}})"); });
  expect_error(K::contract, "unknown mosaicking \"DAILY\"",
               [] { setup_of(R"({input: ["B04"], output: {bands: 1}, mosaicking: "DAILY"})"); });
  expect_error(K::contract, "must return an object", [] { setup_of("42"); });
  expect_error(K::contract, "no setup() function", [] {
    Script s(thread_runtime(), "//VERSION=3\nfunction evaluatePixel() {}\n");
    s.setup();
  });
  expect_error(K::contract, "no evaluatePixel() function", [] {
    Script s(thread_runtime(), "//VERSION=3\nfunction setup() { return {input: ['B04'], output: {bands: 1}}; }\n");
    s.setup();
  });
}

TEST(EvalscriptSetup, HooksMayBeDeclaredWithConstAndArrowFunctions) {
  Script s(thread_runtime(), R"(//VERSION=3
const setup = () => ({input: ["B04"], output: {bands: 1, sampleType: "FLOAT32"}});
let evaluatePixel = (s) => [s.B04 * 2];
)");
  EXPECT_EQ(run_simple(s, {"B04"}, {1.5f, 2.0f}, 2), (std::vector<float>{3.0f, 4.0f}));
  EXPECT_FALSE(s.has_preprocess_scenes());
  EXPECT_FALSE(s.has_update_output());
  EXPECT_FALSE(s.has_update_output_metadata());
}

// ---- evaluatePixel ---------------------------------------------------------------------------------

TEST(EvalscriptEvaluate, SimpleNdviOverABatch) {
  Script s(thread_runtime(), kNdvi);
  const std::vector<float> in = {0.1f, 0.2f, 0.0f, 0.3f,   // B04
                                 0.5f, 0.2f, 0.0f, 0.1f,   // B08
                                 1.0f, 1.0f, 0.0f, 1.0f};  // dataMask
  const auto out = run_simple(s, {"B04", "B08", "dataMask"}, in, 4);
  ASSERT_EQ(out.size(), 8u);
  EXPECT_FLOAT_EQ(out[0], static_cast<float>((0.5 - 0.1) / 0.6));
  EXPECT_FLOAT_EQ(out[1], 1.0f);
  EXPECT_FLOAT_EQ(out[2], 0.0f);
  EXPECT_FLOAT_EQ(out[4], 0.0f);  // index() of a zero sum
  EXPECT_FLOAT_EQ(out[5], 0.0f);
  EXPECT_FLOAT_EQ(out[6], static_cast<float>((0.1 - 0.3) / 0.4));
}

TEST(EvalscriptEvaluate, UndefinedLeavesThePixelAndNonNumbersBecomeNaN) {
  Script s(thread_runtime(), R"(//VERSION=3
function setup() { return {input: ["B04"], output: {bands: 2, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) {
  if (s.B04 === 0) return;
  if (s.B04 === 1) return ["x", null];
  if (s.B04 === 2) return [true, false];
  return new Float32Array([s.B04, -s.B04]);
}
)");
  const auto out = run_simple(s, {"B04"}, {0, 1, 2, 3}, 4, 7.0f);
  EXPECT_EQ(out[0], 7.0f);
  EXPECT_EQ(out[1], 7.0f);
  EXPECT_TRUE(std::isnan(out[2]));
  EXPECT_TRUE(std::isnan(out[3]));
  EXPECT_EQ(out[4], 1.0f);
  EXPECT_EQ(out[5], 0.0f);
  EXPECT_EQ(out[6], 3.0f);
  EXPECT_EQ(out[7], -3.0f);
}

TEST(EvalscriptEvaluate, FreshSampleObjectPerPixel) {
  // A script that keeps and modifies samples must not see them change under it.
  Script s(thread_runtime(), R"(//VERSION=3
var first;
function setup() { return {input: ["B04"], output: {bands: 2, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) {
  if (!first) first = s;
  s.extra = (s.extra || 0) + 1;
  return [first.B04, s.extra];
}
)");
  const auto out = run_simple(s, {"B04"}, {0.5f, 0.25f, 0.125f}, 3);
  EXPECT_EQ(out, (std::vector<float>{0.5f, 1, 0.5f, 1, 0.5f, 1}));
}

TEST(EvalscriptEvaluate, OrbitSamplesAreOneObjectPerScene) {
  Script s(thread_runtime(), R"(//VERSION=3
function setup() { return {input: ["B04", "B08"], output: {bands: 3, sampleType: "FLOAT32"}, mosaicking: "ORBIT"}; }
function evaluatePixel(samples, scenes) {
  let max = -1;
  for (const x of samples) max = Math.max(max, x.B08 - x.B04);
  return [samples.length, max, scenes.orbits.length];
}
)");
  s.set_context(
      json::parse(R"({"orbits": [{"dateFrom": "2022-06-01T00:00:00Z"}, {"dateFrom": "2022-06-04T00:00:00Z"}]})"),
      json::object());
  // 2 scenes × 2 bands × 2 pixels, band-major per scene.
  const std::vector<float> in = {0.1f, 0.2f, 0.5f, 0.4f,   // scene 0: B04, B08
                                 0.1f, 0.1f, 0.9f, 0.2f};  // scene 1: B04, B08
  SourceBatch src{"", {"B04", "B08"}, 2, in.data()};
  std::vector<float> out(6, 0);
  OutputBatch ob{out};
  s.evaluate(std::span<const SourceBatch>(&src, 1), 2, std::span<OutputBatch>(&ob, 1));
  EXPECT_EQ(out[0], 2);
  EXPECT_FLOAT_EQ(out[1], 0.8f);
  EXPECT_EQ(out[2], 2);
  EXPECT_EQ(out[3], 2);
  EXPECT_FLOAT_EQ(out[4], 0.2f);

  // No scene at all: an empty array.
  SourceBatch none{"", {"B04", "B08"}, 0, nullptr};
  s.evaluate(std::span<const SourceBatch>(&none, 1), 2, std::span<OutputBatch>(&ob, 1));
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[1], -1);
}

TEST(EvalscriptEvaluate, DataFusionSamplesAreADictionaryOfArrays) {
  Script s(thread_runtime(), R"(//VERSION=3
function setup() {
  return {input: [{datasource: "s2", bands: ["B04"]}, {datasource: "s1", bands: ["VV"], mosaicking: "ORBIT"}],
          output: {bands: 4, sampleType: "FLOAT32"}};
}
function evaluatePixel(samples, scenes) {
  return [samples.s2.length, samples.s2[0].B04, samples.s1.length, samples.s1[1].VV + scenes.s1.orbits.length];
}
)");
  s.set_context(json::parse(R"({"s2": {}, "s1": {"orbits": [{}, {}]}})"), json::object());
  const std::vector<float> s2 = {0.25f};
  const std::vector<float> s1 = {0.5f, 0.75f};
  const SourceBatch sources[] = {{"s2", {"B04"}, 1, s2.data()}, {"s1", {"VV"}, 2, s1.data()}};
  std::vector<float> out(4, 0);
  OutputBatch ob{out};
  EXPECT_TRUE(is_fusion(s.setup(), sources));
  s.evaluate(sources, 1, std::span<OutputBatch>(&ob, 1));
  EXPECT_EQ(out, (std::vector<float>{1, 0.25f, 2, 2.75f}));

  // Sources without an id are keyed by their position.
  Script unnamed(thread_runtime(), R"(//VERSION=3
function setup() { return {input: [{bands: ["B04"]}, {bands: ["VV"]}], output: {bands: 2, sampleType: "FLOAT32"}}; }
function evaluatePixel(samples) { return [samples["0"][0].B04, samples["1"][0].VV]; }
)");
  const SourceBatch positional[] = {{"", {"B04"}, 1, s2.data()}, {"", {"VV"}, 1, s1.data()}};
  std::vector<float> two(2, 0);
  OutputBatch ob2{two};
  unnamed.evaluate(positional, 1, std::span<OutputBatch>(&ob2, 1));
  EXPECT_EQ(two, (std::vector<float>{0.25f, 0.5f}));
}

TEST(EvalscriptEvaluate, OneSourceWithIdIsFusionOnlyWhenSetupNamesDatasources) {
  Script named(thread_runtime(), R"(//VERSION=3
function setup() { return {input: [{datasource: "l2a", bands: ["B04"]}], output: {bands: 1, sampleType: "FLOAT32"}}; }
function evaluatePixel(samples) { return [samples.l2a[0].B04]; }
)");
  const std::vector<float> v = {0.5f};
  SourceBatch src{"l2a", {"B04"}, 1, v.data()};
  std::vector<float> out(1, 0);
  OutputBatch ob{out};
  named.evaluate(std::span<const SourceBatch>(&src, 1), 1, std::span<OutputBatch>(&ob, 1));
  EXPECT_EQ(out[0], 0.5f);

  Script plain(thread_runtime(), R"(//VERSION=3
function setup() { return {input: ["B04"], output: {bands: 1, sampleType: "FLOAT32"}}; }
function evaluatePixel(sample) { return [sample.B04 * 2]; }
)");
  EXPECT_FALSE(is_fusion(plain.setup(), std::span<const SourceBatch>(&src, 1)));
  plain.evaluate(std::span<const SourceBatch>(&src, 1), 1, std::span<OutputBatch>(&ob, 1));
  EXPECT_EQ(out[0], 1.0f);
}

TEST(EvalscriptEvaluate, SeveralOutputsTakeAnObjectAndMissingOnesAreLeftAlone) {
  Script s(thread_runtime(), R"(//VERSION=3
function setup() {
  return {input: ["B04"], output: [{id: "rgb", bands: 3}, {id: "index", bands: 1, sampleType: "FLOAT32"}]};
}
function evaluatePixel(s) {
  if (s.B04 > 1) return {rgb: [1, 2, 3]};
  return {rgb: [s.B04, s.B04, s.B04], index: [s.B04 * 10]};
}
)");
  const std::vector<float> v = {0.5f, 2.0f};
  SourceBatch src{"", {"B04"}, 1, v.data()};
  std::vector<float> rgb(6, -1), idx(2, -1);
  OutputBatch obs[] = {{rgb}, {idx}};
  s.evaluate(std::span<const SourceBatch>(&src, 1), 2, obs);
  EXPECT_EQ(rgb, (std::vector<float>{0.5f, 0.5f, 0.5f, 1, 2, 3}));
  EXPECT_EQ(idx, (std::vector<float>{5, -1}));

  // A single output also accepts the object form.
  Script one(thread_runtime(), R"(//VERSION=3
function setup() { return {input: ["B04"], output: {id: "x", bands: 1, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return {x: [s.B04 + 1]}; }
)");
  EXPECT_EQ(run_simple(one, {"B04"}, {1, 2}, 2), (std::vector<float>{2, 3}));
}

TEST(EvalscriptEvaluate, WrongBandCountNamesOutputExpectedAndActual) {
  Script s(thread_runtime(), R"(//VERSION=3
function setup() { return {input: ["B04"], output: [{id: "rgb", bands: 3}, {id: "mask", bands: 1}]}; }
function evaluatePixel(s) { return {rgb: [s.B04, s.B04], mask: [1]}; }
)");
  const std::vector<float> v = {0.5f};
  SourceBatch src{"", {"B04"}, 1, v.data()};
  std::vector<float> rgb(3), mask(1);
  OutputBatch obs[] = {{rgb}, {mask}};
  expect_error(ScriptError::Kind::contract, "evaluatePixel returned 2 values for output 'rgb', which has 3 bands",
               [&] { s.evaluate(std::span<const SourceBatch>(&src, 1), 1, obs); });

  // A huge array is refused by its length before anything is copied.
  Script huge(thread_runtime(), R"(//VERSION=3
function setup() { return {input: ["B04"], output: {bands: 1}}; }
function evaluatePixel(s) { return new Array(1e8); }
)");
  expect_error(ScriptError::Kind::contract, "returned 100000000 values for output 'default', which has 1 band",
               [&] { run_simple(huge, {"B04"}, v, 1); });

  Script several(thread_runtime(), R"(//VERSION=3
function setup() { return {input: ["B04"], output: [{id: "a", bands: 1}, {id: "b", bands: 1}]}; }
function evaluatePixel(s) { return [1]; }
)");
  expect_error(ScriptError::Kind::contract, "must return an object with one array per output (a, b)",
               [&] { several.evaluate(std::span<const SourceBatch>(&src, 1), 1, obs); });
}

// ---- hooks -----------------------------------------------------------------------------------------

TEST(EvalscriptHooks, PreProcessScenesFiltersOrbitsWithDates) {
  Script s(thread_runtime(), R"(//VERSION=3
function setup() { return {input: ["B04"], output: {bands: 1}, mosaicking: "ORBIT"}; }
function preProcessScenes(collections) {
  collections.scenes.orbits = collections.scenes.orbits.filter(
      o => new Date(o.dateFrom).getTime() >= collections.to.getTime() - 5 * 86400 * 1000);
  collections.fromIsDate = collections.from instanceof Date;
  return collections;
}
function evaluatePixel(s) { return [0]; }
)");
  ASSERT_TRUE(s.has_preprocess_scenes());
  const json out = s.preprocess_scenes(json::parse(R"({"from": "2022-06-01T00:00:00Z", "to": "2022-06-30T23:59:59Z",
      "scenes": {"orbits": [{"dateFrom": "2022-06-02T00:00:00Z", "dateTo": "2022-06-02T23:59:59Z"},
                            {"dateFrom": "2022-06-28T00:00:00Z", "dateTo": "2022-06-28T23:59:59Z"}]}})"));
  ASSERT_EQ(out["scenes"]["orbits"].size(), 1u);
  EXPECT_EQ(out["scenes"]["orbits"][0]["dateFrom"], "2022-06-28T00:00:00Z");
  EXPECT_EQ(out["fromIsDate"], true);
  EXPECT_EQ(out["to"], "2022-06-30T23:59:59.000Z");
}

TEST(EvalscriptHooks, UpdateOutputSetsBandsFromTheSceneCount) {
  Script s(thread_runtime(), R"(//VERSION=3
function setup() {
  return {input: ["B02"], output: [{id: "my_output", bands: 1, sampleType: SampleType.UINT16}, {id: "other", bands: 2}],
          mosaicking: Mosaicking.ORBIT};
}
function updateOutput(output, collection) {
  if (!(collection.scenes[0].date instanceof Date)) throw new Error("date is not a Date");
  output.my_output.bands = collection.scenes.length;
}
function evaluatePixel(samples) { return {my_output: samples.map(s => s.B02)}; }
)");
  ASSERT_TRUE(s.has_update_output());
  s.update_output(json::parse(R"({"scenes": [{"date": "2022-06-01T10:00:00Z"}, {"date": "2022-06-04T10:00:00Z"},
                                             {"date": "2022-06-09T10:00:00Z"}]})"));
  EXPECT_EQ(s.setup().outputs[0].bands, 3);
  EXPECT_EQ(s.setup().outputs[1].bands, 2);
  // The driver follows the new band count.
  const std::vector<float> v = {1, 2, 3};
  SourceBatch src{"", {"B02"}, 3, v.data()};
  std::vector<float> a(3), b(2, -1);
  OutputBatch obs[] = {{a}, {b}};
  s.evaluate(std::span<const SourceBatch>(&src, 1), 1, obs);
  EXPECT_EQ(a, (std::vector<float>{1, 2, 3}));

  Script fusion(thread_runtime(), R"(//VERSION=3
function setup() { return {input: [{datasource: "a", bands: ["B02"]}], output: {bands: 1}}; }
function updateOutput(output, collection) { output.default.bands = collection.a.scenes.length * 2; }
function evaluatePixel() {}
)");
  fusion.update_output(json::parse(R"({"a": {"scenes": [{"date": "2022-06-01T10:00:00Z"}]}})"));
  EXPECT_EQ(fusion.setup().outputs[0].bands, 2);

  Script broken(thread_runtime(), R"(//VERSION=3
function setup() { return {input: ["B02"], output: {bands: 1}}; }
function updateOutput(output, collection) { output.default.bands = collection.scenes.length; }
function evaluatePixel() {}
)");
  expect_error(ScriptError::Kind::contract, "output 'default' would have 0 bands",
               [&] { broken.update_output(json::parse(R"({"scenes": []})")); });
}

TEST(EvalscriptHooks, UserDataFromEvaluatePixelAndUpdateOutputMetadata) {
  Script s(thread_runtime(), R"(//VERSION=3
function setup() { return {input: ["B04"], output: {bands: 1}}; }
function evaluatePixel(s, scenes, inputMetadata, customData, outputMetadata) {
  outputMetadata.userData = outputMetadata.userData || {pixels: 0, custom: JSON.stringify(customData)};
  outputMetadata.userData.pixels++;
  return [s.B04];
}
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {
  outputMetadata.userData.when = new Date(Date.UTC(2022, 5, 1));
  outputMetadata.userData.norm = inputMetadata.normalizationFactor;
  outputMetadata.userData.orbits = scenes.orbits.length;
}
)");
  s.set_context(json::parse(R"({"orbits": [{"dateFrom": "2022-06-01T00:00:00Z"}]})"),
                json::parse(R"({"serviceVersion": "1.0.0", "normalizationFactor": 0.0001})"));
  run_simple(s, {"B04"}, {1, 2, 3}, 3);
  run_simple(s, {"B04"}, {1, 2}, 2);
  const json ud = s.user_data();
  EXPECT_EQ(ud, json::parse(R"({"pixels": 5, "custom": "{}", "when": "2022-06-01T00:00:00.000Z", "norm": 0.0001,
                               "orbits": 1})"));
  EXPECT_EQ(s.user_data(), ud);  // updateOutputMetadata runs once

  Script none(thread_runtime(), kNdvi);
  EXPECT_TRUE(none.user_data().is_null());
}

// ---- errors ----------------------------------------------------------------------------------------

TEST(EvalscriptErrors, SyntaxErrorHasTheScriptsLineAndColumn) {
  const auto e = expect_error(ScriptError::Kind::syntax, "evalscript.js:4:", [] {
    Script s(thread_runtime(), "//VERSION=3\nfunction setup() {\n  return {};\n  let x = ;\n}\n");
  });
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.column, 11);
  EXPECT_NE(std::string(e.what()).find("SyntaxError: Unexpected token ';'"), std::string::npos) << e.what();

  // Without //VERSION=3 (a V1 script) the message says what is supported.
  expect_error(ScriptError::Kind::syntax, "only evalscript V3 is supported",
               [] { Script s(thread_runtime(), "return [B04 * 2.5, B03 * 2.5, B02 * 2.5];"); });
}

TEST(EvalscriptErrors, RuntimeErrorHasTheScriptsLineAndColumn) {
  Script s(thread_runtime(), R"(//VERSION=3
function setup() { return {input: ["B04"], output: {bands: 1}}; }
function evaluatePixel(samples) {
  const x = 1;
  return [samples[0].B03];
}
)");
  const auto e = expect_error(ScriptError::Kind::runtime,
                              "evalscript.js:5:22: TypeError: Cannot read properties of undefined (reading 'B03')",
                              [&] { run_simple(s, {"B04"}, {1}, 1); });
  EXPECT_EQ(e.line, 5);
  EXPECT_EQ(e.column, 22);

  // An error inside a helper is reported where the script called it.
  Script helper(thread_runtime(), R"(//VERSION=3
function setup() { return {input: ["B04"], output: {bands: 3}}; }
const viz = new ColorRampVisualizer([[0, 0], [1, 0xffffff]]);
function evaluatePixel(s) {
  return valueInterpolate(s.B04, [0, 1], [{}, {}]);
}
)");
  const auto h = expect_error(ScriptError::Kind::runtime, "evalscript.js:5:10: TypeError: valueInterpolate",
                              [&] { run_simple(helper, {"B04"}, {0.5f}, 1); });
  EXPECT_EQ(h.line, 5);

  // Top-level code and thrown non-errors.
  expect_error(ScriptError::Kind::runtime, "evalscript.js:2:1: ReferenceError: undefinedThing is not defined",
               [] { Script t(thread_runtime(), "//VERSION=3\nundefinedThing.call();\n"); });
  Script thrower(thread_runtime(), R"(//VERSION=3
function setup() { throw "no setup today"; }
function evaluatePixel() {}
)");
  expect_error(ScriptError::Kind::runtime, "evalscript.js:2:20: no setup today", [&] { thrower.setup(); });
}

// ---- reuse of contexts ----------------------------------------------------------------------------

// Runs a one-pixel request of `source` for `owner` on the thread's runtime; returns its userData.
json request(const std::string& source, const std::string& owner = "alice") {
  Script s(thread_runtime(), source, owner);
  run_simple(s, {"B04"}, {1}, 1);
  return s.user_data();
}

const std::string kCounting = R"(//VERSION=3
let calls = 0;
var total = (typeof total === 'number' ? total : 0) + 1;
function setup() { return {input: ["B04"], output: {bands: 1}}; }
function evaluatePixel(s) {
  calls++;
  leaked = (typeof leaked === 'number' ? leaked : 0) + 1;  // an undeclared name: a global
  return [s.B04];
}
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {
  outputMetadata.userData = {calls: calls, total: total, leaked: leaked};
}
)";

TEST(EvalscriptReuse, EachRequestRunsTheScriptAfreshInAWarmContext) {
  on_thread({}, [](Runtime& rt) {
    EXPECT_EQ(warm_contexts(rt), 0u);
    for (int round = 0; round < 3; ++round) {
      // Top-level declarations are new per request, and the global the script created by
      // assignment is gone before the next one: each request sees what a fresh context shows.
      EXPECT_EQ(request(kCounting), json::parse(R"({"calls": 1, "total": 1, "leaked": 1})")) << round;
      EXPECT_EQ(warm_contexts(rt), 1u);
    }
    // Another owner, or another script, never gets that context.
    EXPECT_EQ(request(kCounting, "bob"), json::parse(R"({"calls": 1, "total": 1, "leaked": 1})"));
    EXPECT_EQ(warm_contexts(rt), 2u);
    request(kCounting + "\n// another script\n");
    EXPECT_EQ(warm_contexts(rt), 3u);
    return true;
  });
}

TEST(EvalscriptReuse, AChangedBuiltinOrAFailedRequestDisposesTheContext) {
  on_thread({}, [](Runtime& rt) {
    const std::string patching = R"(//VERSION=3
if (Array.prototype.seen) throw new Error("state of an earlier request");
Array.prototype.seen = true;
function setup() { return {input: ["B04"], output: {bands: 1}}; }
function evaluatePixel(s) { return [s.B04]; }
)";
    for (int round = 0; round < 2; ++round) {
      request(patching);
      EXPECT_EQ(warm_contexts(rt), 0u);
    }
    const std::string replacing = R"(//VERSION=3
Math.max = function () { return 42; };
function setup() { return {input: ["B04"], output: {bands: 1}}; }
function evaluatePixel(s) { return [Math.max(s.B04, 0)]; }
)";
    request(replacing);
    EXPECT_EQ(warm_contexts(rt), 0u);
    const std::string freezing = R"(//VERSION=3
Object.freeze(JSON);
function setup() { return {input: ["B04"], output: {bands: 1}}; }
function evaluatePixel(s) { return [s.B04]; }
)";
    request(freezing);
    EXPECT_EQ(warm_contexts(rt), 0u);
    // A library global replaced by assignment (not by a declaration of the script's own).
    request(
        "//VERSION=3\nindex = null;\nfunction setup() { return {input: ['B04'], output: {bands: 1}}; }\n"
        "function evaluatePixel(s) { return [s.B04]; }\n");
    EXPECT_EQ(warm_contexts(rt), 0u);
    // A script that failed.
    const std::string failing = R"(//VERSION=3
function setup() { return {input: ["B04"], output: {bands: 1}}; }
function evaluatePixel(s) { return null.x; }
)";
    EXPECT_EQ(error_kind([&] { request(failing); }), ScriptError::Kind::runtime);
    EXPECT_EQ(warm_contexts(rt), 0u);
    // Declarations that shadow library globals are the script's own and change nothing.
    request(
        "//VERSION=3\nfunction index() { return 1; }\nconst Math = 3;\n"
        "function setup() { return {input: ['B04'], output: {bands: 1}}; }\n"
        "function evaluatePixel(s) { return [index() + Math]; }\n");
    EXPECT_EQ(warm_contexts(rt), 1u);
    return true;
  });
}

TEST(EvalscriptReuse, StrictScriptsStayStrictAndOverridesComeFromTheScriptsScope) {
  // "use strict" after comments keeps its meaning: an undeclared assignment is an error.
  expect_error(ScriptError::Kind::runtime, "evalscript.js:3:12: ReferenceError: undeclared is not defined",
               [] { Script s(thread_runtime(), "//VERSION=3\n/* strict */ 'use strict';\nundeclared = 1;\n"); });
  // Not a directive: an expression statement that starts with a string.
  Script sloppy(thread_runtime(),
                "//VERSION=3\n'use strict'.length;\nundeclared = 1;\n"
                "function setup() { return {input: ['B04'], output: {bands: 1}}; }\n"
                "function evaluatePixel(s) { return [undeclared]; }\n");
  EXPECT_EQ(run_simple(sloppy, {"B04"}, {5}, 1), std::vector<float>{1});
  // The overrides are read from the script's own declarations, also in a warm context.
  const std::string overriding = R"(//VERSION=3
let gainOverride = 2;
const viz = new HighlightCompressVisualizer(0, 1);
function setup() { return {input: ["B04"], output: {bands: 1, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [viz.process(s.B04)]; }
)";
  for (int round = 0; round < 2; ++round) {
    Script s(thread_runtime(), overriding, "carol");
    EXPECT_EQ(run_simple(s, {"B04"}, {0.25f}, 1), std::vector<float>{0.5f}) << round;
  }
}

// ---- limits ----------------------------------------------------------------------------------------

TEST(EvalscriptLimits, InfiniteLoopTimesOutAndTheIsolateIsReusable) {
  Limits limits;
  limits.call_timeout = std::chrono::milliseconds(200);
  const bool ok = on_thread(limits, [](Runtime& rt) {
    const auto start = std::chrono::steady_clock::now();
    Script loop(rt, R"(//VERSION=3
function setup() { return {input: ["B04"], output: {bands: 1}}; }
function evaluatePixel(s) { while (true) {} }
)");
    std::string message;
    EXPECT_EQ(error_kind([&] { run_simple(loop, {"B04"}, {1}, 1); }, &message), ScriptError::Kind::timeout);
    EXPECT_NE(message.find("evaluatePixel ran longer than the limit of 200 ms"), std::string::npos) << message;
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_LT(elapsed, std::chrono::seconds(3));
    // The script is not run again after a timeout.
    EXPECT_EQ(error_kind([&] { run_simple(loop, {"B04"}, {1}, 1); }), ScriptError::Kind::timeout);

    // setup() and top-level code are limited too.
    EXPECT_EQ(error_kind([&] {
                Script s(rt, "//VERSION=3\nfunction setup() { for (;;) {} }\nfunction evaluatePixel() {}\n");
                s.setup();
              }),
              ScriptError::Kind::timeout);
    EXPECT_EQ(error_kind([&] { Script s(rt, "//VERSION=3\nwhile (1) {}\n"); }), ScriptError::Kind::timeout);

    // The same isolate serves the next script, even after idling past the old deadline.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Script good(rt, kNdvi);
    const auto out = run_simple(good, {"B04", "B08", "dataMask"}, {0.1f, 0.3f, 1.0f}, 1);
    EXPECT_FLOAT_EQ(out[0], 0.5f);
    return true;
  });
  EXPECT_TRUE(ok);
}

TEST(EvalscriptLimits, HeapExhaustionIsAnErrorAndTheIsolateIsReusable) {
  Limits limits;
  limits.heap_bytes = 64u << 20;
  limits.call_timeout = std::chrono::seconds(20);
  const bool ok = on_thread(limits, [](Runtime& rt) {
    Script hog(rt, R"(//VERSION=3
const keep = [];
function setup() { return {input: ["B04"], output: {bands: 1}}; }
function evaluatePixel(s) {
  for (;;) keep.push(new Array(1000).fill(s.B04));
}
)");
    std::string message;
    EXPECT_EQ(error_kind([&] { run_simple(hog, {"B04"}, {1}, 1); }, &message), ScriptError::Kind::memory);
    EXPECT_NE(message.find("evaluatePixel used more memory than the limit of 64 MB"), std::string::npos) << message;

    // Typed arrays count against the same budget.
    Script buffers(rt, R"(//VERSION=3
const keep = [];
function setup() { for (;;) keep.push(new Float64Array(1 << 20)); }
function evaluatePixel() {}
)");
    EXPECT_EQ(error_kind([&] { buffers.setup(); }), ScriptError::Kind::memory);

    Script good(rt, kNdvi);
    const auto out = run_simple(good, {"B04", "B08", "dataMask"}, {0.1f, 0.3f, 1.0f}, 1);
    EXPECT_FLOAT_EQ(out[0], 0.5f);
    return true;
  });
  EXPECT_TRUE(ok);
}

TEST(EvalscriptLimits, DeepRecursionIsARangeError) {
  Script s(thread_runtime(), R"(//VERSION=3
function f(n) { return f(n + 1) + 1; }
function setup() { return {input: ["B04"], output: {bands: 1}}; }
function evaluatePixel() { return [f(0)]; }
)");
  expect_error(ScriptError::Kind::runtime, "RangeError: Maximum call stack size exceeded",
               [&] { run_simple(s, {"B04"}, {1}, 1); });
}

TEST(EvalscriptThreads, EachThreadHasItsOwnRuntime) {
  std::latch both(2);  // both runtimes stay alive until both threads are done
  auto work = [&both](float scale) {
    Runtime* rt = &thread_runtime();
    Script s(*rt,
             "//VERSION=3\nfunction setup() { return {input: ['B04'], output: {bands: 1, sampleType: 'FLOAT32'}}; }\n"
             "function evaluatePixel(s) { return [s.B04 * " +
                 std::to_string(scale) + "]; }\n");
    std::vector<float> in(100000);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i);
    std::vector<float> out;
    for (int round = 0; round < 5; ++round) out = run_simple(s, {"B04"}, in, in.size());
    bool same = true;
    for (std::size_t i = 0; i < in.size(); ++i) same = same && out[i] == in[i] * scale;
    both.arrive_and_wait();
    return std::pair<Runtime*, bool>(rt, same);
  };
  auto a = std::async(std::launch::async, work, 2.0f);
  auto b = std::async(std::launch::async, work, 3.0f);
  const auto ra = a.get(), rb = b.get();
  EXPECT_TRUE(ra.second);
  EXPECT_TRUE(rb.second);
  EXPECT_NE(ra.first, rb.first);
  EXPECT_NE(ra.first, &thread_runtime());
}
