// Script: one evalscript in a fresh context of the thread's isolate. The JavaScript side (the
// helper library and the batch driver) is library.js; this file moves data in and out of it and
// validates what setup() and updateOutput() return.

#include "evalscript/script.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "evalscript/runtime.hpp"

namespace ds::evalscript {

namespace {

// Bound on JSON that comes back from the script (setup, preProcessScenes, userData).
constexpr int kMaxJsonBytes = 16 << 20;

// Live heap above which a finished Script triggers a full collection.
constexpr std::size_t kCollectAbove = std::size_t{32} << 20;

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

[[noreturn]] void contract(std::string message) { throw ScriptError(ScriptError::Kind::contract, std::move(message)); }

std::string describe(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::string:
      return fmt::format("the string \"{}\"", j.get<std::string>());
    case nlohmann::json::value_t::boolean:
      return j.get<bool>() ? "true" : "false";
    default:
      return j.dump();
  }
}

// A non-negative integral JSON number as int, or nullopt.
std::optional<long long> integral(const nlohmann::json& j) {
  if (j.is_number_integer()) return j.get<long long>();
  if (j.is_number_float()) {
    const double d = j.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) return static_cast<long long>(d);
  }
  return std::nullopt;
}

std::vector<std::string> band_list(const nlohmann::json& j, std::string_view where) {
  std::vector<std::string> bands;
  if (j.is_string()) {
    bands.push_back(j.get<std::string>());
  } else if (j.is_array()) {
    for (const auto& b : j) {
      if (!b.is_string())
        contract(fmt::format("setup(): {} bands must be band names (strings), not {}", where, describe(b)));
      bands.push_back(b.get<std::string>());
    }
  } else {
    contract(fmt::format("setup(): {} bands must be an array of band names, not {}", where, describe(j)));
  }
  if (bands.empty()) contract(fmt::format("setup(): {} names no band", where));
  for (const auto& b : bands) {
    if (b.empty() || b.size() > 128 || b == "__proto__")
      contract(fmt::format("setup(): {} has an invalid band name \"{}\"", where, b));
  }
  return bands;
}

Mosaicking mosaicking_of(const nlohmann::json& j, std::string_view where) {
  if (!j.is_string()) contract(fmt::format("setup(): {} mosaicking must be a string, not {}", where, describe(j)));
  auto m = parse_mosaicking(j.get<std::string>());
  if (!m)
    contract(fmt::format("setup(): unknown mosaicking \"{}\"{}: use SIMPLE, ORBIT or TILE", j.get<std::string>(),
                         where.empty() ? "" : fmt::format(" in {}", where)));
  return *m;
}

InputSpec parse_input(const nlohmann::json& j, std::size_t k) {
  const std::string where = fmt::format("input {}", k);
  InputSpec in;
  if (!j.contains("bands")) contract(fmt::format("setup(): {} has no bands", where));
  in.bands = band_list(j["bands"], where);
  if (j.contains("units") && !j["units"].is_null()) {
    const auto& u = j["units"];
    if (u.is_string()) {
      in.units.assign(in.bands.size(), upper(u.get<std::string>()));
    } else if (u.is_array()) {
      for (const auto& e : u) {
        if (!e.is_string()) contract(fmt::format("setup(): {} units must be strings, not {}", where, describe(e)));
        in.units.push_back(upper(e.get<std::string>()));
      }
      if (in.units.size() != in.bands.size())
        contract(fmt::format("setup(): {} has {} bands but {} units", where, in.bands.size(), in.units.size()));
    } else {
      contract(fmt::format("setup(): {} units must be a string or an array of strings, not {}", where, describe(u)));
    }
  }
  if (j.contains("datasource") && !j["datasource"].is_null()) {
    if (!j["datasource"].is_string() || j["datasource"].get<std::string>().empty())
      contract(fmt::format("setup(): {} datasource must be a non-empty string", where));
    in.datasource = j["datasource"].get<std::string>();
  }
  if (j.contains("mosaicking") && !j["mosaicking"].is_null()) in.mosaicking = mosaicking_of(j["mosaicking"], where);
  if (j.contains("metadata") && j["metadata"].is_array()) {
    for (const auto& m : j["metadata"])
      if (m.is_string() && m.get<std::string>() == "bounds") in.metadata_bounds = true;
  }
  return in;
}

