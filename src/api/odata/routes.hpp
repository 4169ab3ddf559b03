#pragma once
// The OData catalogue at /odata/v1, as CDSE serves it: Products (search with $filter, $orderby,
// $top, $skip, $count, $select, $expand, @odata.nextLink), Products(<uuid>),
// Products/OData.CSC.FilterList, Attributes, Attributes(<collection>), Collections,
// DeletedProducts, Assets(<id>)/$value (quicklooks) and $metadata. Every search compiles into the
// one catalogue query (filter.hpp). Errors are OData JSON ({"error": {...}}); a $top/$skip beyond
// its cap answers 422 in the shape CDSE's FastAPI service uses, which clients already parse.

#include "api/services.hpp"
#include "http/router.hpp"

namespace ds::api::odata {

inline constexpr std::size_t kMaxTop = 1000;
inline constexpr std::size_t kMaxSkip = 10000;
inline constexpr std::size_t kDefaultTop = 20;

void register_routes(http::Router& router, const Services& services);

}  // namespace ds::api::odata
