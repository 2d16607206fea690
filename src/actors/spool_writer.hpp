#pragma once
// The spool writer: the only writer of the spool. It group-commits every item that arrived while
// the previous fsync ran into ONE WriteBatch with sync=true, then tells each session its item is
// durable (the ack), hands the item to a file writer and to the DB batcher, and deletes the
// record once both are done. At start it re-drives what the spool still holds (recovery).
// Blocking (fsync): spawn it detached.
#include "actors/protocol.hpp"
#include "actors/server_metrics.hpp"
#include "actors/storage_health.hpp"

#include <deque>

#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace mediaspool {

struct spool_writer_state {
  static inline const char* name = "spool_writer";

  struct pending_item {
    file_job job;      ///< kept until the file is written, for retries
    uint64_t held = 0; ///< payload bytes this item keeps in memory for its file
    bool file_done = false;
    bool db_done = false;
    /// Rows of it at the batcher, each answered by one dbdone: a response replaced before its
    /// row was written has two, and only the last one's answer means the record's row exists.
    uint32_t rows_out = 0;
  };

  std::shared_ptr<storage::spool> spool;
  std::vector<file_writer_actor> file_writers;
  db_batcher_actor batcher;
  /// Payload bytes kept in memory for files not yet written, at most file_memory: past it a file
  /// job leaves its bytes in the spool and the file writer reads them back. Held bytes are
  /// credit their connections do not have, so without this bound a backlog of files (a burst
  /// acked faster than files are written, a restart's recovery) stopped every connection's reads.
  uint64_t file_bytes_held = 0;
  uint64_t file_memory = uint64_t{256} << 20;

  std::vector<spool_item> batch;           ///< waiting for the next group commit
  std::vector<storage::item_key> removals; ///< file and row done: deleted at the next flush
  bool flush_scheduled = false;
  std::map<storage::item_key, pending_item> pending;
  std::map<std::string, uint64_t> pending_per_session;
  std::map<std::string, std::vector<caf::typed_response_promise<end_result>>> end_waiters;
  std::vector<storage::item_key> retry_files;
  /// Files queued per file writer (index as in file_writers), sent as one message each.
  std::vector<std::vector<file_job>> files_out;
  /// Recovery re-drives the spool page by page, so a large spool never sits in memory at once.
  bool recovering = false;
  std::optional<storage::item_key> recovery_cursor;
  size_t recovery_page = 256;
  bool retry_scheduled = false;
  uint64_t reopens_seen = 0; ///< spool reopens already followed by a recovery pass (follow_spool)
  spool_stats stats;
  std::shared_ptr<server_metrics> metrics; ///< null: not measured
  std::shared_ptr<storage_health> health;   ///< null: not reported (unit tests)
  /// Rows handed to the batcher in order, with the steady_clock ns they left (batcher lag).
  std::deque<std::pair<int64_t, storage::item_key>> db_order;
};

using spool_writer_pointer = spool_writer_actor::stateful_pointer<spool_writer_state>;

spool_writer_actor::behavior_type spool_writer(spool_writer_pointer self,
                                               std::shared_ptr<storage::spool> spool,
                                               std::vector<file_writer_actor> file_writers,
                                               db_batcher_actor batcher,
                                               std::shared_ptr<server_metrics> metrics,
                                               std::shared_ptr<storage_health> health,
                                               uint64_t file_memory);

} // namespace mediaspool
