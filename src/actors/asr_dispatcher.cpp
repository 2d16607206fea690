#include "actors/asr_dispatcher.hpp"

#include "actors/log.hpp"
#include "actors/thread_name.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace mediaspool {

namespace {

using self_ptr = caf::stateful_actor<asr_dispatcher_state>*;
using clock_type = caf::actor_clock::clock_type; // steady; self->clock() (the test coordinator's in tests)

std::string key_of(const std::string& sid, uint32_t index) { return sid + "/" + std::to_string(index); }

// The chunk's file: the element's relative file_path when it is a safe one, else the layout of
// PROTOCOL.md section 3.
std::string chunk_path(const std::string& root, const storage::pg_audio_todo& t) {
  const auto& p = t.file_path;
  if (!p.empty() && p.front() != '/' && p.find("..") == std::string::npos)
    return root + "/" + p;
  return root + "/" + t.session_id + "/audio/chunk_" + std::to_string(t.index)
         + (t.mime_type == "audio/mp4" ? ".mp4" : ".webm");
}

void count_backlog(self_ptr self) {
  auto& st = self->state;
  uint64_t n = 0;
  if (!st.pg->count_unprocessed_audio(n).ok())
    return;
  if (!st.backlog_known || n != st.stats.backlog)
    log::asr().info("asr: backlog {} audio chunks not transcribed ({} in flight, {} waiting to retry)", n,
                    st.busy.size(), st.waiting.size());
  st.backlog_known = true;
  st.stats.backlog = n;
  if (st.cfg.metrics)
    st.cfg.metrics->transcription_backlog.set(static_cast<int64_t>(n));
}

void set_waiting(self_ptr self) {
  auto& st = self->state;
  st.stats.waiting = st.waiting.size();
  if (st.cfg.metrics)
    st.cfg.metrics->transcription_retrying.set(static_cast<int64_t>(st.stats.waiting));
}

// Fills the queue from PostgreSQL when it ran dry, leaving out what is in flight or waiting.
void fetch(self_ptr self) {
  auto& st = self->state;
  if (!st.queue.empty() || st.idle.empty())
    return;
  auto now = self->clock().now();
  std::vector<std::string> skip(st.busy.begin(), st.busy.end());
  for (auto& [key, w] : st.waiting)
    if (w.next > now)
      skip.push_back(key);
  storage::status s;
  size_t considered = 0;
  auto todo = st.pg->unprocessed_audio(st.cfg.batch, skip, storage::asr_claim{st.cfg.node_id, st.cfg.claim_lease}, s,
                                       &considered);
  if (!s.ok()) {
    log::asr().warn("asr: cannot read the work list: {}", s.message);
    return;
  }
  for (auto& t : todo) {
    auto key = key_of(t.session_id, t.index);
    st.busy.insert(key);
    st.inserted[key] = now - std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(t.age_s));
    auto header = st.cfg.media_root + "/" + t.session_id + "/audio/chunk_0.webm";
    st.queue.push_back({t.session_id, t.index, chunk_path(st.cfg.media_root, t), header, t.mime_type});
  }
  // A chunk waiting to retry that the work list no longer offers (another node transcribed it
  // after our claim ran out, or holds a live claim on it) would otherwise stay in `waiting` for
  // good. When the query took fewer chunks than `batch`, the limit cut nothing: a due entry that
  // is not busy (what it gave us just became busy) is done, or being done, elsewhere.
  if (considered < st.cfg.batch) {
    for (auto it = st.waiting.begin(); it != st.waiting.end();) {
      if (it->second.next <= now && !st.busy.count(it->first))
        it = st.waiting.erase(it);
      else
        ++it;
    }
  }
  set_waiting(self);
}

void on_result(self_ptr self, caf::actor worker, asr_result& r);

void dispatch(self_ptr self) {
  auto& st = self->state;
  fetch(self);
  while (!st.idle.empty() && !st.queue.empty()) {
    auto worker = st.idle.front();
    st.idle.pop_front();
    auto job = std::move(st.queue.front());
    st.queue.pop_front();
    auto sid = job.session_id;
    auto index = job.index;
    self->request(worker, caf::infinite, atom::asrjob::value, std::move(job))
      .then([=](asr_result& r) { on_result(self, worker, r); },
            [=](caf::error& err) {
              asr_result r;
              r.session_id = sid;
              r.index = index;
              r.retry = true;
              r.reason = "worker failed: " + caf::to_string(err);
              on_result(self, worker, r);
            });
  }
  st.stats.in_flight = st.busy.size();
}

