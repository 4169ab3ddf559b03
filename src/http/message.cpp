#include "http/message.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace ds::http {

std::string_view method_name(Method m) {
  switch (m) {
    case Method::get:
      return "GET";
    case Method::head:
      return "HEAD";
    case Method::post:
      return "POST";
    case Method::put:
      return "PUT";
    case Method::patch:
      return "PATCH";
    case Method::delete_:
      return "DELETE";
    case Method::options:
      return "OPTIONS";
    case Method::other:
      return "OTHER";
  }
  return "OTHER";
}

Method parse_method(std::string_view n) {
  if (n == "GET") return Method::get;
  if (n == "HEAD") return Method::head;
  if (n == "POST") return Method::post;
  if (n == "PUT") return Method::put;
  if (n == "PATCH") return Method::patch;
  if (n == "DELETE") return Method::delete_;
  if (n == "OPTIONS") return Method::options;
  return Method::other;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  // ASCII case folding (header names, tokens): no locale lookup per character.
  const auto fold = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c; };
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i] && fold(a[i]) != fold(b[i])) return false;
  }
  return true;
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& [k, v] : items_) {
    if (iequals(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

void Headers::set(std::string_view name, std::string value) {
  erase(name);
  items_.emplace_back(std::string(name), std::move(value));
}

void Headers::erase(std::string_view name) {
  std::erase_if(items_, [&](const Item& i) { return iequals(i.first, name); });
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string url_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && c == '+') ? ' ' : c;
  }
  return out;
}

std::string url_encode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

QueryParams::QueryParams(std::string_view raw) {
  while (!raw.empty()) {
    auto amp = raw.find('&');
    std::string_view pair = raw.substr(0, amp);
    raw = (amp == std::string_view::npos) ? std::string_view{} : raw.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) {
      items_.emplace_back(url_decode(pair, true), std::string());
    } else {
      items_.emplace_back(url_decode(pair.substr(0, eq), true), url_decode(pair.substr(eq + 1), true));
    }
  }
}

std::optional<std::string> QueryParams::get(std::string_view name) const {
  for (const auto& [k, v] : items_) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::optional<std::string> QueryParams::get_ci(std::string_view name) const {
  for (const auto& [k, v] : items_) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

const std::string& Request::param(std::string_view name) const {
  auto it = params.find(name);
  if (it == params.end()) throw std::logic_error("route has no path parameter " + std::string(name));
  return it->second;
}

void split_target(Request& req) {
  const auto q = req.target.find('?');
  if (q == std::string::npos) {
    req.path = req.target;
    req.query_string.clear();
  } else {
    req.path = req.target.substr(0, q);
    req.query_string = req.target.substr(q + 1);
  }
  // An absolute-form target (http://host/path) is allowed by HTTP/1.1; route on its path.
  if (req.path.rfind("http://", 0) == 0 || req.path.rfind("https://", 0) == 0) {
    auto slash = req.path.find('/', req.path.find("//") + 2);
    req.path = slash == std::string::npos ? "/" : req.path.substr(slash);
  }
  req.query = QueryParams(req.query_string);
}

Response Response::json(const nlohmann::json& value, int status, std::string_view content_type) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", std::string(content_type));
  r.body = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response Response::text(std::string body, std::string_view content_type, int status) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", std::string(content_type));
  r.body = std::move(body);
  return r;
}

Response Response::empty(int status) {
  Response r;
  r.status = status;
  return r;
}

}  // namespace ds::http
