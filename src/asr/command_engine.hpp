#pragma once
// An engine that runs an external recognizer (e.g. whisper.cpp) per chunk: the PCM is written as
// a 16 kHz mono WAV to a temp file, the configured shell command line runs with that path ("{}"
// in the command is replaced by it, else it is appended), and its stdout, whitespace-collapsed,
// is the text. A non-zero exit status is an error. No word timings. A run past its timeout, or
// printing more than 1 MiB, is killed with every process it started, so a hung recognizer costs
// its worker one timeout per chunk instead of the worker.
#include "asr/engine.hpp"

namespace mediaspool::asr {

class command_engine final : public engine {
public:
  command_engine(std::string command, std::string temp_dir, std::chrono::milliseconds timeout);

  recognition recognize(const std::vector<int16_t>& pcm) override;
  const char* name() const noexcept override { return "command"; }

private:
  std::string command_;
  std::string temp_dir_;
  std::chrono::milliseconds timeout_;
};

} // namespace mediaspool::asr
