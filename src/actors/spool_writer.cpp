#include "actors/spool_writer.hpp"

#include "actors/log.hpp"
#include "actors/spool_writer_ops.hpp"
#include "actors/thread_name.hpp"
#include "faults/faults.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <unordered_map>
#include <utility>

namespace mediaspool {

// Named (not anonymous) for the recovery steps in spool_recovery.cpp: spool_writer_ops.hpp.
namespace spool_writer_detail {

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

// Publishes the gauges that describe the pipeline behind the spool (no-op without metrics).
void publish(spool_writer_state& st) {
  auto* m = st.metrics.get();
  if (!m)
    return;
  m->items_pending.set(static_cast<int64_t>(st.pending.size()));
  m->spool_records.set(static_cast<int64_t>(st.spool->record_count()));
  m->spool_payload_bytes.set(static_cast<int64_t>(st.spool->payload_bytes()));
  while (!st.db_order.empty()) {
    auto it = st.pending.find(st.db_order.front().second);
    if (it != st.pending.end() && !it->second.db_done)
      break;
    st.db_order.pop_front();
  }
  m->batcher_oldest_ns.store(st.db_order.empty() ? 0 : st.db_order.front().first);
}

// Queues a file for its writer (chosen by key, so one file is never written by two workers at
// once); send_files() hands each writer its queue in one message.
void queue_file(spool_writer_state& st, const file_job& job) {
  auto n = std::hash<std::string>{}(job.key.session_id) + job.key.index;
  st.files_out[n % st.file_writers.size()].push_back(job);
}

void send_files(spool_writer_pointer self) {
  auto& st = self->state;
  for (size_t i = 0; i < st.files_out.size(); ++i)
    if (!st.files_out[i].empty())
      self->send(st.file_writers[i], atom::store::value, std::exchange(st.files_out[i], {}),
                 spool_writer_actor{self});
}

// Queues a durable item's file (see queue_file) and returns its row for the batcher.
storage::pg_item dispatch(spool_writer_pointer self, storage::item_key key, uint64_t hash,
                          std::string file_name, std::string element, shared_bytes payload) {
  auto& st = self->state;
  storage::pg_item row{key, hash, payload.size(), std::move(element)};
  auto [pos, inserted] = st.pending.try_emplace(key);
  auto& p = pos->second;
  if (inserted)
    st.pending_per_session[key.session_id]++;
  if (st.metrics && !inserted) {
    st.metrics->file_queue.sub(p.file_done ? 0 : 1);
    st.metrics->batcher_queue.sub(p.db_done ? 0 : 1);
  }
  st.file_bytes_held -= std::exchange(p.held, 0);
  p.job = file_job{key, std::move(file_name), std::move(payload)};
  p.file_done = p.job.file_name.empty();
  if (!p.file_done) {
    if (st.file_bytes_held + p.job.payload.size() > st.file_memory) {
      p.job.spooled_size = p.job.payload.size();
      p.job.payload = {};
      p.job.from_spool = true;
      st.stats.files_from_spool++;
      if (st.metrics)
        st.metrics->files_from_spool.inc();
    } else {
      p.held = p.job.payload.size();
      st.file_bytes_held += p.held;
    }
  }
  p.db_done = false;
  ++p.rows_out;
  if (st.metrics) {
    st.metrics->file_queue.add(p.file_done ? 0 : 1);
    st.metrics->batcher_queue.add();
    st.db_order.emplace_back(steady_ns(), key);
  }
  if (!p.file_done)
    queue_file(st, p.job);
  return row;
}

void finalize_when_idle(spool_writer_pointer self, const std::string& sid) {
  auto& st = self->state;
  auto w = st.end_waiters.find(sid);
  if (w == st.end_waiters.end())
    return;
  auto c = st.pending_per_session.find(sid);
  if (c != st.pending_per_session.end() && c->second > 0)
    return;
  // While start-up recovery runs, this session may still have records in pages not re-driven
  // yet: its totals would miss them. The last recovery page calls this again.
  if (st.recovering)
    return;
  auto promises = std::move(w->second);
  st.end_waiters.erase(w);
  self->request(st.batcher, caf::infinite, atom::finalize::value, sid)
    .then(
      [promises](end_result r) mutable {
        for (auto& rp : promises)
          rp.deliver(r);
      },
      [promises](caf::error& err) mutable {
        for (auto& rp : promises)
          rp.deliver(err);
      });
}

// Both the file and the row exist: the spool record is no longer needed.
void settle(spool_writer_pointer self, const storage::item_key& key,
            std::vector<storage::item_key>& removals) {
  auto& st = self->state;
  auto it = st.pending.find(key);
  if (it == st.pending.end() || !it->second.file_done || !it->second.db_done)
    return;
  st.pending.erase(it);
  removals.push_back(key);
  auto c = st.pending_per_session.find(key.session_id);
  if (c != st.pending_per_session.end() && --c->second == 0) {
    st.pending_per_session.erase(c);
    finalize_when_idle(self, key.session_id);
  }
}

// Marks the spool write in progress for as long as it lives (storage_health::running_for): every
// write of this actor, since a removal's WAL sync on a hung disk holds back the commits queued
// behind it as surely as a commit does; and cleared on every way out, or the node would refuse
// new sessions for good.
class spool_write_clock {
public:
  explicit spool_write_clock(storage_health* health) : health_(health) {
    if (health_)
      health_->started(storage_health::spool, std::chrono::steady_clock::now());
  }
  ~spool_write_clock() {
    if (health_)
      health_->finished(storage_health::spool);
  }
  spool_write_clock(const spool_write_clock&) = delete;
  spool_write_clock& operator=(const spool_write_clock&) = delete;

private:
  storage_health* health_;
};

void schedule_retry(spool_writer_pointer self) {
  auto& st = self->state;
  if (!st.retry_scheduled) {
    st.retry_scheduled = true;
    self->delayed_send(self, std::chrono::seconds(1), atom::retry::value);
  }
}

void remove_records(spool_writer_pointer self, const std::vector<storage::item_key>& keys) {
  if (keys.empty())
    return;
  auto s = [&] {
    spool_write_clock clock{self->state.health.get()};
    self->state.stats.delete_batches++;
    return self->state.spool->remove(keys);
  }();
  if (!s.ok()) {
    log::spool().warn("spool_writer#{}: delete of {} records failed ({}): they are re-driven once the spool "
                      "reopens", self->id(), keys.size(), s.message);
    if (self->state.health)
      self->state.health->report(storage_health::spool, s);
    schedule_retry(self); // follow_spool reopens it
  }
}

// The flush is queued behind everything already in the mailbox: all appends that arrived while
// the previous fsync ran share the next commit, and all items settled meanwhile one delete batch.
void schedule_flush(spool_writer_pointer self) {
  if (!self->state.flush_scheduled) {
    self->state.flush_scheduled = true;
    self->send(self, atom::flush::value);
  }
}

void commit(spool_writer_pointer self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.batch.empty())
    return;
  auto batch = std::move(st.batch);
  st.batch.clear();
  std::vector<storage::spool_entry> entries;
  entries.reserve(batch.size());
  for (auto& it : batch)
    entries.push_back({it.key, it.hash, it.file_name, it.element, it.payload.data(), it.payload.size()});
  auto t0 = std::chrono::steady_clock::now();
  auto status = [&] {
    spool_write_clock clock{st.health.get()};
    return st.spool->write_durable(entries);
  }();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  if (st.health)
    st.health->report(storage_health::spool, status);
  if (!status.ok()) {
    log::spool().error("spool_writer#{}: group commit of {} items failed: {}; none acked", self->id(),
                       batch.size(), status.message);
    // A full disk is a temporary condition the client should wait out; anything else is ours.
    auto code = status.code == storage::errc::no_space || status.code == storage::errc::over_budget ? ec::overloaded
                                                                                                    : ec::internal;
    for (auto& it : batch)
      if (it.session)
        caf::anon_send(it.session, atom::spoolfail::value, it.key, make_error(code));
    if (!st.spool->is_open())
      schedule_retry(self);
    return;
  }
  // A named crash point for the kill -9 tests: durable, not acked yet.
  faults::reach("after-spool-sync");
  st.stats.commits++;
  st.stats.items += batch.size();
  if (st.metrics) {
    st.metrics->spool_commit_seconds.observe(static_cast<double>(us.count()) / 1e6);
    st.metrics->spool_commit_items.observe(static_cast<double>(batch.size()));
  }
  log::spool().debug("spool_writer#{}: committed {} items in {} us", self->id(), batch.size(), us.count());
  // One `durable` per session per commit, its keys in commit order: each message wakes the
  // session, and its acks then leave in one post to the connection.
  std::unordered_map<caf::actor, std::vector<storage::item_key>> durable;
  std::vector<storage::pg_item> rows;
  rows.reserve(batch.size());
  for (auto& it : batch) {
    if (it.session)
      durable[it.session].push_back(it.key);
    rows.push_back(dispatch(self, std::move(it.key), it.hash, std::move(it.file_name),
                            std::move(it.element), std::move(it.payload)));
  }
  for (auto& [session, keys] : durable)
    caf::anon_send(session, atom::durable::value, std::move(keys));
  send_files(self);
  self->send(st.batcher, atom::rows::value, std::move(rows), spool_writer_actor{self});
  follow_spool(self); // this commit may have reopened it (its own items are pending by now)
  publish(st);
}

} // namespace spool_writer_detail

