// End to end over real loopback sockets: the real server binary, its real spool, media folder and
// a per-test PostgreSQL schema. What a client is acked must be on disk byte for byte and in the
// session row exactly once; bad input gets its PROTOCOL.md section 5 answer and harms nothing.
#include "net/codec.hpp"
#include "support/http_test_client.hpp"
#include "support/media_session.hpp"
#include "support/pg_fixture.hpp"
#include "support/server_process.hpp"
#include "support/ws_test_client.hpp"

#include <doctest/doctest.h>

#include <exception>
#include <fstream>
#include <iterator>
#include <thread>

using namespace mediaspool;
using namespace mediaspool::test;
namespace fs = std::filesystem;

namespace {

// One recorder: init (waiting for its ack, or pipelining straight on when `pipeline_init`),
// the first half of its items, a question response, the second half, then session_end.
std::vector<std::string> record_session(uint16_t port, const std::string& sid, const std::vector<test_item>& items,
                                        size_t window, bool pipeline_init) {
  std::vector<std::string> failures;
  ws_test_client c{port};
  if (pipeline_init) {
    // Items sent before session_init_ack are held by the server until the session is loaded.
    c.send_json(init_msg(sid));
  } else {
    append(failures, "init", init_and_check(c, sid, false));
  }
  const auto half = items.begin() + static_cast<std::ptrdiff_t>(items.size() / 2);
  append(failures, "first half", send_and_check_acks(c, sid, {items.begin(), half}, window));
  c.send_json(response_msg(sid, 1));
  append(failures, "second half", send_and_check_acks(c, sid, {half, items.end()}, window));
  if (pipeline_init) {
    auto ack = c.wait_for_type("session_init_ack", 0ms);
    if (!ack || ack->value("resumed", true) || ack->value("audio_received", json()) != json::array())
      failures.push_back("pipelined init: no fresh session_init_ack queued: " + (ack ? ack->dump() : "none"));
  }
  auto resp = c.wait_for_type("response_ack", 10s);
  if (!resp || resp->value("question_id", 0) != 1 || resp->value("session_id", "") != sid)
    failures.push_back("response_ack for question 1: " + (resp ? resp->dump() : "none"));
  size_t chunks = 0;
  for (auto& it : items)
    chunks += it.kind == 'a';
  append(failures, "end", end_and_check(c, sid, chunks, items.size() - chunks));
  for (auto& left : c.drain())
    failures.push_back("unexpected message: " + left.dump());
  c.close(1000);
  auto code = c.wait_closed(0ms);
  if (code != std::optional<uint16_t>{1000})
    failures.push_back("close handshake did not end with 1000 (" + (code ? std::to_string(*code) : "open") + ")");
  return failures;
}

// A fresh session on `c` with `items` acked: the state every bad-input case must not harm.
void start_with_acked(ws_test_client& c, const std::string& sid, const std::vector<test_item>& items) {
  auto f = init_and_check(c, sid, false);
  append(f, "acks", send_and_check_acks(c, sid, items, 4));
  REQUIRE_MESSAGE(f.empty(), join(f));
}

// The error the server answers next, which must carry `code`.
void expect_error(ws_test_client& c, const std::string& code, std::chrono::milliseconds timeout = 5s) {
  auto err = c.wait_for_type("error", timeout);
  REQUIRE_MESSAGE(err.has_value(), "no error message; expected " << code);
  CHECK_MESSAGE(err->value("code", "") == code, "expected error " << code << ", got " << err->dump());
}

std::vector<test_item> small_items(uint64_t seed, uint32_t audio, uint32_t frames) {
  std::vector<test_item> out;
  for (uint32_t i = 0; i < audio; ++i)
    out.push_back(make_item('a', i, seed, 20u << 10, 40u << 10));
  for (uint32_t i = 0; i < frames; ++i)
    out.push_back(make_item('f', i, seed, 5u << 10, 20u << 10));
  return out;
}

} // namespace

