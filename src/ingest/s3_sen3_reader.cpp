// Sentinel-3 products in SEN3 folders (OLCI, SLSTR, SRAL, SYN; every level): metadata from
// xfdumanifest.xml, every NetCDF file as an asset.

#include <cmath>
#include <regex>

#include <cpl_minixml.h>

#include "ingest/readers.hpp"
#include "ingest/support.hpp"

namespace ds::ingest {
namespace {

using namespace detail;

class S3Sen3Reader final : public ProductReader {
 public:
  std::string id() const override { return "reader.s3-sen3"; }

  bool accepts(std::string_view name) const override {
    static const std::regex pattern(R"(^S3[ABCD_]_[A-Z]{2}_[0-9]_\w{6}_\d{8}T\d{6}_\d{8}T\d{6}_\d{8}T\d{6}_.*\.SEN3$)");
    return std::regex_match(name.begin(), name.end(), pattern);
  }

  catalog::Product read(const storage::ObjectStore& store, const std::string& bucket,
                        const std::string& key) const override {
    auto files = list_product(store, bucket, key);
    const std::string manifest_key = key + "/xfdumanifest.xml";
    if (files.count("xfdumanifest.xml") == 0) fail(manifest_key, "file is missing (no SEN3 manifest in the product)");
    XmlDoc doc(read_text(store, bucket, manifest_key), manifest_key);
    if (doc.find("metadataSection") == nullptr) fail(manifest_key, "missing element <metadataSection>");

    catalog::Product p;
    p.collection = "SENTINEL-3";
    p.product_type = doc.required("productType");
    p.sensing_start = require_time(doc.required("startTime"), manifest_key, "startTime");
    p.sensing_end = require_time(doc.required("stopTime"), manifest_key, "stopTime");
    if (auto created = doc.text("creationTime")) p.origin = parse_time(*created);

    auto pos = parse_numbers(doc.required("posList", doc.find("footPrint")));
    if (pos.size() < 6 || pos.size() % 2 != 0) fail(manifest_key, "footPrint posList is not a list of lat/lon pairs");
    std::vector<std::pair<double, double>> ring;
    for (std::size_t i = 0; i + 1 < pos.size(); i += 2) ring.emplace_back(pos[i + 1], pos[i]);
    p.footprint_wkt = footprint_wkt(ring, manifest_key);

    Attributes a;
    a.str("productType", p.product_type);
    a.str("timeliness", doc.text("timeliness"));
    a.str("baselineCollection", doc.text("baselineCollection"));
    a.str("processingBaseline", doc.text("processingBaseline"));
    a.time("beginningDateTime", p.sensing_start);
    a.time("endingDateTime", p.sensing_end);
    const CPLXMLNode* platform = doc.find("platform");
    if (platform == nullptr) fail(manifest_key, "missing element <platform>");
    a.str("platformShortName", [&] {
      std::string s = doc.text("familyName", platform).value_or("");
      for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return s;
    }());
    a.str("platformSerialIdentifier", doc.text("number", platform));
    if (const auto* instrument = doc.find("instrument", platform)) {
      a.str("instrumentShortName", node_attr(doc.find("familyName", instrument), "abbreviation"));
      a.str("operationalMode", doc.text("mode", instrument));
    }
    for (const auto* n : doc.find_all("orbitNumber")) {
      if (node_attr(n, "type") != "start") continue;
      a.integer("orbitNumber", parse_int(node_text(n)));
      std::string dir = node_attr(n, "groundTrackDirection");
      if (!dir.empty()) a.str("orbitDirection", std::string(1, static_cast<char>(std::toupper(dir[0]))));
    }
    for (const auto* n : doc.find_all("relativeOrbitNumber")) {
      if (node_attr(n, "type") == "start") a.integer("relativeOrbitNumber", parse_int(node_text(n)));
    }
    a.integer("cycleNumber", parse_int(doc.text("cycleNumber").value_or("")));
    if (const auto* processing = doc.find("processing", doc.find("metadataSection"))) {
      a.str("processingLevel", node_attr(processing, "outputLevel"));
      a.time("processingDate", parse_time(node_attr(processing, "start")));
      if (const auto* software = doc.find("software", processing)) {
        a.str("processorName", node_attr(software, "name"));
        a.str("processorVersion", node_attr(software, "version"));
      }
      for (const auto* facility : doc.find_all("facility", processing)) {
        std::string site = node_attr(facility, "site");
        if (!site.empty()) {
          a.str("processingCenter", site);
          break;
        }
      }
    }
    // <classificationSummary><sentinel3:brightPixels percentage="99.0"/>... -> brightCover.
    if (const auto* summary = doc.find("classificationSummary")) {
      for (const CPLXMLNode* c = summary->psChild; c != nullptr; c = c->psNext) {
        std::string n = c->eType == CXT_Element ? c->pszValue : "";
        if (n.size() <= 6 || n.compare(n.size() - 6, 6, "Pixels") != 0) continue;
        auto pct = parse_double(node_attr(c, "percentage"));
        std::string attr = n.substr(0, n.size() - 6) + "Cover";
        if (attr == "openOceanCover" || attr == "closedSeaCover" || attr == "continentalIceCover") {
          if (pct) a.integer(attr, static_cast<std::int64_t>(std::llround(*pct)));
        } else {
          a.dbl(attr, pct);
        }
      }
    }
    p.attributes = a.take();

    for (const auto& [path, size] : files) {
      catalog::Asset asset;
      if (path == "xfdumanifest.xml") {
        asset = {"xfdumanifest", path, kMediaXml, {"metadata"}, {}, std::nullopt, 0, "SAFE manifest"};
      } else if (path.size() > 3 && path.compare(path.size() - 3, 3, ".nc") == 0 &&
                 path.find('/') == std::string::npos) {
        std::string stem = path.substr(0, path.size() - 3);
        bool band = std::regex_match(stem, std::regex(R"((Oa|S)\d{2}_.*)"));
        asset = {stem, path, kMediaNetcdf, {band ? "data" : "metadata"}, {}, std::nullopt, 0, stem};
        if (band) {
          asset.bands = {stem.substr(0, stem.find('_'))};
          if (p.product_type.rfind("OL_", 0) == 0)
            asset.gsd =
                p.product_type.find("EFR") != std::string::npos || p.product_type.find("FR") != std::string::npos
                    ? 300.0
                    : 1200.0;
        }
      } else if (path == "browse.jpg" || path == "quicklook.jpg") {
        asset = {"thumbnail", path, "image/jpeg", {"thumbnail"}, {}, std::nullopt, 0, "Quicklook"};
        p.quicklook = "thumbnail";
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

std::unique_ptr<ProductReader> make_s3_sen3_reader() { return std::make_unique<S3Sen3Reader>(); }

}  // namespace ds::ingest
