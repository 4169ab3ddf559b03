#pragma once
// What the catalogue API families (OData, STAC, OpenSearch) share, so that the three answer the
// same question the same way and point at the same URLs: the download/quicklook/node URLs of a
// product, its STAC-level collection, opaque paging tokens and time formats. Protocol-specific
// rendering stays in each family's folder.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "catalog/collection.hpp"
#include "catalog/model.hpp"
#include "catalog/query.hpp"
#include "http/body.hpp"
#include "storage/object_store.hpp"

namespace ds::api::common {

// The whole product as a ZIP: <base>/odata/v1/Products(<id>)/$value.
std::string product_download_url(const std::string& base, const catalog::Product& p);
// A file of the product: <base>/odata/v1/Products(<id>)/Nodes(<name>)/Nodes(<seg>)/.../$value.
std::string node_url(const std::string& base, const catalog::Product& p, const std::string& path);
// The product's quicklook, a stable URL per product: <base>/odata/v1/Assets(<product id>)/$value
// (the quicklook asset shares the product's id). Empty when the product has none.
std::string quicklook_url(const std::string& base, const catalog::Product& p);
const catalog::Asset* quicklook_asset(const catalog::Product& p);
// S3 location of the product folder or of one of its files: s3://<bucket>/<key>[/<path>].
std::string s3_href(const catalog::Product& p, const std::string& path = "");
// The HTTP URL of an asset: node_url for files in the product, the quicklook URL for the quicklook.
std::string asset_url(const std::string& base, const catalog::Product& p, const catalog::Asset& a);

// The STAC/Sentinel Hub collection id of a product ("sentinel-2-l2a"); the mission in lower case
// when no definition claims it.
std::string collection_id(const catalog::CollectionRegistry* registry, const catalog::Product& p);

// Opaque paging tokens (base64url of compact JSON), so clients never build them.
std::string encode_token(const nlohmann::json& state);
// Throws ds::Error(invalid_parameter, `parameter`) for a token we did not issue.
nlohmann::json decode_token(std::string_view token, const std::string& parameter = "token");
// A keyset cursor as JSON and back (values typed by the sort fields).
nlohmann::json cursor_json(const catalog::Cursor& c);
catalog::Cursor cursor_from_json(const nlohmann::json& j, const std::vector<catalog::SortKey>& sort,
                                 const std::string& parameter = "token");

// 2024-06-04T12:18:40.284131Z (microseconds, as CDSE's OData writes dates).
std::string format_micros(catalog::Time t);
// 2024-06-04T12:18:40Z, or with milliseconds when there are any (STAC, resto).
std::string format_rfc3339(catalog::Time t);

// An opened object of the store as a ranged HTTP body source (reads only the requested bytes).
std::shared_ptr<http::RangedSource> object_source(std::shared_ptr<const storage::OpenedObject> object);

// An attribute value as plain JSON (times as RFC 3339).
nlohmann::json attribute_json(const catalog::AttributeValue& v);

}  // namespace ds::api::common
