#pragma once
// OData `$filter` (the CDSE dialect) → the catalogue's query AST.
//
// Grammar (case-sensitive keywords as OData, but property prefixes such as `attributes/` accepted
// in any case, as real clients send):
//   expr       := and ('or' and)*
//   and        := unary ('and' unary)*
//   unary      := 'not' unary | '(' expr ')' | function | lambda | comparison
//   comparison := property op literal | literal op property | property 'in' '(' literal, ... ')'
//   op         := eq | ne | lt | le | gt | ge
//   function   := contains|startswith|endswith '(' property ',' 'text' ')' [eq true|false]
//               | OData.CSC.Intersects '(' (area|Footprint) '=' geography'SRID=4326;<WKT>' ')' [eq true|false]
//   lambda     := Attributes/OData.CSC.<T>Attribute/any '(' v ':' v/Name eq 'n' and v/[OData.CSC.<T>Attribute/]Value op
//   literal ')'
// Properties: Id, Name, Collection/Name, ProductType, ContentDate/Start, ContentDate/End,
// PublicationDate, ModificationDate, Online. Attribute casts are not trusted: the attribute's type
// comes from the collection definitions and the literal is coerced to it (clients send
// `StringAttribute` for integers and quoted numbers for Integer attributes).

#include <string_view>

#include "catalog/collection.hpp"
#include "catalog/query.hpp"

namespace ds::api::odata {

// Throws ds::Error(invalid_parameter, "$filter") naming the offending token and its position
// (details: "position", "token").
catalog::ExprPtr parse_filter(std::string_view text, const catalog::CollectionRegistry* registry);

// The sort keys of `$orderby` ("ContentDate/Start desc, Name"). Throws invalid_parameter "$orderby".
std::vector<catalog::SortKey> parse_orderby(std::string_view text);

}  // namespace ds::api::odata
