#pragma once
// Factories of the built-in mission generators (registered explicitly in builtin.cpp).

#include <memory>

#include "synth/generator.hpp"

namespace ds::synth {

std::unique_ptr<MissionGenerator> make_sentinel2_generator();   // s2: L1C and L2A SAFE (JP2) + L2A COG
std::unique_ptr<MissionGenerator> make_dem_generator();         // dem: Copernicus DEM GLO-30 COG tiles
std::unique_ptr<MissionGenerator> make_sentinel1_generator();   // s1: IW GRD SAFE-COG
std::unique_ptr<MissionGenerator> make_sentinel5p_generator();  // s5p: L2 NO2 NetCDF
std::unique_ptr<MissionGenerator> make_sentinel3_generator();   // s3: OLCI EFR L1B SEN3

}  // namespace ds::synth
