#pragma once
// The HTTP Range header (RFC 7233 section 2.1, bytes unit only), parsed against a file size.
// Pure: no I/O, no Beast.
#include <cstdint>
#include <string_view>

namespace mediaspool::net {

/// What to answer for a Range header.
enum class range_kind : uint8_t {
  full,          ///< no header, another unit, a syntax error or several ranges: 200 with the whole file
  partial,       ///< one satisfiable range: 206 with Content-Range
  unsatisfiable, ///< one range that starts past the end (or any range of an empty file): 416
};

struct byte_range {
  range_kind kind = range_kind::full;
  uint64_t first = 0; ///< inclusive; set for partial
  uint64_t last = 0;  ///< inclusive, clamped to size - 1; set for partial
  uint64_t length() const noexcept { return last - first + 1; }
};

/// Parses `header` ("bytes=0-99", "bytes=100-", "bytes=-500") for a file of `size` bytes.
byte_range parse_range(std::string_view header, uint64_t size) noexcept;

} // namespace mediaspool::net