OutputSpec parse_output(const nlohmann::json& j, std::size_t k) {
  if (!j.is_object()) contract(fmt::format("setup(): output {} must be an object, not {}", k, describe(j)));
  OutputSpec out;
  if (j.contains("id") && !j["id"].is_null()) {
    if (!j["id"].is_string() || j["id"].get<std::string>().empty())
      contract(fmt::format("setup(): output {} id must be a non-empty string, not {}", k, describe(j["id"])));
    out.id = j["id"].get<std::string>();
  }
  if (!j.contains("bands") || j["bands"].is_null()) contract(fmt::format("setup(): output '{}' has no bands", out.id));
  const auto& b = j["bands"];
  if (b.is_array()) {
    for (const auto& name : b) {
      if (!name.is_string()) contract(fmt::format("setup(): output '{}' band names must be strings", out.id));
      out.band_names.push_back(name.get<std::string>());
    }
    out.bands = static_cast<int>(out.band_names.size());
    if (out.bands < 1) contract(fmt::format("setup(): output '{}' must have at least one band", out.id));
  } else {
    auto n = integral(b);
    if (!n) contract(fmt::format("setup(): output '{}' bands must be a whole number, not {}", out.id, describe(b)));
    if (*n < 1 || *n > kMaxOutputBands)
      contract(fmt::format("setup(): output '{}' has {} bands: 1 to {} are allowed", out.id, *n, kMaxOutputBands));
    out.bands = static_cast<int>(*n);
  }
  if (out.bands > kMaxOutputBands)
    contract(fmt::format("setup(): output '{}' has {} bands: 1 to {} are allowed", out.id, out.bands, kMaxOutputBands));
  if (j.contains("sampleType") && !j["sampleType"].is_null()) {
    const auto& t = j["sampleType"];
    auto parsed = t.is_string() ? parse_sample_type(t.get<std::string>()) : std::nullopt;
    if (!parsed)
      contract(
          fmt::format("setup(): unknown sampleType {} for output '{}': use AUTO, INT8, UINT8, INT16, UINT16 or FLOAT32",
                      t.is_string() ? "\"" + t.get<std::string>() + "\"" : describe(t), out.id));
    out.sample_type = *parsed;
  }
  if (j.contains("nodataValue") && !j["nodataValue"].is_null()) {
    const auto& v = j["nodataValue"];
    if (v.is_number()) {
      out.nodata = v.get<double>();
    } else if (v.is_string() && v.get<std::string>() == "NaN") {
      out.nodata = std::numeric_limits<double>::quiet_NaN();
    } else if (v.is_string() && v.get<std::string>() == "Infinity") {
      out.nodata = std::numeric_limits<double>::infinity();
    } else if (v.is_string() && v.get<std::string>() == "-Infinity") {
      out.nodata = -std::numeric_limits<double>::infinity();
    } else {
      contract(fmt::format("setup(): output '{}' nodataValue must be a number, not {}", out.id, describe(v)));
    }
  }
  return out;
}

