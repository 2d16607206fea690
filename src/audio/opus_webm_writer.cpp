#include "audio/opus_webm_writer.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
}

#include <algorithm>
#include <cstring>
#include <vector>

namespace mediaspool::audio {

struct opus_webm_writer::impl {
  AVFormatContext* fmt = nullptr;
  AVCodecContext* cc = nullptr;
  AVStream* stream = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* pkt = nullptr;
  bool header_written = false;
  bool finished = false;
  std::vector<int16_t> pending; ///< samples not yet a whole encoder frame
  int64_t next_pts = 0;

  ~impl() {
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&cc);
    if (fmt) {
      if (fmt->pb)
        avio_closep(&fmt->pb);
      avformat_free_context(fmt);
    }
  }
};

opus_webm_writer::opus_webm_writer() = default;
opus_webm_writer::~opus_webm_writer() = default;

bool opus_webm_writer::fail(std::string what, int rc) {
  if (rc != 0) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(rc, buf, sizeof buf);
    what += ": ";
    what += buf;
  }
  error_ = std::move(what);
  return false;
}

bool opus_webm_writer::open(const std::string& path, int bitrate) {
  p_ = std::make_unique<impl>();
  samples_ = 0;
  error_.clear();
  auto& p = *p_;
  if (int rc = avformat_alloc_output_context2(&p.fmt, nullptr, "webm", path.c_str()); rc < 0 || !p.fmt)
    return fail("no WebM muxer", rc);
  // Debian's FFmpeg has libopus; the native encoder is experimental and only a fallback.
  const AVCodec* codec = avcodec_find_encoder_by_name("libopus");
  bool experimental = false;
  if (!codec) {
    codec = avcodec_find_encoder(AV_CODEC_ID_OPUS);
    experimental = true;
  }
  if (!codec)
    return fail("no Opus encoder in this FFmpeg", 0);
  p.cc = avcodec_alloc_context3(codec);
  if (!p.cc)
    return fail("out of memory", 0);
  p.cc->sample_rate = opus_rate;
  av_channel_layout_default(&p.cc->ch_layout, 1);
  p.cc->sample_fmt = AV_SAMPLE_FMT_S16;
  p.cc->bit_rate = bitrate;
  p.cc->time_base = AVRational{1, opus_rate};
  if (experimental)
    p.cc->strict_std_compliance = FF_COMPLIANCE_EXPERIMENTAL;
  if (p.fmt->oformat->flags & AVFMT_GLOBALHEADER)
    p.cc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (int rc = avcodec_open2(p.cc, codec, nullptr); rc < 0)
    return fail("cannot open the Opus encoder", rc);
  p.stream = avformat_new_stream(p.fmt, nullptr);
  if (!p.stream)
    return fail("out of memory", 0);
  p.stream->time_base = AVRational{1, opus_rate};
  if (int rc = avcodec_parameters_from_context(p.stream->codecpar, p.cc); rc < 0)
    return fail("bad encoder parameters", rc);
  if (int rc = avio_open(&p.fmt->pb, path.c_str(), AVIO_FLAG_WRITE); rc < 0)
    return fail("cannot create " + path, rc);
  if (int rc = avformat_write_header(p.fmt, nullptr); rc < 0)
    return fail("cannot write the WebM header", rc);
  p.header_written = true;
  p.frame = av_frame_alloc();
  p.pkt = av_packet_alloc();
  if (!p.frame || !p.pkt)
    return fail("out of memory", 0);
  p.frame->nb_samples = p.cc->frame_size > 0 ? p.cc->frame_size : 960;
  p.frame->format = p.cc->sample_fmt;
  p.frame->sample_rate = opus_rate;
  if (int rc = av_channel_layout_copy(&p.frame->ch_layout, &p.cc->ch_layout); rc < 0)
    return fail("out of memory", rc);
  if (int rc = av_frame_get_buffer(p.frame, 0); rc < 0)
    return fail("out of memory", rc);
  return true;
}

bool opus_webm_writer::encode_pending(bool final) {
  auto& p = *p_;
  const size_t frame_size = static_cast<size_t>(p.frame->nb_samples);
  auto drain = [&]() -> bool {
    for (;;) {
      int rc = avcodec_receive_packet(p.cc, p.pkt);
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
        return true;
      if (rc < 0)
        return fail("encoding failed", rc);
      av_packet_rescale_ts(p.pkt, p.cc->time_base, p.stream->time_base);
      p.pkt->stream_index = p.stream->index;
      rc = av_interleaved_write_frame(p.fmt, p.pkt); // takes the packet's reference
      if (rc < 0)
        return fail("cannot write to the recording file", rc);
    }
  };
  // The last partial frame is padded with silence (at most one frame, 20 ms).
  if (final && !p.pending.empty() && p.pending.size() % frame_size != 0)
    p.pending.resize((p.pending.size() / frame_size + 1) * frame_size, 0);
  size_t used = 0;
  while (p.pending.size() - used >= frame_size) {
    if (int rc = av_frame_make_writable(p.frame); rc < 0)
      return fail("out of memory", rc);
    std::memcpy(p.frame->data[0], p.pending.data() + used, frame_size * sizeof(int16_t));
    p.frame->pts = p.next_pts;
    p.next_pts += static_cast<int64_t>(frame_size);
    used += frame_size;
    if (int rc = avcodec_send_frame(p.cc, p.frame); rc < 0)
      return fail("encoding failed", rc);
    if (!drain())
      return false;
  }
  p.pending.erase(p.pending.begin(), p.pending.begin() + static_cast<std::ptrdiff_t>(used));
  if (final) {
    if (int rc = avcodec_send_frame(p.cc, nullptr); rc < 0)
      return fail("encoding failed", rc);
    return drain();
  }
  return true;
}

bool opus_webm_writer::write(const int16_t* samples, size_t n) {
  if (!p_ || !p_->header_written || p_->finished)
    return fail("the writer is not open", 0);
  p_->pending.insert(p_->pending.end(), samples, samples + n);
  samples_ += n;
  // Encode in whole frames; keep the buffer small whatever the caller passes.
  return encode_pending(false);
}

bool opus_webm_writer::write_silence(size_t n) {
  static const std::vector<int16_t> zeros(opus_rate, 0);
  while (n > 0) {
    size_t k = std::min(n, zeros.size());
    if (!write(zeros.data(), k))
      return false;
    n -= k;
  }
  return true;
}

bool opus_webm_writer::finish() {
  if (!p_ || !p_->header_written || p_->finished)
    return fail("the writer is not open", 0);
  p_->finished = true;
  if (!encode_pending(true))
    return false;
  if (int rc = av_write_trailer(p_->fmt); rc < 0)
    return fail("cannot finish the recording file", rc);
  if (int rc = avio_closep(&p_->fmt->pb); rc < 0)
    return fail("cannot close the recording file", rc);
  return true;
}

} // namespace mediaspool::audio
