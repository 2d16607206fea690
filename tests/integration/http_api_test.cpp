// The review HTTP API (PROTOCOL.md section 4) and the static pages over the real server binary:
// items go in over WebSocket, then the list, the detail, the files and their ranges come back
// over HTTP exactly as stored.
#include "support/http_test_client.hpp"
#include "support/media_session.hpp"
#include "support/pg_fixture.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"
#include "support/ws_test_client.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace mediaspool;
using namespace mediaspool::test;
namespace fs = std::filesystem;

namespace {

// Records `items` into `sid` as user `user_id`; ends the session if `end`.
void record(uint16_t port, const std::string& sid, int user_id, const std::vector<test_item>& items, bool end) {
  ws_test_client c{port};
  auto init = init_msg(sid);
  init["user_id"] = user_id;
  c.send_json(init);
  auto ack = c.wait_for_type("session_init_ack", 10s);
  REQUIRE_MESSAGE(ack.has_value(), "no session_init_ack for " << sid);
  auto f = send_and_check_acks(c, sid, items, 4);
  if (end) {
    size_t chunks = 0;
    for (auto& it : items)
      chunks += it.kind == 'a';
    append(f, "end", end_and_check(c, sid, chunks, items.size() - chunks));
  }
  REQUIRE_MESSAGE(f.empty(), join(f));
  c.close(1000);
}

json get_json(uint16_t port, const std::string& target, unsigned expect_status = 200) {
  auto r = http_get(port, target);
  REQUIRE_MESSAGE(r.status == expect_status, target << " -> " << r.status << " " << r.error << " " << r.body);
  CHECK_MESSAGE(r.header("content-type") == "application/json", target << " content-type " << r.header("content-type"));
  auto j = json::parse(r.body, nullptr, false);
  REQUIRE_MESSAGE(!j.is_discarded(), target << " body is not JSON: " << r.body);
  return j;
}

std::vector<std::string> sids_of(const json& page) {
  std::vector<std::string> out;
  for (const auto& s : page.at("sessions"))
    out.push_back(s.at("session_id").get<std::string>());
  return out;
}

// Polls GET `target` until it answers 200 (a file is written shortly after its ack).
http_result get_when_ready(uint16_t port, const std::string& target,
                           const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  auto deadline = std::chrono::steady_clock::now() + 15s;
  http_result r;
  do {
    r = http_get(port, target, headers);
    if (r.status != 404)
      return r;
  } while (std::chrono::steady_clock::now() < deadline);
  return r;
}

std::vector<test_item> items_for(uint64_t seed, uint32_t audio, uint32_t frames) {
  std::vector<test_item> out;
  for (uint32_t i = 0; i < audio; ++i)
    out.push_back(make_item('a', i, seed, 2000, 6000));
  for (uint32_t i = 0; i < frames; ++i)
    out.push_back(make_item('f', i, seed + 1, 1000, 3000));
  return out;
}

} // namespace

