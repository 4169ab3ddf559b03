#pragma once
// The per-thread V8 runtime behind script.hpp (private to src/evalscript/): one isolate pinned to
// the thread that created it (no Locker), its heap and ArrayBuffer limits, the process-wide
// watchdog that ends calls running past Limits::call_timeout, and the helper library compiled
// once per isolate.

#include <v8.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "evalscript/script.hpp"

static_assert(V8_MAJOR_VERSION == 10, "V8 headers must come from Debian's libnode-dev (V8 10.2), see CMakeLists.txt");

namespace ds::evalscript {

namespace detail {
class BudgetAllocator;
}

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

 private:
  Limits limits_;
  std::unique_ptr<detail::BudgetAllocator> allocator_;
  v8::Isolate* isolate_ = nullptr;
  v8::Global<v8::UnboundScript> library_;
};

// The resource name of the user's script in messages and stack traces.
inline constexpr std::string_view kScriptName = "evalscript.js";

}  // namespace ds::evalscript
