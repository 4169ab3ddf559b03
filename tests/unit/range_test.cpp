#include <gtest/gtest.h>

#include "core/error.hpp"
#include "http/range.hpp"

using namespace ds::http;

namespace {

std::string drain(BodyStream& s) {
  std::string out;
  char buf[7];  // small on purpose: exercises piecewise reads across part boundaries
  while (std::size_t n = s.read(buf, sizeof buf)) out.append(buf, n);
  return out;
}

Request get_with(std::initializer_list<std::pair<std::string, std::string>> headers) {
  Request r;
  r.method = Method::get;
  for (const auto& [k, v] : headers) r.headers.add(k, v);
  return r;
}

}  // namespace

TEST(Range, ParsesSingleSuffixOpenAndLists) {
  std::vector<ByteRange> r;
  EXPECT_EQ(parse_range("bytes=0-499", 1000, r), RangeParse::ok);
  EXPECT_EQ(r, (std::vector<ByteRange>{{0, 499}}));
  EXPECT_EQ(parse_range("bytes=-100", 1000, r), RangeParse::ok);
  EXPECT_EQ(r, (std::vector<ByteRange>{{900, 999}}));
  EXPECT_EQ(parse_range("bytes=990-", 1000, r), RangeParse::ok);
  EXPECT_EQ(r, (std::vector<ByteRange>{{990, 999}}));
  EXPECT_EQ(parse_range("bytes=0-0, 5-9 ,-1", 1000, r), RangeParse::ok);
  EXPECT_EQ(r.size(), 3u);
  EXPECT_EQ(parse_range("bytes=500-5000", 1000, r), RangeParse::ok);
  EXPECT_EQ(r.front().last, 999u);
}

TEST(Range, UnsatisfiableVersusIgnored) {
  std::vector<ByteRange> r;
  EXPECT_EQ(parse_range("bytes=1000-", 1000, r), RangeParse::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=5-2", 1000, r), RangeParse::none);  // invalid: ignore header
  EXPECT_EQ(parse_range("items=0-5", 1000, r), RangeParse::none);  // other unit
  EXPECT_EQ(parse_range("bytes=abc", 1000, r), RangeParse::none);
  std::string many = "bytes=";
  for (int i = 0; i < 100; ++i) many += std::to_string(i) + "-" + std::to_string(i) + ",";
  EXPECT_EQ(parse_range(many, 1000, r), RangeParse::none);  // abuse guard
}

TEST(Range, EtagComparison) {
  EXPECT_TRUE(etag_matches("\"a\", \"b\"", "\"b\"", false));
  EXPECT_TRUE(etag_matches("*", "\"x\"", false));
  EXPECT_TRUE(etag_matches("W/\"a\"", "\"a\"", true));
  EXPECT_FALSE(etag_matches("W/\"a\"", "\"a\"", false));
  EXPECT_FALSE(etag_matches("\"a\"", "", true));
}

TEST(RangedResponse, FullPartialMultipartAnd416) {
  auto src = memory_source("0123456789abcdefghij");
  Representation rep{"text/plain", "\"v1\"", std::nullopt};

  auto full = ranged_response(get_with({}), src, rep);
  EXPECT_EQ(full.status, 200);
  EXPECT_EQ(drain(*full.stream), "0123456789abcdefghij");

  auto part = ranged_response(get_with({{"Range", "bytes=2-4"}}), src, rep);
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.headers.get("Content-Range"), "bytes 2-4/20");
  EXPECT_EQ(drain(*part.stream), "234");

  auto multi = ranged_response(get_with({{"Range", "bytes=0-1,-2"}}), src, rep);
  EXPECT_EQ(multi.status, 206);
  auto ct = std::string(*multi.headers.get("Content-Type"));
  ASSERT_EQ(ct.rfind("multipart/byteranges; boundary=", 0), 0u);
  const std::string boundary = ct.substr(ct.find('=') + 1);
  const std::string body = drain(*multi.stream);
  EXPECT_EQ(body.size(), *multi.stream->size());
  EXPECT_NE(body.find("Content-Range: bytes 0-1/20\r\n\r\n01\r\n"), std::string::npos);
  EXPECT_NE(body.find("Content-Range: bytes 18-19/20\r\n\r\nij\r\n--" + boundary + "--"), std::string::npos);

  auto bad = ranged_response(get_with({{"Range", "bytes=50-60"}}), src, rep);
  EXPECT_EQ(bad.status, 416);
  EXPECT_EQ(bad.headers.get("Content-Range"), "bytes */20");
}

TEST(RangedResponse, ConditionalRequests) {
  auto src = memory_source("hello");
  Representation rep{"text/plain", "\"v1\"", std::chrono::system_clock::from_time_t(1'600'000'000)};
  EXPECT_EQ(ranged_response(get_with({{"If-None-Match", "\"v1\""}}), src, rep).status, 304);
  EXPECT_EQ(ranged_response(get_with({{"If-None-Match", "\"v0\""}}), src, rep).status, 200);
  EXPECT_EQ(ranged_response(get_with({{"If-Modified-Since", "Sun, 13 Sep 2020 12:26:40 GMT"}}), src, rep).status, 304);
  EXPECT_EQ(ranged_response(get_with({{"If-Modified-Since", "Sun, 13 Sep 2020 12:26:39 GMT"}}), src, rep).status, 200);
  // If-Range with a stale validator: the whole representation, not the range.
  EXPECT_EQ(ranged_response(get_with({{"Range", "bytes=0-1"}, {"If-Range", "\"v0\""}}), src, rep).status, 200);
  EXPECT_EQ(ranged_response(get_with({{"Range", "bytes=0-1"}, {"If-Range", "\"v1\""}}), src, rep).status, 206);
}

TEST(BodyStreams, GeneratorAndFile) {
  int calls = 0;
  auto gen = generator_stream([&calls](char* out, std::size_t cap) -> std::size_t {
    if (calls++ == 3) return 0;
    out[0] = 'x';
    return 1;
  });
  EXPECT_FALSE(gen->size());
  EXPECT_EQ(drain(*gen), "xxx");
  EXPECT_THROW(file_source("/nonexistent/file"), ds::Error);
}
