#pragma once
// Test speech: flite reads a text (voice rms: pocketsphinx recognizes it well, STACK.md §6), and
// the ffmpeg CLI encodes it to WebM/Opus chunks of a given length, each a self-contained file as
// MediaRecorder's stop/start cycle makes them. Plus the word-level comparison the transcription
// tests use. Test-only; needs the flite and ffmpeg Debian packages (scripts/setup.sh).
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace mediaspool::test {

/// The ~40-word paragraph the transcription tests speak (about 14 s with voice rms).
inline const char* speech_text() {
  return "hello my name is john and i am applying for the software engineer position. "
         "i have worked for five years on web services in python and java. "
         "thank you for inviting me to this interview. i would like to talk about my last project.";
}

inline std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Runs a shell command quietly; true on exit status 0.
inline bool run_quiet(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

/// flite speech of `text` as a WAV at `wav`; false if flite failed.
inline bool make_speech_wav(const std::string& text, const std::filesystem::path& wav, const std::string& voice = "rms") {
  auto txt = wav.string() + ".txt";
  std::ofstream(txt) << text;
  return run_quiet("flite -voice " + voice + " -f '" + txt + "' -o '" + wav.string() + "'");
}

/// Encodes `wav` to WebM/Opus chunks of `seconds` each in `dir` (chunk_0.webm, chunk_1.webm ...),
/// every one a complete file. Returns their paths in order (empty if ffmpeg failed).
inline std::vector<std::filesystem::path> encode_webm_chunks(const std::filesystem::path& wav,
                                                             const std::filesystem::path& dir, int seconds) {
  std::filesystem::create_directories(dir);
  if (!run_quiet("ffmpeg -nostdin -y -i '" + wav.string() + "' -ac 1 -c:a libopus -b:a 32k -f segment -segment_time "
                 + std::to_string(seconds) + " -segment_format webm -reset_timestamps 1 '" + (dir / "chunk_%d.webm").string()
                 + "'"))
    return {};
  std::vector<std::filesystem::path> out;
  for (int i = 0; std::filesystem::exists(dir / ("chunk_" + std::to_string(i) + ".webm")); ++i)
    out.push_back(dir / ("chunk_" + std::to_string(i) + ".webm"));
  return out;
}

/// Lower-case words without punctuation.
inline std::vector<std::string> words_of(const std::string& text) {
  std::string clean;
  for (char c : text)
    clean += std::isalnum(static_cast<unsigned char>(c)) || c == '\'' ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : ' ';
  std::istringstream in{clean};
  return {std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
}

/// Word-level edit distance between reference and hypothesis.
inline size_t word_edits(const std::vector<std::string>& ref, const std::vector<std::string>& hyp) {
  std::vector<size_t> prev(hyp.size() + 1), cur(hyp.size() + 1);
  for (size_t j = 0; j <= hyp.size(); ++j)
    prev[j] = j;
  for (size_t i = 1; i <= ref.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= hyp.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ref[i - 1] == hyp[j - 1] ? 0u : 1u)});
    std::swap(prev, cur);
  }
  return prev[hyp.size()];
}

/// Word error rate of `hyp` against `ref`.
inline double word_error_rate(const std::string& ref, const std::string& hyp) {
  auto r = words_of(ref);
  return r.empty() ? 0.0 : static_cast<double>(word_edits(r, words_of(hyp))) / static_cast<double>(r.size());
}

/// Fraction of the reference words that the hypothesis contains, matched in order (LCS / |ref|).
inline double words_recognized(const std::string& ref, const std::string& hyp) {
  auto r = words_of(ref), h = words_of(hyp);
  std::vector<size_t> prev(h.size() + 1, 0), cur(h.size() + 1, 0);
  for (size_t i = 1; i <= r.size(); ++i) {
    for (size_t j = 1; j <= h.size(); ++j)
      cur[j] = r[i - 1] == h[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    std::swap(prev, cur);
  }
  return r.empty() ? 1.0 : static_cast<double>(prev[h.size()]) / static_cast<double>(r.size());
}

} // namespace mediaspool::test
