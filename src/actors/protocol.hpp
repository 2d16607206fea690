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
#include <optional>
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
  shared_bytes payload; ///< empty when from_spool
  /// The bytes are read back from the spool when the file is written: they would otherwise wait
  /// in memory, holding their connection's credit, behind a backlog of files (see spool_writer).
  bool from_spool = false;
  uint64_t spooled_size = 0; ///< the bytes' size when from_spool (a batch is bounded by bytes)
};

/// What a file writer reports once per batch written (one message per batch, not per file:
/// every message between these threads is a wakeup, the dearest part of a small item).
struct files_done {
  std::vector<storage::item_key> written;
  std::vector<storage::item_key> failed; ///< kept in the spool and retried
};

/// What a session learns at session_init: the runs of indexes it holds (spool and PostgreSQL,
/// possibly overlapping).
struct init_result {
  bool resumed = false;
  std::vector<storage::held_range> held;
};

/// The stored copy of one held item, which a resend is compared with.
struct stored_copy {
  bool found = false;
  uint64_t hash = 0;
  uint64_t size = 0;
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
  uint64_t delete_batches = 0; ///< RocksDB writes that deleted settled records
  uint64_t files_from_spool = 0; ///< file jobs sent without their bytes (read back from the spool)
};

/// GET /api/sessions filters (absent = no filter) and keyset paging (cursor = last id seen).
struct session_query {
  std::optional<int64_t> user_id;
  std::optional<std::string> status;
  std::optional<int64_t> cursor;
  int64_t limit = 50;
};

/// One stored media file to serve; `path` empty = no such file.
struct media_file {
  std::string path;      ///< absolute, built by media_store::path_of
  std::string mime_type; ///< audio/webm, audio/mp4 or image/jpeg
};

/// Which media file: kind 'a' (audio chunk) or 'f' (frame) of a session.
struct media_file_query {
  std::string session_id;
  char kind = 'a';
  uint32_t index = 0;
};

/// One live session for GET /api/debug/actors.
struct session_debug {
  std::string sid;             ///< empty before session_init
  std::string phase;           ///< fresh, loading, ready, leaving
  uint64_t actor_id = 0;
  size_t unpaired_halves = 0;  ///< metadata or blobs waiting for their partner
  uint64_t unpaired_bytes = 0; ///< blob bytes among them
  size_t spooling_items = 0;   ///< complete pairs at the spool writer, not yet durable
  uint64_t spooling_bytes = 0;
  uint64_t acked = 0;
  double age_s = 0;
};

/// GET /api/sessions/{sid}/recording.webm: the assembled file, or why there is none.
struct recording_file {
  enum class problem { none, no_session, no_audio };
  std::string path;         ///< absolute; empty unless problem::none
  std::string etag;         ///< fingerprint of the chunks it holds (changes when chunks arrive)
  problem missing = problem::none;
  std::string message;      ///< for the client when missing
};

/// One audio chunk to transcribe (issue 5): what the dispatcher hands a transcriber worker.
struct asr_job {
  std::string session_id;
  uint32_t index = 0;
  std::string path;        ///< absolute path of the chunk file
  std::string header_path; ///< the session's chunk 0: its WebM header serves continuation chunks
  std::string mime_type;   ///< audio/webm or audio/mp4
};

/// What a transcriber worker answers for an asr_job.
struct asr_result {
  std::string session_id;
  uint32_t index = 0;
  bool retry = false;  ///< not done (file not there yet, engine unavailable): try again later
  std::string reason;  ///< why, for retry; the error text for an undecodable chunk
  std::string text;    ///< the transcription ("" for silence or an error)
  std::string patch;   ///< the JSON merged into the chunk's element (empty for retry)
  double audio_seconds = 0;
  double cpu_seconds = 0; ///< decode + recognition CPU time of the worker thread
};

