#pragma once
// ISO 8601 timestamps as the browser sends them ("2025-12-17T09:21:15.134Z") and as the original
// server stored them (Python's isoformat: "2025-12-17T09:21:15.134000+00:00").
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mediaspool::net {

/// Microseconds since the Unix epoch, or nullopt if `s` is not an ISO 8601 date-time.
/// Accepts 'T' or ' ' as separator, 0-9 fraction digits, and Z, +HH:MM, +HHMM or no zone (UTC).
std::optional<int64_t> parse_iso8601(std::string_view s) noexcept;

/// "YYYY-MM-DDTHH:MM:SS.ffffff+00:00" in UTC.
std::string format_iso8601(int64_t micros);

/// The current time in that format.
std::string now_iso8601();

} // namespace mediaspool::net
