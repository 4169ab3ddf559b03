#pragma once
// Internal helpers shared by the readers: XML documents (GDAL's cpl_minixml), timestamps,
// footprints, product file listings and typed attribute building.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "catalog/model.hpp"
#include "storage/object_store.hpp"

struct CPLXMLNode;

namespace ds::ingest::detail {

// Throws ds::Error(unprocessable) "<file>: <what>".
[[noreturn]] void fail(const std::string& file, const std::string& what);

// A parsed XML document with namespace prefixes stripped from element and attribute names.
class XmlDoc {
 public:
  // Throws ds::Error(unprocessable) naming `file` when the text is not well-formed XML.
  XmlDoc(const std::string& text, std::string file);
  ~XmlDoc();
  XmlDoc(XmlDoc&&) noexcept;
  XmlDoc& operator=(XmlDoc&&) noexcept;

  const CPLXMLNode* root() const { return root_; }
  const std::string& file() const { return file_; }

  // First element named `name` (depth first, from the document or from `under`), or nullptr.
  const CPLXMLNode* find(std::string_view name, const CPLXMLNode* under = nullptr) const;
  std::vector<const CPLXMLNode*> find_all(std::string_view name, const CPLXMLNode* under = nullptr) const;
  // Text of the first element named `name`; nullopt when absent or empty.
  std::optional<std::string> text(std::string_view name, const CPLXMLNode* under = nullptr) const;
  // Like text() but throws ds::Error(unprocessable) naming the file and the element when absent.
  std::string required(std::string_view name, const CPLXMLNode* under = nullptr) const;

 private:
  CPLXMLNode* root_ = nullptr;
  std::string file_;
};

// Text content of an element, trimmed.
std::string node_text(const CPLXMLNode* node);
// Value of an attribute of an element ("" when absent).
std::string node_attr(const CPLXMLNode* node, const char* name);

// Parses "2022-06-21T07:53:23.364527", "...Z", "...+00:00", "UTC=..." and "20230312T085631" as UTC.
std::optional<catalog::Time> parse_time(std::string_view text);
// Like parse_time but throws ds::Error(unprocessable) naming `file` and `what`.
catalog::Time require_time(std::string_view text, const std::string& file, const std::string& what);

std::optional<std::int64_t> parse_int(std::string_view text);
std::optional<double> parse_double(std::string_view text);

// WKT of a lon/lat ring (closed or not): POLYGON, or MULTIPOLYGON split at the antimeridian when an
// edge jumps more than 180 degrees in longitude. Throws ds::Error(unprocessable) with fewer than 3 points.
std::string footprint_wkt(std::vector<std::pair<double, double>> lon_lat, const std::string& file);
// Numbers separated by blanks or commas.
std::vector<double> parse_numbers(std::string_view text);

// Every object of the product (key relative to the product root -> size).
std::map<std::string, std::uint64_t> list_product(const storage::ObjectStore& store, const std::string& bucket,
                                                  const std::string& product_key);
// Whole small object as text. Throws ds::Error(unprocessable) naming the file when missing.
std::string read_text(const storage::ObjectStore& store, const std::string& bucket, const std::string& key);

// Last '/'-separated segment of a key.
std::string last_segment(std::string_view key);
std::string lower(std::string_view s);

// Attribute list builder that keeps one value per name.
class Attributes {
 public:
  void str(const std::string& name, std::optional<std::string> v);
  void integer(const std::string& name, std::optional<std::int64_t> v);
  void dbl(const std::string& name, std::optional<double> v);
  void time(const std::string& name, std::optional<catalog::Time> v);
  void boolean(const std::string& name, std::optional<bool> v);
  std::vector<catalog::Attribute> take() { return std::move(list_); }

 private:
  void set(const std::string& name, catalog::AttributeValue v);
  std::vector<catalog::Attribute> list_;
};

// Fills id, name, bucket, key, content_length and the size of every asset from `files`; drops
// assets whose file does not exist.
void finish_product(catalog::Product& product, const std::string& bucket, const std::string& product_key,
                    const std::map<std::string, std::uint64_t>& files);

inline constexpr const char* kMediaCog = "image/tiff; application=geotiff; profile=cloud-optimized";
inline constexpr const char* kMediaTiff = "image/tiff; application=geotiff";
inline constexpr const char* kMediaJp2 = "image/jp2";
inline constexpr const char* kMediaXml = "application/xml";
inline constexpr const char* kMediaNetcdf = "application/x-netcdf";

}  // namespace ds::ingest::detail
