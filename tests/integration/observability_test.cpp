// GET /metrics and GET /readyz of the real server binary: the counters move with real traffic,
// and readiness follows PostgreSQL and the disk threshold.
#include "support/http_test_client.hpp"
#include "support/media_session.hpp"
#include "support/pg_fixture.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"
#include "support/ws_test_client.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <filesystem>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

using namespace mediaspool;
using namespace mediaspool::test;

namespace {

// The value of the series written exactly as `series` (name plus labels), if /metrics shows it.
std::optional<double> metric(const std::string& text, const std::string& series) {
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0)
      return std::stod(line.substr(series.size() + 1));
  return std::nullopt;
}

// A PostgreSQL cluster of this test alone (scripts/pg.sh), stopped by the destructor if still up.
struct private_cluster {
  temp_dir dir;
  std::string script = std::string(MEDIASPOOL_SOURCE_DIR) + "/scripts/pg.sh";
  bool up = false;

  bool start() {
    up = std::system((script + " start " + dir.path().string() + " 5432 fsync=off >/dev/null").c_str()) == 0;
    return up;
  }
  void stop(const std::string& mode = "fast") {
    if (up)
      std::system((script + " stop " + dir.path().string() + " " + mode).c_str());
    up = false;
  }
  std::string url() const { return "postgresql://postgres@/mediaspool?host=" + (dir.path() / "sock").string() + "&port=5432"; }
  ~private_cluster() { stop(); }
};

} // namespace

TEST_SUITE("integration.observability") {

TEST_CASE_FIXTURE(pg_fixture, "metrics count acks items by kind duplicates and errors by code after real traffic") {
  server_process server{url};
  ws_test_client c{server.port()};
  auto sid = test_sid(7);
  std::vector<test_item> items{make_item('a', 0, 7, 1000, 2000), make_item('a', 1, 7, 1000, 2000),
                               make_item('f', 0, 7, 500, 900), make_item('f', 1, 7, 500, 900),
                               make_item('f', 2, 7, 500, 900)};
  auto f = init_and_check(c, sid, false);
  append(f, "acks", send_and_check_acks(c, sid, items, 2));
  append(f, "duplicate", send_and_check_acks(c, sid, {items[0]}, 1, {{'a', 0}}));
  REQUIRE_MESSAGE(f.empty(), join(f));
  c.send_text("{not json");
  auto err = c.wait_for_type("error");
  REQUIRE_MESSAGE(err.has_value(), "no error for invalid JSON");
  REQUIRE(err->value("code", "") == "bad_json");

  auto r = http_get(server.port(), "/metrics");
  REQUIRE_MESSAGE(r.status == 200, r.status << " " << r.error << " " << r.body);
  CHECK(r.header("content-type").rfind("text/plain; version=0.0.4", 0) == 0);
  auto& m = r.body;
  double audio_bytes = static_cast<double>(items[0].payload.size() + items[1].payload.size());
  CHECK_MESSAGE(metric(m, "mediaspool_acks_total{kind=\"audio\"}") == 3.0, m);
  CHECK_MESSAGE(metric(m, "mediaspool_acks_total{kind=\"frame\"}") == 3.0, m);
  CHECK_MESSAGE(metric(m, "mediaspool_duplicates_total{kind=\"audio\"}") == 1.0, m);
  CHECK_MESSAGE(metric(m, "mediaspool_items_received_total{kind=\"audio\"}") == 2.0, m);
  CHECK_MESSAGE(metric(m, "mediaspool_items_received_total{kind=\"frame\"}") == 3.0, m);
  CHECK_MESSAGE(metric(m, "mediaspool_bytes_received_total{kind=\"audio\"}") == audio_bytes, m);
  CHECK_MESSAGE(metric(m, "mediaspool_errors_total{code=\"bad_json\"}") == 1.0, m);
  CHECK_MESSAGE(metric(m, "mediaspool_errors_total{code=\"conflict\"}") == 0.0, m);
  CHECK_MESSAGE(metric(m, "mediaspool_ack_latency_seconds_count") == 5.0, m);
  CHECK_MESSAGE(metric(m, "mediaspool_session_init_seconds_count") == 1.0, m);
  CHECK_MESSAGE(metric(m, "mediaspool_spool_commit_seconds_count") >= 1.0, m);
  CHECK_MESSAGE(metric(m, "mediaspool_connections") == 1.0, m);
  CHECK_MESSAGE(metric(m, "mediaspool_sessions") == 1.0, m);
  CHECK_MESSAGE(metric(m, "process_resident_memory_bytes") > 0.0, m);

  // The same index with other bytes is a conflict, counted twice over: by code and on its own.
  auto changed = items[1];
  changed.payload[0] = static_cast<char>(changed.payload[0] ^ 0x5a);
  send_item(c, sid, changed);
  auto conflict = c.wait_for_type("error");
  REQUIRE_MESSAGE(conflict.has_value(), "no error for a conflicting resend");
  CHECK(conflict->value("code", "") == "conflict");
  auto after = http_get(server.port(), "/metrics").body;
  CHECK_MESSAGE(metric(after, "mediaspool_errors_total{code=\"conflict\"}") == 1.0, after);
  CHECK_MESSAGE(metric(after, "mediaspool_conflicts_total") == 1.0, after);
}

TEST_CASE_FIXTURE(pg_fixture, "the server's threads are named after the actors they run (top -H, perf, the bench's split)") {
  server_process srv{url};
  const std::vector<std::string> expected{"ms.spool", "ms.file-writer", "ms.db-batcher", "ms.loader", "ms.query", "ms.health"};
  std::multiset<std::string> names;
  // Detached actors name their threads as they start, which may be just after the port file.
  for (auto deadline = std::chrono::steady_clock::now() + 5s; std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(50ms)) { // poll interval, with a deadline
    names.clear();
    for (auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(srv.pid()) + "/task")) {
      std::ifstream in{task.path() / "comm"};
      std::string name;
      std::getline(in, name);
      names.insert(name);
    }
    if (std::all_of(expected.begin(), expected.end(), [&](auto& e) { return names.count(e) > 0; }))
      break;
  }
  std::string all;
  for (auto& n : names)
    all += n + " ";
  for (auto& e : expected)
    CHECK_MESSAGE(names.count(e) >= 1, e << " missing in: " << all);
}

