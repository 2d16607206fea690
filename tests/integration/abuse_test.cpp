// Hostile clients against the real server binary: 1,000 sockets that trickle their HTTP request
// headers a byte at a time (slowloris) and 1,000 WebSockets that never send session_init, while
// an honest client keeps recording. The server must cut every attacker at its deadline
// (limits.handshake-timeout, limits.init-timeout) and keep serving the honest client; its
// init -> ack latency under the attack is reported.
#include "support/http_test_client.hpp"
#include "support/media_session.hpp"
#include "support/pg_fixture.hpp"
#include "support/server_process.hpp"
#include "support/ws_test_client.hpp"

#include <boost/asio.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <atomic>
#include <memory>
#include <thread>

using namespace mediaspool;
using namespace mediaspool::test;

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

/// One attacking socket, driven on the attack's io thread.
class attacker : public std::enable_shared_from_this<attacker> {
public:
  enum class kind { trickle_headers, never_init };

  attacker(asio::io_context& ioc, kind k) : socket_(ioc), timer_(ioc), kind_(k) {}

  void start(uint16_t port) {
    socket_.async_connect(tcp::endpoint{asio::ip::address_v4::loopback(), port},
                          [self = shared_from_this()](boost::system::error_code ec) {
                            if (ec)
                              return self->finish(false);
                            self->opened_ = clock_type::now();
                            self->connected_ = true;
                            self->read();
                            if (self->kind_ == kind::trickle_headers)
                              self->send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", [self] { self->trickle(); });
                            else
                              self->send("GET /ws/media-stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                         "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                         "Sec-WebSocket-Version: 13\r\n\r\n",
                                         [] {});
                          });
  }

  /// Whether the server ended it (EOF, reset, or a WebSocket close frame), and after how long.
  bool cut_by_server() const { return cut_; }
  bool connected() const { return connected_; }
  std::chrono::milliseconds lifetime() const { return lifetime_; }

  void stop() {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

private:
  template <class Then>
  void send(std::string text, Then then) {
    auto buf = std::make_shared<std::string>(std::move(text));
    asio::async_write(socket_, asio::buffer(*buf), [self = shared_from_this(), buf, then](boost::system::error_code ec, size_t) {
      if (ec)
        return self->finish(true);
      then();
    });
  }

  // One more header byte every 200 ms: the request never completes.
  void trickle() {
    if (done_)
      return;
    timer_.expires_after(std::chrono::milliseconds(200));
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->done_)
        return;
      static const std::string header = "X-Slow-Loris: abcdefghijklmnopqrstuvwxyz\r\n";
      std::string one(1, header[self->sent_++ % header.size()]);
      self->send(one, [self] { self->trickle(); });
    });
  }

  void read() {
    socket_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
      if (ec)
        return self->finish(true);
      self->got_.append(self->buf_.data(), n);
      // After the 101 response, a close frame (opcode 8, FIN set: 0x88) is the server's goodbye.
      auto body = self->got_.find("\r\n\r\n");
      if (self->kind_ == kind::never_init && body != std::string::npos
          && self->got_.find('\x88', body + 4) != std::string::npos)
        return self->finish(true);
      self->read();
    });
  }

  void finish(bool by_server) {
    if (done_)
      return;
    done_ = true;
    cut_ = by_server && connected_;
    lifetime_ = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - opened_);
    stop();
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  kind kind_;
  std::array<char, 4096> buf_{};
  std::string got_;
  size_t sent_ = 0;
  clock_type::time_point opened_ = clock_type::now();
  bool connected_ = false;
  bool done_ = false;
  bool cut_ = false;
  std::chrono::milliseconds lifetime_{0};
};

std::chrono::milliseconds percentile(std::vector<std::chrono::milliseconds> v, double p) {
  if (v.empty())
    return std::chrono::milliseconds{0};
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

} // namespace

