#pragma once
// The spool's RocksDB record format: keys "i/<session>/<kind>/<big-endian index>" (so key order is
// session, kind, numeric index) and values with the hash, file name, JSONB element and where the
// payload is. Pure encoding, no I/O; spool.cpp is its only user.
#include "storage/payload_log.hpp"
#include "storage/spool.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <rocksdb/slice_transform.h>

namespace mediaspool::storage::record_format {

inline constexpr std::string_view records_prefix = "i/";
inline constexpr std::string_view records_end = "i0"; // '0' follows '/': bounds every "i/" key

/// "i/<session_id>/": the prefix of every key of one session.
std::string session_prefix(const std::string& session_id);

/// The big-endian index at the end of every record key.
inline constexpr size_t key_index_bytes = 4;
/// Bytes of a key after the session prefix: kind, '/', big-endian index.
inline constexpr size_t key_suffix_bytes = 1 + 1 + key_index_bytes;

std::string encode_key(const item_key& key);

/// Decoded from the end: a session id could contain '/', the fixed-size suffix cannot be confused.
std::optional<item_key> decode_key(std::string_view raw);

/// For RocksDB's memtable insert hints: a record key without its index ("i/<session>/<kind>/"),
/// so each session's kind keeps its own insert position. Other keys are out of its domain.
std::shared_ptr<const rocksdb::SliceTransform> key_without_index();

/// Writes the record of `e` whose payload is at `loc` into `out` (version 2).
void encode_value(const spool_entry& e, const payload_locator& loc, std::string& out);

/// The header of a record; the views point into the value they were decoded from. A version-1
/// record (written by older servers) has its payload inline; a version-2 record a locator into
/// the payload log.
struct header_view {
  uint64_t hash = 0;
  std::string_view file_name;
  std::string_view element;
  std::string_view payload; ///< version 1 only
  payload_locator loc;      ///< version 2 only
  bool inline_payload = false;

  uint64_t payload_size() const { return inline_payload ? payload.size() : loc.length; }
};

/// nullopt for a value that does not decode (unknown version, cut short).
std::optional<header_view> decode_value(std::string_view raw);

} // namespace mediaspool::storage::record_format
