// recording.webm assembly (issue 4) on real speech: flite's paragraph cut by the ffmpeg CLI into
// self-contained WebM/Opus chunks (as MediaRecorder's stop/start makes them), assembled by
// audio::assemble_recording and decoded back with our decoder: nothing lost or doubled at chunk
// boundaries, gaps on the session clock filled with silence, bad chunks skipped.
#include "audio/audio_decoder.hpp"
#include "audio/opus_webm_writer.hpp"
#include "audio/recording_assembler.hpp"
#include "support/speech.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace mediaspool;
using namespace mediaspool::test;
namespace fs = std::filesystem;

namespace {

struct speech_fixture {
  temp_dir dir;
  fs::path wav = dir / "speech.wav";
  std::vector<fs::path> chunks;
  double wav_seconds = 0;

  speech_fixture() {
    REQUIRE_MESSAGE(make_speech_wav(speech_text(), wav), "flite failed (apt-get install flite)");
    chunks = encode_webm_chunks(wav, dir / "chunks", 4);
    REQUIRE_MESSAGE(chunks.size() >= 3, "ffmpeg made " << chunks.size() << " chunks");
    auto w = read_bytes(wav);
    REQUIRE(w.size() > 44);
    uint32_t rate = 0; // the RIFF header's sample rate, little endian at byte 24; mono s16
    for (int i = 3; i >= 0; --i)
      rate = (rate << 8) | static_cast<uint8_t>(w[24 + static_cast<size_t>(i)]);
    REQUIRE(rate > 0);
    wav_seconds = static_cast<double>(w.size() - 44) / 2.0 / rate;
  }

  double seconds_of(const fs::path& p, int rate = audio::opus_rate) const {
    auto r = audio::decode_audio(read_bytes(p), audio::container::webm, {}, rate);
    REQUIRE_MESSAGE(r.ok(), p << ": " << r.error);
    return r.seconds();
  }

  std::vector<audio::recording_chunk> list(std::optional<int64_t> spacing_us = std::nullopt) const {
    std::vector<audio::recording_chunk> out;
    for (uint32_t i = 0; i < chunks.size(); ++i) {
      audio::recording_chunk c{i, chunks[i].string(), "audio/webm", std::nullopt};
      if (spacing_us)
        c.start_us = 1'700'000'000'000'000LL + i * *spacing_us;
      out.push_back(c);
    }
    return out;
  }
};

double rms(const std::vector<int16_t>& pcm, size_t from, size_t to) {
  double sum = 0;
  to = std::min(to, pcm.size());
  for (size_t i = from; i < to; ++i)
    sum += static_cast<double>(pcm[i]) * pcm[i];
  return to > from ? std::sqrt(sum / static_cast<double>(to - from)) : 0.0;
}

} // namespace

