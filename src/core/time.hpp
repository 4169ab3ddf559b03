#pragma once
// Wall-clock formatting helpers (UTC only).

#include <chrono>
#include <string>

namespace ds {

using SystemTime = std::chrono::system_clock::time_point;

// ISO 8601 / RFC 3339 with milliseconds and a Z suffix: 2022-06-15T10:20:31.024Z.
std::string format_iso8601(SystemTime t);
// IMF-fixdate as HTTP wants it: Sun, 06 Nov 1994 08:49:37 GMT.
std::string format_http_date(SystemTime t);

}  // namespace ds
