#pragma once
// The error codes of PROTOCOL.md section 5, one to one. Plain enum (no CAF) so the pure codec
// and pairing can use it; protocol.hpp registers it with CAF as an error category.
#include <cstdint>

namespace mediaspool {

enum class ec : uint8_t {
  none = 0,
  /// A text frame that is not valid JSON.
  bad_json,
  /// Valid JSON that is not a valid message (missing field, wrong type, unknown type, bad value).
  bad_message,
  /// A message other than session_init before the session is initialised.
  not_initialized,
  /// A message or binary frame naming another session than the connection's.
  session_mismatch,
  /// A payload or message above the configured limit.
  too_large,
  /// Metadata `size` differs from the binary payload's length.
  size_mismatch,
  /// The same index was already stored with other bytes; the stored item stays.
  conflict,
  /// A metadata or blob half waited longer than the orphan timeout for its partner.
  orphan_expired,
  /// Missing or invalid credentials.
  unauthorized,
  /// Valid credentials that do not own the session.
  forbidden,
  /// Too many messages per second.
  rate_limited,
  /// A budget is spent (memory, spool, database); retry later.
  overloaded,
  /// A server-side failure; the item was not acked.
  internal,
};

/// The wire name of a code ("bad_json", ...).
const char* to_string(ec code) noexcept;

} // namespace mediaspool
