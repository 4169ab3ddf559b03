// Fuzz target: object keys and bucket names from requests (S3 paths, OData node paths) must be
// either rejected with ds::Error or accepted as keys that stay inside the store.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "storage/object_store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  try {
    ds::storage::validate_key(input);
    // Accepted keys never climb out of the bucket and never look absolute.
    if (input.front() == '/' || input.find("/../") != std::string::npos || input.rfind("../", 0) == 0 ||
        input == ".." || input.find('\0') != std::string::npos) {
      __builtin_trap();
    }
  } catch (const ds::Error&) {
  }
  try {
    ds::storage::validate_bucket(input);
    if (input.find('/') != std::string::npos || input.size() < 3 || input.size() > 63) __builtin_trap();
  } catch (const ds::Error&) {
  }
  return 0;
}
