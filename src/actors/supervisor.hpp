#pragma once
// Spawns the long-lived actors (detached where they block), starts the spool recovery, and stops
// everything in an order that loses nothing: sessions first (by their connections closing), then
// a bounded wait until every durable item is a file and a row, then exits to the workers and to
// the actors that re-arm timers (which would otherwise keep the actor system alive forever).
#include "actors/admission.hpp"
#include "actors/asr_dispatcher.hpp"
#include "actors/db_batcher.hpp"
#include "actors/transcriber.hpp"
#include "actors/session.hpp"
#include "storage/media_store.hpp"
#include "storage/spool.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mediaspool {

struct supervisor_config {
  std::string db_url;
  std::string media_root; ///< absolute
  std::string node_id;    ///< this node's name in the session rows (server.node-id)
  size_t file_writers = 2;
  size_t loaders = 2;
  db_batcher_config batcher;
  pairing_config pairing;
  size_t queries = 2; ///< review API query actors (detached, one PostgreSQL connection each)
  size_t recording_builders = 1; ///< recording.webm assemblers (detached; CPU-bound while building)
  std::shared_ptr<server_metrics> metrics; ///< shared with sessions and the spool writer; may be null
  std::shared_ptr<storage_health> health;   ///< written by the spool and file writers; may be null
  std::shared_ptr<admission> gate;          ///< whether new sessions are taken (loaders); may be null
  uint64_t file_memory = uint64_t{256} << 20; ///< media.queue-memory (see spool_writer_state)
};

class supervisor {
public:
  supervisor(caf::actor_system& sys, supervisor_config cfg, std::shared_ptr<storage::spool> spool,
             std::shared_ptr<const storage::media_store> media);

  /// What every session actor needs.
  std::shared_ptr<const session_services> services() const { return services_; }

  /// The review API's query actors.
  const std::vector<query_actor>& queries() const { return queries_; }

  /// The recording.webm assemblers.
  const std::vector<recording_actor>& recording_builders() const { return recorders_; }

  /// Re-drives every record the spool holds (idempotent); returns at once.
  void start_recovery();

  /// Starts `workers` transcriber workers (detached) and their dispatcher (issue 5).
  void start_transcription(size_t workers, const transcriber_config& worker, const asr_dispatcher_config& dispatcher);

  /// The transcription dispatcher's numbers (zeros if transcription is off or it does not answer
  /// within `timeout`); for /metrics.
  asr_stats transcription_stats(std::chrono::milliseconds timeout);

  /// Current numbers of the spool writer (blocks the caller up to `timeout`); nullopt if it did
  /// not answer in time.
  std::optional<spool_stats> stats(std::chrono::milliseconds timeout);

  /// Waits up to `drain_bound` until no durable item is pending, then stops every actor.
  /// Call after the connections are gone. Returns the items still pending (they replay at start),
  /// nullopt if the spool writer did not answer (a commit on a hung disk).
  std::optional<uint64_t> shutdown(std::chrono::milliseconds drain_bound);

private:
  caf::actor_system& sys_;
  db_batcher_actor batcher_;
  std::vector<file_writer_actor> writers_;
  spool_writer_actor spooler_;
  std::shared_ptr<session_services> services_;
  std::vector<caf::actor> transcribers_;
  caf::actor asr_dispatcher_;
  std::vector<query_actor> queries_;
  std::vector<recording_actor> recorders_;
};

} // namespace mediaspool
