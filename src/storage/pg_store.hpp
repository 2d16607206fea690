#pragma once
// PostgreSQL access: schema migration, the batched item writes, the JSONB array refresh and the
// queries a session needs. libpqxx is blocking and a connection is not thread-safe: one pg_store
// per detached actor. Exceptions never leave this class; they become a status
// (broken_connection -> db_unavailable and a reconnect on the next call, sql_error -> db_error).
#include "storage/errc.hpp"
#include "storage/spool.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mediaspool::storage {

/// One acked item as PostgreSQL stores it (the record of truth is media_items).
struct pg_item {
  item_key key;
  uint64_t hash = 0;
  uint64_t size = 0;
  std::string element; ///< JSON text
};

/// A media_sessions row to create if it does not exist.
struct pg_session {
  std::string session_id;
  std::optional<int64_t> interview_session_id;
  std::optional<int64_t> user_id;
  std::string storage_path;
  std::optional<std::string> node_id; ///< the node opening it (scale-out); kept as is if unset
};

/// What ensure_sessions found for one session.
struct pg_ensured {
  bool existed = false;
  std::optional<int64_t> owner; ///< the row's user_id (the existing row's when it existed)
};

/// Which of a session's JSONB arrays to rebuild from media_items.
struct pg_refresh {
  std::string session_id;
  bool audio = false;
  bool frames = false;
  bool responses = false;
  /// Another of its arrays still lacks rows after this rebuild: the session stays marked
  /// arrays_stale (config/schema.sql) instead of being cleared.
  bool stale_after = false;
};

/// The lengths a write_batch's rebuild gave a session's arrays (absent: not rebuilt): the refresh
/// policy's estimate knows only the rows its own node wrote.
struct pg_rebuilt {
  std::string session_id;
  std::optional<uint64_t> audio, frames, responses;
};

/// Filters and keyset paging of list_sessions (absent = no filter).
struct pg_session_filter {
  std::optional<int64_t> user_id;
  std::optional<std::string> status;
  std::optional<int64_t> cursor; ///< only ids below this one
  int64_t limit = 50;
};

struct pg_totals {
  uint64_t chunks = 0;
  uint64_t frames = 0;
};

/// An audio chunk whose element is not processed yet: the transcriber's durable work list.
struct pg_audio_todo {
  std::string session_id;
  uint32_t index = 0;
  std::string file_path; ///< the element's file_path, relative to the media root
  std::string mime_type; ///< audio/webm (default) or audio/mp4
  double age_s = 0;      ///< since the row was inserted (about when the chunk was acked)
};

/// Who takes audio chunks off the work list, and for how long they are theirs.
struct asr_claim {
  std::string node_id;
  std::chrono::milliseconds lease{std::chrono::seconds(60)};
};

/// A session's owner: `exists` false if there is no such session.
struct pg_owner {
  bool exists = false;
  std::optional<int64_t> user_id;
};

/// One audio chunk of a session as the recording assembler needs it.
struct pg_audio_chunk {
  uint32_t index = 0;
  std::string mime_type;           ///< audio/webm or audio/mp4
  uint64_t size = 0;               ///< file_size
  std::optional<int64_t> start_us; ///< start_timestamp, microseconds since the epoch
};

/// A transcription result: a JSON object merged into the chunk's element (`element || patch`).
struct pg_transcript {
  std::string session_id;
  uint32_t index = 0;
  std::string patch; ///< e.g. {"transcription":"...","processed":true,"words":[...]}
};

class pg_store {
public:
  /// `url`: a libpq connection string or URI. Connects lazily (first call), reconnects after
  /// a broken connection.
  explicit pg_store(std::string url);
  ~pg_store();

  /// Creates or migrates the schema (config/schema.sql's statements, compiled in). Idempotent.
  status migrate();

  /// Inserts the session row unless it exists. `existed` tells which; `owner` (if given) gets the
  /// row's user_id (the existing row's, not `s.user_id`, when it existed).
  status ensure_session(const pg_session& s, bool& existed, std::optional<int64_t>* owner = nullptr);

  /// ensure_session for several sessions in ONE transaction (one commit, so a storm of inits
  /// shares its WAL flushes), taking their row locks in session order as the batcher does.
  /// `out[i]` answers `sessions[i]`; on failure nothing is committed (db_unavailable: unless the
  /// connection dropped during the commit itself).
  status ensure_sessions(const std::vector<pg_session>& sessions, std::vector<pg_ensured>& out);

  /// The node that last opened the session (empty if none was named); nullopt when there is no
  /// row, or when the question could not be answered (st tells which).
  std::optional<std::string> session_node(const std::string& session_id, status& st);

