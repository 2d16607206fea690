#pragma once
// One recognition worker (issue 5): reads an audio chunk file, decodes it to 16 kHz PCM and runs
// the engine, answering each asr_job with an asr_result. Its engine (the pocketsphinx model,
// ~140 MB) is loaded once, on the first job, on the worker's own thread, which also gets a lower
// CPU priority (nice) so that recognition yields the cores to ingest. Blocking: spawn it detached.
#include "actors/protocol.hpp"
#include "asr/engine.hpp"

#include <memory>
#include <string>

namespace mediaspool {

struct transcriber_config {
  asr::engine_config engine;
  int nice = 10; ///< added to the worker thread's nice value (0: unchanged)
};

struct transcriber_state {
  static inline const char* name = "transcriber";

  transcriber_config cfg;
  bool started = false;
  std::unique_ptr<asr::engine> engine;
  std::string engine_error;

  asr_result run(const asr_job& job);
};

caf::behavior transcriber(caf::stateful_actor<transcriber_state>* self, transcriber_config cfg);

} // namespace mediaspool
