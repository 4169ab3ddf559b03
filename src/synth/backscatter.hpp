#pragma once
// C-band backscatter model of the simulated world (used by the Sentinel-1 generator, exposed for
// tests): mean sigma0 per land cover and surface state, the local incidence effect of terrain, and
// the calibration constants of an IW GRDH product (sigma0 = DN^2 / A_sigma^2).

#include <cstdint>

#include "synth/world.hpp"

namespace ds::synth::s1 {

// Surface state of one ground cell on the acquisition day.
struct Surface {
  Cover cover = Cover::grassland;
  bool snow = false;      // seasonal snow or glacier
  bool wet_snow = false;  // melting snow (strong absorber at C band)
  double crop_green = 0;  // 0..1, cropland only
  double wind = 0;        // 0..1 water roughening by wind
};

// Mean backscatter in dB (VV and VH) of a flat surface seen at `incidence_deg`.
struct SigmaDb {
  double vv = 0, vh = 0;
};
SigmaDb mean_sigma0_db(const Surface& s, double incidence_deg);

// Mean linear sigma0 of a (possibly sloped) surface: `incidence_deg` is the ellipsoid incidence,
// `local_incidence_deg` the angle between the terrain normal and the radar line of sight. Slopes
// facing the radar are brighter (area normalisation sin(theta)/sin(theta_local)); slopes in radar
// shadow (local incidence >= 87 degrees) return the shadow floor.
struct Sigma0 {
  double vv = 0, vh = 0;
};
Sigma0 mean_sigma0(const Surface& s, double incidence_deg, double local_incidence_deg);

// Incidence angle (degrees) across the 250 km IW swath at ground range `ground_km` from its near edge.
double iw_incidence_deg(double ground_km);

// IW GRDH absolute calibration: betaNought LUT value (constant), sigmaNought and gamma at an incidence.
inline constexpr double kBetaNought = 474.0;
double sigma_nought_lut(double incidence_deg);
double gamma_lut(double incidence_deg);

// Equivalent number of looks of IW GRDH (speckle of a multiplicative Gamma(L, 1/L) variable).
inline constexpr double kEnlGrdh = 4.4;

// Deterministic Gamma(shape, 1/shape) sample (mean 1) from a 64-bit generator state: Marsaglia-Tsang
// on our own uniform/normal variates, so the values are the same with every standard library.
class SpeckleRng {
 public:
  explicit SpeckleRng(std::uint64_t seed) : state_(seed) {}
  double uniform();  // (0, 1)
  double normal();
  double gamma_unit_mean(double shape);

 private:
  std::uint64_t next();
  std::uint64_t state_;
  bool has_spare_ = false;
  double spare_ = 0;
};

}  // namespace ds::synth::s1
