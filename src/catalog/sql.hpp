#pragma once
// SQL vocabulary shared by the SQLite and PostGIS stores' query compilers (internal to catalog/).

#include "catalog/query.hpp"

namespace ds::catalog {

// Column of `products p` holding a field, e.g. "p.sensing_start".
const char* sql_column(Field f);
// Column of `attributes a` holding values of a type: "v_text", "v_num", "v_time", "v_bool".
const char* sql_attribute_column(AttributeType t);
// "=", "<>", "<", "<=", ">", ">=".
const char* sql_operator(CompareOp op);

}  // namespace ds::catalog
