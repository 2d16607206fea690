#include "actors/session.hpp"

#include "actors/log.hpp"
#include "actors/metered_outbox.hpp"

#include <functional>

namespace mediaspool {

namespace {

char key_kind(item_kind k) { return static_cast<char>(k); }

} // namespace

// -- lifecycle ------------------------------------------------------------------

void session_state::on_init(const session_init& init) {
  if (ph != phase::fresh) {
    if (init.session_id != sid) {
      fail(ec::session_mismatch, "this connection carries session " + sid + "; open a new one for another");
      return leave(1008, "session_init for another session on the same connection");
    }
    if (ph == phase::ready)
      out->send(make_init_ack(true));
    return;
  }
  sid = init.session_id;
  ph = phase::loading;
  init_since = self->clock().now();
  log::session().info("session#{}: sid={} init (user {}, interview {})", self->id(), sid,
                      init.user_id ? std::to_string(*init.user_id) : "-",
                      init.interview_session_id ? std::to_string(*init.interview_session_id) : "-");
  auto on_error = [this](caf::error& err) {
    // A registry or loader that does not answer within init_timeout is busy (thousands of
    // sessions connecting at once), not broken: the client is told to retry.
    auto code = err == caf::sec::request_timeout ? ec::overloaded : to_ec(err);
    log::session().warn("session#{}: sid={} init failed: {}", self->id(), sid, to_string(code));
    const bool policy = code == ec::session_mismatch || code == ec::forbidden;
    out->send(error_reply{code,
                          code == ec::session_mismatch ? "replaced by a newer connection"
                          : code == ec::forbidden      ? "this session belongs to another user"
                                                       : "the session cannot be opened now; retry",
                          std::nullopt});
    leave(policy ? 1008 : 1013, "session_init failed");
  };
  auto loader = loader_of_session();
  self->request(svc->registry, svc->init_timeout, atom::claim::value, sid)
    .then(
      [this, loader, init, on_error](atom::ok) {
        self->request(loader, svc->init_timeout, atom::init::value, init)
          .then([this](init_result& res) { on_loaded(res); }, on_error);
      },
      on_error);
}

session_loader_actor session_state::loader_of_session() const {
  return svc->loaders[std::hash<std::string>{}(sid) % svc->loaders.size()];
}

void session_state::on_loaded(init_result& res) {
  if (ph != phase::loading)
    return;
  pairs.emplace(svc->pairing);
  for (auto& h : res.held)
    pairs->load_held(static_cast<item_kind>(h.kind), h.first, h.last);
  ph = phase::ready;
  auto ack = make_init_ack(res.resumed);
  if (svc->metrics)
    svc->metrics->init_latency.observe(std::chrono::duration<double>(self->clock().now() - init_since).count());
  log::session().info("session#{}: sid={} {} with {} audio and {} frame ranges held", self->id(), sid,
                      res.resumed ? "resumed" : "created", ack.audio_received.size(),
                      ack.frames_received.size());
  out->send(std::move(ack));
  while (!stash.empty() && ph == phase::ready) {
    auto in = std::move(stash.front());
    stash.pop_front();
    dispatch(std::move(in));
  }
}

init_ack session_state::make_init_ack(bool resumed) const {
  return init_ack{sid, resumed, pairs->held_ranges(item_kind::audio), pairs->held_ranges(item_kind::frame)};
}

void session_state::leave(uint16_t code, const std::string& reason) {
  if (ph != phase::leaving)
    log::session().info("session#{}: sid={} closing ({} {}) after {} acks", self->id(),
                        sid.empty() ? "-" : sid, code, reason, acked);
  ph = phase::leaving;
  out->close(code, reason);
  stash.clear();
  // A session_end that waited only for resends to be answered goes to the spool writer now:
  // those answers can no longer reach the client, and the end must not be lost with them.
  if (end_requested)
    on_end();
  maybe_finish();
}

// The actor stays until every item it sent to the spool is durable, so a session that takes
// over this id never misses an item that is still on its way.
void session_state::maybe_finish() {
  if (draining && ph != phase::leaving && spooled.empty() && checking == 0)
    leave(1001, "server shutting down");
  if (ph == phase::leaving && spooled.empty())
    self->quit();
}

void session_state::on_drain() {
  draining = true;
  log::session().debug("session#{}: sid={} draining: {} items not yet durable", self->id(), sid, spooled.size());
  // Input stashed while loading was never acked: the client resends it after reconnecting.
  if (ph != phase::ready)
    return leave(1001, "server shutting down");
  maybe_finish();
}

// -- input ------------------------------------------------------------------------

void session_state::dispatch(input&& in) {
  std::visit(
    [this](auto&& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, item_metadata>)
        on_metadata(std::move(x));
      else if constexpr (std::is_same_v<T, blob>)
        on_blob(std::move(x));
      else if constexpr (std::is_same_v<T, response_item>)
        on_response(std::move(x));
      else
        on_end();
    },
    std::move(in));
}

