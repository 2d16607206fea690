#pragma once
// The JSON text a batch of items is inserted from (jsonb_to_recordset's argument), written by
// appending instead of through nlohmann's DOM. Each element is already JSON (the codec writes
// it), so it goes in verbatim after a validating pass that builds nothing: parsing every element
// into a std::map tree and dumping it again was ~2/3 of the DB thread's CPU at 1 KiB items.
#include "storage/errc.hpp"
#include "storage/pg_store.hpp"

#include <string>
#include <vector>

namespace mediaspool::storage {

/// Writes `[{"session_id":…,"kind":…,"idx":…,"hash":…,"size":…,"element":…},…]` for `items` in
/// order, the hash as the BIGINT it is stored as. invalid_argument (naming the item) when an
/// element is not one JSON value or a session id is not UTF-8; `out` is then unspecified.
status item_rows_json(const std::vector<const pg_item*>& items, std::string& out);

} // namespace mediaspool::storage
