#include "actors/db_batcher.hpp"

#include "actors/log.hpp"
#include "actors/thread_name.hpp"

#include <algorithm>

namespace mediaspool {

namespace {


void schedule_flush(db_batcher_pointer self) {
  auto& st = self->state;
  if (st.flush_scheduled)
    return;
  st.flush_scheduled = true;
  if (st.backoff.count() > 0)
    self->delayed_send(self, st.backoff, atom::flush::value);
  else
    self->send(self, atom::flush::value);
}

void on_failure(db_batcher_pointer self, const storage::status& s, size_t rows) {
  auto& st = self->state;
  auto next = std::min<std::chrono::milliseconds>(std::max<std::chrono::milliseconds>(st.backoff * 2, std::chrono::milliseconds(100)),
                                                  std::chrono::milliseconds(5000));
  if (st.backoff.count() == 0)
    log::db().warn("db_batcher#{}: PostgreSQL write of {} rows failed ({}: {}); rows stay in the spool, "
                   "retrying with backoff",
                   self->id(), rows, storage::to_string(s.code), s.message);
  st.backoff = next;
}

// Writes up to max_batch_items queued rows plus the refreshes that are due, in one transaction.
// Returns false if PostgreSQL refused (the rows stay queued).
bool write_some(db_batcher_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now(); // the actor clock, so tests can advance it
  size_t n = std::min(st.queue.size(), st.isolating > 0 ? size_t{1} : st.cfg.max_batch_items);
  std::vector<storage::pg_item> items;
  std::vector<std::string> touched; // the batch's sessions, sorted, each once
  items.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    items.push_back(st.queue[i].row);
    touched.push_back(st.queue[i].row.key.session_id);
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  std::vector<storage::pg_session> sessions;
  for (auto& sid : touched)
    sessions.push_back({sid, std::nullopt, std::nullopt, st.cfg.media_root + "/" + sid, std::nullopt});
  // The refresh decision as if this batch commits; undone if it does not. Only the batch's own
  // sessions are looked at unless the tick asked for all (refresh_policy::due_among).
  auto before = st.policy->save(touched);
  for (auto& it : items)
    st.policy->added(it.key.session_id, it.key.kind, 1, now);
  auto refresh = st.scan_all ? st.policy->due(now) : st.policy->due_among(touched, now);
  std::vector<storage::pg_rebuilt> rebuilt;
  auto s = st.pg->write_batch(sessions, items, refresh, &rebuilt);
  if (!s.ok()) {
    st.policy->restore(std::move(before));
    // Refused for the data, not for an outage: retrying the same batch would fail forever and
    // hold up every row behind it. The batch is written row by row instead; a row refused alone
    // is set aside: never confirmed, so its record stays in the spool (nothing acked is lost,
    // and a restart tries it again), and said in the log.
    if (s.code == storage::errc::db_rejected || s.code == storage::errc::invalid_argument) {
      if (n > 1) {
        st.isolating = n;
        log::db().warn("db_batcher#{}: PostgreSQL refused a batch of {} rows for its data ({}); writing them one by one",
                       self->id(), n, s.message);
        return true;
      }
      auto& key = st.queue.front().row.key;
      log::db().error("db_batcher#{}: sid={} {}{}: PostgreSQL refuses this row ({}); set aside, it stays in the spool "
                      "unconfirmed", self->id(), key.session_id, key.kind, key.index, s.message);
      if (st.cfg.rows_set_aside != nullptr)
        st.cfg.rows_set_aside->inc();
      st.queue.erase(st.queue.begin());
      st.isolating -= st.isolating > 0 ? 1 : 0;
      return true;
    }
    on_failure(self, s, items.size());
    return false;
  }
  st.isolating -= std::min(st.isolating, n);
  st.scan_all = false;
  if (st.backoff.count() > 0)
    log::db().info("db_batcher#{}: PostgreSQL writes succeed again", self->id());
  st.backoff = std::chrono::milliseconds(0);
  st.batches++;
  st.policy->refreshed(refresh, now, rebuilt);
  // One dbdone per distinct spool writer, in queue order.
  std::vector<std::pair<spool_writer_actor, std::vector<storage::item_key>>> replies;
  for (size_t i = 0; i < n; ++i) {
    auto& q = st.queue[i];
    if (replies.empty() || replies.back().first != q.reply_to)
      replies.emplace_back(q.reply_to, std::vector<storage::item_key>{});
    replies.back().second.push_back(std::move(q.row.key));
  }
  st.queue.erase(st.queue.begin(), st.queue.begin() + static_cast<std::ptrdiff_t>(n));
  for (auto& [dest, keys] : replies)
    self->send(dest, atom::dbdone::value, std::move(keys));
  log::db().debug("db_batcher#{}: committed {} rows, {} array refreshes", self->id(), n, refresh.size());
  return true;
}

// Sessions a stopped node left with arrays behind their rows (pg_store::stale_sessions): which
// arrays lag was known only in its memory. They are handed to the refresh policy a few per tick,
// so a start after a crash at 10,000 sessions does not rebuild them all in one transaction
// ahead of new rows.
void restore_stale(db_batcher_pointer self, refresh_policy::clock::time_point now) {
  constexpr size_t per_tick = 64;
  auto& st = self->state;
  if (!st.stale_loaded) {
    if (!st.pg->stale_sessions(st.stale_backlog).ok())
      return; // PostgreSQL is down: the next tick asks again
    st.stale_loaded = true;
    if (!st.stale_backlog.empty())
      log::db().info("db_batcher#{}: {} session(s) have arrays behind their rows (left by a node that stopped); "
                     "rebuilding them", self->id(), st.stale_backlog.size());
  }
  for (size_t i = 0; i < per_tick && !st.stale_backlog.empty(); ++i) {
    for (char kind : {'a', 'f', 'r'})
      st.policy->updated(st.stale_backlog.back(), kind, 1, now);
    st.stale_backlog.pop_back();
  }
}

// Merges the queued transcription results in one transaction and marks their sessions' audio
// arrays stale (coalesced by the refresh policy like new rows). False if PostgreSQL refused.
bool write_transcripts(db_batcher_pointer self) {
  auto& st = self->state;
  if (st.transcripts.empty())
    return true;
  std::vector<storage::pg_transcript> all;
  for (auto& [batch, to] : st.transcripts)
    all.insert(all.end(), batch.begin(), batch.end());
  auto s = st.pg->write_transcripts(all);
  if (!s.ok()) {
    on_failure(self, s, all.size());
    return false;
  }
  auto now = self->clock().now();
  for (auto& t : all)
    st.policy->updated(t.session_id, 'a', 1, now);
  for (auto& [batch, to] : st.transcripts) {
    std::vector<storage::item_key> keys;
    for (auto& t : batch)
      keys.push_back({t.session_id, 'a', t.index});
    caf::anon_send(to, atom::asrsaved::value, std::move(keys)); // `to` is dynamically typed
  }
  st.transcripts.clear();
  log::db().debug("db_batcher#{}: committed {} transcriptions", self->id(), all.size());
  return true;
}

} // namespace

db_batcher_actor::behavior_type db_batcher(db_batcher_pointer self, db_batcher_config cfg) {
  name_this_thread("ms.db-batcher");
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.pg = std::make_unique<storage::pg_store>(st.cfg.url);
  st.policy = std::make_unique<refresh_policy>(st.cfg.refresh);
  // Read before this node marks any session itself (else retried by the ticks: PostgreSQL may
  // be down now, and a session this node marked meanwhile only gets one extra rebuild).
  restore_stale(self, self->clock().now());
  self->delayed_send(self, st.cfg.tick_interval, atom::tick::value);
  return {
    [=](atom::rows, std::vector<storage::pg_item>& rows, spool_writer_actor& reply_to) {
      for (auto& r : rows)
        self->state.queue.push_back({std::move(r), reply_to});
      schedule_flush(self);
    },
    [=](atom::flush) {
      auto& s = self->state;
      s.flush_scheduled = false;
      while (!s.queue.empty())
        if (!write_some(self))
          break;
      if (s.queue.empty())
        write_transcripts(self);
      if (!s.queue.empty() || !s.transcripts.empty())
        schedule_flush(self);
    },
    [=](atom::asrdone, std::vector<storage::pg_transcript>& results, caf::actor& reply_to) {
      self->state.transcripts.emplace_back(std::move(results), std::move(reply_to));
      schedule_flush(self);
    },
    // Catch-up rebuilds of idle sessions, even when no rows arrive.
    [=](atom::tick) {
      auto& s = self->state;
      self->delayed_send(self, s.cfg.tick_interval, atom::tick::value);
      if (s.backoff.count() == 0)
        restore_stale(self, self->clock().now());
      if (!s.queue.empty() || s.backoff.count() > 0) {
        s.scan_all = true; // the next batch looks at every session instead
        return;
      }
      auto now = self->clock().now(); // the actor clock, so tests can advance it
      auto refresh = s.policy->due(now);
      if (refresh.empty())
        return;
      std::vector<storage::pg_rebuilt> rebuilt;
      if (s.pg->write_batch({}, {}, refresh, &rebuilt).ok())
        s.policy->refreshed(refresh, now, rebuilt);
    },
    [=](atom::finalize, std::string& sid) -> caf::result<end_result> {
      auto& s = self->state;
      while (!s.queue.empty())
        if (!write_some(self)) {
          schedule_flush(self);
          return make_error(ec::overloaded);
        }
      // A session whose row could not be created at init (PostgreSQL was down) gets it now.
      bool existed = false;
      auto status = s.pg->ensure_session({sid, std::nullopt, std::nullopt, s.cfg.media_root + "/" + sid, std::nullopt}, existed);
      storage::pg_totals totals;
      if (status.ok())
        status = s.pg->finalize(sid, true, totals);
      if (!status.ok()) {
        log::db().warn("db_batcher#{}: sid={} finalize failed: {}", self->id(), sid, status.message);
        return make_error(ec::overloaded);
      }
      s.policy->forget(sid);
      log::db().info("db_batcher#{}: sid={} completed with {} chunks and {} frames", self->id(), sid,
                     totals.chunks, totals.frames);
      return end_result{totals.chunks, totals.frames};
    },
  };
}

} // namespace mediaspool