/// The transcription dispatcher's numbers (for logs, /metrics and tests).
struct asr_stats {
  uint64_t backlog = 0;   ///< audio chunks not processed, as PostgreSQL last counted them
  uint64_t in_flight = 0; ///< jobs at workers or results waiting for their commit
  uint64_t waiting = 0;   ///< chunks that failed for now (file not there yet) and wait to retry
  uint64_t done = 0;      ///< chunks transcribed since start
  uint64_t failed = 0;    ///< chunks marked processed with an error since start
  double audio_seconds = 0;
  double cpu_seconds = 0;
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
using admit = caf::atom_constant<caf::atom("admit")>;
using lookup = caf::atom_constant<caf::atom("lookup")>;
using claim = caf::atom_constant<caf::atom("claim")>;
using replaced = caf::atom_constant<caf::atom("replaced")>;
using closed = caf::atom_constant<caf::atom("closed")>;
using drain = caf::atom_constant<caf::atom("drain")>;
using expire = caf::atom_constant<caf::atom("expire")>;
using recover = caf::atom_constant<caf::atom("recover")>;
using stats = caf::atom_constant<caf::atom("stats")>;
using retry = caf::atom_constant<caf::atom("retry")>;
using probe = caf::atom_constant<caf::atom("probe")>;
using list = caf::atom_constant<caf::atom("list")>;
using detail = caf::atom_constant<caf::atom("detail")>;
using mediafile = caf::atom_constant<caf::atom("mediafile")>;
using recording = caf::atom_constant<caf::atom("recording")>;
using owner = caf::atom_constant<caf::atom("owner")>;
using debug = caf::atom_constant<caf::atom("debug")>;
using asrjob = caf::atom_constant<caf::atom("asrjob")>;
using asrdone = caf::atom_constant<caf::atom("asrdone")>;
using asrsaved = caf::atom_constant<caf::atom("asrsaved")>;
using asrpush = caf::atom_constant<caf::atom("asrpush")>;
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
  caf::reacts_to<atom::filedone, files_done>,
  caf::reacts_to<atom::dbdone, std::vector<storage::item_key>>,
  caf::replies_to<atom::end, std::string>::with<end_result>,
  caf::replies_to<atom::recover>::with<uint64_t>,
  caf::replies_to<atom::stats>::with<spool_stats>,
  caf::reacts_to<atom::flush>,
  caf::reacts_to<atom::retry>>;

/// Writes media files atomically; answers the sender with one `filedone` per batch written.
using file_writer_actor = caf::typed_actor<
  caf::reacts_to<atom::store, std::vector<file_job>, spool_writer_actor>,
  caf::reacts_to<atom::flush>>;

/// Coalesces item rows into batched PostgreSQL transactions and keeps the JSONB arrays fresh.
using db_batcher_actor = caf::typed_actor<
  caf::reacts_to<atom::rows, std::vector<storage::pg_item>, spool_writer_actor>,
  caf::replies_to<atom::finalize, std::string>::with<end_result>,
  caf::reacts_to<atom::flush>,
  caf::reacts_to<atom::tick>,
  // Transcription results merged into their chunks' elements; the sender is told
  // (asrsaved, keys) after the commit.
  caf::reacts_to<atom::asrdone, std::vector<storage::pg_transcript>, caf::actor>>;

/// What GET /readyz reports; empty `problems` means ready.
struct readiness {
  bool db = false;    ///< PostgreSQL answered SELECT 1
  bool spool = false; ///< the spool is open
  bool disk = false;  ///< free space of the spool and media roots above the threshold
  std::vector<std::string> problems; ///< one human-readable line per failed check
};

/// Checks readiness on demand (detached: it blocks on PostgreSQL and statvfs).
using health_probe_actor = caf::typed_actor<caf::replies_to<atom::probe>::with<readiness>>;

/// Answers session_init: creates or finds the session and lists what it holds.
/// admit: should this session's upgrade be taken now? (false: the node runs late and the session
/// is new here; asked before an upgrade, so a load balancer can try another node). The int64_t
/// is the asker's deadline (steady clock, ns): past it the answer is true without a query.
/// lookup: the stored hash and size of one held item (the spool's copy, else PostgreSQL's).
using session_loader_actor = caf::typed_actor<
  caf::replies_to<atom::init, session_init>::with<init_result>,
  caf::replies_to<atom::admit, std::string, int64_t>::with<bool>,
  caf::replies_to<atom::lookup, storage::item_key>::with<stored_copy>,
  caf::reacts_to<atom::flush>>; // to itself: serve the inits waiting (one transaction)

/// Answers the review API's read-only queries (detached, own PostgreSQL connection).
/// list/detail reply with a JSON body; detail replies "" for an unknown session.
using query_actor = caf::typed_actor<
  caf::replies_to<atom::list, session_query>::with<std::string>,
  caf::replies_to<atom::detail, std::string>::with<std::string>,
  caf::replies_to<atom::mediafile, media_file_query>::with<media_file>,
  caf::replies_to<atom::owner, std::string>::with<storage::pg_owner>>;

/// Assembles a session's audio chunks into one WebM/Opus file, cached until chunks change
/// (detached: FFmpeg decoding and encoding, file I/O, PostgreSQL).
using recording_actor = caf::typed_actor<
  caf::replies_to<atom::recording, std::string>::with<recording_file>>;

} // namespace mediaspool

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::recording_file)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::session_debug)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<caf::actor>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::storage::pg_owner)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::session_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::media_file)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::media_file_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::asr_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::asr_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::asr_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::transcription)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mediaspool::storage::pg_transcript>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::spool_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::file_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mediaspool::file_job>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::files_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::init_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::stored_copy)
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
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mediaspool::readiness)