TEST_SUITE("integration.roundtrip") {

TEST_CASE_FIXTURE(pg_fixture, "eight concurrent pipelined sessions store every acked item once as file and row") {
  server_process server{url};
  constexpr uint32_t sessions = 8;
  std::vector<std::vector<test_item>> items(sessions);
  for (uint32_t i = 0; i < sessions; ++i)
    items[i] = make_mix(1000 + i, 5, 12);
  auto failures = run_concurrently(sessions, [&](size_t i) {
    return record_session(server.port(), test_sid(static_cast<uint32_t>(i)), items[i], 3 + i % 4, i % 2 == 1);
  });
  for (uint32_t i = 0; i < sessions; ++i) {
    CHECK_MESSAGE(failures[i].empty(), "session " << i << ":\n" << join(failures[i]));
    auto stored = check_stored(server.media_root(), *this, test_sid(i), items[i], {1});
    CHECK_MESSAGE(stored.empty(), "session " << i << ":\n" << join(stored));
    CHECK_MESSAGE(scalar<std::string>("SELECT storage_path FROM media_sessions WHERE session_id = '" + test_sid(i) + "'")
                    == (fs::absolute(server.media_root()) / test_sid(i)).string(),
                  "storage_path is the session's folder");
  }
  // The original design's queries work on the arrays and name exactly the stored files.
  std::set<std::string> expected_audio, got_audio;
  for (uint32_t i = 0; i < sessions; ++i)
    for (auto& it : items[i])
      if (it.kind == 'a')
        expected_audio.insert(test_sid(i) + "/audio/chunk_" + std::to_string(it.index) + ".webm");
  for (auto&& row : query("SELECT e->>'file_path' FROM media_sessions, jsonb_array_elements(audio_chunks) e"))
    CHECK_MESSAGE(got_audio.insert(row[0].as<std::string>()).second, "path listed twice: " << row[0].c_str());
  CHECK_MESSAGE(got_audio == expected_audio, "audio file paths of all sessions");
  CHECK_MESSAGE(scalar<size_t>("SELECT sum(jsonb_array_length(video_frames)) FROM media_sessions") == sessions * 12,
                "video frames over all sessions");
  CHECK_MESSAGE(scalar<size_t>("SELECT count(*) FROM media_sessions WHERE total_chunks = jsonb_array_length(audio_chunks)"
                               " AND total_frames = jsonb_array_length(video_frames) AND status = 'completed'")
                  == sessions,
                "every session completed with totals equal to its array lengths");
}

// The allocator is a measured choice (cmake/deps.cmake); a link that silently dropped it would
// cost every item ~5 % more CPU without failing anything else.
TEST_CASE_FIXTURE(pg_fixture, "the server process allocates with tcmalloc") {
  server_process server{url};
  std::ifstream maps{"/proc/" + std::to_string(server.pid()) + "/maps"};
  REQUIRE(maps.good());
  std::string text{std::istreambuf_iterator<char>{maps}, std::istreambuf_iterator<char>{}};
  CHECK_MESSAGE(text.find("libtcmalloc_minimal") != std::string::npos, "libtcmalloc_minimal is not mapped");
}

TEST_CASE_FIXTURE(pg_fixture, "invalid JSON gets bad_json and the connection stays usable") {
  server_process server{url};
  ws_test_client c{server.port()};
  const auto sid = test_sid(1);
  const auto items = make_mix(11, 2, 3);
  const std::vector<test_item> first{items.begin(), items.begin() + 2}, rest{items.begin() + 2, items.end()};
  start_with_acked(c, sid, first);
  c.send_text(R"({"type":"audio_metadata","session_id":)");
  expect_error(c, "bad_json");
  c.send_text("[1,2,3]");
  expect_error(c, "bad_message");
  CHECK_NO_FAILURES(send_and_check_acks(c, sid, rest, 3)); // the connection is still usable
  CHECK_NO_FAILURES(end_and_check(c, sid, 2, 3));
  CHECK_FALSE_MESSAGE(c.is_closed(), "a recoverable error keeps the connection open");
  auto stored = check_stored(server.media_root(), *this, sid, items);
  CHECK_MESSAGE(stored.empty(), join(stored));
}

TEST_CASE_FIXTURE(pg_fixture, "messages before session_init get not_initialized and the session still starts") {
  server_process server{url};
  ws_test_client c{server.port()};
  const auto sid = test_sid(2);
  const auto items = small_items(12, 2, 2);
  c.send_json(metadata_msg(sid, items[0]));
  expect_error(c, "not_initialized");
  c.send_blob(sid, item_kind::audio, 0, items[0].payload);
  expect_error(c, "not_initialized");
  c.send_json(end_msg(sid));
  expect_error(c, "not_initialized");
  CHECK_FALSE_MESSAGE(c.is_closed(), "not_initialized keeps the connection open");
  auto f = init_and_check(c, sid, false); // nothing of the early messages was stored
  append(f, "acks", send_and_check_acks(c, sid, items, 2));
  append(f, "end", end_and_check(c, sid, 2, 2));
  append(f, "stored", check_stored(server.media_root(), *this, sid, items));
  CHECK_MESSAGE(f.empty(), join(f));
}

TEST_CASE_FIXTURE(pg_fixture, "a size mismatch gets size_mismatch and the corrected resend is stored") {
  server_process server{url};
  ws_test_client c{server.port()};
  const auto sid = test_sid(3);
  const auto items = small_items(13, 3, 3);
  start_with_acked(c, sid, {items[0], items[3]});
  // Metadata first, claiming one byte more than the blob has.
  auto meta = metadata_msg(sid, items[1]);
  meta["size"] = items[1].payload.size() + 1;
  c.send_json(meta);
  c.send_blob(sid, item_kind::audio, 1, items[1].payload);
  auto err = c.wait_for_type("error");
  REQUIRE_MESSAGE(err.has_value(), "an error message arrives");
  CHECK_MESSAGE((err->value("code", "") == "size_mismatch" && (*err)["ref"] == json{{"kind", "a"}, {"index", 1}}),
                err->dump());
  // Blob first, then metadata claiming one byte less.
  c.send_blob(sid, item_kind::frame, 1, items[4].payload);
  meta = metadata_msg(sid, items[4]);
  meta["size"] = items[4].payload.size() - 1;
  c.send_json(meta);
  err = c.wait_for_type("error");
  REQUIRE_MESSAGE(err.has_value(), "an error message arrives");
  CHECK_MESSAGE((err->value("code", "") == "size_mismatch" && (*err)["ref"] == json{{"kind", "f"}, {"index", 1}}),
                err->dump());
  // Both halves were dropped: the right pair is a new item, not a duplicate.
  CHECK_NO_FAILURES(send_and_check_acks(c, sid, {items[1], items[2], items[4], items[5]}, 4));
  CHECK_NO_FAILURES(end_and_check(c, sid, 3, 3));
  auto stored = check_stored(server.media_root(), *this, sid, items);
  CHECK_MESSAGE(stored.empty(), join(stored));
}

TEST_CASE_FIXTURE(pg_fixture, "a binary frame for another session gets session_mismatch and close 1008") {
  server_process server{url};
  const auto sid = test_sid(4);
  const auto items = small_items(14, 2, 2);
  ws_test_client c{server.port()};
  start_with_acked(c, sid, items);
  c.send_blob(test_sid(99), item_kind::audio, 5, items[0].payload);
  expect_error(c, "session_mismatch");
  CHECK_MESSAGE(c.wait_closed(5s) == std::optional<uint16_t>{1008}, "close code 1008");
  CHECK_MESSAGE(!fs::exists(server.media_root() / test_sid(99)), "nothing stored for the other session");
  auto f = resume_end_and_check(server.port(), server.media_root(), *this, sid, items);
  CHECK_MESSAGE(f.empty(), join(f));
}

TEST_CASE_FIXTURE(pg_fixture, "a message above read-message-max closes the connection with 1009") {
  server_process server{url, {"--limits.read-message-max=65536"}};
  const auto sid = test_sid(5);
  const auto items = small_items(15, 2, 2); // every message below 64 KiB
  ws_test_client c{server.port()};
  start_with_acked(c, sid, items);
  auto big = make_item('a', 2, 15, 100u << 10, 100u << 10);
  c.send_json(metadata_msg(sid, big));
  c.send_blob(sid, item_kind::audio, 2, big.payload);
  auto code = c.wait_closed(5s);
  CHECK_MESSAGE(code == std::optional<uint16_t>{1009},
                "close code 1009, got " << (code ? std::to_string(*code) : "none") << " " << c.last_error());
  auto f = resume_end_and_check(server.port(), server.media_root(), *this, sid, items);
  CHECK_MESSAGE(f.empty(), join(f));
}

TEST_CASE_FIXTURE(pg_fixture, "no session_init within the init timeout gets not_initialized and close 1008") {
  server_process server{url, {"--limits.init-timeout=1s"}}; // room for a loaded machine to send the good init
  const auto sid = test_sid(6);
  const auto items = small_items(16, 2, 2);
  ws_test_client good{server.port()};
  start_with_acked(good, sid, {items[0], items[2]});
  ws_test_client idle{server.port()};
  expect_error(idle, "not_initialized");
  CHECK_MESSAGE(idle.wait_closed(5s) == std::optional<uint16_t>{1008}, "close code 1008");
  // The initialised session is past its deadline too and must not be touched by it.
  CHECK_NO_FAILURES(send_and_check_acks(good, sid, {items[1], items[3]}, 2));
  CHECK_NO_FAILURES(end_and_check(good, sid, 2, 2));
  CHECK_FALSE_MESSAGE(good.is_closed(), "the initialised connection stays open");
  auto stored = check_stored(server.media_root(), *this, sid, items);
  CHECK_MESSAGE(stored.empty(), join(stored));
}

TEST_CASE_FIXTURE(pg_fixture, "a session id that is not a UUID gets bad_message and names no path") {
  server_process server{url};
  const auto sid = test_sid(7);
  const auto items = small_items(17, 2, 2);
  ws_test_client c{server.port()};
  auto init = init_msg(sid);
  init["session_id"] = "../../../../tmp/mediaspool-escape";
  c.send_json(init);
  expect_error(c, "bad_message");
  init["session_id"] = "3f2b8c1e-7e57-4000-8000-00000000000g"; // right shape, not hex
  c.send_json(init);
  expect_error(c, "bad_message");
  start_with_acked(c, sid, {items[0], items[2]});
  c.send_binary(net::make_blob_header("../../../../tmp/mediaspool-escape", item_kind::audio, 1) + items[1].payload);
  expect_error(c, "bad_message");
  CHECK_FALSE_MESSAGE(c.is_closed(), "a bad binary header keeps the connection open");
  CHECK_NO_FAILURES(send_and_check_acks(c, sid, {items[1], items[3]}, 2));
  CHECK_NO_FAILURES(end_and_check(c, sid, 2, 2));
  auto stored = check_stored(server.media_root(), *this, sid, items);
  CHECK_MESSAGE(stored.empty(), join(stored));
  std::vector<std::string> entries;
  for (auto& e : fs::directory_iterator(server.media_root()))
    entries.push_back(e.path().filename().string());
  CHECK_MESSAGE(entries == std::vector<std::string>{sid}, "the media root holds only the session's folder");
  CHECK_FALSE_MESSAGE(fs::exists("/tmp/mediaspool-escape"), "nothing was written outside the media root");
}

} // TEST_SUITE

