#pragma once
// What a browser recorder sends, as pure functions of (seed, run id, session number, position):
// the order of items in a session, their sizes, which half goes first, the session's UUID, the
// metadata text and the payload bytes. Nothing here does I/O, so the same numbers can be
// recomputed later to verify what the server stored (see --emit-payload).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loadgen {

struct options;

enum class kind : char { audio = 'a', frame = 'f' };

/// One item of a session: the n-th thing the recorder produces.
struct item_plan {
  uint64_t position = 0; ///< 0-based place in the session's sequence (warm-up included)
  kind k = kind::frame;
  uint32_t index = 0;    ///< chunk_index or frame_index
  uint64_t at_ms = 0;    ///< recording time at which the browser has it ready
  uint32_t size = 0;     ///< payload bytes
  bool meta_after = false;
};

/// Bytes that precede the shared pool slice in a blob: the 41-byte header, then a 16-byte stamp
/// that makes every payload unique and self-describing (a magic like the real container's, the
/// session number and the index).
inline constexpr size_t blob_header_size = 41;
inline constexpr size_t stamp_size = 16;
struct blob_head {
  std::array<char, blob_header_size + stamp_size> bytes{};
  size_t size = 0;
};

/// splitmix64: the one mixing function every deterministic choice goes through.
uint64_t mix(uint64_t x) noexcept;
uint64_t mix(uint64_t a, uint64_t b, uint64_t c = 0, uint64_t d = 0) noexcept;

class recorder_model {
public:
  explicit recorder_model(const options& o);

  /// The session's UUID: a function of (seed, run id, session number), version-4 shaped.
  std::string session_uuid(uint32_t session) const;

  /// Walks a session's item sequence: audio chunk k is ready at (k + 1) * audio interval (the
  /// MediaRecorder hands a chunk over when its timeslice ends), frame k at k * frame interval.
  /// Equal times put the frame first. An interval of 0 leaves that kind out.
  class sequence {
  public:
    sequence(const recorder_model& m, uint32_t session) : m_(&m), session_(session) {}
    item_plan next();
    uint64_t position() const noexcept { return pos_; }

  private:
    const recorder_model* m_;
    uint32_t session_;
    uint64_t pos_ = 0;
    uint32_t audio_ = 0;
    uint32_t frame_ = 0;
  };

  uint32_t payload_size(uint32_t session, kind k, uint32_t index) const noexcept;
  /// The item's place in its session's sequence (what sequence::next gives it as position).
  uint64_t position_of(kind k, uint32_t index) const noexcept;
  bool meta_after(uint32_t session, kind k, uint32_t index) const noexcept;

  /// Header + stamp for a blob; the payload continues with pool_slice(...).
  blob_head head(const std::string& uuid, uint32_t session, kind k, uint32_t index) const;
  /// The payload bytes after the stamp: a read-only window into the shared random pool.
  std::string_view pool_slice(uint32_t session, kind k, uint32_t index, uint32_t size) const noexcept;
  /// The whole payload (stamp + slice) as one string: for --emit-payload and tests.
  std::string payload(uint32_t session, kind k, uint32_t index) const;

  std::string audio_metadata(const std::string& uuid, const item_plan& it, uint64_t session_epoch_ms) const;
  std::string frame_metadata(const std::string& uuid, const item_plan& it, uint64_t session_epoch_ms) const;
  std::string session_init(const std::string& uuid, uint32_t session, uint64_t now_ms) const;
  static std::string session_end(const std::string& uuid);

  uint64_t audio_interval_ms() const noexcept { return audio_ms_; }
  uint64_t frame_interval_ms() const noexcept { return frame_ms_; }
  uint32_t max_payload() const noexcept { return max_payload_; }
  /// True if audio payloads are the --speech-dir files (no stamp: they must stay valid WebM).
  bool speech() const noexcept { return !speech_.empty(); }

private:
  uint64_t seed_;
  uint64_t run_id_;
  uint64_t audio_ms_;
  uint64_t frame_ms_;
  uint32_t audio_size_;
  uint32_t frame_size_;
  uint32_t warmup_;         ///< the first warmup_ positions are warm-up items
  uint32_t warmup_payload_; ///< their payload size; 0: as the others
  double jitter_;
  double meta_after_ratio_;
  int64_t user_id_;
  std::string token_;
  uint32_t max_payload_;
  std::vector<std::string> speech_; ///< --speech-dir files: the audio payloads when not empty
  std::vector<char> pool_;
  size_t pool_span_; ///< offsets are drawn from [0, pool_span_) so any slice fits
};

/// "2025-12-17T09:21:15.134Z" for milliseconds since the Unix epoch.
std::string iso8601_ms(uint64_t epoch_ms);

} // namespace loadgen