// True if the input may be processed now; otherwise it is answered, stashed or dropped here.
bool session_state::owns(const std::string& session_id) {
  switch (ph) {
    case phase::fresh:
      fail(ec::not_initialized, "send session_init first");
      return false;
    case phase::leaving:
      return false;
    default:
      break;
  }
  if (session_id != sid) {
    fail(ec::session_mismatch, "this connection carries session " + sid);
    leave(1008, "session mismatch");
    return false;
  }
  return true;
}

void session_state::on_metadata(item_metadata&& m) {
  if (!owns(m.session_id))
    return;
  if (ph == phase::loading)
    return void(stash.emplace_back(std::move(m)));
  apply(pairs->on_metadata(std::move(m), metadata_now()));
}

void session_state::on_blob(blob&& b) {
  if (!owns(b.session_id))
    return;
  if (ph == phase::loading)
    return void(stash.emplace_back(std::move(b)));
  apply(pairs->on_blob(std::move(b), self->clock().now()));
}

void session_state::on_response(response_item&& r) {
  if (!owns(r.session_id))
    return;
  if (ph == phase::loading)
    return void(stash.emplace_back(std::move(r)));
  storage::item_key key{sid, key_kind(item_kind::response), r.question_id};
  if (auto [it, inserted] = spooled.try_emplace({key.kind, key.index}, in_flight{0, self->clock().now()}); !inserted)
    ++it->second.copies;
  if (svc->metrics)
    svc->metrics->on_received(item_kind::response, r.element.size());
  auto hash = payload_hash(r.element.data(), r.element.size());
  self->send(svc->spool, atom::append::value,
             spool_item{std::move(key), hash, {}, std::move(r.element), {}, caf::actor_cast<caf::actor>(self)});
}

void session_state::on_end() {
  if (ph == phase::loading)
    return void(stash.emplace_back(session_end{sid}));
  end_requested = true;
  if (!spooled.empty() || (checking > 0 && ph != phase::leaving))
    return; // answered when the last in-flight item is durable and every resend answered
  end_requested = false;
  self->request(svc->spool, svc->end_timeout, atom::end::value, sid)
    .then(
      [this](end_result& r) {
        log::session().info("session#{}: sid={} ended: {} chunks, {} frames", self->id(), sid,
                            r.total_chunks, r.total_frames);
        out->send(end_ack{sid, r.total_chunks, r.total_frames});
      },
      [this](caf::error&) {
        fail(ec::overloaded, "the session could not be completed now (storage busy); send session_end again");
      });
}

void session_state::on_codec_error(const error_reply& err) {
  log::session().info("session#{}: sid={} error {}: {}", self->id(), sid.empty() ? "-" : sid, to_string(err.code),
                      err.message);
  out->send(err);
}

