#pragma once
// Answers GET /api/sessions/{sid}/recording.webm: assembles the session's audio chunks into one
// WebM/Opus file (audio/recording_assembler.hpp) under <media root>/<sid>/cache/, named by a
// fingerprint of the chunks it holds, so a request after new chunks arrived builds a new file
// and every other request is a stat. The build runs here, on the actor's own thread (detached:
// decoding, encoding, file I/O and libpqxx all block); requests for one session queue behind
// its build instead of building twice.
#include "actors/protocol.hpp"
#include "storage/media_store.hpp"

#include <memory>
#include <string>

namespace mediaspool {

struct recording_builder_state {
  static inline const char* name = "recording";
  std::unique_ptr<storage::pg_store> pg;
  std::shared_ptr<const storage::media_store> media;

  /// Finds or builds the recording of `sid` (a lower-case UUID).
  caf::result<recording_file> serve(const std::string& sid);
};

recording_actor::behavior_type recording_builder(recording_actor::stateful_pointer<recording_builder_state> self,
                                                 std::string db_url,
                                                 std::shared_ptr<const storage::media_store> media);

/// The cache file name for a list of chunks: "recording-<16 hex digits>.webm".
std::string recording_cache_name(const std::vector<storage::pg_audio_chunk>& chunks);

} // namespace mediaspool
