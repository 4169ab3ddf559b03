#include "catalog/query.hpp"

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

ExprPtr compare(Field f, CompareOp op, AttributeValue v) { return make(FieldCompare{f, op, std::move(v)}); }
ExprPtr in(Field f, std::vector<AttributeValue> values) { return make(FieldIn{f, std::move(values)}); }
ExprPtr match(Field f, TextMatch m, std::string text) { return make(FieldMatch{f, m, std::move(text)}); }
ExprPtr attribute(std::string name, CompareOp op, AttributeValue v) {
  return make(AttributeCompare{std::move(name), op, std::move(v)});
}
ExprPtr spatial(SpatialOp op, std::string wkt) { return make(Spatial{op, std::move(wkt)}); }
ExprPtr all_of(std::vector<ExprPtr> items) { return make(And{std::move(items)}); }
ExprPtr any_of(std::vector<ExprPtr> items) { return make(Or{std::move(items)}); }
ExprPtr negate(ExprPtr item) { return make(Not{std::move(item)}); }

}  // namespace ds::catalog
