#pragma once
// The pure wire codec of PROTOCOL.md section 1: text messages <-> wire structs, and the 41-byte
// binary header. No I/O, no CAF, never throws on bad input: every malformed input becomes an
// error_reply with its PROTOCOL section 5 code. Fuzzable as is.
#include "actors/wire.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace mediaspool::net {

/// Size of the binary frame header: 36-byte session id, 1-byte kind, 4-byte big-endian index.
inline constexpr size_t blob_header_size = 41;

struct codec_limits {
  uint64_t max_audio_bytes = 8u << 20;
  uint64_t max_frame_bytes = 4u << 20;
  size_t max_text_bytes = 16u << 10;
};

using client_text = std::variant<session_init, item_metadata, response_item, session_end>;

/// Parses one text frame. Errors: bad_json, bad_message, too_large.
std::variant<client_text, error_reply> parse_text(std::string_view text,
                                                  const codec_limits& limits);

/// The answer to a text message of `size` bytes, past limits.max_text_bytes (its bytes are not
/// kept to be parsed).
error_reply too_large_text(size_t size, const codec_limits& limits);

/// Parses one binary frame whose bytes are `frame` (offset 0). On success the blob's payload
/// shares `frame`'s buffer (no copy), starting after the header. Errors: bad_message, too_large
/// (payload above the kind's limit).
std::variant<blob, error_reply> parse_blob(shared_bytes frame, const codec_limits& limits);

/// The 41-byte header for a blob; used by clients, tests and the load generator.
std::string make_blob_header(const std::string& session_id, item_kind kind, uint32_t index);

/// JSON text of a server message (PROTOCOL section 1, server -> client).
std::string serialize(const server_message& msg);

} // namespace mediaspool::net
