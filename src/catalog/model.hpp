#pragma once
// The catalogue's model: collections and products as CDSE exposes them (typed attributes,
// checksums, assets), independent of any protocol (OData, STAC, OpenSearch render it) and of any
// store (SQLite and PostGIS persist it).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ds::catalog {

using Time = std::chrono::system_clock::time_point;

// CDSE's attribute types: OData.CSC.StringAttribute, IntegerAttribute, DoubleAttribute,
// DateTimeOffsetAttribute, BooleanAttribute.
enum class AttributeType { string, integer, double_, datetime, boolean };
const char* attribute_type_name(AttributeType t);  // "String", "Integer", "Double", "DateTimeOffset", "Boolean"

using AttributeValue = std::variant<std::string, std::int64_t, double, Time, bool>;

struct Attribute {
  std::string name;  // CDSE name, e.g. "cloudCover", "tileId", "relativeOrbitNumber"
  AttributeValue value;
  AttributeType type() const;
};

struct Checksum {
  std::string algorithm;  // "MD5", "SHA3-256", "BLAKE3"
  std::string value;      // lowercase hex
};

struct Asset {
  std::string key;  // STAC asset key: "B04_10m", "SCL_20m", "vv", "thumbnail", "product_metadata"
  // Path inside the product, '/' separated ("GRANULE/.../T32TPS_..._B04_10m.jp2"); a leading '/'
  // names "/<bucket>/<key>" outside the product folder (quicklooks rendered at ingest).
  std::string path;
  std::string media_type;          // "image/jp2", "image/tiff; application=geotiff; profile=cloud-optimized", ...
  std::vector<std::string> roles;  // "data", "metadata", "thumbnail", "overview", ...
  std::vector<std::string> bands;  // band names carried by the asset ("B04"; "VV")
  std::optional<double> gsd;       // metres
  std::uint64_t size = 0;          // bytes, 0 when unknown
  std::string title;
  std::vector<Checksum> checksums;  // of the file ("MD5", "SHA3-256"), when the archive provides them
  // The raster grid of georeferenced data assets (filled at ingest): EPSG code, [rows, cols] and
  // the affine transform in GDAL order (x0, dx, rx, y0, ry, dy). Empty when unknown.
  std::optional<int> epsg;
  std::vector<std::int64_t> shape;
  std::vector<double> transform;
};

struct Product {
  std::string id;            // UUID (deterministic from the name, so re-ingesting is idempotent)
  std::string name;          // "S2A_MSIL2A_20220617T100600_N0400_R022_T32TPS_20220617T133542.SAFE"
  std::string collection;    // CDSE collection name: SENTINEL-1, SENTINEL-2, SENTINEL-3, SENTINEL-5P, COP-DEM
  std::string product_type;  // "S2MSI2A", "IW_GRDH_1S-COG", "OL_1_EFR___", "L2__NO2___", "DGE_30-COG"
  Time sensing_start{};
  Time sensing_end{};
  Time publication{};
  Time modification{};
  std::optional<Time> origin;  // when the product was made (generation time)
  std::string footprint_wkt;   // WGS84 lon/lat POLYGON or MULTIPOLYGON (split at the antimeridian)
  bool online = true;
  std::optional<Time> eviction;
  std::string bucket = "eodata";
  std::string key;  // object key of the product root ("Sentinel-2/MSI/L2A/2022/06/17/<name>")
  std::uint64_t content_length = 0;
  std::vector<Checksum> checksums;
  std::vector<Attribute> attributes;
  std::vector<Asset> assets;
  std::string quicklook;  // asset key of the quicklook, empty if none

  // The attribute named `name`, if present.
  const Attribute* attribute(const std::string& name) const;
};

// Deterministic UUID (version 5 layout, SHA-1 of a fixed namespace and the product name).
std::string product_uuid(const std::string& name);

}  // namespace ds::catalog
