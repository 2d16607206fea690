#include "asr/pocketsphinx_engine.hpp"

#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#include <filesystem>
#include <sstream>
#include <vector>

namespace mediaspool::asr {

namespace {

ps_decoder_t* dec(void* p) { return static_cast<ps_decoder_t*>(p); }

// Fillers and sentence markers are not words: "<s>", "</s>", "<sil>", "[NOISE]", "++GARBAGE++".
bool is_filler(const std::string& w) {
  return w.empty() || w.front() == '<' || w.front() == '[' || w.front() == '+';
}

// "read(2)" (an alternative pronunciation) -> "read".
std::string base_word(std::string w) {
  if (auto p = w.find('('); p != std::string::npos && p > 0)
    w.erase(p);
  return w;
}

} // namespace

pocketsphinx_engine::pocketsphinx_engine(const std::string& model_dir, const std::string& options) {
  namespace fs = std::filesystem;
  const std::string hmm = model_dir + "/en-us";
  const std::string lm = model_dir + "/en-us.lm.bin";
  const std::string dict = model_dir + "/cmudict-en-us.dict";
  std::error_code ec;
  for (const auto& p : {hmm, lm, dict})
    if (!fs::exists(p, ec)) {
      error_ = "pocketsphinx model file missing: " + p + " (install pocketsphinx-en-us)";
      return;
    }
  // cmd_ln may keep pointers into argv: the strings live as long as the engine.
  auto& args = args_;
  args = {"mediaspool", "-hmm", hmm, "-lm", lm, "-dict", dict, "-logfn", "/dev/null"};
  std::istringstream extra{options};
  for (std::string a; extra >> a;)
    args.push_back(a);
  if ((args.size() - 1) % 2 != 0) {
    error_ = "pocketsphinx: asr.pocketsphinx-options must be \"-name value\" pairs: " + options;
    return;
  }
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  err_set_logfp(nullptr); // parsing would print every option to stderr
  auto* cfg = cmd_ln_parse_r(nullptr, ps_args(), static_cast<int32>(argv.size()), argv.data(), TRUE);
  if (!cfg) {
    error_ = "pocketsphinx: bad configuration (asr.pocketsphinx-options: " + options + ")";
    return;
  }
  cfg_ = cfg;
  ps_ = ps_init(cfg);
  if (!ps_)
    error_ = "pocketsphinx: cannot load the model from " + model_dir;
}

pocketsphinx_engine::~pocketsphinx_engine() {
  if (ps_)
    ps_free(dec(ps_));
  if (cfg_)
    cmd_ln_free_r(static_cast<cmd_ln_t*>(cfg_));
}

recognition pocketsphinx_engine::recognize(const std::vector<int16_t>& pcm) {
  recognition r;
  if (!ps_) {
    r.error = error_;
    return r;
  }
  auto* ps = dec(ps_);
  if (ps_start_utt(ps) < 0) {
    r.error = "pocketsphinx: cannot start an utterance";
    return r;
  }
  if (!pcm.empty() && ps_process_raw(ps, pcm.data(), pcm.size(), FALSE, TRUE) < 0) {
    ps_end_utt(ps);
    r.error = "pocketsphinx: processing failed";
    return r;
  }
  ps_end_utt(ps);
  // The model's frame rate is 100 frames per second: a frame is 10 ms.
  const int frate = cmd_ln_int32_r(static_cast<cmd_ln_t*>(cfg_), "-frate");
  const double ms_per_frame = frate > 0 ? 1000.0 / frate : 10.0;
  for (ps_seg_t* seg = ps_seg_iter(ps); seg != nullptr; seg = ps_seg_next(seg)) {
    const char* w = ps_seg_word(seg);
    std::string word = w ? w : "";
    if (is_filler(word))
      continue;
    int sf = 0, ef = 0;
    ps_seg_frames(seg, &sf, &ef);
    word = base_word(word);
    r.words.push_back({word, static_cast<uint32_t>(sf * ms_per_frame), static_cast<uint32_t>((ef + 1) * ms_per_frame)});
    if (!r.text.empty())
      r.text += ' ';
    r.text += word;
  }
  return r;
}

} // namespace mediaspool::asr
