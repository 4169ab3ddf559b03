// SigV4 against the worked examples of AWS's S3 documentation (Signature Version 4: header
// authentication, presigned URLs and chunked uploads), key AKIAIOSFODNN7EXAMPLE.
#include <gtest/gtest.h>

#include "api/s3/sigv4.hpp"

namespace s3 = ds::api::s3;

namespace {
const std::string kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const std::string kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
}  // namespace

TEST(S3SigV4, HeaderGetObjectExample) {
  const s3::HeaderList headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                                  {"Range", "bytes=0-9"},
                                  {"x-amz-content-sha256", kEmpty},
                                  {"x-amz-date", "20130524T000000Z"}};
  const std::string signed_headers = "host;range;x-amz-content-sha256;x-amz-date";
  std::string ch;
  ASSERT_TRUE(s3::canonical_headers(headers, signed_headers, ch));
  const auto creq =
      s3::canonical_request("GET", s3::canonical_uri("/test.txt"), s3::canonical_query(""), ch, signed_headers, kEmpty);
  EXPECT_EQ(s3::sha256_hex(creq), "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  const auto key = s3::signing_key(kSecret, "20130524", "us-east-1", "s3");
  const auto sts = s3::string_to_sign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", creq);
  EXPECT_EQ(s3::signature(key, sts), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(S3SigV4, PresignedUrlExample) {
  const std::string query =
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_"
      "request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=ignored";
  std::string ch;
  ASSERT_TRUE(s3::canonical_headers({{"Host", "examplebucket.s3.amazonaws.com"}}, "host", ch));
  const auto creq =
      s3::canonical_request("GET", s3::canonical_uri("/test.txt"), s3::canonical_query(query, "X-Amz-Signature"), ch,
                            "host", "UNSIGNED-PAYLOAD");
  const auto key = s3::signing_key(kSecret, "20130524", "us-east-1", "s3");
  const auto sts = s3::string_to_sign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", creq);
  EXPECT_EQ(s3::signature(key, sts), "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(S3SigV4, ChunkedUploadExample) {
  const s3::HeaderList headers = {{"Host", "s3.amazonaws.com"},
                                  {"x-amz-date", "20130524T000000Z"},
                                  {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                                  {"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
                                  {"Content-Encoding", "aws-chunked"},
                                  {"x-amz-decoded-content-length", "66560"},
                                  {"Content-Length", "66824"}};
  const std::string signed_headers =
      "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-"
      "storage-class";
  std::string ch;
  ASSERT_TRUE(s3::canonical_headers(headers, signed_headers, ch));
  const auto creq = s3::canonical_request("PUT", s3::canonical_uri("/examplebucket/chunkObject.txt"), "", ch,
                                          signed_headers, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
  const auto key = s3::signing_key(kSecret, "20130524", "us-east-1", "s3");
  const std::string scope = "20130524/us-east-1/s3/aws4_request";
  const auto seed = s3::signature(key, s3::string_to_sign("20130524T000000Z", scope, creq));
  EXPECT_EQ(seed, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  const auto c1 = s3::chunk_signature(key, "20130524T000000Z", scope, seed, std::string(65536, 'a'));
  EXPECT_EQ(c1, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
  const auto c2 = s3::chunk_signature(key, "20130524T000000Z", scope, c1, std::string(1024, 'a'));
  EXPECT_EQ(c2, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497");
  const auto c3 = s3::chunk_signature(key, "20130524T000000Z", scope, c2, "");
  EXPECT_EQ(c3, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9");
}

TEST(S3SigV4, CanonicalForms) {
  EXPECT_EQ(s3::canonical_uri("/s3/b/a%20b+c~d"), "/s3/b/a%20b%2Bc~d");
  EXPECT_EQ(s3::canonical_query("prefix=a/b&list-type=2&delimiter=%2F&uploads"),
            "delimiter=%2F&list-type=2&prefix=a%2Fb&uploads=");
  std::string ch;
  EXPECT_TRUE(s3::canonical_headers({{"X-A", "  a   b  "}, {"x-a", "c"}}, "x-a", ch));
  EXPECT_EQ(ch, "x-a:a b,c\n");
  EXPECT_FALSE(s3::canonical_headers({{"Host", "h"}}, "host;x-amz-date", ch));
}
