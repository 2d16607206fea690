// The DB batcher on the test coordinator against the real PostgreSQL (one schema per test case,
// support/pg_fixture.hpp). It blocks in libpqxx inside its handlers; under the coordinator that
// simply happens in the test thread. A stand-in spool writer records the `dbdone` answers.
#include "actors/db_batcher.hpp"
#include "support/coordinator_fixture.hpp"
#include "support/pg_fixture.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace mediaspool;
using namespace std::chrono_literals;
using storage::item_key;
using storage::pg_item;

namespace {

const std::string sid = "3f2b8c1e-0000-4000-8000-00000000000a";

// A libpq URL whose socket folder does not exist: every connection attempt fails at once.
const std::string unreachable_url = "postgresql://postgres@/mediaspool?host=/nonexistent-mediaspool-sock&port=1";

struct dbdone_log {
  std::vector<std::vector<item_key>> answers;

  size_t keys() const {
    size_t n = 0;
    for (auto& a : answers)
      n += a.size();
    return n;
  }
};

spool_writer_actor::behavior_type fake_spool(spool_writer_actor::pointer, std::shared_ptr<dbdone_log> log) {
  return {
    [=](atom::append, spool_item&) {},
    [=](atom::filedone, files_done&) {},
    [=](atom::dbdone, std::vector<item_key>& keys) { log->answers.push_back(keys); },
    [=](atom::end, std::string&) -> end_result { return {}; },
    [=](atom::recover) -> uint64_t { return 0; },
    [=](atom::stats) -> spool_stats { return {}; },
    [=](atom::flush) {},
    [=](atom::retry) {},
  };
}

pg_item audio(uint32_t n) {
  nlohmann::json e = {{"chunk_index", n}, {"file_path", sid + "/audio/chunk_" + std::to_string(n) + ".webm"}};
  return {{sid, 'a', n}, 1000 + n, 160000 + n, e.dump()};
}

pg_item frame(uint32_t n) {
  nlohmann::json e = {{"frame_index", n}, {"file_path", sid + "/frames/frame_" + std::to_string(n) + ".jpg"}};
  return {{sid, 'f', n}, 2000 + n, 45000 + n, e.dump()};
}

pg_item response(uint32_t q, const std::string& text) {
  nlohmann::json e = {{"question_id", q}, {"question_text", text}};
  return {{sid, 'r', q}, 0, 0, e.dump()};
}

// audio(0) .. audio(n - 1).
std::vector<pg_item> audio_rows(uint32_t n) {
  std::vector<pg_item> out;
  for (uint32_t i = 0; i < n; ++i)
    out.push_back(audio(i));
  return out;
}

std::vector<item_key> keys_of(const std::vector<pg_item>& rows) {
  std::vector<item_key> out;
  for (auto& r : rows)
    out.push_back(r.key);
  return out;
}

struct batcher_fixture : test::pg_fixture, test::coordinator_fixture {
  std::shared_ptr<dbdone_log> done = std::make_shared<dbdone_log>();
  spool_writer_actor spool = spawn(fake_spool, done);
  db_batcher_actor batcher;

  ~batcher_fixture() override {
    shutdown(); // the batcher's connection goes before the schema is dropped
  }

  metrics::counter set_aside;

  void start(const std::string& db_url) {
    batcher = spawn(db_batcher,
                    db_batcher_config{db_url, "/media", 2000, refresh_config{0.25, 2000ms, 30000ms}, 1000ms, &set_aside});
    run();
  }

  /// The node stops and another starts on the same database (the policy's memory is lost).
  void restart(const std::string& db_url) {
    self->send_exit(batcher, caf::exit_reason::user_shutdown);
    run();
    start(db_url);
  }

  void send_rows(std::vector<pg_item> rows) { self->send(batcher, atom::rows::value, std::move(rows), spool); }

  int count(const std::string& where = "true") {
    return scalar<int>("SELECT count(*) FROM media_items WHERE " + where);
  }

  std::string session_column(const std::string& expr) {
    return scalar<std::string>("SELECT (" + expr + ")::text FROM media_sessions WHERE session_id = '" + sid + "'");
  }
};

const std::vector<pg_item> first_rows{audio(0), audio(1), audio(2)};
const std::vector<pg_item> more_rows{frame(0), frame(1), response(5, "Why?")};

} // namespace