void session_state::apply(pairing::outcome&& o) {
  std::visit(
    [this](auto&& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, pairing::waiting>) {
        arm_expiry();
      } else if constexpr (std::is_same_v<T, pairing::complete>) {
        storage::item_key key{sid, key_kind(x.meta.kind), x.meta.index};
        spooled[{key.kind, key.index}] = in_flight{x.payload.size(), self->clock().now()};
        // While the media disk is full, an ack would only grow the spool with items that cannot
        // become files: refuse now. (A full spool disk fails the commit itself, just as fast.)
        if (svc->health && svc->health->full(storage_health::media))
          return on_spool_failed(key, ec::overloaded);
        if (svc->metrics)
          svc->metrics->on_received(x.meta.kind, x.payload.size());
        log::session().debug("session#{}: sid={} paired {}{} ({} bytes)", self->id(), sid, key.kind,
                             key.index, x.payload.size());
        self->send(svc->spool, atom::append::value,
                   spool_item{std::move(key), x.hash, std::move(x.meta.file_name), std::move(x.meta.element),
                              std::move(x.payload), caf::actor_cast<caf::actor>(self)});
      } else if constexpr (std::is_same_v<T, pairing::duplicate>) {
        if (!x.pending)
          out->send(item_ack{sid, x.kind, x.index, x.size, true});
      } else if constexpr (std::is_same_v<T, pairing::stored>) {
        compare_with_stored(x);
      } else {
        log::session().info("session#{}: sid={} rejected ({}): {}", self->id(), sid, to_string(x.error.code),
                            x.error.message);
        out->send(x.error);
      }
    },
    std::move(o));
}

// -- spool results ----------------------------------------------------------------

void session_state::on_durable(const storage::item_key& key) {
  auto it = spooled.find({key.kind, key.index});
  if (it == spooled.end())
    return;
  auto size = it->second.size;
  if (svc->metrics)
    svc->metrics->ack_latency.observe(std::chrono::duration<double>(self->clock().now() - it->second.since).count());
  if (--it->second.copies == 0)
    spooled.erase(it);
  if (key.kind == key_kind(item_kind::response)) {
    out->send(response_ack{sid, key.index});
  } else {
    auto kind = static_cast<item_kind>(key.kind);
    auto owed = pairs ? pairs->committed(kind, key.index) : 0;
    log::session().debug("session#{}: sid={} durable {}{} (acked{})", self->id(), sid, key.kind, key.index,
                         ph == phase::leaving ? ", connection gone" : "");
    if (ph != phase::leaving) {
      out->send(item_ack{sid, kind, key.index, size, false});
      for (uint32_t i = 0; i < owed; ++i)
        out->send(item_ack{sid, kind, key.index, size, true});
    }
    ++acked;
  }
  if (end_requested && spooled.empty())
    on_end();
  maybe_finish();
}

void session_state::on_spool_failed(const storage::item_key& key, ec code) {
  auto it = spooled.find({key.kind, key.index});
  if (it == spooled.end())
    return;
  if (--it->second.copies == 0)
    spooled.erase(it);
  auto kind = static_cast<item_kind>(key.kind);
  uint32_t owed = 0;
  if (kind != item_kind::response && pairs)
    owed = pairs->failed(kind, key.index);
  for (uint32_t i = 0; i <= owed; ++i)
    fail(code, code == ec::overloaded ? "the disk is full: the item was not stored; send it again later"
                                      : "the item could not be made durable; it was not stored, send it again",
         std::make_pair(kind, key.index));
  if (end_requested && spooled.empty())
    on_end();
  maybe_finish();
}

// The timer waits for the oldest waiting half's deadline instead of checking every interval:
// halves normally pair within milliseconds, and at 10,000 real-time sessions a check after every
// item's first half was thousands of timers and expiry messages a second with nothing to expire.
void session_state::arm_expiry() {
  if (expire_armed || !pairs)
    return;
  auto next = pairs->next_expiry(self->clock().now(), metadata_now());
  if (!next)
    return;
  expire_armed = true;
  const caf::timespan floor{svc->expire_interval};
  self->delayed_send(self, std::max(caf::timespan{*next}, floor), atom::expire::value);
}

