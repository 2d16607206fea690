#include "net/codec.hpp"

#include "json/json_text.hpp"
#include "net/iso8601.hpp"
#include "net/message_fields.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <limits>

namespace mediaspool::net {

namespace {

using ojson = nlohmann::ordered_json;

error_reply bad(std::string message) {
  return error_reply{ec::bad_message, std::move(message), std::nullopt};
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Field readers: each returns an error text, empty on success.
struct fields {
  const message_fields& obj;

  std::string session_id(std::string& out) const {
    auto* v = obj.find("session_id");
    if (!v || v->type != field_value::kind::string)
      return "session_id must be a string";
    out = lower(v->text);
    return {};
  }

  template <class Int>
  std::string integer(const char* key, std::optional<Int>& out, bool required) const {
    auto* v = obj.find(key);
    if (!v || v->type == field_value::kind::null)
      return required ? std::string(key) + " is required" : std::string();
    if (v->type == field_value::kind::non_negative) {
      if (v->non_negative > static_cast<uint64_t>(std::numeric_limits<Int>::max()))
        return std::string(key) + " is out of range";
      out = static_cast<Int>(v->non_negative);
    } else if (v->type == field_value::kind::negative) {
      if (v->negative < static_cast<int64_t>(std::numeric_limits<Int>::min()))
        return std::string(key) + " is out of range";
      out = static_cast<Int>(v->negative);
    } else {
      return std::string(key) + " must be an integer";
    }
    return {};
  }

  std::string text(const char* key, std::optional<std::string>& out) const {
    auto* v = obj.find(key);
    if (!v || v->type == field_value::kind::null)
      return {};
    if (v->type != field_value::kind::string)
      return std::string(key) + " must be a string";
    // PostgreSQL's jsonb cannot hold U+0000: stored, the row would be refused at every retry.
    if (v->text.find('\0') != std::string::npos)
      return std::string(key) + " must not contain U+0000";
    out = v->text;
    return {};
  }

  // An optional ISO 8601 time, normalised to the stored form; absent stays empty (null).
  std::string timestamp(const char* key, std::optional<std::string>& out) const {
    std::optional<std::string> raw;
    if (auto e = text(key, raw); !e.empty())
      return e;
    if (!raw)
      return {};
    auto us = parse_iso8601(*raw);
    if (!us)
      return std::string(key) + " is not an ISO 8601 time";
    out = format_iso8601(*us);
    return {};
  }
};

#define MS_TRY(expr)                                                                              \
  if (auto e_ = (expr); !e_.empty())                                                              \
    return bad(std::move(e_));

std::variant<client_text, error_reply> parse_init(const fields& f) {
  session_init m;
  MS_TRY(f.session_id(m.session_id));
  if (!is_uuid(m.session_id))
    return bad("session_id must be a UUID");
  // The columns are INTEGER: a wider id would be refused by PostgreSQL, not by us.
  std::optional<int32_t> interview, user;
  MS_TRY(f.integer("interview_session_id", interview, false));
  MS_TRY(f.integer("user_id", user, false));
  m.interview_session_id = interview;
  m.user_id = user;
  std::optional<std::string> ts, token;
  MS_TRY(f.text("timestamp", ts));
  MS_TRY(f.text("token", token));
  m.timestamp = ts.value_or("");
  m.token = token.value_or("");
  return client_text{std::move(m)};
}

std::variant<client_text, error_reply> parse_audio(const fields& f, const codec_limits& lim) {
  item_metadata m;
  m.kind = item_kind::audio;
  std::optional<uint32_t> index;
  std::optional<uint64_t> size;
  std::optional<int64_t> duration;
  std::optional<std::string> mime, start, end;
  MS_TRY(f.session_id(m.session_id));
  MS_TRY(f.integer("chunk_index", index, true));
  MS_TRY(f.integer("size", size, true));
  MS_TRY(f.integer("duration_ms", duration, false));
  MS_TRY(f.text("mime_type", mime));
  MS_TRY(f.timestamp("start_timestamp", start));
  MS_TRY(f.timestamp("end_timestamp", end));
  std::string type = mime ? lower(mime->substr(0, mime->find(';'))) : "audio/webm";
  type.erase(std::remove(type.begin(), type.end(), ' '), type.end());
  if (type != "audio/webm" && type != "audio/mp4")
    return bad("mime_type must be audio/webm or audio/mp4");
  if (*size > lim.max_audio_bytes)
    return error_reply{ec::too_large, "audio chunk larger than " + std::to_string(lim.max_audio_bytes) + " bytes",
                       std::make_pair(item_kind::audio, *index)};
  m.index = *index;
  m.size = *size;
  m.file_name = "chunk_" + std::to_string(m.index) + (type == "audio/mp4" ? ".mp4" : ".webm");
  // Every string here came through the JSON parser (valid UTF-8) or is ours.
  json_text::object{m.element}
    .number("chunk_index", m.index)
    .string("file_path", m.session_id + "/audio/" + m.file_name)
    .number("file_size", m.size)
    .string("mime_type", type)
    .string_or_null("start_timestamp", start)
    .string_or_null("end_timestamp", end)
    .number_or_null("duration_ms", duration)
    .null("transcription")
    .boolean("processed", false)
    .close();
  return client_text{std::move(m)};
}

std::variant<client_text, error_reply> parse_frame(const fields& f, const codec_limits& lim) {
  item_metadata m;
  m.kind = item_kind::frame;
  std::optional<uint32_t> index, chunk;
  std::optional<uint64_t> size;
  std::optional<int64_t> offset;
  std::optional<std::string> ts;
  MS_TRY(f.session_id(m.session_id));
  MS_TRY(f.integer("frame_index", index, true));
  MS_TRY(f.integer("size", size, true));
  MS_TRY(f.integer("chunk_index", chunk, false));
  MS_TRY(f.integer("offset_ms", offset, false));
  MS_TRY(f.timestamp("timestamp", ts));
  if (*size > lim.max_frame_bytes)
    return error_reply{ec::too_large, "frame larger than " + std::to_string(lim.max_frame_bytes) + " bytes",
                       std::make_pair(item_kind::frame, *index)};
  m.index = *index;
  m.size = *size;
  m.file_name = "frame_" + std::to_string(m.index) + ".jpg";
  json_text::object{m.element}
    .number("frame_index", m.index)
    .string("file_path", m.session_id + "/frames/" + m.file_name)
    .number("file_size", m.size)
    .string("mime_type", "image/jpeg")
    .string_or_null("timestamp", ts)
    .number_or_null("chunk_index", chunk)
    .number_or_null("offset_ms", offset)
    .close();
  return client_text{std::move(m)};
}

std::variant<client_text, error_reply> parse_response(const fields& f) {
  response_item m;
  std::optional<uint32_t> qid;
  std::optional<std::string> question, start, end;
  MS_TRY(f.session_id(m.session_id));
  MS_TRY(f.integer("question_id", qid, true));
  MS_TRY(f.text("question_text", question));
  MS_TRY(f.timestamp("start_timestamp", start));
  MS_TRY(f.timestamp("end_timestamp", end));
  m.question_id = *qid;
  json_text::object{m.element}
    .number("question_id", m.question_id)
    .string_or_null("question_text", question)
    .string_or_null("start_timestamp", start)
    .string_or_null("end_timestamp", end)
    .close();
  return client_text{std::move(m)};
}

#undef MS_TRY

const char* kind_name(item_kind k) {
  return k == item_kind::audio ? "a" : k == item_kind::frame ? "f" : "r";
}

ojson ranges_json(const index_ranges& rs) {
  auto out = ojson::array();
  for (auto& [lo, hi] : rs)
    out.push_back(ojson::array({lo, hi}));
  return out;
}

} // namespace

error_reply too_large_text(size_t size, const codec_limits& limits) {
  return error_reply{ec::too_large, "text message of " + std::to_string(size) + " bytes, larger than "
                                      + std::to_string(limits.max_text_bytes),
                     std::nullopt};
}

std::variant<client_text, error_reply> parse_text(std::string_view text,
                                                  const codec_limits& limits) {
  if (text.size() > limits.max_text_bytes)
    return too_large_text(text.size(), limits);
  message_fields doc;
  switch (doc.parse(text)) {
    case message_fields::outcome::not_json:
      return error_reply{ec::bad_json, "text frame is not valid JSON", std::nullopt};
    case message_fields::outcome::not_object: return bad("a message must be a JSON object");
    case message_fields::outcome::object: break;
  }
  auto* t = doc.find("type");
  if (!t || t->type != field_value::kind::string)
    return bad("type must be a string");
  const auto& type = t->text;
  fields f{doc};
  if (type == "session_init")
    return parse_init(f);
  if (type == "audio_metadata")
    return parse_audio(f, limits);
  if (type == "frame_metadata")
    return parse_frame(f, limits);
  if (type == "response_metadata")
    return parse_response(f);
  if (type == "session_end") {
    session_end m;
    if (auto e = f.session_id(m.session_id); !e.empty())
      return bad(std::move(e));
    return client_text{std::move(m)};
  }
  return bad("unknown message type '" + type.substr(0, 64) + "'");
}

std::variant<blob, error_reply> parse_blob(shared_bytes frame, const codec_limits& limits) {
  if (frame.size() < blob_header_size)
    return bad("binary frame shorter than its 41-byte header");
  const char* p = frame.data();
  std::string sid(p, 36);
  while (!sid.empty() && (sid.back() == ' ' || sid.back() == '\0'))
    sid.pop_back();
  sid = lower(std::move(sid));
  if (!is_uuid(sid))
    return bad("binary header session id is not a UUID");
  blob b;
  switch (p[36]) {
    case 'a': b.kind = item_kind::audio; break;
    case 'f': b.kind = item_kind::frame; break;
    default: return bad("binary header kind must be 'a' or 'f'");
  }
  auto u = [&](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[37 + i])); };
  b.index = u(0) << 24 | u(1) << 16 | u(2) << 8 | u(3);
  auto limit = b.kind == item_kind::audio ? limits.max_audio_bytes : limits.max_frame_bytes;
  if (frame.size() - blob_header_size > limit)
    return error_reply{ec::too_large,
                       std::string(b.kind == item_kind::audio ? "audio chunk" : "frame") + " larger than " +
                         std::to_string(limit) + " bytes",
                       std::make_pair(b.kind, b.index)};
  b.session_id = std::move(sid);
  b.payload = std::move(frame);
  b.payload.offset += blob_header_size;
  return b;
}