using namespace spool_writer_detail;

spool_writer_actor::behavior_type spool_writer(spool_writer_pointer self,
                                               std::shared_ptr<storage::spool> spool,
                                               std::vector<file_writer_actor> file_writers,
                                               db_batcher_actor batcher,
                                               std::shared_ptr<server_metrics> metrics,
                                               std::shared_ptr<storage_health> health,
                                               uint64_t file_memory) {
  name_this_thread("ms.spool");
  self->state.file_memory = file_memory;
  self->state.metrics = std::move(metrics);
  self->state.health = std::move(health);
  self->state.spool = std::move(spool);
  self->state.file_writers = std::move(file_writers);
  self->state.files_out.resize(self->state.file_writers.size());
  self->state.batcher = std::move(batcher);
  return {
    // -- ingest: group commit ---------------------------------------------------
    [=](atom::append, spool_item& item) {
      self->state.batch.push_back(std::move(item));
      schedule_flush(self);
    },
    [=](atom::flush) {
      commit(self);
      // One delete batch for every item settled since the last flush, instead of one RocksDB
      // write (a lock and a WAL write syscall) per file written.
      auto& st = self->state;
      if (!st.removals.empty()) {
        remove_records(self, std::exchange(st.removals, {}));
        recover_page(self);
        publish(st);
      }
    },
    // -- completion: file + row -> delete the record ----------------------------
    [=](atom::filedone, files_done& done) {
      auto& st = self->state;
      // Written first: one answer may carry a key twice (two jobs for it were in flight), and a
      // failure of a file already written changes nothing.
      for (auto& key : done.written) {
        auto it = st.pending.find(key);
        if (it == st.pending.end())
          continue;
        if (st.metrics && !it->second.file_done)
          st.metrics->file_queue.sub();
        it->second.file_done = true;
        // The bytes are in a durable file now: dropping the last reference returns their credit
        // to the connection (the spool still holds them until the row exists too).
        it->second.job.payload = {};
        st.file_bytes_held -= std::exchange(it->second.held, 0);
        settle(self, key, st.removals);
      }
      for (auto& key : done.failed)
        if (auto it = st.pending.find(key); it != st.pending.end() && !it->second.file_done)
          st.retry_files.push_back(key);
      if (!st.retry_files.empty())
        schedule_retry(self);
      schedule_flush(self);
    },
    [=](atom::retry) {
      auto& st = self->state;
      st.retry_scheduled = false;
      follow_spool(self);
      // Two jobs in flight for one key may both have failed: one retry writes the file.
      auto keys = std::exchange(st.retry_files, {});
      std::sort(keys.begin(), keys.end());
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
      for (auto& key : keys) {
        // Written meanwhile (by another job for the key): its payload is let go, so a retry
        // would write an empty file over the good one.
        auto it = st.pending.find(key);
        if (it != st.pending.end() && !it->second.file_done)
          queue_file(st, it->second.job);
      }
      send_files(self);
    },
    [=](atom::dbdone, std::vector<storage::item_key>& keys) {
      for (auto& key : keys) {
        auto it = self->state.pending.find(key);
        if (it == self->state.pending.end())
          continue;
        log::spool().debug("spool_writer#{}: sid={} {}{} row committed", self->id(), key.session_id, key.kind,
                           key.index);
        auto& p = it->second;
        if (p.rows_out > 0 && --p.rows_out > 0)
          continue; // an older copy's row: the record holds a newer one
        if (self->state.metrics && !p.db_done)
          self->state.metrics->batcher_queue.sub();
        p.db_done = true;
        settle(self, key, self->state.removals);
      }
      schedule_flush(self);
    },
    // -- session end: reply once all of its items are files and rows ------------
    [=](atom::end, std::string& sid) -> caf::result<end_result> {
      auto rp = self->make_response_promise<end_result>();
      self->state.end_waiters[sid].push_back(rp);
      finalize_when_idle(self, sid);
      return rp;
    },
    // -- recovery ----------------------------------------------------------------
    [=](atom::recover) -> uint64_t {
      auto& st = self->state;
      auto n = st.spool->record_count();
      publish(st); // before any recovery line is logged: a reader of both never sees a fresh 0
      log::spool().info("spool_writer#{}: recovery: {} records in the spool", self->id(), n);
      start_recovery(self);
      publish(st);
      return n;
    },
    [=](atom::stats) -> spool_stats {
      auto s = self->state.stats;
      s.pending = self->state.pending.size();
      s.records = self->state.spool->record_count();
      return s;
    },
  };
}

} // namespace mediaspool
