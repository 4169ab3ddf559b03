#pragma once
// The per-thread V8 runtime behind script.hpp (private to src/evalscript/): one isolate pinned to
// the thread that created it (no Locker), its heap and ArrayBuffer limits, the process-wide
// watchdog that ends calls running past Limits::call_timeout, and the helper library compiled
// once per isolate.

#include <v8.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>

#include "evalscript/script.hpp"

static_assert(V8_MAJOR_VERSION == 10, "V8 headers must come from Debian's libnode-dev (V8 10.2), see CMakeLists.txt");

namespace ds::evalscript {

namespace detail {
class BudgetAllocator;
}

// A context that ran the helper library and holds one user script compiled as a function body
// (the script's top-level code runs as a fresh call of `script` per request). Script takes one
// out of the runtime's warm list or builds one; it gives it back when a request left it clean.
struct ScriptContext {
  std::string key;  // owner + NUL + source: a context is reused only for the same owner and script
  v8::Global<v8::Context> context;
  v8::Global<v8::Object> driver;
  v8::Global<v8::Value> contract_class;
  v8::Global<v8::Function> script;
  bool versioned = false;  // the source carries //VERSION=3
};

class Runtime {
 public:
  explicit Runtime(const Limits& limits);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  v8::Isolate* isolate() const { return isolate_; }
  const Limits& limits() const { return limits_; }

  // The helper library (library.js), compiled on first use and kept for the isolate's lifetime.
  v8::Local<v8::UnboundScript> library();

  // Runs `body` (which enters JavaScript) with the watchdog armed and the heap guard reset, then
  // turns a failure into ScriptError: timeout, memory, contract (when the exception is an
  // instance of `contract_class`), syntax (when `syntax`) or runtime with the line and column of
  // the user's script. `what` names the call in timeout and memory messages ("evaluatePixel").
  v8::Local<v8::Value> guarded(v8::Local<v8::Context> context, std::string_view what,
                               const std::function<v8::MaybeLocal<v8::Value>()>& body,
                               v8::Local<v8::Value> contract_class = {}, bool syntax = false);

  // Set by the heap callbacks; read and cleared by guarded(). `in_call` is true while guarded()
  // runs JavaScript (a termination must never be left pending outside a call).
  std::atomic<bool> heap_exhausted{false};
  bool in_call = false;

  // Measurement hooks for the benchmark and tests.
  std::size_t heap_used();

  // Warm contexts, most recently used first, at most kWarmContexts. take_warm() removes and returns
  // the one for `key` (or null); keep_warm() puts one back and disposes the oldest beyond the bound.
  static constexpr std::size_t kWarmContexts = 8;
  std::unique_ptr<ScriptContext> take_warm(std::string_view key);
  void keep_warm(std::unique_ptr<ScriptContext> context);
  void drop_warm();
  std::size_t warm_count() const { return warm_.size(); }

 private:
  Limits limits_;
  std::unique_ptr<detail::BudgetAllocator> allocator_;
  v8::Isolate* isolate_ = nullptr;
  v8::Global<v8::UnboundScript> library_;
  std::list<std::unique_ptr<ScriptContext>> warm_;
};

// The resource name of the user's script in messages and stack traces.
inline constexpr std::string_view kScriptName = "evalscript.js";

}  // namespace ds::evalscript
