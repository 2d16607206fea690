#pragma once
// mediaspool's metrics: every series /metrics shows, registered once at the composition root and
// shared (std::shared_ptr) with the actors and the network layer that update them. Updates are
// lock-free atomics. A null pointer where one is expected means "not measured" (unit tests).
#include "actors/ec.hpp"
#include "actors/metrics.hpp"
#include "actors/wire.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace mediaspool {

struct server_metrics {
  /// Registers every series below in `reg` (names in server_metrics.cpp).
  explicit server_metrics(std::shared_ptr<metrics::registry> reg);

  std::shared_ptr<metrics::registry> registry;

  // -- sessions and traffic (session actor) -------------------------------------
  metrics::gauge& sessions;
  std::array<metrics::counter*, 3> items_received{};  ///< by kind: new complete items to the spool
  std::array<metrics::counter*, 3> bytes_received{};  ///< by kind: their payload bytes
  std::array<metrics::counter*, 3> acks{};            ///< by kind, duplicates included
  std::array<metrics::counter*, 3> duplicates{};      ///< by kind: acks with duplicate=true
  metrics::counter& conflicts;
  std::array<metrics::counter*, 14> errors{};          ///< by ec (index = value; none unused)
  metrics::histogram& ack_latency;                     ///< pair complete -> durable, seconds
  metrics::histogram& init_latency;                    ///< session_init -> session_init_ack, seconds

  // -- spool writer --------------------------------------------------------------
  metrics::histogram& spool_commit_seconds;
  metrics::histogram& spool_commit_items;
  metrics::gauge& spool_records;     ///< records in the spool
  metrics::gauge& spool_payload_bytes; ///< their payload bytes (bounded by spool.max-bytes)
  metrics::gauge& items_pending;     ///< durable, not yet both file and row
  metrics::gauge& file_queue;        ///< file jobs handed to file writers and not done
  metrics::gauge& batcher_queue;     ///< rows handed to the DB batcher and not committed
  metrics::counter& files_from_spool; ///< file jobs whose bytes are read back from the spool
  metrics::counter& db_rows_set_aside; ///< rows PostgreSQL refused for their data (db_batcher)
  /// steady_clock time (ns since its epoch) of the oldest row not yet committed; 0 if none.
  std::atomic<int64_t> batcher_oldest_ns{0};
  /// Connections cut by a limit, by limit (index: the enum below).
  enum connection_limit : size_t { handshake_timeout, bad_http, max_connections, idle_timeout };
  std::array<metrics::counter*, 4> connection_limits{};
  /// Times a connection stopped reading because the process in-flight budget was spent.
  metrics::counter& budget_waits;
  /// Binary frames read ahead of that line to finish a pair (unpaired_halves).
  metrics::counter& budget_overdrafts;
  /// The network loop's smoothed lateness (admission), microseconds.
  metrics::gauge& io_loop_lag_us;
  /// How long items take now to become durable, smoothed (admission), microseconds.
  metrics::gauge& ack_wait_us;
  /// New sessions turned away while the node ran late (admission).
  metrics::counter& sessions_refused;
  /// Failed spool (0) and media (1) writes: each is an I/O error or a full disk, never an ack.
  std::array<metrics::counter*, 2> storage_write_failures{};

  // -- transcription (asr dispatcher) ---------------------------------------------
  metrics::gauge& transcription_backlog;         ///< audio chunks not processed, as last counted
  metrics::gauge& transcription_retrying;        ///< chunks that failed for now and wait to retry
  metrics::counter& transcribed;                 ///< chunks transcribed (text, possibly empty)
  metrics::counter& transcription_failed;        ///< chunks marked processed with an error
  metrics::histogram& transcription_lag;         ///< row inserted (~ack) -> transcription committed, s
  std::atomic<double> asr_audio_seconds{0};      ///< audio recognized since start
  std::atomic<double> asr_cpu_seconds{0};        ///< worker CPU (decode + recognition) spent on it

  /// Counts one message the server sends a client (acks, duplicates, errors by code).
  void on_sent(const server_message& msg) noexcept;
  /// Counts one new complete item on its way to the spool.
  void on_received(item_kind kind, uint64_t bytes) noexcept;
};

/// 0 audio, 1 frame, 2 response.
size_t kind_slot(item_kind kind) noexcept;

} // namespace mediaspool
