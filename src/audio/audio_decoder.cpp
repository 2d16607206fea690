#include "audio/audio_decoder.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

namespace mediaspool::audio {

namespace {

constexpr uint32_t ebml_id = 0x1A45DFA3;
constexpr uint32_t segment_id = 0x18538067;
constexpr uint32_t cluster_id = 0x1F43B675;

std::string av_error(int rc) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(rc, buf, sizeof buf);
  return buf;
}

// -- EBML walking (just enough to find the first Cluster) -------------------------------------

// An element ID (1-4 bytes, marker bits kept). False if truncated or invalid.
bool read_id(std::string_view b, size_t& pos, uint32_t& id) {
  if (pos >= b.size())
    return false;
  auto first = static_cast<uint8_t>(b[pos]);
  int len = first & 0x80 ? 1 : first & 0x40 ? 2 : first & 0x20 ? 3 : first & 0x10 ? 4 : 0;
  if (len == 0 || pos + static_cast<size_t>(len) > b.size())
    return false;
  id = 0;
  for (int i = 0; i < len; ++i)
    id = (id << 8) | static_cast<uint8_t>(b[pos + static_cast<size_t>(i)]);
  pos += static_cast<size_t>(len);
  return true;
}

// An element size (1-8 bytes); `unknown` for the all-ones value. False if truncated or invalid.
bool read_size(std::string_view b, size_t& pos, uint64_t& size, bool& unknown) {
  if (pos >= b.size())
    return false;
  auto first = static_cast<uint8_t>(b[pos]);
  int len = 1;
  while (len <= 8 && (first & (0x80 >> (len - 1))) == 0)
    ++len;
  if (len > 8 || pos + static_cast<size_t>(len) > b.size())
    return false;
  uint64_t v = first & (0xFFu >> len);
  bool all_ones = v == (0xFFu >> len);
  for (int i = 1; i < len; ++i) {
    auto byte = static_cast<uint8_t>(b[pos + static_cast<size_t>(i)]);
    v = (v << 8) | byte;
    all_ones = all_ones && byte == 0xFF;
  }
  pos += static_cast<size_t>(len);
  size = v;
  unknown = all_ones;
  return true;
}

// -- memory AVIO --------------------------------------------------------------------------------

struct memory_source {
  const uint8_t* data;
  size_t size;
  size_t pos = 0;
};

int read_cb(void* opaque, uint8_t* buf, int n) {
  auto* s = static_cast<memory_source*>(opaque);
  size_t left = s->size - s->pos;
  if (left == 0)
    return AVERROR_EOF;
  size_t k = std::min(left, static_cast<size_t>(n));
  std::memcpy(buf, s->data + s->pos, k);
  s->pos += k;
  return static_cast<int>(k);
}

int64_t seek_cb(void* opaque, int64_t offset, int whence) {
  auto* s = static_cast<memory_source*>(opaque);
  if (whence & AVSEEK_SIZE)
    return static_cast<int64_t>(s->size);
  int64_t base = 0;
  switch (whence & ~AVSEEK_FORCE) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = static_cast<int64_t>(s->pos); break;
    case SEEK_END: base = static_cast<int64_t>(s->size); break;
    default: return -1;
  }
  int64_t to = base + offset;
  if (to < 0 || to > static_cast<int64_t>(s->size))
    return -1;
  s->pos = static_cast<size_t>(to);
  return to;
}

// Owns every FFmpeg object of one decode, freed in reverse order whatever path returns.
struct ffmpeg_objects {
  AVIOContext* avio = nullptr;
  AVFormatContext* fmt = nullptr;
  AVCodecContext* cc = nullptr;
  SwrContext* swr = nullptr;
  AVPacket* pkt = nullptr;
  AVFrame* frame = nullptr;

  ~ffmpeg_objects() {
    av_frame_free(&frame);
    av_packet_free(&pkt);
    swr_free(&swr);
    avcodec_free_context(&cc);
    if (fmt)
      avformat_close_input(&fmt); // does not free our custom pb
    if (avio) {
      av_freep(&avio->buffer);
      avio_context_free(&avio);
    }
  }
};

// Appends the resampled samples of `frame` (nullptr: flush) to `out`.
int resample_into(SwrContext* swr, const AVFrame* frame, std::vector<int16_t>& out) {
  int in_samples = frame ? frame->nb_samples : 0;
  int cap = swr_get_out_samples(swr, in_samples);
  if (cap <= 0)
    return 0;
  size_t old = out.size();
  out.resize(old + static_cast<size_t>(cap));
  uint8_t* dst[1] = {reinterpret_cast<uint8_t*>(out.data() + old)};
  int n = swr_convert(swr, dst, cap, frame ? const_cast<const uint8_t**>(frame->extended_data) : nullptr,
                      in_samples);
  out.resize(old + static_cast<size_t>(std::max(n, 0)));
  return n;
}

