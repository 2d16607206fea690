// pg_store against a real PostgreSQL: one fresh schema per test case (support/pg_fixture.hpp).
#include "storage/pg_store.hpp"
#include "support/pg_fixture.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace mediaspool::storage;
using mediaspool::test::pg_fixture;

namespace {

const std::string sid_a = "3f2b8c1e-0000-4000-8000-00000000000a";
const std::string sid_b = "3f2b8c1e-0000-4000-8000-00000000000b";

pg_session session(const std::string& sid) {
  return {sid, 42, 1, sid, std::nullopt};
}

pg_item audio(const std::string& sid, uint32_t n, uint64_t hash = 1000) {
  nlohmann::json e = {{"chunk_index", n},
                      {"file_path", sid + "/audio/chunk_" + std::to_string(n) + ".webm"},
                      {"file_size", 160000 + n},
                      {"mime_type", "audio/webm"},
                      {"duration_ms", 9990},
                      {"transcription", nullptr},
                      {"processed", false}};
  return {{sid, 'a', n}, hash + n, 160000 + n, e.dump()};
}

pg_item frame(const std::string& sid, uint32_t n, uint64_t hash = 2000) {
  nlohmann::json e = {{"frame_index", n},
                      {"file_path", sid + "/frames/frame_" + std::to_string(n) + ".jpg"},
                      {"file_size", 45000 + n},
                      {"mime_type", "image/jpeg"},
                      {"chunk_index", n / 5},
                      {"offset_ms", (n % 5) * 2000}};
  return {{sid, 'f', n}, hash + n, 45000 + n, e.dump()};
}

pg_item response(const std::string& sid, uint32_t question, const std::string& text) {
  nlohmann::json e = {{"question_id", question}, {"question_text", text}};
  return {{sid, 'r', question}, 0, 0, e.dump()};
}

pg_refresh refresh_all(const std::string& sid) {
  return {sid, true, true, true};
}

// A quoted SQL literal for the fixed test session ids (UUIDs: nothing to escape).
std::string lit(const std::string& s) {
  return "'" + s + "'";
}

// The "<field>" of each element of `column`, in array order, joined by ','.
std::string indexes(const pg_fixture& fx, const std::string& column, const std::string& field,
                    const std::string& sid = sid_a) {
  return fx.scalar<std::string>("SELECT COALESCE(string_agg(e->>'" + field + "', ',' ORDER BY o), '') "
                                "FROM media_sessions, jsonb_array_elements(" + column
                                + ") WITH ORDINALITY AS t(e, o) WHERE session_id = " + lit(sid));
}

void migrate_ok(pg_store& store) {
  auto st = store.migrate();
  REQUIRE_MESSAGE(st.ok(), "migrate failed: " << st.message);
}

} // namespace

