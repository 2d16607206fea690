#pragma once
// Compressed audio chunk (WebM/Opus, or Opus/AAC in MP4) in memory -> mono signed 16-bit PCM
// (16 kHz for recognition, 48 kHz for the assembled recording), through libavformat with a
// custom AVIOContext and libswresample (STACK.md section 6).
// Pure: no CAF, no files. Never throws and never crashes on bad input: every failure is an error
// text in the result.
//
// Continuation chunks (MediaRecorder timeslices) carry no WebM header and cannot be opened alone
// (STACK.md: "A WebM cut mid-stream cannot be opened"). The caller passes the session's first
// chunk as `header_source`; its bytes before the first Cluster (EBML header, Segment, Tracks)
// are then prepended to a chunk that does not start with the EBML magic.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mediaspool::audio {

inline constexpr int pcm_rate = 16000;

enum class container { webm, mp4 };

struct decode_result {
  std::vector<int16_t> pcm; ///< mono at `rate`
  std::string error;        ///< empty on success
  int rate = pcm_rate;

  bool ok() const noexcept { return error.empty(); }
  double seconds() const noexcept { return static_cast<double>(pcm.size()) / rate; }
};

/// "audio/mp4" -> mp4, anything else (the default "audio/webm") -> webm.
container container_for_mime(std::string_view mime_type) noexcept;

/// True if `bytes` start with the EBML magic 1A 45 DF A3 (a self-contained WebM).
bool has_ebml_header(std::string_view bytes) noexcept;

/// The bytes of a WebM before its first Cluster element; empty if `first_chunk` is not a WebM
/// or has no Cluster.
std::string_view webm_header_prefix(std::string_view first_chunk) noexcept;

/// Decodes `bytes` to mono signed 16-bit PCM at `rate` Hz (16 kHz for recognition, 48 kHz for
/// the assembled recording). For webm without the EBML magic and a non-empty `header_source`, the
/// header prefix of `header_source` is prepended first.
decode_result decode_audio(std::string_view bytes, container c, std::string_view header_source = {},
                           int rate = pcm_rate);

} // namespace mediaspool::audio
