#include "net/http_range.hpp"

#include <optional>

namespace mediaspool::net {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// Digits only, no sign, no overflow.
std::optional<uint64_t> number(std::string_view s) {
  if (s.empty() || s.size() > 19)
    return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

} // namespace

byte_range parse_range(std::string_view header, uint64_t size) noexcept {
  const byte_range full{};
  header = trim(header);
  constexpr std::string_view unit = "bytes=";
  if (header.size() < unit.size())
    return full;
  for (size_t i = 0; i < unit.size(); ++i)
    if ((header[i] | 0x20) != unit[i] && header[i] != unit[i])
      return full;
  auto spec = trim(header.substr(unit.size()));
  // Several ranges would need multipart/byteranges; serving the whole file is allowed instead.
  if (spec.find(',') != std::string_view::npos)
    return full;
  auto dash = spec.find('-');
  if (dash == std::string_view::npos)
    return full;
  auto first_text = trim(spec.substr(0, dash));
  auto last_text = trim(spec.substr(dash + 1));
  byte_range out;
  if (first_text.empty()) {
    // Suffix range: the last N bytes.
    auto n = number(last_text);
    if (!n)
      return full;
    if (*n == 0 || size == 0)
      return {range_kind::unsatisfiable, 0, 0};
    out.first = *n >= size ? 0 : size - *n;
    out.last = size - 1;
  } else {
    auto first = number(first_text);
    if (!first)
      return full;
    std::optional<uint64_t> last;
    if (!last_text.empty()) {
      last = number(last_text);
      if (!last || *last < *first)
        return full; // syntactically invalid: ignored (RFC 7233 2.1)
    }
    if (*first >= size)
      return {range_kind::unsatisfiable, 0, 0};
    out.first = *first;
    out.last = last && *last < size ? *last : size - 1;
  }
  out.kind = range_kind::partial;
  return out;
}

} // namespace mediaspool::net
