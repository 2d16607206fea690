// The session's resends of items it holds but no longer has hashes for (session.hpp): they are
// compared with the stored copy, which the session loader reads from the spool or PostgreSQL.
#include "actors/session.hpp"

namespace mediaspool {

// A resend of an item held before the last few commits: storage has its hash (the session keeps
// only which indexes it holds). Rare: a client resends only what session_init_ack did not list.
void session_state::compare_with_stored(const pairing::stored& resend) {
  ++checking;
  storage::item_key key{sid, static_cast<char>(resend.kind), resend.index};
  auto answered = [this] {
    --checking;
    if (end_requested)
      on_end(); // it waits on its own while items are in flight or other resends are compared
    maybe_finish();
  };
  self->request(loader_of_session(), svc->init_timeout, atom::lookup::value, key)
    .then(
      [this, resend, answered](stored_copy& copy) {
        if (ph != phase::leaving) {
          if (copy.found)
            apply(pairing::judge(resend, copy.hash, copy.size));
          else
            fail(ec::internal, "held, but its stored copy was not found; it was not stored again",
                 std::make_pair(resend.kind, resend.index));
        }
        answered();
      },
      [this, resend, answered](caf::error&) {
        if (ph != phase::leaving)
          fail(ec::overloaded, "could not be compared with the stored copy now; send it again",
               std::make_pair(resend.kind, resend.index));
        answered();
      });
}

} // namespace mediaspool
