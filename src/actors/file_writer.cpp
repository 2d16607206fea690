#include "actors/file_writer.hpp"

#include "actors/log.hpp"

namespace mediaspool {

file_writer_actor::behavior_type file_writer(file_writer_actor::pointer self,
                                             std::shared_ptr<const storage::media_store> store) {
  return {
    [=](atom::store, const file_job& job, const spool_writer_actor& reply_to) {
      const char* folder = job.key.kind == 'a' ? "audio" : "frames";
      auto st = store->write_atomic(job.key.session_id, folder, job.file_name, job.payload.data(),
                                    job.payload.size());
      if (st.ok())
        log::files().debug("file_writer#{}: sid={} wrote {}/{} ({} bytes)", self->id(),
                           job.key.session_id, folder, job.file_name, job.payload.size());
      else
        log::files().error("file_writer#{}: sid={} {}/{} failed: {} (kept in the spool, retried)",
                           self->id(), job.key.session_id, folder, job.file_name, st.message);
      self->send(reply_to, atom::filedone::value, job.key, st.ok());
    },
  };
}

} // namespace mediaspool