Setup parse_setup(const nlohmann::json& j) {
  if (!j.is_object()) contract(fmt::format("setup() must return an object with input and output, not {}", describe(j)));
  Setup setup;
  if (!j.contains("input") || j["input"].is_null()) contract("setup() returned no input");
  const auto& input = j["input"];
  if (input.is_array() && !input.empty() &&
      std::all_of(input.begin(), input.end(), [](auto& e) { return e.is_string(); })) {
    InputSpec in;
    in.bands = band_list(input, "input");
    setup.inputs.push_back(std::move(in));
  } else if (input.is_array() && !input.empty()) {
    for (std::size_t k = 0; k < input.size(); ++k) {
      if (!input[k].is_object())
        contract(
            fmt::format("setup(): input must be an array of band names or an array of input objects; entry {} is {}", k,
                        describe(input[k])));
      setup.inputs.push_back(parse_input(input[k], k));
    }
  } else if (input.is_object()) {
    setup.inputs.push_back(parse_input(input, 0));
  } else {
    contract(fmt::format("setup(): input must be a non-empty array of band names or input objects, not {}",
                         input.is_array() ? "an empty array" : describe(input)));
  }

  if (!j.contains("output") || j["output"].is_null()) contract("setup() returned no output");
  const auto& output = j["output"];
  if (output.is_array()) {
    if (output.empty()) contract("setup(): output must declare at least one output");
    for (std::size_t k = 0; k < output.size(); ++k) setup.outputs.push_back(parse_output(output[k], k));
  } else {
    setup.outputs.push_back(parse_output(output, 0));
  }
  std::set<std::string> ids;
  for (const auto& o : setup.outputs)
    if (!ids.insert(o.id).second)
      contract(fmt::format("setup(): two outputs have the id '{}': output ids must be unique", o.id));

  if (j.contains("mosaicking") && !j["mosaicking"].is_null()) setup.mosaicking = mosaicking_of(j["mosaicking"], "");
  return setup;
}

std::string to_std(v8::Isolate* isolate, v8::Local<v8::Value> value) {
  v8::String::Utf8Value s(isolate, value);
  return *s ? std::string(*s, s.length()) : std::string();
}

v8::Local<v8::String> js_string(v8::Isolate* isolate, std::string_view s) {
  v8::Local<v8::String> out;
  if (s.size() > static_cast<std::size_t>(v8::String::kMaxLength) ||
      !v8::String::NewFromUtf8(isolate, s.data(), v8::NewStringType::kNormal, static_cast<int>(s.size())).ToLocal(&out))
    contract("the evalscript or its data is too large");
  return out;
}

}  // namespace

ScriptError::ScriptError(Kind kind, std::string message, int line, int column)
    : std::runtime_error(std::move(message)), kind(kind), line(line), column(column) {}

std::optional<Mosaicking> parse_mosaicking(std::string_view s) {
  const auto u = upper(s);
  if (u == "SIMPLE") return Mosaicking::simple;
  if (u == "ORBIT") return Mosaicking::orbit;
  if (u == "TILE") return Mosaicking::tile;
  return std::nullopt;
}

std::optional<SampleType> parse_sample_type(std::string_view s) {
  const auto u = upper(s);
  if (u == "AUTO") return SampleType::automatic;
  if (u == "INT8") return SampleType::int8;
  if (u == "UINT8") return SampleType::uint8;
  if (u == "INT16") return SampleType::int16;
  if (u == "UINT16") return SampleType::uint16;
  if (u == "FLOAT32") return SampleType::float32;
  return std::nullopt;
}

std::string_view to_string(Mosaicking m) {
  switch (m) {
    case Mosaicking::simple:
      return "SIMPLE";
    case Mosaicking::orbit:
      return "ORBIT";
    case Mosaicking::tile:
      return "TILE";
  }
  return "SIMPLE";
}

std::string_view to_string(SampleType t) {
  switch (t) {
    case SampleType::automatic:
      return "AUTO";
    case SampleType::int8:
      return "INT8";
    case SampleType::uint8:
      return "UINT8";
    case SampleType::int16:
      return "INT16";
    case SampleType::uint16:
      return "UINT16";
    case SampleType::float32:
      return "FLOAT32";
  }
  return "AUTO";
}

bool is_fusion(const Setup& setup, std::span<const SourceBatch> sources) {
  if (sources.size() > 1) return true;
  if (sources.size() == 1 && !sources[0].id.empty())
    for (const auto& in : setup.inputs)
      if (!in.datasource.empty()) return true;
  return false;
}

