// Sentinel-1 SAR Level-1 in SAFE (GRD, SLC, incl. our SAFE-COG variant <name>_COG.SAFE). Everything
// comes from manifest.safe; measurement and annotation files become assets.

#include <regex>

#include <fmt/format.h>

#include "ingest/readers.hpp"
#include "ingest/support.hpp"

namespace ds::ingest {
namespace {

using namespace detail;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

const CPLXMLNode* with_type(const XmlDoc& doc, std::string_view name, const char* type) {
  for (const auto* n : doc.find_all(name)) {
    if (node_attr(n, "type") == type) return n;
  }
  return nullptr;
}

class S1SafeReader final : public ProductReader {
 public:
  std::string id() const override { return "reader.s1-safe"; }

  bool accepts(std::string_view name) const override {
    static const std::regex pattern(
        R"(^S1[ABCD]_[A-Z0-9]{2}_[A-Z0-9_]{4}_[0-9_][A-Z_]{3}_\d{8}T\d{6}_\d{8}T\d{6}_\d{6}_[0-9A-F]{6}_[0-9A-F]{4}(_COG)?\.SAFE$)");
    return std::regex_match(name.begin(), name.end(), pattern);
  }

  catalog::Product read(const storage::ObjectStore& store, const std::string& bucket,
                        const std::string& key) const override {
    auto files = list_product(store, bucket, key);
    const std::string manifest_key = key + "/manifest.safe";
    if (files.count("manifest.safe") == 0) fail(manifest_key, "file is missing (no SAFE manifest in the product)");
    XmlDoc doc(read_text(store, bucket, manifest_key), manifest_key);
    if (doc.find("metadataSection") == nullptr) fail(manifest_key, "missing element <metadataSection>");

    const std::string name = last_segment(key);
    const bool cog = name.find("_COG.SAFE") != std::string::npos;
    catalog::Product p;
    p.collection = "SENTINEL-1";
    p.product_type = name.substr(4, 10) + (cog ? "-COG" : "");
    p.sensing_start = require_time(doc.required("startTime"), manifest_key, "startTime");
    p.sensing_end = require_time(doc.required("stopTime"), manifest_key, "stopTime");

    auto coords = parse_numbers(doc.required("coordinates", doc.find("footPrint")));
    if (coords.size() < 6 || coords.size() % 2 != 0) fail(manifest_key, "footPrint coordinates are not lat,lon pairs");
    std::vector<std::pair<double, double>> ring;
    for (std::size_t i = 0; i + 1 < coords.size(); i += 2) ring.emplace_back(coords[i + 1], coords[i]);
    p.footprint_wkt = footprint_wkt(ring, manifest_key);

    Attributes a;
    a.str("productType", p.product_type);
    const CPLXMLNode* platform = doc.find("platform");
    if (platform == nullptr) fail(manifest_key, "missing element <platform>");
    a.str("platformShortName", doc.text("familyName", platform));
    a.str("platformSerialIdentifier", doc.text("number", platform));
    a.str("platformIdentifier", doc.text("nssdcIdentifier", platform));
    if (const auto* instrument = doc.find("instrument", platform)) {
      a.str("instrumentShortName", node_attr(doc.find("familyName", instrument), "abbreviation"));
    }
    a.str("operationalMode", doc.text("mode", platform));
    std::string swaths;
    for (const auto* s : doc.find_all("swath", platform)) swaths += (swaths.empty() ? "" : " ") + node_text(s);
    a.str("swathIdentifier", swaths);
    if (const auto* n = with_type(doc, "orbitNumber", "start")) a.integer("orbitNumber", parse_int(node_text(n)));
    if (const auto* n = with_type(doc, "orbitNumber", "stop")) a.integer("lastOrbitNumber", parse_int(node_text(n)));
    if (const auto* n = with_type(doc, "relativeOrbitNumber", "start")) {
      a.integer("relativeOrbitNumber", parse_int(node_text(n)));
    }
    if (const auto* n = with_type(doc, "relativeOrbitNumber", "stop")) {
      a.integer("lastRelativeOrbitNumber", parse_int(node_text(n)));
    }
    a.integer("cycleNumber", parse_int(doc.text("cycleNumber").value_or("")));
    a.str("orbitDirection", doc.text("pass"));
    a.integer("instrumentConfigurationID", parse_int(doc.text("instrumentConfigurationID").value_or("")));
    a.integer("datatakeID", parse_int(doc.text("missionDataTakeID").value_or("")));
    std::string pols;
    for (const auto* n : doc.find_all("transmitterReceiverPolarisation")) {
      pols += (pols.empty() ? "" : ", ") + node_text(n);
    }
    a.str("polarisationChannels", pols);
    a.str("productClass", doc.text("productClass"));
    a.str("productComposition", doc.text("productComposition"));
    a.str("timeliness", doc.text("productTimelinessCategory"));
    if (auto flag = doc.text("sliceProductFlag")) a.boolean("sliceProductFlag", lower(*flag) == "true");
    a.time("segmentStartTime", parse_time(doc.text("segmentStartTime").value_or("")));
    a.integer("sliceNumber", parse_int(doc.text("sliceNumber").value_or("")));
    a.integer("totalSlices", parse_int(doc.text("totalSlices").value_or("")));
    a.time("beginningDateTime", p.sensing_start);
    a.time("endingDateTime", p.sensing_end);
    a.dbl("startTimeFromAscendingNode", parse_double(doc.text("startTimeANX").value_or("")));
    a.dbl("completionTimeFromAscendingNode", parse_double(doc.text("stopTimeANX").value_or("")));
    a.str("processingLevel", "LEVEL1");
    if (const auto* processing = doc.find("processing", doc.find("metadataSection"))) {
      a.str("processingName", node_attr(processing, "name"));
      auto date = parse_time(node_attr(processing, "start"));
      a.time("processingDate", date);
      if (date) p.origin = *date;
      if (const auto* facility = doc.find("facility", processing)) {
        a.str("processingCenter", node_attr(facility, "site"));
        if (const auto* software = doc.find("software", facility)) {
          a.str("processorName", node_attr(software, "name"));
          a.str("processorVersion", node_attr(software, "version"));
        }
      }
    }
    p.attributes = a.take();

    std::optional<double> gsd;
    if (p.product_type.find("GRDH") != std::string::npos) gsd = 10.0;
    if (p.product_type.find("GRDM") != std::string::npos) gsd = 40.0;
    for (const auto& [path, size] : files) {
      const std::string file = last_segment(path);
      catalog::Asset asset;
      asset.path = path;
      auto stem = file.substr(0, file.rfind('.'));
      auto fields = split(stem, '-');  // s1a-iw-grd-vv-<start>-<stop>-<orbit>-<datatake>-<n>[-cog]
      if (path.rfind("measurement/", 0) == 0 && fields.size() >= 4) {
        const std::string pol = fields[3];
        asset.key = fields[2] == "grd" ? pol : fields[1] + "-" + pol;
        asset.media_type = cog ? kMediaCog : kMediaTiff;
        asset.roles = {"data", "backscatter"};
        asset.bands = {[&] {
          std::string up = pol;
          for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          return up;
        }()};
        asset.gsd = gsd;
        asset.title = fmt::format("{} {}", fields[1], asset.bands.front());
      } else if (path.rfind("annotation/", 0) == 0 && fields.size() >= 4 && file.size() > 4 &&
                 file.compare(file.size() - 4, 4, ".xml") == 0) {
        std::string kind = "product";
        std::size_t first = 0;
        if (fields[0] == "calibration" || fields[0] == "noise" || fields[0] == "rfi") {
          kind = fields[0];
          first = 1;
        }
        if (fields.size() < first + 4) continue;
        std::string swath = fields[first + 2] == "grd" ? "" : fields[first + 1] + "-";
        asset = {"schema-" + kind + "-" + swath + fields[first + 3],
                 path,
                 kMediaXml,
                 {"metadata"},
                 {},
                 std::nullopt,
                 0,
                 kind + " annotation"};
      } else if (path == "manifest.safe") {
        asset = {"safe_manifest", path, kMediaXml, {"metadata"}, {}, std::nullopt, 0, "SAFE manifest"};
      } else if (path == "preview/quick-look.png") {
        asset = {"thumbnail", path, "image/png", {"thumbnail"}, {}, std::nullopt, 0, "Quicklook"};
        p.quicklook = "thumbnail";
      } else if (path == "preview/map-overlay.kml") {
        asset = {"map_overlay", path, "application/vnd.google-earth.kml+xml", {"metadata"}, {}, std::nullopt, 0,
                 "Map overlay"};
      } else {
        continue;
      }
      p.assets.push_back(std::move(asset));
    }
    finish_product(p, bucket, key, files);
    return p;
  }
};

}  // namespace

std::unique_ptr<ProductReader> make_s1_safe_reader() { return std::make_unique<S1SafeReader>(); }

}  // namespace ds::ingest
