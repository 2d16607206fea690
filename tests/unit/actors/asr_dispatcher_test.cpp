// The transcription dispatcher on the test coordinator against the real PostgreSQL work list
// (one schema per test case). Its time is the coordinator's clock, so retry backoff and give-up
// are stepped through exactly. The worker and the batcher are stand-ins that record what they
// are handed: the work list, the claims and the rows are the real ones.
#include "actors/asr_dispatcher.hpp"
#include "support/coordinator_fixture.hpp"
#include "support/pg_fixture.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace mediaspool;
using namespace std::chrono_literals;

namespace {

const std::string sid = "7c1d2e3f-0000-4000-8000-0000000000a5";

struct handed_out {
  int jobs = 0;                                   ///< asr_jobs the worker got
  std::vector<storage::pg_transcript> results;    ///< what reached the batcher
};

// A worker for which the chunk's file is never there: every job comes back "retry".
caf::behavior never_ready_worker(caf::event_based_actor*, std::shared_ptr<handed_out> log) {
  return {
    [=](atom::asrjob, asr_job& j) -> asr_result {
      ++log->jobs;
      asr_result r;
      r.session_id = j.session_id;
      r.index = j.index;
      r.retry = true;
      r.reason = "file not there yet";
      return r;
    },
  };
}

db_batcher_actor::behavior_type recording_batcher(db_batcher_actor::pointer, std::shared_ptr<handed_out> log) {
  return {
    [=](atom::rows, std::vector<storage::pg_item>&, spool_writer_actor&) {},
    [=](atom::finalize, std::string&) -> end_result { return {}; },
    [=](atom::flush) {},
    [=](atom::tick) {},
    [=](atom::asrdone, std::vector<storage::pg_transcript>& out, caf::actor&) {
      log->results.insert(log->results.end(), out.begin(), out.end());
    },
  };
}

caf::behavior silent_registry(caf::event_based_actor*) {
  return {[](atom::asrpush, transcription&) {}};
}

struct dispatcher_fixture : test::pg_fixture, test::coordinator_fixture {
  std::shared_ptr<handed_out> log = std::make_shared<handed_out>();
  std::shared_ptr<server_metrics> metrics = std::make_shared<server_metrics>(std::make_shared<metrics::registry>());
  caf::actor dispatcher;

  ~dispatcher_fixture() override {
    shutdown(); // the dispatcher's connection goes before the schema is dropped
  }

  // One unprocessed audio chunk (chunk 0 of `sid`) in a migrated schema.
  void one_chunk() {
    migrate_store();
    add_chunk(0);
  }

  void add_chunk(uint32_t index) {
    storage::pg_store store{url};
    nlohmann::json e = {{"chunk_index", index}, {"file_path", sid + "/audio/chunk_" + std::to_string(index) + ".webm"}};
    auto st = store.write_batch({{sid, 1, 1, "/media/" + sid, std::nullopt}},
                                {{{sid, 'a', index}, 1234 + index, 160000, e.dump()}}, {});
    REQUIRE_MESSAGE(st.ok(), "write_batch failed: " << st.message);
  }

  void start(std::chrono::milliseconds give_up, size_t batch = 4) {
    asr_dispatcher_config c;
    c.db_url = url;
    c.media_root = "/media";
    c.batch = batch;
    c.poll = 1000ms;
    c.give_up = give_up;
    c.node_id = "node-a";
    c.metrics = metrics;
    dispatcher = spawn(asr_dispatcher, c, std::vector<caf::actor>{spawn(never_ready_worker, log)},
                       spawn(recording_batcher, log), spawn(silent_registry));
    run(); // the first tick: fetch, hand out, the worker answers "retry"
  }

  asr_stats stats() { return ask<asr_stats>(dispatcher, atom::stats::value); }
};

} // namespace

TEST_SUITE("actors.asr_dispatcher") {

TEST_CASE_FIXTURE(dispatcher_fixture, "a chunk waiting to retry that another node transcribed is forgotten") {
  one_chunk();
  start(10min);
  REQUIRE(log->jobs == 1);
  REQUIRE(stats().waiting == 1);
  CHECK(metrics->transcription_retrying.value() == 1);
  // Another node writes the transcript meanwhile (as when it took the chunk over after our claim
  // ran out; leases run on PostgreSQL's clock, so here it simply writes).
  storage::pg_store other{url};
  auto st = other.write_transcripts({{sid, 0, R"({"transcription":"hello","processed":true})"}});
  REQUIRE(st.ok());
  advance_time(1000ms); // the retry is due: the work list no longer offers the chunk
  CHECK(log->jobs == 1);
  CHECK_MESSAGE(stats().waiting == 0, "the retry entry of a chunk done elsewhere stayed");
  CHECK(metrics->transcription_retrying.value() == 0);
}

TEST_CASE_FIXTURE(dispatcher_fixture, "a chunk waiting to retry that another node holds a live claim on is forgotten") {
  one_chunk();
  start(10min);
  REQUIRE(stats().waiting == 1);
  query("UPDATE asr_claims SET node_id = 'node-b', until = now() + interval '1 hour'");
  advance_time(1000ms);
  CHECK(log->jobs == 1);
  CHECK(stats().waiting == 0);
}

TEST_CASE_FIXTURE(dispatcher_fixture, "a due chunk past the batch limit keeps its retry clock") {
  // batch 1: chunk 0 fails at 0 s (retries at 1 s, 3 s); then an older chunk 1 appears, so at
  // 1 s the first fetch takes chunk 1 only and chunk 0, due but past the limit, is not offered.
  // It must not be taken for done elsewhere: its give-up clock (2.5 s) runs from 0 s, so it is
  // given up at 3 s; forgetting it at 1 s would restart the clock and keep it going.
  one_chunk();
  start(2500ms, 1);
  REQUIRE(log->jobs == 1);
  add_chunk(1);
  query("UPDATE media_items SET created_at = now() - interval '1 hour' WHERE idx = 1");
  advance_time(1000ms);
  CHECK(log->jobs == 3);
  CHECK(stats().waiting == 2);
  advance_time(1000ms);
  advance_time(1000ms);
  REQUIRE(log->results.size() == 1);
  CHECK(log->results[0].index == 0);
}

TEST_CASE_FIXTURE(dispatcher_fixture, "a chunk that keeps failing is retried with backoff and given up on time") {
  one_chunk();
  start(5s);
  REQUIRE(log->jobs == 1);
  // Backoff 1 s, 2 s, 4 s: jobs at 0, 1, 3 and 7 s; at 7 s it has been retried for more than 5 s.
  for (int s = 1; s <= 6; ++s)
    advance_time(1000ms);
  CHECK(log->jobs == 3);
  CHECK(stats().waiting == 1);
  CHECK(log->results.empty());
  advance_time(1000ms);
  CHECK(log->jobs == 4);
  REQUIRE(log->results.size() == 1);
  auto patch = nlohmann::json::parse(log->results[0].patch);
  CHECK(patch["processed"] == true);
  CHECK(patch["transcription_error"] == "file not there yet");
  CHECK(stats().waiting == 0);
}

} // TEST_SUITE
