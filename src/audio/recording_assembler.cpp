#include "audio/recording_assembler.hpp"

#include "audio/audio_decoder.hpp"
#include "audio/opus_webm_writer.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace mediaspool::audio {

namespace {

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

} // namespace

recording_report assemble_recording(const std::vector<recording_chunk>& chunks, const std::string& out_path) {
  recording_report r;
  opus_webm_writer out;
  bool opened = false;
  std::string header;        // the first self-contained WebM chunk, for continuation chunks
  std::optional<int64_t> origin_us;
  std::string bytes;
  for (const auto& c : chunks) {
    auto skip = [&](const std::string& why) { r.skipped.push_back("chunk " + std::to_string(c.index) + ": " + why); };
    if (!read_file(c.path, bytes)) {
      skip("cannot read " + c.path);
      continue;
    }
    auto kind = container_for_mime(c.mime_type);
    auto pcm = decode_audio(bytes, kind, header, opus_rate);
    if (!pcm.ok()) {
      skip(pcm.error);
      continue;
    }
    if (kind == container::webm && header.empty() && has_ebml_header(bytes))
      header = bytes;
    if (!opened) {
      if (!out.open(out_path)) {
        r.error = out.error();
        break;
      }
      opened = true;
    }
    if (c.start_us) {
      if (!origin_us) {
        origin_us = *c.start_us - static_cast<int64_t>(out.samples() * 1'000'000 / opus_rate);
      } else {
        int64_t at_us = static_cast<int64_t>(out.samples() * 1'000'000 / opus_rate);
        int64_t gap = (*c.start_us - *origin_us) - at_us;
        if (gap >= min_gap_us && gap <= max_gap_us) {
          auto n = static_cast<size_t>(gap * opus_rate / 1'000'000);
          if (!out.write_silence(n)) {
            r.error = out.error();
            break;
          }
          r.silence_seconds += static_cast<double>(n) / opus_rate;
        }
      }
    }
    if (!out.write(pcm.pcm.data(), pcm.pcm.size())) {
      r.error = out.error();
      break;
    }
    ++r.chunks_used;
  }
  if (r.error.empty()) {
    if (!opened)
      r.error = chunks.empty() ? "the session has no audio chunks" : "no audio chunk could be decoded";
    else if (!out.finish())
      r.error = out.error();
  }
  if (!r.error.empty()) {
    std::error_code ec;
    std::filesystem::remove(out_path, ec);
    return r;
  }
  r.seconds = static_cast<double>(out.samples()) / opus_rate;
  return r;
}

} // namespace mediaspool::audio