// Ages use the actor clock, as the expiry timer does (steady_clock in production; the test
// coordinator's clock in tests, so expiry is testable with advance_time). Metadata ages only
// while no binary frame of the connection is on its way: one waiting unread in the socket on a
// saturated process, or still being read, means the client is not late (pairing::expire).
pairing::clock::time_point session_state::metadata_now() const {
  return self->clock().now() - out->stalled();
}

void session_state::on_expire() {
  expire_armed = false;
  if (!pairs)
    return;
  for (auto& err : pairs->expire(self->clock().now(), metadata_now())) {
    log::session().info("session#{}: sid={} error {}: {}", self->id(), sid, to_string(err.code), err.message);
    out->send(std::move(err));
  }
  arm_expiry();
}

void session_state::fail(ec code, std::string message, std::optional<std::pair<item_kind, uint32_t>> ref) {
  log::session().info("session#{}: sid={} error {}: {}", self->id(), sid.empty() ? "-" : sid, to_string(code), message);
  out->send(error_reply{code, std::move(message), ref});
}

session_debug session_state::debug_view() const {
  static constexpr const char* names[] = {"fresh", "loading", "ready", "leaving"};
  session_debug d;
  d.sid = sid;
  d.phase = names[static_cast<int>(ph)];
  d.actor_id = self->id();
  if (pairs) {
    d.unpaired_halves = pairs->unpaired_count();
    d.unpaired_bytes = pairs->unpaired_bytes();
  }
  d.spooling_items = spooled.size();
  for (auto& [key, f] : spooled)
    d.spooling_bytes += f.size;
  d.acked = acked;
  d.age_s = std::chrono::duration<double>(self->clock().now() - started).count();
  return d;
}

// -- behaviour ----------------------------------------------------------------------

caf::behavior session(caf::stateful_actor<session_state>* self, outbox_ptr out,
                      std::shared_ptr<const session_services> svc) {
  self->state.out = std::move(out);
  self->state.svc = std::move(svc);
  if (auto m = self->state.svc->metrics) {
    self->state.out = std::make_shared<metered_outbox>(std::move(self->state.out), m);
    m->sessions.add();
    self->attach_functor([m] { m->sessions.sub(); });
  }
  self->state.started = self->clock().now();
  return {
    [=](atom::debug) { return self->state.debug_view(); },
    [=](session_init& m) { self->state.on_init(m); },
    [=](item_metadata& m) { self->state.on_metadata(std::move(m)); },
    [=](blob& b) { self->state.on_blob(std::move(b)); },
    [=](response_item& r) { self->state.on_response(std::move(r)); },
    [=](session_end& e) {
      if (self->state.owns(e.session_id))
        self->state.on_end();
    },
    [=](error_reply& e) { self->state.on_codec_error(e); },
    [=](transcription& t) { // routed by the registry (issue 5)
      if (self->state.ph == session_state::phase::ready)
        self->state.out->send(std::move(t));
    },
    [=](atom::durable, std::vector<storage::item_key>& keys) {
      for (auto& key : keys)
        self->state.on_durable(key);
    },
    [=](atom::spoolfail, storage::item_key& key, caf::error& err) { self->state.on_spool_failed(key, to_ec(err)); },
    [=](atom::expire) { self->state.on_expire(); },
    [=](atom::replaced) {
      self->state.fail(ec::session_mismatch, "replaced by a newer connection for this session");
      self->state.leave(1008, "replaced by a newer connection for this session");
    },
    [=](atom::drain) { self->state.on_drain(); },
    [=](atom::closed) { self->state.leave(1000, "connection closed"); },
  };
}

} // namespace mediaspool
