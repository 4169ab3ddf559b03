#pragma once
// Downloads (CDSE's "zipper"): a product as a ZIP built on the fly with ranges
// (/odata/v1/Products(<id>)/$value, $zip), its folder tree as OData Nodes with single files
// (…/Nodes(<name>)/…/$value), per-user download limits. Errors in the zipper's JSON shape
// {"trace-id","code":"DAT-ZIP-…","message"}. See README.md in this folder and docs/download.md.

#include "api/services.hpp"
#include "http/router.hpp"

namespace ds::api::download {

void register_routes(http::Router& router, const Services& services);

}  // namespace ds::api::download
