// The spool writer's recovery: re-driving the records the spool holds through the file writers
// and the batcher, at start-up and after every reopen of the spool. Private steps shared with
// spool_writer.cpp are declared in spool_writer_ops.hpp.
#include "actors/log.hpp"
#include "actors/spool_writer_ops.hpp"

namespace mediaspool::spool_writer_detail {

void start_recovery(spool_writer_pointer self) {
  auto& st = self->state;
  st.recovering = true;
  st.recovery_cursor.reset();
  recover_page(self);
}

// A write error closes the spool until a reopen, which reads the records on disk: they may
// include one whose commit reported failure (its bytes reached the WAL), which a resume then
// lists as held, so its client never sends it again; and ones whose delete failed. So every
// reopen is followed by a recovery pass, which re-drives the records not pending. While the
// spool stays closed (an idle node: no write comes to reopen it, and every session_init, which
// reads what it holds, would fail) the retry timer reopens it.
void follow_spool(spool_writer_pointer self) {
  auto& st = self->state;
  if (!st.spool->is_open())
    if (auto s = st.spool->reopen_if_closed(); !s.ok())
      return schedule_retry(self);
  if (auto n = st.spool->reopen_count(); n != st.reopens_seen) {
    st.reopens_seen = n;
    // Open again (here, or in a delete or commit that came first): writes work.
    if (st.health)
      st.health->report(storage_health::spool, storage::status::success());
    log::spool().info("spool_writer#{}: spool reopened after a write error; re-driving the records it holds",
                      self->id());
    start_recovery(self);
  }
}

// Re-drives the next page of spool records once the previous pages have mostly settled.
void recover_page(spool_writer_pointer self) {
  auto& st = self->state;
  if (!st.recovering || st.pending.size() > st.recovery_page / 2)
    return;
  std::vector<storage::pg_item> rows;
  size_t seen = 0;
  auto status = st.spool->scan(
    [&](storage::spool_record&& rec) {
      ++seen;
      st.recovery_cursor = rec.key;
      if (st.pending.count(rec.key) > 0)
        return;
      auto bytes = std::make_shared<const byte_vector>(rec.payload.begin(), rec.payload.end());
      rows.push_back(dispatch(self, rec.key, rec.hash, std::move(rec.file_name), std::move(rec.element),
                              shared_bytes{std::move(bytes), 0}));
    },
    st.recovery_cursor ? &*st.recovery_cursor : nullptr, st.recovery_page);
  st.stats.recovered += rows.size();
  send_files(self);
  if (!rows.empty())
    self->send(st.batcher, atom::rows::value, std::move(rows), spool_writer_actor{self});
  if (!status.ok())
    log::spool().error("spool_writer#{}: recovery scan: {}", self->id(), status.message);
  if (seen < st.recovery_page) {
    st.recovering = false;
    log::spool().info("spool_writer#{}: recovery dispatched all {} spooled items", self->id(), st.stats.recovered);
    std::vector<std::string> ended;
    for (auto& w : st.end_waiters)
      ended.push_back(w.first);
    for (auto& sid : ended)
      finalize_when_idle(self, sid);
  }
}

} // namespace mediaspool::spool_writer_detail
