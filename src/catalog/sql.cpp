#include "catalog/sql.hpp"

namespace ds::catalog {

const char* sql_column(Field f) {
  switch (f) {
    case Field::id:
      return "p.id";
    case Field::name:
      return "p.name";
    case Field::collection:
      return "p.collection";
    case Field::product_type:
      return "p.product_type";
    case Field::sensing_start:
      return "p.sensing_start";
    case Field::sensing_end:
      return "p.sensing_end";
    case Field::publication:
      return "p.publication";
    case Field::modification:
      return "p.modification";
    case Field::online:
      return "p.online";
  }
  return "p.id";
}

const char* sql_operator(CompareOp op) {
  switch (op) {
    case CompareOp::eq:
      return "=";
    case CompareOp::ne:
      return "<>";
    case CompareOp::lt:
      return "<";
    case CompareOp::le:
      return "<=";
    case CompareOp::gt:
      return ">";
    case CompareOp::ge:
      return ">=";
  }
  return "=";
}

const char* sql_attribute_column(AttributeType t) {
  switch (t) {
    case AttributeType::string:
      return "v_text";
    case AttributeType::integer:
    case AttributeType::double_:
      return "v_num";
    case AttributeType::datetime:
      return "v_time";
    case AttributeType::boolean:
      return "v_bool";
  }
  return "v_num";
}

}  // namespace ds::catalog
