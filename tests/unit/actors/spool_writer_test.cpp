// The spool writer on the test coordinator with a real RocksDB spool in a temp folder. The file
// writers, the DB batcher and the session are stand-ins that record what they are told; the test
// answers `filedone` and `dbdone` itself, in the orders it wants to check.
#include "actors/spool_writer.hpp"
#include "storage/payload_log.hpp"
#include "support/coordinator_fixture.hpp"
#include "support/payload_tracker.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace mediaspool;
using namespace std::chrono_literals;
using storage::item_key;

namespace {

const std::string sid = "0f8fad5b-d9cb-469f-a165-70867728950e";
const std::string other_sid = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

// -- stand-ins (called in the test thread only, so the records need no lock) ----------------

struct files_log {
  struct entry {
    file_job job;
    spool_writer_actor reply_to;
  };
  std::vector<entry> jobs;
  size_t messages = 0; ///< store messages received, all writers
};

file_writer_actor::behavior_type fake_file_writer(file_writer_actor::pointer, std::shared_ptr<files_log> log) {
  return {
    [=](atom::store, const std::vector<file_job>& jobs, const spool_writer_actor& reply_to) {
      log->messages++;
      for (auto& job : jobs)
        log->jobs.push_back({job, reply_to});
    },
    [=](atom::flush) {},
  };
}

struct batcher_log {
  std::vector<std::vector<storage::pg_item>> rows;
  std::vector<std::string> finalizes;
  std::optional<ec> failure;
  end_result totals{2, 0};
};

db_batcher_actor::behavior_type fake_batcher(db_batcher_actor::pointer, std::shared_ptr<batcher_log> log) {
  return {
    [=](atom::rows, std::vector<storage::pg_item>& rows, spool_writer_actor&) { log->rows.push_back(rows); },
    [=](atom::finalize, std::string& s) -> caf::result<end_result> {
      log->finalizes.push_back(s);
      if (log->failure)
        return make_error(*log->failure);
      return log->totals;
    },
    [=](atom::flush) {},
    [=](atom::tick) {},
    [=](atom::asrdone, std::vector<storage::pg_transcript>&, caf::actor&) {},
  };
}

struct session_log {
  std::vector<item_key> durable;
  size_t durable_messages = 0;
  std::vector<item_key> failed;
};

caf::behavior fake_session(caf::event_based_actor*, std::shared_ptr<session_log> log) {
  return {
    [=](atom::durable, std::vector<item_key>& keys) {
      log->durable_messages++;
      log->durable.insert(log->durable.end(), keys.begin(), keys.end());
    },
    [=](atom::spoolfail, item_key& k, caf::error&) { log->failed.push_back(k); },
  };
}

// -- items ----------------------------------------------------------------------------------

std::string payload_of(uint32_t index, size_t size) {
  std::string p(size, '\0'); // every byte value, zeros included
  for (size_t i = 0; i < size; ++i)
    p[i] = static_cast<char>((i * 131 + index) & 0xff);
  return p;
}

std::unique_ptr<storage::spool> open_spool(const test::temp_dir& dir) {
  storage::status st;
  auto sp = storage::spool::open(storage::spool_options{(dir / "spool").string(), 4u << 20}, st);
  REQUIRE_MESSAGE(st.ok(), st.message);
  REQUIRE(sp != nullptr);
  return sp;
}

struct spool_writer_fixture : test::coordinator_fixture {
  test::temp_dir dir;
  std::shared_ptr<storage::spool> spool{open_spool(dir)};
  std::shared_ptr<files_log> files = std::make_shared<files_log>();
  std::shared_ptr<batcher_log> db = std::make_shared<batcher_log>();
  std::shared_ptr<session_log> sessions = std::make_shared<session_log>();
  caf::actor sess;
  spool_writer_actor writer;
  test::payload_tracker payloads;

  spool_writer_fixture() { sess = spawn(fake_session, sessions); }

