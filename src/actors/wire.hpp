#pragma once
// The messages of PROTOCOL.md as plain C++ values: what the codec parses from clients and what the
// session actor answers. No CAF and no JSON library here: the codec (net/) converts.
#include "actors/ec.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace mediaspool {

/// What an item is: an audio chunk, a video frame or a question response.
enum class item_kind : char { audio = 'a', frame = 'f', response = 'r' };

/// An allocator whose value-less construct() leaves the bytes uninitialised: a buffer that grows
/// to take the next socket read is then not zero-filled first (that memset was ~1/10 of the
/// network thread's time at 64 KB items).
template <class T>
struct uninitialized_allocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = uninitialized_allocator<U>;
  };
  uninitialized_allocator() = default;
  template <class U>
  uninitialized_allocator(const uninitialized_allocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

/// The buffer a payload lives in from the socket read to its last user.
using byte_vector = std::vector<char, uninitialized_allocator<char>>;

/// Bytes read once from the socket and shared read-only by every later user (spool, file writer).
/// `offset` skips the 41-byte binary header that shares the buffer.
struct shared_bytes {
  std::shared_ptr<const byte_vector> buf;
  size_t offset = 0;

  const char* data() const noexcept { return buf ? buf->data() + offset : nullptr; }
  size_t size() const noexcept { return buf ? buf->size() - offset : 0; }
};

// -- client -> server ---------------------------------------------------------

struct session_init {
  std::string session_id; ///< lower-case UUID
  std::optional<int64_t> interview_session_id;
  std::optional<int64_t> user_id;
  std::string timestamp;
  std::string token;                ///< cleared by the network layer once checked: never logged
  std::optional<int64_t> owner;     ///< set when authenticated: only this user may open the session
};

/// audio_metadata or frame_metadata, already turned into the JSONB element that will be stored.
struct item_metadata {
  std::string session_id;
  item_kind kind = item_kind::audio;
  uint32_t index = 0;
  uint64_t size = 0;
  std::string file_name; ///< "chunk_3.webm", "frame_7.jpg"
  std::string element;   ///< the JSONB array element as JSON text (PROTOCOL section 3)
};

/// response_metadata, already turned into its JSONB element.
struct response_item {
  std::string session_id;
  uint32_t question_id = 0;
  std::string element;
};

struct session_end {
  std::string session_id;
};

/// The parsed 41-byte header of a binary frame plus its payload.
struct blob {
  std::string session_id; ///< trimmed, lower-case
  item_kind kind = item_kind::audio;
  uint32_t index = 0;
  shared_bytes payload;
};

// -- server -> client ---------------------------------------------------------

/// Inclusive index ranges, as in `audio_received`.
using index_ranges = std::vector<std::pair<uint32_t, uint32_t>>;

struct init_ack {
  std::string session_id;
  bool resumed = false;
  index_ranges audio_received;
  index_ranges frames_received;
};

struct item_ack {
  std::string session_id;
  item_kind kind = item_kind::audio;
  uint32_t index = 0;
  uint64_t file_size = 0;
  bool duplicate = false;
};

struct response_ack {
  std::string session_id;
  uint32_t question_id = 0;
};

struct end_ack {
  std::string session_id;
  uint64_t total_chunks = 0;
  uint64_t total_frames = 0;
};

struct error_reply {
  ec code = ec::internal;
  std::string message;
  std::optional<std::pair<item_kind, uint32_t>> ref;
};

/// A chunk's transcription, pushed to the still-connected client (issue 5).
struct transcription {
  std::string session_id;
  uint32_t chunk_index = 0;
  std::string text;
};

using server_message = std::variant<init_ack, item_ack, response_ack, end_ack, error_reply, transcription>;

/// Builds sorted inclusive ranges from indexes (any order, duplicates allowed).
index_ranges to_ranges(std::vector<uint32_t> indexes);

/// Adds first..last to sorted, disjoint, non-adjacent ranges, merging as needed (appending after
/// the last range, the usual case, costs O(1)).
void add_range(index_ranges& ranges, uint32_t first, uint32_t last);

/// Whether `index` is in the (sorted, disjoint) ranges.
bool in_ranges(const index_ranges& ranges, uint32_t index) noexcept;

/// Number of indexes the ranges cover.
uint64_t range_count(const index_ranges& ranges) noexcept;

/// True if `s` is a UUID in 8-4-4-4-12 hex form (any case).
bool is_uuid(const std::string& s) noexcept;

} // namespace mediaspool
