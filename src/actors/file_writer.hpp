#pragma once
// One file-writer worker: writes durable items' media files atomically and reports them back, one
// `filedone` per batch.
// Jobs that queue up while a batch is being written form the next batch, so the cost of making
// files durable (two filesystem syncs per batch) is shared the way the spool shares its fsync.
// A batch is bounded, though: its items' bytes, and with them their connections' credit, come
// back only with its `filedone`, so a backlog written as one batch (a restart's recovery, a burst
// acked faster than files are written) stalled every connection's reads until all of it was done.
// Blocking (fsync): the supervisor spawns it detached.
#include "actors/protocol.hpp"
#include "actors/storage_health.hpp"
#include "storage/media_store.hpp"
#include "storage/spool.hpp"

#include <deque>
#include <memory>
#include <utility>
#include <vector>

namespace mediaspool {

struct file_writer_state {
  static inline const char* name = "file_writer";
  /// A batch ends at this many files (the media store's sync covers them in one part) or once its
  /// bytes reach max_batch_bytes: ~30 ms of writing here, so a backlog answers in steady steps.
  static constexpr size_t max_batch_files = 256;
  static constexpr size_t max_batch_bytes = size_t{16} << 20;
  std::shared_ptr<const storage::media_store> store;
  std::shared_ptr<storage_health> health; ///< may be null (unit tests)
  std::shared_ptr<const storage::spool> spool; ///< where from_spool jobs' bytes are; may be null (unit tests)
  std::deque<std::pair<file_job, spool_writer_actor>> queue; ///< jobs not yet in a batch
  bool flush_scheduled = false;
  uint64_t batches = 0;
};

using file_writer_pointer = file_writer_actor::stateful_pointer<file_writer_state>;

file_writer_actor::behavior_type file_writer(file_writer_pointer self,
                                             std::shared_ptr<const storage::media_store> store,
                                             std::shared_ptr<storage_health> health,
                                             std::shared_ptr<const storage::spool> spool);

} // namespace mediaspool