TEST_CASE_FIXTURE(pg_fixture, "idle scheduler workers block instead of polling (they would take the cores from the busy threads)") {
  // CAF's default work stealing wakes an idle worker every 50 us for a while, then every 10 ms
  // (~100 wake-ups a second each, measured); work sharing waits on a condition variable.
  server_process srv{url, {"--asr.enabled=false"}};
  auto switches = [&] {
    uint64_t total = 0;
    for (auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(srv.pid()) + "/task")) {
      std::ifstream comm{task.path() / "comm"};
      std::string name;
      std::getline(comm, name);
      if (name != "caf.multiplexer")
        continue;
      std::ifstream status{task.path() / "status"};
      for (std::string line; std::getline(status, line);)
        if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
          total += std::stoull(line.substr(line.find(':') + 1));
    }
    return total;
  };
  std::this_thread::sleep_for(500ms); // start-up work settles
  const auto before = switches();
  std::this_thread::sleep_for(1s); // the measured idle second
  const auto woke = switches() - before;
  CHECK_MESSAGE(woke < 20, "scheduler workers woke " << woke << " times in an idle second");
}

TEST_CASE_FIXTURE(pg_fixture, "readyz is 200 with PostgreSQL up the spool open and room on disk") {
  server_process server{url};
  auto r = http_get(server.port(), "/readyz");
  REQUIRE_MESSAGE(r.status == 200, r.status << " " << r.error << " " << r.body);
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["status"] == "ready");
  CHECK(j["db"] == true);
  CHECK(j["spool"] == true);
  CHECK(j["disk"] == true);
}

TEST_CASE_FIXTURE(pg_fixture, "readyz is 503 naming the disk when free space is below server.min-free-bytes") {
  server_process server{url, {"--server.min-free-bytes=9000000000000000000"}};
  auto r = http_get(server.port(), "/readyz");
  REQUIRE_MESSAGE(r.status == 503, r.status << " " << r.error << " " << r.body);
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["disk"] == false);
  CHECK(j["db"] == true);
  REQUIRE(j["problems"].size() == 2); // the spool and the media folder
  CHECK(j["problems"][0].get<std::string>().rfind("disk:", 0) == 0);
  CHECK(http_get(server.port(), "/healthz").status == 200);
}

