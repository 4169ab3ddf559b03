#pragma once
// Small helpers shared by the mission generators: UTC time formatting and XML text escaping.

#include <cstdint>
#include <string>
#include <string_view>
#include "core/text.hpp"

namespace ds::synth {

// Seconds since 1970-01-01T00:00:00Z, with a fractional part in microseconds.
struct UtcTime {
  std::int64_t seconds = 0;
  int micros = 0;
  static UtcTime from_day(std::int64_t day, double seconds_of_day);
  UtcTime plus(double seconds) const;
  std::int64_t day() const { return seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400; }
};

// 2022-06-15T10:06:01.024Z (`decimals` = 0, 3 or 6).
std::string iso(const UtcTime& t, int decimals = 3);
// 20220615T100601
std::string compact(const UtcTime& t);
// 2022/06/15 (object-store date path)
std::string date_path(const UtcTime& t);

// Sun zenith and azimuth (degrees; azimuth clockwise from north) at a place and time.
void sun_position(const UtcTime& t, double lon, double lat, double& zenith, double& azimuth);

using ds::xml_escape;  // core/text.hpp

}  // namespace ds::synth
