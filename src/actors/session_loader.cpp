#include "actors/session_loader.hpp"

#include "actors/log.hpp"
#include "actors/thread_name.hpp"

#include <algorithm>

namespace mediaspool {

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
      storage::status s;
      init_result out;
      out.held = st.spool->held(init.session_id, s);
      if (!s.ok()) {
        log::session().error("session_loader#{}: sid={} spool read failed: {}", self->id(),
                             init.session_id, s.message);
        return make_error(ec::internal);
      }
      bool in_spool = !out.held.empty();
      // A node that runs late takes no new sessions (admission.hpp); it asks only then, so the
      // check costs nothing while the node keeps up. Never a row for a session turned away.
      if (st.gate && st.gate->refusing() && !in_spool) {
        const bool known = st.pg->session_exists(init.session_id, s);
        if (s.ok() && !known) {
          st.gate->refused();
          log::session().warn("session_loader#{}: sid={} refused: the network loop runs {} ms late (limit "
                              "limits.admission-lag); resumes are still taken",
                              self->id(), init.session_id, st.gate->lag().count() / 1000);
          return make_error(ec::overloaded);
        }
      }
      bool existed = false;
      std::optional<int64_t> owner;
      s = st.pg->ensure_session({init.session_id, init.interview_session_id, init.user_id,
                                 st.media_root + "/" + init.session_id, st.node_id},
                                existed, &owner);
      if (s.ok() && init.owner && owner != init.owner) {
        log::session().warn("session_loader#{}: sid={} belongs to another user than {}", self->id(), init.session_id,
                            *init.owner);
        return make_error(ec::forbidden);
      }
      if (s.ok()) {
        auto from_pg = st.pg->held(init.session_id, s);
        out.held.insert(out.held.end(), from_pg.begin(), from_pg.end());
      }
      if (!s.ok()) {
        log::session().warn("session_loader#{}: sid={} PostgreSQL unavailable at init: {}", self->id(),
                            init.session_id, s.message);
        return make_error(ec::overloaded);
      }
      // An item in both places (between its commit and its spool delete) counts once.
      std::sort(out.held.begin(), out.held.end(), [](const auto& x, const auto& y) {
        return x.kind != y.kind ? x.kind < y.kind : x.index < y.index;
      });
      out.held.erase(std::unique(out.held.begin(), out.held.end(),
                                 [](const auto& x, const auto& y) { return x.kind == y.kind && x.index == y.index; }),
                     out.held.end());
      out.resumed = existed || in_spool;
      return out;
    },
  };
}

} // namespace mediaspool
