#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "catalog/collection.hpp"
#include "core/error.hpp"

namespace ds::catalog {
namespace {

TEST(Collections, EveryBuiltInDefinitionLoads) {
  const auto r = CollectionRegistry::load();
  ASSERT_GE(r.all().size(), 10u);
  for (const auto& c : r.all()) {
    EXPECT_FALSE(c.title.empty()) << c.id;
    EXPECT_FALSE(c.mission.empty()) << c.id;
    EXPECT_EQ(c.bbox.size(), 4u) << c.id;
    EXPECT_TRUE(c.start.has_value()) << c.id;
    EXPECT_FALSE(c.queryables.empty()) << c.id;
  }
  EXPECT_EQ(r.missions(), (std::vector<std::string>{"COG", "COP-DEM", "GLOBAL-MOSAICS", "SENTINEL-1", "SENTINEL-2",
                                                    "SENTINEL-3", "SENTINEL-5P"}));
}

TEST(Collections, ProductTypesOfTheArchiveMapToOneCollection) {
  const auto r = CollectionRegistry::load();
  const std::map<std::string, std::string> expected = {{"S2MSI1C", "sentinel-2-l1c"},
                                                       {"S2MSI2A", "sentinel-2-l2a"},
                                                       {"IW_GRDH_1S-COG", "sentinel-1-grd"},
                                                       {"IW_GRDH_1S", "sentinel-1-grd"},
                                                       {"IW_SLC__1S", "sentinel-1-slc"},
                                                       {"OL_1_EFR___", "sentinel-3-olci-1-efr"},
                                                       {"L2__NO2___", "sentinel-5p-l2"},
                                                       {"DGE_30-COG", "cop-dem-glo-30"},
                                                       {"DGE_90-COG", "cop-dem-glo-90"},
                                                       {"S2MSI_L3__MCQ", "sentinel-2-global-mosaics"},
                                                       {"COG", "cog"}};
  for (const auto& [type, id] : expected) {
    const auto* c = r.for_product_type(type);
    ASSERT_NE(c, nullptr) << type;
    EXPECT_EQ(c->id, id) << type;
  }
  // Every product type is claimed by exactly one collection.
  std::map<std::string, std::string> owner;
  for (const auto& c : r.all()) {
    for (const auto& t : c.product_types) {
      EXPECT_TRUE(owner.emplace(t, c.id).second) << t << " in " << c.id << " and " << owner[t];
    }
  }
}

TEST(Collections, BandsAndQueryablesAreTyped) {
  const auto r = CollectionRegistry::load();
  const auto* l2a = r.find("sentinel-2-l2a");
  ASSERT_NE(l2a, nullptr);
  const auto* b04 = l2a->band("B04");
  ASSERT_NE(b04, nullptr);
  EXPECT_EQ(b04->resolution, 10);
  EXPECT_EQ(b04->asset, "B04_10m");
  EXPECT_EQ(b04->common_name, "red");
  EXPECT_EQ(l2a->band("B10"), nullptr);  // no cirrus band in L2A
  const auto* cc = l2a->queryable("eo:cloud_cover");
  ASSERT_NE(cc, nullptr);
  EXPECT_EQ(cc->name, "cloudCover");
  EXPECT_EQ(cc->type, AttributeType::double_);
  EXPECT_EQ(r.for_sentinelhub_type("S2L2A"), l2a);
  EXPECT_EQ(r.for_sentinelhub_type("SENTINEL-2-L2A"), l2a);
  EXPECT_EQ(r.for_sentinelhub_type("landsat-ot-l1"), nullptr);
}

TEST(Collections, OperatorDefinitionsAddOrReplace) {
  const auto dir = std::filesystem::temp_directory_path() / ("ds-collections-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "mine.json") << R"({"id":"my-mosaics","mission":"MOSAICS","title":"Mine","description":"d",
    "product_types":["MOSAIC"],"queryables":[{"name":"tileId","type":"String"}]})";
  std::ofstream(dir / "s2.json")
      << R"({"id":"sentinel-2-l1c","mission":"SENTINEL-2","title":"Replaced","description":"d"})";
  const auto r = CollectionRegistry::load(dir);
  ASSERT_NE(r.find("my-mosaics"), nullptr);
  EXPECT_EQ(r.find("sentinel-2-l1c")->title, "Replaced");
  std::ofstream(dir / "bad.json")
      << R"({"id":"bad","mission":"X","title":"t","description":"d","queryables":[{"name":"a","type":"Float"}]})";
  try {
    CollectionRegistry::load(dir);
    FAIL() << "a bad type must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.message()).find("bad.json"), std::string::npos) << e.message();
    EXPECT_NE(std::string(e.message()).find("Float"), std::string::npos) << e.message();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ds::catalog