namespace {
enum Hook { kSetup = 1, kEvaluatePixel = 2, kPreProcessScenes = 4, kUpdateOutput = 8, kUpdateOutputMetadata = 16 };
}

struct Script::Impl {
  Runtime& runtime;
  v8::Isolate* isolate;
  std::unique_ptr<ScriptContext> held;  // this request's context (fresh or warm)
  bool cacheable = false;               // the context may be kept warm for the next request
  int hooks = 0;
  std::optional<Setup> setup;
  std::optional<ScriptError> dead;  // after a timeout or heap exhaustion the context is not reused
  bool failed = false;              // a call threw: the context is not kept warm
  bool configured = false;
  bool configured_fusion = false;
  std::optional<nlohmann::json> user_data;

  explicit Impl(Runtime& r) : runtime(r), isolate(r.isolate()) {}

  // Calls driver.<name>(args...) under the runtime's guards.
  v8::Local<v8::Value> call(v8::Local<v8::Context> ctx, std::string_view what, const char* name,
                            std::vector<v8::Local<v8::Value>> args) {
    if (dead) throw *dead;
    auto drv = held->driver.Get(isolate);
    auto fn =
        drv->Get(ctx, v8::String::NewFromUtf8(isolate, name).ToLocalChecked()).ToLocalChecked().As<v8::Function>();
    try {
      return runtime.guarded(
          ctx, what, [&] { return fn->Call(ctx, drv, static_cast<int>(args.size()), args.data()); },
          held->contract_class.Get(isolate));
    } catch (const ScriptError& e) {
      failed = true;
      if (e.kind == ScriptError::Kind::timeout || e.kind == ScriptError::Kind::memory) dead = e;
      throw;
    } catch (...) {
      failed = true;
      throw;
    }
  }

  std::string call_json(v8::Local<v8::Context> ctx, std::string_view what, const char* name,
                        std::vector<v8::Local<v8::Value>> args) {
    auto result = call(ctx, what, name, std::move(args));
    if (!result->IsString()) return "null";
    if (result.As<v8::String>()->Utf8Length(isolate) > kMaxJsonBytes)
      contract(fmt::format("{} returned more than {} MB of data", what, kMaxJsonBytes >> 20));
    return to_std(isolate, result);
  }

  Setup& ensure_setup(v8::Local<v8::Context> ctx) {
    if (setup) return *setup;
    const char* hint = held->versioned ? "" : " (only evalscript V3 is supported: start the script with //VERSION=3)";
    if (!(hooks & kSetup)) contract(fmt::format("the evalscript defines no setup() function{}", hint));
    if (!(hooks & kEvaluatePixel)) contract(fmt::format("the evalscript defines no evaluatePixel() function{}", hint));
    const auto text = call_json(ctx, "setup()", "runSetup", {});
    setup = parse_setup(nlohmann::json::parse(text));
    return *setup;
  }

  void configure(v8::Local<v8::Context> ctx, bool fusion) {
    if (configured && configured_fusion == fusion) return;
    nlohmann::json outs = nlohmann::json::array();
    for (const auto& o : setup->outputs) outs.push_back({{"id", o.id}, {"bands", o.bands}});
    call(ctx, "configure", "configure", {js_string(isolate, outs.dump()), v8::Boolean::New(isolate, fusion)});
    configured = true;
    configured_fusion = fusion;
  }
};

