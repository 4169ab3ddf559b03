#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/geometry.hpp"

namespace ds {
namespace {

TEST(Geometry, GeoJsonRoundTripsAndIsValidated) {
  const auto g =
      Geometry::from_geojson(R"({"type":"Polygon","coordinates":[[[10,46],[11,46],[11,47],[10,47],[10,46]]]})");
  EXPECT_EQ(g.to_wkt(), "POLYGON ((10 46, 11 46, 11 47, 10 47, 10 46))");
  const auto back = Geometry::from_geojson(g.to_geojson());
  EXPECT_EQ(back.to_wkt(), g.to_wkt());
  EXPECT_THROW(Geometry::from_geojson(R"({"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]})"), Error);
  EXPECT_THROW(Geometry::from_geojson(R"({"type":"Blob"})"), Error);
  EXPECT_THROW(Geometry::from_geojson("not json"), Error);
}

TEST(Geometry, BoxesIncludingTheAntimeridianAndDegenerateOnes) {
  EXPECT_EQ(Geometry::from_bbox(10, 46, 11, 47).to_wkt(), "POLYGON ((10 46, 11 46, 11 47, 10 47, 10 46))");
  const auto wrapped = Geometry::from_bbox(179, -10, -179, 10);
  EXPECT_EQ(wrapped.to_wkt().rfind("MULTIPOLYGON", 0), 0u);
  EXPECT_TRUE(wrapped.test(SpatialPredicate::intersects, Geometry::from_wkt("POINT(-179.5 0)")));
  EXPECT_FALSE(wrapped.test(SpatialPredicate::intersects, Geometry::from_wkt("POINT(0 0)")));
  EXPECT_NO_THROW(Geometry::from_bbox(10, 46, 10, 46));  // a point as a box
  try {
    Geometry::from_bbox(10, 47, 11, 46);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.parameter(), "bbox");
  }
  EXPECT_THROW(Geometry::from_bbox(10, 46, 200, 47), Error);
}

}  // namespace
}  // namespace ds
