#pragma once
// Evalscript V3 runtime on V8 (libnode 10.2). One isolate per thread (never shared, no Locker),
// a fresh instance of the script per Script (see Script). Pixels go to JavaScript in batches over engine memory; a
// small JS driver builds a fresh sample object per pixel and calls evaluatePixel.
//
// This module knows nothing of HTTP, the catalogue or GDAL: the engine hands it float arrays and
// scene metadata (JSON) and gets float arrays back.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ds::evalscript {

enum class Mosaicking { simple, orbit, tile };
enum class SampleType { automatic, int8, uint8, int16, uint16, float32 };

// Parses "SIMPLE"/"ORBIT"/"TILE" and "AUTO"/"UINT8"/...; nullopt when unknown.
std::optional<Mosaicking> parse_mosaicking(std::string_view);
std::optional<SampleType> parse_sample_type(std::string_view);
std::string_view to_string(Mosaicking);
std::string_view to_string(SampleType);

// One entry of setup().input. `datasource` is empty when the script does not name one (then
// inputs match input.data entries by position). `units` has one entry per band (empty when the
// script did not ask: the collection default applies). `mosaicking` overrides the global one.
struct InputSpec {
  std::string datasource;
  std::vector<std::string> bands;
  std::vector<std::string> units;
  std::optional<Mosaicking> mosaicking;
  bool metadata_bounds = false;  // metadata: ["bounds"]
};

// One entry of setup().output. `bands` may be rewritten by updateOutput.
struct OutputSpec {
  std::string id = "default";
  int bands = 1;
  std::vector<std::string> band_names;  // when bands was given as names
  SampleType sample_type = SampleType::automatic;
  std::optional<double> nodata;
};

struct Setup {
  std::vector<InputSpec> inputs;
  std::vector<OutputSpec> outputs;
  Mosaicking mosaicking = Mosaicking::simple;
};

// Upper bound on an output's band count, checked on setup() and updateOutput().
inline constexpr int kMaxOutputBands = 1024;

// Resource limits of one thread's isolate and of each call into JavaScript.
struct Limits {
  std::chrono::milliseconds call_timeout{10'000};  // per call (setup, a batch, a hook)
  std::size_t heap_bytes = 256u << 20;             // V8 heap per isolate
};

// A script failure: a JS exception (message, 1-based line and column when known), a timeout or
// heap exhaustion, or a setup()/return value that breaks the V3 rules. The message is meant for
// the user, e.g. "evalscript.js:20:7: TypeError: Cannot read properties of undefined (reading 'B03')".
struct ScriptError : std::runtime_error {
  enum class Kind { syntax, runtime, timeout, memory, contract };
  ScriptError(Kind kind, std::string message, int line = 0, int column = 0);
  Kind kind;
  int line;
  int column;
};

// The input pixels of one batch for one data source: `scenes` scenes (1 for SIMPLE), each with
// the bands named in its InputSpec (same order; dataMask included when asked), band-major:
// value of (scene s, band b, pixel i) = values[(s * bands.size() + b) * pixel_count + i].
// Memory is the engine's and must outlive the evaluate() call.
struct SourceBatch {
  std::string id;  // the data source id ("" for a single, unnamed source)
  std::vector<std::string> bands;
  std::size_t scenes = 1;
  const float* values = nullptr;
};

// Whether evaluate() gives samples the data-fusion shape {<id>: [samples...]}: with several
// sources, or with one source that has an id when setup() names datasources (a script written
// for data fusion addresses its samples by id even when the request has one source).
bool is_fusion(const Setup& setup, std::span<const SourceBatch> sources);

// Output buffers of one batch, one per OutputSpec (same order), pixel-interleaved:
// value of (pixel i, band b) = values[i * spec.bands + b]. Filled with the script's numbers as
// returned (no sampleType conversion here: the engine applies it). Pixels for which
// evaluatePixel returned nothing are left as they were.
struct OutputBatch {
  std::span<float> values;
};

// The runtime of the calling thread, created on first use with `limits` (later calls reuse it and
// ignore `limits`). V8 itself is initialised once per process on first use.
class Runtime;
Runtime& thread_runtime(const Limits& limits = {});

// How many warm contexts (see Script) the runtime holds; for tests and benchmarks.
std::size_t warm_contexts(const Runtime& runtime);

// One evalscript for one request. Not thread-safe; must be used and destroyed on the thread that
// created it.
//
// The script's top-level code runs afresh for every Script: the source is compiled as a function
// body and each Script calls it once, so its declarations and state are new per request. The
// context around it (globals, the helper library, V8's compiled and optimised code) is reused
// for the same `owner` and the same source when the previous request succeeded and left the
// globals and builtins as the library made them (globals it added are removed; any other change
// and the context is disposed). A request therefore never sees another owner's or another
// script's context, and a warm one skips V8's optimising compile of evaluatePixel.
class Script {
 public:
  // Compiles the source (throws ScriptError kind syntax with line/column) and runs its top-level
  // code. `owner` scopes context reuse (the user's id).
  Script(Runtime& runtime, std::string_view source, std::string_view owner = {});
  ~Script();
  Script(const Script&) = delete;
  Script& operator=(const Script&) = delete;

  // Calls setup() and validates what it returns.
  const Setup& setup();

  bool has_preprocess_scenes() const;
  bool has_update_output() const;
  bool has_update_output_metadata() const;

  // preProcessScenes(collections): `collections` is the JSON shape of the digest
  // ({from, to, scenes:{orbits:[...]}} or {scenes:{tiles:[...]}}; dates as ISO strings, turned
  // into JS Date where the spec has Date). Returns what the script returned (same shape).
  nlohmann::json preprocess_scenes(const nlohmann::json& collections);

  // updateOutput(outputs, collection): applies the script's band-count changes to setup().outputs.
  void update_output(const nlohmann::json& collection);

  // Sets the per-source `scenes` argument and inputMetadata of evaluatePixel for what follows.
  // `scenes` per source: {} for SIMPLE, {orbits:[...]} or {tiles:[...]}. With one unnamed source
  // the script sees that object; with data fusion, {<id>: {...}}.
  void set_context(const nlohmann::json& scenes, const nlohmann::json& input_metadata);

  // Runs evaluatePixel for `pixel_count` pixels. With one source and SIMPLE mosaicking a sample
  // is {band: value}; with ORBIT/TILE an array of those (one per scene); with several sources
  // (data fusion) {<id>: [samples...]} always arrays.
  void evaluate(std::span<const SourceBatch> sources, std::size_t pixel_count, std::span<OutputBatch> outputs);

  // updateOutputMetadata(scenes, inputMetadata, outputMetadata) when defined; returns
  // outputMetadata.userData (also when evaluatePixel set it), or null.
  nlohmann::json user_data();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ds::evalscript