// A chunk that has been retried for give_up becomes an error result.
bool give_up(self_ptr self, const std::string& key, asr_result& r) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto [it, fresh] = st.waiting.try_emplace(key);
  auto& w = it->second;
  if (fresh)
    w.first = now;
  // An unavailable engine is not the chunk's fault: its chunks wait however long that takes.
  const bool engine_down = r.reason.rfind("engine unavailable", 0) == 0;
  if (engine_down || now - w.first < st.cfg.give_up) {
    w.backoff = std::min<std::chrono::milliseconds>(std::max<std::chrono::milliseconds>(w.backoff * 2, st.cfg.poll),
                                                    std::chrono::seconds(30));
    w.next = now + w.backoff;
    log::asr().debug("asr: sid={} chunk {} retried in {} ms: {}", r.session_id, r.index, w.backoff.count(), r.reason);
    return false;
  }
  st.waiting.erase(it);
  log::asr().warn("asr: sid={} chunk {} given up: {}", r.session_id, r.index, r.reason);
  r.retry = false;
  r.patch = nlohmann::json{{"transcription", nullptr}, {"processed", true}, {"transcription_error", r.reason}}.dump(
    -1, ' ', false, nlohmann::json::error_handler_t::replace);
  return true;
}

void on_result(self_ptr self, caf::actor worker, asr_result& r) {
  auto& st = self->state;
  st.idle.push_back(std::move(worker));
  auto key = key_of(r.session_id, r.index);
  if (r.retry && !give_up(self, key, r)) {
    st.busy.erase(key);
    st.inserted.erase(key);
  } else {
    st.waiting.erase(key);
    st.stats.audio_seconds += r.audio_seconds;
    st.stats.cpu_seconds += r.cpu_seconds;
    if (auto& m = st.cfg.metrics; m && r.audio_seconds > 0) {
      // One writer (this actor): load + store is enough (C++17 has no atomic<double>::fetch_add).
      m->asr_audio_seconds.store(m->asr_audio_seconds.load(std::memory_order_relaxed) + r.audio_seconds,
                                 std::memory_order_relaxed);
      m->asr_cpu_seconds.store(m->asr_cpu_seconds.load(std::memory_order_relaxed) + r.cpu_seconds,
                               std::memory_order_relaxed);
    }
    if (r.reason.empty())
      log::asr().debug("asr: sid={} chunk {}: {:.1f} s audio, {:.2f} s CPU: {}", r.session_id, r.index,
                       r.audio_seconds, r.cpu_seconds, r.text);
    else
      log::asr().info("asr: sid={} chunk {} not decodable: {}", r.session_id, r.index, r.reason);
    std::vector<storage::pg_transcript> out{{r.session_id, r.index, r.patch}};
    st.saving.insert_or_assign(key, std::move(r));
    self->send(st.batcher, atom::asrdone::value, std::move(out), caf::actor_cast<caf::actor>(self));
  }
  set_waiting(self);
  dispatch(self);
}

void on_saved(self_ptr self, const std::vector<storage::item_key>& keys) {
  auto& st = self->state;
  for (auto& k : keys) {
    auto key = key_of(k.session_id, k.index);
    auto it = st.saving.find(key);
    if (it == st.saving.end())
      continue;
    auto& r = it->second;
    auto& m = st.cfg.metrics;
    if (r.reason.empty()) {
      ++st.stats.done;
      self->send(st.registry, atom::asrpush::value, transcription{r.session_id, r.index, r.text});
      if (m)
        m->transcribed.inc();
    } else {
      ++st.stats.failed;
      if (m)
        m->transcription_failed.inc();
    }
    if (auto ins = st.inserted.find(key); ins != st.inserted.end()) {
      if (m)
        m->transcription_lag.observe(std::chrono::duration<double>(self->clock().now() - ins->second).count());
      st.inserted.erase(ins);
    }
    st.saving.erase(it);
    st.busy.erase(key);
  }
  st.stats.in_flight = st.busy.size();
}

} // namespace

caf::behavior asr_dispatcher(caf::stateful_actor<asr_dispatcher_state>* self, asr_dispatcher_config cfg,
                             std::vector<caf::actor> workers, db_batcher_actor batcher, caf::actor registry) {
  name_this_thread("ms.asr-dispatch");
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.pg = std::make_unique<storage::pg_store>(st.cfg.db_url);
  st.batcher = std::move(batcher);
  st.registry = std::move(registry);
  st.workers = std::move(workers);
  st.idle.assign(st.workers.begin(), st.workers.end());
  self->send(self, atom::tick::value);
  return {
    [=](atom::tick) {
      self->delayed_send(self, self->state.cfg.poll, atom::tick::value);
      count_backlog(self);
      dispatch(self);
    },
    [=](atom::asrsaved, const std::vector<storage::item_key>& keys) {
      on_saved(self, keys);
      dispatch(self);
    },
    [=](atom::stats) -> asr_stats { return self->state.stats; },
  };
}

} // namespace mediaspool
