#include <gtest/gtest.h>

#include "core/time.hpp"

namespace ds {
namespace {

std::string iso(std::string_view text) {
  const auto t = parse_iso8601(text);
  return t ? format_iso8601(*t) : "none";
}

TEST(ParseIso8601, AcceptsTheFormsClientsSend) {
  EXPECT_EQ(iso("2022-06-17"), "2022-06-17T00:00:00.000Z");
  EXPECT_EQ(iso("2022-06-17T10:06:01Z"), "2022-06-17T10:06:01.000Z");
  EXPECT_EQ(iso("2022-06-17T10:06:01.024Z"), "2022-06-17T10:06:01.024Z");
  EXPECT_EQ(iso("2022-06-17T10:06:01.024999999Z"), "2022-06-17T10:06:01.024Z");
  EXPECT_EQ(iso("2022-06-17t10:06:01z"), "2022-06-17T10:06:01.000Z");
  EXPECT_EQ(iso("2022-06-17 10:06:01"), "2022-06-17T10:06:01.000Z");
  EXPECT_EQ(iso("2022-06-17T10:06"), "2022-06-17T10:06:00.000Z");
  EXPECT_EQ(iso("2022-06-17T12:06:01+02:00"), "2022-06-17T10:06:01.000Z");
  EXPECT_EQ(iso("2022-06-17T00:30:00-0130"), "2022-06-17T02:00:00.000Z");
  EXPECT_EQ(iso("20220617T100601Z"), "2022-06-17T10:06:01.000Z");
  EXPECT_EQ(iso("  2022-06-17T10:06:01Z "), "2022-06-17T10:06:01.000Z");
}

TEST(ParseIso8601, RefusesEverythingElse) {
  for (const char* bad : {"", "2022", "2022-13-01", "2022-02-30", "2022-06-17T25:00:00Z", "2022-06-17T10:06:01.Z",
                          "2022-06-17T10:06:01Zjunk", "yesterday", "2022-06-17T10:06:01+25:00", "2022/06/17"}) {
    EXPECT_FALSE(parse_iso8601(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace ds
