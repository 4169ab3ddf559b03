#pragma once
// Quicklooks: a small PNG for every product that does not ship a browse image, made at ingest
// from the product's own data (true colour for optical, greyscale for radar, trace gas and
// elevation), stored in the object store's `quicklooks` bucket beside nothing else.

#include <optional>
#include <string>

#include "catalog/model.hpp"
#include "storage/object_store.hpp"

namespace ds::ingest {

inline constexpr const char* kQuicklookBucket = "quicklooks";
inline constexpr unsigned kQuicklookSize = 256;  // pixels on the long side

// Renders and stores the quicklook of `product` (read from `bucket`) and returns its asset (key
// "quicklook", path "/quicklooks/<product key>-ql.png": a leading '/' names bucket/key outside the
// product folder). nullopt when the product type has no recipe or its data cannot be read (the
// product is still catalogued; a quicklook is a courtesy, not the product).
std::optional<catalog::Asset> make_quicklook(storage::ObjectStore& store, const std::string& bucket,
                                             const catalog::Product& product);

}  // namespace ds::ingest
