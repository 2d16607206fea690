// Transcription end to end (issue 5): flite speech in 10 s WebM/Opus chunks streamed through the
// real server binary; the chunks' elements in PostgreSQL get their transcription, the connected
// client gets `transcription` messages, undecodable chunks are marked with an error, and chunks
// acked before a kill -9 are transcribed after the restart.
#include "audio/audio_decoder.hpp"
#include "support/http_test_client.hpp"
#include "support/media_session.hpp"
#include "support/pg_fixture.hpp"
#include "support/server_process.hpp"
#include "support/speech.hpp"
#include "support/ws_test_client.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <thread>

using namespace mediaspool;
using namespace mediaspool::test;

namespace {

using steady = std::chrono::steady_clock;

// The flite paragraph as two WebM chunks, made once per test case.
struct speech_chunks {
  temp_dir dir;
  std::vector<test_item> items;

  speech_chunks() {
    auto wav = dir / "speech.wav";
    REQUIRE_MESSAGE(make_speech_wav(speech_text(), wav), "flite failed (apt-get install flite)");
    auto files = encode_webm_chunks(wav, dir / "chunks", 10);
    REQUIRE(files.size() == 2);
    for (uint32_t i = 0; i < files.size(); ++i)
      items.push_back({'a', i, read_bytes(files[i]), true});
  }
};

struct chunk_row {
  bool processed = false;
  std::optional<std::string> text;
  std::string error;
  size_t words = 0;
};

// The audio rows of `sid` as media_items holds them (the record of truth).
std::map<uint32_t, chunk_row> audio_rows(const pg_fixture& db, const std::string& sid) {
  std::map<uint32_t, chunk_row> out;
  auto r = db.query("SELECT idx, COALESCE(element->>'processed', 'false'), element->>'transcription', "
                    "COALESCE(element->>'transcription_error', ''), COALESCE(jsonb_array_length(element->'words'), 0) "
                    "FROM media_items WHERE kind = 'a' AND session_id = '" + sid + "'");
  for (const auto& row : r) {
    chunk_row c;
    c.processed = row[1].as<std::string>() == "true";
    if (!row[2].is_null())
      c.text = row[2].as<std::string>();
    c.error = row[3].as<std::string>();
    c.words = row[4].as<size_t>();
    out[static_cast<uint32_t>(row[0].as<int64_t>())] = c;
  }
  return out;
}

// Polls until `count` audio rows of `sid` are processed; returns them (fewer on timeout).
std::map<uint32_t, chunk_row> wait_processed(const pg_fixture& db, const std::string& sid, size_t count,
                                             std::chrono::seconds timeout = std::chrono::seconds(90)) {
  auto deadline = steady::now() + timeout;
  for (;;) {
    auto rows = audio_rows(db, sid);
    size_t done = 0;
    for (auto& [i, r] : rows)
      done += r.processed;
    if (done >= count || steady::now() > deadline)
      return rows;
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // poll interval, with a deadline
  }
}

std::string joined_text(const std::map<uint32_t, chunk_row>& rows) {
  std::string out;
  for (auto& [i, r] : rows)
    if (r.text)
      out += (out.empty() ? "" : " ") + *r.text;
  return out;
}

} // namespace

