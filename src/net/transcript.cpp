#include "net/transcript.hpp"

#include "net/iso8601.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

namespace mediaspool::net {

namespace {

using json = nlohmann::json;

// A pause this long between words starts a new segment; so do these many words or this much
// time, so that a cue stays readable under a player.
constexpr int64_t pause_split_us = 700'000;
constexpr size_t max_words = 14;
constexpr int64_t max_segment_us = 8'000'000;

std::optional<int64_t> time_field(const json& e, const char* key) {
  auto it = e.find(key);
  if (it == e.end() || !it->is_string())
    return std::nullopt;
  return parse_iso8601(it->get_ref<const std::string&>());
}

template <class T>
std::optional<T> number_field(const json& e, const char* key) {
  auto it = e.find(key);
  if (it == e.end() || !it->is_number())
    return std::nullopt;
  return it->get<T>();
}

struct chunk_view {
  uint32_t index;
  std::optional<int64_t> start_us;
  int64_t duration_us;
  const json* element;
};

// Splits one chunk's words into segments; `base_us` is the chunk's absolute start.
void add_word_segments(const json& words, uint32_t index, int64_t base_us, std::vector<transcript_segment>& out) {
  transcript_segment cur;
  size_t count = 0;
  int64_t last_end = 0;
  auto close = [&] {
    if (count > 0)
      out.push_back(std::move(cur));
    cur = {};
    count = 0;
  };
  for (const auto& w : words) {
    if (!w.is_object() || !w.contains("word") || !w["word"].is_string())
      continue;
    auto s = number_field<int64_t>(w, "start_ms").value_or(0) * 1000 + base_us;
    auto e = std::max(number_field<int64_t>(w, "end_ms").value_or(0) * 1000 + base_us, s);
    if (count > 0 && (s - last_end > pause_split_us || count >= max_words || e - cur.start_us > max_segment_us))
      close();
    if (count == 0) {
      cur.chunk_index = index;
      cur.start_us = s;
    } else {
      cur.text += ' ';
    }
    cur.text += w["word"].get_ref<const std::string&>();
    cur.end_us = e;
    last_end = e;
    ++count;
  }
  close();
}

std::string iso(int64_t us) { return format_iso8601(us); }

double seconds(int64_t us) { return static_cast<double>(us) / 1e6; }

// WebVTT forbids "-->" inside cue text and notes; it cannot come from a recognizer, but
// question_text comes from the client.
std::string vtt_safe(std::string s) {
  for (size_t p; (p = s.find("-->")) != std::string::npos;)
    s.replace(p, 3, "->");
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

} // namespace

std::string format_offset(int64_t us) {
  us = std::max<int64_t>(us, 0);
  int64_t ms = us / 1000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld.%03lld", static_cast<long long>(ms / 3'600'000),
                static_cast<long long>(ms / 60'000 % 60), static_cast<long long>(ms / 1000 % 60),
                static_cast<long long>(ms % 1000));
  return buf;
}

transcript build_transcript(const json& session) {
  transcript t;
  if (auto it = session.find("session_id"); it != session.end() && it->is_string())
    t.session_id = it->get<std::string>();

  std::vector<chunk_view> chunks;
  if (auto it = session.find("audio_chunks"); it != session.end() && it->is_array())
    for (const auto& e : *it) {
      auto idx = e.is_object() ? number_field<int64_t>(e, "chunk_index") : std::nullopt;
      if (!idx || *idx < 0 || *idx > UINT32_MAX)
        continue;
      auto start = time_field(e, "start_timestamp");
      int64_t dur = number_field<int64_t>(e, "duration_ms").value_or(0) * 1000;
      if (dur <= 0)
        if (auto end = time_field(e, "end_timestamp"); end && start && *end > *start)
          dur = *end - *start;
      chunks.push_back({static_cast<uint32_t>(*idx), start, std::max<int64_t>(dur, 0), &e});
    }
  std::sort(chunks.begin(), chunks.end(), [](auto& a, auto& b) { return a.index < b.index; });
  t.chunks = static_cast<uint32_t>(chunks.size());

  // Chunks without a start timestamp continue where the previous one ended.
  int64_t next_us = 0;
  bool have_origin = false;
  for (auto& c : chunks) {
    int64_t base = c.start_us.value_or(next_us);
    if (!have_origin) {
      t.origin_us = base;
      have_origin = true;
    }
    next_us = base + c.duration_us;
    const json& e = *c.element;
    bool processed = e.contains("processed") && e["processed"].is_boolean() && e["processed"].get<bool>();
    if (!processed) {
      ++t.pending;
      continue;
    }
    if (e.contains("transcription_error") && !e["transcription_error"].is_null())
      ++t.failed;
    auto text = e.find("transcription");
    if (text == e.end() || !text->is_string() || text->get_ref<const std::string&>().empty())
      continue;
    auto words = e.find("words");
    const size_t before = t.segments.size();
    if (words != e.end() && words->is_array())
      add_word_segments(*words, c.index, base, t.segments);
    if (t.segments.size() == before) // no (usable) word timings: the chunk is one segment
      t.segments.push_back({c.index, base, base + c.duration_us, text->get<std::string>(), std::nullopt});
  }

  if (auto it = session.find("responses"); it != session.end() && it->is_array())
    for (const auto& r : *it) {
      auto id = r.is_object() ? number_field<int64_t>(r, "question_id") : std::nullopt;
      auto start = r.is_object() ? time_field(r, "start_timestamp") : std::nullopt;
      if (!id || !start)
        continue;
      transcript_question q;
      q.question_id = *id;
      if (auto qt = r.find("question_text"); qt != r.end() && qt->is_string())
        q.question_text = qt->get<std::string>();
      q.start_us = *start;
      q.end_us = time_field(r, "end_timestamp").value_or(INT64_MAX);
      t.questions.push_back(std::move(q));
    }
  std::stable_sort(t.questions.begin(), t.questions.end(), [](auto& a, auto& b) { return a.start_us < b.start_us; });
  std::stable_sort(t.segments.begin(), t.segments.end(), [](auto& a, auto& b) { return a.start_us < b.start_us; });
  // The latest answer that started at or before the segment and had not ended.
  for (auto& s : t.segments)
    for (auto q = t.questions.rbegin(); q != t.questions.rend(); ++q)
      if (q->start_us <= s.start_us && s.start_us < q->end_us) {
        s.question_id = q->question_id;
        break;
      }
  return t;
}

std::string transcript_json(const transcript& t) {
  json segs = json::array();
  for (const auto& s : t.segments) {
    json j = {{"chunk_index", s.chunk_index},
              {"start", iso(s.start_us)},
              {"end", iso(s.end_us)},
              {"start_s", seconds(s.start_us - t.origin_us)},
              {"end_s", seconds(s.end_us - t.origin_us)},
              {"text", s.text},
              {"question_id", nullptr}};
    if (s.question_id)
      j["question_id"] = *s.question_id;
    segs.push_back(std::move(j));
  }
  json qs = json::array();
  for (const auto& q : t.questions) {
    std::string text;
    for (const auto& s : t.segments)
      if (s.question_id == q.question_id)
        text += (text.empty() ? "" : " ") + s.text;
    json j = {{"question_id", q.question_id}, {"question_text", q.question_text}, {"start", iso(q.start_us)},
              {"start_s", seconds(q.start_us - t.origin_us)}, {"end", nullptr}, {"end_s", nullptr},
              {"text", text}};
    if (q.end_us != INT64_MAX) {
      j["end"] = iso(q.end_us);
      j["end_s"] = seconds(q.end_us - t.origin_us);
    }
    qs.push_back(std::move(j));
  }
  json out = {{"session_id", t.session_id},
              {"started_at", t.chunks ? json(iso(t.origin_us)) : json(nullptr)},
              {"complete", t.pending == 0},
              {"chunks", t.chunks},
              {"pending", t.pending},
              {"failed", t.failed},
              {"segments", std::move(segs)},
              {"questions", std::move(qs)}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string transcript_txt(const transcript& t) {
  std::string out;
  std::optional<int64_t> section;
  bool first = true;
  for (const auto& s : t.segments) {
    if (first || s.question_id != section) {
      section = s.question_id;
      if (!first)
        out += '\n';
      if (section) {
        auto q = std::find_if(t.questions.begin(), t.questions.end(), [&](auto& x) { return x.question_id == *section; });
        out += "Question " + std::to_string(*section);
        if (q != t.questions.end() && !q->question_text.empty())
          out += ": " + q->question_text;
        out += '\n';
      }
      first = false;
    }
    out += '[' + format_offset(s.start_us - t.origin_us) + "] " + s.text + '\n';
  }
  if (t.pending > 0)
    out += (out.empty() ? "" : "\n") + std::string("(") + std::to_string(t.pending) + " of "
           + std::to_string(t.chunks) + " chunks not transcribed yet)\n";
  return out;
}

std::string transcript_vtt(const transcript& t) {
  std::string out = "WEBVTT\n";
  std::optional<int64_t> section;
  size_t n = 0;
  for (const auto& s : t.segments) {
    if (s.question_id && s.question_id != section) {
      auto q = std::find_if(t.questions.begin(), t.questions.end(), [&](auto& x) { return x.question_id == *s.question_id; });
      out += "\nNOTE Question " + std::to_string(*s.question_id);
      if (q != t.questions.end() && !q->question_text.empty())
        out += ": " + vtt_safe(q->question_text);
      out += '\n';
    }
    section = s.question_id;
    out += '\n' + std::to_string(++n) + '\n' + format_offset(s.start_us - t.origin_us) + " --> "
           + format_offset(std::max(s.end_us, s.start_us + 1000) - t.origin_us) + '\n' + vtt_safe(s.text) + '\n';
  }
  return out;
}

} // namespace mediaspool::net
