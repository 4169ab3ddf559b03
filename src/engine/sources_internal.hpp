#pragma once
// Internal to the engine: the mission sources (sentinel1.cpp, swath.cpp) and what they share.

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "catalog/collection.hpp"
#include "catalog/model.hpp"
#include "engine/sources.hpp"

namespace ds::engine::detail {

// A small thread-safe LRU map of immutable values. Values are shared, so an entry evicted while
// a request still uses it stays alive until that request lets go of it.
template <class V>
class LruCache {
 public:
  explicit LruCache(std::size_t capacity) : capacity_(capacity) {}

  std::shared_ptr<const V> get(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
  }

  // Keeps the first value stored under `key` when two threads computed it at once.
  std::shared_ptr<const V> put(const std::string& key, std::shared_ptr<const V> value) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(key);
    if (it != index_.end()) return it->second->second;
    order_.emplace_front(key, std::move(value));
    index_[key] = order_.begin();
    if (order_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    return order_.front().second;
  }

  template <class F>
  std::shared_ptr<const V> get_or_make(const std::string& key, F&& make) {
    if (auto v = get(key)) return v;
    // Built outside the lock: parsing may take a while and must not block other products.
    return put(key, std::make_shared<const V>(make()));
  }

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::list<std::pair<std::string, std::shared_ptr<const V>>> order_;
  std::unordered_map<std::string, typename decltype(order_)::iterator> index_;
};

// The asset of `product` with key `key`, or nullptr.
const catalog::Asset* find_asset(const catalog::Product& product, const std::string& key);

// The whole object as text. Throws ds::Error(unprocessable) naming the key when it is missing.
std::string read_object(const storage::ObjectStore& objects, const std::string& bucket, const std::string& key);

// A cache key that changes when the object does (bucket, key and ETag); empty when it is missing.
std::string object_version(const storage::ObjectStore& objects, const std::string& bucket, const std::string& key);

// Sentinel-1 GRD: the measurement GeoTIFF with calibration (and thermal noise removal) from the
// product's annotation. nullopt for DN.
std::optional<BandSource> sentinel1_source(const catalog::Product& product, const catalog::Band& band,
                                           const SourceOptions& options, const storage::ObjectStore& objects);

// Sentinel-3 OLCI L1 EFR/ERR: radiance (or reflectance) and quality flags through a VRT with
// geolocation arrays.
std::optional<BandSource> sentinel3_source(const catalog::Product& product, const catalog::Band& band,
                                           const SourceOptions& options, const storage::ObjectStore& objects);

// Sentinel-5P L2: the product's variable for the band through a VRT with geolocation arrays and
// the qa_value filter.
std::optional<BandSource> sentinel5p_source(const catalog::Product& product, const catalog::Band& band,
                                            const SourceOptions& options, const storage::ObjectStore& objects);

}  // namespace ds::engine::detail