namespace {
// Enters the isolate and the script's context for one public call.
struct Enter {
  explicit Enter(v8::Isolate* isolate, const std::unique_ptr<ScriptContext>& held)
      : isolate_scope(isolate), handles(isolate), ctx(held->context.Get(isolate)), context_scope(ctx) {}
  v8::Isolate::Scope isolate_scope;
  v8::HandleScope handles;
  v8::Local<v8::Context> ctx;
  v8::Context::Scope context_scope;
};

// ArrayBuffers over engine memory, detached when the batch ends so that nothing in the context
// can reach that memory afterwards.
struct ExternalBuffers {
  explicit ExternalBuffers(v8::Isolate* i) : isolate(i) {}
  ~ExternalBuffers() {
    for (auto& b : buffers) b->Detach();
  }
  v8::Local<v8::Float32Array> view(const float* data, std::size_t count) {
    v8::Local<v8::ArrayBuffer> buffer;
    if (count == 0) {
      buffer = v8::ArrayBuffer::New(isolate, 0);
    } else {
      auto store = v8::ArrayBuffer::NewBackingStore(
          const_cast<float*>(data), count * sizeof(float), [](void*, std::size_t, void*) {}, nullptr);
      buffer = v8::ArrayBuffer::New(isolate, std::move(store));
    }
    buffers.push_back(buffer);
    return v8::Float32Array::New(buffer, 0, count);
  }
  v8::Isolate* isolate;
  std::vector<v8::Local<v8::ArrayBuffer>> buffers;
};
}  // namespace

namespace {

// Sources larger than this are never kept warm (their key would be as large).
constexpr std::size_t kMaxWarmSource = 1 << 20;

// The user's source runs as the body of a function (script.hpp), between a first line of ours
// and a return of the hooks, looked up by name after the top-level code ran (`typeof` resolves
// function, var, let and const declarations and globals alike). The first line hands the library
// an accessor for the override names (EO Browser's gainOverride, offsetOverride, gammaOverride,
// rangeOverrides), which the visualizers read from the script's top-level scope; the script's
// lines keep their numbers through the origin's line offset.
constexpr std::string_view kScopeParameter = "__dataspace_scope__";
constexpr std::string_view kScopeLine =
    "__dataspace_scope__((n) => n === 0 ? (typeof gainOverride === 'undefined' ? void 0 : gainOverride)"
    " : n === 1 ? (typeof offsetOverride === 'undefined' ? void 0 : offsetOverride)"
    " : n === 2 ? (typeof gammaOverride === 'undefined' ? void 0 : gammaOverride)"
    " : (typeof rangeOverrides === 'undefined' ? void 0 : rangeOverrides));\n";
constexpr std::string_view kHookLookup =
    "\n;return [typeof setup === 'function' ? setup : void 0,"
    " typeof evaluatePixel === 'function' ? evaluatePixel : void 0,"
    " typeof preProcessScenes === 'function' ? preProcessScenes : void 0,"
    " typeof updateOutput === 'function' ? updateOutput : void 0,"
    " typeof updateOutputMetadata === 'function' ? updateOutputMetadata : void 0];";

// Whether the source opens with a "use strict" directive (after comments and other directives):
// our first line would otherwise take the directive position.
bool strict_directive(std::string_view s) {
  std::size_t i = 0;
  for (;;) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (s.substr(i, 2) == "//") {
      i = s.find('\n', i);
      if (i == std::string_view::npos) return false;
      continue;
    }
    if (s.substr(i, 2) == "/*") {
      i = s.find("*/", i + 2);
      if (i == std::string_view::npos) return false;
      i += 2;
      continue;
    }
    if (i >= s.size() || (s[i] != '"' && s[i] != '\'')) return false;
    const char quote = s[i];
    const std::size_t end = s.find(quote, i + 1);
    if (end == std::string_view::npos) return false;
    const auto literal = s.substr(i + 1, end - i - 1);
    if (literal.find('\\') != std::string_view::npos) return false;
    i = end + 1;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    // A directive ends the statement (";", a line break, the end); anything else makes the string
    // part of an expression.
    if (i < s.size() && s[i] != ';' && s[i] != '\n' && s[i] != '\r') return false;
    if (literal == "use strict") return true;
    if (i < s.size() && s[i] == ';') ++i;
  }
}