decode_result decode_bytes(std::string_view bytes, container c, int rate) {
  decode_result r;
  r.rate = rate;
  if (bytes.empty()) {
    r.error = "empty input";
    return r;
  }
  memory_source src{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
  ffmpeg_objects o;
  constexpr int avio_size = 16 << 10;
  auto* buf = static_cast<uint8_t*>(av_malloc(avio_size));
  if (!buf)
    return {{}, "out of memory"};
  o.avio = avio_alloc_context(buf, avio_size, 0, &src, read_cb, nullptr, seek_cb);
  if (!o.avio) {
    av_free(buf);
    return {{}, "out of memory"};
  }
  o.fmt = avformat_alloc_context();
  if (!o.fmt)
    return {{}, "out of memory"};
  o.fmt->pb = o.avio;
  o.fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
  // The container is known from the metadata: never let probing guess (random bytes can look
  // like MP3 frames).
  const AVInputFormat* ifmt = av_find_input_format(c == container::mp4 ? "mov" : "matroska");
  if (int rc = avformat_open_input(&o.fmt, nullptr, ifmt, nullptr); rc < 0) {
    o.fmt = nullptr; // freed by avformat_open_input on failure
    return {{}, "cannot open container: " + av_error(rc)};
  }
  if (int rc = avformat_find_stream_info(o.fmt, nullptr); rc < 0)
    return {{}, "no stream info: " + av_error(rc)};
  const AVCodec* codec = nullptr;
  int stream = av_find_best_stream(o.fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
  if (stream < 0 || !codec)
    return {{}, "no audio stream: " + av_error(stream)};
  o.cc = avcodec_alloc_context3(codec);
  if (!o.cc)
    return {{}, "out of memory"};
  if (int rc = avcodec_parameters_to_context(o.cc, o.fmt->streams[stream]->codecpar); rc < 0)
    return {{}, "bad codec parameters: " + av_error(rc)};
  if (int rc = avcodec_open2(o.cc, codec, nullptr); rc < 0)
    return {{}, "cannot open decoder: " + av_error(rc)};
  if (o.cc->ch_layout.nb_channels <= 0 || o.cc->sample_rate <= 0)
    return {{}, "audio stream without channels or rate"};
  AVChannelLayout mono{}; // AV_CHANNEL_LAYOUT_MONO is a C compound literal, not C++
  av_channel_layout_default(&mono, 1);
  if (int rc = swr_alloc_set_opts2(&o.swr, &mono, AV_SAMPLE_FMT_S16, rate, &o.cc->ch_layout,
                                   o.cc->sample_fmt, o.cc->sample_rate, 0, nullptr);
      rc < 0 || swr_init(o.swr) < 0)
    return {{}, "cannot set up the resampler"};
  o.pkt = av_packet_alloc();
  o.frame = av_frame_alloc();
  if (!o.pkt || !o.frame)
    return {{}, "out of memory"};

  int decode_errors = 0;
  std::string last_error;
  auto drain = [&]() {
    for (;;) {
      int rc = avcodec_receive_frame(o.cc, o.frame);
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
        return;
      if (rc < 0) {
        ++decode_errors;
        last_error = av_error(rc);
        return;
      }
      resample_into(o.swr, o.frame, r.pcm);
      av_frame_unref(o.frame);
    }
  };
  for (;;) {
    int rc = av_read_frame(o.fmt, o.pkt);
    if (rc < 0)
      break; // EOF or a truncated tail: keep what decoded
    if (o.pkt->stream_index == stream) {
      if (int s = avcodec_send_packet(o.cc, o.pkt); s < 0) {
        ++decode_errors;
        last_error = av_error(s);
      }
      drain();
    }
    av_packet_unref(o.pkt);
  }
  avcodec_send_packet(o.cc, nullptr);
  drain();
  resample_into(o.swr, nullptr, r.pcm);
  if (r.pcm.empty())
    r.error = decode_errors > 0 ? "no audio decoded: " + last_error : "no audio samples in the input";
  return r;
}

} // namespace

container container_for_mime(std::string_view mime_type) noexcept {
  return mime_type == "audio/mp4" ? container::mp4 : container::webm;
}

bool has_ebml_header(std::string_view b) noexcept {
  return b.size() >= 4 && static_cast<uint8_t>(b[0]) == 0x1A && static_cast<uint8_t>(b[1]) == 0x45
         && static_cast<uint8_t>(b[2]) == 0xDF && static_cast<uint8_t>(b[3]) == 0xA3;
}

std::string_view webm_header_prefix(std::string_view b) noexcept {
  if (!has_ebml_header(b))
    return {};
  size_t pos = 0;
  uint32_t id = 0;
  uint64_t size = 0;
  bool unknown = false;
  // EBML header element, skipped whole.
  if (!read_id(b, pos, id) || id != ebml_id || !read_size(b, pos, size, unknown) || unknown
      || size > b.size() - pos)
    return {};
  pos += size;
  if (!read_id(b, pos, id) || id != segment_id || !read_size(b, pos, size, unknown))
    return {};
  // Segment children up to the first Cluster.
  while (pos < b.size()) {
    size_t start = pos;
    if (!read_id(b, pos, id))
      return {};
    if (id == cluster_id)
      return b.substr(0, start);
    if (!read_size(b, pos, size, unknown) || unknown || size > b.size() - pos)
      return {};
    pos += size;
  }
  return {};
}

decode_result decode_audio(std::string_view bytes, container c, std::string_view header_source, int rate) {
  // Bad input is reported through the result; FFmpeg's own stderr lines would only be noise.
  static std::once_flag quiet;
  std::call_once(quiet, [] { av_log_set_level(AV_LOG_QUIET); });
  if (c == container::webm && !has_ebml_header(bytes) && !header_source.empty()) {
    auto prefix = webm_header_prefix(header_source);
    if (prefix.empty())
      return {{}, "continuation chunk, and the session's first chunk has no usable WebM header"};
    std::string joined;
    joined.reserve(prefix.size() + bytes.size());
    joined.append(prefix).append(bytes);
    return decode_bytes(joined, c, rate);
  }
  return decode_bytes(bytes, c, rate);
}

} // namespace mediaspool::audio