  /// Which media items (kinds 'a' and 'f') a session holds, as runs of indexes: for resume.
  std::vector<held_range> held_ranges(const std::string& session_id, status& st);

  /// One item's hash and size (a resend is compared with them); nullopt if it is not stored, or
  /// when the question could not be answered (st tells which).
  std::optional<held_item> find_item(const item_key& key, status& st);

  /// ONE transaction: creates missing session rows, inserts `items` (media: ON CONFLICT DO
  /// NOTHING, so a replay adds nothing; responses: the newest element wins), then rebuilds
  /// the arrays named in `refresh` (sorted by index; total_chunks/total_frames = array lengths;
  /// arrays not named are left as they are; every refreshed row gets last_activity = now()).
  /// Committed when this returns ok; on failure nothing is, except after db_unavailable whose
  /// message says the commit outcome is unknown: then replaying the same batch is safe.
  /// An item whose kind is not 'a'/'f'/'r' or whose element is not JSON fails the whole batch
  /// with invalid_argument before any SQL runs. If `rebuilt` is given, it receives the lengths
  /// of the rebuilt arrays (after a successful commit only).
  status write_batch(const std::vector<pg_session>& sessions, const std::vector<pg_item>& items,
                     const std::vector<pg_refresh>& refresh, std::vector<pg_rebuilt>* rebuilt = nullptr);

  /// Rebuilds all three arrays of the session, and if `complete`, sets status 'completed' and
  /// completed_at (the first completion time is kept on a replay). Returns the totals through
  /// `totals`. A session without a row is invalid_argument.
  status finalize(const std::string& session_id, bool complete, pg_totals& totals);

  /// The sessions marked arrays_stale: rows were written that their arrays do not show yet, and
  /// the node that wrote them may have stopped before rebuilding them (a start-up catches up).
  status stale_sessions(std::vector<std::string>& out);

  /// Current lengths of a session's arrays (the batcher's refresh policy starts from them).
  status array_lengths(const std::string& session_id, pg_totals& totals);

  /// SELECT 1 (readiness): ok if PostgreSQL answers on this store's connection.
  status ping();

  // -- transcription (issue 5) ------------------------------------------------------------------

  /// Up to `limit` audio chunks whose element has no `"processed": true`, oldest rows first,
  /// leaving out the keys in `skip` ("<sid>/<index>": chunks in flight or waiting for a file)
  /// and chunks another node holds a live claim on; the chunks returned are claimed for
  /// `claim.node_id` until `claim.lease` from now (asr_claims; write_transcripts releases them).
  /// `considered` (if given) receives how many chunks open to this node the query took before
  /// claiming, including any another node claimed at the same moment: below `limit` means the
  /// answer covers every chunk open to this node.
  std::vector<pg_audio_todo> unprocessed_audio(size_t limit, const std::vector<std::string>& skip,
                                               const asr_claim& claim, status& st, size_t* considered = nullptr);

  /// How many audio chunks are not processed yet (the transcription backlog).
  status count_unprocessed_audio(uint64_t& n);

  /// ONE transaction: merges each patch into its audio chunk's element. Idempotent; a chunk
  /// without a row is ignored. A patch that is not a JSON object fails with invalid_argument.
  status write_transcripts(const std::vector<pg_transcript>& results);

  // -- review queries (read-only; the review API's query actors) -----------------------------

  /// GET /api/sessions as a JSON body {"sessions":[...],"next_cursor":id|null}: newest first
  /// (id descending), rows with id < cursor; counts and duration_ms from media_items.
  std::string list_sessions(const pg_session_filter& f, status& st);

  /// The session row as a JSON object with its arrays rebuilt from media_items (always current,
  /// even between two refreshes of the row's own arrays); nullopt if there is no such session.
  std::optional<std::string> session_json(const std::string& session_id, status& st);

  /// The session's audio chunks in index order (PostgreSQL parses the start timestamps);
  /// nullopt if there is no such session.
  std::optional<std::vector<pg_audio_chunk>> audio_chunks(const std::string& session_id, status& st);

  /// Whether the session exists and its user_id (the review API's access check).
  pg_owner session_owner(const std::string& session_id, status& st);

private:
  // Holds the pqxx::connection. libpqxx 6.4 declares pqxx::connection as an alias of a class
  // template, so it cannot be forward-declared here; this wrapper keeps pqxx out of the header.
  struct connection;

  status connect();
  template <class F>
  status run(const char* what, F&& f);

  std::string url_;
  std::unique_ptr<connection> conn_;
};

} // namespace mediaspool::storage
