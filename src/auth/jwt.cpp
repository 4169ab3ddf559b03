#include "auth/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>

#include "auth/crypto.hpp"
#include "core/error.hpp"

namespace ds::auth {
namespace {

[[noreturn]] void fail(const std::string& what) { throw Error(ErrorCode::internal, "signing keys: " + what); }

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct SigDeleter {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
struct BnDeleter {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

std::string bn_bytes(const BIGNUM* bn) {
  std::string out(32, '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), 32) != 32) fail("bad EC coordinate");
  return out;
}

std::string coordinate(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) fail("cannot read the public key");
  std::unique_ptr<BIGNUM, BnDeleter> guard(bn);
  return bn_bytes(bn);
}

}  // namespace

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct SigningKeys::Key {
  std::string kid;
  std::int64_t created = 0;
  std::int64_t retired = 0;  // 0 = active
  std::string pem;
  Pkey pkey;
};

SigningKeys::SigningKeys(std::filesystem::path file, std::chrono::seconds rotation, std::chrono::seconds keep_retired)
    : file_(std::move(file)), rotation_(rotation), keep_retired_(keep_retired) {
  std::unique_lock lock(mutex_);
  std::error_code ec;
  if (std::filesystem::exists(file_, ec)) {
    load_locked();
  }
  if (keys_.empty()) {
    lock.unlock();
    rotate();
  }
}

SigningKeys::~SigningKeys() = default;

void SigningKeys::load_locked() {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(read_file(file_));
  } catch (const nlohmann::json::exception& e) {
    fail(file_.string() + " is not valid JSON: " + e.what());
  }
  std::vector<std::shared_ptr<Key>> keys;
  for (const auto& k : doc.value("keys", nlohmann::json::array())) {
    auto key = std::make_shared<Key>();
    key->kid = k.at("kid").get<std::string>();
    key->created = k.at("created").get<std::int64_t>();
    key->retired = k.value("retired", std::int64_t{0});
    key->pem = k.at("pem").get<std::string>();
    std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(key->pem.data(), static_cast<int>(key->pem.size())));
    key->pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key->pkey) fail("key " + key->kid + " in " + file_.string() + " is not a PEM private key");
    keys.push_back(std::move(key));
  }
  // The active key (retired == 0, newest) goes last.
  std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
    if ((a->retired == 0) != (b->retired == 0)) return a->retired != 0;
    return a->created < b->created;
  });
  keys_ = std::move(keys);
}

void SigningKeys::save_locked() const {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& k : keys_)
    arr.push_back({{"kid", k->kid}, {"created", k->created}, {"retired", k->retired}, {"pem", k->pem}});
  write_file_atomic(file_, nlohmann::json{{"alg", "ES256"}, {"keys", arr}}.dump(2));
}

void SigningKeys::rotate() {
  Pkey pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!pkey) fail("cannot generate a P-256 key");
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr)) fail("PEM write");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  auto key = std::make_shared<Key>();
  key->kid = random_token(12);
  key->created = unix_now();
  key->pem.assign(data, static_cast<std::size_t>(len));
  key->pkey = std::move(pkey);

  std::unique_lock lock(mutex_);
  const auto now = unix_now();
  for (auto& k : keys_) {
    if (k->retired == 0) k->retired = now;
  }
  std::erase_if(keys_, [&](const auto& k) { return k->retired != 0 && k->retired + keep_retired_.count() < now; });
  keys_.push_back(std::move(key));
  save_locked();
}

bool SigningKeys::maybe_rotate(std::int64_t now) {
  if (rotation_.count() <= 0) return false;
  {
    std::shared_lock lock(mutex_);
    if (!keys_.empty() && keys_.back()->created + rotation_.count() > now) return false;
  }
  rotate();
  return true;
}

std::string SigningKeys::active_kid() const {
  std::shared_lock lock(mutex_);
  return keys_.back()->kid;
}