// A fresh context: the helper library run in it, the user's source compiled as a function body.
std::unique_ptr<ScriptContext> build_context(Runtime& runtime, std::string key, std::string_view source) {
  auto* isolate = runtime.isolate();
  auto held = std::make_unique<ScriptContext>();
  held->key = std::move(key);
  auto ctx = v8::Context::New(isolate);
  held->context.Reset(isolate, ctx);
  v8::Context::Scope context_scope(ctx);

  auto library = runtime.library();
  auto driver = runtime.guarded(ctx, "the helper library", [&] { return library->BindToCurrentContext()->Run(ctx); });
  held->driver.Reset(isolate, driver.As<v8::Object>());
  held->contract_class.Reset(
      isolate,
      driver.As<v8::Object>()->Get(ctx, v8::String::NewFromUtf8Literal(isolate, "ContractError")).ToLocalChecked());

  held->versioned =
      source.substr(0, std::min<std::size_t>(source.size(), 4096)).find("VERSION=3") != std::string_view::npos;
  // Syntax errors are those of the source as a classic script (a V1 script's top-level `return`
  // among them), with its own line and column.
  try {
    runtime.guarded(
        ctx, "compiling",
        [&]() -> v8::MaybeLocal<v8::Value> {
          v8::ScriptOrigin origin(isolate, js_string(isolate, kScriptName));
          v8::ScriptCompiler::Source plain(js_string(isolate, source), origin);
          if (v8::ScriptCompiler::CompileUnboundScript(isolate, &plain).IsEmpty()) return {};
          return v8::MaybeLocal<v8::Value>(v8::Undefined(isolate));
        },
        {}, true);
  } catch (const ScriptError& e) {
    if (held->versioned || e.kind != ScriptError::Kind::syntax) throw;
    throw ScriptError(e.kind,
                      std::string(e.what()) + " (only evalscript V3 is supported: start the script with //VERSION=3)",
                      e.line, e.column);
  }
  std::string body;
  body.reserve(16 + kScopeLine.size() + source.size() + kHookLookup.size());
  if (strict_directive(source)) body.append("'use strict';");
  body.append(kScopeLine).append(source).append(kHookLookup);
  v8::ScriptOrigin origin(isolate, js_string(isolate, kScriptName), -1, 0);
  v8::ScriptCompiler::Source wrapped(js_string(isolate, body), origin);
  v8::Local<v8::String> parameters[] = {js_string(isolate, kScopeParameter)};
  v8::Local<v8::Function> function;
  runtime.guarded(
      ctx, "compiling",
      [&]() -> v8::MaybeLocal<v8::Value> {
        if (!v8::ScriptCompiler::CompileFunction(ctx, &wrapped, 1, parameters).ToLocal(&function)) return {};
        return v8::MaybeLocal<v8::Value>(v8::Undefined(isolate));
      },
      {}, true);
  held->script.Reset(isolate, function);
  return held;
}

}  // namespace

Script::Script(Runtime& runtime, std::string_view source, std::string_view owner)
    : impl_(std::make_unique<Impl>(runtime)) {
  auto* isolate = impl_->isolate;
  v8::Isolate::Scope isolate_scope(isolate);
  v8::HandleScope handles(isolate);
  impl_->cacheable = source.size() <= kMaxWarmSource;
  std::string key;
  if (impl_->cacheable) {
    key.reserve(owner.size() + 1 + source.size());
    key.append(owner).push_back('\0');
    key.append(source);
    impl_->held = runtime.take_warm(key);
  }
  if (!impl_->held) impl_->held = build_context(runtime, std::move(key), source);

  // The script's top-level code, as a fresh call: its declarations are new for this request.
  auto ctx = impl_->held->context.Get(isolate);
  v8::Context::Scope context_scope(ctx);
  impl_->hooks = impl_->call(ctx, "the script's top-level code", "instantiate", {impl_->held->script.Get(isolate)})
                     ->Int32Value(ctx)
                     .FromMaybe(0);
}