TEST_SUITE("integration.http_api") {
  TEST_CASE_FIXTURE(pg_fixture, "lists sessions newest first with keyset paging and filters") {
    server_process srv{url};
    const std::string a = test_sid(101), b = test_sid(102), c = test_sid(103);
    record(srv.port(), a, 7, items_for(1, 2, 1), true);
    record(srv.port(), b, 8, items_for(2, 3, 0), false);
    record(srv.port(), c, 7, items_for(3, 1, 2), false);

    auto p1 = get_json(srv.port(), "/api/sessions?limit=2");
    CHECK(sids_of(p1) == std::vector<std::string>{c, b});
    REQUIRE_MESSAGE(p1.at("next_cursor").is_number_integer(), p1.dump());
    auto p2 = get_json(srv.port(), "/api/sessions?limit=2&cursor=" + std::to_string(p1.at("next_cursor").get<int64_t>()));
    CHECK(sids_of(p2) == std::vector<std::string>{a});
    CHECK_MESSAGE(p2.at("next_cursor").is_null(), p2.dump());

    const auto& first = p2.at("sessions").at(0);
    CHECK(first.at("user_id") == 7);
    CHECK(first.at("interview_session_id") == 42);
    CHECK(first.at("status") == "completed");
    CHECK(first.at("total_chunks") == 2);
    CHECK(first.at("total_frames") == 1);
    CHECK(first.at("duration_ms") == 2 * 9990);
    CHECK_MESSAGE(first.at("created_at").is_string(), first.dump());
    CHECK_MESSAGE(first.at("completed_at").is_string(), first.dump());
    CHECK(p1.at("sessions").at(0).at("completed_at").is_null());

    CHECK(sids_of(get_json(srv.port(), "/api/sessions?status=completed")) == std::vector<std::string>{a});
    CHECK(sids_of(get_json(srv.port(), "/api/sessions?status=recording")) == std::vector<std::string>{c, b});
    CHECK(sids_of(get_json(srv.port(), "/api/sessions?user_id=8")) == std::vector<std::string>{b});
    CHECK(sids_of(get_json(srv.port(), "/api/sessions?user_id=7&limit=1")) == std::vector<std::string>{c});

    for (const char* bad : {"/api/sessions?limit=0", "/api/sessions?limit=x", "/api/sessions?cursor=-1",
                            "/api/sessions?status=deleted", "/api/sessions?user_id=1.5"}) {
      auto e = get_json(srv.port(), bad, 400);
      CHECK_MESSAGE(e.at("error") == "bad_request", bad << " " << e.dump());
    }
  }

  TEST_CASE_FIXTURE(pg_fixture, "returns one session with its arrays sorted and answers 400 and 404") {
    server_process srv{url};
    const std::string sid = test_sid(201);
    auto items = items_for(5, 3, 4);
    std::reverse(items.begin(), items.end());
    record(srv.port(), sid, 7, items, false);

    auto upper = sid;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
    // An ack means durable in the spool; the row follows shortly after (the DB batcher's flush).
    json d;
    auto deadline = std::chrono::steady_clock::now() + 15s;
    do {
      d = get_json(srv.port(), "/api/sessions/" + upper);
    } while ((d.at("total_chunks") != 3 || d.at("total_frames") != 4) && std::chrono::steady_clock::now() < deadline);
    CHECK(d.at("session_id") == sid);
    CHECK(d.at("status") == "recording");
    CHECK(d.at("total_chunks") == 3);
    CHECK(d.at("total_frames") == 4);
    REQUIRE(d.at("audio_chunks").size() == 3);
    REQUIRE(d.at("video_frames").size() == 4);
    for (uint32_t i = 0; i < 3; ++i) {
      const auto& e = d.at("audio_chunks").at(i);
      CHECK(e.at("chunk_index") == i);
      CHECK(e.at("file_path") == sid + "/audio/chunk_" + std::to_string(i) + ".webm");
      CHECK(e.at("mime_type") == "audio/webm");
    }
    for (uint32_t i = 0; i < 4; ++i)
      CHECK(d.at("video_frames").at(i).at("frame_index") == i);
    CHECK(d.at("responses") == json::array());
    auto head = http_get(srv.port(), "/api/sessions/" + sid, {}, 10s, "HEAD");
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(head.header("content-length") == std::to_string(http_get(srv.port(), "/api/sessions/" + sid).body.size()));

    CHECK(get_json(srv.port(), "/api/sessions/not-a-uuid", 400).at("error") == "bad_session_id");
    CHECK(get_json(srv.port(), "/api/sessions/..%2F..%2Fetc", 400).at("error") == "bad_session_id");
    CHECK(get_json(srv.port(), "/api/sessions/" + test_sid(299), 404).at("error") == "not_found");
    CHECK(get_json(srv.port(), "/api/sessions/" + test_sid(299) + "/audio/0", 404).at("error") == "not_found");
  }

  TEST_CASE_FIXTURE(pg_fixture, "serves stored audio and frames whole and by byte range") {
    server_process srv{url};
    const std::string sid = test_sid(301);
    auto items = items_for(9, 2, 2);
    record(srv.port(), sid, 7, items, false);
    const auto& chunk = items[1];
    const auto& frame = items[2];
    REQUIRE(chunk.kind == 'a');
    REQUIRE(frame.kind == 'f');
    const std::string audio_url = "/api/sessions/" + sid + "/audio/1";
    const std::string frame_url = "/api/sessions/" + sid + "/frames/0";

    auto full = get_when_ready(srv.port(), audio_url);
    REQUIRE_MESSAGE(full.status == 200, full.status << " " << full.error << " " << full.body);
    CHECK(full.body == chunk.payload);
    CHECK(full.header("content-type") == "audio/webm");
    CHECK(full.header("accept-ranges") == "bytes");
    CHECK(full.header("content-length") == std::to_string(chunk.payload.size()));

    auto jpg = get_when_ready(srv.port(), frame_url);
    REQUIRE(jpg.status == 200);
    CHECK(jpg.body == frame.payload);
    CHECK(jpg.header("content-type") == "image/jpeg");

    const auto size = chunk.payload.size();
    auto part = http_get(srv.port(), audio_url, {{"Range", "bytes=10-109"}});
    CHECK(part.status == 206);
    CHECK(part.body == chunk.payload.substr(10, 100));
    CHECK(part.header("content-range") == "bytes 10-109/" + std::to_string(size));
    CHECK(part.header("content-type") == "audio/webm");
    CHECK(part.header("content-length") == "100");

    auto tail = http_get(srv.port(), audio_url, {{"Range", "bytes=-50"}});
    CHECK(tail.status == 206);
    CHECK(tail.body == chunk.payload.substr(size - 50));
    auto open_end = http_get(srv.port(), audio_url, {{"Range", "bytes=" + std::to_string(size - 3) + "-"}});
    CHECK(open_end.status == 206);
    CHECK(open_end.body == chunk.payload.substr(size - 3));

    auto beyond = http_get(srv.port(), audio_url, {{"Range", "bytes=" + std::to_string(size) + "-"}});
    CHECK(beyond.status == 416);
    CHECK(beyond.header("content-range") == "bytes */" + std::to_string(size));

    auto head = http_get(srv.port(), audio_url, {}, 10s, "HEAD");
    CHECK(head.status == 200);
    CHECK(head.header("content-length") == std::to_string(size));
    CHECK(head.body.empty());
    // Files are written after the ack: this one may still be on its way.
    auto keep = get_when_ready(srv.port(), "/api/sessions/" + sid + "/frames/1");
    CHECK(keep.status == 200);

    auto several = http_get(srv.port(), audio_url, {{"Range", "bytes=0-1,5-6"}});
    CHECK(several.status == 200);
    CHECK(several.body == chunk.payload);

    CHECK(http_get(srv.port(), "/api/sessions/" + sid + "/audio/7").status == 404);
    CHECK(http_get(srv.port(), "/api/sessions/" + sid + "/frames/9").status == 404);
    CHECK(http_get(srv.port(), "/api/sessions/" + sid + "/audio/x").status == 400);
    CHECK(http_get(srv.port(), "/api/sessions/" + sid + "/audio/-1").status == 400);
    CHECK(http_get(srv.port(), "/api/sessions/bad/frames/0").status == 400);
  }

  TEST_CASE_FIXTURE(pg_fixture, "serves the web pages with their content types and nothing outside the web root") {
    temp_dir web;
    fs::create_directories(web.path() / "app");
    fs::create_directories(web.path() / "review");
    std::ofstream(web.path() / "index.html") << "<!doctype html><title>recorder</title>";
    std::ofstream(web.path() / "app" / "recorder.js") << "export const x = 1;";
    std::ofstream(web.path() / "review" / "index.html") << "<!doctype html><title>review</title>";
    std::ofstream(web.path() / "secret.txt") << "not served";
    fs::create_symlink("/etc/hostname", web.path() / "app" / "link.txt");
    server_process srv{url, {"--server.web-root=" + web.path().string()}};

    auto index = http_get(srv.port(), "/");
    CHECK(index.status == 200);
    CHECK(index.body == "<!doctype html><title>recorder</title>");
    CHECK(index.header("content-type") == "text/html; charset=utf-8");
    auto js = http_get(srv.port(), "/app/recorder.js");
    CHECK(js.status == 200);
    CHECK(js.header("content-type") == "text/javascript; charset=utf-8");
    auto review = http_get(srv.port(), "/review/");
    CHECK(review.status == 200);
    CHECK(review.body == "<!doctype html><title>review</title>");
    auto redirect = http_get(srv.port(), "/review?x=1");
    CHECK(redirect.status == 301);
    CHECK(redirect.header("location") == "/review/?x=1");

    for (const char* bad : {"/app/..%2Fsecret.txt", "/app/..%2F..%2Fetc%2Fpasswd", "/app/.hidden.js",
                            "/app/link.txt", "/app/missing.js", "/review/..", "/app/recorder.exe"})
      CHECK_MESSAGE(http_get(srv.port(), bad).status == 404, bad);
    CHECK(http_get(srv.port(), "/healthz").status == 200);
  }
}

TEST_SUITE("integration.http_api") {
  // Found while fuzzing: an error message quoting a request path that is not UTF-8 made
  // nlohmann::json throw on the Asio thread, which terminated the server.
  TEST_CASE_FIXTURE(pg_fixture, "a request path that is not UTF-8 gets 404 and the server keeps serving") {
    server_process srv{url};
    auto r = http_get(srv.port(), std::string("/\xff\xfe/no-such-route"));
    CHECK_MESSAGE(r.status == 404, r.status << " " << r.error);
    CHECK(json::parse(r.body, nullptr, false).is_object());
    auto again = http_get(srv.port(), std::string("/api/sessions/\xc3"));
    CHECK(again.status >= 400);
    CHECK(http_get(srv.port(), "/healthz").status == 200);
    CHECK(srv.running());
  }
}
