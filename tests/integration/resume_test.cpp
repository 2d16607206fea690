// Resume end to end (PROTOCOL.md sections 1 and 2): after a lost connection, a server restart, a
// SIGKILL or a takeover by a second connection, session_init for the same id lists exactly what
// was acked, a full resend is answered with duplicate acks for those and stored for the rest,
// and every item ends up once as a file and a row.
#include "support/media_session.hpp"
#include "support/pg_fixture.hpp"
#include "support/server_process.hpp"
#include "support/ws_test_client.hpp"

#include <doctest/doctest.h>

using namespace mediaspool;
using namespace mediaspool::test;

namespace {

// The first connection's share of `all`: gaps inside (a2, f5, f6) and a missing tail, so the
// resume ack must list several ranges per kind.
std::vector<test_item> first_part(const std::vector<test_item>& all) {
  std::vector<test_item> out;
  for (auto& it : all) {
    const bool gap = (it.kind == 'a' && (it.index == 2 || it.index >= 5))
                     || (it.kind == 'f' && (it.index == 5 || it.index == 6 || it.index >= 10));
    if (!gap)
      out.push_back(it);
  }
  return out;
}

size_t count_kind(const std::vector<test_item>& items, char kind) {
  size_t n = 0;
  for (auto& it : items)
    n += it.kind == kind;
  return n;
}

// The first connection: a fresh session with `items` acked.
void record_first(ws_test_client& c, const std::string& sid, const std::vector<test_item>& items) {
  auto f = init_and_check(c, sid, false);
  append(f, "acks", send_and_check_acks(c, sid, items, 4));
  REQUIRE_MESSAGE(f.empty(), join(f));
}

// The second connection: resume (exactly `held` listed), resend all of `all` (duplicates for
// `held`), end with the full totals, then files and rows hold exactly `all`.
void resume_and_finish(uint16_t port, const server_process& server, const pg_fixture& db, const std::string& sid,
                       const std::vector<test_item>& all, const std::vector<test_item>& held) {
  ws_test_client c{port};
  auto f = init_and_check(c, sid, true, held);
  append(f, "resend", send_and_check_acks(c, sid, all, 5, keys_of(held)));
  append(f, "end", end_and_check(c, sid, count_kind(all, 'a'), count_kind(all, 'f')));
  CHECK_MESSAGE(f.empty(), join(f));
  auto stored = check_stored(server.media_root(), db, sid, all);
  CHECK_MESSAGE(stored.empty(), join(stored));
}

} // namespace

