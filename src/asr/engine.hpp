#pragma once
// A speech recognizer: 16 kHz mono PCM in, text (and word timings if the engine has them) out.
// An engine instance is used by one thread at a time (one per transcriber worker); it loads its
// model once, at construction. Pure: no CAF.
#include <cstdint>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace mediaspool::asr {

struct word_timing {
  std::string word;
  uint32_t start_ms = 0; ///< from the start of the recognized PCM
  uint32_t end_ms = 0;
};

struct recognition {
  std::string text;               ///< words separated by single spaces; may be empty (silence)
  std::vector<word_timing> words; ///< empty if the engine gives no timings
  std::string error;              ///< empty on success

  bool ok() const noexcept { return error.empty(); }
};

class engine {
public:
  virtual ~engine() = default;
  /// Recognizes one chunk. Never throws.
  virtual recognition recognize(const std::vector<int16_t>& pcm) = 0;
  virtual const char* name() const noexcept = 0;
};

struct engine_config {
  std::string kind = "pocketsphinx"; ///< "pocketsphinx" | "command"
  std::string model_dir = "/usr/share/pocketsphinx/model/en-us"; ///< pocketsphinx
  /// pocketsphinx: extra decoder options, "-name value ...". This default halves the CPU per audio
  /// second of pocketsphinx's own defaults at the same word error rate on flite speech (README,
  /// measured with bench/asr_bench).
  std::string options = "-maxhmmpf 3000 -fwdflat no -topn 2 -maxwpf 10";
  std::string command;     ///< command: a shell command line; "{}" is replaced by the WAV path,
                           ///< else the path is appended as the last argument
  std::string temp_dir = "/tmp";
  /// command: a run taking longer is killed (its whole process group) and the chunk gets an error.
  std::chrono::milliseconds command_timeout{60000};
};

/// The configured engine, or nullptr with `error` set (unknown kind, model not loadable).
std::unique_ptr<engine> make_engine(const engine_config& cfg, std::string& error);

} // namespace mediaspool::asr
