#pragma once
// Mission-specific ways to read a band of a product, where the band's asset is not a plain
// georeferenced raster in the requested unit: Sentinel-1 GRD (calibration vectors, radar geometry
// with GCPs), Sentinel-3 OLCI (radiances on a swath with geolocation arrays in another file),
// Sentinel-5P (NetCDF variables on a swath with latitude/longitude arrays).

#include <memory>
#include <optional>
#include <span>
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

// What DEM-based orthorectification of a radar image needs from its annotation: the heights the
// geolocation grid (and so the GCPs) assume and the incidence angle, both over full-resolution
// image coordinates, the ground-range pixel spacing and which way slant range grows.
struct RadarGeometry {
  SourceLut height;              // metres
  SourceLut incidence;           // degrees from the vertical
  double range_spacing = 0;      // metres per full-resolution pixel along range
  double range_direction = 1.0;  // +1 when the pixel index grows with slant range, -1 otherwise
};

// The geometry of `band` (a polarisation) of a Sentinel-1 GRD product from its product annotation;
// nullptr when the product is not one (other missions, SLC) or has no annotation for the band.
// Throws ds::Error(unprocessable) when the annotation is there but unusable.
std::shared_ptr<const RadarGeometry> radar_geometry(const catalog::Product& product, const catalog::Band& band,
                                                    const storage::ObjectStore& objects);

// Moves the source coordinates of each output pixel to where the terrain at that pixel is imaged:
// a point `h - h_grid` metres above the height the geolocation grid assumes appears that much
// nearer in range, by (h - h_grid) / tan(incidence) metres of ground range (layover/foreshortening
// to first order). `heights` holds the DEM height of every output pixel (NaN = no DEM: unchanged).
void orthorectify(SourceCoords& coords, const RadarGeometry& geometry, std::span<const float> heights);

}  // namespace ds::engine
