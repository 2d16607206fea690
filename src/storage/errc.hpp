#pragma once
// Storage results: RocksDB Status, errno and libpqxx exceptions are converted to this at the
// storage boundary, so nothing above storage/ sees a backend's own error type.
#include <cstdint>
#include <string>

namespace mediaspool::storage {

enum class errc : uint8_t {
  ok = 0,
  /// A read, write, fsync or rename failed (errno, RocksDB IOError); nothing was made durable.
  io_error,
  /// No space left on the device.
  no_space,
  /// A configured budget is spent (the spool holds spool.max-bytes); retry once it drains.
  over_budget,
  /// Stored data failed validation (RocksDB Corruption, a record that does not decode).
  corruption,
  /// A name or argument that is not allowed (e.g. a path that could leave the session folder).
  invalid_argument,
  /// PostgreSQL cannot be reached; retry later, nothing was committed.
  db_unavailable,
  /// PostgreSQL refused a statement; the transaction was rolled back.
  db_error,
  /// PostgreSQL refused the data itself (SQLSTATE class 22, data exception, or 23, integrity
  /// constraint): the same rows fail on every retry. The transaction was rolled back.
  db_rejected,
};

const char* to_string(errc code) noexcept;

/// Outcome of a storage call: `ok()` or a code with a human-readable message.
struct status {
  errc code = errc::ok;
  std::string message;

  bool ok() const noexcept { return code == errc::ok; }
  static status success() { return {}; }
};

/// A failed system call: no_space for ENOSPC, io_error otherwise; "<what>: <strerror>".
status errno_status(int err, const std::string& what);

} // namespace mediaspool::storage
