#include "synth/util.hpp"

#include <fmt/format.h>

namespace ds::synth {
namespace {
struct Civil {
  int y;
  unsigned m, d, hh, mm, ss;
};
Civil civil(const UtcTime& t) {
  const std::int64_t day = t.day();
  const std::int64_t sod = t.seconds - day * 86400;
  std::int64_t z = day + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int y = static_cast<int>(yoe) + static_cast<int>(era) * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  return {y,
          m,
          d,
          static_cast<unsigned>(sod / 3600),
          static_cast<unsigned>(sod / 60 % 60),
          static_cast<unsigned>(sod % 60)};
}
}  // namespace

UtcTime UtcTime::from_day(std::int64_t day, double seconds_of_day) {
  UtcTime t;
  const auto whole = static_cast<std::int64_t>(seconds_of_day);
  t.seconds = day * 86400 + whole;
  t.micros = static_cast<int>((seconds_of_day - static_cast<double>(whole)) * 1e6 + 0.5);
  if (t.micros >= 1'000'000) {
    t.micros -= 1'000'000;
    ++t.seconds;
  }
  return t;
}

UtcTime UtcTime::plus(double s) const {
  const double total = static_cast<double>(micros) / 1e6 + s;
  const auto whole = static_cast<std::int64_t>(total >= 0 ? total : total - 1);
  UtcTime t;
  t.seconds = seconds + whole;
  t.micros = static_cast<int>((total - static_cast<double>(whole)) * 1e6 + 0.5);
  if (t.micros >= 1'000'000) {
    t.micros -= 1'000'000;
    ++t.seconds;
  }
  return t;
}

std::string iso(const UtcTime& t, int decimals) {
  const auto c = civil(t);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", c.y, c.m, c.d, c.hh, c.mm, c.ss);
  if (decimals == 3) out += fmt::format(".{:03}", t.micros / 1000);
  if (decimals == 6) out += fmt::format(".{:06}", t.micros);
  return out + "Z";
}

std::string compact(const UtcTime& t) {
  const auto c = civil(t);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}", c.y, c.m, c.d, c.hh, c.mm, c.ss);
}

std::string date_path(const UtcTime& t) {
  const auto c = civil(t);
  return fmt::format("{:04}/{:02}/{:02}", c.y, c.m, c.d);
}

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace ds::synth
