#include "http/multipart.hpp"

#include <algorithm>
#include <cctype>

#include "core/error.hpp"

namespace ds::http {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Value of `key` in a header's ;-separated parameters (quotes removed).
std::string header_param(std::string_view header, std::string_view key) {
  std::size_t pos = 0;
  while (pos < header.size()) {
    std::size_t semi = header.find(';', pos);
    std::string_view item =
        trim(header.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos));
    pos = semi == std::string_view::npos ? header.size() : semi + 1;
    auto eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    if (lower(trim(item.substr(0, eq))) != key) continue;
    std::string_view v = trim(item.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return {};
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  if (lower(content_type).rfind("multipart/", 0) != 0) return std::nullopt;
  std::string b = header_param(content_type, "boundary");
  if (b.empty() || b.size() > 200) return std::nullopt;
  return b;
}

std::vector<FormPart> parse_multipart(std::string_view body, std::string_view boundary) {
  const std::string delim = "--" + std::string(boundary);
  std::vector<FormPart> parts;
  std::size_t pos = body.find(delim);
  if (pos == std::string_view::npos) throw Error(ErrorCode::bad_request, "multipart body without its boundary");
  while (true) {
    pos += delim.size();
    if (body.substr(pos, 2) == "--") break;  // closing delimiter
    if (body.substr(pos, 2) != "\r\n") throw Error(ErrorCode::bad_request, "malformed multipart delimiter line");
    pos += 2;
    const std::size_t header_end = body.find("\r\n\r\n", pos);
    if (header_end == std::string_view::npos) throw Error(ErrorCode::bad_request, "multipart part without headers end");
    FormPart part;
    std::string_view headers = body.substr(pos, header_end - pos);
    std::size_t hp = 0;
    while (hp <= headers.size()) {
      std::size_t eol = headers.find("\r\n", hp);
      std::string_view line = headers.substr(hp, eol == std::string_view::npos ? std::string_view::npos : eol - hp);
      hp = eol == std::string_view::npos ? headers.size() + 1 : eol + 2;
      auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name = lower(trim(line.substr(0, colon)));
      std::string_view value = trim(line.substr(colon + 1));
      if (name == "content-disposition") {
        part.name = header_param(value, "name");
        part.filename = header_param(value, "filename");
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
    }
    const std::size_t start = header_end + 4;
    const std::size_t next = body.find("\r\n" + delim, start);
    if (next == std::string_view::npos)
      throw Error(ErrorCode::bad_request, "multipart part without a closing boundary");
    part.body = std::string(body.substr(start, next - start));
    parts.push_back(std::move(part));
    pos = next + 2;
  }
  return parts;
}

}  // namespace ds::http