TEST_SUITE("actors.db_batcher") {

TEST_CASE_FIXTURE(batcher_fixture, "rows that arrive before one flush are written in one transaction and all confirmed") {
  migrate_store();
  start(url);
  send_rows(first_rows);
  send_rows(more_rows);
  run();
  REQUIRE_MESSAGE(done->answers.size() == 1, "one transaction, one dbdone for the spool writer");
  auto expected = keys_of(first_rows);
  for (auto& k : keys_of(more_rows))
    expected.push_back(k);
  CHECK(done->answers[0] == expected);
  CHECK(count() == 6);
  CHECK_MESSAGE(scalar<int>("SELECT count(DISTINCT xmin::text) FROM media_items") == 1,
                "every row must come from the same transaction");
  CHECK(session_column("storage_path") == "/media/" + sid);
  CHECK_MESSAGE(session_column("jsonb_array_length(audio_chunks)") == "3",
                "a new session's arrays are due at once, in the same transaction");
}

TEST_CASE_FIXTURE(batcher_fixture, "a replay of the same rows adds nothing and is confirmed again") {
  migrate_store();
  start(url);
  send_rows(first_rows);
  run();
  auto xmin = scalar<std::string>("SELECT min(xmin::text) FROM media_items");
  send_rows(first_rows);
  run();
  REQUIRE(done->answers.size() == 2);
  CHECK_MESSAGE(done->answers[1] == keys_of(first_rows), "the spool writer may delete replayed records");
  CHECK(count() == 3);
  CHECK_MESSAGE(scalar<std::string>("SELECT max(xmin::text) FROM media_items") == xmin,
                "a replay must not rewrite the stored rows");
}

TEST_CASE_FIXTURE(batcher_fixture, "finalize writes queued rows and returns totals equal to the array lengths") {
  migrate_store();
  start(url);
  send_rows(first_rows);
  send_rows(more_rows);
  auto totals = ask<end_result>(batcher, atom::finalize::value, sid);
  CHECK(totals.total_chunks == 3);
  CHECK(totals.total_frames == 2);
  CHECK_MESSAGE(done->keys() == 6, "finalize first writes and confirms what was queued");
  CHECK(session_column("status") == "completed");
  CHECK(session_column("completed_at IS NOT NULL") == "true");
  CHECK(session_column("total_chunks") == session_column("jsonb_array_length(audio_chunks)"));
  CHECK(session_column("total_frames") == session_column("jsonb_array_length(video_frames)"));
  CHECK(session_column("jsonb_array_length(responses)") == "1");
  CHECK(session_column("video_frames->1->>'frame_index'") == "1");
}

TEST_CASE_FIXTURE(batcher_fixture, "rows stay queued without dbdone while PostgreSQL is unreachable and finalize fails") {
  start(unreachable_url);
  send_rows(first_rows);
  run();
  CHECK(done->answers.empty());
  CHECK_MESSAGE(sched.has_pending_timeout(), "a retry must be scheduled");
  for (int i = 0; i < 10; ++i)
    advance_time(1s); // several retries, each failing
  CHECK_MESSAGE(done->answers.empty(), "nothing is confirmed that was not written");
  auto reply = request<end_result>(batcher, atom::finalize::value, sid);
  run();
  REQUIRE(reply->error.has_value());
  CHECK(to_ec(*reply->error) == ec::overloaded);
  CHECK(done->answers.empty());
}

TEST_CASE_FIXTURE(batcher_fixture, "rows refused by PostgreSQL are written by a retry once it accepts them") {
  start(url); // the schema has no tables yet: every write fails
  send_rows(first_rows);
  run();
  CHECK(done->answers.empty());
  advance_time(1s);
  CHECK(done->answers.empty());
  migrate_store();
  advance_time(6s); // beyond the longest backoff (5 s)
  REQUIRE_MESSAGE(done->answers.size() == 1, "the kept rows are written once PostgreSQL accepts them");
  CHECK(done->answers[0] == keys_of(first_rows));
  CHECK(count() == 3);
}

TEST_CASE_FIXTURE(batcher_fixture, "an array due by time alone is rebuilt within a tick while other sessions keep rows coming") {
  // A batch looks only at its own sessions' arrays; the tick makes the next batch look at all,
  // so a session that stopped sending is caught up even when the queue is never empty.
  migrate_store();
  start(url);
  send_rows(first_rows); // a new session: its array is built at once (3 elements)
  run();
  REQUIRE(session_column("jsonb_array_length(audio_chunks)") == "3");
  send_rows({audio(3)});  // 1 of 3 is below the fraction: pending
  run();
  CHECK(session_column("jsonb_array_length(audio_chunks)") == "3");
  const std::string other = "3f2b8c1e-0000-4000-8000-00000000000b";
  auto other_row = [&](uint32_t n) {
    return pg_item{{other, 'f', n}, 3000 + n, 45000, nlohmann::json{{"frame_index", n}}.dump()};
  };
  // The idle catch-up is due 30 s after audio(3); the other session writes every second. A tick
  // that finds rows queued leaves its scan to the next batch.
  for (uint32_t i = 0; i < 32; ++i) {
    send_rows({other_row(i)});
    advance_time(1s);
  }
  CHECK_MESSAGE(session_column("jsonb_array_length(audio_chunks)") == "4",
                "the idle session's array is caught up although every batch was the other session's");
  CHECK(count() == 4 + 32);
}

TEST_CASE_FIXTURE(batcher_fixture, "arrays a stopped node left behind their rows are rebuilt by the next one") {
  // Between rebuilds the arrays trail media_items, and which ones trail was only in the memory
  // of the batcher: after a restart a session whose client never came back kept short arrays.
  migrate_store();
  start(url);
  send_rows(first_rows); // a new session: its array is built at once (3 elements)
  run();
  send_rows({audio(3)}); // too soon after the first rebuild: not rebuilt yet
  run();
  REQUIRE(session_column("jsonb_array_length(audio_chunks)") == "3");
  CHECK(session_column("arrays_stale") == "true");
  restart(url); // its idle catch-up never ran
  advance_time(1s); // one tick: the marked session is rebuilt
  CHECK(session_column("jsonb_array_length(audio_chunks)") == "4");
  CHECK(session_column("total_chunks") == "4");
  CHECK(session_column("arrays_stale") == "false");
}

TEST_CASE_FIXTURE(batcher_fixture, "after a restart a long session's arrays are rebuilt by their real length, not from zero") {
  // A new batcher knew nothing of a session's arrays and counted their length from the rows it
  // wrote itself: a session resumed at 1,080 items was rebuilt whole on every few rows (the
  // fraction of a length of 1, 2, 3, ...). The rebuild now reports the length it wrote.
  migrate_store();
  start(url);
  send_rows(audio_rows(100));
  run();
  REQUIRE(session_column("jsonb_array_length(audio_chunks)") == "100");
  restart(url);
  send_rows({audio(100)}); // the first row after a restart: one rebuild, which learns the length
  run();
  REQUIRE(session_column("jsonb_array_length(audio_chunks)") == "101");
  advance_time(3s); // past the minimum interval
  send_rows({audio(101)});
  run();
  CHECK_MESSAGE(session_column("jsonb_array_length(audio_chunks)") == "101",
                "one new row of 101 is below the fraction: no rebuild");
  CHECK(count() == 102);
}

TEST_CASE_FIXTURE(batcher_fixture, "a rebuild that leaves another array behind keeps the session marked") {
  migrate_store();
  start(url);
  send_rows(audio_rows(8)); // built at once
  run();
  send_rows({frame(0)}); // the first frame: that array is built at once, audio has nothing new
  run();
  CHECK(session_column("jsonb_array_length(video_frames)") == "1");
  CHECK(session_column("arrays_stale") == "false");
  send_rows({audio(8)}); // 1 of 8 is below the fraction: pending, the session is marked
  run();
  CHECK(session_column("arrays_stale") == "true");
  advance_time(3s); // past the minimum interval
  send_rows({frame(1), frame(2)}); // frames due, audio still pending
  run();
  CHECK(session_column("jsonb_array_length(video_frames)") == "3");
  CHECK(session_column("jsonb_array_length(audio_chunks)") == "8");
  CHECK_MESSAGE(session_column("arrays_stale") == "true", "the audio array still lacks chunk 8");
  auto totals = ask<end_result>(batcher, atom::finalize::value, sid);
  CHECK(totals.total_chunks == 9);
  CHECK(session_column("arrays_stale") == "false");
}

TEST_CASE_FIXTURE(batcher_fixture, "a row PostgreSQL refuses for its data is set aside and every other row is written") {
  // The batcher retries a failed batch from the head of its queue. A row that can never be
  // stored (here jsonb's U+0000, which the codec now refuses at the door) stopped every later
  // row of the node, for every session, across restarts. Such a row is now found by writing the
  // failed batch row by row, kept out of the queue (its record stays in the spool, unconfirmed,
  // and the error is logged), and the rest goes on.
  migrate_store();
  start(url);
  const std::string other = "3f2b8c1e-0000-4000-8000-00000000000c";
  pg_item bad{{sid, 'r', 9}, 0, 0, R"({"question_id":9,"question_text":"a\u0000b"})"};
  std::vector<pg_item> rows{audio(0), bad, pg_item{{other, 'f', 0}, 7, 45000, nlohmann::json{{"frame_index", 0}}.dump()},
                            audio(1)};
  send_rows(rows);
  run();
  for (int i = 0; i < 5; ++i)
    advance_time(1s); // retries, if any
  CHECK(count() == 3);
  std::set<std::string> confirmed;
  for (auto& a : done->answers)
    for (auto& k : a)
      confirmed.insert(k.session_id + "/" + k.kind + std::to_string(k.index));
  CHECK(confirmed == std::set<std::string>{sid + "/a0", sid + "/a1", other + "/f0"});
  CHECK(set_aside.value() == 1); // operators see it in /metrics, not only in the log
  // Later rows are not held up either.
  send_rows({audio(2)});
  run();
  CHECK(count() == 4);
}

} // TEST_SUITE
