#pragma once
// AWS Signature Version 4 for the S3 API: canonical requests, signing keys, request and chunk
// signatures (OpenSSL 3). Pure functions over strings, so they are unit-tested against AWS's
// published examples without a server.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ds::api::s3 {

std::string hex_encode(std::string_view bytes);
std::string sha256_hex(std::string_view data);
std::string md5_raw(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes

// URI-encodes as SigV4 asks: unreserved characters (A-Z a-z 0-9 - . _ ~) kept, everything else
// %XX upper-case; '/' kept unless `encode_slash`.
std::string aws_uri_encode(std::string_view in, bool encode_slash);

// The canonical URI of a raw (percent-encoded) request path: each byte decoded, then re-encoded
// with aws_uri_encode (S3 does not double-encode).
std::string canonical_uri(std::string_view raw_path);
// The canonical query string of a raw query: pairs decoded, re-encoded, sorted by name then value.
// `skip` names a parameter to leave out (X-Amz-Signature for presigned URLs).
std::string canonical_query(std::string_view raw_query, std::string_view skip = {});

using HeaderList = std::vector<std::pair<std::string, std::string>>;
// "name:value\n" for each signed header name (lower-case, ';'-separated list), values trimmed with
// inner runs of spaces collapsed, repeated headers joined with ','. Returns false when a signed
// header is absent from the request.
bool canonical_headers(const HeaderList& headers, std::string_view signed_headers, std::string& out);

std::string canonical_request(std::string_view method, std::string_view canonical_uri, std::string_view canonical_query,
                              std::string_view canonical_headers, std::string_view signed_headers,
                              std::string_view payload_hash);
// "AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256 of canonical request>"
std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request);
// HMAC chain over date (YYYYMMDD), region, service and "aws4_request".
std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service);
// Hex HMAC of the string to sign.
std::string signature(std::string_view signing_key, std::string_view string_to_sign);
// Signature of one chunk of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body.
std::string chunk_signature(std::string_view signing_key, std::string_view amz_date, std::string_view scope,
                            std::string_view previous_signature, std::string_view chunk);
// The same from the hex SHA-256 of the chunk (for chunks hashed as they stream in).
std::string chunk_signature_of_hash(std::string_view signing_key, std::string_view amz_date, std::string_view scope,
                                    std::string_view previous_signature, std::string_view chunk_sha256_hex);

}  // namespace ds::api::s3
