#pragma once
// One query AST for every catalogue interface: OData $filter, CQL2 (text and JSON), STAC item
// search and OpenSearch parameters all compile to a catalog::Query, and every store executes it,
// so every interface answers the same question the same way.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "catalog/model.hpp"

namespace ds::catalog {

// Product fields that queries can test and sort on (attributes are addressed by name).
enum class Field { id, name, collection, product_type, sensing_start, sensing_end, publication, modification, online };
const char* field_name(Field f);

enum class CompareOp { eq, ne, lt, le, gt, ge };
enum class TextMatch { contains, starts_with, ends_with };
enum class SpatialOp { intersects, within, contains };  // footprint <op> geometry

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct FieldCompare {
  Field field;
  CompareOp op;
  AttributeValue value;  // string for text fields, Time for times, bool for online
};
struct FieldIn {
  Field field;
  std::vector<AttributeValue> values;
};
struct FieldMatch {
  Field field;  // name or product_type
  TextMatch match;
  std::string text;
};
// A typed attribute test. Numbers compare numerically whatever their declared type (clients send
// an IntegerAttribute filter on cloudCover, a Double one on orbitNumber): the stores compare
// Integer and Double values as numbers.
struct AttributeCompare {
  std::string name;
  CompareOp op;
  AttributeValue value;
};
struct Spatial {
  SpatialOp op;
  std::string wkt;  // WGS84 lon/lat geometry: POINT, POLYGON, MULTIPOLYGON, ...
};
struct And {
  std::vector<ExprPtr> items;
};
struct Or {
  std::vector<ExprPtr> items;
};
struct Not {
  ExprPtr item;
};

struct Expr {
  std::variant<FieldCompare, FieldIn, FieldMatch, AttributeCompare, Spatial, And, Or, Not> node;
};

// Builders, for the protocol compilers and the tests.
ExprPtr compare(Field f, CompareOp op, AttributeValue v);
ExprPtr in(Field f, std::vector<AttributeValue> values);
ExprPtr match(Field f, TextMatch m, std::string text);
ExprPtr attribute(std::string name, CompareOp op, AttributeValue v);
ExprPtr spatial(SpatialOp op, std::string wkt);
ExprPtr all_of(std::vector<ExprPtr> items);
ExprPtr any_of(std::vector<ExprPtr> items);
ExprPtr negate(ExprPtr item);

struct SortKey {
  Field field = Field::sensing_start;
  bool descending = false;
};

enum class CountMode { none, exact };

struct Query {
  ExprPtr where;              // nullptr = every product
  std::vector<SortKey> sort;  // ties are always broken by id ascending, so paging is stable
  std::size_t limit = 20;     // 0..10000
  std::size_t offset = 0;
  CountMode count = CountMode::none;
};

struct SearchResult {
  std::vector<Product> products;
  std::optional<std::size_t> total;  // with CountMode::exact
};

}  // namespace ds::catalog
