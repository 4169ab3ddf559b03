// The evalscript helper library (src/evalscript/library.js) against the documented examples of
// Evalscript/Functions.qmd. Each expression runs in a fresh Script; its value comes back through
// outputMetadata.userData as JSON, so doubles keep full precision.

#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "evalscript/script.hpp"

using namespace ds::evalscript;
using nlohmann::json;

namespace {

// The value of `expr` evaluated after `prelude` (top-level code of the script).
json js(const std::string& expr, const std::string& prelude = "") {
  Script s(thread_runtime(),
           "//VERSION=3\n" + prelude +
               "\nfunction setup() { return {input: ['B04'], output: {bands: 1}}; }\n"
               "function evaluatePixel() {}\n"
               "function updateOutputMetadata(scenes, inputMetadata, outputMetadata) { outputMetadata.userData = (" +
               expr + "); }\n");
  return s.user_data();
}

void expect_rgb(const json& got, double r, double g, double b) {
  ASSERT_TRUE(got.is_array()) << got;
  ASSERT_EQ(got.size(), 3u) << got;
  EXPECT_NEAR(got[0].get<double>(), r, 1e-12) << got;
  EXPECT_NEAR(got[1].get<double>(), g, 1e-12) << got;
  EXPECT_NEAR(got[2].get<double>(), b, 1e-12) << got;
}

}  // namespace

TEST(EvalscriptLibrary, ColorMapVisualizer_DocumentedExample) {
  const json got =
      js("new ColorMapVisualizer([[200, 0xff0000], [300, 0x0000ff]]).processList([199, 200, 250, 299, 300])");
  expect_rgb(got[0], 1, 0, 0);
  expect_rgb(got[1], 1, 0, 0);
  expect_rgb(got[2], 1, 0, 0);
  expect_rgb(got[3], 1, 0, 0);
  expect_rgb(got[4], 0, 0, 1);
}

TEST(EvalscriptLibrary, ColorMapVisualizer_DefaultColorMapSteps) {
  const json got = js("[0.15, -5, 0.95].map(v => ColorMapVisualizer.createDefaultColorMap().process(v))");
  expect_rgb(got[0], 1, 1, 0x33 / 255.0);  // [0.1, 0xffff33]
  expect_rgb(got[1], 0, 0, 0);             // below the first entry: its colour
  expect_rgb(got[2], 0, 0x66 / 255.0, 0);  // [0.9, 0x006600]
}

TEST(EvalscriptLibrary, ColorRampVisualizer_DocumentedExampleWithHexAndArrays) {
  for (const char* ramps : {"[[200, 0xFF0000], [300, 0x0000FF]]", "[[200, [1, 0, 0]], [300, [0, 0, 1]]]"}) {
    const json got = js(std::string("new ColorRampVisualizer(") + ramps + ").processList([199, 200, 250, 299, 300])");
    expect_rgb(got[0], 1, 0, 0);
    expect_rgb(got[1], 1, 0, 0);
    expect_rgb(got[2], 0.4980392156862745, 0, 0.4980392156862745);
    expect_rgb(got[3], 0.00784313725490196, 0, 0.9882352941176471);
    expect_rgb(got[4], 0, 0, 1);
  }
}

