// Scale-out on existing engines (issue 7): two mediaspool nodes behind HAProxy (Debian's package),
// which routes every WebSocket upgrade by the `sid` URL parameter with a consistent hash; both
// nodes share one PostgreSQL and one media root. Sessions record through HAProxy; one node is
// SIGKILLed mid-recording; its clients reconnect through HAProxy, land on the other node and
// resume from what PostgreSQL and that node hold; the killed node restarts on its spool and
// drains it. Oracle: every item a client was acked is exactly one file with its bytes and one row
// and array element, whichever node took it, and the session rows name the node that last owned
// them. Only the PIDs started here are signalled.
#include "support/http_test_client.hpp"
#include "support/media_session.hpp"
#include "support/pg_fixture.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"
#include "support/ws_test_client.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>
#include <thread>

using namespace mediaspool;
using namespace mediaspool::test;
namespace fs = std::filesystem;

namespace {

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// HAProxy in the foreground (-db) with a generated config, stopped by its PID.
class haproxy_process {
public:
  haproxy_process(const fs::path& dir, uint16_t port, uint16_t node_a, uint16_t node_b) {
    auto cfg = dir / "haproxy.cfg";
    std::ofstream(cfg) << "global\n  maxconn 2000\n"
                          "defaults\n  mode http\n  timeout connect 1s\n  timeout client 60s\n"
                          "  timeout server 60s\n  timeout tunnel 1h\n  retries 3\n  option redispatch 1\n"
                          "  retry-on conn-failure empty-response 503\n"
                          "frontend ws\n  bind 127.0.0.1:" << port << "\n  default_backend nodes\n"
                          "backend nodes\n  balance url_param sid\n  hash-type consistent\n"
                          "  http-response set-header X-Served-By %[srv_name]\n"
                          "  server a 127.0.0.1:" << node_a << " check inter 200ms fall 1 rise 2\n"
                          "  server b 127.0.0.1:" << node_b << " check inter 200ms fall 1 rise 2\n";
    log_ = dir / "haproxy.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen(log_.c_str(), "a", stdout);
      std::freopen(log_.c_str(), "a", stderr);
      ::execlp("haproxy", "haproxy", "-db", "-f", cfg.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    REQUIRE_MESSAGE(pid_ > 0, "fork failed");
    // Ready when it accepts connections (bounded poll).
    for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;
         std::this_thread::sleep_for(50ms)) {
      if (http_get(port, "/healthz", {}, 1s).status == 200)
        return;
    }
    FAIL("haproxy did not come up (apt-get install haproxy); log: " << log_);
  }
  ~haproxy_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  haproxy_process(const haproxy_process&) = delete;
  haproxy_process& operator=(const haproxy_process&) = delete;

private:
  pid_t pid_ = -1;
  fs::path log_;
};

std::string target_of(const std::string& sid) { return "/ws/media-stream?sid=" + sid; }

// Connects through HAProxy and resumes `sid` until a node answers session_init (the proxy needs a
// health check or a retry to notice a dead node). Returns the client and the ack.
std::pair<std::unique_ptr<ws_test_client>, json> resume_through(uint16_t port, const std::string& sid) {
  for (auto deadline = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(200ms)) { // reconnect backoff, with a deadline
    try {
      auto c = std::make_unique<ws_test_client>(port, 3s, target_of(sid));
      c->send_json(init_msg(sid));
      if (auto ack = c->wait_for_type("session_init_ack", 5s))
        return {std::move(c), *ack};
    } catch (const std::exception&) {
      // the proxy refused or the node vanished mid-handshake: try again
    }
  }
  FAIL("no node took session " << sid << " within 30 s");
  return {};
}

std::optional<double> metric(const std::string& text, const std::string& series) {
  auto p = text.find("\n" + series + " ");
  if (p == std::string::npos)
    return std::nullopt;
  return std::stod(text.substr(p + series.size() + 2));
}

} // namespace

