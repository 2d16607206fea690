// The transcript route's formatting (net/transcript.hpp): absolute timings from chunk start +
// word offsets, segments split at pauses, question sections from `responses`, and the three
// output formats.
#include "net/transcript.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace mediaspool::net;
using json = nlohmann::json;

namespace {

json word(const char* w, int start_ms, int end_ms) { return {{"word", w}, {"start_ms", start_ms}, {"end_ms", end_ms}}; }

// Chunk 0 at 09:00:00 with words, chunk 1 at 09:00:10 without words, chunk 2 not transcribed,
// chunk 3 undecodable; answers to question 1 (0-9 s) and question 2 (9-30 s).
json session() {
  return json{
    {"session_id", "11111111-2222-3333-4444-555555555555"},
    {"audio_chunks",
     json::array({
       {{"chunk_index", 1}, {"start_timestamp", "2025-12-17T09:00:10.000000+00:00"}, {"duration_ms", 9990},
        {"processed", true}, {"transcription", "thank you"}},
       {{"chunk_index", 0}, {"start_timestamp", "2025-12-17T09:00:00.000000+00:00"}, {"duration_ms", 9990},
        {"processed", true}, {"transcription", "hello my name is john"},
        {"words", json::array({word("hello", 500, 900), word("my", 950, 1100), word("name", 1150, 1400),
                               word("is", 1450, 1600), word("john", 3000, 3500)})}},
       {{"chunk_index", 2}, {"start_timestamp", "2025-12-17T09:00:20.000000+00:00"}, {"duration_ms", 9990},
        {"processed", false}, {"transcription", nullptr}},
       {{"chunk_index", 3}, {"start_timestamp", "2025-12-17T09:00:30.000000+00:00"}, {"duration_ms", 110},
        {"processed", true}, {"transcription", nullptr}, {"transcription_error", "no audio"}},
     })},
    {"responses",
     json::array({
       {{"question_id", 2}, {"question_text", "Why --> us?"}, {"start_timestamp", "2025-12-17T09:00:09.000000+00:00"},
        {"end_timestamp", "2025-12-17T09:00:30.000000+00:00"}},
       {{"question_id", 1}, {"question_text", "Who are you?"}, {"start_timestamp", "2025-12-17T09:00:00.000000+00:00"},
        {"end_timestamp", "2025-12-17T09:00:09.000000+00:00"}},
     })},
  };
}

} // namespace

TEST_SUITE("net.transcript") {

TEST_CASE("segments carry absolute times, split at pauses, and belong to the answer they fall in") {
  auto t = build_transcript(session());
  CHECK(t.chunks == 4);
  CHECK(t.pending == 1);
  CHECK(t.failed == 1);
  REQUIRE(t.segments.size() == 3);
  // "hello my name is" then a 1.4 s pause, then "john".
  CHECK(t.segments[0].text == "hello my name is");
  CHECK(t.segments[0].start_us - t.origin_us == 500'000);
  CHECK(t.segments[0].end_us - t.origin_us == 1'600'000);
  CHECK(t.segments[1].text == "john");
  CHECK(t.segments[1].start_us - t.origin_us == 3'000'000);
  // Without words: the whole chunk.
  CHECK(t.segments[2].text == "thank you");
  CHECK(t.segments[2].start_us - t.origin_us == 10'000'000);
  CHECK(t.segments[2].end_us - t.origin_us == 19'990'000);
  CHECK(t.segments[0].question_id == 1);
  CHECK(t.segments[1].question_id == 1);
  CHECK(t.segments[2].question_id == 2);
  REQUIRE(t.questions.size() == 2);
  CHECK(t.questions[0].question_id == 1);
}

TEST_CASE("json: timings as ISO times and seconds from the recording start, text per question") {
  auto j = json::parse(transcript_json(build_transcript(session())));
  CHECK(j["complete"] == false);
  CHECK(j["pending"] == 1);
  CHECK(j["started_at"] == "2025-12-17T09:00:00.000000+00:00");
  REQUIRE(j["segments"].size() == 3);
  CHECK(j["segments"][0]["start"] == "2025-12-17T09:00:00.500000+00:00");
  CHECK(j["segments"][0]["start_s"].get<double>() == doctest::Approx(0.5));
  CHECK(j["segments"][2]["chunk_index"] == 1);
  CHECK(j["questions"][0]["text"] == "hello my name is john");
  CHECK(j["questions"][1]["text"] == "thank you");
  CHECK(j["questions"][1]["start_s"].get<double>() == doctest::Approx(9.0));
}

TEST_CASE("txt: a heading per question and a time per line") {
  auto txt = transcript_txt(build_transcript(session()));
  CHECK(txt == "Question 1: Who are you?\n"
               "[00:00:00.500] hello my name is\n"
               "[00:00:03.000] john\n"
               "\n"
               "Question 2: Why --> us?\n"
               "[00:00:10.000] thank you\n"
               "\n"
               "(1 of 4 chunks not transcribed yet)\n");
}

TEST_CASE("vtt: numbered cues with offsets, a NOTE per question, no stray cue arrows") {
  auto vtt = transcript_vtt(build_transcript(session()));
  CHECK(vtt == "WEBVTT\n"
               "\nNOTE Question 1: Who are you?\n"
               "\n1\n00:00:00.500 --> 00:00:01.600\nhello my name is\n"
               "\n2\n00:00:03.000 --> 00:00:03.500\njohn\n"
               "\nNOTE Question 2: Why -> us?\n"
               "\n3\n00:00:10.000 --> 00:00:19.990\nthank you\n");
}

TEST_CASE("an empty or odd session row gives an empty transcript, never a throw") {
  auto t = build_transcript(json::object());
  CHECK(t.segments.empty());
  CHECK(transcript_vtt(t) == "WEBVTT\n");
  auto odd = json{{"audio_chunks", json::array({1, "x", json{{"chunk_index", "nope"}},
                                                json{{"chunk_index", 0}, {"processed", true}, {"transcription", "hi"},
                                                     {"words", json::array({json{{"word", 5}}, 7})}}})},
                  {"responses", "not an array"}};
  auto t2 = build_transcript(odd);
  CHECK(t2.chunks == 1);
  REQUIRE(t2.segments.size() == 1); // no usable word: the chunk's text as one segment
  CHECK(t2.segments[0].text == "hi");
  CHECK(format_offset(3'723'456'789) == "01:02:03.456");
}

} // TEST_SUITE
