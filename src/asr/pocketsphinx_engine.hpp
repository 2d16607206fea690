#pragma once
// The built-in engine: pocketsphinx 5prealpha (Debian) with the pocketsphinx-en-us model, through
// the cmd_ln API (STACK.md section 6). A decoder is not thread-safe: one engine per worker.
#include "asr/engine.hpp"

#include <string>
#include <vector>

namespace mediaspool::asr {

class pocketsphinx_engine final : public engine {
public:
  /// Loads the model from `model_dir` (holding en-us/, en-us.lm.bin, cmudict-en-us.dict) with
  /// extra decoder `options` ("-name value" pairs separated by spaces, e.g. "-fwdflat no");
  /// check ok() afterwards (a malformed option is a load error).
  explicit pocketsphinx_engine(const std::string& model_dir, const std::string& options = {});
  ~pocketsphinx_engine() override;

  pocketsphinx_engine(const pocketsphinx_engine&) = delete;
  pocketsphinx_engine& operator=(const pocketsphinx_engine&) = delete;

  bool ok() const noexcept { return ps_ != nullptr; }
  const std::string& load_error() const noexcept { return error_; }

  recognition recognize(const std::vector<int16_t>& pcm) override;
  const char* name() const noexcept override { return "pocketsphinx"; }

private:
  std::vector<std::string> args_; // argv of the configuration
  void* cfg_ = nullptr; // cmd_ln_t*
  void* ps_ = nullptr;  // ps_decoder_t*
  std::string error_;
};

} // namespace mediaspool::asr