TEST_SUITE("integration.resume") {

TEST_CASE_FIXTURE(pg_fixture, "a reconnect after an abrupt disconnect resumes with exactly the acked ranges") {
  server_process server{url};
  const auto sid = test_sid(21);
  const auto all = make_mix(21, 6, 12);
  const auto first = first_part(all);
  {
    ws_test_client c{server.port()};
    record_first(c, sid, first);
    c.abort(); // no session_end, no close frame
  }
  resume_and_finish(server.port(), server, *this, sid, all, first);
}

TEST_CASE_FIXTURE(pg_fixture, "a resent index with different bytes gets conflict and the stored bytes stay") {
  server_process server{url};
  const auto sid = test_sid(22);
  const auto items = make_mix(22, 2, 2);
  auto altered = [](test_item it, bool same_size) {
    if (same_size)
      it.payload[it.payload.size() / 2] ^= 0x5a;
    else
      it.payload.resize(it.payload.size() - 100);
    it.meta_first = !it.meta_first;
    return it;
  };
  auto expect_conflict = [](ws_test_client& c, const test_item& it) {
    auto err = c.wait_for_type("error");
    REQUIRE_MESSAGE(err.has_value(), "an error message arrives");
    CHECK_MESSAGE((err->value("code", "") == "conflict"
                   && (*err)["ref"] == json{{"kind", std::string(1, it.kind)}, {"index", it.index}}),
                  err->dump());
  };
  {
    ws_test_client c{server.port()};
    record_first(c, sid, items);
    // On the connection that stored them: same size other bytes, and another size.
    send_item(c, sid, altered(items[0], true));
    expect_conflict(c, items[0]);
    send_item(c, sid, altered(items[1], false));
    expect_conflict(c, items[1]);
    CHECK_FALSE_MESSAGE(c.is_closed(), "a conflict keeps the connection open");
    c.abort();
  }
  ws_test_client c{server.port()};
  // After a resume, the held digests come from the spool or PostgreSQL.
  auto f = init_and_check(c, sid, true, items);
  CHECK_MESSAGE(f.empty(), join(f));
  send_item(c, sid, altered(items[2], true));
  expect_conflict(c, items[2]);
  CHECK_NO_FAILURES(send_and_check_acks(c, sid, items, 4, keys_of(items))); // the originals are duplicates
  CHECK_NO_FAILURES(end_and_check(c, sid, 2, 2));
  auto stored = check_stored(server.media_root(), *this, sid, items);
  CHECK_MESSAGE(stored.empty(), join(stored));
}

TEST_CASE_FIXTURE(pg_fixture, "a server restart between two connections resumes with exactly the acked ranges") {
  server_process server{url};
  const auto sid = test_sid(23);
  const auto all = make_mix(23, 6, 12);
  const auto first = first_part(all);
  {
    ws_test_client c{server.port()};
    record_first(c, sid, first);
    c.close(1000);
  }
  CHECK_MESSAGE(server.stop(), "SIGTERM ends the server cleanly (exit status 0)");
  server.restart();
  resume_and_finish(server.port(), server, *this, sid, all, first);
}

TEST_CASE_FIXTURE(pg_fixture, "a server killed with SIGKILL resumes with every acked item after its restart") {
  server_process server{url};
  const auto sid = test_sid(24);
  const auto all = make_mix(24, 6, 12);
  const auto first = first_part(all);
  ws_test_client c{server.port()};
  record_first(c, sid, first);
  server.kill9();
  CHECK_MESSAGE(c.wait_closed(5s).has_value(), "the connection ends with the server");
  server.restart();
  resume_and_finish(server.port(), server, *this, sid, all, first);
}

TEST_CASE_FIXTURE(pg_fixture, "a second connection for a connected session takes over and nothing acked is lost") {
  server_process server{url};
  const auto sid = test_sid(25);
  const auto all = make_mix(25, 6, 12);
  const auto first = first_part(all);
  ws_test_client old_conn{server.port()};
  record_first(old_conn, sid, first);
  // Two more items on their way when the takeover comes: they may or may not be held by then.
  std::vector<test_item> in_flight;
  for (auto& it : all)
    if ((it.kind == 'a' && it.index == 2) || (it.kind == 'f' && it.index == 5))
      in_flight.push_back(it);
  for (auto& it : in_flight)
    send_item(old_conn, sid, it);
  REQUIRE_MESSAGE(old_conn.flush(), "the in-flight items were written to the socket");

  ws_test_client new_conn{server.port()};
  new_conn.send_json(init_msg(sid));
  auto ack = new_conn.wait_for_type("session_init_ack", 10s);
  REQUIRE_MESSAGE(ack.has_value(), "the new connection gets session_init_ack");
  CHECK_MESSAGE(ack->value("resumed", false), "the takeover resumes: " << ack->dump());
  CHECK_MESSAGE(old_conn.wait_closed(5s) == std::optional<uint16_t>{1008}, "the old connection is closed with 1008");

  // Everything the old connection got an ack for is listed; nothing it never sent is.
  auto acked_by_old = keys_of(first);
  for (auto& msg : old_conn.drain())
    if (msg.value("type", "") == "audio_ack" || msg.value("type", "") == "frame_ack")
      acked_by_old.emplace(msg["type"] == "audio_ack" ? 'a' : 'f',
                           msg.value(msg["type"] == "audio_ack" ? "chunk_index" : "frame_index", 0u));
  auto sent_by_old = keys_of(first);
  for (auto& it : in_flight)
    sent_by_old.emplace(it.kind, it.index);
  const auto held = keys_of_ack(*ack);
  for (auto& k : acked_by_old)
    CHECK_MESSAGE(held.count(k) == 1, "acked item " << k.first << k.second << " missing from " << ack->dump());
  for (auto& k : held)
    CHECK_MESSAGE(sent_by_old.count(k) == 1, "item " << k.first << k.second << " listed but never sent");

  auto f = send_and_check_acks(new_conn, sid, all, 5, held);
  append(f, "end", end_and_check(new_conn, sid, count_kind(all, 'a'), count_kind(all, 'f')));
  CHECK_MESSAGE(f.empty(), join(f));
  auto stored = check_stored(server.media_root(), *this, sid, all);
  CHECK_MESSAGE(stored.empty(), join(stored));
}

TEST_CASE_FIXTURE(pg_fixture, "a session resumed while spool recovery still replays others ends with all its items") {
  // More spooled records than one recovery page (256), all of another session that sorts first,
  // so this session's records are replayed only after that page has settled.
  server_process server{url};
  const auto busy_sid = test_sid(31), sid = test_sid(32);
  std::vector<test_item> busy;
  for (uint32_t i = 0; i < 300; ++i)
    busy.push_back(make_item('f', i, 31, 64, 256));
  const auto items = make_mix(32, 2, 3);
  ws_test_client busy_conn{server.port()}, conn{server.port()};
  auto f = init_and_check(busy_conn, busy_sid, false);
  append(f, "init", init_and_check(conn, sid, false));
  REQUIRE_MESSAGE(f.empty(), join(f));
  {
    // While PostgreSQL cannot take rows, acked items stay in the spool (acks need only the spool).
    pqxx::connection blocker{url};
    pqxx::work lock{blocker};
    lock.exec("LOCK TABLE media_items IN ACCESS EXCLUSIVE MODE");
    append(f, "busy", send_and_check_acks(busy_conn, busy_sid, busy, 32));
    append(f, "acks", send_and_check_acks(conn, sid, items, 4));
    REQUIRE_MESSAGE(f.empty(), join(f));
    server.kill9();
    lock.abort();
  }
  server.restart();
  resume_and_finish(server.port(), server, *this, sid, items, items);
  auto busy_left = resume_end_and_check(server.port(), server.media_root(), *this, busy_sid, busy);
  CHECK_MESSAGE(busy_left.empty(), join(busy_left));
}

} // TEST_SUITE
