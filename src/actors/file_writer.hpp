#pragma once
// One file-writer worker: writes durable items' media files atomically and reports them back, one
// `filedone` per batch.
// Jobs that queue up while a batch is being written form the next batch, so the cost of making
// files durable (two filesystem syncs per batch) is shared the way the spool shares its fsync.
// Blocking (fsync): the supervisor spawns it detached.
#include "actors/protocol.hpp"
#include "actors/storage_health.hpp"
#include "storage/media_store.hpp"

#include <memory>
#include <utility>
#include <vector>

namespace mediaspool {

struct file_writer_state {
  static inline const char* name = "file_writer";
  std::shared_ptr<const storage::media_store> store;
  std::shared_ptr<storage_health> health; ///< may be null (unit tests)
  std::vector<std::pair<file_job, spool_writer_actor>> batch;
  bool flush_scheduled = false;
  uint64_t batches = 0;
};

using file_writer_pointer = file_writer_actor::stateful_pointer<file_writer_state>;

file_writer_actor::behavior_type file_writer(file_writer_pointer self,
                                             std::shared_ptr<const storage::media_store> store,
                                             std::shared_ptr<storage_health> health);

} // namespace mediaspool
