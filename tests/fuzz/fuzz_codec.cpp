// Fuzz target: the wire codec (net/codec.hpp). The first byte picks a text frame (JSON message)
// or a binary frame (41-byte header + payload); the rest is the frame. Whatever the bytes, the
// codec returns a message or an error (never throws, never crashes), and what it accepts is
// consistent with the input: every stored element and every ack it writes is one JSON value.
#include "net/codec.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

using namespace mediaspool;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  const net::codec_limits limits{4096, 2048, 1024};
  const char* body = reinterpret_cast<const char*>(data + 1);
  const size_t n = size - 1;
  if (data[0] & 1) {
    auto r = net::parse_text(std::string_view(body, n), limits);
    if (auto* err = std::get_if<error_reply>(&r)) {
      (void)net::serialize(*err); // every error must serialize
    } else if (n > limits.max_text_bytes) {
      std::abort(); // accepted a text above the limit
    } else if (auto* m = std::get_if<item_metadata>(&std::get<net::client_text>(r))) {
      // The element goes to PostgreSQL verbatim; the ack quotes the session id.
      if (!nlohmann::json::accept(m->element)
          || !nlohmann::json::accept(net::serialize(item_ack{m->session_id, m->kind, m->index, m->size, false})))
        std::abort();
    } else if (auto* resp = std::get_if<response_item>(&std::get<net::client_text>(r))) {
      if (!nlohmann::json::accept(resp->element))
        std::abort();
    }
  } else {
    auto buf = std::make_shared<const byte_vector>(body, body + n);
    auto r = net::parse_blob(shared_bytes{buf, 0}, limits);
    if (auto* b = std::get_if<blob>(&r)) {
      if (n < net::blob_header_size || b->payload.size() != n - net::blob_header_size
          || b->payload.data() != buf->data() + net::blob_header_size)
        std::abort(); // a payload that is not the bytes after the header, or a copy of them
      if (b->payload.size() > (b->kind == item_kind::audio ? limits.max_audio_bytes : limits.max_frame_bytes))
        std::abort();
      auto header = net::make_blob_header(b->session_id, b->kind, b->index);
      if (header.size() != net::blob_header_size)
        std::abort();
    } else {
      (void)net::serialize(std::get<error_reply>(r));
    }
  }
  return 0;
}
