#pragma once
// The parameters of a write_batch, built and validated before any SQL runs so that a malformed
// item is reported as invalid_argument instead of a database error. The JSON text a batch of
// items is inserted from (jsonb_to_recordset's argument) is written by appending instead of
// through nlohmann's DOM. Each element is already JSON (the codec writes
// it), so it goes in verbatim after a validating pass that builds nothing: parsing every element
// into a std::map tree and dumping it again was ~2/3 of the DB thread's CPU at 1 KiB items.
#include "storage/errc.hpp"
#include "storage/pg_store.hpp"

#include <map>
#include <string>
#include <vector>

namespace mediaspool::storage {

/// Writes `[{"session_id":…,"kind":…,"idx":…,"hash":…,"size":…,"element":…},…]` for `items` in
/// order, the hash as the BIGINT it is stored as. invalid_argument (naming the item) when an
/// element is not one JSON value or a session id is not UTF-8; `out` is then unspecified.
status item_rows_json(const std::vector<const pg_item*>& items, std::string& out);

/// A session's refresh requests in one batch, merged into one UPDATE.
struct merged_refresh {
  unsigned mask = 0;       ///< bit i: arrays[i] of pg_store.cpp (audio, frames, responses)
  bool stale_after = true; ///< false if any request says the session is caught up
};

/// The refresh requests merged per session, in session order (the lock order of every writer).
std::map<std::string, merged_refresh> merge_refresh(const std::vector<pg_refresh>& refresh);

/// The JSON parameters of a write_batch; an empty one is not sent.
struct batch_payload {
  std::string sessions;  ///< rows to insert into media_sessions
  std::string media;     ///< audio and frame rows
  std::string responses; ///< response rows, one per key (the newest)
  std::string stale;     ///< ids of the sessions with rows that `refresh` does not catch up
};

/// Builds every parameter. invalid_argument for an unknown kind or an element that is not JSON;
/// throws (nlohmann) on a session field that is not UTF-8.
status build_payload(const std::vector<pg_session>& sessions, const std::vector<pg_item>& items,
                     const std::map<std::string, merged_refresh>& refresh, batch_payload& out);

} // namespace mediaspool::storage