Script::~Script() {
  if (!impl_ || !impl_->held) return;
  auto* isolate = impl_->isolate;
  auto& runtime = impl_->runtime;
  v8::Isolate::Scope isolate_scope(isolate);
  // Kept warm only when every call succeeded and the request left the globals and builtins as the
  // library made them (the driver removes globals the script added; anything else is refused).
  bool keep = impl_->cacheable && !impl_->failed && !impl_->dead;
  if (keep) {
    v8::HandleScope handles(isolate);
    auto ctx = impl_->held->context.Get(isolate);
    v8::Context::Scope context_scope(ctx);
    try {
      keep = impl_->call(ctx, "release", "release", {})->IsTrue();
    } catch (...) {
      keep = false;
    }
  }
  if (keep) {
    runtime.keep_warm(std::move(impl_->held));
  } else {
    impl_->held.reset();
    isolate->ContextDisposedNotification();
  }
  // A script stopped for its memory use leaves a large heap behind: collect it now so that the
  // heap limit returns to its initial value before the next script.
  // The same after a timeout (a script stopped mid-allocation leaves the same garbage) and whenever
  // the heap is large: otherwise floating garbage can trip the next script's heap guard. Warm
  // contexts are given up when the heap stays large after that.
  if (impl_->dead || runtime.heap_used() > kCollectAbove) {
    isolate->LowMemoryNotification();
    if (runtime.heap_used() > kCollectAbove) {
      runtime.drop_warm();
      isolate->LowMemoryNotification();
    }
  }
}

const Setup& Script::setup() {
  Enter e(impl_->isolate, impl_->held);
  return impl_->ensure_setup(e.ctx);
}

bool Script::has_preprocess_scenes() const { return impl_->hooks & kPreProcessScenes; }
bool Script::has_update_output() const { return impl_->hooks & kUpdateOutput; }
bool Script::has_update_output_metadata() const { return impl_->hooks & kUpdateOutputMetadata; }

nlohmann::json Script::preprocess_scenes(const nlohmann::json& collections) {
  Enter e(impl_->isolate, impl_->held);
  if (!has_preprocess_scenes()) return collections;
  auto text =
      impl_->call_json(e.ctx, "preProcessScenes()", "preProcess", {js_string(impl_->isolate, collections.dump())});
  return nlohmann::json::parse(text);
}

void Script::update_output(const nlohmann::json& collection) {
  Enter e(impl_->isolate, impl_->held);
  Setup& setup = impl_->ensure_setup(e.ctx);
  if (!has_update_output()) return;
  nlohmann::json outs = nlohmann::json::array();
  for (const auto& o : setup.outputs) outs.push_back({{"id", o.id}, {"bands", o.bands}});
  auto text = impl_->call_json(e.ctx, "updateOutput()", "updateOutput",
                               {js_string(impl_->isolate, outs.dump()), js_string(impl_->isolate, collection.dump())});
  const auto bands = nlohmann::json::parse(text);
  for (auto& o : setup.outputs) {
    const auto& b = bands.contains(o.id) ? bands[o.id] : nlohmann::json();
    auto n = integral(b);
    if (!n)
      contract(fmt::format("updateOutput(): output '{}' bands must be a whole number, not {}", o.id,
                           b.is_null() ? std::string("undefined") : describe(b)));
    if (*n < 1 || *n > kMaxOutputBands)
      contract(fmt::format("updateOutput(): output '{}' would have {} bands: 1 to {} are allowed", o.id, *n,
                           kMaxOutputBands));
    if (*n != o.bands) {
      o.bands = static_cast<int>(*n);
      o.band_names.clear();
    }
  }
  impl_->configured = false;
}

void Script::set_context(const nlohmann::json& scenes, const nlohmann::json& input_metadata) {
  Enter e(impl_->isolate, impl_->held);
  impl_->call(e.ctx, "set_context", "setContext",
              {js_string(impl_->isolate, scenes.dump()), js_string(impl_->isolate, input_metadata.dump())});
}

