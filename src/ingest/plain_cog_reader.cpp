// Plain cloud-optimised GeoTIFFs: a folder of single-band (or RGB) COGs that share one grid, with
// no mission metadata. Two kinds of folder are recognised:
//  - Sentinel-2 cloudless mosaics, S2_CLOUDLESS_<year>_T<tile> (collection GLOBAL-MOSAICS), whose
//    files end in _<band>.tif; the year is the sensing interval;
//  - any folder named <anything>.cog (collection COG, for operators' and users' own rasters), whose
//    date comes from a _YYYYMMDD in the name or the TIFFTAG_DATETIME of its first file.
// The footprint is the first file's extent, reprojected to WGS84 lon/lat.

#include <algorithm>
#include <regex>

#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <fmt/format.h>

#include "ingest/readers.hpp"
#include "ingest/support.hpp"

namespace ds::ingest {
namespace {

using namespace detail;

struct DatasetCloser {
  void operator()(GDALDataset* ds) const { GDALClose(GDALDataset::ToHandle(ds)); }
};

const std::regex& mosaic_pattern() {
  static const std::regex p(R"(^S2_CLOUDLESS_(\d{4})_T(\d{2}[A-Z]{3})$)");
  return p;
}

bool is_cog_folder(std::string_view name) { return name.size() > 4 && lower(name.substr(name.size() - 4)) == ".cog"; }

class PlainCogReader final : public ProductReader {
 public:
  std::string id() const override { return "reader.plain-cog"; }

  bool accepts(std::string_view name) const override {
    return std::regex_match(name.begin(), name.end(), mosaic_pattern()) || is_cog_folder(name);
  }

  catalog::Product read(const storage::ObjectStore& store, const std::string& bucket,
                        const std::string& key) const override {
    auto files = list_product(store, bucket, key);
    const std::string name = last_segment(key);
    std::vector<std::string> tifs;
    for (const auto& [path, size] : files) {
      const std::string l = lower(path);
      if (path.find('/') == std::string::npos && (l.ends_with(".tif") || l.ends_with(".tiff"))) {
        tifs.push_back(path);
      }
    }
    if (tifs.empty()) fail(key, "holds no GeoTIFF (.tif) file");
    std::sort(tifs.begin(), tifs.end());
    const std::string first_key = key + "/" + tifs.front();

    std::unique_ptr<GDALDataset, DatasetCloser> ds;
    GDALAllRegister();  // idempotent; the readers may run before anything else touched GDAL
    CPLPushErrorHandler(CPLQuietErrorHandler);
    ds.reset(GDALDataset::Open(store.vsi_path(bucket, first_key).c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
    CPLPopErrorHandler();
    if (!ds) fail(first_key, "cannot be opened as GeoTIFF");
    double gt[6];
    if (ds->GetGeoTransform(gt) != CE_None) fail(first_key, "has no geotransform");
    const OGRSpatialReference* srs = ds->GetSpatialRef();
    if (!srs) fail(first_key, "has no coordinate reference system");
    const double resolution = std::abs(gt[1]);

    // The extent's outline (16 points a side, so that reprojection bends it faithfully).
    std::vector<double> xs, ys;
    const int nx = ds->GetRasterXSize(), ny = ds->GetRasterYSize();
    auto corner = [&](double px, double py) {
      xs.push_back(gt[0] + px * gt[1] + py * gt[2]);
      ys.push_back(gt[3] + px * gt[4] + py * gt[5]);
    };
    for (int i = 0; i < 16; ++i) corner(nx * i / 16.0, 0);
    for (int i = 0; i < 16; ++i) corner(nx, ny * i / 16.0);
    for (int i = 0; i < 16; ++i) corner(nx - nx * i / 16.0, ny);
    for (int i = 0; i < 16; ++i) corner(0, ny - ny * i / 16.0);
    OGRSpatialReference wgs84;
    wgs84.SetWellKnownGeogCS("WGS84");
    wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(srs, &wgs84));
    if (!ct || !ct->Transform(static_cast<int>(xs.size()), xs.data(), ys.data())) {
      fail(first_key, "extent cannot be transformed to WGS84");
    }
    std::vector<std::pair<double, double>> ring;
    for (std::size_t i = 0; i < xs.size(); ++i) ring.emplace_back(xs[i], ys[i]);

    catalog::Product p;
    p.footprint_wkt = footprint_wkt(ring, first_key);
    Attributes a;
    std::smatch m;
    if (std::regex_match(name, m, mosaic_pattern())) {
      p.collection = "GLOBAL-MOSAICS";
      p.product_type = "S2MSI_L3__MCQ";
      p.sensing_start = require_time(m[1].str() + "-01-01T00:00:00Z", key, "mosaic year");
      p.sensing_end = require_time(m[1].str() + "-12-31T23:59:59Z", key, "mosaic year");
      a.str("tileId", m[2].str());
      a.str("platformShortName", "SENTINEL-2");
      a.str("instrumentShortName", "MSI");
    } else {
      p.collection = "COG";
      p.product_type = "COG";
      static const std::regex date(R"(_(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2}))?)");
      std::optional<catalog::Time> when;
      if (std::regex_search(name, m, date)) {
        when = parse_time(fmt::format("{}-{}-{}T{}:{}:{}Z", m[1].str(), m[2].str(), m[3].str(),
                                      m[4].matched ? m[4].str() : "00", m[5].matched ? m[5].str() : "00",
                                      m[6].matched ? m[6].str() : "00"));
      }
      if (!when) {
        if (const char* dt = ds->GetMetadataItem("TIFFTAG_DATETIME")) {
          std::string s = dt;  // "YYYY:MM:DD HH:MM:SS"
          if (s.size() >= 19) {
            s[4] = '-';
            s[7] = '-';
          }
          when = parse_time(s);
        }
      }
      if (!when) fail(first_key, "has no date: put _YYYYMMDD in the folder name or set TIFFTAG_DATETIME");
      p.sensing_start = p.sensing_end = *when;
    }
    a.str("productType", p.product_type);
    a.integer("spatialResolution", static_cast<std::int64_t>(std::lround(resolution)));
    a.time("beginningDateTime", p.sensing_start);
    a.time("endingDateTime", p.sensing_end);
    p.attributes = a.take();

    // One asset per file, keyed by the suffix after the folder name ("B04", "TCI", "observations").
    const std::string stem = name.ends_with(".cog") || name.ends_with(".COG") ? name.substr(0, name.size() - 4) : name;
    for (const auto& t : tifs) {
      std::string k = t.substr(0, t.rfind('.'));
      if (k.rfind(stem + "_", 0) == 0) k = k.substr(stem.size() + 1);
      std::vector<std::string> bands;
      if (std::regex_match(k, std::regex(R"(B\d[\dA])"))) bands.push_back(k);
      p.assets.push_back({k, t, kMediaCog, {"data"}, bands, resolution, 0, k});
    }
    finish_product(p, bucket, key, files);
    return p;
  }
};

}  // namespace

std::unique_ptr<ProductReader> make_plain_cog_reader() { return std::make_unique<PlainCogReader>(); }

}  // namespace ds::ingest
