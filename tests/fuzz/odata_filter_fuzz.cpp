// Fuzz target: OData $filter text must either compile into a query or be refused with ds::Error,
// never crash, hang or recurse without bound. The query's spatial WKT is parsed too, as the stores
// would.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/odata/filter.hpp"
#include "core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto registry = ds::catalog::CollectionRegistry::load();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    ds::api::odata::parse_filter(text, &registry);
  } catch (const ds::Error&) {
  }
  try {
    ds::api::odata::parse_orderby(text);
  } catch (const ds::Error&) {
  }
  return 0;
}
