#include "asr/wav.hpp"

#include <cstring>

namespace mediaspool::asr {

namespace {

void put_le(std::string& out, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t get_le(const std::string& b, size_t pos, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i)
    v = (v << 8) | static_cast<uint8_t>(b[pos + static_cast<size_t>(i)]);
  return v;
}

} // namespace

std::string wav_bytes(const std::vector<int16_t>& pcm, int rate) {
  const auto data = static_cast<uint32_t>(pcm.size() * 2);
  std::string out;
  out.reserve(44 + data);
  out += "RIFF";
  put_le(out, 36 + data, 4);
  out += "WAVEfmt ";
  put_le(out, 16, 4);
  put_le(out, 1, 2); // PCM
  put_le(out, 1, 2); // mono
  put_le(out, static_cast<uint32_t>(rate), 4);
  put_le(out, static_cast<uint32_t>(rate) * 2, 4);
  put_le(out, 2, 2);
  put_le(out, 16, 2);
  out += "data";
  put_le(out, data, 4);
  for (int16_t s : pcm)
    put_le(out, static_cast<uint16_t>(s), 2);
  return out;
}

bool parse_wav(const std::string& b, std::vector<int16_t>& pcm, int& rate) {
  if (b.size() < 12 || b.compare(0, 4, "RIFF") != 0 || b.compare(8, 4, "WAVE") != 0)
    return false;
  size_t pos = 12;
  bool fmt_ok = false;
  while (pos + 8 <= b.size()) {
    std::string id = b.substr(pos, 4);
    uint32_t size = get_le(b, pos + 4, 4);
    pos += 8;
    if (id == "fmt " && pos + 16 <= b.size()) {
      fmt_ok = get_le(b, pos, 2) == 1 && get_le(b, pos + 2, 2) == 1 && get_le(b, pos + 14, 2) == 16;
      rate = static_cast<int>(get_le(b, pos + 4, 4));
    } else if (id == "data" && fmt_ok) {
      size_t n = std::min<size_t>(size, b.size() - pos) / 2;
      pcm.resize(n);
      std::memcpy(pcm.data(), b.data() + pos, n * 2); // little-endian host (x86-64)
      return true;
    }
    pos += size + (size & 1);
  }
  return false;
}

} // namespace mediaspool::asr
