#pragma once
// Mission-specific ways to read a band of a product, where the band's asset is not a plain
// georeferenced raster in the requested unit: Sentinel-1 GRD (calibration vectors, radar geometry
// with GCPs), Sentinel-3 OLCI (radiances on a swath with geolocation arrays in another file),
// Sentinel-5P (NetCDF variables on a swath with latitude/longitude arrays).

#include <optional>
#include <string>

#include "catalog/collection.hpp"
#include "catalog/model.hpp"
#include "engine/raster.hpp"

namespace ds::storage {
class ObjectStore;
}

namespace ds::engine {

// Processing options of an input that change how a band is read.
struct SourceOptions {
  std::string unit;                             // requested unit ("LINEAR_POWER", "DN", "REFLECTANCE", ...)
  std::string back_coeff = "GAMMA0_ELLIPSOID";  // Sentinel-1: BETA0 | SIGMA0_ELLIPSOID | GAMMA0_ELLIPSOID
  // Sentinel-5P minQa, 0..100: pixels whose qa_value * 100 is below it are no data. nullopt = the
  // Sentinel Hub default (75 for NO2, 50 otherwise).
  std::optional<int> min_qa = std::nullopt;
};

// The source for `band` of `product` when its mission needs special handling; nullopt means the
// generic path applies (the band's asset file, band 1, read as stored). Throws ds::Error
// (unprocessable) when the product lacks what the band needs.
std::optional<BandSource> mission_band_source(const catalog::Product& product, const catalog::Band& band,
                                              const SourceOptions& options, const storage::ObjectStore& objects);

}  // namespace ds::engine