TEST(EvalscriptLibrary, ColorRampVisualizer_StaticCreatorsMatchTheDocumentation) {
  json got = js("ColorRampVisualizer.createRedTemperature(0.0, 1.0).processList([0, 0.3, 0.5, 0.8, 1])");
  expect_rgb(got[0], 0, 0, 0);
  expect_rgb(got[1], 1, 0.43137254901960786, 0);
  expect_rgb(got[2], 1, 0.5137254901960784, 0);
  expect_rgb(got[3], 1, 0.8, 0.5764705882352941);
  expect_rgb(got[4], 1, 1, 1);
  got = js("ColorRampVisualizer.createWhiteGreen(0.0, 1.0).processList([0, 0.3, 0.5, 0.8, 1])");
  expect_rgb(got[0], 0, 0, 0);
  expect_rgb(got[1], 0, 0.4, 0);
  expect_rgb(got[2], 0.3333333333333333, 0.6, 0);
  expect_rgb(got[3], 0.7490196078431373, 0.8509803921568627, 0.4980392156862745);
  expect_rgb(got[4], 1, 1, 1);
  got = js("ColorRampVisualizer.createBlueRed(0.0, 1.0).processList([0, 0.3, 0.5, 0.8, 1])");
  expect_rgb(got[0], 0, 0, 0.5019607843137255);
  expect_rgb(got[1], 0, 0.6980392156862745, 1);
  expect_rgb(got[2], 0.4980392156862745, 1, 0.4980392156862745);
  expect_rgb(got[3], 1, 0.2980392156862745, 0);
  expect_rgb(got[4], 0.5019607843137255, 0, 0);
  got = js("ColorRampVisualizer.createOceanColor(0, 10).processList([0, 10, -1, 11])");
  expect_rgb(got[0], 147 / 255.0, 0, 108 / 255.0);
  expect_rgb(got[1], 105 / 255.0, 0, 0);
  expect_rgb(got[2], 147 / 255.0, 0, 108 / 255.0);
  expect_rgb(got[3], 105 / 255.0, 0, 0);
}

TEST(EvalscriptLibrary, ColorRampVisualizer_MinMaxRescaleInverseAndUnsortedRamps) {
  // minVal/maxVal move the ramp ends; the midpoint stays the midpoint.
  json got = js("new ColorRampVisualizer([[0, 0x000000], [1, 0xffffff]], 10, 20).processList([10, 15, 20])");
  expect_rgb(got[0], 0, 0, 0);
  expect_rgb(got[1], 127 / 255.0, 127 / 255.0, 127 / 255.0);
  expect_rgb(got[2], 1, 1, 1);
  // inverse(): same positions, colours reversed.
  got = js("new ColorRampVisualizer([[0, 0xff0000], [1, 0x0000ff]]).inverse().processList([0, 1])");
  expect_rgb(got[0], 0, 0, 1);
  expect_rgb(got[1], 1, 0, 0);
  // Ramps listed in descending order (as many public scripts do) are sorted.
  got = js("new ColorRampVisualizer([[1, 0x0000ff], [0, 0xff0000]]).processList([0, 1])");
  expect_rgb(got[0], 1, 0, 0);
  expect_rgb(got[1], 0, 0, 1);
  // Colour arrays in 0..255 (seen in public scripts) are read as 8-bit values.
  got = js("new ColorRampVisualizer([[0, [255, 0, 0]], [1, [0, 0, 255]]]).process(0)");
  expect_rgb(got, 1, 0, 0);
}

TEST(EvalscriptLibrary, ColorGradientVisualizer_StaticCreatorsMatchTheDocumentation) {
  json got = js("ColorGradientVisualizer.createRedTemperature(0.0, 1.0).processList([0, 0.3, 0.5, 0.8, 1])");
  expect_rgb(got[0], 0, 0, 0);
  expect_rgb(got[1], 0.43137254901960786, 0, 0);
  expect_rgb(got[2], 0.7176470588235294, 0.047058823529411764, 0);
  expect_rgb(got[3], 1, 0.6196078431372549, 0.2);
  expect_rgb(got[4], 1, 1, 1);
  got = js("ColorGradientVisualizer.createWhiteGreen(0.0, 1.0).processList([0, 0.3, 0.5, 0.8, 1])");
  expect_rgb(got[1], 0, 0.2980392156862745, 0);
  expect_rgb(got[2], 0.16862745098039217, 0.5019607843137255, 0);
  expect_rgb(got[3], 0.6666666666666666, 0.8, 0.3333333333333333);
  got = js("ColorGradientVisualizer.createBlueRed(0.0, 1.0).processList([0, 0.3, 0.5, 0.8, 1])");
  expect_rgb(got[0], 0, 0, 0.5019607843137255);
  expect_rgb(got[1], 0, 0.7019607843137254, 1);
  expect_rgb(got[2], 0.5019607843137255, 1, 0.5019607843137255);
  expect_rgb(got[3], 1, 0.2980392156862745, 0);
  expect_rgb(got[4], 0.5019607843137255, 0, 0);
}