TEST_CASE("readyz turns 503 naming the database when its PostgreSQL stops and 200 when it is back") {
  private_cluster pg;
  REQUIRE_MESSAGE(pg.start(), "scripts/pg.sh could not start a private cluster");
  server_process server{pg.url()};
  auto up = http_get_until(server.port(), "/readyz", 200);
  REQUIRE_MESSAGE(up.status == 200, up.status << " " << up.body);
  pg.stop();
  auto down = http_get_until(server.port(), "/readyz", 503);
  REQUIRE_MESSAGE(down.status == 503, down.status << " " << down.body);
  auto j = nlohmann::json::parse(down.body);
  CHECK(j["db"] == false);
  CHECK(j["spool"] == true);
  CHECK(j["problems"][0].get<std::string>().rfind("db:", 0) == 0);
  REQUIRE(pg.start());
  auto again = http_get_until(server.port(), "/readyz", 200);
  CHECK_MESSAGE(again.status == 200, again.status << " " << again.body);
}

}

TEST_SUITE("integration.observability") {

TEST_CASE_FIXTURE(pg_fixture, "GET /api/debug/actors lists live sessions with their waiting halves and the queues") {
  server_process srv{url, {std::string("--server.web-root=") + MEDIASPOOL_SOURCE_DIR + "/web"}};
  const auto a = test_sid(901), b = test_sid(902);
  ws_test_client ca{srv.port()}, cb{srv.port()};
  CHECK_NO_FAILURES(init_and_check(ca, a, false));
  CHECK_NO_FAILURES(init_and_check(cb, b, false));
  auto items = make_mix(9, 2, 2);
  CHECK_NO_FAILURES(send_and_check_acks(ca, a, items, 2));
  // b: a metadata half without its blob, waiting.
  auto half = make_item('a', 0, 77, 3000, 3000);
  cb.send_json(metadata_msg(b, half));
  json view;
  for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(50ms)) { // poll interval, with a deadline
    auto r = http_get(srv.port(), "/api/debug/actors");
    REQUIRE_MESSAGE(r.status == 200, r.status << " " << r.body);
    view = json::parse(r.body);
    bool waiting = false;
    for (auto& s : view["sessions"])
      waiting = waiting || (s["session_id"] == b && s["unpaired_halves"] == 1);
    if (view["sessions"].size() == 2 && waiting)
      break;
  }
  REQUIRE_MESSAGE(view["sessions"].size() == 2, view.dump());
  for (auto& s : view["sessions"]) {
    CHECK(s["phase"] == "ready");
    CHECK(s["age_s"].get<double>() >= 0);
    CHECK(s["credit_left_bytes"].get<uint64_t>() > 0);
    if (s["session_id"] == a) {
      CHECK(s["acked"] == items.size());
      CHECK(s["unpaired_halves"] == 0);
    } else {
      CHECK(s["session_id"] == b);
      CHECK(s["unpaired_halves"] == 1);
    }
  }
  CHECK(view["connections"] == 2);
  CHECK(view["queues"].contains("spool_writer"));
  CHECK(view["queues"].contains("file_writers"));
  CHECK(view["queues"].contains("db_batcher"));
  CHECK(view["queues"].contains("transcription_backlog"));
  // The page that shows it.
  auto page = http_get(srv.port(), "/debug/");
  CHECK(page.status == 200);
  CHECK(page.body.find("/debug/debug.js") != std::string::npos);
}

