#pragma once
// 48 kHz mono PCM in, one WebM/Opus file out (libavcodec's libopus encoder, libavformat's WebM
// muxer). Used to assemble a session's chunks into one playable recording: the chunks are
// decoded and re-encoded as one stream because concatenating WebM files, or copying their Opus
// packets, loses or overlaps audio at every boundary (each chunk restarts its timestamps and
// carries its own encoder pre-skip). Pure: no CAF. Never throws; failures are error texts.
#include <cstdint>
#include <memory>
#include <string>

namespace mediaspool::audio {

inline constexpr int opus_rate = 48000;

class opus_webm_writer {
public:
  opus_webm_writer();
  ~opus_webm_writer();
  opus_webm_writer(const opus_webm_writer&) = delete;
  opus_webm_writer& operator=(const opus_webm_writer&) = delete;

  /// Creates `path` (truncating it). `bitrate` in bits/s. False with error() set on failure.
  bool open(const std::string& path, int bitrate = 48000);

  /// Appends `n` samples (48 kHz mono s16).
  bool write(const int16_t* samples, size_t n);

  /// Appends `n` samples of silence.
  bool write_silence(size_t n);

  /// Flushes the encoder, writes the trailer (with the duration) and closes the file.
  bool finish();

  /// Samples written so far.
  uint64_t samples() const noexcept { return samples_; }

  const std::string& error() const noexcept { return error_; }

private:
  struct impl;
  bool encode_pending(bool final);
  bool fail(std::string what, int rc);

  std::unique_ptr<impl> p_;
  uint64_t samples_ = 0;
  std::string error_;
};

} // namespace mediaspool::audio