TEST(EvalscriptLibrary, HighlightCompressVisualizer_DocumentedExample) {
  const json got = js("new HighlightCompressVisualizer(0.1, 0.4).processList([0, 0.1, 0.25, 0.376, 0.4, 0.7, 1.1])");
  EXPECT_NEAR(got[0].get<double>(), 0, 1e-12);
  EXPECT_NEAR(got[1].get<double>(), 0, 1e-12);
  EXPECT_NEAR(got[2].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(got[3].get<double>(), 0.92, 1e-12);
  EXPECT_NEAR(got[4].get<double>(), 0.9259, 1e-4);
  EXPECT_NEAR(got[5].get<double>(), 1, 1e-12);
  EXPECT_NEAR(got[6].get<double>(), 1, 1e-12);
  // Default arguments: [0, 1] linear and clamped, no compression (maxValue is not below 1).
  const json d = js("[-1, 0.5, 0.95, 2].map(v => new HighlightCompressVisualizer().process(v))");
  EXPECT_EQ(d, json::parse("[0, 0.5, 0.95, 1]"));
}

TEST(EvalscriptLibrary, Visualizers_SingleDefaultIdentityAndOverrides) {
  EXPECT_EQ(js("new HighlightCompressVisualizerSingle(0, 0.5).process(0.25)"), json::parse("[0.5]"));
  // DefaultVisualizer stretches without compressing highlights.
  EXPECT_EQ(js("new DefaultVisualizer(0, 0.4).process(0.4)"), json(1.0));
  EXPECT_NEAR(js("new DefaultVisualizer(0, 0.4).process(0.38)").get<double>(), 0.95, 1e-12);
  EXPECT_EQ(js("[new Identity().process(3), new Identity().process([1, 2])]"), json::parse("[[3], [1, 2]]"));
  // gainOverride/offsetOverride/gammaOverride replace the constructor arguments, whether declared
  // with var, let or assigned; rangeOverrides rescale one channel.
  EXPECT_NEAR(js("new DefaultVisualizer(0, 1).process(0.25)", "var gainOverride = 2;").get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(js("new DefaultVisualizer(0, 1).process(0.25)", "let offsetOverride = 0.5;").get<double>(), 0.75, 1e-12);
  EXPECT_NEAR(js("new DefaultVisualizer(0, 1).process(0.25)", "gammaOverride = 0.5;").get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(
      js("new HighlightCompressVisualizer(0, 1).process(0.5, 1)", "rangeOverrides = [[0, 1], [0, 0.5], [0, 1]];")
          .get<double>(),
      1.0, 1e-12);
}

TEST(EvalscriptLibrary, ColourHelpers_DocumentedExamples) {
  EXPECT_EQ(js("[int2rgb(255), int2rgb(256), int2rgb(65537)]"), json::parse("[[0,0,255],[0,1,0],[1,0,1]]"));
  EXPECT_EQ(js("[rgb2int([0, 0, 255]), rgb2int([0, 1, 0]), rgb2int([1, 0, 1])]"), json::parse("[255, 256, 65537]"));
  EXPECT_EQ(js("[hex2rgb(0xff8000), hex2rgb('#00ff80'), rgb2hex([255, 128, 0])]"),
            json::parse("[[255,128,0],[0,255,128],16744448]"));
  EXPECT_EQ(js("normalizeRGB([255, 0, 51])"), json::parse("[1, 0, 0.2]"));
  EXPECT_EQ(js("[combine([100, 0, 0], [0, 100, 0], 1), combine([100, 0, 0], [0, 100, 0], 0), combine([100, 0, 0], [0, "
               "100, 0], 0.5)]"),
            json::parse("[[100,0,0],[0,100,0],[50,50,0]]"));
  EXPECT_EQ(js("combine(0xff0000, 0x0000ff, 0.5)"), json(0x800080));
}

TEST(EvalscriptLibrary, IndexAndInverse_DocumentedExamplesAndZeroCases) {
  EXPECT_NEAR(js("index(0.6, 0.4)").get<double>(), 0.2, 1e-12);
  EXPECT_EQ(js("index(0.5, -0.5)"), json(0));
  EXPECT_EQ(js("index(0, 0)"), json(0));
  EXPECT_EQ(js("[inverse(2.0), inverse(5.0)]"), json::parse("[0.5, 0.2]"));
  EXPECT_EQ(js("inverse(0)").get<double>(), 1.7976931348623157e308);
  EXPECT_EQ(js("JAVA_DOUBLE_MAX_VAL").get<double>(), 1.7976931348623157e308);
}

TEST(EvalscriptLibrary, ValueMap_RightClosedBins) {
  EXPECT_EQ(js("[5, 1, 2, 12].map(v => valueMap(v, [1, 3, 5, 7, 10], [100, 300, 500, 700, 900]))"),
            json::parse("[500, 100, 300, 900]"));
  EXPECT_EQ(js("valueMap(50)"), json(50));
  // The documented mapping: (-inf,-10] (-10,-5] (-5,0] (0,5] (5,+inf)
  EXPECT_EQ(js("[-11, -10, -9.9, -5, 0, 0.1, 5, 5.1, 100].map(v => valueMap(v, [-10, -5, 0, 5, 10], [-100, -50, 0, 50, "
               "100]))"),
            json::parse("[-100, -100, -50, -50, 0, 50, 50, 100, 100]"));
}

TEST(EvalscriptLibrary, ValueInterpolate_DocumentedExamplesAndColorBlend) {
  EXPECT_EQ(js("[0, -10, 9, -20, 20].map(v => valueInterpolate(v, [-10, -5, 0, 5, 10], [-1000, -50, 0, 50, 1000]))"),
            json::parse("[0, -1000, 810, -1000, 1000]"));
  EXPECT_EQ(js("valueInterpolate(50)"), json(50));
  const json rgb =
      js("valueInterpolate(0.1, [0, 0.2, 0.4, 0.6, 0.8, 1], [[0, 0, 0], [0.1, 0.2, 0.5], [0.25, 0.4, 0.5], [0.4, 0.6, "
         "0.5], "
         "[0.75, 0.8, 0.5], [1, 1, 0.5]])");
  expect_rgb(rgb, 0.05, 0.1, 0.25);
  EXPECT_EQ(js("colorBlend(9, [-10, -5, 0, 5, 10], [-1000, -50, 0, 50, 1000])"), json(810));
  // Unlike some copies, interpolating colours never modifies the caller's colour table.
  EXPECT_EQ(js("(() => { const c = [[0, 0, 0], [1, 1, 1]]; colorBlend(0.5, [0, 1], c); return c; })()"),
            json::parse("[[0,0,0],[1,1,1]]"));
  EXPECT_EQ(js("[0, 1, 5].map(v => colorMap(v, [1, 5], ['a', 'b', 'c']))"), json::parse(R"(["a", "b", "c"])"));
}

TEST(EvalscriptLibrary, Decoders_DocumentedExampleAndBitPositions) {
  EXPECT_EQ(js("decodeL8C2Qa(55052)"), json::parse(R"({"cirrus": 1, "cirrusConfidence": 3, "clear": 0, "cloud": 1,
      "cloudConfidence": 3, "cloudShadow": 0, "cloudShadowConfidence": 1, "dilatedCloud": 0, "fill": 0, "snow": 0,
      "snowIceConfidence": 1, "water": 0})"));
  const json olci = js("decodeS3OLCIQualityFlags(2147483648 + 33554432 + 1 + 1048576)");
  EXPECT_EQ(olci["land"], 1);
  EXPECT_EQ(olci["invalid"], 1);
  EXPECT_EQ(olci["coastline"], 0);
  EXPECT_EQ(olci["saturatedB01"], 1);
  EXPECT_EQ(olci["saturatedB21"], 1);
  EXPECT_EQ(olci["saturatedB02"], 0);
  EXPECT_EQ(olci.size(), 11u + 21u);
  EXPECT_EQ(js("decodeLs8Qa(16 + 96 + 6144)"), json::parse(R"({"designatedFill": 0, "terrainOcclusion": 0,
      "radiometricSaturation": 0, "cloud": 1, "cloudConfidence": 3, "cloudShadowConfidence": 0,
      "snowIceConfidence": 0, "cirrusConfidence": 3})"));
}

TEST(EvalscriptLibrary, Constants_Exist) {
  EXPECT_EQ(js("[SampleType.AUTO, SampleType.UINT16, SampleType.FLOAT32, Mosaicking.SIMPLE, Mosaicking.ORBIT, "
               "Mosaicking.TILE]"),
            json::parse(R"(["AUTO", "UINT16", "FLOAT32", "SIMPLE", "ORBIT", "TILE"])"));
  EXPECT_EQ(js("[blueRed.length, redTemperature.length, greenWhite.length, oceanColor.length]"),
            json::parse("[6, 5, 4, 21]"));
  EXPECT_EQ(js("blueRed[0]"), json::parse("[1, 128]"));
  EXPECT_EQ(js("typeof console.log"), json("function"));
  EXPECT_EQ(js("typeof WebAssembly"), json("undefined"));
  EXPECT_EQ(js("typeof Math.random()"), json("number"));  // exists; see README (determinism)
}

TEST(EvalscriptLibrary, UserScriptsMayRedeclareEveryGlobal) {
  // Public scripts define their own index(), constants and even visualizers; none of that may be
  // a SyntaxError, and the library's visualizers must keep working with their own helpers.
  const std::string prelude =
      "function index(a, b) { return 42; }\n"
      "const blueRed = 'mine';\n"
      "let combine = null;\n"
      "var valueInterpolate = 7;\n"
      "class Identity { process() { return 'own'; } }\n";
  EXPECT_EQ(js("[index(1, 2), blueRed, combine, valueInterpolate, new Identity().process(1)]", prelude),
            json::parse(R"([42, "mine", null, 7, "own"])"));
  expect_rgb(js("ColorGradientVisualizer.createBlueRed(0, 1).process(0)", prelude), 0, 0, 0.5019607843137255);
  EXPECT_NEAR(js("new HighlightCompressVisualizer(0, 1).process(0.5, 0)", prelude + "var rangeOverrides = [[0, 0.5]];")
                  .get<double>(),
              1.0, 1e-12);
}

TEST(EvalscriptLibrary, ConcatAndFillKeepTheirStandardResults) {
  // The library replaces Array.prototype.concat (speed) and fill on large arrays (interruptible).
  EXPECT_EQ(js("[[1, 2].concat(3, [4, [5]], 'x', null), [].concat(), [1].concat({a: 1})]"),
            json::parse(R"([[1, 2, 3, 4, [5], "x", null], [], [1, {"a": 1}]])"));
  EXPECT_EQ(js("(() => { const a = [1, , 3].concat([4, , 6]); return [a.length, 1 in a, 4 in a, a[5]]; })()"),
            json::parse("[6, false, false, 6]"));
  EXPECT_EQ(js("Array.prototype.concat.call('ab', 'c').length"), json(2));  // non-array receiver: the builtin
  EXPECT_EQ(js("(() => { const o = {length: 1, 0: 'z', [Symbol.isConcatSpreadable]: true}; return [0].concat(o); })()"),
            json::parse(R"([0, "z"])"));
  EXPECT_EQ(
      js("(() => { class A extends Array {} const a = A.from([1]).concat(2); return [a instanceof A, a.length]; })()"),
      json::parse("[true, 2]"));
  EXPECT_EQ(js("(() => { const a = new Array(70000).fill(5, 1, -1); return [0 in a, a[1], a[69998], 69999 in a]; })()"),
            json::parse("[false, 5, 5, false]"));
  EXPECT_EQ(js("[1, 2, 3, 4].fill(0, -2)"), json::parse("[1, 2, 0, 0]"));
}
