#pragma once
// The write-ahead spool: every acked item lives here (RocksDB, fsynced) until it is both a file
// and a PostgreSQL row. Thread-safety: all methods may be called from any thread (RocksDB is
// thread-safe); the spool_writer actor is the only writer in the server.
#include "storage/errc.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rocksdb {
class DB;
}

namespace mediaspool::storage {

/// Identity of one item: session, kind ('a' audio, 'f' frame, 'r' response) and index.
struct item_key {
  std::string session_id;
  char kind = 'a';
  uint32_t index = 0;

  friend bool operator==(const item_key& x, const item_key& y) noexcept {
    return x.index == y.index && x.kind == y.kind && x.session_id == y.session_id;
  }
  friend bool operator<(const item_key& x, const item_key& y) noexcept {
    if (x.session_id != y.session_id)
      return x.session_id < y.session_id;
    if (x.kind != y.kind)
      return x.kind < y.kind;
    return x.index < y.index;
  }
};

/// What the spool stores for one item. The payload is borrowed for the duration of a write.
struct spool_entry {
  item_key key;
  /// payload_checksum() of the payload: conflict detection on resume, and the checksum its bytes
  /// are read back against (a wrong one makes them unreadable).
  uint64_t hash = 0;
  std::string file_name;  ///< "chunk_3.webm", "frame_7.jpg"; empty for responses
  std::string element;    ///< the JSONB array element (JSON text)
  const char* payload = nullptr;
  size_t payload_size = 0;
};

/// A record read back from the spool (recovery): owns its payload.
struct spool_record {
  item_key key;
  uint64_t hash = 0;
  std::string file_name;
  std::string element;
  std::string payload;
};

/// What a session already holds, for resume and dedupe.
struct held_item {
  char kind = 'a';
  uint32_t index = 0;
  uint64_t hash = 0;
  uint64_t size = 0;
};

/// Indexes first..last of one kind that a session holds (resume).
struct held_range {
  char kind = 'a';
  uint32_t first = 0;
  uint32_t last = 0;
};

struct spool_options {
  std::string path;
  /// RocksDB write buffer (records only; payloads are in the payload log).
  size_t write_buffer_bytes = 8u << 20;
  /// Payload bytes per segment file of the payload log before a new one starts.
  uint64_t payload_segment_bytes = 64u << 20;
  /// Payload bytes the spool may hold (items durable but not yet both file and row, e.g. while
  /// PostgreSQL is down); a write beyond it fails with over_budget. 0: no budget but the disk.
  uint64_t max_payload_bytes = 0;
};

class spool {
public:
  /// Opens (creating if needed) the spool at `opts.path`. On failure returns nullptr and sets `st`.
  static std::unique_ptr<spool> open(const spool_options& opts, status& st);

  ~spool();
  spool(const spool&) = delete;
  spool& operator=(const spool&) = delete;

  /// Writes all entries in ONE WriteBatch with sync=true. When this returns ok, every entry
  /// survives kill -9 and power loss. On failure none may be trusted (the caller acks nothing).
  status write_durable(const std::vector<spool_entry>& entries);

  /// Removes records in one batch without sync: a delete lost in a crash only causes an
  /// idempotent replay at the next start.
  status remove(const std::vector<item_key>& keys);

  /// Calls `fn` for records in key order (start-up recovery): those after `after` (all if null),
  /// at most `limit` of them, so a large spool can be re-driven page by page with bounded memory.
  status scan(const std::function<void(spool_record&&)>& fn, const item_key* after = nullptr,
              size_t limit = static_cast<size_t>(-1)) const;

  /// Reads one record's payload into `out` (a file writer whose job left its bytes here rather
  /// than in memory). A record that is gone is an invalid_argument: its item settled already.
  status read_payload(const item_key& key, std::string& out) const;

  /// Keys, hashes and payload sizes of one session's records, without reading payloads' bytes
  /// into the result (resume).
  std::vector<held_item> held(const std::string& session_id, status& st) const;

  /// The sessions with at least one record, sorted (start-up: the only session folders a crash
  /// of this node can have left temp files in). From the keys held in memory.
  std::vector<std::string> session_ids() const;

  /// After a write error closed the database (write_durable, remove): tries to open it again, at
  /// most once per 200 ms (the next write tries too). Ok if it is open.
  status reopen_if_closed();

  /// False while a write error keeps the database closed.
  bool is_open() const noexcept;

  /// How many times the database was reopened after a write error. A reopen finds the records
  /// on disk, which may include one whose commit reported failure (its bytes reached the WAL):
  /// the writer re-drives those it does not know.
  uint64_t reopen_count() const noexcept;

  /// Number of records (exact count kept in memory since open, plus what open found).
  uint64_t record_count() const noexcept;

  /// Payload bytes of the records held (what spool_options::max_payload_bytes bounds).
  uint64_t payload_bytes() const noexcept;

private:
  spool() = default;
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace mediaspool::storage
