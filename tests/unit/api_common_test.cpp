#include <gtest/gtest.h>

#include "api/common/catalog.hpp"
#include "core/error.hpp"
#include "core/time.hpp"

namespace ds::api::common {
namespace {

catalog::Product product() {
  catalog::Product p;
  p.name = "S2A_MSIL2A_20220617T100600_N0400_R022_T32TPS_20220617T133542.SAFE";
  p.id = catalog::product_uuid(p.name);
  p.collection = "SENTINEL-2";
  p.product_type = "S2MSI2A";
  p.key = "Sentinel-2/MSI/L2A/2022/06/17/" + p.name;
  p.sensing_start = *parse_iso8601("2022-06-17T10:06:01.024Z");
  p.assets = {
      {"B04_10m", "GRANULE/L2A_T32TPS/IMG_DATA/R10m/T32TPS_B04_10m.jp2", "image/jp2", {"data"}, {"B04"}, 10.0, 1, ""},
      {"quicklook", "/quicklooks/Sentinel-2/x-ql.png", "image/png", {"thumbnail"}, {}, {}, 1, ""}};
  p.quicklook = "quicklook";
  return p;
}

TEST(ApiCommon, UrlsOfAProduct) {
  const auto p = product();
  EXPECT_EQ(product_download_url("http://h", p), "http://h/odata/v1/Products(" + p.id + ")/$value");
  EXPECT_EQ(node_url("http://h", p, p.assets[0].path),
            "http://h/odata/v1/Products(" + p.id + ")/Nodes(" + p.name +
                ")/Nodes(GRANULE)/Nodes(L2A_T32TPS)/Nodes(IMG_DATA)/Nodes(R10m)/Nodes(T32TPS_B04_10m.jp2)/$value");
  EXPECT_EQ(quicklook_url("http://h", p), "http://h/odata/v1/Assets(" + p.id + ")/$value");
  EXPECT_EQ(s3_href(p), "s3://eodata/" + p.key);
  EXPECT_EQ(s3_href(p, p.assets[1].path), "s3://quicklooks/Sentinel-2/x-ql.png");
  const auto r = catalog::CollectionRegistry::load();
  EXPECT_EQ(collection_id(&r, p), "sentinel-2-l2a");
}

TEST(ApiCommon, TokensRoundTripAndForgeriesAreRefused) {
  const std::vector<catalog::SortKey> sort = {{catalog::Field::sensing_start, true}, {catalog::Field::name, false}};
  const auto c = catalog::cursor_after(product(), sort);
  const auto token = encode_token({{"after", cursor_json(c)}, {"n", 3}});
  EXPECT_EQ(token.find_first_of("+/="), std::string::npos);
  const auto back = decode_token(token);
  EXPECT_EQ(back["n"], 3);
  const auto c2 = cursor_from_json(back["after"], sort);
  EXPECT_EQ(c2.id, c.id);
  EXPECT_EQ(std::get<catalog::Time>(c2.values[0]), product().sensing_start);
  EXPECT_THROW(decode_token("not a token!"), Error);
  EXPECT_THROW(decode_token("bm90IGpzb24"), Error);  // "not json"
  EXPECT_THROW(cursor_from_json(back["after"], {{catalog::Field::name, false}}), Error);
}

TEST(ApiCommon, TimeFormats) {
  const auto t = *parse_iso8601("2024-06-04T12:18:40.284131Z");
  EXPECT_EQ(format_micros(t), "2024-06-04T12:18:40.284131Z");
  EXPECT_EQ(format_rfc3339(t), "2024-06-04T12:18:40.284Z");
  EXPECT_EQ(format_rfc3339(*parse_iso8601("2024-06-04")), "2024-06-04T00:00:00Z");
  EXPECT_EQ(format_micros(*parse_iso8601("1969-12-31T23:59:59.5Z")), "1969-12-31T23:59:59.500000Z");
}

}  // namespace
}  // namespace ds::api::common
