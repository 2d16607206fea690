#pragma once
// Answers the review API's read-only questions: the sessions list, one session as JSON, and
// where a stored media file is. Blocking (libpqxx, stat): the supervisor spawns a few detached,
// each with its own PostgreSQL connection. Errors: db_unavailable -> ec::overloaded (retry
// later), any other store error -> ec::internal.
#include "actors/protocol.hpp"
#include "storage/media_store.hpp"

#include <memory>
#include <string>

namespace mediaspool {

struct query_state {
  static inline const char* name = "query";
  std::unique_ptr<storage::pg_store> pg;
  std::shared_ptr<const storage::media_store> media;

  /// The file of an audio chunk (.webm, else .mp4) or a frame (.jpg); empty path if absent.
  media_file locate(const media_file_query& q) const;
};

query_actor::behavior_type query(query_actor::stateful_pointer<query_state> self,
                                          std::string db_url,
                                          std::shared_ptr<const storage::media_store> media);

} // namespace mediaspool
