#include "engine/sources.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "engine/sources_internal.hpp"
#include "storage/object_store.hpp"

namespace ds::engine {

namespace detail {

const catalog::Asset* find_asset(const catalog::Product& product, const std::string& key) {
  for (const auto& a : product.assets)
    if (a.key == key) return &a;
  return nullptr;
}

std::string read_object(const storage::ObjectStore& objects, const std::string& bucket, const std::string& key) {
  if (!objects.head(bucket, key)) throw Error(ErrorCode::unprocessable, fmt::format("file {} is missing", key));
  auto reader = objects.get(bucket, key);
  std::string text;
  text.reserve(static_cast<std::size_t>(reader->size()));
  char buffer[65536];
  for (;;) {
    const std::size_t n = reader->read(buffer, sizeof buffer);
    if (n == 0) break;
    text.append(buffer, n);
  }
  return text;
}

std::string object_version(const storage::ObjectStore& objects, const std::string& bucket, const std::string& key) {
  auto info = objects.head(bucket, key);
  if (!info) return {};
  return bucket + "/" + key + "@" + info->etag;
}

}  // namespace detail

std::optional<BandSource> mission_band_source(const catalog::Product& product, const catalog::Band& band,
                                              const SourceOptions& options, const storage::ObjectStore& objects) {
  const std::string& type = product.product_type;
  if (product.collection == "SENTINEL-1" && type.find("GRD") != std::string::npos)
    return detail::sentinel1_source(product, band, options, objects);
  if (product.collection == "SENTINEL-3" && type.rfind("OL_1_E", 0) == 0)
    return detail::sentinel3_source(product, band, options, objects);
  if (product.collection == "SENTINEL-5P" && type.rfind("L2__", 0) == 0)
    return detail::sentinel5p_source(product, band, options, objects);
  return std::nullopt;
}

}  // namespace ds::engine