  ~spool_writer_fixture() override {
    shutdown(); // the writer holds the spool: close it before the folder goes
    spool.reset();
  }

  // Two file writers, as in production, so jobs are spread by key.
  void start_writer(uint64_t file_memory = uint64_t{256} << 20) {
    std::vector<file_writer_actor> writers{spawn(fake_file_writer, files), spawn(fake_file_writer, files)};
    writer = spawn(spool_writer, spool, writers, spawn(fake_batcher, db), std::shared_ptr<server_metrics>{},
                   std::shared_ptr<storage_health>{}, file_memory);
    run();
  }

  spool_item item(char kind, uint32_t index, size_t size = 1000, const std::string& id = sid) {
    auto p = payload_of(index, size);
    spool_item it;
    it.key = item_key{id, kind, index};
    it.hash = kind == 'r' ? 1000 + index : storage::payload_checksum(p.data(), p.size());
    if (kind != 'r')
      it.file_name = (kind == 'a' ? "chunk_" : "frame_") + std::to_string(index) + (kind == 'a' ? ".webm" : ".jpg");
    it.element = "{\"index\":" + std::to_string(index) + "}";
    if (kind != 'r')
      it.payload = payloads.make(p);
    it.session = sess;
    return it;
  }

  void append(spool_item it) { self->send(writer, atom::append::value, std::move(it)); }

  spool_stats stats() { return ask<spool_stats>(writer, atom::stats::value); }

  // The keys the spool holds for a session, read from RocksDB.
  std::vector<std::pair<char, uint32_t>> held(const std::string& id = sid) {
    storage::status st;
    auto items = spool->held(id, st);
    REQUIRE_MESSAGE(st.ok(), st.message);
    std::vector<std::pair<char, uint32_t>> out;
    for (auto& h : items)
      out.emplace_back(h.kind, h.index);
    std::sort(out.begin(), out.end());
    return out;
  }

  const files_log::entry* job_for(const item_key& k) {
    for (auto it = files->jobs.rbegin(); it != files->jobs.rend(); ++it)
      if (it->job.key == k)
        return &*it;
    return nullptr;
  }

  void filedone(const item_key& k, bool ok) {
    auto j = job_for(k);
    REQUIRE_MESSAGE(j != nullptr, "no file job was sent for " << k.kind << k.index);
    files_done done;
    (ok ? done.written : done.failed).push_back(k);
    self->send(j->reply_to, atom::filedone::value, std::move(done));
    run();
  }

  // The stand-in file writers keep the jobs they were sent; the real one drops a job's payload
  // once its batch is written. This is that moment, for every job so far.
  void file_writers_let_go() {
    for (auto& e : files->jobs)
      e.job.payload = {};
  }

  void dbdone(std::vector<item_key> keys) {
    self->send(writer, atom::dbdone::value, std::move(keys));
    run();
  }

  void settle(const item_key& k) {
    if (k.kind != 'r')
      filedone(k, true);
    dbdone({k});
  }
};

} // namespace

