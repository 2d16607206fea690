// asr_bench: the transcription engine alone, on the issue-5 yardsticks. flite reads a text, the
// ffmpeg CLI cuts it into WebM/Opus chunks as MediaRecorder's stop/start does, and each chunk is
// decoded (FFmpeg libraries) and recognized (the configured engine) on this thread, exactly what
// one transcriber worker does. Prints the real-time factor (thread CPU seconds per audio second,
// decode included) and the word error rate of the joined text against the text read.
//
//   build/bench/asr_bench [--options "-fwdflat no"] [--chunk-seconds 10] [--voice rms]
//                         [--text FILE] [--json FILE]
#include "asr/engine.hpp"
#include "audio/audio_decoder.hpp"
#include "support/speech.hpp"
#include "support/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <time.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

using namespace mediaspool;

namespace {

// ~75 s of an interview answer read by flite's rms voice.
const char* default_text =
  "hello my name is john and i am applying for the software engineer position. "
  "i have worked for five years on web services in python and java. "
  "thank you for inviting me to this interview. i would like to talk about my last project. "
  "we built a system that stores recordings from many browsers at the same time. "
  "the hardest part was making sure that nothing was lost when the network failed. "
  "i wrote the tests that stopped the server at random moments and checked every file. "
  "in my free time i like to read books about history and to go hiking with my family. "
  "i think that good software is simple to use and easy to change. "
  "i would be happy to answer any questions about my experience.";

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void usage() {
  std::cout << "asr_bench: real-time factor and word error rate of the transcription engine\n"
               "  --options S        extra pocketsphinx options (\"-name value\" pairs), as asr.pocketsphinx-options\n"
               "  --chunk-seconds N  chunk length (default 10, as the recorder)\n"
               "  --voice V          flite voice (default rms)\n"
               "  --text FILE        text to read (default: a ~75 s interview answer)\n"
               "  --model-dir D      pocketsphinx model folder\n"
               "  --json FILE        write the result as JSON\n"
               "  --write-chunks DIR also copy the WebM chunks to DIR (chunk_0.webm ...), e.g. for loadgen --speech-dir\n";
}

} // namespace

int main(int argc, char** argv) {
  asr::engine_config cfg;
  int chunk_seconds = 10;
  std::string voice = "rms", text = default_text, json_path, chunks_out;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--options")
      cfg.options = value();
    else if (a == "--chunk-seconds")
      chunk_seconds = std::stoi(value());
    else if (a == "--voice")
      voice = value();
    else if (a == "--model-dir")
      cfg.model_dir = value();
    else if (a == "--text") {
      std::ifstream in{value()};
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } else if (a == "--json")
      json_path = value();
    else if (a == "--write-chunks")
      chunks_out = value();
    else {
      usage();
      return a == "--help" ? 0 : 2;
    }
  }
  test::temp_dir dir;
  auto wav = dir / "speech.wav";
  if (!test::make_speech_wav(text, wav, voice)) {
    std::cerr << "flite failed (apt-get install flite)\n";
    return 1;
  }
  auto chunks = test::encode_webm_chunks(wav, dir / "chunks", chunk_seconds);
  if (chunks.empty()) {
    std::cerr << "ffmpeg failed (apt-get install ffmpeg)\n";
    return 1;
  }
  if (!chunks_out.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(chunks_out, ec);
    for (auto& c : chunks)
      std::filesystem::copy_file(c, std::filesystem::path(chunks_out) / c.filename(),
                                 std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) {
      std::cerr << "cannot write the chunks to " << chunks_out << ": " << ec.message() << "\n";
      return 1;
    }
  }
  std::string error;
  double t0 = thread_cpu_seconds();
  auto engine = asr::make_engine(cfg, error);
  double load_s = thread_cpu_seconds() - t0;
  if (!engine) {
    std::cerr << "engine: " << error << "\n";
    return 1;
  }
  // A worker runs for hours: its first chunk (page faults into the model, cold caches) is not timed.
  if (auto warm = audio::decode_audio(test::read_bytes(chunks.front()), audio::container::webm); warm.ok())
    engine->recognize(warm.pcm);
  double audio_s = 0, cpu_s = 0, worst_rtf = 0;
  std::string hyp;
  for (auto& c : chunks) {
    double start = thread_cpu_seconds();
    auto pcm = audio::decode_audio(test::read_bytes(c), audio::container::webm);
    if (!pcm.ok()) {
      std::cerr << c << ": " << pcm.error << "\n";
      return 1;
    }
    auto r = engine->recognize(pcm.pcm);
    double spent = thread_cpu_seconds() - start;
    audio_s += pcm.seconds();
    cpu_s += spent;
    worst_rtf = std::max(worst_rtf, spent / pcm.seconds());
    if (!r.text.empty())
      hyp += (hyp.empty() ? "" : " ") + r.text;
  }
  double rtf = cpu_s / audio_s;
  double wer = test::word_error_rate(text, hyp);
  std::printf("asr_bench: %zu chunks, %.1f s of audio, options \"%s\"\n", chunks.size(), audio_s, cfg.options.c_str());
  std::printf("  real-time factor %.3f (worst chunk %.3f), model load %.2f s CPU\n", rtf, worst_rtf, load_s);
  std::printf("  word error rate %.1f %% (%zu reference words)\n", wer * 100, test::words_of(text).size());
  std::printf("  heard: %s\n", hyp.c_str());
  if (!json_path.empty()) {
    nlohmann::json j{{"chunks", chunks.size()}, {"audio_seconds", audio_s}, {"cpu_seconds", cpu_s}, {"rtf", rtf},
                     {"worst_chunk_rtf", worst_rtf}, {"wer", wer}, {"options", cfg.options}, {"heard", hyp}};
    std::ofstream(json_path) << j.dump(2) << "\n";
  }
  return 0;
}
