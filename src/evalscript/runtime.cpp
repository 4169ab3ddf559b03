// V8 platform, per-thread isolates, the watchdog and the heap guard. Findings this follows are in
// ../shared/research/v8-embedding.md (measured on this machine's libnode 10.2).

#include "evalscript/runtime.hpp"

#include <libplatform/libplatform.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

namespace ds::evalscript {

extern const char* const kLibrarySource;  // library.js, embedded by src/CMakeLists.txt

namespace {

using Clock = std::chrono::steady_clock;

// V8 is initialised once per process and never torn down: the platform is deliberately leaked
// at exit, so thread-local runtimes may dispose their isolates in any order, even during exit.
v8::Platform* platform() {
  static v8::Platform* instance = [] {
    // No WebAssembly: its memories are allocated outside the heap limit and the ArrayBuffer budget.
    const char flags[] = "--no-expose-wasm";
    v8::V8::SetFlagsFromString(flags, sizeof(flags) - 1);
    if (const char* extra = std::getenv("DATASPACE_V8_FLAGS")) v8::V8::SetFlagsFromString(extra, std::strlen(extra));
    v8::Platform* p = v8::platform::NewDefaultPlatform().release();
    v8::V8::InitializePlatform(p);
    v8::V8::Initialize();
    return p;
  }();
  return instance;
}

// One thread per process ends calls that outlive their deadline (TerminateExecution). A call
// disarms under the mutex before it returns, so no termination is ever issued for an isolate
// that is not inside the armed call (a stray one would kill the next call).
class Watchdog {
 public:
  static Watchdog& instance() {
    static Watchdog* w = new Watchdog();  // leaked with its detached thread (process lifetime)
    return *w;
  }

  std::uint64_t arm(v8::Isolate* isolate, Clock::time_point deadline) {
    std::lock_guard lock(mutex_);
    const std::uint64_t token = next_++;
    entries_.emplace(token, Entry{isolate, deadline, false});
    cv_.notify_one();
    return token;
  }

  // True when the deadline passed and TerminateExecution was called for this arming.
  bool disarm(std::uint64_t token) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(token);
    const bool fired = it != entries_.end() && it->second.fired;
    if (it != entries_.end()) entries_.erase(it);
    return fired;
  }

 private:
  struct Entry {
    v8::Isolate* isolate;
    Clock::time_point deadline;
    bool fired;
  };

  Watchdog() {
    std::thread([this] { loop(); }).detach();
  }

  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      const Entry* next = nullptr;
      for (const auto& [token, e] : entries_)
        if (!e.fired && (!next || e.deadline < next->deadline)) next = &e;
      if (!next) {
        cv_.wait(lock);
        continue;
      }
      const auto deadline = next->deadline;
      cv_.wait_until(lock, deadline);
      const auto now = Clock::now();
      for (auto& [token, e] : entries_) {
        if (!e.fired && e.deadline <= now) {
          e.isolate->TerminateExecution();
          e.fired = true;
        }
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::uint64_t, Entry> entries_;
  std::uint64_t next_ = 1;
};

// Leaves room for C++ frames below the JavaScript stack on threads with small stacks (V8
// otherwise assumes ~1 MB below the point where the isolate was created).
void fit_stack_limit(v8::Isolate* isolate) {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
  void* addr = nullptr;
  std::size_t size = 0;
  const bool ok = pthread_attr_getstack(&attr, &addr, &size) == 0;
  pthread_attr_destroy(&attr);
  if (!ok || !addr) return;
  const auto low = reinterpret_cast<std::uintptr_t>(addr);
  const auto here = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  constexpr std::uintptr_t kV8Default = 984 * 1024, kReserve = 192 * 1024;
  if (here - low < kV8Default + kReserve) isolate->SetStackLimit(low + kReserve);
}

std::string to_std(v8::Isolate* isolate, v8::Local<v8::Value> value) {
  v8::String::Utf8Value s(isolate, value);
  return *s ? std::string(*s, s.length()) : std::string();
}

}  // namespace

namespace detail {

// ArrayBuffer memory lives outside the V8 heap limit: this allocator gives each isolate a budget
// (Limits::heap_bytes) and remembers a refusal so that the RangeError becomes ScriptError memory.
// Engine buffers handed to JavaScript are external backing stores and do not count.
class BudgetAllocator : public v8::ArrayBuffer::Allocator {
 public:
  explicit BudgetAllocator(std::size_t budget) : budget_(budget) {}
  void* Allocate(std::size_t length) override {
    return reserve(length) ? checked(std::calloc(length, 1), length) : nullptr;
  }
  void* AllocateUninitialized(std::size_t length) override {
    return reserve(length) ? checked(std::malloc(length), length) : nullptr;
  }
  void Free(void* data, std::size_t length) override {
    std::free(data);
    used_ -= length;
  }
  std::atomic<bool> refused{false};