TEST_CASE_FIXTURE(pg_fixture, "health, readiness and metrics answer while the media loop is stalled (HTTP has its own loop)") {
  // One media thread: the stall blocks all of the media loop.
  server_process srv{url, {"--debug.fault-injection=true", "--server.io-threads=1"}};
  const auto sid = test_sid(921);
  ws_test_client c{srv.port()};
  CHECK_NO_FAILURES(init_and_check(c, sid, false));
  // Blocks the WebSockets' loop for 10 s, as a node far past capacity runs late; the answers
  // below must come from the HTTP loop while it is blocked (with one loop they waited 10 s).
  auto put = http_get(srv.port(), "/api/debug/faults?stall-media-loop=10000", {}, 3s, "PUT");
  REQUIRE_MESSAGE(put.status == 200, put.status << " " << put.error << " " << put.body);
  send_item(c, sid, make_item('f', 0, 7, 2000, 2000));
  for (const char* route : {"/healthz", "/readyz", "/metrics"}) {
    auto r = http_get(srv.port(), route, {}, 3s);
    CHECK_MESSAGE(r.status == 200, route << ": " << r.status << " " << r.error);
  }
  // The stall was real: the item's ack had not come when those answered, and comes after it.
  CHECK(c.drain().empty());
  auto ack = c.wait_for_type("frame_ack", 20s);
  REQUIRE_MESSAGE(ack, "no ack after the stall: " << c.last_error());
  CHECK(http_get(srv.port(), "/api/debug/faults?stall-media-loop=0", {}, 3s, "PUT").status == 400);
  CHECK(http_get(srv.port(), "/api/debug/faults?stall-media-loop=10ms", {}, 3s, "PUT").status == 400);
}

TEST_CASE_FIXTURE(pg_fixture, "log levels change while the server runs") {
  server_process srv{url};
  auto levels = json::parse(http_get(srv.port(), "/api/debug/log-levels").body);
  CHECK(levels["session"] == "info");
  const auto sid = test_sid(911);
  auto put = http_get(srv.port(), "/api/debug/log-levels?component=session&level=debug", {}, 5s, "PUT");
  REQUIRE_MESSAGE(put.status == 200, put.body);
  CHECK(json::parse(put.body)["session"] == "debug");
  // At debug level a session's items are logged one by one.
  ws_test_client c{srv.port()};
  CHECK_NO_FAILURES(init_and_check(c, sid, false));
  CHECK_NO_FAILURES(send_and_check_acks(c, sid, make_mix(11, 1, 1), 2));
  auto log = srv.wait_for_log(
    [&](const std::string& l) { return l.find("debug") != std::string::npos && l.find(sid) != std::string::npos; }, 5s);
  CHECK_MESSAGE(log.find("debug [session]") != std::string::npos, "no debug line from the session logger");
  CHECK(http_get(srv.port(), "/api/debug/log-levels?component=nonesuch&level=debug", {}, 5s, "PUT").status == 400);
  CHECK(http_get(srv.port(), "/api/debug/log-levels?component=db&level=loud", {}, 5s, "PUT").status == 400);
}

} // TEST_SUITE

