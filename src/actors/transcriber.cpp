#include "actors/transcriber.hpp"

#include "actors/log.hpp"
#include "actors/thread_name.hpp"
#include "audio/audio_decoder.hpp"

#include <nlohmann/json.hpp>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <iterator>

namespace mediaspool {

namespace {

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// The whole file, or false if it cannot be opened (not there yet).
bool read_file(const std::string& path, std::string& out) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

asr_result retry(const asr_job& job, std::string why) {
  asr_result r;
  r.session_id = job.session_id;
  r.index = job.index;
  r.retry = true;
  r.reason = std::move(why);
  return r;
}

} // namespace

asr_result transcriber_state::run(const asr_job& job) {
  if (!started) {
    started = true;
    // Linux nice values are per thread: this lowers only this worker's thread.
    if (cfg.nice != 0)
      setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), cfg.nice);
    engine = asr::make_engine(cfg.engine, engine_error);
    if (!engine)
      log::asr().error("transcriber: engine {} unavailable: {}", cfg.engine.kind, engine_error);
  }
  if (!engine)
    return retry(job, "engine unavailable: " + engine_error);
  std::string bytes, header;
  if (!read_file(job.path, bytes))
    return retry(job, "audio file not there yet: " + job.path);
  const auto kind = audio::container_for_mime(job.mime_type);
  if (kind == audio::container::webm && !audio::has_ebml_header(bytes) && job.header_path != job.path
      && !read_file(job.header_path, header))
    return retry(job, "continuation chunk, and the session's first chunk is not there yet");
  const double t0 = thread_cpu_seconds();
  auto pcm = audio::decode_audio(bytes, kind, header);
  asr_result r;
  r.session_id = job.session_id;
  r.index = job.index;
  nlohmann::json patch;
  if (!pcm.ok()) {
    r.reason = pcm.error;
    patch = {{"transcription", nullptr}, {"processed", true}, {"transcription_error", pcm.error}};
  } else {
    auto rec = engine->recognize(pcm.pcm);
    if (!rec.ok())
      return retry(job, "recognition failed: " + rec.error);
    r.text = rec.text;
    patch = {{"transcription", rec.text}, {"processed", true}};
    if (!rec.words.empty()) {
      auto words = nlohmann::json::array();
      for (auto& w : rec.words)
        words.push_back({{"word", w.word}, {"start_ms", w.start_ms}, {"end_ms", w.end_ms}});
      patch["words"] = std::move(words);
    }
  }
  r.audio_seconds = pcm.seconds();
  r.cpu_seconds = thread_cpu_seconds() - t0;
  r.patch = patch.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

caf::behavior transcriber(caf::stateful_actor<transcriber_state>* self, transcriber_config cfg) {
  name_this_thread("ms.asr");
  self->state.cfg = std::move(cfg);
  return {
    [=](atom::asrjob, const asr_job& job) -> asr_result { return self->state.run(job); },
  };
}

} // namespace mediaspool