TEST_SUITE("integration.abuse") {

TEST_CASE_FIXTURE(pg_fixture, "slowloris: 1,000 trickling requests and 1,000 silent WebSockets are cut at their deadlines while a client records") {
  constexpr int per_kind = 1000;
  const auto handshake = std::chrono::seconds(3), init = std::chrono::seconds(3);
  // Without transcription: its model (~140 MB, loaded at the first chunk) would swamp the RSS figure.
  server_process server{url, {"--limits.handshake-timeout=3s", "--limits.init-timeout=3s",
                              "--limits.max-connections=5000", "--asr.enabled=false"}};
  const auto rss_before = server.rss_bytes();
  asio::io_context ioc;
  std::vector<std::shared_ptr<attacker>> trickles, silents;
  for (int i = 0; i < per_kind; ++i) {
    trickles.push_back(std::make_shared<attacker>(ioc, attacker::kind::trickle_headers));
    silents.push_back(std::make_shared<attacker>(ioc, attacker::kind::never_init));
    trickles.back()->start(server.port());
    silents.back()->start(server.port());
  }
  std::thread attack{[&] { ioc.run(); }};

  // The honest client: a new session every round, init then one pair, timing init -> ack.
  std::vector<std::chrono::milliseconds> latencies;
  std::vector<std::string> failures;
  // Paced, so the rounds span the whole attack, the mass cut at the deadlines included.
  const auto attack_end = clock_type::now() + handshake + std::chrono::seconds(2);
  for (uint32_t round = 0; clock_type::now() < attack_end && round < 1000; ++round) {
    std::this_thread::sleep_for(20ms); // pacing, not waiting for a state
    auto t0 = clock_type::now();
    ws_test_client c{server.port(), 10s};
    const auto sid = test_sid(970 + round);
    append(failures, "round " + std::to_string(round), init_and_check(c, sid, false));
    append(failures, "round " + std::to_string(round),
           send_and_check_acks(c, sid, {make_item('a', 0, round, 20000, 40000)}, 1, {}, 10s));
    latencies.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0));
    c.close();
  }

  // Every attacker is cut by the server; bounded wait past the deadlines.
  auto all_done = [&] {
    size_t n = 0;
    for (auto* group : {&trickles, &silents})
      for (auto& a : *group)
        n += a->cut_by_server();
    return n;
  };
  for (auto until = clock_type::now() + std::max(handshake, init) + 20s; all_done() < 2 * per_kind && clock_type::now() < until;)
    std::this_thread::sleep_for(100ms); // poll interval, bounded by the deadline
  auto report = [](const std::vector<std::shared_ptr<attacker>>& group) {
    std::vector<std::chrono::milliseconds> lives;
    size_t connected = 0, cut = 0;
    for (auto& a : group) {
      connected += a->connected();
      if (a->cut_by_server()) {
        ++cut;
        lives.push_back(a->lifetime());
      }
    }
    return std::make_tuple(connected, cut, percentile(lives, 0.5), percentile(lives, 1.0));
  };
  auto [t_conn, t_cut, t_p50, t_max] = report(trickles);
  auto [s_conn, s_cut, s_p50, s_max] = report(silents);
  asio::post(ioc, [&] {
    for (auto* group : {&trickles, &silents})
      for (auto& a : *group)
        a->stop();
  });
  attack.join();

  MESSAGE("trickling requests: " << t_conn << " connected, " << t_cut << " cut by the server after p50 " << t_p50.count()
                                  << " ms, max " << t_max.count() << " ms (deadline " << handshake.count() << " s)");
  MESSAGE("silent WebSockets: " << s_conn << " connected, " << s_cut << " cut by the server after p50 " << s_p50.count()
                                << " ms, max " << s_max.count() << " ms (deadline " << init.count() << " s)");
  MESSAGE("honest client during the attack: " << latencies.size() << " sessions, init -> ack p50 "
                                              << percentile(latencies, 0.5).count() << " ms, p99 "
                                              << percentile(latencies, 0.99).count() << " ms, max "
                                              << percentile(latencies, 1.0).count() << " ms");
  CHECK_MESSAGE(failures.empty(), join(failures));
  CHECK(t_conn == per_kind);
  CHECK(s_conn == per_kind);
  CHECK_MESSAGE(t_cut == per_kind, "every trickling request is cut by the server");
  CHECK_MESSAGE(s_cut == per_kind, "every silent WebSocket is cut by the server");
  // Cut at the deadline, not long after it (generous slack for a loaded 2-core machine).
  CHECK(t_max < handshake + 5s);
  CHECK(s_max < init + 5s);
  CHECK(latencies.size() >= 3);

  const auto rss_after = server.rss_bytes();
  MESSAGE("server RSS " << rss_before / 1024 / 1024 << " MB before the attack, " << rss_after / 1024 / 1024
                        << " MB after it");
  CHECK_MESSAGE(rss_after < rss_before + (64u << 20), "2,000 cut connections must not leave memory behind");
  auto m = http_get(server.port(), "/metrics");
  CHECK(m.body.find("mediaspool_connection_limits_total{limit=\"handshake_timeout\"} 1000") != std::string::npos);
  CHECK(m.body.find("mediaspool_errors_total{code=\"not_initialized\"} 1000") != std::string::npos);
  CHECK(http_get(server.port(), "/readyz").status == 200);
}