TEST_SUITE("scale.haproxy") {

TEST_CASE_FIXTURE(pg_fixture, "two nodes behind HAProxy: a node killed mid-recording loses nothing and its sessions move") {
  temp_dir shared;
  const auto media = shared / "media";
  const uint16_t pa = free_port(), pb = free_port(), ph = free_port();
  auto node_args = [&](uint16_t port, const char* name) {
    return std::vector<std::string>{"--server.port=" + std::to_string(port), "--media.root=" + media.string(),
                                    std::string("--server.node-id=") + name, "--asr.poll-interval=1h"};
  };
  server_process a{url, node_args(pa, "node-a")};
  server_process b{url, node_args(pb, "node-b")};
  REQUIRE(a.port() == pa);
  REQUIRE(b.port() == pb);
  haproxy_process proxy{shared.path(), ph, pa, pb};

  // 10 sessions of 3 chunks and 6 frames; the first 5 items of each go in before the kill.
  struct rec {
    std::string sid;
    std::vector<test_item> items;
    std::unique_ptr<ws_test_client> c;
  };
  std::vector<rec> sessions;
  for (uint32_t n = 0; n < 10; ++n) {
    rec r{test_sid(820 + n), make_mix(820 + n, 3, 6), nullptr};
    r.c = std::make_unique<ws_test_client>(ph, 5s, target_of(r.sid));
    CHECK_NO_FAILURES(init_and_check(*r.c, r.sid, false));
    CHECK_NO_FAILURES(send_and_check_acks(*r.c, r.sid, {r.items.begin(), r.items.begin() + 5}, 4));
    sessions.push_back(std::move(r));
  }
  std::map<std::string, std::string> node_of;
  for (const auto& row : query("SELECT session_id, node_id FROM media_sessions"))
    node_of[row[0].as<std::string>()] = row[1].as<std::string>();
  size_t on_a = 0;
  for (auto& s : sessions)
    on_a += node_of[s.sid] == "node-a";
  MESSAGE(on_a << " of " << sessions.size() << " sessions on node-a");
  REQUIRE_MESSAGE(on_a > 0, "the hash put every session on node-b: nothing to fail over");
  REQUIRE_MESSAGE(on_a < sessions.size(), "the hash put every session on node-a");

  // One more item each on node-a right before the kill: it may still be only in a's spool.
  for (auto& s : sessions)
    if (node_of[s.sid] == "node-a")
      CHECK_NO_FAILURES(send_and_check_acks(*s.c, s.sid, {s.items[5]}, 1));
  a.kill9();

  for (auto& s : sessions) {
    std::vector<test_item> rest;
    if (node_of[s.sid] == "node-a") {
      CHECK(s.c->wait_closed(10s).has_value());
      auto [c, ack] = resume_through(ph, s.sid);
      REQUIRE(c);
      CHECK(ack.value("resumed", false));
      // What the surviving node does not know of (acked by a, still in a's spool) is sent again.
      auto held = keys_of_ack(ack);
      for (auto& it : s.items)
        if (!held.count({it.kind, it.index}))
          rest.push_back(it);
      s.c = std::move(c);
    } else {
      rest.assign(s.items.begin() + 5, s.items.end());
    }
    CHECK_NO_FAILURES(send_and_check_acks(*s.c, s.sid, rest, 4));
    CHECK_NO_FAILURES(end_and_check(*s.c, s.sid, 3, 6));
    s.c->close(1000);
  }

  // The killed node comes back on its spool and drains it (its copies are the same bytes).
  a.restart();
  // The gauge reads 0 until recovery first publishes it: wait for this start's recovery line
  // (the log holds one per start) before taking 0 as drained.
  auto recoveries = [&] {
    std::ifstream in{a.log_path()};
    size_t n = 0;
    for (std::string line; std::getline(in, line);)
      n += line.find("recovery dispatched all") != std::string::npos;
    return n;
  };
  std::optional<double> left;
  for (auto deadline = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(100ms)) { // poll interval, with a deadline
    left = metric(http_get(pa, "/metrics").body, "mediaspool_spool_records");
    if (left == 0.0 && recoveries() >= 2)
      break;
  }
  CHECK_MESSAGE(recoveries() >= 2, "node-a's restart never finished dispatching its spool");
  CHECK_MESSAGE(left == 0.0, "node-a's spool still holds " << left.value_or(-1) << " records");

  for (auto& s : sessions) {
    auto stored = check_stored(media, *this, s.sid, s.items);
    CHECK_MESSAGE(stored.empty(), s.sid << ": " << join(stored));
    // A session that lived on node-a was last opened by node-b.
    auto row = query("SELECT node_id FROM media_sessions WHERE session_id = '" + s.sid + "'");
    CHECK(row.at(0).at(0).as<std::string>() == "node-b");
  }
}

// The node a session's sid hashes to, asked through the proxy (a route any node answers).
std::string node_for(uint16_t proxy_port, const std::string& sid) {
  return http_get(proxy_port, "/healthz?sid=" + sid, {}, 3s).header("x-served-by");
}

TEST_CASE_FIXTURE(pg_fixture, "two nodes behind HAProxy: a node running late sends new sessions to the other and keeps its own") {
  temp_dir shared;
  const auto media = shared / "media";
  const uint16_t pa = free_port(), pb = free_port(), ph = free_port();
  server_process a{url, {"--server.port=" + std::to_string(pa), "--media.root=" + media.string(), "--server.node-id=node-a",
                         "--asr.poll-interval=1h", "--debug.fault-injection=true", "--server.io-threads=1"}};
  server_process b{url, {"--server.port=" + std::to_string(pb), "--media.root=" + media.string(), "--server.node-id=node-b",
                         "--asr.poll-interval=1h"}};
  haproxy_process proxy{shared.path(), ph, pa, pb};

  // Sessions whose sid the hash sends to node a: one it holds, three new ones for later.
  std::vector<std::string> to_a;
  for (uint32_t n = 0; to_a.size() < 4 && n < 200; ++n)
    if (auto sid = test_sid(8400 + n); node_for(ph, sid) == "a")
      to_a.push_back(sid);
  REQUIRE_MESSAGE(to_a.size() == 4, "the hash sent fewer than 4 of 200 sids to node a");
  const auto held = make_mix(8400, 1, 2);
  {
    ws_test_client c{ph, 5s, target_of(to_a[0])};
    CHECK_NO_FAILURES(init_and_check(c, to_a[0], false));
    CHECK_NO_FAILURES(send_and_check_acks(c, to_a[0], held, 2));
  }

  // Node a's media loop stalls 3 s, as one far past capacity runs late; it refuses new sessions
  // once the lateness is measured, for at least 5 s (admission.hpp). Polled on a directly.
  auto stall = http_get(pa, "/api/debug/faults?stall-media-loop=3000", {}, 3s, "PUT");
  REQUIRE_MESSAGE(stall.status == 200, stall.status << " " << stall.error);
  const auto upgrade = websocket_upgrade_headers();
  unsigned probe = 0;
  uint32_t n = 0;
  for (auto deadline = std::chrono::steady_clock::now() + 20s; probe != 503 && std::chrono::steady_clock::now() < deadline;) {
    probe = http_get(pa, target_of(test_sid(8700 + n++)), upgrade, 6s).status;
    if (probe != 503)
      std::this_thread::sleep_for(50ms); // poll interval, bounded by the deadline
  }
  REQUIRE_MESSAGE(probe == 503, "node a did not start refusing new sessions");

  // New sessions hashed to a are answered by b: a refused their upgrades with 503 and HAProxy
  // tried the next node. Before, a took the upgrade and refused the session_init (1013), and
  // every retry hashed back to a.
  for (size_t i = 1; i < to_a.size(); ++i) {
    ws_test_client c{ph, 5s, target_of(to_a[i])};
    CHECK_NO_FAILURES(init_and_check(c, to_a[i], false));
  }
  // The session a holds is still a's: resumes are taken whatever the load.
  ws_test_client resumed{ph, 5s, target_of(to_a[0])};
  CHECK_NO_FAILURES(init_and_check(resumed, to_a[0], true, held));
  // A session b took meanwhile stays on b when it reconnects: a busy a does not take it back.
  {
    ws_test_client again{ph, 5s, target_of(to_a[1])};
    CHECK_NO_FAILURES(init_and_check(again, to_a[1], true));
  }
  for (size_t i = 0; i < to_a.size(); ++i) {
    auto row = query("SELECT node_id FROM media_sessions WHERE session_id = '" + to_a[i] + "'");
    REQUIRE(row.size() == 1);
    CHECK_MESSAGE(row[0][0].as<std::string>() == (i == 0 ? "node-a" : "node-b"), to_a[i]);
  }
  CHECK(metric(http_get(pa, "/metrics").body, "mediaspool_sessions_refused_total").value_or(0) >= 5);
}

} // TEST_SUITE