TEST_SUITE("audio.recording") {

TEST_CASE("the chunks of a session become one WebM whose duration is the sum of theirs") {
  speech_fixture s;
  double sum = 0;
  for (auto& c : s.chunks)
    sum += s.seconds_of(c);
  auto out = s.dir / "recording.webm";
  auto r = audio::assemble_recording(s.list(), out.string());
  REQUIRE_MESSAGE(r.ok(), r.error);
  CHECK(r.chunks_used == s.chunks.size());
  CHECK(r.skipped.empty());
  CHECK(r.silence_seconds == 0.0);
  auto bytes = read_bytes(out);
  REQUIRE(audio::has_ebml_header(bytes));
  auto back = audio::decode_audio(bytes, audio::container::webm, {}, audio::opus_rate);
  REQUIRE_MESSAGE(back.ok(), back.error);
  MESSAGE("chunks " << sum << " s, recording " << back.seconds() << " s, speech " << s.wav_seconds << " s");
  // Each chunk is padded to whole 20 ms Opus frames at most once: no chunk lost or doubled.
  CHECK(std::abs(back.seconds() - sum) < 0.05);
  CHECK(std::abs(back.seconds() - s.wav_seconds) < 0.1 + 0.02 * static_cast<double>(s.chunks.size()));
  CHECK(std::abs(r.seconds - back.seconds()) < 0.05);
  // The speech is there, not silence.
  CHECK(rms(back.pcm, 0, back.pcm.size()) > 300);
}

TEST_CASE("a chunk that never arrived becomes silence of its length on the session clock") {
  speech_fixture s;
  auto all = s.list(4'000'000); // the chunks start 4 s apart on the client's clock
  std::vector<audio::recording_chunk> without_1{all[0]};
  without_1.insert(without_1.end(), all.begin() + 2, all.end());
  auto out = s.dir / "gap.webm";
  auto r = audio::assemble_recording(without_1, out.string());
  REQUIRE_MESSAGE(r.ok(), r.error);
  CHECK(std::abs(r.silence_seconds - s.seconds_of(s.chunks[1])) < 0.1);
  auto back = audio::decode_audio(read_bytes(out), audio::container::webm, {}, audio::opus_rate);
  REQUIRE(back.ok());
  // Chunk 2 starts at 8 s in the recording, as on the clock.
  double expected = 8.0;
  for (size_t i = 2; i < s.chunks.size(); ++i)
    expected += s.seconds_of(s.chunks[i]);
  CHECK(std::abs(back.seconds() - expected) < 0.1);
  // The filled gap (from 4.5 s to 7.5 s, away from Opus's edges) is silent.
  CHECK(rms(back.pcm, 4'500 * 48, 7'500 * 48) < 50);
}

TEST_CASE("undecodable and missing chunks are skipped and reported, none decodable is an error") {
  speech_fixture s;
  auto list = s.list();
  auto tiny = s.dir / "tiny.webm";
  auto webm = read_bytes(s.chunks[0]);
  std::ofstream(tiny, std::ios::binary) << webm.substr(0, 110); // a stop right after a start
  auto garbage = s.dir / "garbage.webm";
  std::ofstream(garbage, std::ios::binary) << std::string(5000, 'x');
  list.insert(list.begin() + 1, audio::recording_chunk{90, garbage.string(), "audio/webm", std::nullopt});
  list.push_back({91, (s.dir / "absent.webm").string(), "audio/webm", std::nullopt});
  list.push_back({92, tiny.string(), "audio/webm", std::nullopt});
  auto out = s.dir / "tolerant.webm";
  auto r = audio::assemble_recording(list, out.string());
  REQUIRE_MESSAGE(r.ok(), r.error);
  CHECK(r.chunks_used == s.chunks.size());
  REQUIRE(r.skipped.size() == 3);
  CHECK(r.skipped[0].rfind("chunk 90:", 0) == 0);
  CHECK(r.skipped[1].rfind("chunk 91:", 0) == 0);
  CHECK(r.skipped[2].rfind("chunk 92:", 0) == 0);
  CHECK(fs::exists(out));

  auto none = s.dir / "none.webm";
  auto bad = audio::assemble_recording({{0, garbage.string(), "audio/webm", std::nullopt}}, none.string());
  CHECK_FALSE(bad.ok());
  CHECK(bad.chunks_used == 0);
  CHECK_FALSE(fs::exists(none));
  CHECK_FALSE(audio::assemble_recording({}, none.string()).ok());
}

TEST_CASE("Safari's audio/mp4 chunks join WebM chunks in one recording") {
  speech_fixture s;
  auto mp4 = s.dir / "chunk_1.mp4";
  REQUIRE_MESSAGE(run_quiet("ffmpeg -nostdin -y -i '" + s.chunks[1].string() + "' -c:a aac -f mp4 '" + mp4.string() + "'"),
                  "ffmpeg could not make an mp4");
  auto list = s.list();
  list[1].path = mp4.string();
  list[1].mime_type = "audio/mp4";
  auto out = s.dir / "mixed.webm";
  auto r = audio::assemble_recording(list, out.string());
  REQUIRE_MESSAGE(r.ok(), r.error);
  CHECK(r.chunks_used == s.chunks.size());
  CHECK(r.skipped.empty());
  double sum = 0;
  for (auto& c : s.chunks)
    sum += s.seconds_of(c);
  // AAC adds its own priming at the edges; the chunk is still there, not dropped.
  CHECK(std::abs(s.seconds_of(out) - sum) < 0.2);
}

} // TEST_SUITE
