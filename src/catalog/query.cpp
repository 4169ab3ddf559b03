#include "catalog/query.hpp"

#include "core/error.hpp"

namespace ds::catalog {

const char* field_name(Field f) {
  switch (f) {
    case Field::id:
      return "id";
    case Field::name:
      return "name";
    case Field::collection:
      return "collection";
    case Field::product_type:
      return "product_type";
    case Field::sensing_start:
      return "sensing_start";
    case Field::sensing_end:
      return "sensing_end";
    case Field::publication:
      return "publication";
    case Field::modification:
      return "modification";
    case Field::online:
      return "online";
  }
  return "id";
}

namespace {
ExprPtr make(auto node) { return std::make_shared<const Expr>(Expr{std::move(node)}); }
}  // namespace

CompareOp swapped(CompareOp op) {
  switch (op) {
    case CompareOp::lt:
      return CompareOp::gt;
    case CompareOp::le:
      return CompareOp::ge;
    case CompareOp::gt:
      return CompareOp::lt;
    case CompareOp::ge:
      return CompareOp::le;
    default:
      return op;
  }
}

ExprPtr compare(Field f, CompareOp op, AttributeValue v) { return make(FieldCompare{f, op, std::move(v)}); }
ExprPtr in(Field f, std::vector<AttributeValue> values) { return make(FieldIn{f, std::move(values)}); }
ExprPtr match(Field f, TextMatch m, std::string text) { return make(FieldMatch{f, m, std::move(text)}); }
ExprPtr attribute(std::string name, CompareOp op, AttributeValue v) {
  return make(AttributeCompare{std::move(name), op, std::move(v)});
}
ExprPtr has_attribute(std::string name) { return make(AttributeExists{std::move(name)}); }
ExprPtr spatial(SpatialOp op, std::string wkt) { return make(Spatial{op, std::move(wkt)}); }
ExprPtr all_of(std::vector<ExprPtr> items) { return make(And{std::move(items)}); }
ExprPtr any_of(std::vector<ExprPtr> items) { return make(Or{std::move(items)}); }
ExprPtr negate(ExprPtr item) { return make(Not{std::move(item)}); }

namespace {
AttributeValue field_value(const Product& p, Field f) {
  switch (f) {
    case Field::id:
      return p.id;
    case Field::name:
      return p.name;
    case Field::collection:
      return p.collection;
    case Field::product_type:
      return p.product_type;
    case Field::sensing_start:
      return p.sensing_start;
    case Field::sensing_end:
      return p.sensing_end;
    case Field::publication:
      return p.publication;
    case Field::modification:
      return p.modification;
    case Field::online:
      return p.online;
  }
  return p.id;
}
}  // namespace

Cursor cursor_after(const Product& last, const std::vector<SortKey>& sort) {
  Cursor c;
  for (const auto& k : sort) {
    if (!k.attribute.empty()) {
      throw Error(ErrorCode::invalid_parameter, "keyset paging is not available when sorting by an attribute", "sort");
    }
    c.values.push_back(field_value(last, k.field));
  }
  c.id = last.id;
  return c;
}

ExprPtr keyset_predicate(const std::vector<SortKey>& sort, const Cursor& cursor) {
  if (cursor.values.size() != sort.size()) {
    throw Error(ErrorCode::invalid_parameter, "the paging token does not match the sort order", "token");
  }
  // (k1 after v1) or (k1 = v1 and k2 after v2) or ... or (all equal and id > last id).
  std::vector<ExprPtr> alternatives;
  std::vector<ExprPtr> equal_so_far;
  for (std::size_t i = 0; i < sort.size(); ++i) {
    if (!sort[i].attribute.empty()) {
      throw Error(ErrorCode::invalid_parameter, "keyset paging is not available when sorting by an attribute", "sort");
    }
    auto step = equal_so_far;
    step.push_back(compare(sort[i].field, sort[i].descending ? CompareOp::lt : CompareOp::gt, cursor.values[i]));
    alternatives.push_back(all_of(std::move(step)));
    equal_so_far.push_back(compare(sort[i].field, CompareOp::eq, cursor.values[i]));
  }
  equal_so_far.push_back(compare(Field::id, CompareOp::gt, cursor.id));
  alternatives.push_back(all_of(std::move(equal_so_far)));
  return any_of(std::move(alternatives));
}

namespace {

std::optional<std::vector<std::string>> collections_of(const Expr& e) {
  if (const auto* c = std::get_if<FieldCompare>(&e.node)) {
    if (c->field != Field::collection || c->op != CompareOp::eq) return std::nullopt;
    if (const auto* s = std::get_if<std::string>(&c->value)) return std::vector<std::string>{*s};
    return std::nullopt;
  }
  if (const auto* in = std::get_if<FieldIn>(&e.node)) {
    if (in->field != Field::collection) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& v : in->values) {
      const auto* s = std::get_if<std::string>(&v);
      if (!s) return std::nullopt;
      out.push_back(*s);
    }
    return out;
  }
  if (const auto* any = std::get_if<Or>(&e.node)) {
    std::vector<std::string> out;
    for (const auto& item : any->items) {
      if (!item) return std::nullopt;
      auto part = collections_of(*item);
      if (!part) return std::nullopt;
      out.insert(out.end(), part->begin(), part->end());
    }
    return out;
  }
  if (const auto* all = std::get_if<And>(&e.node)) {
    // The first conjunct that names collections is enough for a bound (any of them is).
    for (const auto& item : all->items) {
      if (!item) continue;
      if (auto part = collections_of(*item)) return part;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::vector<std::string>> constrained_collections(const ExprPtr& where) {
  if (!where) return std::nullopt;
  return collections_of(*where);
}

}  // namespace ds::catalog