void Script::evaluate(std::span<const SourceBatch> sources, std::size_t pixel_count, std::span<OutputBatch> outputs) {
  Enter e(impl_->isolate, impl_->held);
  auto* isolate = impl_->isolate;
  const Setup& setup = impl_->ensure_setup(e.ctx);
  if (sources.empty()) throw std::invalid_argument("Script::evaluate needs at least one source");
  if (outputs.size() != setup.outputs.size())
    throw std::invalid_argument(
        fmt::format("Script::evaluate got {} output buffers for {} outputs", outputs.size(), setup.outputs.size()));
  for (std::size_t o = 0; o < outputs.size(); ++o)
    if (outputs[o].values.size() < pixel_count * static_cast<std::size_t>(setup.outputs[o].bands))
      throw std::invalid_argument(fmt::format("Script::evaluate: output buffer {} is too small", o));
  if (pixel_count == 0) return;
  if (pixel_count > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
    throw std::invalid_argument("Script::evaluate: batch too large");

  const bool fusion = is_fusion(setup, sources);
  impl_->configure(e.ctx, fusion);

  ExternalBuffers buffers(isolate);
  auto js_sources = v8::Array::New(isolate, static_cast<int>(sources.size()));
  for (std::size_t k = 0; k < sources.size(); ++k) {
    const auto& src = sources[k];
    const InputSpec* spec = nullptr;
    if (!src.id.empty())
      for (const auto& in : setup.inputs)
        if (in.datasource == src.id) spec = &in;
    if (!spec && k < setup.inputs.size()) spec = &setup.inputs[k];
    const Mosaicking m = spec && spec->mosaicking ? *spec->mosaicking : setup.mosaicking;
    const bool simple = m == Mosaicking::simple;
    if (simple && !fusion && src.scenes != 1)
      throw std::invalid_argument(fmt::format("Script::evaluate: SIMPLE source {} has {} scenes", k, src.scenes));
    const std::size_t count = src.scenes * src.bands.size() * pixel_count;
    if (count > 0 && !src.values) throw std::invalid_argument("Script::evaluate: source without values");

    auto bands = v8::Array::New(isolate, static_cast<int>(src.bands.size()));
    for (std::size_t b = 0; b < src.bands.size(); ++b)
      bands->Set(e.ctx, static_cast<std::uint32_t>(b), js_string(isolate, src.bands[b])).Check();
    auto obj = v8::Object::New(isolate);
    const std::string key = src.id.empty() ? std::to_string(k) : src.id;
    obj->Set(e.ctx, v8::String::NewFromUtf8Literal(isolate, "key"), js_string(isolate, key)).Check();
    obj->Set(e.ctx, v8::String::NewFromUtf8Literal(isolate, "bands"), bands).Check();
    obj->Set(e.ctx, v8::String::NewFromUtf8Literal(isolate, "scenes"),
             v8::Integer::NewFromUnsigned(isolate, static_cast<std::uint32_t>(src.scenes)))
        .Check();
    obj->Set(e.ctx, v8::String::NewFromUtf8Literal(isolate, "simple"), v8::Boolean::New(isolate, simple)).Check();
    obj->Set(e.ctx, v8::String::NewFromUtf8Literal(isolate, "data"), buffers.view(src.values, count)).Check();
    js_sources->Set(e.ctx, static_cast<std::uint32_t>(k), obj).Check();
  }
  auto js_outputs = v8::Array::New(isolate, static_cast<int>(outputs.size()));
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    const std::size_t count = pixel_count * static_cast<std::size_t>(setup.outputs[o].bands);
    js_outputs->Set(e.ctx, static_cast<std::uint32_t>(o), buffers.view(outputs[o].values.data(), count)).Check();
  }
  impl_->call(e.ctx, "evaluatePixel", "evaluate",
              {js_sources, v8::Integer::NewFromUnsigned(isolate, static_cast<std::uint32_t>(pixel_count)), js_outputs});
}

nlohmann::json Script::user_data() {
  if (impl_->user_data) return *impl_->user_data;
  Enter e(impl_->isolate, impl_->held);
  auto text = impl_->call_json(e.ctx, "updateOutputMetadata()", "userData", {});
  impl_->user_data = nlohmann::json::parse(text);
  return *impl_->user_data;
}

}  // namespace ds::evalscript
