#include "loadgen/recorder_model.hpp"

#include <fstream>
#include <iterator>
#include <stdexcept>

#include "loadgen/options.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace loadgen {

uint64_t mix(uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t mix(uint64_t a, uint64_t b, uint64_t c, uint64_t d) noexcept {
  return mix(mix(mix(mix(a) ^ b) ^ c) ^ d);
}

namespace {

// Salts keep the independent choices independent.
constexpr uint64_t salt_size = 0x73697a65;
constexpr uint64_t salt_order = 0x6f726465;
constexpr uint64_t salt_pool = 0x706f6f6c;

double unit(uint64_t h) noexcept { return static_cast<double>(h >> 11) * 0x1.0p-53; }

void put_be32(char* p, uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
}

uint64_t key(uint32_t session, kind k, uint32_t index) noexcept {
  return uint64_t{session} << 33 | uint64_t{k == kind::audio} << 32 | index;
}

} // namespace

std::string iso8601_ms(uint64_t epoch_ms) {
  std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned>(epoch_ms % 1000));
  return buf;
}

recorder_model::recorder_model(const options& o)
  : seed_(o.seed),
    run_id_(o.run_id),
    audio_ms_(static_cast<uint64_t>(std::llround(o.audio_interval_s * 1000))),
    frame_ms_(static_cast<uint64_t>(std::llround(o.frame_interval_s * 1000))),
    audio_size_(o.audio_size),
    frame_size_(o.frame_size),
    warmup_(o.warmup),
    warmup_payload_(o.warmup_payload),
    jitter_(std::clamp(o.size_jitter, 0.0, 0.99)),
    meta_after_ratio_(o.meta_after_ratio),
    user_id_(o.user_id),
    token_(o.token) {
  auto widest = [&](uint32_t base) {
    return static_cast<uint32_t>(std::ceil(static_cast<double>(base) * (1 + jitter_))) + 1;
  };
  max_payload_ = std::max({widest(audio_size_), widest(frame_size_), warmup_payload_ + 1});
  if (!o.speech_dir.empty()) {
    for (uint32_t k = 0;; ++k) {
      std::ifstream in{o.speech_dir + "/chunk_" + std::to_string(k) + ".webm", std::ios::binary};
      if (!in)
        break;
      speech_.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (speech_.empty())
      throw std::runtime_error("--speech-dir " + o.speech_dir + " holds no chunk_0.webm");
  }
  pool_span_ = size_t{std::max<uint32_t>(o.pool_mb, 1)} << 20;
  pool_.resize(pool_span_ + max_payload_);
  uint64_t state = mix(seed_, salt_pool);
  for (size_t i = 0; i < pool_.size(); i += 8) {
    uint64_t r = mix(state++);
    for (size_t b = 0; b < 8 && i + b < pool_.size(); ++b)
      pool_[i + b] = static_cast<char>((r >> (8 * b)) & 0xff);
  }
}

std::string recorder_model::session_uuid(uint32_t session) const {
  uint64_t hi = mix(seed_, run_id_, session, 1);
  uint64_t lo = mix(seed_, run_id_, session, 2);
  hi = (hi & ~0xf000ull) | 0x4000ull;                    // version 4
  lo = (lo & 0x3fffffffffffffffull) | 0x8000000000000000ull; // RFC 4122 variant
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffull));
  return buf;
}

item_plan recorder_model::sequence::next() {
  const auto& m = *m_;
  item_plan it;
  it.position = pos_++;
  bool has_audio = m.audio_ms_ > 0;
  bool has_frame = m.frame_ms_ > 0;
  uint64_t audio_at = (uint64_t{audio_} + 1) * m.audio_ms_;
  uint64_t frame_at = uint64_t{frame_} * m.frame_ms_;
  if (has_frame && (!has_audio || frame_at <= audio_at)) {
    it.k = kind::frame;
    it.index = frame_++;
    it.at_ms = frame_at;
  } else {
    it.k = kind::audio;
    it.index = audio_++;
    it.at_ms = audio_at;
  }
  it.size = m.payload_size(session_, it.k, it.index);
  it.meta_after = m.meta_after(session_, it.k, it.index);
  return it;
}

// sequence::next puts a frame before an audio chunk ready at the same moment: frame i (at i*F)
// follows the audio chunks ready strictly before it, audio chunk j (at (j+1)*A) the frames ready
// at or before it.
uint64_t recorder_model::position_of(kind k, uint32_t index) const noexcept {
  const uint64_t a = audio_ms_, f = frame_ms_;
  if (k == kind::frame) {
    const uint64_t at = uint64_t{index} * f;
    const uint64_t audio_before = a == 0 || at == 0 ? 0 : (at - 1) / a; // j + 1 <= (at - 1) / a
    return index + audio_before;
  }
  const uint64_t at = (uint64_t{index} + 1) * a;
  const uint64_t frames_before = f == 0 ? 0 : at / f + 1;
  return index + frames_before;
}

