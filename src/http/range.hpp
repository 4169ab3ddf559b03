#pragma once
// Conditional requests (ETag / If-None-Match / If-Range / If-Modified-Since) and byte ranges
// (single, multi-range as multipart/byteranges, 416) over any RangedSource.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"
#include "http/body.hpp"
#include "http/message.hpp"

namespace ds::http {

struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
  std::uint64_t length() const { return last - first + 1; }
  bool operator==(const ByteRange&) const = default;
};

enum class RangeParse { none, ok, unsatisfiable };

// Parses a Range header value against a representation of `size` bytes (RFC 9110 §14.1.2):
// "bytes=0-499", "bytes=500-", "bytes=-500", comma lists. A header in another unit or with a
// syntax error yields `none` (the full representation is sent, as the RFC asks); a valid header
// none of whose ranges overlaps the content yields `unsatisfiable`. More than `max_ranges`
// ranges, or ranges adding up to more than twice the size, are treated as `none` (abuse guard).
RangeParse parse_range(std::string_view header, std::uint64_t size, std::vector<ByteRange>& out,
                       std::size_t max_ranges = 32);

// Strong ETag comparison against an If-None-Match / If-Match list ("*" matches anything).
bool etag_matches(std::string_view header_list, std::string_view etag, bool weak_comparison);

struct Representation {
  std::string content_type = "application/octet-stream";
  std::string etag;                         // quoted, e.g. "\"5f1c-19a\""; empty if none
  std::optional<SystemTime> last_modified;  // sent as Last-Modified when set
};

// Answers a GET/HEAD of `source` honouring If-None-Match (304), If-Modified-Since (304),
// If-Range and Range (206 single part, 206 multipart/byteranges, 416 with Content-Range */size).
// Sets Accept-Ranges, ETag, Last-Modified, Content-Type. The body is streamed, never buffered.
Response ranged_response(const Request& req, std::shared_ptr<const RangedSource> source, const Representation& rep);

// True when the request's If-None-Match matches `etag` (caller answers 304 Not Modified).
bool not_modified(const Request& req, std::string_view etag);

}  // namespace ds::http
