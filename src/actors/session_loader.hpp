#pragma once
// Answers session_init: makes sure the session row exists and lists what the session already
// holds. The spool is read BEFORE PostgreSQL: a record leaves the spool only after its row is
// committed, so an item that moves between the two reads is still found in PostgreSQL.
// Blocking (libpqxx): spawn it detached; the supervisor starts a few.
//
// Inits that queue up while it works are served together: their rows are made in ONE
// transaction, so a storm of them (every recorder resuming after a restart) shares each commit's
// WAL flush instead of paying one flush per session.
#include "actors/admission.hpp"
#include "actors/protocol.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mediaspool {

struct pending_init {
  session_init init;
  caf::typed_response_promise<init_result> promise;
};

struct session_loader_state {
  static inline const char* name = "session_loader";
  std::shared_ptr<storage::spool> spool;
  std::unique_ptr<storage::pg_store> pg;
  std::string media_root;
  std::optional<std::string> node_id; ///< written into the session row at init (scale-out)
  std::shared_ptr<admission> gate;    ///< may be null: every session is taken
  std::vector<pending_init> pending;  ///< arrived since the last batch; a flush to self is on its way
  std::chrono::steady_clock::time_point refusal_logged{}; ///< last refusal logged at warn level
  uint64_t refusals_unlogged = 0;                         ///< refusals since then (logged at debug)
};

session_loader_actor::behavior_type
session_loader(session_loader_actor::stateful_pointer<session_loader_state> self,
               std::shared_ptr<storage::spool> spool, std::string db_url, std::string media_root,
               std::string node_id = {}, std::shared_ptr<admission> gate = nullptr);

} // namespace mediaspool
