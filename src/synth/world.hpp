#pragma once
// The one simulated world under every mission: terrain, land cover, crop phenology, snow and
// clouds, as deterministic functions of (lon, lat, time) for a seed. Every mission generator samples
// this world, so an S2 scene, an S1 scene and the DEM of the same place agree with each other.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ds::synth {

// Geographic bounding box (WGS84 degrees) and an optional name for the named regions.
struct Region {
  std::string name;
  double west = 0, south = 0, east = 0, north = 0;
};

// "bolzano" (the demo region) or "W,S,E,N" in degrees. Throws ds::Error(invalid_parameter).
Region parse_region(const std::string& text);

enum class Cover : std::uint8_t { water, urban, cropland, grassland, broadleaf, conifer, rock, glacier };
const char* cover_name(Cover c);

// Days since 1970-01-01 (UTC) and day of year (1..366) helpers.
std::int64_t days_from_civil(int y, unsigned m, unsigned d);
void civil_from_days(std::int64_t day, int& y, unsigned& m, unsigned& d);
int day_of_year(std::int64_t day);

// A deterministic 64-bit hash of values, for reproducible randomness independent of call order.
std::uint64_t mix(std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0, std::uint64_t d = 0);
// Uniform in [0, 1) from a hash.
inline double unit(std::uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

class World {
 public:
  World(Region region, std::uint64_t seed);

  const Region& region() const { return region_; }
  std::uint64_t seed() const { return seed_; }

  // Terrain height in metres above the geoid.
  double elevation(double lon, double lat) const;
  // Land cover (permanent), given the elevation at that point.
  Cover cover(double lon, double lat, double elevation) const;
  // Fraction 0..1 of green vegetation on cropland on a day of year (crop calendar per parcel:
  // orchards and vineyards green from April to October, cereals green in spring and harvested
  // in July, maize sown in May and harvested in September).
  double crop_green(double lon, double lat, int doy) const;
  // Seasonal snow on the ground (glaciers are snow all year).
  bool snow(double lon, double lat, double elevation, int doy) const;
  // Cloud opacity 0..1 over a point for the scene of `day` (same clouds for every sensor that day).
  double cloud(double lon, double lat, std::int64_t day) const;
  // Intended fraction of the region under cloud on `day` (many clear days, some overcast).
  double cloudiness(std::int64_t day) const;
  // Cloud top height in metres (shadows are displaced by height * tan(sun zenith)).
  static constexpr double kCloudHeight = 2000.0;
  // Tropospheric NO2 column (mol/m2) on `day`: background plus plumes over the towns.
  double no2(double lon, double lat, std::int64_t day) const;

  struct Town {
    const char* name;
    double lon, lat, radius_km;
  };
  const std::vector<Town>& towns() const { return towns_; }

 private:
  double fbm(double x, double y, int octaves, std::uint64_t salt) const;  // x, y in km
  double valley_distance_km(double lon, double lat) const;
  double km_x(double lon) const;
  double km_y(double lat) const;

  Region region_;
  std::uint64_t seed_;
  double lat0_;
  std::vector<std::vector<std::array<double, 2>>> rivers_;  // polylines (lon, lat)
  std::vector<std::array<double, 3>> lakes_;                // lon, lat, radius km
  std::vector<Town> towns_;
};

// Sentinel-2 MSI bands in product order: B01..B08, B8A, B09, B10, B11, B12.
inline constexpr std::array<const char*, 13> kS2Bands = {"B01", "B02", "B03", "B04", "B05", "B06", "B07",
                                                         "B08", "B8A", "B09", "B10", "B11", "B12"};
inline constexpr std::array<int, 13> kS2Resolution = {60, 10, 10, 10, 20, 20, 20, 10, 20, 60, 60, 20, 20};

// Surface (BOA) reflectance 0..1 of a cover class in S2 band `band` (index into kS2Bands).
double surface_reflectance(Cover c, int band);
double snow_reflectance(int band);
double cloud_reflectance(int band);
// Reflectance of a soil/green-crop mixture.
double crop_reflectance(double green, int band);

}  // namespace ds::synth
