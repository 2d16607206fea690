#pragma once
// Feeds the transcriber pool from the durable work list (issue 5): PostgreSQL's audio rows whose
// element is not `"processed": true`. Nothing lives only in memory: a chunk acked before a crash
// is still unprocessed in PostgreSQL after the restart and is picked up again.
//
// Every poll it counts the backlog (logged when it changes) and, while workers are idle, fetches
// at most `batch` chunks, oldest first, leaving out those in flight. A chunk whose file is not
// there yet (row and file complete independently) is retried with backoff, and after `give_up`
// marked processed with an error. Results go to the DB batcher, which merges them into the
// elements and coalesces the array refreshes; once committed, the text is pushed through the
// registry to the session's client if it is still connected.
// Ingest never waits for any of this: the queue is bounded by `batch`, the rest stays in the DB.
// Blocking (libpqxx): spawn it detached. Re-arms a timer: send it an exit at shutdown.
#include "actors/protocol.hpp"
#include "actors/server_metrics.hpp"

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace mediaspool {

struct asr_dispatcher_config {
  std::string db_url;
  std::string media_root; ///< absolute
  size_t batch = 16;      ///< chunks fetched from PostgreSQL at a time (and queued at most)
  std::chrono::milliseconds poll{1000};
  std::chrono::milliseconds give_up{std::chrono::minutes(10)}; ///< retrying a chunk this long: error
  std::shared_ptr<server_metrics> metrics; ///< may be null (not measured)
  std::string node_id = "local";   ///< whose claims this dispatcher's chunks are (asr_claims)
  std::chrono::milliseconds claim_lease{std::chrono::seconds(60)}; ///< another node may take a chunk after this
};

struct asr_dispatcher_state {
  static inline const char* name = "asr_dispatcher";

  struct waiting_state {
    caf::actor_clock::time_point first;
    caf::actor_clock::time_point next;
    std::chrono::milliseconds backoff{0};
  };

  asr_dispatcher_config cfg;
  std::unique_ptr<storage::pg_store> pg;
  db_batcher_actor batcher;
  caf::actor registry;
  std::vector<caf::actor> workers;
  std::deque<caf::actor> idle;
  std::deque<asr_job> queue;
  std::set<std::string> busy;                     ///< queued, at a worker, or being saved
  std::map<std::string, waiting_state> waiting;   ///< retry later
  std::map<std::string, asr_result> saving;       ///< sent to the batcher, not committed yet
  std::map<std::string, caf::actor_clock::time_point> inserted; ///< busy chunks: row insert time
  asr_stats stats;
  bool backlog_known = false;
};

caf::behavior asr_dispatcher(caf::stateful_actor<asr_dispatcher_state>* self, asr_dispatcher_config cfg,
                             std::vector<caf::actor> workers, db_batcher_actor batcher, caf::actor registry);

} // namespace mediaspool
