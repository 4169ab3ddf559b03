#pragma once
// Lossless JSON form of a Product (times as microseconds since the epoch), used by the stores to
// keep the whole document beside the indexed columns.

#include <nlohmann/json.hpp>

#include "catalog/model.hpp"

namespace ds::catalog {

nlohmann::json to_json(const Product& p);
// Throws ds::Error(internal) for a document that is not a product.
Product product_from_json(const nlohmann::json& j);

std::int64_t to_micros(Time t);
Time from_micros(std::int64_t us);

}  // namespace ds::catalog
