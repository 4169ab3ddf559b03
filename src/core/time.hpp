#pragma once
// Wall-clock formatting helpers (UTC only).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ds {

using SystemTime = std::chrono::system_clock::time_point;

// ISO 8601 / RFC 3339 with milliseconds and a Z suffix: 2022-06-15T10:20:31.024Z.
std::string format_iso8601(SystemTime t);
// Parses RFC 3339 / ISO 8601: a date ("2022-06-17", midnight UTC) or a date-time with optional
// fractional seconds (to the nanosecond) and an optional zone ("Z", "+02:00", "-0130"; none = UTC).
// 'T', 't' or ' ' separate date and time; the basic forms without '-'/':' are accepted too.
// Returns nullopt for anything else, including out-of-range fields.
std::optional<SystemTime> parse_iso8601(std::string_view text);

// IMF-fixdate as HTTP wants it: Sun, 06 Nov 1994 08:49:37 GMT.
std::string format_http_date(SystemTime t);

}  // namespace ds