TEST_SUITE("actors.spool_writer") {

TEST_CASE_FIXTURE(spool_writer_fixture, "appends that arrive before one flush share one group commit") {
  start_writer();
  for (uint32_t i = 0; i < 8; ++i)
    append(item('a', i));
  run();
  auto s = stats();
  CHECK_MESSAGE(s.commits == 1, "8 appends queued before the flush must share ONE fsync");
  CHECK(s.items == 8);
  CHECK(s.records == 8);
  CHECK(s.pending == 8);
  CHECK(sessions->durable.size() == 8);
  REQUIRE_MESSAGE(db->rows.size() == 1, "one commit gives the batcher one rows message");
  CHECK(db->rows[0].size() == 8);
  CHECK(files->jobs.size() == 8);
  CHECK_MESSAGE(files->messages <= 2, "one commit gives each of the 2 file writers at most ONE store message, got "
                                        << files->messages);

  for (uint32_t i = 8; i < 11; ++i)
    append(item('f', i));
  run();
  s = stats();
  CHECK(s.commits == 2);
  CHECK(s.items == 11);
  CHECK(held().size() == 11);
}

TEST_CASE_FIXTURE(spool_writer_fixture, "sessions hear durable only after the commit") {
  start_writer();
  for (uint32_t i = 0; i < 3; ++i)
    append(item('a', i));
  // One message per step: the three appends are taken, the flush behind them is not yet run.
  for (int i = 0; i < 3; ++i)
    sched.run_once();
  CHECK_MESSAGE(sessions->durable.empty(), "no session may hear durable before the fsync");
  CHECK(spool->record_count() == 0);
  run();
  CHECK(spool->record_count() == 3);
  REQUIRE(sessions->durable.size() == 3);
  CHECK(sessions->durable[0] == item_key{sid, 'a', 0});
  CHECK(sessions->durable[2] == item_key{sid, 'a', 2});
  CHECK(sessions->failed.empty());
}

// Each message wakes a session, whose acks then leave in one post to its connection.
TEST_CASE_FIXTURE(spool_writer_fixture, "each session hears durable once per commit, for all its items in order") {
  start_writer();
  auto other_log = std::make_shared<session_log>();
  auto other = spawn(fake_session, other_log);
  for (uint32_t i = 0; i < 4; ++i) {
    append(item('a', i));
    auto it = item('f', i, 500, other_sid);
    it.session = other;
    append(std::move(it));
  }
  run();
  REQUIRE(stats().commits == 1);
  CHECK(sessions->durable_messages == 1);
  CHECK(other_log->durable_messages == 1);
  const std::vector<item_key> mine{{sid, 'a', 0}, {sid, 'a', 1}, {sid, 'a', 2}, {sid, 'a', 3}};
  const std::vector<item_key> theirs{{other_sid, 'f', 0}, {other_sid, 'f', 1}, {other_sid, 'f', 2}, {other_sid, 'f', 3}};
  CHECK(sessions->durable == mine);
  CHECK(other_log->durable == theirs);
}

TEST_CASE_FIXTURE(spool_writer_fixture, "a durable item is handed to one file writer and to the batcher with its bytes") {
  start_writer();
  append(item('a', 5, 3000));
  append(item('r', 7));
  run();
  REQUIRE_MESSAGE(files->jobs.size() == 1, "a response has no file");
  auto& job = files->jobs[0].job;
  CHECK(job.key == item_key{sid, 'a', 5});
  CHECK(job.file_name == "chunk_5.webm");
  CHECK(std::string(job.payload.data(), job.payload.size()) == payload_of(5, 3000));
  REQUIRE(db->rows.size() == 1);
  REQUIRE(db->rows[0].size() == 2);
  auto& row = db->rows[0][0];
  CHECK(row.key == item_key{sid, 'a', 5});
  CHECK(row.hash == storage::payload_checksum(payload_of(5, 3000).data(), 3000));
  CHECK(row.size == 3000);
  CHECK(row.element == "{\"index\":5}");
  CHECK(db->rows[0][1].key == item_key{sid, 'r', 7});
}

TEST_CASE_FIXTURE(spool_writer_fixture, "a record leaves the spool only when both its file and its row are done") {
  start_writer();
  append(item('a', 0));
  append(item('a', 1));
  append(item('r', 7));
  run();
  REQUIRE(held().size() == 3);

  filedone({sid, 'a', 0}, true);
  CHECK_MESSAGE(held().size() == 3, "the file alone does not release the record");
  dbdone({{sid, 'a', 0}});
  CHECK(held() == std::vector<std::pair<char, uint32_t>>{{'a', 1}, {'r', 7}});

  dbdone({{sid, 'a', 1}});
  CHECK_MESSAGE(held().size() == 2, "the row alone does not release the record");
  filedone({sid, 'a', 1}, true);
  CHECK(held() == std::vector<std::pair<char, uint32_t>>{{'r', 7}});

  dbdone({{sid, 'r', 7}});
  CHECK_MESSAGE(held().empty(), "a response needs its row only");
  auto s = stats();
  CHECK(s.pending == 0);
  CHECK(s.records == 0);
}


TEST_CASE_FIXTURE(spool_writer_fixture, "a response replaced before its row is written leaves the spool only with the newer copy's row") {
  // Two copies of one response (the newest wins): each is a row for the batcher, and the older
  // copy's row must not release the record that now holds the newer one.
  start_writer();
  auto first = item('r', 7);
  auto second = item('r', 7);
  second.element = "{\"question_id\":7,\"question_text\":\"newer\"}";
  second.hash = 4242;
  append(first);
  run();
  append(second);
  run();
  REQUIRE(held().size() == 1);
  dbdone({{sid, 'r', 7}}); // the first copy's row
  CHECK_MESSAGE(held().size() == 1, "the newer copy's row is not written yet: its record stays");
  dbdone({{sid, 'r', 7}});
  CHECK(held().empty());
}

TEST_CASE_FIXTURE(spool_writer_fixture, "records settled while the writer was busy leave the spool in one delete batch") {
  start_writer();
  for (uint32_t i = 0; i < 8; ++i)
    append(item('a', i));
  run();
  dbdone({{sid, 'a', 0}, {sid, 'a', 1}, {sid, 'a', 2}, {sid, 'a', 3}, {sid, 'a', 4}, {sid, 'a', 5}, {sid, 'a', 6},
          {sid, 'a', 7}});
  REQUIRE(stats().delete_batches == 0);
  // Eight file writers' answers queued at once, as they arrive while a commit's fsync runs.
  for (uint32_t i = 0; i < 8; ++i) {
    auto j = job_for({sid, 'a', i});
    REQUIRE(j != nullptr);
    self->send(j->reply_to, atom::filedone::value, files_done{{item_key{sid, 'a', i}}, {}});
  }
  run();
  auto s = stats();
  CHECK(s.records == 0);
  CHECK(s.pending == 0);
  CHECK_MESSAGE(s.delete_batches == 1, "8 records settled in one mailbox round must share ONE RocksDB delete write, got "
                                         << s.delete_batches);
}
TEST_CASE_FIXTURE(spool_writer_fixture, "a failed file write is sent again after one second") {
  start_writer();
  append(item('f', 3, 2000));
  run();
  item_key k{sid, 'f', 3};
  REQUIRE(files->jobs.size() == 1);
  filedone(k, false);
  dbdone({k});
  CHECK_MESSAGE(held().size() == 1, "a record whose file failed stays in the spool");
  advance_time(999ms);
  CHECK_MESSAGE(files->jobs.size() == 1, "no retry before the second is over");
  advance_time(1ms);
  REQUIRE(files->jobs.size() == 2);
  CHECK(files->jobs[1].job.key == k);
  CHECK(files->jobs[1].job.file_name == "frame_3.jpg");
  CHECK(std::string(files->jobs[1].job.payload.data(), files->jobs[1].job.payload.size()) == payload_of(3, 2000));
  filedone(k, false); // fails again: one more retry, one more second
  advance_time(1s);
  REQUIRE(files->jobs.size() == 3);
  filedone(k, true);
  CHECK(held().empty());
}

TEST_CASE_FIXTURE(spool_writer_fixture, "one filedone answers many files, written and failed, and the failed are retried in one message per writer") {
  start_writer();
  for (uint32_t i = 0; i < 6; ++i)
    append(item('a', i, 100 + i));
  run();
  REQUIRE(files->jobs.size() == 6);
  dbdone({{sid, 'a', 0}, {sid, 'a', 1}, {sid, 'a', 2}, {sid, 'a', 3}, {sid, 'a', 4}, {sid, 'a', 5}});
  // As a file writer would answer a batch of six: four written, two failed, in one message.
  auto reply_to = files->jobs[0].reply_to;
  self->send(reply_to, atom::filedone::value,
             files_done{{{sid, 'a', 0}, {sid, 'a', 2}, {sid, 'a', 3}, {sid, 'a', 5}}, {{sid, 'a', 1}, {sid, 'a', 4}}});
  run();
  const std::vector<std::pair<char, uint32_t>> failed_only{{'a', 1}, {'a', 4}};
  CHECK_MESSAGE(held() == failed_only, "every written key of the one answer settles; the failed stay in the spool");
  auto before = files->messages;
  advance_time(1s);
  REQUIRE(files->jobs.size() == 8);
  CHECK_MESSAGE(files->messages - before <= 2, "the retry round sends each writer one message, got "
                                                 << files->messages - before);
  std::set<uint32_t> retried{files->jobs[6].job.key.index, files->jobs[7].job.key.index};
  CHECK(retried == std::set<uint32_t>{1, 4});
  filedone({sid, 'a', 1}, true);
  filedone({sid, 'a', 4}, true);
  CHECK(held().empty());
}

// Two jobs for one key can be in flight (a rewrite while the first is queued); if the first is
// written and the second fails, the file on disk is good and the payload is already let go: a
// retry would write an empty file over it.
TEST_CASE_FIXTURE(spool_writer_fixture, "a failed answer for a file already written is not retried") {
  start_writer();
  append(item('f', 3, 2000));
  run();
  item_key k{sid, 'f', 3};
  filedone(k, true);
  filedone(k, false);
  advance_time(1s);
  CHECK_MESSAGE(files->jobs.size() == 1, "no retry of a file already written");
  dbdone({k});
  CHECK(held().empty());
}

// Both jobs in flight for one key fail: the retry writes the file once, not once per failure
// (on a disk that keeps failing, each round would double the work).
TEST_CASE_FIXTURE(spool_writer_fixture, "two failures of one key are retried as one job") {
  start_writer();
  append(item('f', 3, 2000));
  run();
  item_key k{sid, 'f', 3};
  filedone(k, false);
  filedone(k, false);
  advance_time(1s);
  CHECK_MESSAGE(files->jobs.size() == 2, "one first job and one retry, got " << files->jobs.size());
}

// The same, the other way round: the failure comes first and a retry is due when the other job's
// file is written.
TEST_CASE_FIXTURE(spool_writer_fixture, "a retry due for a file written meanwhile is dropped") {
  start_writer();
  append(item('f', 3, 2000));
  run();
  item_key k{sid, 'f', 3};
  filedone(k, false);
  filedone(k, true);
  advance_time(1s);
  CHECK_MESSAGE(files->jobs.size() == 1, "no retry of a file written before the retry fired");
  dbdone({k});
  CHECK(held().empty());
}

// And both in one answer: one file writer's batch held both jobs.
TEST_CASE_FIXTURE(spool_writer_fixture, "one answer with a key both written and failed does not retry it") {
  start_writer();
  append(item('f', 3, 2000));
  run();
  item_key k{sid, 'f', 3};
  auto j = job_for(k);
  REQUIRE(j != nullptr);
  self->send(j->reply_to, atom::filedone::value, files_done{{k}, {k}});
  run();
  advance_time(1s);
  CHECK_MESSAGE(files->jobs.size() == 1, "no retry of a file the same batch wrote");
}

TEST_CASE_FIXTURE(spool_writer_fixture, "the spool writer keeps a payload until its file is written and then lets go") {
  start_writer();
  append(item('a', 5, 3000));
  append(item('f', 6, 2000));
  run();
  REQUIRE(files->jobs.size() == 2);
  file_writers_let_go();
  CHECK_MESSAGE(payloads.alive_bytes() == 5000, "before filedone the spool writer keeps the bytes for a retry");
  item_key a5{sid, 'a', 5};
  item_key f6{sid, 'f', 6};
  filedone(a5, true);
  CHECK_MESSAGE(payloads.alive_bytes() == 2000, "after filedone(ok) the file's bytes are freed");
  CHECK_MESSAGE(held().size() == 2, "the record itself stays until its row exists too");
  dbdone({f6});
  CHECK_MESSAGE(payloads.alive_bytes() == 2000, "a row alone does not free the bytes of a file not yet written");
  filedone(f6, true);
  CHECK(payloads.alive_bytes() == 0);
  dbdone({a5});
  CHECK(held().empty());
}

TEST_CASE_FIXTURE(spool_writer_fixture, "a failed file write keeps the payload for the retry") {
  start_writer();
  append(item('f', 3, 2000));
  run();
  item_key k{sid, 'f', 3};
  REQUIRE(files->jobs.size() == 1);
  file_writers_let_go();
  filedone(k, false);
  dbdone({k});
  CHECK_MESSAGE(payloads.alive_bytes() == 2000, "a failed file's bytes must stay for the retry");
  advance_time(1s);
  REQUIRE(files->jobs.size() == 2);
  auto& retry = files->jobs[1].job;
  CHECK(std::string(retry.payload.data(), retry.payload.size()) == payload_of(3, 2000));
  CHECK_MESSAGE(payloads.made_bytes() == 2000, "the retry sends the same buffer, no copy");
  file_writers_let_go();
  CHECK(payloads.alive_bytes() == 2000);
  filedone(k, true);
  CHECK(payloads.alive_bytes() == 0);
  CHECK(held().empty());
}

// Bytes kept for files not yet written are credit their connections do not have: past
// media.queue-memory a job leaves its bytes in the spool, so reads go on behind a file backlog.
TEST_CASE_FIXTURE(spool_writer_fixture, "past the file memory a job leaves its bytes in the spool and memory is let go at the commit") {
  start_writer(2500);
  append(item('a', 0, 1000));
  append(item('a', 1, 1000));
  append(item('a', 2, 1000)); // 3000 > 2500: this one is read back by the file writer
  run();
  REQUIRE(files->jobs.size() == 3);
  auto* a2 = job_for({sid, 'a', 2});
  REQUIRE(a2 != nullptr);
  CHECK(a2->job.from_spool);
  CHECK(a2->job.payload.size() == 0);
  CHECK_MESSAGE(a2->job.spooled_size == 1000, "the file writer bounds its batches by this size");
  for (uint32_t i = 0; i < 2; ++i) {
    CAPTURE(i);
    auto* j = job_for({sid, 'a', i});
    REQUIRE(j != nullptr);
    CHECK_FALSE(j->job.from_spool);
    CHECK(j->job.payload.size() == 1000);
  }
  file_writers_let_go();
  CHECK_MESSAGE(payloads.alive_bytes() == 2000, "the third item's bytes are only in the spool once it is durable");
  std::string stored;
  auto st = spool->read_payload({sid, 'a', 2}, stored);
  REQUIRE_MESSAGE(st.ok(), st.message);
  CHECK(stored == payload_of(2, 1000));
  CHECK(stats().files_from_spool == 1);

  // A written file gives its room back: the next item keeps its bytes again.
  filedone({sid, 'a', 0}, true);
  append(item('a', 3, 1000));
  run();
  auto* a3 = job_for({sid, 'a', 3});
  REQUIRE(a3 != nullptr);
  CHECK_FALSE(a3->job.from_spool);
  CHECK(a3->job.payload.size() == 1000);

  // A failed read-back is retried like any failed file, still from the spool.
  filedone({sid, 'a', 2}, false);
  advance_time(1s);
  auto* retry = job_for({sid, 'a', 2});
  REQUIRE(retry != nullptr);
  CHECK(retry->job.from_spool);
  filedone({sid, 'a', 2}, true);
  dbdone({{sid, 'a', 0}, {sid, 'a', 1}, {sid, 'a', 2}, {sid, 'a', 3}});
  filedone({sid, 'a', 1}, true);
  filedone({sid, 'a', 3}, true);
  CHECK(held().empty());
  file_writers_let_go();
  CHECK(payloads.alive_bytes() == 0);
}

TEST_CASE_FIXTURE(spool_writer_fixture, "end answers once the items of that session settle by asking the batcher to finalize") {
  start_writer();
  append(item('a', 0));
  append(item('a', 1));
  append(item('a', 0, 1000, other_sid));
  run();
  auto reply = request<end_result>(writer, atom::end::value, sid);
  run();
  CHECK_FALSE_MESSAGE(reply->answered(), "two items of the session are not yet files and rows");
  CHECK(db->finalizes.empty());
  settle({sid, 'a', 0});
  CHECK_FALSE(reply->answered());
  settle({sid, 'a', 1});
  CHECK_MESSAGE(db->finalizes == std::vector<std::string>{sid},
                "the other session's pending item must not hold this end back");
  REQUIRE(reply->value.has_value());
  CHECK(reply->value->total_chunks == 2);
  CHECK(reply->value->total_frames == 0);
}

TEST_CASE_FIXTURE(spool_writer_fixture, "end of an idle session finalizes at once and passes a batcher error on") {
  start_writer();
  auto r = ask<end_result>(writer, atom::end::value, sid);
  CHECK(r.total_chunks == 2);
  db->failure = ec::overloaded;
  auto reply = request<end_result>(writer, atom::end::value, sid);
  run();
  REQUIRE(reply->error.has_value());
  CHECK(to_ec(*reply->error) == ec::overloaded);
  CHECK(db->finalizes.size() == 2);
}

TEST_CASE_FIXTURE(spool_writer_fixture, "recover re-drives the records found in the spool at start") {
  // Records left by a previous run: written directly, then the spool is closed and reopened.
  spool.reset();
  {
    auto sp = open_spool(dir);
    std::vector<std::string> bodies{payload_of(0, 500), payload_of(1, 700)};
    std::vector<storage::spool_entry> entries{
      {{sid, 'a', 0}, storage::payload_checksum(bodies[0].data(), bodies[0].size()), "chunk_0.webm", "{\"index\":0}",
       bodies[0].data(), bodies[0].size()},
      {{sid, 'f', 1}, storage::payload_checksum(bodies[1].data(), bodies[1].size()), "frame_1.jpg", "{\"index\":1}",
       bodies[1].data(), bodies[1].size()},
      {{sid, 'r', 2}, 0, "", "{\"question_id\":2}", nullptr, 0},
    };
    REQUIRE(sp->write_durable(entries).ok());
  }
  spool = open_spool(dir);
  REQUIRE(spool->record_count() == 3);
  start_writer();

  CHECK(ask<uint64_t>(writer, atom::recover::value) == 3);
  CHECK_MESSAGE(sessions->durable.empty(), "recovered items have no session to tell");
  REQUIRE(files->jobs.size() == 2);
  auto a0 = job_for({sid, 'a', 0});
  REQUIRE(a0 != nullptr);
  CHECK(a0->job.file_name == "chunk_0.webm");
  CHECK(std::string(a0->job.payload.data(), a0->job.payload.size()) == payload_of(0, 500));
  REQUIRE(db->rows.size() == 1);
  REQUIRE(db->rows[0].size() == 3);
  CHECK(db->rows[0][0].hash == storage::payload_checksum(payload_of(0, 500).data(), 500));
  CHECK(db->rows[0][1].size == 700);
  CHECK(db->rows[0][2].element == "{\"question_id\":2}");
  auto s = stats();
  CHECK(s.recovered == 3);
  CHECK(s.pending == 3);
  CHECK_MESSAGE(s.commits == 0, "recovery re-drives without writing the records again");

  settle({sid, 'a', 0});
  settle({sid, 'f', 1});
  settle({sid, 'r', 2});
  CHECK(spool->record_count() == 0);
}

} // TEST_SUITE
