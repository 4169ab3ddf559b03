#include "synth/missions.hpp"

namespace ds::synth {

std::vector<std::unique_ptr<MissionGenerator>> builtin_generators() {
  std::vector<std::unique_ptr<MissionGenerator>> out;
  out.push_back(make_dem_generator());
  out.push_back(make_sentinel2_generator());
  out.push_back(make_sentinel1_generator());
  out.push_back(make_sentinel3_generator());
  out.push_back(make_sentinel5p_generator());
  return out;
}

}  // namespace ds::synth