std::string SigningKeys::sign(const nlohmann::json& claims) const {
  std::shared_ptr<Key> key;
  {
    std::shared_lock lock(mutex_);
    key = keys_.back();
  }
  const std::string header =
      base64url_encode(nlohmann::json{{"alg", "ES256"}, {"typ", "JWT"}, {"kid", key->kid}}.dump());
  const std::string input = header + "." + base64url_encode(claims.dump());
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  std::size_t der_len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1)
    fail("signing failed");
  std::string der(der_len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &der_len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    fail("signing failed");
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, SigDeleter> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (!sig) fail("signing failed");
  // JWS wants the raw r || s (32 bytes each), not DER.
  return input + "." + base64url_encode(bn_bytes(ECDSA_SIG_get0_r(sig.get())) + bn_bytes(ECDSA_SIG_get0_s(sig.get())));
}

void SigningKeys::reload_if_unknown(const std::string& kid) const {
  std::unique_lock lock(mutex_);
  for (const auto& k : keys_) {
    if (k->kid == kid) return;
  }
  const auto now = unix_now();
  if (now == last_reload_) return;
  last_reload_ = now;
  try {
    const_cast<SigningKeys*>(this)->load_locked();
  } catch (const Error&) {
    // Keep the keys we have; the token is then simply unknown.
  }
}

std::optional<nlohmann::json> SigningKeys::verify(std::string_view token, std::int64_t now, std::string& why,
                                                  std::int64_t leeway_s) const {
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    why = "malformed token";
    return std::nullopt;
  }
  std::string header_raw, payload_raw, sig_raw;
  if (!base64url_decode(token.substr(0, dot1), header_raw) ||
      !base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), payload_raw) ||
      !base64url_decode(token.substr(dot2 + 1), sig_raw)) {
    why = "malformed token";
    return std::nullopt;
  }
  nlohmann::json header, claims;
  try {
    header = nlohmann::json::parse(header_raw);
    claims = nlohmann::json::parse(payload_raw);
  } catch (const nlohmann::json::exception&) {
    why = "malformed token";
    return std::nullopt;
  }
  if (!header.is_object() || !claims.is_object()) {
    why = "malformed token";
    return std::nullopt;
  }
  if (header.value("alg", "") != "ES256") {
    why = "unsupported signature algorithm";
    return std::nullopt;
  }
  const std::string kid = header.contains("kid") && header["kid"].is_string() ? header["kid"].get<std::string>() : "";
  std::shared_ptr<Key> key;
  for (int attempt = 0; attempt < 2 && !key; ++attempt) {
    {
      std::shared_lock lock(mutex_);
      for (const auto& k : keys_) {
        if (k->kid == kid) key = k;
      }
    }
    if (!key && attempt == 0) reload_if_unknown(kid);
  }
  if (!key) {
    why = "unknown signing key";
    return std::nullopt;
  }
  if (sig_raw.size() != 64) {
    why = "invalid signature";
    return std::nullopt;
  }
  std::unique_ptr<ECDSA_SIG, SigDeleter> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig_raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig_raw.data()) + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    why = "invalid signature";
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) {
    why = "invalid signature";
    return std::nullopt;
  }
  const std::string_view input = token.substr(0, dot2);
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  const bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key->pkey.get()) == 1 &&
                  EVP_DigestVerify(ctx.get(), der, static_cast<std::size_t>(der_len),
                                   reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  OPENSSL_free(der);
  if (!ok) {
    why = "invalid signature";
    return std::nullopt;
  }
  if (!claims.contains("exp") || !claims["exp"].is_number()) {
    why = "token has no expiry";
    return std::nullopt;
  }
  if (claims["exp"].get<double>() + static_cast<double>(leeway_s) <= static_cast<double>(now)) {
    why = "token expired";
    return std::nullopt;
  }
  if (claims.contains("nbf") && claims["nbf"].is_number() &&
      claims["nbf"].get<double>() > static_cast<double>(now + leeway_s)) {
    why = "token not yet valid";
    return std::nullopt;
  }
  return claims;
}

nlohmann::json SigningKeys::jwks() const {
  nlohmann::json keys = nlohmann::json::array();
  std::shared_lock lock(mutex_);
  for (auto it = keys_.rbegin(); it != keys_.rend(); ++it) {
    const auto& k = *it;
    keys.push_back({{"kid", k->kid},
                    {"kty", "EC"},
                    {"alg", "ES256"},
                    {"use", "sig"},
                    {"crv", "P-256"},
                    {"x", base64url_encode(coordinate(k->pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X))},
                    {"y", base64url_encode(coordinate(k->pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y))}});
  }
  return {{"keys", keys}};
}

}  // namespace ds::auth
