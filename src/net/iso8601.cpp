#include "net/iso8601.hpp"

#include <chrono>
#include <cstdio>

namespace mediaspool::net {

namespace {

// Howard Hinnant's days_from_civil / civil_from_days: proleptic Gregorian, no time zone tables.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) noexcept {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

struct cursor {
  std::string_view s;
  size_t i = 0;
  bool digits(int n, int& out) noexcept {
    out = 0;
    for (int k = 0; k < n; ++k, ++i) {
      if (i >= s.size() || s[i] < '0' || s[i] > '9')
        return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  }
  bool lit(char c) noexcept {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  bool done() const noexcept { return i == s.size(); }
};

} // namespace

std::optional<int64_t> parse_iso8601(std::string_view s) noexcept {
  cursor c{s};
  int y, mo, d, h, mi, se;
  if (!c.digits(4, y) || !c.lit('-') || !c.digits(2, mo) || !c.lit('-') || !c.digits(2, d))
    return std::nullopt;
  if (!c.lit('T') && !c.lit('t') && !c.lit(' '))
    return std::nullopt;
  if (!c.digits(2, h) || !c.lit(':') || !c.digits(2, mi) || !c.lit(':') || !c.digits(2, se))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
    return std::nullopt;
  int64_t micros = 0;
  if (c.lit('.') || c.lit(',')) {
    int scale = 100000, n = 0, digit;
    while (c.i < s.size() && s[c.i] >= '0' && s[c.i] <= '9') {
      c.digits(1, digit);
      micros += digit * scale;
      scale /= 10;
      if (++n > 9)
        return std::nullopt;
    }
    if (n == 0)
      return std::nullopt;
  }
  int64_t offset_s = 0;
  if (c.lit('Z') || c.lit('z')) {
  } else if (c.i < s.size() && (s[c.i] == '+' || s[c.i] == '-')) {
    int sign = s[c.i] == '-' ? -1 : 1, oh, om;
    ++c.i;
    if (!c.digits(2, oh))
      return std::nullopt;
    c.lit(':');
    if (!c.digits(2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_s = sign * (oh * 3600 + om * 60);
  }
  if (!c.done())
    return std::nullopt;
  int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - offset_s;
  return secs * 1000000 + micros;
}

std::string format_iso8601(int64_t micros) {
  int64_t secs = micros >= 0 ? micros / 1000000 : (micros - 999999) / 1000000;
  auto frac = static_cast<long>(micros - secs * 1000000);
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  auto tod = static_cast<long>(secs - days * 86400);
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  if (y < 0 || y > 9999) { // outside what parse_iso8601 reads back: the general (slower) form
    char out[80];
    std::snprintf(out, sizeof out, "%04lld-%02u-%02uT%02ld:%02ld:%02ld.%06ld+00:00",
                  static_cast<long long>(y), m, d, tod / 3600, tod / 60 % 60, tod % 60, frac);
    return out;
  }
  // Every stored timestamp passes here (two per audio chunk): fixed-width digits, no printf.
  std::string out = "0000-00-00T00:00:00.000000+00:00";
  auto put = [&out](size_t at, size_t width, long v) {
    for (size_t i = at + width; i > at; v /= 10)
      out[--i] = static_cast<char>('0' + v % 10);
  };
  put(0, 4, static_cast<long>(y));
  put(5, 2, static_cast<long>(m));
  put(8, 2, static_cast<long>(d));
  put(11, 2, tod / 3600);
  put(14, 2, tod / 60 % 60);
  put(17, 2, tod % 60);
  put(20, 6, frac);
  return out;
}

std::string now_iso8601() {
  using namespace std::chrono;
  auto us = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  return format_iso8601(us);
}

} // namespace mediaspool::net
