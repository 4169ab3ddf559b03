#pragma once
// Product metadata readers: one class per on-disk product format (Sentinel-2 SAFE, Sentinel-1
// SAFE, Sentinel-3 SEN3, Sentinel-5P NetCDF, Copernicus DEM COG). A reader turns the files of one
// product in an ObjectStore into a catalog::Product (CDSE attribute names and types, footprint,
// assets with sizes). Readers are stateless and safe to use from several threads at once.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/model.hpp"
#include "storage/object_store.hpp"

namespace ds::ingest {

class ProductReader {
 public:
  virtual ~ProductReader();
  // Dotted, kind-qualified id: "reader.s2-safe", "reader.s1-safe", ...
  virtual std::string id() const = 0;
  // True when the product's name (last key segment, e.g. "S2A_MSIL2A_..._T32TPS_....SAFE") is one
  // this reader understands. Decided by name pattern only; no I/O.
  virtual bool accepts(std::string_view product_name) const = 0;
  // Reads the product rooted at `product_key` (no trailing '/') in `bucket`. Throws
  // ds::Error(unprocessable) naming the file and the problem when metadata is missing or corrupt.
  virtual catalog::Product read(const storage::ObjectStore& store, const std::string& bucket,
                                const std::string& product_key) const = 0;
};

// The readers built in, in a fixed order (explicit registration, no static initialisers).
std::vector<std::unique_ptr<ProductReader>> builtin_readers();

// The first reader accepting `product_name`, or nullptr.
const ProductReader* find_reader(const std::vector<std::unique_ptr<ProductReader>>& readers,
                                 std::string_view product_name);

}  // namespace ds::ingest
