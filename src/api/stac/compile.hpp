#pragma once
// STAC vocabulary → catalog::Query: which property names exist (STAC names such as
// eo:cloud_cover, the CDSE attribute names such as cloudCover, and the item fields id, collection,
// geometry, datetime...), and the compiler from CQL2 JSON to a catalog expression. Also the
// pieces item search shares with it: collection membership, item ids, datetime intervals, sort keys.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/collection.hpp"
#include "catalog/query.hpp"

namespace ds::api::stac {

// How a property name is answered by the catalogue.
enum class PropertyKind {
  item_id,        // id: the product name without .SAFE/.SEN3/.nc
  collection,     // collection: STAC collection id (membership by product type)
  geometry,       // geometry: the footprint
  datetime,       // datetime: sensing start (the item's interval [start, end] for t_* functions)
  field,          // a product field (start_datetime, end_datetime, created, updated, product:type)
  attribute,      // a typed CDSE attribute, under its STAC or CDSE name
  platform,       // platform: "sentinel-2a" = platformShortName + platformSerialIdentifier
  constellation,  // constellation: "sentinel-2" = platformShortName
  instruments,    // instruments: [instrumentShortName] in lower case
  grid_code,      // grid:code: "MGRS-32TPS" = tileId "32TPS"
  orbit_state,    // sat:orbit_state: ascending/descending = orbitDirection ASCENDING/A, DESCENDING/D
  polarizations,  // sar:polarizations: ["VV","VH"] = polarisationChannels "VV, VH"
};

struct Property {
  std::string name;  // as the client wrote it (without a "properties." prefix)
  PropertyKind kind = PropertyKind::attribute;
  catalog::Field field = catalog::Field::sensing_start;
  std::string attribute;  // CDSE attribute name
  catalog::AttributeType type = catalog::AttributeType::string;
};

// Property resolution within a set of collections (all of them when `scope` is empty).
class Vocabulary {
 public:
  Vocabulary(const catalog::CollectionRegistry* registry, std::vector<const catalog::Collection*> scope = {});
  // Throws ds::Error(invalid_parameter, `parameter`) naming an unknown property.
  Property resolve(const std::string& name, const char* parameter = "filter") const;
  const catalog::CollectionRegistry* registry() const { return registry_; }

 private:
  const catalog::CollectionRegistry* registry_;
  std::vector<const catalog::Collection*> scope_;
};

// CQL2 JSON → expression. Throws ds::Error(invalid_parameter, `parameter`) for anything we cannot
// answer: unknown operators or properties, literals of the wrong type, unsupported LIKE patterns.
catalog::ExprPtr compile_cql2(const nlohmann::json& filter, const Vocabulary& vocabulary,
                              const char* parameter = "filter");

// The STAC query extension ({"eo:cloud_cover":{"lt":10}}) as CQL2 JSON, for compile_cql2.
nlohmann::json query_extension_to_cql2(const nlohmann::json& query);

// Products of the STAC collection `id` (the product types it claims, plus unclaimed types of its
// mission when it is the mission's first collection: CollectionRegistry::for_product's rule), or of
// a CDSE mission name ("SENTINEL-2"). nullopt for an unknown id.
std::optional<catalog::ExprPtr> collection_expr(const catalog::CollectionRegistry* registry, const std::string& id);

// Item id ↔ product name: the name without .SAFE/.SEN3/.nc; a full name is accepted too.
std::string item_id(const std::string& product_name);
std::vector<std::string> names_for_item_id(const std::string& id);
catalog::ExprPtr item_ids_expr(const std::vector<std::string>& ids);

// A closed or half-open time interval; nullopt ends are open.
struct Interval {
  std::optional<catalog::Time> start;
  std::optional<catalog::Time> end;
};
// STAC `datetime`: an instant, "a/b", with ".." or empty for an open end. Throws invalid_parameter.
Interval parse_datetime_interval(const std::string& text, const char* parameter = "datetime");
// Products whose [sensing start, sensing end] intersects the interval.
catalog::ExprPtr interval_intersects(const Interval& interval);

// A sort key for a STAC sortable ("datetime", "properties.eo:cloud_cover", "id"...).
catalog::SortKey sort_key(const std::string& field, bool descending, const Vocabulary& vocabulary);

}  // namespace ds::api::stac