TEST_CASE_FIXTURE(pg_fixture, "a text message past max-text-bytes is refused with too_large and not kept in memory while it arrives") {
  // Text carries no payload and is read even past a connection's credit, so an oversized one is
  // read to its end with its bytes dropped as they come. It used to be buffered whole (up to
  // read-message-max, 8 MiB) outside every budget: 16 connections holding 6 MiB each here.
  server_process server{url, {}};
  auto peak = [&] {
    std::ifstream status{"/proc/" + std::to_string(server.pid()) + "/status"};
    std::string line;
    while (std::getline(status, line))
      if (line.rfind("VmHWM:", 0) == 0)
        return std::stoull(line.substr(6)) * 1024; // kB
    return 0ull;
  };
  const auto before = peak();
  REQUIRE(before > 0);
  constexpr int connections = 16;
  std::vector<std::unique_ptr<ws_test_client>> cs;
  for (int i = 0; i < connections; ++i) {
    cs.push_back(std::make_unique<ws_test_client>(server.port()));
    cs.back()->send_text_fragment("{\"type\":\"session_end\",\"pad\":\"" + std::string(6u << 20, 'x'), false);
  }
  for (auto& c : cs)
    REQUIRE_MESSAGE(c->flush(30s), "the server stopped reading an oversized text message");
  for (auto& c : cs)
    c->send_text_fragment("\"}", true);
  for (auto& c : cs) {
    auto msg = c->wait_for_type("error", 30s);
    REQUIRE_MESSAGE(msg, "no error for the oversized text " << c->last_error());
    CHECK((*msg)["code"] == "too_large");
  }
  const auto grew = peak() - before;
  MESSAGE("peak RSS grew by " << grew / 1024 << " KiB while " << connections << " connections each sent 6 MiB of text");
  CHECK_MESSAGE(grew < (48ull << 20), "the oversized text messages were held in memory: peak RSS +" << (grew >> 20) << " MiB");
  // The connection stays usable: a well-formed message after it is answered.
  cs[0]->send_json(init_msg(test_sid(993)));
  CHECK(cs[0]->wait_for_type("session_init_ack", 10s));
}

TEST_CASE_FIXTURE(pg_fixture, "idle timeout: a peer that answers nothing is closed, a quiet browser-like client is kept alive by pings") {
  server_process server{url, {"--limits.idle-timeout=2s", "--limits.init-timeout=60s"}};
  asio::io_context ioc;
  std::vector<std::shared_ptr<attacker>> silent;
  for (int i = 0; i < 20; ++i) {
    silent.push_back(std::make_shared<attacker>(ioc, attacker::kind::never_init));
    silent.back()->start(server.port());
  }
  std::thread io{[&] { ioc.run(); }};
  // A client that reads (so Beast answers pings for it, as a browser does) but sends nothing
  // after its init for three idle periods.
  ws_test_client quiet{server.port(), 10s};
  const auto sid = test_sid(990);
  CHECK_NO_FAILURES(init_and_check(quiet, sid, false));
  std::this_thread::sleep_for(6s); // the quiet period itself is the test's subject
  auto cut = [&] {
    size_t n = 0;
    for (auto& a : silent)
      n += a->cut_by_server();
    return n;
  };
  for (auto until = clock_type::now() + 10s; cut() < silent.size() && clock_type::now() < until;)
    std::this_thread::sleep_for(100ms); // poll interval, bounded by the deadline
  std::vector<std::chrono::milliseconds> lives;
  for (auto& a : silent)
    lives.push_back(a->lifetime());
  asio::post(ioc, [&] {
    for (auto& a : silent)
      a->stop();
  });
  io.join();
  MESSAGE("silent peers closed after p50 " << percentile(lives, 0.5).count() << " ms (idle timeout 2 s)");
  CHECK(cut() == silent.size());
  // The quiet client is still connected and can record.
  CHECK_NO_FAILURES(send_and_check_acks(quiet, sid, {make_item('f', 0, 990, 1000, 2000)}, 1));
  auto m = http_get(server.port(), "/metrics");
  CHECK(m.body.find("mediaspool_connection_limits_total{limit=\"idle_timeout\"} 20") != std::string::npos);
}

