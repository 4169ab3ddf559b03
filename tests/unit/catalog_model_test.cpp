#include <gtest/gtest.h>

#include "catalog/model.hpp"

using namespace ds::catalog;

TEST(CatalogModel, ProductUuidIsDeterministicAndVersion5) {
  const auto a = product_uuid("S2A_MSIL2A_20220617T100600_N0400_R022_T32TPS_20220617T133542.SAFE");
  EXPECT_EQ(a, product_uuid("S2A_MSIL2A_20220617T100600_N0400_R022_T32TPS_20220617T133542.SAFE"));
  EXPECT_NE(a, product_uuid("S2B_MSIL2A_20220612T100558_N0400_R022_T32TPS_20220612T133542.SAFE"));
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '5');
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos);
}

TEST(CatalogModel, AttributeTypesFollowTheirValues) {
  Product p;
  p.attributes = {{"cloudCover", 12.5},
                  {"tileId", std::string("32TPS")},
                  {"relativeOrbitNumber", std::int64_t{22}},
                  {"beginningDateTime", Time{}},
                  {"online", true}};
  EXPECT_EQ(p.attribute("cloudCover")->type(), AttributeType::double_);
  EXPECT_STREQ(attribute_type_name(p.attribute("beginningDateTime")->type()), "DateTimeOffset");
  EXPECT_EQ(p.attribute("relativeOrbitNumber")->type(), AttributeType::integer);
  EXPECT_EQ(p.attribute("missing"), nullptr);
}
