#pragma once
// A 16-bit PCM mono RIFF/WAVE file, for engines that read files and for tests.
#include <cstdint>
#include <string>
#include <vector>

namespace mediaspool::asr {

/// The complete WAV file bytes of `pcm` at `rate` Hz, mono, s16le.
std::string wav_bytes(const std::vector<int16_t>& pcm, int rate);

/// The samples of a mono s16le WAV (`rate` set from its header); false if it is not one.
bool parse_wav(const std::string& bytes, std::vector<int16_t>& pcm, int& rate);

} // namespace mediaspool::asr
