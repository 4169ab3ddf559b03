// Fuzz target: a Process API body — first as multipart/form-data (the parser must split it or
// refuse it with ds::Error), then as JSON bound into the engine's request. Binding either succeeds
// or throws ds::Error (400-class or 501), never crashes, hangs or lets another exception escape.

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "api/process/routes.hpp"
#include "catalog/collection.hpp"
#include "core/error.hpp"
#include "http/multipart.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ds::catalog::CollectionRegistry registry = ds::catalog::CollectionRegistry::load();
  const std::string input(reinterpret_cast<const char*>(data), size);
  try {
    for (const auto& part : ds::http::parse_multipart(input, "XyZ")) {
      if (part.body.size() > input.size()) __builtin_trap();
    }
  } catch (const ds::Error& e) {
    if (e.code() != ds::ErrorCode::bad_request) __builtin_trap();
  }
  const nlohmann::json body = nlohmann::json::parse(input, nullptr, false);
  if (body.is_discarded()) return 0;
  try {
    const auto request = ds::api::process::bind_request(body, registry);
    if (request.grid.width < 1 || request.grid.width > 2500 || request.grid.height < 1 || request.grid.height > 2500)
      __builtin_trap();
    if (request.inputs.empty() || request.evalscript.empty()) __builtin_trap();
  } catch (const ds::Error& e) {
    const int status = ds::http_status(e.code());
    if (status < 400 || status >= 500) {
      if (e.code() != ds::ErrorCode::not_implemented) __builtin_trap();
    }
  }
  return 0;
}