TEST_SUITE("integration.faults") {

TEST_CASE("PostgreSQL crashing mid-recording: acks continue from the spool, rows catch up, arrays exact") {
  private_cluster pg;
  REQUIRE_MESSAGE(pg.start(), "scripts/pg.sh could not start a private cluster");
  server_process server{pg.url()};
  const auto sid = test_sid(950);
  auto items = make_mix(950, 6, 12);
  auto client = std::make_unique<ws_test_client>(server.port());
  auto& c = *client;
  CHECK_NO_FAILURES(init_and_check(c, sid, false));
  CHECK_NO_FAILURES(send_and_check_acks(c, sid, {items.begin(), items.begin() + 6}, 4));
  pg.stop("immediate"); // pg_ctl stop -m immediate: a crash, not a shutdown
  // Every item is still acked: durability is the spool's, not PostgreSQL's.
  CHECK_NO_FAILURES(send_and_check_acks(c, sid, {items.begin() + 6, items.end()}, 4));
  // Files are written after the ack, without PostgreSQL (bounded poll).
  std::vector<std::string> files_missing;
  for (auto deadline = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(100ms)) { // poll interval, with a deadline
    files_missing = check_files(server.media_root(), sid, items);
    if (files_missing.empty())
      break;
  }
  CHECK_MESSAGE(files_missing.empty(), join(files_missing));
  REQUIRE(pg.start());
  // The backlog drains once PostgreSQL is back (bounded poll).
  auto rows = [&] {
    try {
      pqxx::connection conn{pg.url()};
      pqxx::nontransaction n{conn};
      return n.exec_params("SELECT count(*) FROM media_items WHERE session_id = $1", sid)[0][0].as<size_t>();
    } catch (const std::exception&) {
      return size_t{0};
    }
  };
  for (auto deadline = std::chrono::steady_clock::now() + 60s;
       rows() < items.size() && std::chrono::steady_clock::now() < deadline;)
    std::this_thread::sleep_for(100ms); // poll interval, with a deadline
  REQUIRE(rows() == items.size());
  CHECK_NO_FAILURES(end_and_check(c, sid, 6, 12));
  pqxx::connection conn{pg.url()};
  pqxx::nontransaction n{conn};
  auto r = n.exec_params("SELECT jsonb_array_length(audio_chunks), jsonb_array_length(video_frames), total_chunks, "
                         "total_frames, status, (SELECT count(DISTINCT e->>'frame_index') FROM "
                         "jsonb_array_elements(video_frames) e) FROM media_sessions WHERE session_id = $1",
                         sid);
  REQUIRE(r.size() == 1);
  CHECK(r[0][0].as<int>() == 6);
  CHECK(r[0][1].as<int>() == 12);
  CHECK(r[0][2].as<int>() == 6);
  CHECK(r[0][3].as<int>() == 12);
  CHECK(r[0][4].as<std::string>() == "completed");
  CHECK(r[0][5].as<int>() == 12);
  // PostgreSQL was restarted while the client was connected: the client's socket must not live
  // on in it, or the server would wait for that connection at shutdown.
  client.reset(); // closes its socket as a process exit would (no shutdown())
  CHECK_MESSAGE(server.stop(5s), "the server did not stop cleanly within 5 s of SIGTERM");
}

TEST_CASE("a long PostgreSQL outage fills the spool budget: overloaded, not lost, the backlog drains and recording resumes") {
  private_cluster pg;
  REQUIRE_MESSAGE(pg.start(), "scripts/pg.sh could not start a private cluster");
  // 600 KB of payloads may wait for their rows: about a third of this mix (20-160 KB items).
  server_process server{pg.url(), {"--spool.max-bytes=600000"}};
  const auto sid = test_sid(951);
  auto items = make_mix(951, 10, 30);
  auto client = std::make_unique<ws_test_client>(server.port());
  auto& c = *client;
  CHECK_NO_FAILURES(init_and_check(c, sid, false));
  pg.stop("immediate");
  // Without PostgreSQL no record can be settled: acks continue until the budget, then overloaded.
  auto result = send_each(c, sid, items);
  auto acked = acked_of(result);
  const size_t overloaded = count_of(result, "error:overloaded");
  CHECK_MESSAGE(acked.size() + overloaded == items.size(), "every item is answered with an ack or overloaded");
  MESSAGE(acked.size() << " acked, " << overloaded << " refused with overloaded while PostgreSQL was down");
  CHECK(overloaded > 0);
  CHECK(acked.size() > 0);
  auto m = http_get(server.port(), "/metrics");
  auto bytes = metric(m.body, "mediaspool_spool_payload_bytes");
  REQUIRE(bytes);
  CHECK(*bytes <= 600000);
  REQUIRE(pg.start());
  // The backlog drains once PostgreSQL is back; the refused items are then accepted (bounded).
  auto rest = resend_until_acked(c, sid, items, acked, 60s);
  CHECK_MESSAGE(rest.empty(), rest.size() << " items never accepted after PostgreSQL returned");
  CHECK_NO_FAILURES(end_and_check(c, sid, 10, 30, 60s));
  pqxx::connection conn{pg.url()};
  pqxx::nontransaction n{conn};
  auto r = n.exec_params("SELECT jsonb_array_length(audio_chunks), jsonb_array_length(video_frames) FROM media_sessions "
                         "WHERE session_id = $1", sid);
  REQUIRE(r.size() == 1);
  CHECK(r[0][0].as<int>() == 10);
  CHECK(r[0][1].as<int>() == 30);
  CHECK_NO_FAILURES(check_files(server.media_root(), sid, items));
  client.reset(); // closes its socket as a process exit would (no shutdown())
  CHECK_MESSAGE(server.stop(5s), "the server did not stop cleanly within 5 s of SIGTERM");
}

} // TEST_SUITE