TEST_SUITE("storage.pg_store") {

TEST_CASE_FIXTURE(pg_fixture, "migrate run twice succeeds and keeps the data") {
  pg_store store{url};
  migrate_ok(store);
  REQUIRE(store.write_batch({session(sid_a)}, {audio(sid_a, 0)}, {refresh_all(sid_a)}).ok());
  migrate_ok(store);
  CHECK_MESSAGE(scalar<int>("SELECT count(*) FROM media_items") == 1, "the item survives");
  CHECK_MESSAGE(indexes(*this, "audio_chunks", "chunk_index") == "0", "the array survives");
}

TEST_CASE_FIXTURE(pg_fixture, "the rebuilt arrays are compressed with lz4, also in a table made by the original design") {
  query("CREATE TABLE media_sessions (id SERIAL PRIMARY KEY, session_id VARCHAR(36) UNIQUE NOT NULL, "
        "interview_session_id INTEGER, user_id INTEGER, audio_chunks JSONB DEFAULT '[]', "
        "video_frames JSONB DEFAULT '[]', created_at TIMESTAMP DEFAULT NOW())");
  pg_store store{url};
  migrate_ok(store);
  migrate_ok(store);
  std::vector<pg_item> items;
  for (uint32_t n = 0; n < 200; ++n) {
    items.push_back(frame(sid_a, n));
    items.push_back(audio(sid_a, n));
  }
  REQUIRE(store.write_batch({session(sid_a)}, items, {refresh_all(sid_a)}).ok());
  auto r = query("SELECT pg_column_compression(audio_chunks), pg_column_compression(video_frames), "
                 "jsonb_array_length(video_frames) FROM media_sessions WHERE session_id = " + lit(sid_a));
  REQUIRE(r.size() == 1);
  CHECK(r[0][0].as<std::string>() == "lz4");
  CHECK(r[0][1].as<std::string>() == "lz4");
  CHECK(r[0][2].as<int>() == 200);
  CHECK(scalar<int>("SELECT count(*) FROM pg_attribute WHERE attrelid = 'media_sessions'::regclass "
                    "AND attname IN ('audio_chunks', 'video_frames', 'responses') AND attcompression = 'l'") == 3);
}

TEST_CASE_FIXTURE(pg_fixture, "the primary key covers hash and size, also after migrating a table keyed without them, and find_item reads them from the index") {
  query("CREATE TABLE media_items (session_id VARCHAR(36) NOT NULL, kind CHAR(1) NOT NULL, idx BIGINT NOT NULL, "
        "hash BIGINT NOT NULL, size BIGINT NOT NULL, element JSONB NOT NULL, created_at TIMESTAMP DEFAULT NOW(), "
        "PRIMARY KEY (session_id, kind, idx))");
  query("INSERT INTO media_items (session_id, kind, idx, hash, size, element) VALUES (" + lit(sid_a)
        + ", 'a', 0, 42, 7, '{\"chunk_index\":0}')");
  const std::string included = "SELECT i.indnatts - i.indnkeyatts FROM pg_constraint c JOIN pg_index i ON i.indexrelid = "
                               "c.conindid WHERE c.conrelid = 'media_items'::regclass AND c.contype = 'p'";
  CHECK(scalar<int>(included) == 0);
  pg_store store{url};
  migrate_ok(store);
  CHECK_MESSAGE(scalar<int>(included) == 2, "the key includes hash and size");
  migrate_ok(store);
  CHECK(scalar<int>(included) == 2);
  // The key still decides conflicts: a replay inserts nothing, a new item is stored.
  REQUIRE(store.write_batch({session(sid_a)}, {audio(sid_a, 0), audio(sid_a, 1)}, {refresh_all(sid_a)}).ok());
  CHECK(scalar<int>("SELECT count(*) FROM media_items") == 2);
  status st;
  auto held = store.held_ranges(sid_a, st);
  REQUIRE_MESSAGE(st.ok(), st.message);
  REQUIRE(held.size() == 1);
  CHECK(held[0].first == 0);
  CHECK(held[0].last == 1);
  auto item = store.find_item({sid_a, 'a', 0}, st);
  REQUIRE_MESSAGE(st.ok(), st.message);
  REQUIRE(item);
  CHECK(item->hash == 42);
  CHECK(item->size == 7);
  // Once vacuumed, the planner reads a session's held items from the index alone.
  query("VACUUM ANALYZE media_items");
  // One statement string, one connection: a table this small would otherwise be read whole.
  std::string plan;
  for (const auto& row : query("SET enable_bitmapscan = off; SET enable_seqscan = off; EXPLAIN SELECT hash, size "
                               "FROM media_items WHERE session_id = " + lit(sid_a)
                               + " AND kind = 'a' AND idx = 1"))
    plan += row[0].as<std::string>() + "\n";
  CHECK_MESSAGE(plan.find("Index Only Scan") != std::string::npos, plan);
}

TEST_CASE_FIXTURE(pg_fixture, "migrate adds the status columns to a table made by the original design") {
  query("CREATE TABLE media_sessions (id SERIAL PRIMARY KEY, session_id VARCHAR(36) UNIQUE NOT NULL, "
        "interview_session_id INTEGER, user_id INTEGER, audio_chunks JSONB DEFAULT '[]', "
        "video_frames JSONB DEFAULT '[]', created_at TIMESTAMP DEFAULT NOW())");
  query("INSERT INTO media_sessions (session_id, interview_session_id, user_id, audio_chunks) "
        "VALUES (" + lit(sid_b) + ", 7, 3, '[{\"chunk_index\":0}]')");
  pg_store store{url};
  migrate_ok(store);
  for (const char* column : {"responses", "total_chunks", "total_frames", "storage_path", "status",
                             "last_activity", "completed_at", "node_id"}) {
    CHECK_MESSAGE(scalar<int>("SELECT count(*) FROM information_schema.columns WHERE table_schema = '"
                              + schema + "' AND table_name = 'media_sessions' AND column_name = '"
                              + column + "'") == 1,
                  "column " << column << " was added");
  }
  CHECK_MESSAGE(scalar<std::string>("SELECT status FROM media_sessions") == "recording",
                "the existing row gets the default status");
  CHECK_MESSAGE(indexes(*this, "audio_chunks", "chunk_index", sid_b) == "0",
                "the existing row's array is untouched");
  bool existed = false;
  REQUIRE(store.ensure_session(session(sid_b), existed).ok());
  CHECK_MESSAGE(existed, "the original row is found");
  REQUIRE(store.write_batch({session(sid_a)}, {frame(sid_a, 0)}, {refresh_all(sid_a)}).ok());
  CHECK_MESSAGE(indexes(*this, "video_frames", "frame_index") == "0", "the migrated table is usable");
  pg_totals totals;
  REQUIRE(store.finalize(sid_b, true, totals).ok());
  CHECK_MESSAGE(indexes(*this, "audio_chunks", "chunk_index", sid_b) == "0",
                "the original item was copied into media_items, so a rebuild keeps it");
  CHECK_MESSAGE(totals.chunks == 1, "totals count the original item");
  migrate_ok(store);
  CHECK_MESSAGE(scalar<int>("SELECT count(*) FROM media_items WHERE session_id = " + lit(sid_b)) == 1,
                "the backfill runs once");
}

TEST_CASE_FIXTURE(pg_fixture, "ensure_session reports a new session then an existing one") {
  pg_store store{url};
  migrate_ok(store);
  bool existed = true;
  REQUIRE(store.ensure_session(session(sid_a), existed).ok());
  CHECK_MESSAGE(!existed, "first call creates the row");
  REQUIRE(store.ensure_session(session(sid_a), existed).ok());
  CHECK_MESSAGE(existed, "second call finds it");
  auto r = query("SELECT interview_session_id, user_id, storage_path, status, total_chunks "
                 "FROM media_sessions WHERE session_id = " + lit(sid_a));
  REQUIRE(r.size() == 1);
  CHECK(r[0][0].as<int>() == 42);
  CHECK(r[0][1].as<int>() == 1);
  CHECK_MESSAGE(r[0][2].as<std::string>() == sid_a, "storage_path is the one given");
  CHECK(r[0][3].as<std::string>() == "recording");
  CHECK(r[0][4].as<int>() == 0);

  REQUIRE(store.ensure_session({sid_b, std::nullopt, std::nullopt, "", std::nullopt}, existed).ok());
  CHECK_MESSAGE(!existed, "another session is new");
  CHECK_MESSAGE(query("SELECT 1 FROM media_sessions WHERE session_id = " + lit(sid_b)
                      + " AND user_id IS NULL AND interview_session_id IS NULL").size() == 1,
                "absent ids are stored as NULL");
}

TEST_CASE_FIXTURE(pg_fixture, "items written out of order come out sorted with totals equal to the array lengths") {
  pg_store store{url};
  migrate_ok(store);
  REQUIRE(store.write_batch({session(sid_a)},
                            {frame(sid_a, 5), audio(sid_a, 2), frame(sid_a, 3), frame(sid_a, 4),
                             audio(sid_a, 0)},
                            {refresh_all(sid_a)}).ok());
  REQUIRE(store.write_batch({}, {frame(sid_a, 1), audio(sid_a, 1), frame(sid_a, 0), frame(sid_a, 2)},
                            {{sid_a, true, true, false}}).ok());
  CHECK(indexes(*this, "video_frames", "frame_index") == "0,1,2,3,4,5");
  CHECK(indexes(*this, "audio_chunks", "chunk_index") == "0,1,2");
  auto r = query("SELECT total_chunks, jsonb_array_length(audio_chunks), total_frames, "
                 "jsonb_array_length(video_frames) FROM media_sessions WHERE session_id = " + lit(sid_a));
  REQUIRE(r.size() == 1);
  CHECK_MESSAGE(r[0][0].as<int>() == r[0][1].as<int>(), "total_chunks == audio array length");
  CHECK_MESSAGE(r[0][2].as<int>() == r[0][3].as<int>(), "total_frames == frame array length");
  CHECK(r[0][0].as<int>() == 3);
  CHECK(r[0][2].as<int>() == 6);
  pg_totals t;
  REQUIRE(store.array_lengths(sid_a, t).ok());
  CHECK(t.chunks == 3);
  CHECK(t.frames == 6);
}

TEST_CASE_FIXTURE(pg_fixture, "replaying a batch stores every item exactly once") {
  pg_store store{url};
  migrate_ok(store);
  const std::vector<pg_item> items = {audio(sid_a, 0), audio(sid_a, 1), frame(sid_a, 0),
                                      response(sid_a, 1, "q")};
  for (int i = 0; i < 3; ++i)
    REQUIRE(store.write_batch({session(sid_a)}, items, {refresh_all(sid_a)}).ok());
  CHECK_MESSAGE(scalar<int>("SELECT count(*) FROM media_items") == 4, "one row per item");
  CHECK_MESSAGE(scalar<int>("SELECT count(*) FROM media_sessions") == 1, "one session row");
  CHECK(indexes(*this, "audio_chunks", "chunk_index") == "0,1");
  CHECK(indexes(*this, "video_frames", "frame_index") == "0");
  CHECK(indexes(*this, "responses", "question_id") == "1");

  // A resent item with the same index but other bytes: the stored one stays (PROTOCOL 2).
  REQUIRE(store.write_batch({}, {audio(sid_a, 1, 999999)}, {refresh_all(sid_a)}).ok());
  status st;
  auto item = store.find_item({sid_a, 'a', 1}, st);
  REQUIRE(st.ok());
  REQUIRE(item);
  CHECK_MESSAGE(item->hash == 1001, "the first hash of audio 1 is kept");
}

TEST_CASE_FIXTURE(pg_fixture, "the original queries work on the rebuilt arrays") {
  pg_store store{url};
  migrate_ok(store);
  REQUIRE(store.write_batch({session(sid_a)}, {audio(sid_a, 1), audio(sid_a, 0), frame(sid_a, 0)},
                            {refresh_all(sid_a)}).ok());
  auto r = query("SELECT jsonb_array_elements(audio_chunks) FROM media_sessions WHERE session_id = "
                 + lit(sid_a));
  REQUIRE(r.size() == 2);
  CHECK_MESSAGE(nlohmann::json::parse(r[0][0].c_str()) == nlohmann::json::parse(audio(sid_a, 0).element),
                "the element is stored as given");
  CHECK(nlohmann::json::parse(r[1][0].c_str())["file_path"] == sid_a + "/audio/chunk_1.webm");
  CHECK(scalar<int>("SELECT jsonb_array_length(video_frames) FROM media_sessions WHERE session_id = "
                    + lit(sid_a)) == 1);
  CHECK(scalar<int>("SELECT jsonb_array_length(responses) FROM media_sessions") == 0);
}

TEST_CASE_FIXTURE(pg_fixture, "a response written again replaces its element") {
  pg_store store{url};
  migrate_ok(store);
  REQUIRE(store.write_batch({session(sid_a)}, {response(sid_a, 2, "old"), response(sid_a, 1, "one")},
                            {refresh_all(sid_a)}).ok());
  REQUIRE(store.write_batch({}, {response(sid_a, 2, "newer")}, {{sid_a, false, false, true}}).ok());
  CHECK(indexes(*this, "responses", "question_text") == "one,newer");
  REQUIRE(store.write_batch({}, {response(sid_a, 2, "x"), response(sid_a, 2, "newest")},
                            {{sid_a, false, false, true}}).ok());
  CHECK_MESSAGE(indexes(*this, "responses", "question_text") == "one,newest",
                "the later of two versions in one batch wins");
  CHECK(scalar<int>("SELECT count(*) FROM media_items WHERE kind = 'r'") == 2);
}

TEST_CASE_FIXTURE(pg_fixture, "a refresh rebuilds only the arrays it names") {
  pg_store store{url};
  migrate_ok(store);
  REQUIRE(store.write_batch({session(sid_a)}, {audio(sid_a, 0), frame(sid_a, 0), response(sid_a, 1, "q")},
                            {{sid_a, false, true, false}}).ok());
  CHECK(indexes(*this, "video_frames", "frame_index") == "0");
  CHECK_MESSAGE(indexes(*this, "audio_chunks", "chunk_index").empty(), "audio stays stale");
  CHECK_MESSAGE(indexes(*this, "responses", "question_id").empty(), "responses stay stale");
  pg_totals t;
  REQUIRE(store.array_lengths(sid_a, t).ok());
  CHECK_MESSAGE(t.chunks == 0, "array_lengths reports the stale audio array");
  CHECK(t.frames == 1);

  std::vector<pg_rebuilt> rebuilt;
  REQUIRE(store.write_batch({}, {audio(sid_a, 1), response(sid_a, 2, "q2")}, {{sid_a, true, false, true}}, &rebuilt).ok());
  CHECK(indexes(*this, "audio_chunks", "chunk_index") == "0,1");
  CHECK(scalar<int>("SELECT total_chunks FROM media_sessions") == 2);
  CHECK_MESSAGE(indexes(*this, "video_frames", "frame_index") == "0", "frames not named");
  // The lengths written, for the refresh policy; an array not rebuilt has none.
  REQUIRE(rebuilt.size() == 1);
  CHECK(rebuilt[0].session_id == sid_a);
  CHECK(rebuilt[0].audio == std::optional<uint64_t>{2});
  CHECK(rebuilt[0].frames == std::nullopt);
  CHECK(rebuilt[0].responses == std::optional<uint64_t>{2});
}

TEST_CASE_FIXTURE(pg_fixture, "transcription claims: nodes never get the same chunk while a claim lives, expired claims are taken over, transcripts release them") {
  pg_store a{url}, b{url}, c{url};
  migrate_ok(a);
  std::vector<pg_item> items;
  for (uint32_t i = 0; i < 4; ++i)
    items.push_back(audio(sid_a, i));
  REQUIRE(a.write_batch({session(sid_a)}, items, {}).ok());
  auto keys = [](const std::vector<pg_audio_todo>& todo) {
    std::vector<uint32_t> out;
    for (auto& t : todo)
      out.push_back(t.index);
    return out;
  };
  status st;
  CHECK(keys(a.unprocessed_audio(2, {}, {"node-a"}, st)) == std::vector<uint32_t>{0, 1});
  REQUIRE(st.ok());
  // node b skips node a's live claims and gets the rest
  CHECK(keys(b.unprocessed_audio(10, {}, {"node-b"}, st)) == std::vector<uint32_t>{2, 3});
  CHECK(keys(c.unprocessed_audio(10, {}, {"node-c"}, st)).empty());
  // a node renews its own claims (a retry)
  CHECK(keys(a.unprocessed_audio(10, {}, {"node-a"}, st)) == std::vector<uint32_t>{0, 1});
  // node b dies: claims with no lease left are taken over by another node
  CHECK(keys(b.unprocessed_audio(10, {}, {"node-b", std::chrono::milliseconds{0}}, st)) == std::vector<uint32_t>{2, 3});
  CHECK(keys(c.unprocessed_audio(10, {}, {"node-c"}, st)) == std::vector<uint32_t>{2, 3});
  // writing a transcript releases its claim
  REQUIRE(a.write_transcripts({{sid_a, 0, R"({"transcription":"hello","processed":true})"}}).ok());
  CHECK(scalar<int64_t>("SELECT count(*) FROM asr_claims WHERE idx = 0") == 0);
  CHECK(scalar<int64_t>("SELECT count(*) FROM asr_claims") == 3);
}

TEST_CASE_FIXTURE(pg_fixture, "two nodes claiming the work list at the same time split it without overlap") {
  pg_store setup{url};
  migrate_ok(setup);
  std::vector<pg_item> items;
  for (uint32_t i = 0; i < 300; ++i)
    items.push_back(audio(sid_b, i));
  REQUIRE(setup.write_batch({session(sid_b)}, items, {}).ok());
  std::vector<std::set<uint32_t>> got(2);
  std::vector<std::string> errors(2);
  std::atomic<int> connected{0};
  auto node = [&](size_t n) {
    pg_store store{url};
    const std::string name = "node-" + std::to_string(n);
    // Both connections are open before either claims, so the two claim loops overlap.
    if (!store.ping().ok())
      errors[n] = "no connection";
    connected++;
    for (int spin = 0; spin < 10000000 && connected.load() < 2; ++spin)
      std::this_thread::yield();
    for (int round = 0; round < 1000; ++round) { // bounded: 300 chunks at >= 1 per round
      std::vector<std::string> skip;
      for (auto i : got[n])
        skip.push_back(sid_b + "/" + std::to_string(i));
      status st;
      auto todo = store.unprocessed_audio(3, skip, {name}, st);
      if (!st.ok()) {
        errors[n] = st.message;
        return;
      }
      if (todo.empty())
        return;
      for (auto& t : todo)
        got[n].insert(t.index);
    }
  };
  std::thread t0{node, 0}, t1{node, 1};
  t0.join();
  t1.join();
  CHECK_MESSAGE(errors[0].empty(), errors[0]);
  CHECK_MESSAGE(errors[1].empty(), errors[1]);
  size_t overlap = 0;
  for (auto i : got[0])
    overlap += got[1].count(i);
  CHECK(overlap == 0);
  CHECK(got[0].size() + got[1].size() == 300);
}

TEST_CASE_FIXTURE(pg_fixture, "held_ranges lists runs and find_item returns hashes of 2^63 and above unchanged") {
  pg_store store{url};
  migrate_ok(store);
  const uint64_t big[] = {0, (uint64_t{1} << 63) - 1, uint64_t{1} << 63, UINT64_MAX};
  std::vector<pg_item> items;
  for (uint32_t i = 0; i < 4; ++i) {
    items.push_back(frame(sid_a, i));
    items.back().hash = big[i];
  }
  items.push_back(response(sid_a, 1, "not a media item"));
  REQUIRE(store.write_batch({session(sid_a)}, items, {}).ok());
  status st;
  auto held = store.held_ranges(sid_a, st);
  REQUIRE_MESSAGE(st.ok(), st.message);
  REQUIRE_MESSAGE(held.size() == 1, "responses are not held media");
  CHECK(held[0].kind == 'f');
  CHECK(held[0].first == 0);
  CHECK(held[0].last == 3);
  for (uint32_t i = 0; i < 4; ++i) {
    auto item = store.find_item({sid_a, 'f', i}, st);
    REQUIRE_MESSAGE(st.ok(), st.message);
    REQUIRE(item);
    CHECK_MESSAGE(item->hash == big[i], "hash of frame " << i);
    CHECK(item->size == 45000 + i);
  }
  CHECK_FALSE(store.find_item({sid_a, 'f', 4}, st));
  CHECK(st.ok());
  CHECK_MESSAGE(scalar<int64_t>("SELECT hash FROM media_items WHERE kind = 'f' AND idx = 3") == -1,
                "UINT64_MAX is stored bit for bit as BIGINT -1");
  CHECK(store.held_ranges(sid_b, st).empty());
  CHECK(st.ok());
}

TEST_CASE_FIXTURE(pg_fixture, "finalize marks the session completed and returns the totals") {
  pg_store store{url};
  migrate_ok(store);
  REQUIRE(store.write_batch({session(sid_a), session(sid_b)},
                            {audio(sid_a, 1), audio(sid_a, 0), frame(sid_a, 2), frame(sid_a, 0),
                             frame(sid_a, 1), response(sid_a, 1, "q"), frame(sid_b, 0)},
                            {}).ok());
  pg_totals t;
  REQUIRE(store.finalize(sid_a, true, t).ok());
  CHECK(t.chunks == 2);
  CHECK(t.frames == 3);
  auto r = query("SELECT status, completed_at IS NOT NULL, jsonb_array_length(audio_chunks), "
                 "jsonb_array_length(video_frames), jsonb_array_length(responses) "
                 "FROM media_sessions WHERE session_id = " + lit(sid_a));
  REQUIRE(r.size() == 1);
  CHECK(r[0][0].as<std::string>() == "completed");
  CHECK_MESSAGE(r[0][1].as<bool>(), "completed_at is set");
  CHECK_MESSAGE(r[0][2].as<uint64_t>() == t.chunks, "returned totals are the array lengths");
  CHECK(r[0][3].as<uint64_t>() == t.frames);
  CHECK(r[0][4].as<int>() == 1);

  REQUIRE(store.finalize(sid_b, false, t).ok());
  CHECK(t.frames == 1);
  CHECK_MESSAGE(scalar<std::string>("SELECT status FROM media_sessions WHERE session_id = " + lit(sid_b))
                  == "recording",
                "finalize without complete keeps the status");
  CHECK_MESSAGE(store.finalize("no-such-session", true, t).code == errc::invalid_argument,
                "a session without a row is reported");
}

TEST_CASE_FIXTURE(pg_fixture, "a failing statement commits nothing and reports the SQL state") {
  pg_store store{url};
  migrate_ok(store);
  REQUIRE(store.write_batch({session(sid_a)}, {frame(sid_a, 0)}, {refresh_all(sid_a)}).ok());
  query("ALTER TABLE media_sessions ADD CONSTRAINT few_frames CHECK (total_frames < 2)");
  // The refresh (the last statement) violates the check after the items were inserted.
  auto st = store.write_batch({session(sid_b)}, {frame(sid_a, 1), frame(sid_a, 2), audio(sid_b, 0)},
                              {refresh_all(sid_a)});
  CHECK_MESSAGE(st.code == errc::db_rejected, "a constraint refuses the data: no retry of the same rows can pass");
  CHECK_MESSAGE(st.message.find("23514") != std::string::npos, "message names the SQL state: " << st.message);
  CHECK_MESSAGE(scalar<int>("SELECT count(*) FROM media_items") == 1, "no item of the batch is kept");
  CHECK_MESSAGE(scalar<int>("SELECT count(*) FROM media_sessions") == 1, "no session row is kept");
  CHECK_MESSAGE(store.write_batch({}, {audio(sid_a, 0)}, {{sid_a, true, false, false}}).ok(),
                "the connection stays usable after a statement error");
}

TEST_CASE_FIXTURE(pg_fixture, "malformed items are rejected as invalid_argument before any SQL") {
  pg_store store{url};
  migrate_ok(store);
  auto bad_kind = audio(sid_a, 0);
  bad_kind.key.kind = 'x';
  CHECK(store.write_batch({session(sid_a)}, {bad_kind}, {}).code == errc::invalid_argument);
  auto bad_json = audio(sid_a, 0);
  bad_json.element = "{not json";
  CHECK(store.write_batch({session(sid_a)}, {bad_json}, {}).code == errc::invalid_argument);
  CHECK_MESSAGE(scalar<int>("SELECT count(*) FROM media_sessions") == 0, "nothing was written");
}

TEST_CASE("no server at the address gives db_unavailable and no exception") {
  // Loopback port 1: nothing listens, so the connect is refused at once.
  pg_store store{"host=127.0.0.1 port=1 user=postgres dbname=mediaspool connect_timeout=5"};
  bool existed = false;
  pg_totals t;
  status st;
  CHECK(store.migrate().code == errc::db_unavailable);
  CHECK(store.ensure_session(session(sid_a), existed).code == errc::db_unavailable);
  CHECK(store.write_batch({session(sid_a)}, {audio(sid_a, 0)}, {refresh_all(sid_a)}).code
        == errc::db_unavailable);
  CHECK(store.held_ranges(sid_a, st).empty());
  CHECK(st.code == errc::db_unavailable);
  CHECK_FALSE(store.find_item({sid_a, 'a', 0}, st));
  CHECK(st.code == errc::db_unavailable);
  CHECK(store.finalize(sid_a, true, t).code == errc::db_unavailable);
  CHECK(store.array_lengths(sid_a, t).code == errc::db_unavailable);
  CHECK_MESSAGE(!st.message.empty(), "the status says why");
}

TEST_CASE_FIXTURE(pg_fixture, "a terminated connection gives db_unavailable and the next call reconnects") {
  pg_store store{url};
  migrate_ok(store);
  REQUIRE(store.write_batch({session(sid_a)}, {audio(sid_a, 0)}, {refresh_all(sid_a)}).ok());
  // The store's backend carries application_name = schema; the timeout waits for it to exit.
  // OFFSET 0 fences the filter so that this query's own backend is never terminated.
  CHECK_MESSAGE(scalar<int>("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) FROM "
                            "(SELECT pid FROM pg_stat_activity WHERE application_name = '" + schema
                            + "' AND pid <> pg_backend_pid() OFFSET 0) AS s")
                  >= 1,
                "the store's backend was terminated");
  auto st = store.write_batch({}, {audio(sid_a, 1)}, {refresh_all(sid_a)});
  CHECK_MESSAGE(st.code == errc::db_unavailable, "got " << std::string{to_string(st.code)} << ": " << st.message);
  REQUIRE(store.write_batch({}, {audio(sid_a, 1)}, {refresh_all(sid_a)}).ok());
  CHECK(indexes(*this, "audio_chunks", "chunk_index") == "0,1");
}

} // TEST_SUITE
