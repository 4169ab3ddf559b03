#include "ingest/support.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <cpl_error.h>
#include <cpl_minixml.h>
#include <fmt/format.h>

#include "core/error.hpp"
#include "core/time.hpp"

namespace ds::ingest::detail {

void fail(const std::string& file, const std::string& what) {
  throw Error(ErrorCode::unprocessable, fmt::format("{}: {}", file, what));
}

namespace {

// Collects GDAL's messages for the scope of one call instead of reading the global last error.
class ErrorCapture {
 public:
  ErrorCapture() { CPLPushErrorHandlerEx(&ErrorCapture::handler, this); }
  ~ErrorCapture() { CPLPopErrorHandler(); }
  ErrorCapture(const ErrorCapture&) = delete;
  ErrorCapture& operator=(const ErrorCapture&) = delete;
  const std::string& message() const { return message_; }

 private:
  static void CPL_STDCALL handler(CPLErr, CPLErrorNum, const char* msg) {
    auto* self = static_cast<ErrorCapture*>(CPLGetErrorHandlerUserData());
    if (self != nullptr && self->message_.empty() && msg != nullptr) self->message_ = msg;
  }
  std::string message_;
};

void collect(const CPLXMLNode* node, std::string_view name, bool first, std::vector<const CPLXMLNode*>& out) {
  for (const CPLXMLNode* n = node; n != nullptr; n = n->psNext) {
    if (n->eType != CXT_Element) continue;
    if (name == n->pszValue) {
      out.push_back(n);
      if (first) return;
    }
    collect(n->psChild, name, first, out);
    if (first && !out.empty()) return;
  }
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

XmlDoc::XmlDoc(const std::string& text, std::string file) : file_(std::move(file)) {
  ErrorCapture capture;
  root_ = CPLParseXMLString(text.c_str());
  if (root_ == nullptr) {
    fail(file_, "not well-formed XML" + (capture.message().empty() ? "" : " (" + capture.message() + ")"));
  }
  CPLStripXMLNamespace(root_, nullptr, TRUE);
}

XmlDoc::~XmlDoc() {
  if (root_ != nullptr) CPLDestroyXMLNode(root_);
}

XmlDoc::XmlDoc(XmlDoc&& other) noexcept : root_(other.root_), file_(std::move(other.file_)) { other.root_ = nullptr; }

XmlDoc& XmlDoc::operator=(XmlDoc&& other) noexcept {
  if (this != &other) {
    if (root_ != nullptr) CPLDestroyXMLNode(root_);
    root_ = other.root_;
    file_ = std::move(other.file_);
    other.root_ = nullptr;
  }
  return *this;
}

const CPLXMLNode* XmlDoc::find(std::string_view name, const CPLXMLNode* under) const {
  std::vector<const CPLXMLNode*> out;
  collect(under != nullptr ? under->psChild : root_, name, true, out);
  return out.empty() ? nullptr : out.front();
}

std::vector<const CPLXMLNode*> XmlDoc::find_all(std::string_view name, const CPLXMLNode* under) const {
  std::vector<const CPLXMLNode*> out;
  collect(under != nullptr ? under->psChild : root_, name, false, out);
  return out;
}

std::optional<std::string> XmlDoc::text(std::string_view name, const CPLXMLNode* under) const {
  const CPLXMLNode* node = find(name, under);
  if (node == nullptr) return std::nullopt;
  std::string t = node_text(node);
  if (t.empty()) return std::nullopt;
  return t;
}

std::string XmlDoc::required(std::string_view name, const CPLXMLNode* under) const {
  auto t = text(name, under);
  if (!t) fail(file_, fmt::format("missing element <{}>", name));
  return *t;
}

std::string node_text(const CPLXMLNode* node) {
  if (node == nullptr) return {};
  std::string out;
  for (const CPLXMLNode* c = node->psChild; c != nullptr; c = c->psNext) {
    if (c->eType == CXT_Text && c->pszValue != nullptr) out += c->pszValue;
  }
  return trim(out);
}

std::string node_attr(const CPLXMLNode* node, const char* name) {
  if (node == nullptr) return {};
  for (const CPLXMLNode* c = node->psChild; c != nullptr; c = c->psNext) {
    if (c->eType == CXT_Attribute && std::string_view(c->pszValue) == name) return node_text(c);
  }
  return {};
}

std::optional<catalog::Time> parse_time(std::string_view text) {
  std::string s = trim(text);
  if (s.rfind("UTC=", 0) == 0) s = s.substr(4);
  return parse_iso8601(s);
}

catalog::Time require_time(std::string_view text, const std::string& file, const std::string& what) {
  auto t = parse_time(text);
  if (!t) fail(file, fmt::format("{} is not a timestamp: '{}'", what, text));
  return *t;
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::string s = trim(text);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view text) {
  std::string s = trim(text);
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::vector<double> parse_numbers(std::string_view text) {
  std::vector<double> out;
  std::string s(text);
  for (char& c : s) {
    if (c == ',') c = ' ';
  }
  const char* p = s.c_str();
  while (*p != '\0') {
    while (*p != '\0' && std::isspace(static_cast<unsigned char>(*p))) ++p;
    if (*p == '\0') break;
    char* end = nullptr;
    double v = std::strtod(p, &end);
    if (end == p) break;
    out.push_back(v);
    p = end;
  }
  return out;
}

namespace {

using Ring = std::vector<std::pair<double, double>>;

// Sutherland-Hodgman against the half plane x <= limit (keep_left) or x >= limit.
Ring clip(const Ring& ring, double limit, bool keep_left) {
  Ring out;
  auto inside = [&](const std::pair<double, double>& p) { return keep_left ? p.first <= limit : p.first >= limit; };
  for (std::size_t i = 0; i < ring.size(); ++i) {
    const auto& a = ring[i];
    const auto& b = ring[(i + 1) % ring.size()];
    bool ia = inside(a), ib = inside(b);
    if (ia) out.push_back(a);
    if (ia != ib) {
      double t = (limit - a.first) / (b.first - a.first);
      out.emplace_back(limit, a.second + t * (b.second - a.second));
    }
  }
  return out;
}

std::string ring_text(Ring ring) {
  if (ring.front() != ring.back()) ring.push_back(ring.front());
  std::string out = "(";
  for (std::size_t i = 0; i < ring.size(); ++i) {
    if (i > 0) out += ", ";
    out += fmt::format("{} {}", ring[i].first, ring[i].second);
  }
  return out + ")";
}

}  // namespace

std::string footprint_wkt(std::vector<std::pair<double, double>> ring, const std::string& file) {
  if (ring.size() > 1 && ring.front() == ring.back()) ring.pop_back();
  if (ring.size() < 3) fail(file, "footprint has fewer than 3 points");
  for (const auto& [lon, lat] : ring) {
    if (!(lon >= -180.0 && lon <= 360.0 && lat >= -90.0 && lat <= 90.0)) {
      fail(file, fmt::format("footprint point ({}, {}) is not a lon/lat coordinate", lon, lat));
    }
  }
  bool crosses = false;
  for (std::size_t i = 0; i < ring.size(); ++i) {
    if (std::abs(ring[(i + 1) % ring.size()].first - ring[i].first) > 180.0) crosses = true;
  }
  if (!crosses) return "POLYGON(" + ring_text(ring) + ")";
  // Move the western half by +360 so the ring is continuous, then cut it at 180.
  for (auto& p : ring) {
    if (p.first < 0) p.first += 360.0;
  }
  Ring east = clip(ring, 180.0, true);
  Ring west = clip(ring, 180.0, false);
  for (auto& p : west) p.first -= 360.0;
  std::vector<Ring> parts;
  if (east.size() >= 3) parts.push_back(east);
  if (west.size() >= 3) parts.push_back(west);
  if (parts.size() == 1) return "POLYGON(" + ring_text(parts.front()) + ")";
  std::string out = "MULTIPOLYGON(";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += ", ";
    out += "(" + ring_text(parts[i]) + ")";
  }
  return out + ")";
}

std::map<std::string, std::uint64_t> list_product(const storage::ObjectStore& store, const std::string& bucket,
                                                  const std::string& product_key) {
  std::map<std::string, std::uint64_t> files;
  storage::ListRequest request;
  request.prefix = product_key + "/";
  for (;;) {
    auto page = store.list(bucket, request);
    for (const auto& object : page.objects) files[object.key.substr(request.prefix.size())] = object.size;
    if (!page.truncated) break;
    request.continuation = page.next_continuation;
  }
  return files;
}

std::string read_text(const storage::ObjectStore& store, const std::string& bucket, const std::string& key) {
  if (!store.head(bucket, key)) fail(key, "file is missing");
  auto reader = store.get(bucket, key);
  std::string text;
  text.reserve(static_cast<std::size_t>(reader->size()));
  char buffer[65536];
  for (;;) {
    std::size_t n = reader->read(buffer, sizeof buffer);
    if (n == 0) break;
    text.append(buffer, n);
  }
  return text;
}

std::string last_segment(std::string_view key) {
  while (!key.empty() && key.back() == '/') key.remove_suffix(1);
  auto slash = key.rfind('/');
  return std::string(slash == std::string_view::npos ? key : key.substr(slash + 1));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void Attributes::set(const std::string& name, catalog::AttributeValue v) {
  for (auto& a : list_) {
    if (a.name == name) {
      a.value = std::move(v);
      return;
    }
  }
  list_.push_back(catalog::Attribute{name, std::move(v)});
}

void Attributes::str(const std::string& name, std::optional<std::string> v) {
  if (v && !v->empty()) set(name, std::move(*v));
}
void Attributes::integer(const std::string& name, std::optional<std::int64_t> v) {
  if (v) set(name, *v);
}
void Attributes::dbl(const std::string& name, std::optional<double> v) {
  if (v) set(name, *v);
}
void Attributes::time(const std::string& name, std::optional<catalog::Time> v) {
  if (v) set(name, *v);
}
void Attributes::boolean(const std::string& name, std::optional<bool> v) {
  if (v) set(name, *v);
}

void finish_product(catalog::Product& product, const std::string& bucket, const std::string& product_key,
                    const std::map<std::string, std::uint64_t>& files) {
  product.name = last_segment(product_key);
  product.id = catalog::product_uuid(product.name);
  product.bucket = bucket;
  product.key = product_key;
  product.content_length = 0;
  for (const auto& [path, size] : files) product.content_length += size;
  std::vector<catalog::Asset> kept;
  for (auto& asset : product.assets) {
    auto it = files.find(asset.path);
    if (it == files.end()) continue;
    asset.size = it->second;
    kept.push_back(std::move(asset));
  }
  product.assets = std::move(kept);
  bool has_quicklook = false;
  for (const auto& a : product.assets) has_quicklook = has_quicklook || a.key == product.quicklook;
  if (!has_quicklook) product.quicklook.clear();
}

}  // namespace ds::ingest::detail
