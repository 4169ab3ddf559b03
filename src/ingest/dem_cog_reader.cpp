// Copernicus DEM tiles as COG (GLO-30 "_10_", GLO-90 "_30_"): a folder <name> holding <name>.tif.
// The footprint is the raster's extent (EPSG:4326 geotransform).

#include <regex>

#include <gdal_priv.h>

#include "ingest/readers.hpp"
#include "ingest/support.hpp"

namespace ds::ingest {
namespace {

using namespace detail;

struct DatasetCloser {
  void operator()(GDALDataset* ds) const { GDALClose(GDALDataset::ToHandle(ds)); }
};

class DemCogReader final : public ProductReader {
 public:
  std::string id() const override { return "reader.dem-cog"; }

  bool accepts(std::string_view name) const override {
    static const std::regex pattern(R"(^Copernicus_DSM_COG_(10|30)_[NS]\d{2}_\d{2}_[EW]\d{3}_\d{2}_DEM$)");
    return std::regex_match(name.begin(), name.end(), pattern);
  }

  catalog::Product read(const storage::ObjectStore& store, const std::string& bucket,
                        const std::string& key) const override {
    auto files = list_product(store, bucket, key);
    const std::string name = last_segment(key);
    const std::string tif_rel = name + ".tif";
    const std::string tif_key = key + "/" + tif_rel;
    if (files.count(tif_rel) == 0) fail(tif_key, "file is missing (no DEM GeoTIFF in the product folder)");
    std::unique_ptr<GDALDataset, DatasetCloser> ds;
    GDALAllRegister();  // idempotent; the readers may run before anything else touched GDAL
    CPLPushErrorHandler(CPLQuietErrorHandler);
    ds.reset(GDALDataset::Open(store.vsi_path(bucket, tif_key).c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
    CPLPopErrorHandler();
    if (!ds) fail(tif_key, "cannot be opened as GeoTIFF");
    double gt[6];
    if (ds->GetGeoTransform(gt) != CE_None) fail(tif_key, "has no geotransform");
    double w = gt[0], n = gt[3];
    double e = w + gt[1] * ds->GetRasterXSize(), s = n + gt[5] * ds->GetRasterYSize();

    catalog::Product p;
    p.collection = "COP-DEM";
    const bool glo30 = name.find("_COG_10_") != std::string::npos;
    p.product_type = glo30 ? "DGE_30-COG" : "DGE_90-COG";
    // The DEM's source acquisitions (TanDEM-X) span December 2010 to January 2015.
    p.sensing_start = *parse_time("2010-12-12T00:00:00Z");
    p.sensing_end = *parse_time("2015-01-31T23:59:59Z");
    p.footprint_wkt = footprint_wkt({{w, s}, {e, s}, {e, n}, {w, n}}, tif_key);
    Attributes a;
    a.str("productType", p.product_type);
    a.str("platformShortName", "TanDEM-X");
    a.integer("spatialResolution", glo30 ? 30 : 90);
    a.time("beginningDateTime", p.sensing_start);
    a.time("endingDateTime", p.sensing_end);
    p.attributes = a.take();
    p.assets.push_back({"dem", tif_rel, kMediaCog, {"data"}, {"DEM"}, glo30 ? 30.0 : 90.0, 0, "Elevation"});
    finish_product(p, bucket, key, files);
    return p;
  }
};

}  // namespace

std::unique_ptr<ProductReader> make_dem_cog_reader() { return std::make_unique<DemCogReader>(); }

}  // namespace ds::ingest
