#pragma once
// One file-writer worker: writes a durable item's media file atomically and reports back.
// Blocking (fsync): the supervisor spawns a few of them detached.
#include "actors/protocol.hpp"
#include "storage/media_store.hpp"

#include <memory>

namespace mediaspool {

file_writer_actor::behavior_type file_writer(file_writer_actor::pointer self,
                                             std::shared_ptr<const storage::media_store> store);

} // namespace mediaspool
