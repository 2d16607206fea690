// Flow control end to end (DESIGN.md "Flow control"): a connection stops reading when the payload
// bytes it has in flight reach its credit, so a client cannot make the server buffer more. The
// check needs no clock: blobs sent without metadata fill the credit, and a complete item sent
// after them can only be read once the orphan timeout has freed enough of them. So its ack must
// come AFTER those expiry errors; without flow control the server would read it at once and ack
// it long before any blob expires.
#include "net/codec.hpp"
#include "support/http_test_client.hpp"
#include "support/media_session.hpp"
#include "support/pg_fixture.hpp"
#include "support/server_process.hpp"
#include "support/ws_test_client.hpp"

#include <doctest/doctest.h>

#include <regex>
#include <thread>

using namespace mediaspool;
using namespace mediaspool::test;

TEST_SUITE("integration.flow_control") {
  TEST_CASE_FIXTURE(pg_fixture, "a connection stops reading when its credit is spent and resumes as bytes are freed") {
    // Credit for two 100 KB blobs; the unpaired budget is generous so only the credit stops reads.
    server_process server{url, {"--limits.connection-credit=200000", "--limits.max-unpaired-bytes=100000000",
                                "--limits.orphan-timeout=1s"}};
    ws_test_client c{server.port()};
    const auto sid = test_sid(900);
    c.send_json(init_msg(sid));
    REQUIRE(c.wait_for_type("session_init_ack"));
    constexpr uint32_t orphans = 4;
    for (uint32_t i = 0; i < orphans; ++i)
      c.send_blob(sid, item_kind::frame, i, make_item('f', i, 77 + i, 100000, 100000).payload);
    auto last = make_item('f', orphans, 99, 1000, 1000);
    last.meta_first = true;
    send_item(c, sid, last);
    std::set<uint32_t> expired;
    bool acked = false;
    while (!acked) {
      auto msg = c.next(std::chrono::seconds(20));
      REQUIRE_MESSAGE(msg, "no answer: reading never resumed (" << expired.size() << " blobs expired) " << c.last_error());
      auto type = (*msg)["type"].get<std::string>();
      if (type == "error") {
        CHECK_MESSAGE((*msg)["code"] == "orphan_expired", msg->dump());
        expired.insert((*msg)["ref"]["index"].get<uint32_t>());
      } else if (type == "frame_ack") {
        CHECK((*msg)["frame_index"] == orphans);
        acked = true;
      }
    }
    // Four 100 KB blobs against a 200,000-byte credit: the item behind them can be read only once
    // the credit is below the limit again, which takes at least three expiries (the fourth may
    // follow the ack). Without flow control it would be read, and acked, before any expiry.
    CHECK_MESSAGE(expired.size() >= orphans - 1,
                  "the complete item was read and acked while only " << expired.size()
                    << " earlier blobs had expired: the server read past its credit");
    // session_end_ack comes once every acked item is a file and a row.
    CHECK_NO_FAILURES(end_and_check(c, sid, 0, 1));
    CHECK_NO_FAILURES(check_files(server.media_root(), sid, {last}));
  }

  TEST_CASE_FIXTURE(pg_fixture, "behind a backlog of files a connection reads on: past media.queue-memory its credit comes back at the ack") {
    // Credit for two 100 KB blobs, every file write slowed to 1 s, and no memory for files
    // waiting to be written: each item's bytes stay in the spool, so its credit returns once it
    // is durable. Were the bytes kept for their files, the third item could be read only after
    // the first file was written, and the tenth only after the eighth.
    server_process server{url, {"--limits.connection-credit=200000", "--media.queue-memory=0",
                                "--debug.fault-injection=true", "--debug.io-faults=media.write:persistent:slow=1000"}};
    ws_test_client c{server.port()};
    const auto sid = test_sid(905);
    c.send_json(init_msg(sid));
    REQUIRE(c.wait_for_type("session_init_ack"));
    constexpr uint32_t n = 10;
    std::vector<test_item> items;
    for (uint32_t i = 0; i < n; ++i) {
      items.push_back(make_item('f', i, 300 + i, 100000, 100000));
      send_item(c, sid, items.back());
    }
    std::set<uint32_t> acked;
    while (acked.size() < n) {
      auto msg = c.next(std::chrono::seconds(20));
      REQUIRE_MESSAGE(msg, "acks stopped at " << acked.size() << " of " << n << ": " << c.last_error());
      if ((*msg)["type"] == "frame_ack")
        acked.insert((*msg)["frame_index"].get<uint32_t>());
    }
    size_t files = 0;
    std::error_code ec;
    for (std::filesystem::recursive_directory_iterator it{server.media_root() / sid, ec}, end; !ec && it != end;
         it.increment(ec))
      files += it->is_regular_file();
    CHECK_MESSAGE(files < n - 2, "all " << n << " acks came only after " << files
                                        << " files were written: the credit waited for the files");
    CHECK_NO_FAILURES(end_and_check(c, sid, 0, n));
    CHECK_NO_FAILURES(check_files(server.media_root(), sid, items));
    auto metrics = http_get(server.port(), "/metrics");
    CHECK_MESSAGE(metrics.body.find("mediaspool_files_from_spool_total " + std::to_string(n)) != std::string::npos,
                  "every file read back from the spool");
  }

  TEST_CASE_FIXTURE(pg_fixture, "with the process budget spent, connections take turns for binary frames and every item is still acked") {
    // A 1-byte budget: any payload in flight stops every other connection's binary reads, so
    // each item waits in line for the one before it to become durable and a file. Half the items
    // send their blob first: its metadata must still be read while the budget is spent (by that
    // very blob), or the blob could never pair and everything would wait for its orphan timeout.
    server_process server{url, {"--limits.global-inflight=1"}};
    constexpr uint32_t sessions = 4;
    std::vector<std::vector<test_item>> items(sessions);
    for (uint32_t i = 0; i < sessions; ++i) {
      items[i] = make_mix(4000 + i, 3, 6);
      for (size_t k = 0; k < items[i].size(); ++k)
        items[i][k].meta_first = (k + i) % 2 == 0;
    }
    auto failures = run_concurrently(sessions, [&](size_t i) {
      const auto sid = test_sid(950 + static_cast<uint32_t>(i));
      ws_test_client c{server.port()};
      auto f = init_and_check(c, sid, false);
      auto acks = send_and_check_acks(c, sid, items[i], 3);
      auto end = end_and_check(c, sid, 3, 6);
      f.insert(f.end(), acks.begin(), acks.end());
      f.insert(f.end(), end.begin(), end.end());
      return f;
    });
    for (uint32_t i = 0; i < sessions; ++i) {
      CHECK_MESSAGE(failures[i].empty(), "session " << i << ":\n" << join(failures[i]));
      CHECK_NO_FAILURES(check_stored(server.media_root(), *this, test_sid(950 + i), items[i]));
    }
    // The budget did stop reads (else this test proves nothing about the line).
    auto m = http_get(server.port(), "/metrics").body;
    std::smatch waits;
    REQUIRE(std::regex_search(m, waits, std::regex("mediaspool_budget_waits_total ([0-9]+)")));
    CHECK(std::stoull(waits[1]) >= sessions);
  }

  TEST_CASE_FIXTURE(pg_fixture, "blobs that spend the credit before their metadata still pair at once: text is read past the credit") {
    // Blob 0 and blob 1 (150 KB each) against a 200,000-byte credit, then both metadata. The
    // second blob is read while the credit is not yet spent and spends it; the metadata behind it
    // carries no payload and completes both pairs, which frees the credit. Were reads paused
    // whole on credit, the metadata would sit in the socket until both blobs expired (20 s here)
    // and end as orphan_expired, as would a single blob larger than the credit.
    server_process server{url, {"--limits.connection-credit=200000", "--limits.orphan-timeout=20s"}};
    ws_test_client c{server.port()};
    const auto sid = test_sid(991);
    c.send_json(init_msg(sid));
    REQUIRE(c.wait_for_type("session_init_ack"));
    std::vector<test_item> items{make_item('f', 0, 51, 150000, 150000), make_item('f', 1, 52, 150000, 150000),
                                 make_item('f', 2, 53, 300000, 300000)};
    c.send_blob(sid, item_kind::frame, 0, items[0].payload);
    c.send_blob(sid, item_kind::frame, 1, items[1].payload);
    c.send_json(metadata_msg(sid, items[0]));
    c.send_json(metadata_msg(sid, items[1]));
    // Then one blob larger than the whole credit, before its metadata.
    c.send_blob(sid, item_kind::frame, 2, items[2].payload);
    c.send_json(metadata_msg(sid, items[2]));
    std::set<uint32_t> acked;
    while (acked.size() < items.size()) {
      auto msg = c.next(std::chrono::seconds(10));
      REQUIRE_MESSAGE(msg, "no ack within 10 s: the metadata was not read past the spent credit " << c.last_error());
      auto type = (*msg)["type"].get<std::string>();
      REQUIRE_MESSAGE(type == "frame_ack", "expected acks, got " << msg->dump());
      acked.insert((*msg)["frame_index"].get<uint32_t>());
    }
    CHECK_NO_FAILURES(end_and_check(c, sid, 0, 3));
    CHECK_NO_FAILURES(check_stored(server.media_root(), *this, sid, items));
  }
  TEST_CASE_FIXTURE(pg_fixture, "with the process budget spent, a blob whose metadata is behind the next binary frame still pairs at once") {
    // A 1-byte budget and one connection sending blob 0, blob 1, metadata 0, metadata 1 (TCP
    // keeps that order). Blob 0 spends the budget; blob 1 must then wait in line, and nothing
    // ahead of it can free the budget but blob 0's pair, whose metadata is behind blob 1. Without
    // reading blob 1 ahead of the line (the overdraft) blob 0 would wait for its orphan timeout
    // (3 s here) and end as orphan_expired.
    server_process server{url, {"--limits.global-inflight=1", "--limits.orphan-timeout=3s"}};
    ws_test_client c{server.port()};
    const auto sid = test_sid(990);
    c.send_json(init_msg(sid));
    REQUIRE(c.wait_for_type("session_init_ack"));
    std::vector<test_item> items{make_item('f', 0, 41, 60000, 60000), make_item('f', 1, 42, 60000, 60000)};
    for (auto& it : items)
      c.send_blob(sid, item_kind::frame, it.index, it.payload);
    for (auto& it : items)
      c.send_json(metadata_msg(sid, it));
    std::set<uint32_t> acked;
    while (acked.size() < items.size()) {
      auto msg = c.next(std::chrono::seconds(20));
      REQUIRE_MESSAGE(msg, "no answer " << c.last_error());
      auto type = (*msg)["type"].get<std::string>();
      REQUIRE_MESSAGE(type == "frame_ack", "expected acks, got " << msg->dump());
      acked.insert((*msg)["frame_index"].get<uint32_t>());
    }
    CHECK_NO_FAILURES(end_and_check(c, sid, 0, 2));
    CHECK_NO_FAILURES(check_stored(server.media_root(), *this, sid, items));
    auto m = http_get(server.port(), "/metrics").body;
    std::smatch n;
    REQUIRE(std::regex_search(m, n, std::regex("mediaspool_budget_overdrafts_total ([0-9]+)")));
    CHECK(std::stoull(n[1]) >= 1);
  }
  TEST_CASE_FIXTURE(pg_fixture, "metadata whose binary frame is still arriving does not expire, however slowly it comes") {
    // An overloaded server (or a slow uplink) takes longer to receive a frame than the orphan
    // timeout: figure 7's 10,000 sessions had metadata expire while its 160 KB frame was being
    // read. Here the frame trickles in as four fragments over ~1.8 s against a 1 s orphan timeout.
    // The client is not late while its frame is on the way: the item must be acked, not expired.
    server_process server{url, {"--limits.orphan-timeout=1s"}};
    ws_test_client c{server.port()};
    const auto sid = test_sid(995);
    c.send_json(init_msg(sid));
    REQUIRE(c.wait_for_type("session_init_ack"));
    auto item = make_item('f', 0, 43, 40000, 40000);
    c.send_json(metadata_msg(sid, item));
    const std::string blob = mediaspool::net::make_blob_header(sid, item_kind::frame, 0) + item.payload;
    const size_t part = blob.size() / 4 + 1;
    for (size_t at = 0; at < blob.size(); at += part) {
      const bool last = at + part >= blob.size();
      c.send_binary_fragment(blob.substr(at, part), last);
      if (!last)
        std::this_thread::sleep_for(std::chrono::milliseconds(600)); // the trickle: part of the scenario
    }
    auto msg = c.next(std::chrono::seconds(10));
    REQUIRE_MESSAGE(msg, "no answer " << c.last_error());
    CHECK_MESSAGE((*msg)["type"] == "frame_ack", "expected the ack, got " << msg->dump());
    CHECK_NO_FAILURES(end_and_check(c, sid, 0, 1));
    CHECK_NO_FAILURES(check_stored(server.media_root(), *this, sid, {item}));
  }
}
