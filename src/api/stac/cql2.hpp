#pragma once
// CQL2 (OGC 21-065) for the STAC filter extension. The text encoding is parsed into the JSON
// encoding, so one compiler (compile.hpp) turns either into a catalog::Query expression.

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ds::api::stac {

// Longest CQL2 text accepted, in bytes, and deepest nesting of parentheses and operators.
inline constexpr std::size_t kMaxCql2Length = 64 * 1024;
inline constexpr int kMaxCql2Depth = 64;

// Parses CQL2 text into CQL2 JSON: `eo:cloud_cover < 10 AND S_INTERSECTS(geometry, POLYGON((...)))`
// becomes {"op":"and","args":[{"op":"<","args":[{"property":"eo:cloud_cover"},10]}, ...]}.
// Geometries (WKT, BBOX(...)) become GeoJSON / {"bbox":[...]}, TIMESTAMP/DATE/INTERVAL become
// {"timestamp"}/{"date"}/{"interval"}. Keywords and function names are case-insensitive; function
// names come out lower case. Throws ds::Error(invalid_parameter, `parameter`) naming the offending
// token and its 1-based character position (also in the error's "position" detail).
nlohmann::json parse_cql2_text(std::string_view text, const char* parameter = "filter");

}  // namespace ds::api::stac
