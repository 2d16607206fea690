// Auth over the real server binary (PROTOCOL.md section 6, issue 6): auth.mode=jwt for recording
// (token in session_init or the upgrade's access_token; sub overrides user_id and owns the
// session; sid and scope enforced), allowed_origins before the upgrade, the review API's bearer
// tokens (own sessions for review, all for admin), tokens never in the log, and auth.mode=none
// refused off loopback.
#include "net/jwt.hpp"
#include "support/http_test_client.hpp"
#include "support/media_session.hpp"
#include "support/pg_fixture.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"
#include "support/ws_test_client.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>
#include <cstdio>
#include <fstream>
#include <sstream>

using namespace mediaspool;
using namespace mediaspool::test;

namespace {

const std::string secret = "integration-test-secret-of-more-than-32-bytes";

std::vector<std::string> jwt_args(const std::string& origins = {}) {
  std::vector<std::string> a{"--auth.mode=jwt", "--auth.secret=" + secret};
  if (!origins.empty())
    a.push_back("--auth.allowed-origins=" + origins);
  return a;
}

/// Runs a shell command line; its exit status (as pclose gives it, -1 if it could not start)
/// and everything it printed.
std::pair<int, std::string> run_shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p)
    return {-1, out};
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p))
    out.append(buf, n);
  return {::pclose(p), out};
}

int64_t in_an_hour() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count()
         + 3600;
}

std::string token(int64_t user, const std::string& scope = "record", const std::string& sid = {}) {
  json c{{"sub", std::to_string(user)}, {"exp", in_an_hour()}, {"scope", scope}};
  if (!sid.empty())
    c["sid"] = sid;
  return net::sign_jwt(c.dump(), secret);
}

json init_with(const std::string& sid, const std::string& tok) {
  auto m = init_msg(sid);
  if (!tok.empty())
    m["token"] = tok;
  return m;
}

// session_init must be refused with `code` and close 1008.
void expect_refused(uint16_t port, const json& init, const std::string& code, const std::string& target = "/ws/media-stream") {
  ws_test_client c{port, 5s, target};
  c.send_json(init);
  auto err = c.wait_for_type("error", 5s);
  REQUIRE_MESSAGE(err.has_value(), "no error for " << init.dump());
  CHECK(err->value("code", "") == code);
  CHECK(c.wait_closed(5s) == std::optional<uint16_t>{1008});
}

// Records one audio chunk into `sid` with `tok`; returns the init ack.
json record_one(uint16_t port, const std::string& sid, const std::string& tok, uint32_t index = 0,
                const std::string& target = "/ws/media-stream") {
  ws_test_client c{port, 5s, target};
  c.send_json(init_with(sid, tok));
  auto ack = c.wait_for_type("session_init_ack", 10s);
  REQUIRE_MESSAGE(ack.has_value(), "no session_init_ack: " << (c.drain().empty() ? "" : "an error came"));
  auto f = send_and_check_acks(c, sid, {make_item('a', index, 7 + index, 2000, 3000)}, 1);
  REQUIRE_MESSAGE(f.empty(), join(f));
  c.close(1000);
  return *ack;
}

http_result upgrade_with_origin(uint16_t port, const std::string& origin) {
  auto headers = websocket_upgrade_headers();
  headers.emplace_back("Origin", origin);
  return http_get(port, "/ws/media-stream", headers, 5s);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in{p};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

} // namespace

TEST_SUITE("integration.auth") {

TEST_CASE_FIXTURE(pg_fixture, "jwt: a session is opened only with a valid record token, and sub becomes its owner") {
  server_process srv{url, jwt_args()};
  const auto sid = test_sid(701);
  expect_refused(srv.port(), init_with(sid, ""), "unauthorized");
  expect_refused(srv.port(), init_with(sid, "not.a.token"), "unauthorized");
  expect_refused(srv.port(), init_with(sid, net::sign_jwt(json{{"sub", "5"}, {"exp", in_an_hour()}}.dump(), "wrong-key")),
                 "unauthorized");
  expect_refused(srv.port(), init_with(sid, token(5, "review")), "forbidden");
  expect_refused(srv.port(), init_with(sid, token(5, "record", test_sid(702))), "forbidden");
  CHECK(query("SELECT count(*) FROM media_sessions").at(0).at(0).as<int>() == 0);

  // A valid token: sub (5) overrides the message's user_id (7).
  auto ack = record_one(srv.port(), sid, token(5, "record", sid));
  CHECK(ack.value("resumed", true) == false);
  CHECK(query("SELECT user_id FROM media_sessions WHERE session_id = '" + sid + "'").at(0).at(0).as<int>() == 5);

  // Another user may not resume it; the owner may, with the token in the upgrade URL instead.
  expect_refused(srv.port(), init_with(sid, token(6)), "forbidden");
  auto again = record_one(srv.port(), sid, "", 1, "/ws/media-stream?access_token=" + token(5));
  CHECK(again.value("resumed", false) == true);
  // Rows commit shortly after the acks (bounded poll).
  int rows = 0;
  for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(50ms)) { // poll interval, with a deadline
    rows = query("SELECT count(*) FROM media_items WHERE session_id = '" + sid + "'").at(0).at(0).as<int>();
    if (rows >= 2)
      break;
  }
  CHECK(rows == 2);

  // Tokens never reach the log.
  auto log = read_file(srv.log_path());
  CHECK(log.find(token(5).substr(0, 40)) == std::string::npos);
  CHECK(log.find("eyJ") == std::string::npos);
}