TEST_CASE_FIXTURE(pg_fixture, "max connections: the WebSocket beyond the limit gets HTTP 503, is counted, and a freed slot is usable") {
  server_process server{url, {"--limits.max-connections=3"}};
  const auto upgrade = websocket_upgrade_headers();
  std::vector<std::unique_ptr<ws_test_client>> clients;
  for (uint32_t i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<ws_test_client>(server.port()));
    CHECK_NO_FAILURES(init_and_check(*clients.back(), test_sid(995 + i), false));
  }
  auto refused = http_get(server.port(), "/ws/media-stream", upgrade);
  CHECK_MESSAGE(refused.status == 503, refused.status << " " << refused.body);
  CHECK(refused.body.find("overloaded") != std::string::npos);
  auto m = http_get(server.port(), "/metrics");
  CHECK(m.body.find("mediaspool_connection_limits_total{limit=\"max_connections\"} 1") != std::string::npos);
  // One client leaves: its slot is free again (bounded poll while the server notices).
  clients.back()->close();
  clients.pop_back();
  http_result again;
  for (auto until = clock_type::now() + 10s; clock_type::now() < until;) {
    again = http_get(server.port(), "/ws/media-stream", upgrade, 2s);
    if (again.status == 101)
      break;
    std::this_thread::sleep_for(100ms); // poll interval, bounded by the deadline
  }
  CHECK_MESSAGE(again.status == 101, again.status << " " << again.body);
  CHECK(http_get(server.port(), "/readyz").status == 200);
}

TEST_CASE_FIXTURE(pg_fixture, "max connections hold while the media loop runs late: upgrades waiting for it count") {
  server_process server{url, {"--limits.max-connections=2", "--debug.fault-injection=true", "--server.io-threads=1"}};
  const auto upgrade = websocket_upgrade_headers();
  auto stall = http_get(server.port(), "/api/debug/faults?stall-media-loop=8000", {}, 3s, "PUT");
  REQUIRE_MESSAGE(stall.status == 200, stall.status << " " << stall.error);
  // Two upgrades wait for the stalled media loop (no answer within 1 s); the third is over the
  // limit and is told so by the HTTP loop at once.
  CHECK(http_get(server.port(), "/ws/media-stream", upgrade, 1s).status == 0);
  CHECK(http_get(server.port(), "/ws/media-stream", upgrade, 1s).status == 0);
  auto third = http_get(server.port(), "/ws/media-stream", upgrade, 3s);
  CHECK_MESSAGE(third.status == 503, third.status << " " << third.error << " " << third.body);
}

TEST_CASE_FIXTURE(pg_fixture, "a node running late refuses an unknown session's upgrade with 503, so a balancer can retry elsewhere: resumes and URLs without sid still upgrade") {
  server_process server{url, {"--debug.fault-injection=true", "--server.io-threads=1"}};
  const auto upgrade = websocket_upgrade_headers();
  const auto known = test_sid(9301);
  {
    ws_test_client c{server.port()};
    CHECK_NO_FAILURES(init_and_check(c, known, false));
  }
  auto stall = http_get(server.port(), "/api/debug/faults?stall-media-loop=3000", {}, 3s, "PUT");
  REQUIRE_MESSAGE(stall.status == 200, stall.status << " " << stall.error);
  // The node refuses once the stall's lateness is measured (when the loop runs again) and for at
  // least 5 s after (admission.hpp); each try names a new session (an upgraded one is just closed).
  http_result refused;
  uint32_t tries = 0;
  for (auto until = clock_type::now() + 20s; clock_type::now() < until;) {
    refused = http_get(server.port(), "/ws/media-stream?sid=" + test_sid(9400 + tries++), upgrade, 6s);
    if (refused.status == 503)
      break;
    std::this_thread::sleep_for(50ms); // poll interval, bounded by the deadline
  }
  REQUIRE_MESSAGE(refused.status == 503, refused.status << " " << refused.error << " after " << tries << " tries");
  CHECK(refused.body.find("overloaded") != std::string::npos);
  CHECK(refused.header("retry-after") == "5");
  // Meanwhile a session the node knows is upgraded and resumed...
  ws_test_client resumed{server.port(), 5s, "/ws/media-stream?sid=" + known};
  CHECK_NO_FAILURES(init_and_check(resumed, known, true));
  // ...and a URL without sid is upgraded: its session_init is the one refused (1013).
  ws_test_client bare{server.port()};
  bare.send_json(init_msg(test_sid(9302)));
  auto err = bare.wait_for_type("error", 5s);
  REQUIRE_MESSAGE(err, "no answer to a new session's init: " << bare.last_error());
  CHECK((*err)["code"] == "overloaded");
  auto m = http_get(server.port(), "/metrics");
  auto at = m.body.find("\nmediaspool_sessions_refused_total ");
  REQUIRE(at != std::string::npos);
  CHECK(std::stoi(m.body.substr(at + 35)) >= 2);
}

