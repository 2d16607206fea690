#include "actors/registry.hpp"

#include "actors/log.hpp"

namespace mediaspool {

namespace {

void grant(caf::stateful_actor<registry_state>* self, const std::string& sid, caf::actor owner,
           caf::response_promise rp) {
  auto& e = self->state.sessions[sid];
  e.owner = owner;
  self->state.by_owner[owner.address()] = sid;
  self->monitor(owner);
  rp.deliver(atom::ok::value);
}

} // namespace

caf::behavior registry(caf::stateful_actor<registry_state>* self) {
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    auto o = st.by_owner.find(dm.source);
    if (o == st.by_owner.end())
      return;
    auto sid = o->second;
    st.by_owner.erase(o);
    auto it = st.sessions.find(sid);
    if (it == st.sessions.end())
      return;
    if (it->second.waiting.empty()) {
      st.sessions.erase(it);
      return;
    }
    // The newest claimant wins; older ones were superseded while they waited.
    auto waiting = std::move(it->second.waiting);
    it->second.waiting.clear();
    for (size_t i = 0; i + 1 < waiting.size(); ++i) {
      self->send(waiting[i].first, atom::replaced::value);
      waiting[i].second.deliver(make_error(ec::session_mismatch));
    }
    grant(self, sid, waiting.back().first, waiting.back().second);
  });
  return {
    // The live session actors, for GET /api/debug/actors.
    [=](atom::debug) {
      std::vector<caf::actor> out;
      for (auto& [sid, e] : self->state.sessions)
        if (e.owner)
          out.push_back(e.owner);
      return out;
    },
    // A transcription goes to the session's live actor, if the client is still connected.
    [=](atom::asrpush, transcription& t) {
      auto it = self->state.sessions.find(t.session_id);
      if (it != self->state.sessions.end() && it->second.owner)
        self->send(it->second.owner, std::move(t));
    },
    [=](atom::claim, const std::string& sid) -> caf::response_promise {
      auto sender = caf::actor_cast<caf::actor>(self->current_sender());
      auto rp = self->make_response_promise();
      auto it = self->state.sessions.find(sid);
      if (it == self->state.sessions.end() || !it->second.owner) {
        grant(self, sid, sender, rp);
        return rp;
      }
      if (it->second.owner == sender) {
        rp.deliver(atom::ok::value);
        return rp;
      }
      log::session().info("registry: sid={} taken over by a new connection; the old one is closed", sid);
      self->send(it->second.owner, atom::replaced::value);
      it->second.waiting.emplace_back(sender, rp);
      return rp;
    },
  };
}

} // namespace mediaspool
