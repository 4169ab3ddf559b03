#include "catalog/model.hpp"

#include <openssl/evp.h>

#include <fmt/format.h>

namespace ds::catalog {

const char* attribute_type_name(AttributeType t) {
  switch (t) {
    case AttributeType::string:
      return "String";
    case AttributeType::integer:
      return "Integer";
    case AttributeType::double_:
      return "Double";
    case AttributeType::datetime:
      return "DateTimeOffset";
    case AttributeType::boolean:
      return "Boolean";
  }
  return "String";
}

AttributeType Attribute::type() const {
  switch (value.index()) {
    case 0:
      return AttributeType::string;
    case 1:
      return AttributeType::integer;
    case 2:
      return AttributeType::double_;
    case 3:
      return AttributeType::datetime;
    default:
      return AttributeType::boolean;
  }
}

const Attribute* Product::attribute(const std::string& attribute_name) const {
  for (const auto& a : attributes) {
    if (a.name == attribute_name) return &a;
  }
  return nullptr;
}

std::string product_uuid(const std::string& name) {
  // Namespace: a fixed UUID of this project; name: the product name.
  static const unsigned char ns[16] = {0x6f, 0x1c, 0x2a, 0x0e, 0x8d, 0x4b, 0x4c, 0x55,
                                       0x9a, 0x1e, 0x3b, 0x7d, 0x52, 0x60, 0x19, 0xa4};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr);
  EVP_DigestUpdate(ctx, ns, sizeof ns);
  EVP_DigestUpdate(ctx, name.data(), name.size());
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x50);
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);
  std::string hex;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) hex += '-';
    hex += fmt::format("{:02x}", digest[i]);
  }
  return hex;
}

}  // namespace ds::catalog
