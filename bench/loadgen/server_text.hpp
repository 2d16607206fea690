#pragma once
// Reads the server's text frames (PROTOCOL.md section 1, server -> client). Item acks are by far
// the most frequent message, so they take a scanning fast path over the compact JSON the server
// writes; anything else, or an ack the scan does not recognise, goes through nlohmann::json.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loadgen {

enum class server_type { init_ack, audio_ack, frame_ack, end_ack, response_ack, error, transcription, other, bad };

using index_ranges = std::vector<std::pair<uint32_t, uint32_t>>;

struct server_text {
  server_type type = server_type::bad;
  // audio_ack / frame_ack
  uint32_t index = 0;
  uint64_t file_size = 0;
  bool duplicate = false;
  // session_init_ack
  bool resumed = false;
  index_ranges audio_received;
  index_ranges frames_received;
  // session_end_ack
  uint64_t total_chunks = 0;
  uint64_t total_frames = 0;
  // error
  std::string code;
  bool has_ref = false;
  char ref_kind = 0;
  uint32_t ref_index = 0;
};

server_text parse_server_text(std::string_view text);

/// True if `index` lies in one of the inclusive ranges (sorted or not).
bool in_ranges(const index_ranges& ranges, uint32_t index) noexcept;

} // namespace loadgen
