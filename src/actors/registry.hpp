#pragma once
// One live session actor per session id. A reconnecting client often arrives before the server
// has noticed that its old TCP connection died; the new session actor must not pair and store
// items next to the old one. `claim` answers once the previous owner (told `replaced`) is gone.
#include "actors/protocol.hpp"

#include <map>
#include <string>
#include <vector>

namespace mediaspool {

struct registry_state {
  static inline const char* name = "registry";
  struct entry {
    caf::actor owner;
    std::vector<std::pair<caf::actor, caf::response_promise>> waiting;
  };
  std::map<std::string, entry> sessions;
  std::map<caf::actor_addr, std::string> by_owner;
};

caf::behavior registry(caf::stateful_actor<registry_state>* self);

} // namespace mediaspool
