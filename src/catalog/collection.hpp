#pragma once
// Collections: what a group of products is (title, licence, extent, platforms), which bands its
// rasters carry and which attributes can be queried. One definition per file in collections/*.json
// (compiled into the binary, so a bare `dataspace` knows them; an operator can add or override
// definitions with the `collections.dir` setting).
//
// Two names matter: `mission` is CDSE's OData collection (`Collection/Name eq 'SENTINEL-2'`, what
// Product::collection holds), `id` is the finer STAC/Sentinel Hub collection (`sentinel-2-l2a`),
// chosen for a product by its product type.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/model.hpp"

namespace ds::catalog {

struct Band {
  std::string name;         // Sentinel Hub band name: "B04", "SCL", "VV", "NO2", "DEM"
  std::string common_name;  // STAC eo:common_name ("red"), empty when none
  std::string description;
  std::optional<double> center_wavelength;    // micrometres
  std::optional<double> full_width_half_max;  // micrometres
  double resolution = 0;                      // native ground sampling, metres
  std::string asset;                          // asset key carrying the band ("B04_10m"), empty if derived
  std::string unit;                           // default unit: "REFLECTANCE", "DN", "LINEAR_POWER", "MOL_M2", ...
  std::vector<std::string> units;             // every unit a request may ask for (default first)
  std::string sample_type;                    // native sample type: "UINT16", "UINT8", "FLOAT32"
  std::optional<double> nodata;
  std::optional<double> scale;  // physical = DN * scale + offset (before baseline offsets)
  std::optional<double> offset;
};

// A queryable attribute: its CDSE name and type, and the name STAC uses for it (if any).
struct Queryable {
  std::string name;  // "cloudCover"
  AttributeType type = AttributeType::string;
  std::string stac;  // "eo:cloud_cover"; empty = exposed under its CDSE name
  std::string title;
  std::optional<double> minimum;
  std::optional<double> maximum;
  std::vector<std::string> values;  // enumeration, when closed
};

struct Collection {
  std::string id;       // "sentinel-2-l2a"
  std::string mission;  // "SENTINEL-2"
  std::string title;
  std::string description;
  std::string license;  // SPDX id or "other"
  std::string license_url;
  std::vector<std::string> product_types;      // "S2MSI2A"; a product belongs to the first collection listing its type
  std::vector<std::string> sentinelhub_types;  // Process API `type` values: "sentinel-2-l2a", "S2L2A"
  std::vector<std::string> platforms;          // "sentinel-2a"
  std::string constellation;
  std::vector<std::string> instruments;
  std::vector<std::string> keywords;
  std::vector<double> bbox;  // west, south, east, north (CRS84)
  std::optional<Time> start;
  std::optional<Time> end;  // empty = ongoing
  std::optional<double> gsd;
  std::vector<Band> bands;
  std::vector<Queryable> queryables;
  nlohmann::json summaries = nlohmann::json::object();  // extra STAC summaries, as written

  const Band* band(const std::string& name) const;
  const Queryable* queryable(const std::string& name) const;  // by CDSE or STAC name
};

// The known collections, in a stable order (by id).
class CollectionRegistry {
 public:
  // The built-in definitions (collections/*.json of the source tree), then the files of `dir`
  // when given (a file whose id is already known replaces the built-in one). Throws ds::Error
  // (invalid_parameter) naming the file and the field of a malformed definition.
  static CollectionRegistry load(const std::optional<std::filesystem::path>& dir = std::nullopt);

  const std::vector<Collection>& all() const { return collections_; }
  const Collection* find(const std::string& id) const;
  // The collection a product belongs to, by its product type (then by mission).
  const Collection* for_product(const Product& product) const;
  const Collection* for_product_type(const std::string& product_type) const;
  // Every collection of one OData mission ("SENTINEL-2").
  std::vector<const Collection*> of_mission(const std::string& mission) const;
  // The distinct OData missions, in order.
  std::vector<std::string> missions() const;
  // A Process API `type` ("sentinel-2-l2a", "S2L2A"), case-insensitive.
  const Collection* for_sentinelhub_type(const std::string& type) const;

  void add(Collection c);  // replaces one of the same id

 private:
  std::vector<Collection> collections_;
};

// Parses one definition. `origin` names the file in error messages.
Collection parse_collection(const nlohmann::json& doc, const std::string& origin);

}  // namespace ds::catalog
