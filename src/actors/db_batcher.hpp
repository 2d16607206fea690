#pragma once
// The DB batcher: coalesces the rows of durable items into few PostgreSQL transactions (one
// write_batch for everything that arrived while the previous one ran) and keeps the JSONB
// arrays fresh with bounded write amplification (refresh_policy). While PostgreSQL is down it
// keeps the rows and retries with backoff; the spool holds the items meanwhile, so acks go on.
// Blocking (libpqxx): spawn it detached. Re-arms a timer: send it an exit at shutdown.
#include "actors/metrics.hpp"
#include "actors/protocol.hpp"
#include "actors/refresh_policy.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace mediaspool {

struct db_batcher_config {
  std::string url;
  std::string media_root;     ///< stored as storage_path = <media_root>/<sid>
  size_t max_batch_items = 2000;
  refresh_config refresh;
  std::chrono::milliseconds tick_interval{1000};
  /// Counts rows PostgreSQL refused for their data, each set aside unconfirmed (null: not counted).
  metrics::counter* rows_set_aside = nullptr;
};

struct db_batcher_state {
  static inline const char* name = "db_batcher";

  struct queued {
    storage::pg_item row;
    spool_writer_actor reply_to;
  };

  db_batcher_config cfg;
  std::unique_ptr<storage::pg_store> pg;
  std::unique_ptr<refresh_policy> policy;
  std::vector<queued> queue;
  /// Transcription results waiting for their commit, each batch with the actor to tell.
  std::vector<std::pair<std::vector<storage::pg_transcript>, caf::actor>> transcripts;
  bool flush_scheduled = false;
  /// The next batch looks at every session's arrays, not only its own (set by the tick, so
  /// arrays due by time alone are found at least once per tick even under steady load).
  bool scan_all = true;
  /// Sessions a stopped node left marked arrays_stale, not yet handed to the policy.
  std::vector<std::string> stale_backlog;
  bool stale_loaded = false; ///< stale_backlog was read (PostgreSQL may be down at start)
  std::chrono::milliseconds backoff{0};
  /// Queued rows still to be written one per transaction: a batch PostgreSQL refused for its
  /// data is split so that the row(s) refused are found and set aside (write_some).
  size_t isolating = 0;
  uint64_t batches = 0;
};

using db_batcher_pointer = db_batcher_actor::stateful_pointer<db_batcher_state>;

db_batcher_actor::behavior_type db_batcher(db_batcher_pointer self, db_batcher_config cfg);

} // namespace mediaspool
