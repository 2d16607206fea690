// Graceful shutdown (issue 7): on SIGTERM the server stops accepting, answers what each client
// already sent (acks for everything that became durable), closes with 1001, drains the spool to
// files and PostgreSQL, and exits 0. Nothing acked is lost: after a restart the session resumes
// with every acked item held.
#include "support/media_session.hpp"
#include "support/pg_fixture.hpp"
#include "support/server_process.hpp"
#include "support/ws_test_client.hpp"

#include <doctest/doctest.h>
#include <pqxx/pqxx>

#include <chrono>
#include <csignal>
#include <thread>

using namespace mediaspool;
using namespace mediaspool::test;

TEST_SUITE("integration.shutdown") {
  TEST_CASE_FIXTURE(pg_fixture, "sigterm acks what was sent then closes with 1001 and loses nothing") {
    server_process server{url};
    const auto sid = test_sid(950);
    auto items = make_mix(950, 6, 24);
    std::set<item_key> acked;
    {
      ws_test_client c{server.port()};
      c.send_json(init_msg(sid));
      REQUIRE(c.wait_for_type("session_init_ack"));
      // Everything at once: some items are in flight when the signal arrives.
      for (const auto& it : items)
        send_item(c, sid, it);
      // The first ack, kept aside: wait_for removes it from the queue.
      auto first = c.wait_for([](const json& j) { return j.value("type", "") == "audio_ack" || j.value("type", "") == "frame_ack"; });
      REQUIRE(first);
      if ((*first)["type"] == "audio_ack")
        acked.insert({'a', (*first)["chunk_index"].get<uint32_t>()});
      else
        acked.insert({'f', (*first)["frame_index"].get<uint32_t>()});
      CHECK_MESSAGE(server.stop(std::chrono::seconds(20)), "the server did not exit 0 on SIGTERM");
      auto code = c.wait_closed(std::chrono::seconds(5));
      CHECK_MESSAGE(code == std::optional<uint16_t>{1001}, "close code " << (code ? *code : 0) << " " << c.last_error());
      for (auto& msg : c.drain()) {
        auto type = msg.value("type", "");
        if (type == "audio_ack")
          acked.insert({'a', msg["chunk_index"].get<uint32_t>()});
        else if (type == "frame_ack")
          acked.insert({'f', msg["frame_index"].get<uint32_t>()});
      }
    }
    CHECK_MESSAGE(!acked.empty(), "no item was acked before the shutdown");
    server.restart();
    ws_test_client c{server.port()};
    c.send_json(init_msg(sid));
    auto ack = c.wait_for_type("session_init_ack");
    REQUIRE(ack);
    auto held = keys_of_ack(*ack);
    for (const auto& k : acked)
      CHECK_MESSAGE(held.count(k) == 1, "acked item " << k.first << k.second << " is not held after the restart");
    CHECK_NO_FAILURES(send_and_check_acks(c, sid, items, 4, held));
    CHECK_NO_FAILURES(end_and_check(c, sid, 6, 24));
    CHECK_NO_FAILURES(check_stored(server.media_root(), *this, sid, items));
  }

  // A client that closes after the signal, while its session still waits for its last item to be
  // durable (a slow spool sync here), must not keep its connection open: the node's drain waits
  // for every connection, and a connection that outlived its socket held it for the whole bound.
  TEST_CASE_FIXTURE(pg_fixture, "a client closing while sigterm drains its session lets the node stop at once") {
    server_process server{url, {"--debug.fault-injection=true", "--debug.io-faults=spool.sync:persistent:slow=500",
                                "--server.shutdown-drain=5s", "--log.session=debug"}};
    const auto sid = test_sid(952);
    auto items = make_mix(952, 1, 0);
    ws_test_client c{server.port()};
    c.send_json(init_msg(sid));
    REQUIRE(c.wait_for_type("session_init_ack"));
    const auto seen = [&](const std::string& text) { return server.log_tail(200).find(text) != std::string::npos; };
    const auto await = [&](const std::string& text) {
      for (auto deadline = std::chrono::steady_clock::now() + 5s;
           !seen(text) && std::chrono::steady_clock::now() < deadline;)
        std::this_thread::sleep_for(10ms);
      return seen(text);
    };
    send_item(c, sid, items.front());
    REQUIRE_MESSAGE(await("paired a0"), "the item never reached the spool");
    server.signal(SIGTERM);
    // The session hears the drain after its connection stopped reading: the close comes after.
    REQUIRE_MESSAGE(await("draining: 1 items not yet durable"), "the session was not told to drain");
    c.close(1000);
    auto exit = server.wait_exit(20s);
    CHECK_MESSAGE(exit == std::optional<int>{0}, "the server exited by itself");
    CHECK(seen("mediaspool: stopped (0 items left to replay)"));
    CHECK_MESSAGE(seen("mediaspool: 0 connections left at stop"),
                  "the closed connection was still counted when the drain bound passed");
  }

  // A PostgreSQL that never answers (here a lock the test holds) must not make the node
  // unkillable by SIGTERM: what it acked is in its spool and replays at the next start.
  TEST_CASE_FIXTURE(pg_fixture, "sigterm while PostgreSQL blocks every write still exits, and the acked items are stored after a restart") {
    server_process server{url};
    const auto sid = test_sid(951);
    auto items = make_mix(951, 2, 4);
    ws_test_client c{server.port()};
    CHECK_NO_FAILURES(init_and_check(c, sid, false));
    pqxx::connection locker{url};
    pqxx::work lock{locker};
    lock.exec("LOCK TABLE media_items IN ACCESS EXCLUSIVE MODE");
    CHECK_NO_FAILURES(send_and_check_acks(c, sid, items, 4)); // acked from the spool
    const auto t0 = std::chrono::steady_clock::now();
    // Bounded: the drain gives up after its 10 s, then the exit waits a few more for a stuck call.
    CHECK_MESSAGE(server.stop(std::chrono::seconds(40)), "the server did not exit 0 on SIGTERM while a write hung");
    MESSAGE("exited " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
                      << " s after SIGTERM");
    lock.abort();
    server.restart();
    ws_test_client again{server.port()};
    CHECK_NO_FAILURES(init_and_check(again, sid, true, items, 20s));
    CHECK_NO_FAILURES(end_and_check(again, sid, 2, 4));
    CHECK_NO_FAILURES(check_stored(server.media_root(), *this, sid, items));
  }
}