TEST_SUITE("integration.transcription") {

TEST_CASE_FIXTURE(pg_fixture, "streamed flite speech is transcribed into the chunk elements and pushed to the client") {
  speech_chunks speech;
  server_process srv{url, {"--asr.poll-interval=200ms"}};
  const auto sid = test_sid(501);
  ws_test_client c{srv.port()};
  auto f = init_and_check(c, sid, false);
  REQUIRE_MESSAGE(f.empty(), join(f));
  f = send_and_check_acks(c, sid, speech.items, 2);
  REQUIRE_MESSAGE(f.empty(), join(f));
  auto acked = steady::now();
  std::map<uint32_t, std::string> pushed;
  while (pushed.size() < speech.items.size()) {
    auto m = c.wait_for_type("transcription", std::chrono::seconds(60));
    REQUIRE_MESSAGE(m.has_value(), "no transcription message; got " << pushed.size());
    CHECK(m->value("session_id", "") == sid);
    pushed[m->value("chunk_index", 0u)] = m->value("text", "");
    if (pushed.size() == 1)
      MESSAGE("first transcription " << std::chrono::duration<double>(steady::now() - acked).count()
                                     << " s after the last ack");
  }
  MESSAGE("all transcriptions " << std::chrono::duration<double>(steady::now() - acked).count()
                                << " s after the last ack");
  std::string pushed_text = pushed[0] + " " + pushed[1];
  CHECK(words_recognized(speech_text(), pushed_text) >= 0.8);

  auto rows = wait_processed(*this, sid, 2);
  REQUIRE(rows.size() == 2);
  for (auto& [i, r] : rows) {
    CHECK(r.processed);
    CHECK(r.error.empty());
    CHECK(r.words > 0);
    CHECK(r.text == pushed[i]);
  }
  // /metrics shows the work: two chunks transcribed, their lag, the real-time factor, no backlog.
  auto metric = [](const std::string& body, const std::string& series) -> double {
    auto p = body.find("\n" + series + " ");
    return p == std::string::npos ? -1 : std::stod(body.substr(p + series.size() + 2));
  };
  std::string m;
  for (auto deadline = steady::now() + std::chrono::seconds(10); steady::now() < deadline;
       std::this_thread::sleep_for(std::chrono::milliseconds(100))) { // poll interval, with a deadline
    m = http_get(srv.port(), "/metrics").body;
    if (metric(m, "mediaspool_transcriptions_total{result=\"ok\"}") >= 2 && metric(m, "mediaspool_transcription_backlog") == 0)
      break;
  }
  CHECK(metric(m, "mediaspool_transcriptions_total{result=\"ok\"}") == 2);
  CHECK(metric(m, "mediaspool_transcriptions_total{result=\"error\"}") == 0);
  CHECK(metric(m, "mediaspool_transcription_backlog") == 0);
  CHECK(metric(m, "mediaspool_transcription_lag_seconds_count") == 2);
  auto rtf = metric(m, "mediaspool_transcription_real_time_factor");
  MESSAGE("real-time factor " << rtf);
  CHECK(rtf > 0);
  CHECK(rtf < 1);

  auto text = joined_text(rows);
  MESSAGE("stored: " << text << " (recognized " << words_recognized(speech_text(), text) << ", WER "
                     << word_error_rate(speech_text(), text) << ")");
  CHECK(words_recognized(speech_text(), text) >= 0.8);

  // After session_end the JSONB array is exact and carries the transcriptions.
  f = end_and_check(c, sid, 2, 0);
  REQUIRE_MESSAGE(f.empty(), join(f));
  auto arr = query("SELECT e->>'transcription', e->>'processed' FROM media_sessions, "
                   "jsonb_array_elements(audio_chunks) e WHERE session_id = '" + sid + "' ORDER BY (e->>'chunk_index')::int");
  REQUIRE(arr.size() == 2);
  for (const auto& row : arr) {
    CHECK(row[1].as<std::string>() == "true");
    CHECK_FALSE(row[0].is_null());
  }
}

TEST_CASE_FIXTURE(pg_fixture, "by default the server starts one transcription worker per core") {
  // asr.workers=0 (the default): one per core, each at a lower CPU priority (asr.nice).
  server_process server{url, {"--asr.enabled=true"}};
  const auto want = "asr: " + std::to_string(std::max(1u, std::thread::hardware_concurrency())) + " pocketsphinx worker(s)";
  auto log = server.wait_for_log("pocketsphinx worker(s)", 30s);
  CHECK_MESSAGE(log.find(want) != std::string::npos, "want \"" << want << "\" in\n" << log);
}

TEST_CASE_FIXTURE(pg_fixture, "garbage audio and a 110 byte webm are marked processed with an error and the server stays healthy") {
  speech_chunks speech;
  server_process srv{url, {"--asr.poll-interval=200ms"}};
  const auto sid = test_sid(502);
  ws_test_client c{srv.port()};
  auto f = init_and_check(c, sid, false);
  REQUIRE_MESSAGE(f.empty(), join(f));
  std::vector<test_item> items{{'a', 0, seeded_bytes(7, 30000), true},
                               {'a', 1, speech.items[0].payload.substr(0, 36) + std::string(110 - 36, '\0'), true},
                               {'a', 2, speech.items[0].payload, true}};
  f = send_and_check_acks(c, sid, items, 3);
  REQUIRE_MESSAGE(f.empty(), join(f));
  auto rows = wait_processed(*this, sid, 3);
  REQUIRE(rows.size() == 3);
  for (uint32_t i : {0u, 1u}) {
    CHECK(rows[i].processed);
    CHECK_FALSE(rows[i].text.has_value());
    CHECK_MESSAGE(!rows[i].error.empty(), "chunk " << i << " has no transcription_error");
  }
  CHECK(rows[2].processed);
  CHECK(rows[2].error.empty());
  CHECK(words_recognized("hello my name is john and i am applying for the software engineer position",
                         rows[2].text.value_or("")) >= 0.8);
  // Only the good chunk is pushed; errors are not.
  auto m = c.wait_for_type("transcription", std::chrono::seconds(30));
  REQUIRE(m.has_value());
  CHECK(m->value("chunk_index", 99u) == 2u);
  CHECK_FALSE(c.wait_for_type("transcription", std::chrono::milliseconds(500)).has_value());
  // The server still serves: the session ends normally and a new one opens.
  f = end_and_check(c, sid, 3, 0);
  CHECK_MESSAGE(f.empty(), join(f));
  ws_test_client c2{srv.port()};
  f = init_and_check(c2, test_sid(503), false);
  CHECK_MESSAGE(f.empty(), join(f));
  CHECK(srv.running());
}

TEST_CASE_FIXTURE(pg_fixture, "chunks acked right before a kill -9 are transcribed after the restart") {
  speech_chunks speech;
  // A long poll interval: the only poll before the kill runs at start, when nothing is stored.
  server_process srv{url, {"--asr.poll-interval=5s"}};
  const auto sid = test_sid(504);
  {
    ws_test_client c{srv.port()};
    auto f = init_and_check(c, sid, false);
    REQUIRE_MESSAGE(f.empty(), join(f));
    f = send_and_check_acks(c, sid, speech.items, 2);
    REQUIRE_MESSAGE(f.empty(), join(f));
    srv.kill9();
  }
  size_t processed_before = 0;
  for (auto& [i, r] : audio_rows(*this, sid))
    processed_before += r.processed;
  CHECK_MESSAGE(processed_before == 0, "a chunk was transcribed before the kill: the crash case was not exercised");
  srv.restart();
  auto rows = wait_processed(*this, sid, 2);
  REQUIRE(rows.size() == 2);
  for (auto& [i, r] : rows)
    CHECK(r.processed);
  CHECK(words_recognized(speech_text(), joined_text(rows)) >= 0.8);
}

TEST_CASE_FIXTURE(pg_fixture, "the transcript route and recording.webm serve what was said, in sections and as one file") {
  speech_chunks speech;
  server_process srv{url, {"--asr.poll-interval=200ms"}};
  const auto sid = test_sid(505);
  ws_test_client c{srv.port()};
  auto f = init_and_check(c, sid, false);
  REQUIRE_MESSAGE(f.empty(), join(f));
  f = send_and_check_acks(c, sid, speech.items, 2);
  REQUIRE_MESSAGE(f.empty(), join(f));
  // The chunks start at 09:00:00.134 and 09:00:10.134 (metadata_msg): question 1 spans the first
  // 9.5 s, question 2 the rest.
  for (auto [q, from, to] : {std::tuple{1, "09:00:00.134", "09:00:09.634"}, std::tuple{2, "09:00:09.634", "09:00:30.000"}}) {
    auto m = response_msg(sid, static_cast<uint32_t>(q));
    m["start_timestamp"] = std::string("2025-12-17T") + from + "Z";
    m["end_timestamp"] = std::string("2025-12-17T") + to + "Z";
    c.send_json(m);
    REQUIRE(c.wait_for_type("response_ack", 10s).has_value());
  }
  auto rows = wait_processed(*this, sid, 2);
  REQUIRE(rows.size() == 2);
  const auto base = "/api/sessions/" + sid;

  // json: every segment's text together is the paragraph; sections per question.
  auto r = http_get(srv.port(), base + "/transcript");
  REQUIRE_MESSAGE(r.status == 200, r.status << " " << r.body);
  CHECK(r.header("content-type") == "application/json");
  auto t = json::parse(r.body);
  CHECK(t["complete"] == true);
  CHECK(t["chunks"] == 2);
  REQUIRE(t["segments"].size() >= 2);
  std::string all;
  double last_start = -1;
  for (auto& seg : t["segments"]) {
    all += seg["text"].get<std::string>() + " ";
    CHECK(seg["start_s"].get<double>() >= last_start);
    CHECK(seg["end_s"].get<double>() >= seg["start_s"].get<double>());
    CHECK(seg["end_s"].get<double>() < 25.0);
    last_start = seg["start_s"].get<double>();
  }
  MESSAGE("transcript: " << all);
  CHECK(words_recognized(speech_text(), all) >= 0.8);
  CHECK(t["segments"][0]["start"].get<std::string>().rfind("2025-12-17T09:00:0", 0) == 0);
  REQUIRE(t["questions"].size() == 2);
  CHECK(words_recognized("hello my name is john", t["questions"][0]["text"].get<std::string>()) >= 0.8);
  CHECK(words_recognized("thank you for inviting me", t["questions"][1]["text"].get<std::string>()) >= 0.6);

  auto txt = http_get(srv.port(), base + "/transcript?format=txt");
  REQUIRE(txt.status == 200);
  CHECK(txt.header("content-type").rfind("text/plain", 0) == 0);
  CHECK(txt.body.rfind("Question 1: question 1\n[00:00:0", 0) == 0);
  CHECK(txt.body.find("\nQuestion 2: question 2\n[00:00:") != std::string::npos);
  auto vtt = http_get(srv.port(), base + "/transcript?format=vtt");
  REQUIRE(vtt.status == 200);
  CHECK(vtt.header("content-type").rfind("text/vtt", 0) == 0);
  CHECK(vtt.body.rfind("WEBVTT\n", 0) == 0);
  CHECK(vtt.body.find("\n1\n00:00:0") != std::string::npos);
  CHECK(http_get(srv.port(), base + "/transcript?format=xml").status == 400);
  CHECK(http_get(srv.port(), "/api/sessions/" + test_sid(599) + "/transcript").status == 404);
  CHECK(http_get(srv.port(), "/api/sessions/not-a-uuid/transcript").status == 400);

  // recording.webm: one WebM as long as the chunks together.
  double chunks_seconds = 0;
  for (auto& it : speech.items)
    chunks_seconds += audio::decode_audio(it.payload, audio::container::webm).seconds();
  auto rec = http_get(srv.port(), base + "/recording.webm");
  REQUIRE_MESSAGE(rec.status == 200, rec.status << " " << rec.body);
  CHECK(rec.header("content-type") == "audio/webm");
  auto etag = rec.header("etag");
  CHECK(etag.size() == 18);
  auto whole = audio::decode_audio(rec.body, audio::container::webm);
  REQUIRE_MESSAGE(whole.ok(), whole.error);
  MESSAGE("recording.webm " << whole.seconds() << " s, chunks " << chunks_seconds << " s");
  CHECK(std::abs(whole.seconds() - chunks_seconds) < 0.1);
  CHECK(http_get(srv.port(), base + "/recording.webm", {{"If-None-Match", etag}}).status == 304);
  auto part = http_get(srv.port(), base + "/recording.webm", {{"Range", "bytes=0-99"}});
  CHECK(part.status == 206);
  CHECK(part.body == rec.body.substr(0, 100));
  auto head = http_get(srv.port(), base + "/recording.webm", {}, 10s, "HEAD");
  CHECK(head.status == 200);
  CHECK(head.header("content-length") == std::to_string(rec.body.size()));

  // A new chunk (at 20 s on the session clock) makes a new recording, 10 s longer.
  f = send_and_check_acks(c, sid, {test_item{'a', 2, speech.items[0].payload, true}}, 1);
  REQUIRE_MESSAGE(f.empty(), join(f));
  f = end_and_check(c, sid, 3, 0);
  REQUIRE_MESSAGE(f.empty(), join(f));
  auto rec2 = http_get(srv.port(), base + "/recording.webm");
  REQUIRE(rec2.status == 200);
  CHECK(rec2.header("etag") != etag);
  auto longer = audio::decode_audio(rec2.body, audio::container::webm);
  REQUIRE(longer.ok());
  CHECK(std::abs(longer.seconds() - (20.0 + audio::decode_audio(speech.items[0].payload, audio::container::webm).seconds())) < 0.2);
  // The older file is pruned: one recording in the session's cache folder.
  size_t cached = 0;
  for (auto& e : std::filesystem::directory_iterator(srv.media_root() / sid / "cache"))
    cached += e.path().extension() == ".webm";
  CHECK(cached == 1);

  // No audio, no session: 404 with a reason.
  ws_test_client c2{srv.port()};
  f = init_and_check(c2, test_sid(506), false);
  REQUIRE_MESSAGE(f.empty(), join(f));
  auto none = http_get(srv.port(), "/api/sessions/" + test_sid(506) + "/recording.webm");
  CHECK(none.status == 404);
  CHECK(none.body.find("no audio") != std::string::npos);
  CHECK(http_get(srv.port(), "/api/sessions/" + test_sid(598) + "/recording.webm").status == 404);
}

} // TEST_SUITE