TEST_CASE_FIXTURE(pg_fixture, "allowed_origins: an upgrade from another origin is refused with 403 before the upgrade") {
  server_process srv{url, jwt_args("https://interviews.example, https://other.example")};
  auto evil = upgrade_with_origin(srv.port(), "https://evil.example");
  CHECK(evil.status == 403);
  CHECK(evil.body.find("forbidden") != std::string::npos);
  CHECK(upgrade_with_origin(srv.port(), "https://interviews.example.evil").status == 403);
  CHECK(upgrade_with_origin(srv.port(), "https://interviews.example").status == 101);
  CHECK(upgrade_with_origin(srv.port(), "https://other.example").status == 101);
  auto m = http_get(srv.port(), "/metrics").body;
  CHECK(m.find("mediaspool_errors_total{code=\"forbidden\"} 2") != std::string::npos);
}

TEST_CASE_FIXTURE(pg_fixture, "the review API needs a review token and shows a user only their own sessions") {
  server_process srv{url, jwt_args()};
  const auto mine = test_sid(711), theirs = test_sid(712);
  record_one(srv.port(), mine, token(5));
  record_one(srv.port(), theirs, token(6));

  CHECK(http_get(srv.port(), "/api/sessions").status == 401);
  CHECK(http_get(srv.port(), "/api/sessions", {{"Authorization", "Bearer " + token(5, "record")}}).status == 403);
  auto bearer = std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer " + token(5, "review")}};
  auto list = http_get(srv.port(), "/api/sessions", bearer);
  REQUIRE(list.status == 200);
  auto j = json::parse(list.body);
  REQUIRE(j["sessions"].size() == 1);
  CHECK(j["sessions"][0]["session_id"] == mine);
  CHECK(http_get(srv.port(), "/api/sessions?user_id=6", bearer).status == 403);

  CHECK(http_get(srv.port(), "/api/sessions/" + mine, bearer).status == 200);
  CHECK(http_get(srv.port(), "/api/sessions/" + theirs, bearer).status == 403);
  CHECK(http_get(srv.port(), "/api/sessions/" + test_sid(719), bearer).status == 404);
  CHECK(http_get(srv.port(), "/api/sessions/" + theirs + "/audio/0", bearer).status == 403);
  CHECK(http_get(srv.port(), "/api/sessions/" + theirs + "/transcript", bearer).status == 403);
  CHECK(http_get(srv.port(), "/api/sessions/" + theirs + "/recording.webm", bearer).status == 403);
  // Media elements cannot send headers: the access_token parameter serves them.
  http_result file;
  for (auto deadline = std::chrono::steady_clock::now() + 15s; std::chrono::steady_clock::now() < deadline;) {
    file = http_get(srv.port(), "/api/sessions/" + mine + "/audio/0?access_token=" + token(5, "review"));
    if (file.status != 404) // the file is written shortly after its ack
      break;
  }
  CHECK(file.status == 200);

  // admin sees everything.
  auto admin = std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer " + token(1, "admin")}};
  CHECK(json::parse(http_get(srv.port(), "/api/sessions", admin).body)["sessions"].size() == 2);
  CHECK(http_get(srv.port(), "/api/sessions/" + theirs, admin).status == 200);
  // The debug API is for admins only.
  CHECK(http_get(srv.port(), "/api/debug/actors", bearer).status == 403);
  CHECK(http_get(srv.port(), "/api/debug/actors").status == 401);
  CHECK(http_get(srv.port(), "/api/debug/actors", admin).status == 200);
  CHECK(http_get(srv.port(), "/api/debug/log-levels?component=db&level=debug", bearer, 5s, "PUT").status == 403);
  // Health and metrics stay open for probes.
  CHECK(http_get(srv.port(), "/healthz").status == 200);
}

