#pragma once
// STAC 1.1 documents from the catalogue's model: Items (with the eo, sat, sar, grid, processing,
// product, file, projection, raster, alternate-assets and timestamps extensions, filled from the
// product's attributes), Collections (from the CollectionRegistry) and queryables (JSON Schema).
// `base` is the server's base URL (Request::base_url); every link is absolute.

#include <string>

#include <nlohmann/json.hpp>

#include "catalog/collection.hpp"
#include "catalog/model.hpp"

namespace ds::api::stac {

inline constexpr const char* kStacVersion = "1.1.0";

// The URL of the STAC API root, <base>/stac.
std::string stac_root(const std::string& base);
// <base>/stac/collections/<collection>/items/<item id>, the canonical URL of a product's item.
std::string item_url(const std::string& base, const std::string& collection, const std::string& item_id);

// `collection` may be null (a product no definition claims): the item then names the mission.
nlohmann::json render_item(const std::string& base, const catalog::Product& product,
                           const catalog::Collection* collection, const std::string& collection_id);

nlohmann::json render_collection(const std::string& base, const catalog::Collection& collection);

// Queryables of one collection, or of all of them (`collection` null), as a JSON Schema.
nlohmann::json render_queryables(const std::string& base, const catalog::CollectionRegistry* registry,
                                 const catalog::Collection* collection);

// file:checksum as a multihash in hex (SHA3-256 preferred, then SHA-256, then MD5); empty when the
// product has none of these.
std::string multihash(const std::vector<catalog::Checksum>& checksums);

}  // namespace ds::api::stac
