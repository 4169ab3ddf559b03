// Copernicus DEM GLO-30 tiles (COG), sampled from the World's terrain: one 1°×1° tile per degree
// square that the region touches, named and laid out as CDSE's auxdata/CopDEM_COG collection.

#include <cmath>

#include <fmt/format.h>

#include "synth/missions.hpp"
#include "synth/raster.hpp"

namespace ds::synth {
namespace {

class DemGenerator final : public MissionGenerator {
 public:
  std::string id() const override { return "dem"; }

  std::vector<Task> plan(const SynthOptions& options, const World& world) const override {
    std::vector<Task> tasks;
    const int lat0 = static_cast<int>(std::floor(options.region.south));
    const int lat1 = static_cast<int>(std::ceil(options.region.north));
    const int lon0 = static_cast<int>(std::floor(options.region.west));
    const int lon1 = static_cast<int>(std::ceil(options.region.east));
    for (int lat = lat0; lat < lat1; ++lat) {
      for (int lon = lon0; lon < lon1; ++lon) {
        const std::string name = fmt::format("Copernicus_DSM_COG_10_{}{:02}_00_{}{:03}_00_DEM", lat < 0 ? 'S' : 'N',
                                             std::abs(lat), lon < 0 ? 'W' : 'E', std::abs(lon));
        Task t;
        t.key = "auxdata/CopDEM_COG/copernicus-dem-30m/" + name;
        const int scale = options.scale;
        t.run = [&world, name, lat, lon, scale](ProductWriter& w) { write_tile(world, name, lat, lon, scale, w); };
        tasks.push_back(std::move(t));
      }
    }
    return tasks;
  }

 private:
  static void write_tile(const World& world, const std::string& name, int lat, int lon, int scale, ProductWriter& w) {
    // GLO-30: 1 arc-second posts (3600 per degree; fewer columns towards the poles), pixel centres
    // on whole seconds, hence the half-pixel shift of the corner (AREA_OR_POINT=Point).
    const int rows = 3600 / scale;
    const double abs_lat = std::abs(lat + 0.5);
    const int col_factor = abs_lat < 50   ? 1
                           : abs_lat < 60 ? 2
                           : abs_lat < 70 ? 3
                           : abs_lat < 80 ? 5
                           : abs_lat < 85 ? 10
                                          : 30;
    const int cols = 3600 / col_factor / scale;
    GridSpec g;
    g.epsg = 4326;
    g.res_x = 1.0 / cols;
    g.res_y = 1.0 / rows;
    g.ulx = lon - 0.5 * g.res_x;
    g.uly = lat + 1 + 0.5 * g.res_y;
    g.width = cols;
    g.height = rows;
    std::vector<float> h(static_cast<std::size_t>(cols) * rows);
    for (int r = 0; r < rows; ++r) {
      const double la = lat + 1 - r * g.res_y;
      for (int c = 0; c < cols; ++c) {
        h[static_cast<std::size_t>(r) * cols + c] =
            static_cast<float>(std::round(world.elevation(lon + c * g.res_x, la) * 100) / 100);
      }
    }
    auto mem = make_mem(g, 1, GDT_Float32);
    write_band(*mem, 1, h.data(), GDT_Float32);
    mem->SetMetadataItem("AREA_OR_POINT", "Point");
    write_cog(*mem, w.path(name + ".tif"),
              {"PREDICTOR=3", cols >= 2048 ? "BLOCKSIZE=1024" : "BLOCKSIZE=256", "OVERVIEW_RESAMPLING=AVERAGE"});
  }
};

}  // namespace

std::unique_ptr<MissionGenerator> make_dem_generator() { return std::make_unique<DemGenerator>(); }

}  // namespace ds::synth
