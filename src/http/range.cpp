#include "http/range.hpp"

#include <charconv>
#include <random>

#include <fmt/format.h>

namespace ds::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Parses an HTTP date (IMF-fixdate only; the obsolete forms are not sent by current clients).
std::optional<SystemTime> parse_http_date(std::string_view s) {
  std::tm tm{};
  std::string str(s);
  const char* end = strptime(str.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

RangeParse parse_range(std::string_view header, std::uint64_t size, std::vector<ByteRange>& out,
                       std::size_t max_ranges) {
  out.clear();
  header = trim(header);
  constexpr std::string_view kUnit = "bytes=";
  if (header.size() < kUnit.size() || !iequals(header.substr(0, kUnit.size()), kUnit)) return RangeParse::none;
  header.remove_prefix(kUnit.size());
  std::size_t count = 0;
  std::uint64_t total = 0;
  bool any_valid_syntax = false;
  while (!header.empty()) {
    auto comma = header.find(',');
    std::string_view spec = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    if (spec.empty()) continue;
    if (++count > max_ranges) return RangeParse::none;
    auto dash = spec.find('-');
    if (dash == std::string_view::npos) return RangeParse::none;
    std::string_view a = trim(spec.substr(0, dash));
    std::string_view b = trim(spec.substr(dash + 1));
    ByteRange r;
    if (a.empty()) {  // suffix range: last N bytes
      std::uint64_t n = 0;
      if (!parse_u64(b, n)) return RangeParse::none;
      any_valid_syntax = true;
      if (n == 0 || size == 0) continue;
      r.first = n >= size ? 0 : size - n;
      r.last = size - 1;
    } else {
      std::uint64_t first = 0;
      if (!parse_u64(a, first)) return RangeParse::none;
      std::uint64_t last = UINT64_MAX;
      if (!b.empty() && !parse_u64(b, last)) return RangeParse::none;
      if (last < first) return RangeParse::none;
      any_valid_syntax = true;
      if (first >= size) continue;
      r.first = first;
      r.last = std::min(last, size - 1);
    }
    total += r.length();
    if (total > 2 * size + 1024) return RangeParse::none;
    out.push_back(r);
  }
  if (!any_valid_syntax) return RangeParse::none;
  return out.empty() ? RangeParse::unsatisfiable : RangeParse::ok;
}

bool etag_matches(std::string_view list, std::string_view etag, bool weak_comparison) {
  if (etag.empty()) return false;
  list = trim(list);
  if (list == "*") return true;
  auto strip_weak = [](std::string_view t) {
    if (t.size() > 2 && t[0] == 'W' && t[1] == '/') t.remove_prefix(2);
    return t;
  };
  const bool etag_weak = etag.size() > 2 && etag[0] == 'W' && etag[1] == '/';
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view tag = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    const bool tag_weak = tag.size() > 2 && tag[0] == 'W' && tag[1] == '/';
    if (!weak_comparison && (tag_weak || etag_weak)) continue;
    if (strip_weak(tag) == strip_weak(etag)) return true;
  }
  return false;
}

bool not_modified(const Request& req, std::string_view etag) {
  if (auto inm = req.header("If-None-Match")) return etag_matches(*inm, etag, true);
  return false;
}

Response ranged_response(const Request& req, std::shared_ptr<const RangedSource> source, const Representation& rep) {
  const std::uint64_t size = source->size();
  Response res;
  res.headers.set("Accept-Ranges", "bytes");
  if (!rep.etag.empty()) res.headers.set("ETag", rep.etag);
  if (rep.last_modified) res.headers.set("Last-Modified", format_http_date(*rep.last_modified));

  // Conditional GET: If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
  if (auto inm = req.header("If-None-Match")) {
    if (etag_matches(*inm, rep.etag, true)) {
      res.status = 304;
      return res;
    }
  } else if (auto ims = req.header("If-Modified-Since"); ims && rep.last_modified) {
    if (auto since = parse_http_date(*ims);
        since && std::chrono::floor<std::chrono::seconds>(*rep.last_modified) <= *since) {
      res.status = 304;
      return res;
    }
  }

  std::vector<ByteRange> ranges;
  RangeParse parsed = RangeParse::none;
  if (auto range = req.header("Range"); range && (req.method == Method::get || req.method == Method::head)) {
    bool if_range_ok = true;
    if (auto if_range = req.header("If-Range")) {
      std::string_view v = trim(*if_range);
      if (!v.empty() && (v.front() == '"' || v.rfind("W/", 0) == 0)) {
        if_range_ok = etag_matches(v, rep.etag, false);
      } else if (auto date = parse_http_date(v); date && rep.last_modified) {
        if_range_ok = std::chrono::floor<std::chrono::seconds>(*rep.last_modified) <= *date;
      } else {
        if_range_ok = false;
      }
    }
    if (if_range_ok) parsed = parse_range(*range, size, ranges);
  }

  if (parsed == RangeParse::unsatisfiable) {
    res.status = 416;
    res.headers.set("Content-Range", fmt::format("bytes */{}", size));
    res.headers.set("Content-Type", "application/problem+json");
    res.body = fmt::format(
        R"({{"type":"about:blank","title":"Range not satisfiable","status":416,"detail":"the representation has {} bytes"}})",
        size);
    return res;
  }
  if (parsed == RangeParse::none) {
    res.status = 200;
    res.headers.set("Content-Type", rep.content_type);
    res.stream = source->open(0, size);
    return res;
  }
  if (ranges.size() == 1) {
    const auto& r = ranges.front();
    res.status = 206;
    res.headers.set("Content-Type", rep.content_type);
    res.headers.set("Content-Range", fmt::format("bytes {}-{}/{}", r.first, r.last, size));
    res.stream = source->open(r.first, r.length());
    return res;
  }
  // Several ranges: multipart/byteranges with a boundary that cannot occur by accident.
  std::mt19937_64 rng(std::random_device{}());
  const std::string boundary = fmt::format("ds{:016x}{:016x}", rng(), rng());
  std::vector<StreamPart> parts;
  for (const auto& r : ranges) {
    StreamPart p;
    p.prefix = fmt::format("\r\n--{}\r\nContent-Type: {}\r\nContent-Range: bytes {}-{}/{}\r\n\r\n", boundary,
                           rep.content_type, r.first, r.last, size);
    p.source = source;
    p.offset = r.first;
    p.length = r.length();
    parts.push_back(std::move(p));
  }
  res.status = 206;
  res.headers.set("Content-Type", "multipart/byteranges; boundary=" + boundary);
  res.stream = concat_stream(std::move(parts), "\r\n--" + boundary + "--\r\n");
  return res;
}

}  // namespace ds::http