TEST_CASE("auth.mode=none is refused unless the server listens on loopback, jwt without a secret too") {
  const char* bin = std::getenv("MEDIASPOOL_BIN");
  REQUIRE_MESSAGE(bin, "MEDIASPOOL_BIN is not set");
  auto run = [&](const std::string& args) {
    return run_shell(std::string(bin) + " --db.url=postgresql://nobody@/none " + args + " 2>&1");
  };
  auto [rc1, out1] = run("--server.host=0.0.0.0 --server.port=0");
  CHECK(rc1 != 0);
  CHECK(out1.find("auth.mode=none is only allowed on a loopback address") != std::string::npos);
  auto [rc2, out2] = run("--server.host=0.0.0.0 --server.port=0 --auth.mode=jwt --auth.secret=short");
  CHECK(rc2 != 0);
  CHECK(out2.find("at least 32 bytes") != std::string::npos);
  auto [rc3, out3] = run("--auth.mode=maybe");
  CHECK(rc3 != 0);
  CHECK(out3.find("auth.mode must be none or jwt") != std::string::npos);
}

} // TEST_SUITE

TEST_SUITE("integration.config") {

TEST_CASE("--dump-config prints every key, environment overrides below the command line, secrets masked") {
  const char* bin = std::getenv("MEDIASPOOL_BIN");
  REQUIRE_MESSAGE(bin, "MEDIASPOOL_BIN is not set");
  auto run = [&](const std::string& env, const std::string& args) {
    return run_shell("env -u MEDIASPOOL_DB_URL " + env + " " + bin + " --dump-config " + args + " 2>&1");
  };
  auto [rc, out] = run("MEDIASPOOL_ASR_WORKERS=3 MEDIASPOOL_SERVER_PORT=7000 MEDIASPOOL_JWT_SECRET=" + secret,
                       "--server.port=9000 --limits.orphan-timeout=5s");
  CHECK(rc == 0);
  for (const char* section : {"[server]", "[limits]", "[auth]", "[asr]", "[db]", "[spool]", "[media]", "[log]"})
    CHECK_MESSAGE(out.find(section) != std::string::npos, section << " missing from\n" << out);
  CHECK(out.find("\nworkers=3 ") != std::string::npos);      // from the environment
  CHECK(out.find("\nport=9000 ") != std::string::npos);      // the command line beats the environment
  CHECK(out.find("\norphan-timeout=5s ") != std::string::npos);
  CHECK(out.find("\nsecret=\"(set)\"") != std::string::npos);
  CHECK(out.find(secret) == std::string::npos);              // never printed
  auto [bad_rc, bad] = run("MEDIASPOOL_SERVER_PORT=not-a-port", "");
  CHECK(bad_rc != 0);
  CHECK(bad.find("MEDIASPOOL_SERVER_PORT") != std::string::npos);
  // Booleans take =false and =true on the command line too (CAF 0.17 alone takes only bare flags).
  auto [off_rc, off] = run("MEDIASPOOL_DEBUG_FAULT_INJECTION=true", "--asr.enabled=false --debug.fault-injection=false");
  CHECK(off_rc == 0);
  CHECK(off.find("\nenabled=false ") != std::string::npos);
  CHECK(off.find("\nfault-injection=false ") != std::string::npos); // the command line beats the environment
  auto [on_rc, on] = run("", "--debug.fault-injection");
  CHECK(on_rc == 0);
  CHECK(on.find("\nfault-injection=true ") != std::string::npos);
  auto [flag_rc, flag_bad] = run("", "--asr.enabled=maybe");
  CHECK(flag_rc != 0);
  CHECK(flag_bad.find("want true or false") != std::string::npos);
  // A duration needs its unit, and a number without one is told so (CAF alone says "unexpected_eof").
  auto [unitless_rc, unitless] = run("", "--limits.admission-ack-wait=0");
  CHECK(unitless_rc != 0);
  CHECK_MESSAGE(unitless.find("a duration takes a unit") != std::string::npos, unitless);
  auto [zero_rc, zero] = run("", "--limits.admission-ack-wait=0s");
  CHECK(zero_rc == 0);
  CHECK_MESSAGE(zero.find("\nadmission-ack-wait=0s ") != std::string::npos, zero); // as it reads back
}

TEST_CASE("a server whose PostgreSQL is not reachable says so at once, on one line, while it retries") {
  const char* bin = std::getenv("MEDIASPOOL_BIN");
  REQUIRE_MESSAGE(bin, "MEDIASPOOL_BIN is not set");
  temp_dir dir;
  // Port 1 on loopback refuses at once; `timeout` ends the retrying server after 3 s.
  std::string cmd = std::string("timeout 3 ") + bin + " --server.host=127.0.0.1 --server.port=0 --spool.path="
                    + (dir.path() / "spool").string() + " --media.root=" + (dir.path() / "media").string()
                    + " --db.url=postgresql://postgres@127.0.0.1:1/x 2>&1";
  auto out = run_shell(cmd).second;
  auto at = out.find("PostgreSQL is not reachable yet (");
  REQUIRE_MESSAGE(at != std::string::npos, out);
  auto line_end = out.find('\n', at);
  CHECK_MESSAGE(out.substr(at, line_end - at).find("retrying") != std::string::npos, "one line: " << out);
}

} // TEST_SUITE