TEST_CASE_FIXTURE(pg_fixture, "a node whose disk got slow refuses new sessions' upgrades with 503 while its loop is idle, keeps its own, loses no ack, and takes new ones once the disk recovers") {
  server_process server{url, {"--debug.fault-injection=true"}};
  const auto upgrade = websocket_upgrade_headers();
  const auto recording = test_sid(9501);
  const auto known = test_sid(9502);
  {
    ws_test_client c{server.port()};
    CHECK_NO_FAILURES(init_and_check(c, known, false));
  }
  ws_test_client rec{server.port(), 5s, "/ws/media-stream?sid=" + recording};
  CHECK_NO_FAILURES(init_and_check(rec, recording, false));
  const auto items = make_mix(9501, 1, 1);
  CHECK_NO_FAILURES(send_and_check_acks(rec, recording, {items[0]}, 1, {}, 10s));
  // Every spool sync now takes 4 s: the disk is slow, nothing fails, and the media loop has
  // nothing to do. The next item's commit runs for seconds.
  auto slow = http_get(server.port(), "/api/debug/faults?io=spool.sync:persistent:slow=4000", {}, 3s, "PUT");
  REQUIRE_MESSAGE(slow.status == 200, slow.status << " " << slow.error);
  // Healed on every way out, so a failed check does not leave the server slow to stop.
  struct heal_on_exit {
    uint16_t port;
    ~heal_on_exit() { http_get(port, "/api/debug/faults?io=", {}, 3s, "PUT"); }
  } heal{server.port()};
  send_item(rec, recording, items[1]);
  // /metrics (on the HTTP loop) shows the wait grow past the limit while the media loop is on time.
  auto gauge = [&](const std::string& body, const std::string& name) -> long long {
    auto at = body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoll(body.substr(at + name.size() + 2));
  };
  long long wait_us = 0, lag_us = 0;
  for (auto until = clock_type::now() + 15s; clock_type::now() < until && wait_us <= 1000000;) {
    auto m = http_get(server.port(), "/metrics");
    wait_us = gauge(m.body, "mediaspool_ack_wait_microseconds");
    lag_us = gauge(m.body, "mediaspool_io_loop_lag_microseconds");
    std::this_thread::sleep_for(50ms); // poll interval, bounded by the deadline
  }
  REQUIRE_MESSAGE(wait_us > 1000000, "ack wait " << wait_us << " us");
  CHECK_MESSAGE(lag_us >= 0, lag_us);
  CHECK_MESSAGE(lag_us < 500000, lag_us);
  // Now a new session is sent on (each try names a new one; an upgraded one is just closed).
  http_result refused;
  uint32_t tries = 0;
  for (auto until = clock_type::now() + 10s; clock_type::now() < until;) {
    refused = http_get(server.port(), "/ws/media-stream?sid=" + test_sid(9600 + tries++), upgrade, 1s);
    if (refused.status == 503)
      break;
  }
  REQUIRE_MESSAGE(refused.status == 503, refused.status << " " << refused.error << " after " << tries << " tries");
  CHECK(refused.body.find("overloaded") != std::string::npos);
  // A session the node holds is still taken.
  {
    ws_test_client again{server.port(), 5s, "/ws/media-stream?sid=" + known};
    CHECK_NO_FAILURES(init_and_check(again, known, true));
  }
  // The disk recovers: the item waiting on it is acked, and after a calm spell a new session is
  // taken again.
  auto healed = http_get(server.port(), "/api/debug/faults?io=", {}, 3s, "PUT");
  REQUIRE(healed.status == 200);
  auto ack = rec.wait_for_type("frame_ack", 20s);
  REQUIRE_MESSAGE(ack, "the item sent while the disk was slow was never acked: " << rec.last_error());
  CHECK((*ack)["frame_index"] == items[1].index);
  http_result taken;
  for (auto until = clock_type::now() + 30s; clock_type::now() < until;) {
    taken = http_get(server.port(), "/ws/media-stream?sid=" + test_sid(9600 + tries++), upgrade, 1s);
    if (taken.status == 101)
      break;
    std::this_thread::sleep_for(100ms); // poll interval, bounded by the deadline
  }
  CHECK_MESSAGE(taken.status == 101, taken.status << " " << taken.error);
}

} // TEST_SUITE
