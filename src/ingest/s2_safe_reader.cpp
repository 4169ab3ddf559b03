// Sentinel-2 MSI Level-1C / Level-2A in SAFE (all processing baselines, JP2 bands) and our SAFE-COG
// variant (<name>_COG.SAFE, same layout with .tif bands). Metadata come from MTD_MSIL1C.xml /
// MTD_MSIL2A.xml; manifest.safe is optional (the oldest baselines' copies lack it).

#include <regex>

#include <fmt/format.h>

#include "ingest/readers.hpp"
#include "ingest/support.hpp"

namespace ds::ingest {
namespace {

using namespace detail;

std::optional<double> band_gsd(const std::string& band) {
  if (band == "B02" || band == "B03" || band == "B04" || band == "B08" || band == "TCI") return 10.0;
  if (band == "B05" || band == "B06" || band == "B07" || band == "B8A" || band == "B11" || band == "B12") return 20.0;
  if (band == "B01" || band == "B09" || band == "B10") return 60.0;
  return std::nullopt;
}

class S2SafeReader final : public ProductReader {
 public:
  std::string id() const override { return "reader.s2-safe"; }

  bool accepts(std::string_view name) const override {
    static const std::regex pattern(
        R"(^S2[ABCD]_MSIL(1C|2A)_\d{8}T\d{6}_N\d{4}_R\d{3}_T\w{5}_\d{8}T\d{5,6}(_COG)?\.SAFE$)");
    return std::regex_match(name.begin(), name.end(), pattern);
  }

  catalog::Product read(const storage::ObjectStore& store, const std::string& bucket,
                        const std::string& key) const override {
    auto files = list_product(store, bucket, key);
    std::string mtd_name;
    for (const char* candidate : {"MTD_MSIL2A.xml", "MTD_MSIL1C.xml"}) {
      if (files.count(candidate) != 0) mtd_name = candidate;
    }
    if (mtd_name.empty()) {
      fail(key,
           files.empty() ? "product folder is empty or missing" : "no MTD_MSIL1C.xml or MTD_MSIL2A.xml in the product");
    }
    const std::string mtd_key = key + "/" + mtd_name;
    XmlDoc mtd(read_text(store, bucket, mtd_key), mtd_key);
    if (mtd.find("Product_Info") == nullptr) fail(mtd_key, "missing element <Product_Info>");

    catalog::Product p;
    p.collection = "SENTINEL-2";
    p.product_type = mtd.required("PRODUCT_TYPE");
    p.sensing_start = require_time(mtd.required("PRODUCT_START_TIME"), mtd_key, "PRODUCT_START_TIME");
    p.sensing_end = require_time(mtd.required("PRODUCT_STOP_TIME"), mtd_key, "PRODUCT_STOP_TIME");
    auto generation = require_time(mtd.required("GENERATION_TIME"), mtd_key, "GENERATION_TIME");
    p.origin = generation;

    auto pos = parse_numbers(mtd.required("EXT_POS_LIST"));
    if (pos.size() < 6 || pos.size() % 2 != 0) fail(mtd_key, "EXT_POS_LIST is not a list of lat/lon pairs");
    std::vector<std::pair<double, double>> ring;
    for (std::size_t i = 0; i + 1 < pos.size(); i += 2) ring.emplace_back(pos[i + 1], pos[i]);
    p.footprint_wkt = footprint_wkt(ring, mtd_key);

    const std::string name = last_segment(key);
    std::smatch m;
    static const std::regex name_parts(R"(^S2([ABCD])_MSIL(1C|2A)_\d{8}T\d{6}_N(\d{4})_R(\d{3})_T(\w{5})_)");
    if (!std::regex_search(name, m, name_parts)) fail(key, "product name does not follow the Sentinel-2 naming");

    Attributes a;
    const std::string spacecraft = mtd.required("SPACECRAFT_NAME");  // "Sentinel-2A"
    a.str("productType", p.product_type);
    a.str("platformShortName", "SENTINEL-2");
    a.str("platformSerialIdentifier", spacecraft.substr(spacecraft.size() - 1));
    a.str("instrumentShortName", "MSI");
    std::string level = mtd.required("PROCESSING_LEVEL");  // "Level-1C"
    if (level.rfind("Level-", 0) == 0) level = level.substr(6);
    a.str("processingLevel", level);
    a.str("processingBaseline", mtd.text("PROCESSING_BASELINE"));
    a.str("processorVersion", mtd.text("PROCESSING_BASELINE"));
    a.time("beginningDateTime", p.sensing_start);
    a.time("endingDateTime", p.sensing_end);
    a.time("processingDate", generation);
    a.str("tileId", m[5].str());
    a.str("operationalMode", mtd.text("DATATAKE_TYPE"));
    a.str("orbitDirection", mtd.text("SENSING_ORBIT_DIRECTION"));
    a.integer("relativeOrbitNumber", parse_int(mtd.required("SENSING_ORBIT_NUMBER")));
    if (const auto* datatake = mtd.find("Datatake")) {
      // GS2A_20230216T044851_039970_N05.09: the absolute orbit is the third field.
      std::string id = node_attr(datatake, "datatakeIdentifier");
      a.str("productGroupId", id);
      static const std::regex dt(R"(^GS2[ABCD]_\d{8}T\d{6}_(\d+)_)");
      std::smatch dm;
      if (std::regex_search(id, dm, dt)) a.integer("orbitNumber", parse_int(dm[1].str()));
    }
    const CPLXMLNode* granule = mtd.find("Granule");
    if (granule == nullptr) granule = mtd.find("Granules");
    if (granule != nullptr) {
      std::string datastrip = node_attr(granule, "datastripIdentifier");
      a.str("granuleIdentifier", node_attr(granule, "granuleIdentifier"));
      a.str("datastripId", datastrip);
      // S2A_OPER_MSI_L1C_DS_2APS_...: the fifth field names the processing centre.
      std::vector<std::string> fields;
      std::size_t start = 0;
      for (std::size_t i = 0; i <= datastrip.size(); ++i) {
        if (i == datastrip.size() || datastrip[i] == '_') {
          fields.push_back(datastrip.substr(start, i - start));
          start = i + 1;
        }
      }
      if (fields.size() > 5) a.str("processingCenter", fields[5]);
    }
    auto cloud = parse_double(mtd.text("Cloud_Coverage_Assessment").value_or(""));
    if (!cloud) fail(mtd_key, "missing or invalid <Cloud_Coverage_Assessment>");
    a.dbl("cloudCover", cloud);
    a.dbl("cloudyPixelPercentage", cloud);
    a.dbl("degradedANCdataPercentage", parse_double(mtd.text("DEGRADED_ANC_DATA_PERCENTAGE").value_or("")));
    a.dbl("degradedMSIdataPercentage", parse_double(mtd.text("DEGRADED_MSI_DATA_PERCENTAGE").value_or("")));
    a.dbl("reflectanceConversion", parse_double(mtd.text("U").value_or("")));
    a.str("productionDEMtype", mtd.text("PRODUCTION_DEM_TYPE"));
    a.str("productUri", mtd.text("PRODUCT_URI"));
    auto checks = mtd.find_all("quality_check");
    if (!checks.empty()) {
      bool nominal = true;
      for (const auto* c : checks) nominal = nominal && node_text(c) == "PASSED";
      a.str("qualityStatus", nominal ? "NOMINAL" : "DEGRADED");
    }
    p.attributes = a.take();

    add_assets(p, files, mtd_name);
    finish_product(p, bucket, key, files);
    return p;
  }

