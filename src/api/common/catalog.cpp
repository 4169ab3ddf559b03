#include "api/common/catalog.hpp"

#include <openssl/evp.h>

#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/time.hpp"
#include "http/message.hpp"

namespace ds::api::common {

std::string product_download_url(const std::string& base, const catalog::Product& p) {
  return base + "/odata/v1/Products(" + p.id + ")/$value";
}

std::string node_url(const std::string& base, const catalog::Product& p, const std::string& path) {
  std::string url = base + "/odata/v1/Products(" + p.id + ")/Nodes(" + http::url_encode(p.name) + ")";
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const std::string seg = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!seg.empty()) url += "/Nodes(" + http::url_encode(seg) + ")";
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return url + "/$value";
}

const catalog::Asset* quicklook_asset(const catalog::Product& p) {
  if (p.quicklook.empty()) return nullptr;
  for (const auto& a : p.assets) {
    if (a.key == p.quicklook) return &a;
  }
  return nullptr;
}

std::string quicklook_url(const std::string& base, const catalog::Product& p) {
  return quicklook_asset(p) ? base + "/odata/v1/Assets(" + p.id + ")/$value" : std::string();
}

std::string s3_href(const catalog::Product& p, const std::string& path) {
  if (!path.empty() && path.front() == '/') return "s3:/" + path;  // outside the product: /<bucket>/<key>
  return "s3://" + p.bucket + "/" + p.key + (path.empty() ? "" : "/" + path);
}

std::string asset_url(const std::string& base, const catalog::Product& p, const catalog::Asset& a) {
  if (a.key == p.quicklook) return quicklook_url(base, p);
  return node_url(base, p, a.path);
}

std::string collection_id(const catalog::CollectionRegistry* registry, const catalog::Product& p) {
  if (registry) {
    if (const auto* c = registry->for_product(p)) return c->id;
  }
  std::string id = p.collection;
  std::transform(id.begin(), id.end(), id.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return id;
}

std::string encode_token(const nlohmann::json& state) {
  const std::string text = state.dump();
  std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  out.resize(static_cast<std::size_t>(n));
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

nlohmann::json decode_token(std::string_view token, const std::string& parameter) {
  auto bad = [&] {
    return Error(ErrorCode::invalid_parameter, "the paging token is not one this server issued", parameter);
  };
  if (token.empty() || token.size() > 8192) throw bad();
  std::string b64(token);
  for (char& c : b64) {
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
    else if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=')
      throw bad();
  }
  while (b64.size() % 4 != 0) b64 += '=';
  std::string out(b64.size() / 4 * 3 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  if (n < 0) throw bad();
  std::size_t len = static_cast<std::size_t>(n);
  for (auto it = b64.rbegin(); it != b64.rend() && *it == '='; ++it) --len;  // DecodeBlock counts padding
  out.resize(len);
  try {
    auto j = nlohmann::json::parse(out);
    if (!j.is_object()) throw bad();
    return j;
  } catch (const nlohmann::json::exception&) {
    throw bad();
  }
}

nlohmann::json cursor_json(const catalog::Cursor& c) {
  nlohmann::json values = nlohmann::json::array();
  for (const auto& v : c.values) {
    if (std::holds_alternative<catalog::Time>(v)) {
      values.push_back(
          std::chrono::duration_cast<std::chrono::microseconds>(std::get<catalog::Time>(v).time_since_epoch()).count());
    } else if (std::holds_alternative<bool>(v)) {
      values.push_back(std::get<bool>(v));
    } else if (std::holds_alternative<std::string>(v)) {
      values.push_back(std::get<std::string>(v));
    } else {
      values.push_back(nullptr);
    }
  }
  return {{"v", values}, {"id", c.id}};
}

catalog::Cursor cursor_from_json(const nlohmann::json& j, const std::vector<catalog::SortKey>& sort,
                                 const std::string& parameter) {
  auto bad = [&] {
    return Error(ErrorCode::invalid_parameter, "the paging token does not match this query", parameter);
  };
  if (!j.contains("v") || !j.contains("id") || !j["v"].is_array() || !j["id"].is_string() ||
      j["v"].size() != sort.size()) {
    throw bad();
  }
  catalog::Cursor c;
  c.id = j["id"].get<std::string>();
  for (std::size_t i = 0; i < sort.size(); ++i) {
    const auto& v = j["v"][i];
    switch (sort[i].field) {
      case catalog::Field::sensing_start:
      case catalog::Field::sensing_end:
      case catalog::Field::publication:
      case catalog::Field::modification:
        if (!v.is_number_integer()) throw bad();
        c.values.emplace_back(catalog::Time(
            std::chrono::duration_cast<catalog::Time::duration>(std::chrono::microseconds(v.get<std::int64_t>()))));
        break;
      case catalog::Field::online:
        if (!v.is_boolean()) throw bad();
        c.values.emplace_back(v.get<bool>());
        break;
      default:
        if (!v.is_string()) throw bad();
        c.values.emplace_back(v.get<std::string>());
    }
  }
  return c;
}

std::string format_micros(catalog::Time t) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  std::string base = format_iso8601(secs);  // ...T12:18:40.000Z
  base.resize(base.size() - 5);             // drop ".000Z"
  return fmt::format("{}.{:06}Z", base, ((us % 1'000'000) + 1'000'000) % 1'000'000);
}

std::string format_rfc3339(catalog::Time t) {
  std::string s = format_iso8601(t);  // always milliseconds
  if (s.size() > 5 && s.compare(s.size() - 5, 5, ".000Z") == 0) s = s.substr(0, s.size() - 5) + "Z";
  return s;
}

namespace {
class ObjectStream final : public http::BodyStream {
 public:
  ObjectStream(std::unique_ptr<storage::ObjectReader> r, std::uint64_t size) : r_(std::move(r)), size_(size) {}
  std::optional<std::uint64_t> size() const override { return size_; }
  std::size_t read(char* out, std::size_t capacity) override { return r_->read(out, capacity); }

 private:
  std::unique_ptr<storage::ObjectReader> r_;
  std::uint64_t size_;
};

class ObjectSource final : public http::RangedSource {
 public:
  explicit ObjectSource(std::shared_ptr<const storage::OpenedObject> object) : object_(std::move(object)) {}
  std::uint64_t size() const override { return object_->info().size; }
  std::unique_ptr<http::BodyStream> open(std::uint64_t offset, std::uint64_t length) const override {
    return std::make_unique<ObjectStream>(object_->read(offset, length), length);
  }

 private:
  std::shared_ptr<const storage::OpenedObject> object_;
};
}  // namespace

std::shared_ptr<http::RangedSource> object_source(std::shared_ptr<const storage::OpenedObject> object) {
  return std::make_shared<ObjectSource>(std::move(object));
}

nlohmann::json attribute_json(const catalog::AttributeValue& v) {
  switch (v.index()) {
    case 0:
      return std::get<std::string>(v);
    case 1:
      return std::get<std::int64_t>(v);
    case 2:
      return std::get<double>(v);
    case 3:
      return format_rfc3339(std::get<catalog::Time>(v));
    default:
      return std::get<bool>(v);
  }
}

}  // namespace ds::api::common
