// Fuzz target: CQL2 text filters from STAC requests must either parse into CQL2 JSON that the
// compiler turns into a catalogue expression or is refused with ds::Error, never crash, hang or
// throw anything else (a json::exception escaping here is a bug).

#include <cstddef>
#include <cstdint>
#include <string>

#include "api/stac/compile.hpp"
#include "api/stac/cql2.hpp"
#include "catalog/collection.hpp"
#include "core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ds::catalog::CollectionRegistry registry = ds::catalog::CollectionRegistry::load();
  static const ds::api::stac::Vocabulary vocabulary(&registry);
  const std::string input(reinterpret_cast<const char*>(data), size);
  nlohmann::json parsed;
  try {
    parsed = ds::api::stac::parse_cql2_text(input);
  } catch (const ds::Error& e) {
    if (e.code() != ds::ErrorCode::invalid_parameter) __builtin_trap();
    return 0;
  }
  if (parsed.is_null()) __builtin_trap();
  try {
    if (!ds::api::stac::compile_cql2(parsed, vocabulary)) __builtin_trap();
  } catch (const ds::Error& e) {
    if (e.code() != ds::ErrorCode::invalid_parameter) __builtin_trap();
  }
  return 0;
}
