#include "loadgen/server_text.hpp"

#include <nlohmann/json.hpp>

namespace loadgen {

namespace {

using json = nlohmann::json;

// The value after `"key":` as an unsigned integer; false if absent or not a plain number.
bool scan_uint(std::string_view text, std::string_view key, uint64_t& out) {
  auto at = text.find(key);
  if (at == std::string_view::npos)
    return false;
  size_t i = at + key.size();
  if (i >= text.size() || text[i] < '0' || text[i] > '9')
    return false;
  uint64_t v = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
    v = v * 10 + static_cast<uint64_t>(text[i] - '0');
  out = v;
  return true;
}

bool fast_ack(std::string_view text, server_text& out) {
  constexpr std::string_view audio = R"("type":"audio_ack")";
  constexpr std::string_view frame = R"("type":"frame_ack")";
  bool is_audio = text.find(audio) != std::string_view::npos;
  if (!is_audio && text.find(frame) == std::string_view::npos)
    return false;
  uint64_t index = 0, size = 0;
  if (!scan_uint(text, is_audio ? R"("chunk_index":)" : R"("frame_index":)", index) ||
      !scan_uint(text, R"("file_size":)", size) || index > UINT32_MAX)
    return false;
  out.type = is_audio ? server_type::audio_ack : server_type::frame_ack;
  out.index = static_cast<uint32_t>(index);
  out.file_size = size;
  out.duplicate = text.find(R"("duplicate":true)") != std::string_view::npos;
  return true;
}

index_ranges ranges_of(const json& j, const char* key) {
  index_ranges out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array())
    return out;
  for (auto& r : *it)
    if (r.is_array() && r.size() == 2 && r[0].is_number_unsigned() && r[1].is_number_unsigned())
      out.emplace_back(r[0].get<uint32_t>(), r[1].get<uint32_t>());
  return out;
}

template <class T>
T number(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<T>() : T{};
}

server_text parse_slow(std::string_view text);

} // namespace

server_text parse_server_text(std::string_view text) {
  server_text out;
  if (fast_ack(text, out))
    return out;
  try {
    return parse_slow(text);
  } catch (const json::exception&) {
    return server_text{}; // a field of the wrong type: counted as bad, like unparsable text
  }
}

namespace {

server_text parse_slow(std::string_view text) {
  server_text out;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string())
    return out;
  const auto& type = j["type"].get_ref<const std::string&>();
  if (type == "audio_ack" || type == "frame_ack") {
    bool audio = type == "audio_ack";
    out.type = audio ? server_type::audio_ack : server_type::frame_ack;
    out.index = number<uint32_t>(j, audio ? "chunk_index" : "frame_index");
    out.file_size = number<uint64_t>(j, "file_size");
    out.duplicate = j.value("duplicate", false);
  } else if (type == "session_init_ack") {
    out.type = server_type::init_ack;
    out.resumed = j.value("resumed", false);
    out.audio_received = ranges_of(j, "audio_received");
    out.frames_received = ranges_of(j, "frames_received");
  } else if (type == "session_end_ack") {
    out.type = server_type::end_ack;
    out.total_chunks = number<uint64_t>(j, "total_chunks");
    out.total_frames = number<uint64_t>(j, "total_frames");
  } else if (type == "error") {
    out.type = server_type::error;
    out.code = j.value("code", std::string("unknown"));
    auto ref = j.find("ref");
    if (ref != j.end() && ref->is_object()) {
      auto k = ref->value("kind", std::string());
      if (!k.empty() && ref->contains("index")) {
        out.has_ref = true;
        out.ref_kind = k[0];
        out.ref_index = number<uint32_t>(*ref, "index");
      }
    }
  } else if (type == "response_ack") {
    out.type = server_type::response_ack;
  } else if (type == "transcription") {
    out.type = server_type::transcription;
    out.index = number<uint32_t>(j, "chunk_index");
  } else {
    out.type = server_type::other;
  }
  return out;
}

} // namespace

bool in_ranges(const index_ranges& ranges, uint32_t index) noexcept {
  for (auto& [lo, hi] : ranges)
    if (index >= lo && index <= hi)
      return true;
  return false;
}

} // namespace loadgen