std::string make_blob_header(const std::string& session_id, item_kind kind, uint32_t index) {
  std::string h = session_id.substr(0, 36);
  h.resize(36, ' ');
  h.push_back(static_cast<char>(kind));
  for (int shift = 24; shift >= 0; shift -= 8)
    h.push_back(static_cast<char>((index >> shift) & 0xff));
  return h;
}

std::string serialize(const server_message& msg) {
  // Acks, one per item, are written directly; the rest (rarer, some quoting client bytes) below.
  if (const auto* a = std::get_if<item_ack>(&msg); a && json_text::valid_utf8(a->session_id)) {
    const bool audio = a->kind == item_kind::audio;
    std::string out;
    out.reserve(128);
    json_text::object{out}
      .string("type", audio ? "audio_ack" : "frame_ack")
      .string("session_id", a->session_id)
      .number(audio ? "chunk_index" : "frame_index", a->index)
      .number("file_size", a->file_size)
      .boolean("duplicate", a->duplicate)
      .close();
    return out;
  }
  ojson j;
  std::visit(
    [&j](const auto& m) {
      using T = std::decay_t<decltype(m)>;
      if constexpr (std::is_same_v<T, init_ack>) {
        j["type"] = "session_init_ack";
        j["session_id"] = m.session_id;
        j["resumed"] = m.resumed;
        j["audio_received"] = ranges_json(m.audio_received);
        j["frames_received"] = ranges_json(m.frames_received);
        j["server_time"] = now_iso8601();
      } else if constexpr (std::is_same_v<T, item_ack>) {
        bool audio = m.kind == item_kind::audio;
        j["type"] = audio ? "audio_ack" : "frame_ack";
        j["session_id"] = m.session_id;
        j[audio ? "chunk_index" : "frame_index"] = m.index;
        j["file_size"] = m.file_size;
        j["duplicate"] = m.duplicate;
      } else if constexpr (std::is_same_v<T, response_ack>) {
        j["type"] = "response_ack";
        j["session_id"] = m.session_id;
        j["question_id"] = m.question_id;
      } else if constexpr (std::is_same_v<T, end_ack>) {
        j["type"] = "session_end_ack";
        j["session_id"] = m.session_id;
        j["total_chunks"] = m.total_chunks;
        j["total_frames"] = m.total_frames;
      } else if constexpr (std::is_same_v<T, transcription>) {
        j["type"] = "transcription";
        j["session_id"] = m.session_id;
        j["chunk_index"] = m.chunk_index;
        j["text"] = m.text;
      } else {
        j["type"] = "error";
        j["code"] = to_string(m.code);
        j["message"] = m.message;
        if (m.ref)
          j["ref"] = ojson{{"kind", kind_name(m.ref->first)}, {"index", m.ref->second}};
      }
    },
    msg);
  // Messages may quote client bytes (cut to a length, or raw from a binary header): invalid UTF-8
  // becomes U+FFFD instead of an exception (found by fuzz_codec).
  return j.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

} // namespace mediaspool::net