TEST_CASE_FIXTURE(pg_fixture, "a flood past max-messages-per-second is slowed to the rate, told rate_limited, and loses nothing") {
  // Files take 50 ms to sync, so each item's credit comes back while reads are held back by the
  // rate (as on a busy disk): reading must still resume at the rate, losing nothing. A notice may
  // also come after the last ack (session_end is read at the rate too): end_and_check skips it.
  server_process server{url, {"--limits.max-messages-per-second=10", "--debug.fault-injection",
                              "--debug.io-faults=media.sync:persistent:slow=50"}};
  const auto sid = test_sid(8);
  const auto items = small_items(18, 6, 4);
  ws_test_client c{server.port()};
  CHECK_NO_FAILURES(init_and_check(c, sid, false));
  auto t0 = std::chrono::steady_clock::now();
  for (const auto& it : items) // 20 messages at once against 10 per second (burst 10, init took one)
    send_item(c, sid, it);
  std::set<item_key> acked;
  bool told = false;
  while (acked.size() < items.size()) {
    auto m = c.next(10s);
    REQUIRE_MESSAGE(m.has_value(), "acked " << acked.size() << " of " << items.size());
    auto type = m->value("type", "");
    if (type == "error") {
      CHECK_MESSAGE(m->value("code", "") == "rate_limited", m->dump());
      CHECK_FALSE(m->contains("ref"));
      told = true;
    } else if (type == "audio_ack" || type == "frame_ack") {
      acked.insert({type == "audio_ack" ? 'a' : 'f', m->value(type == "audio_ack" ? "chunk_index" : "frame_index", 0u)});
    }
  }
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("20 messages at 10/s took " << took << " s");
  CHECK(told);
  CHECK(took >= 0.8); // 11 messages past the burst at 10 per second (a bound, not a timing target)
  CHECK_FALSE(c.is_closed());
  CHECK_NO_FAILURES(end_and_check(c, sid, 6, 4));
  auto stored = check_stored(server.media_root(), *this, sid, items);
  CHECK_MESSAGE(stored.empty(), join(stored));
  auto metrics = http_get(server.port(), "/metrics").body;
  CHECK(metrics.find("mediaspool_errors_total{code=\"rate_limited\"}") != std::string::npos);
}
