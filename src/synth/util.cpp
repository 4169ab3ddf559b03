#include "synth/util.hpp"

#include "core/text.hpp"
#include "synth/world.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace ds::synth {
namespace {
constexpr double kDeg = 3.14159265358979323846 / 180;
struct Civil {
  int y;
  unsigned m, d, hh, mm, ss;
};
Civil civil(const UtcTime& t) {
  const std::int64_t day = t.day();
  const std::int64_t sod = t.seconds - day * 86400;
  Civil c{};
  civil_from_days(day, c.y, c.m, c.d);
  c.hh = static_cast<unsigned>(sod / 3600);
  c.mm = static_cast<unsigned>(sod / 60 % 60);
  c.ss = static_cast<unsigned>(sod % 60);
  return c;
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

// NOAA's solar position algorithm.
void sun_position(const UtcTime& t, double lon, double lat, double& zenith, double& azimuth) {
  const double jd = static_cast<double>(t.seconds) / 86400.0 + 2440587.5;
  const double jc = (jd - 2451545) / 36525;
  const double l0 = std::fmod(280.46646 + jc * (36000.76983 + jc * 0.0003032), 360);
  const double m = 357.52911 + jc * (35999.05029 - 0.0001537 * jc);
  const double e = 0.016708634 - jc * (0.000042037 + 0.0000001267 * jc);
  const double c = std::sin(m * kDeg) * (1.914602 - jc * (0.004817 + 0.000014 * jc)) +
                   std::sin(2 * m * kDeg) * (0.019993 - 0.000101 * jc) + std::sin(3 * m * kDeg) * 0.000289;
  const double true_long = l0 + c;
  const double omega = 125.04 - 1934.136 * jc;
  const double app_long = true_long - 0.00569 - 0.00478 * std::sin(omega * kDeg);
  const double obliq0 = 23 + (26 + (21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813))) / 60) / 60;
  const double obliq = obliq0 + 0.00256 * std::cos(omega * kDeg);
  const double decl = std::asin(std::sin(obliq * kDeg) * std::sin(app_long * kDeg)) / kDeg;
  const double y = std::tan(obliq / 2 * kDeg) * std::tan(obliq / 2 * kDeg);
  const double eq_time = 4 / kDeg *
                         (y * std::sin(2 * l0 * kDeg) - 2 * e * std::sin(m * kDeg) +
                          4 * e * y * std::sin(m * kDeg) * std::cos(2 * l0 * kDeg) -
                          0.5 * y * y * std::sin(4 * l0 * kDeg) - 1.25 * e * e * std::sin(2 * m * kDeg));
  const double minutes = static_cast<double>(((t.seconds % 86400) + 86400) % 86400) / 60.0;
  double tst = std::fmod(minutes + eq_time + 4 * lon, 1440);
  double ha = tst / 4 < 0 ? tst / 4 + 180 : tst / 4 - 180;
  const double cz =
      std::sin(lat * kDeg) * std::sin(decl * kDeg) + std::cos(lat * kDeg) * std::cos(decl * kDeg) * std::cos(ha * kDeg);
  zenith = std::acos(std::clamp(cz, -1.0, 1.0)) / kDeg;
  const double az_den = std::cos(lat * kDeg) * std::sin(zenith * kDeg);
  double az = 0;
  if (std::abs(az_den) > 1e-9) {
    double a = ((std::sin(lat * kDeg) * std::cos(zenith * kDeg)) - std::sin(decl * kDeg)) / az_den;
    a = std::clamp(a, -1.0, 1.0);
    az = ha > 0 ? std::fmod(std::acos(a) / kDeg + 180, 360) : std::fmod(540 - std::acos(a) / kDeg, 360);
  }
  azimuth = az;
}

}  // namespace ds::synth
