#include "api/s3/sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <map>

#include "core/error.hpp"
#include "http/message.hpp"

namespace ds::api::s3 {
namespace {

std::string digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), out, &n, md, nullptr) != 1) {
    throw Error(ErrorCode::internal, "digest failed");
  }
  return std::string(reinterpret_cast<const char*>(out), n);
}

std::string trim_collapse(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string hex_encode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string sha256_hex(std::string_view data) { return hex_encode(digest(EVP_sha256(), data)); }
std::string md5_raw(std::string_view data) { return digest(EVP_md5(), data); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &n)) {
    throw Error(ErrorCode::internal, "HMAC failed");
  }
  return std::string(reinterpret_cast<const char*>(out), n);
}

std::string aws_uri_encode(std::string_view in, bool encode_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() * 3 / 2);
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && !encode_slash)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string canonical_uri(std::string_view raw_path) {
  if (raw_path.empty()) return "/";
  return aws_uri_encode(http::url_decode(raw_path), false);
}

std::string canonical_query(std::string_view raw_query, std::string_view skip) {
  std::vector<std::pair<std::string, std::string>> items;
  while (!raw_query.empty()) {
    const auto amp = raw_query.find('&');
    const std::string_view pair = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view{} : raw_query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string name = http::url_decode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? std::string() : http::url_decode(pair.substr(eq + 1));
    if (!skip.empty() && name == skip) continue;
    items.emplace_back(aws_uri_encode(name, true), aws_uri_encode(value, true));
  }
  std::sort(items.begin(), items.end());
  std::string out;
  for (const auto& [n, v] : items) {
    if (!out.empty()) out += '&';
    out += n;
    out += '=';
    out += v;
  }
  return out;
}

bool canonical_headers(const HeaderList& headers, std::string_view signed_headers, std::string& out) {
  out.clear();
  while (!signed_headers.empty()) {
    const auto semi = signed_headers.find(';');
    const std::string name = lower(signed_headers.substr(0, semi));
    signed_headers = semi == std::string_view::npos ? std::string_view{} : signed_headers.substr(semi + 1);
    std::string value;
    bool found = false;
    for (const auto& [n, v] : headers) {
      if (!http::iequals(n, name)) continue;
      if (found) value += ',';
      value += trim_collapse(v);
      found = true;
    }
    if (!found) return false;
    out += name;
    out += ':';
    out += value;
    out += '\n';
  }
  return true;
}

std::string canonical_request(std::string_view method, std::string_view canonical_uri, std::string_view canonical_query,
                              std::string_view canonical_headers, std::string_view signed_headers,
                              std::string_view payload_hash) {
  std::string out;
  out.reserve(256 + canonical_headers.size());
  out.append(method).append("\n");
  out.append(canonical_uri).append("\n");
  out.append(canonical_query).append("\n");
  out.append(canonical_headers).append("\n");
  out.append(signed_headers).append("\n");
  out.append(payload_hash);
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request) {
  std::string out = "AWS4-HMAC-SHA256\n";
  out.append(amz_date).append("\n").append(scope).append("\n").append(sha256_hex(canonical_request));
  return out;
}

std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service) {
  const std::string k_date = hmac_sha256("AWS4" + std::string(secret), date);
  const std::string k_region = hmac_sha256(k_date, region);
  const std::string k_service = hmac_sha256(k_region, service);
  return hmac_sha256(k_service, "aws4_request");
}

std::string signature(std::string_view signing_key, std::string_view string_to_sign) {
  return hex_encode(hmac_sha256(signing_key, string_to_sign));
}

std::string chunk_signature(std::string_view signing_key, std::string_view amz_date, std::string_view scope,
                            std::string_view previous_signature, std::string_view chunk) {
  return chunk_signature_of_hash(signing_key, amz_date, scope, previous_signature, sha256_hex(chunk));
}

std::string chunk_signature_of_hash(std::string_view signing_key, std::string_view amz_date, std::string_view scope,
                                    std::string_view previous_signature, std::string_view chunk_sha256_hex) {
  static const std::string empty_hash = sha256_hex("");
  std::string sts = "AWS4-HMAC-SHA256-PAYLOAD\n";
  sts.append(amz_date).append("\n").append(scope).append("\n").append(previous_signature).append("\n");
  sts.append(empty_hash).append("\n").append(chunk_sha256_hex);
  return signature(signing_key, sts);
}

}  // namespace ds::api::s3
