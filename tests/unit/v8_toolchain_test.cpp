// Pins the V8 toolchain that scripts/setup installs: the headers must be libnode-dev's V8 10.2
// (not NodeSource's 11.3 in /usr/include/node), and the library must initialise and run a script.

#include <libplatform/libplatform.h>
#include <v8.h>

#include <gtest/gtest.h>

static_assert(V8_MAJOR_VERSION == 10, "V8 headers must come from Debian's libnode-dev (V8 10.2)");

TEST(V8Toolchain, InitialisesAndEvaluatesAScript) {
  auto platform = v8::platform::NewDefaultPlatform(1);
  v8::V8::InitializePlatform(platform.get());
  ASSERT_TRUE(v8::V8::Initialize());
  v8::Isolate::CreateParams params;
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator(v8::ArrayBuffer::Allocator::NewDefaultAllocator());
  params.array_buffer_allocator = allocator.get();
  v8::Isolate* isolate = v8::Isolate::New(params);
  {
    v8::Isolate::Scope isolate_scope(isolate);
    v8::HandleScope handles(isolate);
    auto context = v8::Context::New(isolate);
    v8::Context::Scope context_scope(context);
    auto source = v8::String::NewFromUtf8Literal(isolate, "[1, 2, 3].map(x => x * 2).reduce((a, b) => a + b)");
    auto script = v8::Script::Compile(context, source).ToLocalChecked();
    auto result = script->Run(context).ToLocalChecked();
    EXPECT_EQ(result->Int32Value(context).FromJust(), 12);
  }
  isolate->Dispose();
  v8::V8::Dispose();
  v8::V8::DisposePlatform();
}
