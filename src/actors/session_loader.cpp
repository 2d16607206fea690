#include "actors/session_loader.hpp"

#include "actors/log.hpp"
#include "actors/thread_name.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <string_view>
#include <utility>

namespace mediaspool {

namespace {

using loader_self = session_loader_actor::stateful_pointer<session_loader_state>;

// A node that runs late, or whose acks wait on its disk, takes no new sessions (admission.hpp).
// Asked only then, so the check costs nothing while the node keeps up. Counts a session turned away, and logs one line per
// 5 s with the number since the last: past capacity the refused retry by the thousand a minute
// (figure 11: 23,000 tries), and /metrics has the exact count.
void refuse(loader_self self, const std::string& sid, std::string_view why) {
  auto& st = self->state;
  st.gate->refused();
  const auto now = std::chrono::steady_clock::now();
  if (now - st.refusal_logged < std::chrono::seconds(5)) {
    ++st.refusals_unlogged;
    log::session().debug("session_loader#{}: sid={} refused ({})", self->id(), sid, why);
    return;
  }
  log::session().warn("session_loader#{}: sid={} refused ({}): the media loop runs {} ms late (limits.admission-lag "
                      "{} ms), items take {} ms to become durable (limits.admission-ack-wait {} ms); {} more "
                      "refused since the last such line",
                      self->id(), sid, why, st.gate->lag().count() / 1000, st.gate->limits().loop_lag.count() / 1000,
                      st.gate->ack_wait().count() / 1000, st.gate->limits().ack_wait.count() / 1000,
                      std::exchange(st.refusals_unlogged, 0));
  st.refusal_logged = now;
}

// At session_init: a session PostgreSQL knows is a resume and is taken. True when turned away.
bool refuses_new(loader_self self, const std::string& sid) {
  auto& st = self->state;
  if (!st.gate || !st.gate->refusing())
    return false;
  storage::status s;
  const auto node = st.pg->session_node(sid, s);
  if (!s.ok() || node)
    return false;
  refuse(self, sid, "a new session, at session_init");
  return true;
}

// Reads the spool (before PostgreSQL: see the header) and applies admission. Returns false when
// `p` is already answered. Never a row for a session turned away.
bool read_spool(loader_self self, pending_init& p, init_result& out, bool& in_spool) {
  auto& st = self->state;
  const auto& sid = p.init.session_id;
  storage::status s;
  for (const auto& h : st.spool->held(sid, s))
    out.held.push_back({h.kind, h.index, h.index});
  if (!s.ok()) {
    log::session().error("session_loader#{}: sid={} spool read failed: {}", self->id(), sid, s.message);
    p.promise.deliver(make_error(ec::internal));
    return false;
  }
  in_spool = !out.held.empty();
  if (!in_spool && refuses_new(self, sid)) {
    p.promise.deliver(make_error(ec::overloaded));
    return false;
  }
  return true;
}

// Before the upgrade (atom::admit), where a refusal goes to another node (HAProxy retries a 503
// there): a session this node last served (its spool, or its name in the row) is taken; a new
// one, or one another node took while this one refused, is sent on. A failed read admits
// (session_init decides), and so does a question whose asker gave up waiting (`deadline_ns`,
// steady clock): its upgrade went ahead, so a refusal now would count one nobody received.
bool admits(loader_self self, const std::string& sid, int64_t deadline_ns) {
  auto& st = self->state;
  if (!st.gate || !st.gate->refusing() || std::chrono::steady_clock::now().time_since_epoch().count() > deadline_ns)
    return true;
  storage::status s;
  if (!st.spool->held(sid, s).empty() || !s.ok())
    return true;
  const auto node = st.pg->session_node(sid, s);
  if (!s.ok())
    return true;
  if (!node) {
    refuse(self, sid, "a new session, before the upgrade");
    return false;
  }
  if (node->empty() || !st.node_id || *node == *st.node_id)
    return true;
  refuse(self, sid, "last served by " + *node + ", before the upgrade");
  return false;
}

// A resent held item's stored hash and size. The spool first: an item leaves it only after its
// row is committed, so one not found there is in PostgreSQL.
caf::result<stored_copy> lookup(loader_self self, const storage::item_key& key) {
  auto& st = self->state;
  storage::status s;
  for (const auto& h : st.spool->held(key.session_id, s))
    if (h.kind == key.kind && h.index == key.index)
      return stored_copy{true, h.hash, h.size};
  if (s.ok()) {
    auto row = st.pg->find_item(key, s);
    if (s.ok())
      return row ? stored_copy{true, row->hash, row->size} : stored_copy{};
  }
  log::session().warn("session_loader#{}: sid={} {}{}: stored copy not readable: {}", self->id(), key.session_id,
                      key.kind, key.index, s.message);
  return make_error(ec::overloaded);
}

// The rows of every init in one transaction; if it fails, each alone, so that one session's
// failure is not its batch-mates'.
std::vector<storage::status> ensure_rows(loader_self self, const std::vector<storage::pg_session>& rows,
                                         std::vector<storage::pg_ensured>& ensured) {
  auto& st = self->state;
  auto s = st.pg->ensure_sessions(rows, ensured);
  std::vector<storage::status> each(rows.size(), s);
  // Unreachable (or a commit in doubt): trying each alone would only repeat the wait, and could
  // find a row the failed commit did make and call a new session resumed.
  if (s.ok() || rows.size() == 1 || s.code == storage::errc::db_unavailable)
    return each;
  log::session().warn("session_loader#{}: {} session rows in one transaction failed ({}): each alone", self->id(),
                      rows.size(), s.message);
  ensured.assign(rows.size(), {});
  for (size_t j = 0; j < rows.size(); ++j) {
    std::vector<storage::pg_ensured> one;
    each[j] = st.pg->ensure_sessions({rows[j]}, one);
    if (each[j].ok())
      ensured[j] = one[0];
  }
  return each;
}

// Enough to share a commit widely; small enough that the first sessions of a storm get their
// answers while the rest wait, instead of all at the end of one huge transaction.
constexpr size_t max_batch = 256;

void serve_pending(loader_self self) {
  auto& st = self->state;
  std::vector<pending_init> batch;
  if (st.pending.size() <= max_batch) {
    batch = std::move(st.pending);
    st.pending.clear();
  } else {
    batch.assign(std::make_move_iterator(st.pending.begin()),
                 std::make_move_iterator(st.pending.begin() + max_batch));
    st.pending.erase(st.pending.begin(), st.pending.begin() + max_batch);
    self->send(self, atom::flush::value); // the rest, after the inits queued meanwhile
  }
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  std::vector<init_result> results(batch.size());
  std::vector<bool> in_spool(batch.size(), false);
  std::vector<size_t> served; // indexes into batch, one per row below
  std::vector<storage::pg_session> rows;
  for (size_t i = 0; i < batch.size(); ++i) {
    bool spooled = false;
    if (!read_spool(self, batch[i], results[i], spooled))
      continue;
    in_spool[i] = spooled;
    const auto& init = batch[i].init;
    served.push_back(i);
    rows.push_back({init.session_id, init.interview_session_id, init.user_id, st.media_root + "/" + init.session_id,
                    st.node_id});
  }
  if (rows.empty())
    return;
  const auto t_spool = clock::now();
  std::vector<storage::pg_ensured> ensured;
  auto statuses = ensure_rows(self, rows, ensured);
  const auto t_rows = clock::now();
  for (size_t j = 0; j < served.size(); ++j) {
    auto& p = batch[served[j]];
    auto& out = results[served[j]];
    const auto& sid = p.init.session_id;
    auto s = statuses[j];
    if (s.ok() && p.init.owner && ensured[j].owner != p.init.owner) {
      log::session().warn("session_loader#{}: sid={} belongs to another user than {}", self->id(), sid, *p.init.owner);
      p.promise.deliver(make_error(ec::forbidden));
      continue;
    }
    if (s.ok()) {
      auto from_pg = st.pg->held_ranges(sid, s);
      out.held.insert(out.held.end(), from_pg.begin(), from_pg.end());
    }
    if (!s.ok()) {
      log::session().warn("session_loader#{}: sid={} PostgreSQL unavailable at init: {}", self->id(), sid, s.message);
      p.promise.deliver(make_error(ec::overloaded));
      continue;
    }
    out.resumed = ensured[j].existed || in_spool[served[j]];
    p.promise.deliver(std::move(out));
  }
  // Where a storm of resumes spends its time, for whoever reads the log after a restart.
  if (rows.size() > 1) {
    auto ms = [](clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
    log::session().debug("session_loader#{}: {} session inits in one transaction: spool {:.1f} ms, rows {:.1f} ms, "
                         "held items {:.1f} ms",
                         self->id(), rows.size(), ms(t_spool - t0), ms(t_rows - t_spool), ms(clock::now() - t_rows));
  }
}

} // namespace

session_loader_actor::behavior_type
session_loader(session_loader_actor::stateful_pointer<session_loader_state> self,
               std::shared_ptr<storage::spool> spool, std::string db_url, std::string media_root,
               std::string node_id, std::shared_ptr<admission> gate) {
  name_this_thread("ms.loader");
  self->state.spool = std::move(spool);
  if (!node_id.empty())
    self->state.node_id = std::move(node_id);
  self->state.pg = std::make_unique<storage::pg_store>(std::move(db_url));
  self->state.media_root = std::move(media_root);
  self->state.gate = std::move(gate);
  return {
    [=](atom::init, const session_init& init) -> caf::result<init_result> {
      auto& st = self->state;
      auto promise = self->make_response_promise<init_result>();
      st.pending.push_back({init, promise});
      // Behind every init already in the mailbox: the flush serves them all.
      if (st.pending.size() == 1)
        self->send(self, atom::flush::value);
      return promise;
    },
    [=](atom::admit, const std::string& sid, int64_t deadline_ns) { return admits(self, sid, deadline_ns); },
    [=](atom::lookup, const storage::item_key& key) { return lookup(self, key); },
    [=](atom::flush) { serve_pending(self); },
  };
}

} // namespace mediaspool
