#include "actors/temp_sweeper.hpp"

#include "actors/log.hpp"
#include "actors/thread_name.hpp"

#include <caf/event_based_actor.hpp>

#include <chrono>

namespace mediaspool {

void spawn_temp_sweeper(caf::actor_system& sys, std::shared_ptr<const storage::media_store> media,
                        std::vector<std::string> session_ids, std::filesystem::file_time_type older_than,
                        std::shared_ptr<const std::atomic<bool>> stop) {
  if (session_ids.empty())
    return;
  sys.spawn<caf::detached>([media = std::move(media), sids = std::move(session_ids), older_than,
                            stop = std::move(stop)](caf::event_based_actor* self) {
    name_this_thread("ms.sweep");
    auto t0 = std::chrono::steady_clock::now();
    auto removed = media->sweep_temp_files(sids, older_than, stop.get());
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    log::files().info("temp_sweeper#{}: {} stray temp files removed from the folders of {} spooled sessions in {} ms{}",
                      self->id(), removed, sids.size(), ms, stop && stop->load() ? " (stopped by shutdown)" : "");
    self->quit();
  });
}

} // namespace mediaspool