 private:
  static void add_assets(catalog::Product& p, const std::map<std::string, std::uint64_t>& files,
                         const std::string& mtd_name) {
    static const std::regex band_file(R"(^T\w{5}_\d{8}T\d{6}_([A-Z0-9]{3})(?:_(\d{2})m)?\.(jp2|tif)$)");
    for (const auto& [path, size] : files) {
      const std::string file = last_segment(path);
      catalog::Asset asset;
      asset.path = path;
      std::smatch m;
      if (path.find("/IMG_DATA/") != std::string::npos && std::regex_match(file, m, band_file)) {
        const std::string band = m[1].str();
        asset.key = m[2].matched ? band + "_" + m[2].str() + "m" : band;
        asset.media_type = m[3].str() == "jp2" ? kMediaJp2 : kMediaCog;
        asset.roles = {"data"};
        if (band == "TCI") {
          asset.roles = {"visual"};
        } else if (band != "SCL" && band != "AOT" && band != "WVP") {
          asset.roles.push_back("reflectance");
        }
        asset.bands = {band};
        asset.gsd = m[2].matched ? std::optional<double>(std::stod(m[2].str())) : band_gsd(band);
        asset.title = band;
      } else if (path == mtd_name) {
        asset = {"product_metadata", path, kMediaXml, {"metadata"}, {}, std::nullopt, 0, "Product metadata"};
      } else if (path == "manifest.safe") {
        asset = {"safe_manifest", path, kMediaXml, {"metadata"}, {}, std::nullopt, 0, "SAFE manifest"};
      } else if (path == "INSPIRE.xml") {
        asset = {"inspire_metadata", path, kMediaXml, {"metadata"}, {}, std::nullopt, 0, "INSPIRE metadata"};
      } else if (file == "MTD_TL.xml") {
        asset = {"granule_metadata", path, kMediaXml, {"metadata"}, {}, std::nullopt, 0, "Granule metadata"};
      } else if (file == "MTD_DS.xml") {
        asset = {"datastrip_metadata", path, kMediaXml, {"metadata"}, {}, std::nullopt, 0, "Datastrip metadata"};
      } else if (file.size() > 7 && file.compare(file.size() - 7, 7, "-ql.jpg") == 0) {
        asset = {"thumbnail", path, "image/jpeg", {"thumbnail"}, {}, std::nullopt, 0, "Quicklook"};
        p.quicklook = "thumbnail";
      } else if (file.size() > 8 && file.compare(file.size() - 8, 8, "_PVI.jp2") == 0) {
        asset = {"PVI", path, kMediaJp2, {"overview"}, {}, 320.0, 0, "Preview image"};
        if (p.quicklook.empty()) p.quicklook = "PVI";
      } else {
        continue;
      }
      p.assets.push_back(std::move(asset));
    }
    // A thumbnail, when present, wins over the PVI whatever the listing order.
    for (const auto& asset : p.assets) {
      if (asset.key == "thumbnail") p.quicklook = "thumbnail";
    }
  }
};

}  // namespace

std::unique_ptr<ProductReader> make_s2_safe_reader() { return std::make_unique<S2SafeReader>(); }

}  // namespace ds::ingest