 private:
  bool reserve(std::size_t length) {
    std::size_t used = used_.load();
    do {
      if (length > budget_ || used > budget_ - length) {
        refused = true;
        return false;
      }
    } while (!used_.compare_exchange_weak(used, used + length));
    return true;
  }
  void* checked(void* p, std::size_t length) {
    if (!p) used_ -= length;
    return p;
  }
  const std::size_t budget_;
  std::atomic<std::size_t> used_{0};
};

}  // namespace detail

namespace {

// Called by V8 when the heap nears its limit: stop the script and give the unwinding room for
// one more allocation as large as the whole heap. Raises stop at 4× the initial limit: a script
// that still allocates beyond that (only possible inside one long builtin call that V8 cannot
// interrupt, such as Array.from({length: 1e8})) makes V8 abort rather than exhaust the machine.
std::size_t near_heap_limit(void* data, std::size_t current_limit, std::size_t initial_limit) {
  auto* runtime = static_cast<Runtime*>(data);
  runtime->heap_exhausted = true;
  runtime->isolate()->TerminateExecution();
  // Execution is already being terminated; the raise only lets the allocation in flight finish
  // (V8 aborts the process when a limit cannot be raised). Up to 8x the configured heap, and at
  // least 1 GiB, since a single uninterruptible builtin may need that much.
  const std::size_t raise = std::max<std::size_t>(64u << 20, initial_limit);
  const std::size_t cap = std::max<std::size_t>(8 * initial_limit, std::size_t{1} << 30);
  // Straight to the cap: V8 gives up (and aborts) when one raise is not enough for the allocation.
  return current_limit >= cap ? current_limit : std::max(cap, current_limit + raise);
}

// After each full GC: a script whose live heap stays above 3/4 of the limit is stopped there,
// before V8 spends seconds in last-resort collections near the hard limit.
void after_full_gc(v8::Isolate* isolate, v8::GCType, v8::GCCallbackFlags, void* data) {
  auto* runtime = static_cast<Runtime*>(data);
  v8::HeapStatistics stats;
  isolate->GetHeapStatistics(&stats);
  if (runtime->in_call && stats.used_heap_size() > runtime->limits().heap_bytes / 4 * 3) {
    runtime->heap_exhausted = true;
    isolate->TerminateExecution();
  }
}

}  // namespace

Runtime::Runtime(const Limits& limits) : limits_(limits) {
  platform();
  allocator_ = std::make_unique<detail::BudgetAllocator>(limits.heap_bytes);
  v8::Isolate::CreateParams params;
  params.array_buffer_allocator = allocator_.get();
  params.constraints.ConfigureDefaultsFromHeapSize(0, limits.heap_bytes);
  isolate_ = v8::Isolate::New(params);
  fit_stack_limit(isolate_);
  isolate_->AddNearHeapLimitCallback(near_heap_limit, this);
  isolate_->AutomaticallyRestoreInitialHeapLimit(0.5);
  isolate_->AddGCEpilogueCallback(after_full_gc, this, v8::kGCTypeMarkSweepCompact);
  isolate_->SetCaptureStackTraceForUncaughtExceptions(true, 16);
  isolate_->SetAllowAtomicsWait(false);
}

Runtime::~Runtime() {
  warm_.clear();
  library_.Reset();
  isolate_->Dispose();
}

v8::Local<v8::UnboundScript> Runtime::library() {
  if (library_.IsEmpty()) {
    v8::Isolate::Scope isolate_scope(isolate_);
    v8::EscapableHandleScope handles(isolate_);
    v8::ScriptOrigin origin(isolate_, v8::String::NewFromUtf8Literal(isolate_, "library.js"));
    v8::ScriptCompiler::Source source(v8::String::NewFromUtf8(isolate_, kLibrarySource).ToLocalChecked(), origin);
    auto compiled = v8::ScriptCompiler::CompileUnboundScript(isolate_, &source);
    if (compiled.IsEmpty()) throw std::logic_error("evalscript library.js does not compile");
    library_.Reset(isolate_, compiled.ToLocalChecked());
  }
  return library_.Get(isolate_);
}

std::unique_ptr<ScriptContext> Runtime::take_warm(std::string_view key) {
  for (auto it = warm_.begin(); it != warm_.end(); ++it) {
    if ((*it)->key == key) {
      auto found = std::move(*it);
      warm_.erase(it);
      return found;
    }
  }
  return nullptr;
}

void Runtime::keep_warm(std::unique_ptr<ScriptContext> context) {
  warm_.push_front(std::move(context));
  bool disposed = false;
  while (warm_.size() > kWarmContexts) {
    warm_.pop_back();
    disposed = true;
  }
  if (disposed) isolate_->ContextDisposedNotification();
}

void Runtime::drop_warm() {
  if (warm_.empty()) return;
  warm_.clear();
  isolate_->ContextDisposedNotification();
}

std::size_t Runtime::heap_used() {
  v8::HeapStatistics stats;
  isolate_->GetHeapStatistics(&stats);
  return stats.used_heap_size();
}

v8::Local<v8::Value> Runtime::guarded(v8::Local<v8::Context> context, std::string_view what,
                                      const std::function<v8::MaybeLocal<v8::Value>()>& body,
                                      v8::Local<v8::Value> contract_class, bool syntax) {
  v8::TryCatch try_catch(isolate_);
  heap_exhausted = false;
  allocator_->refused = false;
  auto& watchdog = Watchdog::instance();
  const auto token = watchdog.arm(isolate_, Clock::now() + limits_.call_timeout);
  in_call = true;
  v8::MaybeLocal<v8::Value> result = body();
  in_call = false;
  const bool fired = watchdog.disarm(token);
  const bool exhausted = heap_exhausted.exchange(false);
  if (fired || exhausted || isolate_->IsExecutionTerminating()) isolate_->CancelTerminateExecution();

  if (!result.IsEmpty() && !try_catch.HasCaught()) return result.ToLocalChecked();

  if (exhausted || (allocator_->refused && !try_catch.HasTerminated())) {
    if (exhausted) isolate_->LowMemoryNotification();
    throw ScriptError(ScriptError::Kind::memory, fmt::format("{}: {} used more memory than the limit of {} MB",
                                                             kScriptName, what, limits_.heap_bytes >> 20));
  }
  if (fired || try_catch.HasTerminated()) {
    const auto ms = limits_.call_timeout.count();
    throw ScriptError(ScriptError::Kind::timeout,
                      ms % 1000 == 0
                          ? fmt::format("{}: {} ran longer than the limit of {} s", kScriptName, what, ms / 1000)
                          : fmt::format("{}: {} ran longer than the limit of {} ms", kScriptName, what, ms));
  }

  v8::Local<v8::Value> exception = try_catch.Exception();
  if (!contract_class.IsEmpty() && contract_class->IsFunction() && exception->IsObject()) {
    bool is_contract = exception->InstanceOf(context, contract_class.As<v8::Object>()).FromMaybe(false);
    if (is_contract) {
      v8::Local<v8::Value> message;
      if (!exception.As<v8::Object>()
               ->Get(context, v8::String::NewFromUtf8Literal(isolate_, "message"))
               .ToLocal(&message))
        message = exception;
      throw ScriptError(ScriptError::Kind::contract, to_std(isolate_, message));
    }
  }

  // The message text was formatted by V8 when the exception was thrown (no user code runs here).
  v8::Local<v8::Message> message = try_catch.Message();
  std::string text = message.IsEmpty() ? std::string("exception") : to_std(isolate_, message->Get());
  if (text.rfind("Uncaught ", 0) == 0) text.erase(0, 9);
  int line = 0, column = 0;
  std::string resource(kScriptName);
  if (!message.IsEmpty()) {
    // The innermost frame of the user's script (an error inside a library helper is reported
    // where the script called it).
    bool found = false;
    if (auto trace = message->GetStackTrace(); !trace.IsEmpty()) {
      for (int i = 0; i < trace->GetFrameCount() && !found; ++i) {
        auto frame = trace->GetFrame(isolate_, i);
        if (to_std(isolate_, frame->GetScriptName()) == kScriptName) {
          line = frame->GetLineNumber();
          column = frame->GetColumn();
          found = true;
        }
      }
    }
    if (!found) {
      line = message->GetLineNumber(context).FromMaybe(0);
      column = message->GetStartColumn(context).FromMaybe(-1) + 1;
      auto name = to_std(isolate_, message->GetScriptResourceName());
      if (!name.empty()) resource = name;
    }
  }
  const auto kind = syntax ? ScriptError::Kind::syntax : ScriptError::Kind::runtime;
  if (line > 0) throw ScriptError(kind, fmt::format("{}:{}:{}: {}", resource, line, column, text), line, column);
  throw ScriptError(kind, fmt::format("{}: {}", resource, text));
}

std::size_t warm_contexts(const Runtime& runtime) { return runtime.warm_count(); }

Runtime& thread_runtime(const Limits& limits) {
  thread_local std::unique_ptr<Runtime> runtime;
  if (!runtime) runtime = std::make_unique<Runtime>(limits);
  return *runtime;
}

}  // namespace ds::evalscript
