#pragma once
// THE actor protocol: every message type and atom the actors exchange, and the typed handles of
// the stable actors. A catalogue, not logic (the one planned exception to the size guide).
// All types here are local-only (never serialized), so they are whitelisted as unsafe message
// types instead of getting inspect() overloads.
#include "actors/wire.hpp"
#include "storage/pg_store.hpp"
#include "storage/spool.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mediaspool {

// -- message structs ----------------------------------------------------------

/// A complete, paired item on its way into the spool.
struct spool_item {
  storage::item_key key;
  uint64_t hash = 0;
  std::string file_name; ///< empty for responses
  std::string element;
  shared_bytes payload;
  caf::actor session; ///< told `durable` or `spoolfail`; may be null (recovery)
};

/// A file to write; the file writer answers `filedone`.
struct file_job {
  storage::item_key key;
  std::string file_name;
  shared_bytes payload;
};

/// What a session learns at session_init.
struct init_result {
  bool resumed = false;
  std::vector<storage::held_item> held;
};

/// Totals of a finished session (session_end_ack).
struct end_result {
  uint64_t total_chunks = 0;
  uint64_t total_frames = 0;
};

/// Per-actor numbers for introspection and tests.
struct spool_stats {
  uint64_t commits = 0;       ///< group commits (fsyncs)
  uint64_t items = 0;         ///< items made durable
  uint64_t pending = 0;       ///< durable items not yet both file and row
  uint64_t records = 0;       ///< records in the spool
  uint64_t recovered = 0;     ///< records re-driven at start
};

// -- atoms --------------------------------------------------------------------

namespace atom {
using append = caf::atom_constant<caf::atom("append")>;
using durable = caf::atom_constant<caf::atom("durable")>;
using spoolfail = caf::atom_constant<caf::atom("spoolfail")>;
using store = caf::atom_constant<caf::atom("store")>;
using filedone = caf::atom_constant<caf::atom("filedone")>;
using rows = caf::atom_constant<caf::atom("rows")>;
using dbdone = caf::atom_constant<caf::atom("dbdone")>;
using end = caf::atom_constant<caf::atom("end")>;
using finalize = caf::atom_constant<caf::atom("finalize")>;
using init = caf::atom_constant<caf::atom("init")>;
using claim = caf::atom_constant<caf::atom("claim")>;
using replaced = caf::atom_constant<caf::atom("replaced")>;
using closed = caf::atom_constant<caf::atom("closed")>;
using expire = caf::atom_constant<caf::atom("expire")>;
using recover = caf::atom_constant<caf::atom("recover")>;
using stats = caf::atom_constant<caf::atom("stats")>;
using retry = caf::atom_constant<caf::atom("retry")>;
using flush = caf::flush_atom;
using tick = caf::tick_atom;
using ok = caf::ok_atom;
} // namespace atom

/// Actor-level errors carry a PROTOCOL code (ec) in CAF's error type.
inline caf::error make_error(ec code) {
  return caf::error{static_cast<uint8_t>(code), caf::atom("mediaspool")};
}

/// The PROTOCOL code of an actor error; internal for errors of other categories.
inline ec to_ec(const caf::error& err) {
  if (err.category() == caf::atom("mediaspool"))
    return static_cast<ec>(err.code());
  return ec::internal;
}

// -- typed handles ------------------------------------------------------------

/// Group-commits items into the spool, acks sessions after the fsync, drives files and rows,
/// deletes records when both are done.
using spool_writer_actor = caf::typed_actor<
  caf::reacts_to<atom::append, spool_item>,
  caf::reacts_to<atom::filedone, storage::item_key, bool>,
  caf::reacts_to<atom::dbdone, std::vector<storage::item_key>>,
  caf::replies_to<atom::end, std::string>::with<end_result>,
  caf::replies_to<atom::recover>::with<uint64_t>,
  caf::replies_to<atom::stats>::with<spool_stats>,
  caf::reacts_to<atom::flush>,
  caf::reacts_to<atom::retry>>;

/// Writes media files atomically; answers the sender with `filedone`.
using file_writer_actor = caf::typed_actor<
  caf::reacts_to<atom::store, file_job, spool_writer_actor>,
  caf::reacts_to<atom::flush>>;

/// Coalesces item rows into batched PostgreSQL transactions and keeps the JSONB arrays fresh.
using db_batcher_actor = caf::typed_actor<
  caf::reacts_to<atom::rows, std::vector<storage::pg_item>, spool_writer_actor>,
  caf::replies_to<atom::finalize, std::string>::with<end_result>,
  caf::reacts_to<atom::flush>,
  caf::reacts_to<atom::tick>>;

/// Answers session_init: creates or finds the session and lists what it holds.
using session_loader_actor = caf::typed_actor<
  caf::replies_to<atom::init, session_init>::with<init_result>>;

} // namespace mediaspool

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::spool_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::file_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::init_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::end_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::spool_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::storage::item_key)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mediaspool::storage::item_key>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mediaspool::storage::pg_item>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::session_init)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::item_metadata)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::response_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::session_end)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::blob)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::error_reply)
