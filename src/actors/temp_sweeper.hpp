#pragma once
// After a crash, the temp files of the item writes that were in flight are left in their session
// folders. The sweep runs in a detached actor after the node listens (readdir of thousands of
// folders must not delay the start), over the folders of the sessions still in the spool only
// (media_store::sweep_temp_files says why that is enough), and ends early at shutdown.
#include "storage/media_store.hpp"

#include <caf/actor_system.hpp>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace mediaspool {

/// Sweeps `session_ids`' folders for temp files older than `older_than` (this process's start),
/// logs what it removed, and quits; setting `*stop` ends it at the next folder.
void spawn_temp_sweeper(caf::actor_system& sys, std::shared_ptr<const storage::media_store> media,
                        std::vector<std::string> session_ids, std::filesystem::file_time_type older_than,
                        std::shared_ptr<const std::atomic<bool>> stop);

} // namespace mediaspool