uint32_t recorder_model::payload_size(uint32_t session, kind k, uint32_t index) const noexcept {
  if (k == kind::audio && !speech_.empty())
    return static_cast<uint32_t>(speech_[index % speech_.size()].size());
  if (warmup_payload_ > 0 && position_of(k, index) < warmup_)
    return warmup_payload_;
  double base = k == kind::audio ? audio_size_ : frame_size_;
  double u = unit(mix(seed_, salt_size, key(session, k, index))) * 2 - 1;
  return std::max<uint32_t>(1, static_cast<uint32_t>(std::llround(base * (1 + jitter_ * u))));
}

bool recorder_model::meta_after(uint32_t session, kind k, uint32_t index) const noexcept {
  if (meta_after_ratio_ <= 0)
    return false;
  return unit(mix(seed_, salt_order, key(session, k, index))) < meta_after_ratio_;
}

blob_head recorder_model::head(const std::string& uuid, uint32_t session, kind k, uint32_t index) const {
  blob_head h;
  char* p = h.bytes.data();
  std::fill(p, p + 36, ' ');
  std::copy_n(uuid.data(), std::min<size_t>(uuid.size(), 36), p);
  p[36] = static_cast<char>(k);
  put_be32(p + 37, index);
  // The stamp opens like the real container (EBML for WebM, SOI+APP0 for JPEG), so tools that
  // sniff the type still classify the files.
  char* s = p + blob_header_size;
  static constexpr unsigned char ebml[4] = {0x1a, 0x45, 0xdf, 0xa3};
  static constexpr unsigned char jpeg[4] = {0xff, 0xd8, 0xff, 0xe0};
  const unsigned char* magic = k == kind::audio ? ebml : jpeg;
  for (int i = 0; i < 4; ++i)
    s[i] = static_cast<char>(magic[i]);
  put_be32(s + 4, session);
  put_be32(s + 8, index);
  put_be32(s + 12, static_cast<uint32_t>(seed_));
  h.size = blob_header_size + std::min<size_t>(stamp_size, payload_size(session, k, index));
  if (k == kind::audio && !speech_.empty())
    h.size = blob_header_size; // the speech file as it is
  return h;
}

std::string_view recorder_model::pool_slice(uint32_t session, kind k, uint32_t index, uint32_t size) const noexcept {
  if (k == kind::audio && !speech_.empty())
    return speech_[index % speech_.size()];
  if (size <= stamp_size)
    return {};
  size_t off = mix(seed_, salt_pool, key(session, k, index)) % pool_span_;
  return {pool_.data() + off, size - stamp_size};
}

std::string recorder_model::payload(uint32_t session, kind k, uint32_t index) const {
  auto h = head(std::string(36, '0'), session, k, index);
  uint32_t size = payload_size(session, k, index);
  std::string out(h.bytes.data() + blob_header_size, h.size - blob_header_size);
  out.append(pool_slice(session, k, index, size));
  return out;
}

std::string recorder_model::audio_metadata(const std::string& uuid, const item_plan& it,
                                           uint64_t session_epoch_ms) const {
  char buf[512];
  uint64_t end = session_epoch_ms + it.at_ms;
  int n = std::snprintf(buf, sizeof buf,
                        "{\"type\":\"audio_metadata\",\"session_id\":\"%s\",\"chunk_index\":%u,"
                        "\"start_timestamp\":\"%s\",\"end_timestamp\":\"%s\",\"duration_ms\":%llu,\"size\":%u}",
                        uuid.c_str(), it.index, iso8601_ms(end - std::min(end, audio_ms_)).c_str(),
                        iso8601_ms(end).c_str(), static_cast<unsigned long long>(audio_ms_), it.size);
  return std::string(buf, static_cast<size_t>(n));
}

std::string recorder_model::frame_metadata(const std::string& uuid, const item_plan& it,
                                           uint64_t session_epoch_ms) const {
  char buf[512];
  uint64_t chunk = audio_ms_ ? it.at_ms / audio_ms_ : 0;
  uint64_t offset = audio_ms_ ? it.at_ms % audio_ms_ : it.at_ms;
  int n = std::snprintf(buf, sizeof buf,
                        "{\"type\":\"frame_metadata\",\"session_id\":\"%s\",\"frame_index\":%u,"
                        "\"timestamp\":\"%s\",\"chunk_index\":%llu,\"offset_ms\":%llu,\"size\":%u}",
                        uuid.c_str(), it.index, iso8601_ms(session_epoch_ms + it.at_ms).c_str(),
                        static_cast<unsigned long long>(chunk), static_cast<unsigned long long>(offset), it.size);
  return std::string(buf, static_cast<size_t>(n));
}

std::string recorder_model::session_init(const std::string& uuid, uint32_t session, uint64_t now_ms) const {
  nlohmann::ordered_json j;
  j["type"] = "session_init";
  j["session_id"] = uuid;
  j["interview_session_id"] = uint64_t{session} + 1;
  j["user_id"] = user_id_;
  j["timestamp"] = iso8601_ms(now_ms);
  if (!token_.empty())
    j["token"] = token_;
  return j.dump();
}

std::string recorder_model::session_end(const std::string& uuid) {
  return "{\"type\":\"session_end\",\"session_id\":\"" + uuid + "\"}";
}

} // namespace loadgen
