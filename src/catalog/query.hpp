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
// The operator with its operands swapped ("5 < x" is "x > 5").
CompareOp swapped(CompareOp op);
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
// The product has the attribute (whatever its value): CQL2 "is not null"; negate for "is null".
struct AttributeExists {
  std::string name;
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
  std::variant<FieldCompare, FieldIn, FieldMatch, AttributeCompare, AttributeExists, Spatial, And, Or, Not> node;
};

// Builders, for the protocol compilers and the tests.
ExprPtr compare(Field f, CompareOp op, AttributeValue v);
ExprPtr in(Field f, std::vector<AttributeValue> values);
ExprPtr match(Field f, TextMatch m, std::string text);
ExprPtr attribute(std::string name, CompareOp op, AttributeValue v);
ExprPtr has_attribute(std::string name);
ExprPtr spatial(SpatialOp op, std::string wkt);
ExprPtr all_of(std::vector<ExprPtr> items);
ExprPtr any_of(std::vector<ExprPtr> items);
ExprPtr negate(ExprPtr item);

// A sort key: a field, or (when `attribute` is set) a typed attribute, products without it last.
struct SortKey {
  Field field = Field::sensing_start;
  bool descending = false;
  std::string attribute;  // e.g. "cloudCover"; empty = sort by `field`
  AttributeType attribute_type = AttributeType::double_;
};

// Keyset position: the sort-key values and the id of the last product of the previous page.
// Only for field sort keys (attribute keys page by offset).
struct Cursor {
  std::vector<AttributeValue> values;  // one per sort key, typed as the field compares
  std::string id;
};

enum class CountMode { none, exact };

struct Query {
  ExprPtr where;              // nullptr = every product
  std::vector<SortKey> sort;  // ties are always broken by id ascending, so paging is stable
  std::size_t limit = 20;     // 0..10000
  std::size_t offset = 0;
  std::optional<Cursor> after;  // page after this position (keyset), instead of/in addition to offset
  CountMode count = CountMode::none;
  // Counting stops after this many matches (0 = never): the total is then a lower bound.
  std::size_t count_limit = 0;
};

struct SearchResult {
  std::vector<Product> products;
  std::optional<std::size_t> total;  // with CountMode::exact
  bool total_exact = true;           // false when count_limit cut the count short (total is a lower bound)
};

// The collections every product matching `where` must belong to, when its top level says so (a
// collection equality or IN list, alone or ANDed with the rest, or an OR of those); nullopt when
// any collection could match. The stores use it to bound sensing-end predicates (see
// "collection spans" in their READMEs).
std::optional<std::vector<std::string>> constrained_collections(const ExprPtr& where);

// The cursor that continues after `last` under `sort`. Throws ds::Error(invalid_parameter) when a
// sort key is an attribute.
Cursor cursor_after(const Product& last, const std::vector<SortKey>& sort);
// The predicate "comes after `cursor` under `sort` (then id ascending)", for the stores.
ExprPtr keyset_predicate(const std::vector<SortKey>& sort, const Cursor& cursor);

}  // namespace ds::catalog
