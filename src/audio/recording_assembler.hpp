#pragma once
// A session's audio chunks -> one WebM/Opus file: each chunk decoded to 48 kHz mono PCM and
// re-encoded as one stream (opus_webm_writer.hpp says why a copy cannot work). Chunks are placed
// on the session's clock: when a chunk starts later than the audio written so far (a chunk that
// never arrived, a pause, the few ms MediaRecorder loses at each restart adding up), silence
// fills the gap, so offsets in the recording equal offsets in the timestamps, frames and
// transcript. A chunk that cannot be decoded (a ~110-byte empty WebM from a stop right after a
// start, garbage) is skipped and reported, never fatal. Streams chunk by chunk: memory stays at
// one chunk whatever the session's length. Pure: no CAF.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mediaspool::audio {

struct recording_chunk {
  uint32_t index = 0;
  std::string path;                ///< the stored chunk file
  std::string mime_type;           ///< "audio/webm" (default) or "audio/mp4"
  std::optional<int64_t> start_us; ///< start_timestamp, microseconds since the epoch
};

struct recording_report {
  std::string error;                 ///< empty on success (a file was written)
  uint32_t chunks_used = 0;
  std::vector<std::string> skipped;  ///< "chunk 7: reason"
  double seconds = 0;                ///< duration of the written file
  double silence_seconds = 0;        ///< of which filled gaps

  bool ok() const noexcept { return error.empty(); }
};

/// Gaps shorter than this are not filled (chunk restarts lose a few ms each; filling those would
/// only add clicks). Longer gaps than `max_gap_us` are taken as a wrong clock, not a pause.
inline constexpr int64_t min_gap_us = 250'000;
inline constexpr int64_t max_gap_us = 6LL * 3600 * 1'000'000;

/// Writes `chunks` (in the order given; the caller sorts by index) to `out_path`. Fails if no
/// chunk decodes; `out_path` is then not left behind.
recording_report assemble_recording(const std::vector<recording_chunk>& chunks, const std::string& out_path);

} // namespace mediaspool::audio
