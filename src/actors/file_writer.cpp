#include "actors/file_writer.hpp"

#include "actors/log.hpp"
#include "actors/thread_name.hpp"
#include "faults/faults.hpp"

#include <algorithm>

namespace mediaspool {

namespace {

const char* folder_of(const file_job& job) {
  return job.key.kind == 'a' ? "audio" : "frames";
}

void write_batch(file_writer_pointer self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.queue.empty())
    return;
  std::vector<std::pair<file_job, spool_writer_actor>> batch;
  size_t bytes = 0;
  while (!st.queue.empty() && batch.size() < file_writer_state::max_batch_files
         && bytes < file_writer_state::max_batch_bytes) {
    const auto& next = st.queue.front().first;
    bytes += next.from_spool ? next.spooled_size : next.payload.size();
    batch.push_back(std::move(st.queue.front()));
    st.queue.pop_front();
  }
  // The rest waits behind whatever arrived meanwhile (FIFO): the next batch, after this answer.
  if (!st.queue.empty()) {
    st.flush_scheduled = true;
    self->send(self, atom::flush::value);
  }
  // Jobs whose bytes stayed in the spool are read back first; one that cannot be read fails alone.
  std::vector<storage::status> results(batch.size());
  std::vector<std::string> read_back(batch.size());
  std::vector<storage::media_write> files;
  std::vector<size_t> written_at; ///< index in batch of files[j]
  files.reserve(batch.size());
  written_at.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    auto& job = batch[i].first;
    const char* data = job.payload.data();
    size_t size = job.payload.size();
    if (job.from_spool) {
      results[i] = st.spool ? st.spool->read_payload(job.key, read_back[i])
                            : storage::status{storage::errc::invalid_argument, "no spool to read the bytes from"};
      if (!results[i].ok())
        continue;
      data = read_back[i].data();
      size = read_back[i].size();
    }
    files.push_back({job.key.session_id, folder_of(job), job.file_name, data, size});
    written_at.push_back(i);
  }
  auto wrote = st.store->write_batch(files);
  st.batches++;
  // Only the writes tell how the media disk is: a read-back that found no record is a second job
  // for a key settled meanwhile, not a failing disk.
  if (st.health && !wrote.empty()) {
    auto failed = std::find_if(wrote.begin(), wrote.end(), [](auto& r) { return !r.ok(); });
    st.health->report(storage_health::media, failed == wrote.end() ? storage::status::success() : *failed);
  }
  for (size_t j = 0; j < wrote.size(); ++j)
    results[written_at[j]] = std::move(wrote[j]);
  // A named crash point for the kill -9 tests: the files exist, their rows may not yet.
  faults::reach("after-file-before-db");
  // One answer per sender (in practice the one spool writer) for the whole batch.
  std::vector<std::pair<spool_writer_actor, files_done>> answers;
  for (size_t i = 0; i < batch.size(); ++i) {
    auto& [job, reply_to] = batch[i];
    if (results[i].ok())
      log::files().debug("file_writer#{}: sid={} wrote {}/{} ({} bytes)", self->id(), job.key.session_id,
                         folder_of(job), job.file_name, job.from_spool ? read_back[i].size() : job.payload.size());
    else
      log::files().error("file_writer#{}: sid={} {}/{} failed: {} (kept in the spool, retried)", self->id(),
                         job.key.session_id, folder_of(job), job.file_name, results[i].message);
    auto to = std::find_if(answers.begin(), answers.end(), [&](auto& a) { return a.first == reply_to; });
    if (to == answers.end())
      to = answers.insert(answers.end(), {reply_to, files_done{}});
    (results[i].ok() ? to->second.written : to->second.failed).push_back(std::move(job.key));
  }
  for (auto& [reply_to, done] : answers)
    self->send(reply_to, atom::filedone::value, std::move(done));
  log::files().debug("file_writer#{}: batch of {} files", self->id(), batch.size());
}

} // namespace

file_writer_actor::behavior_type file_writer(file_writer_pointer self,
                                             std::shared_ptr<const storage::media_store> store,
                                             std::shared_ptr<storage_health> health,
                                             std::shared_ptr<const storage::spool> spool) {
  name_this_thread("ms.file-writer");
  self->state.store = std::move(store);
  self->state.health = std::move(health);
  self->state.spool = std::move(spool);
  return {
    [=](atom::store, std::vector<file_job>& jobs, spool_writer_actor& reply_to) {
      for (auto& job : jobs)
        self->state.queue.emplace_back(std::move(job), reply_to);
      if (!self->state.flush_scheduled) {
        self->state.flush_scheduled = true;
        self->send(self, atom::flush::value);
      }
    },
    [=](atom::flush) { write_batch(self); },
  };
}

} // namespace mediaspool
