// The session loader against the real PostgreSQL (a schema per test case) and a real spool, on
// the test coordinator: what it answers while the node takes new sessions and while it refuses
// them (actors/admission.hpp).
#include "actors/session_loader.hpp"
#include "storage/spool.hpp"
#include "support/coordinator_fixture.hpp"
#include "support/pg_fixture.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <tuple>
#include <algorithm>

using namespace mediaspool;
using namespace std::chrono_literals;

namespace {

const std::string known_sid = "3f2b8c1e-0000-4000-8000-0000000000a1";
const std::string new_sid = "3f2b8c1e-0000-4000-8000-0000000000a2";
const std::string spooled_sid = "3f2b8c1e-0000-4000-8000-0000000000a3";

struct loader_fixture : test::pg_fixture, test::coordinator_fixture {
  test::temp_dir dir;
  std::shared_ptr<storage::spool> spool;
  std::shared_ptr<admission> gate = std::make_shared<admission>(admission_limits{500ms, 1s});
  session_loader_actor loader;

  loader_fixture() {
    migrate_store();
    storage::status st;
    spool = storage::spool::open(storage::spool_options{(dir.path() / "spool").string(), 4u << 20}, st);
    REQUIRE_MESSAGE(st.ok(), st.message);
    loader = spawn(session_loader, spool, url, "/media", "node-a", gate);
    run();
  }

  ~loader_fixture() override {
    shutdown(); // the loader's connection goes before the schema is dropped
  }

  std::shared_ptr<test::reply_slot<init_result>> init(const std::string& sid) {
    auto slot = request<init_result>(loader, atom::init::value, session_init{sid, 42, 7, "2024-01-01T00:00:00Z", "", std::nullopt});
    run();
    REQUIRE(slot->answered());
    return slot;
  }

  int rows(const std::string& sid) {
    return scalar<int>("SELECT count(*) FROM media_sessions WHERE session_id = '" + sid + "'");
  }

  void overload() {
    for (int i = 0; i < 20; ++i)
      gate->sample(2s, 0us);
    REQUIRE(gate->refusing());
  }
};

} // namespace

TEST_SUITE("actors.session_loader") {

TEST_CASE_FIXTURE(loader_fixture, "a node that keeps up opens new sessions and resumes known ones") {
  auto first = init(new_sid);
  REQUIRE_FALSE(first->error);
  CHECK_FALSE(first->value->resumed);
  CHECK(rows(new_sid) == 1);
  auto again = init(new_sid);
  REQUIRE_FALSE(again->error);
  CHECK(again->value->resumed);
}

TEST_CASE_FIXTURE(loader_fixture, "a node that runs late refuses a new session with overloaded and writes no row for it") {
  overload();
  auto r = init(new_sid);
  REQUIRE(r->error);
  CHECK(to_ec(*r->error) == ec::overloaded);
  CHECK_MESSAGE(rows(new_sid) == 0, "a refused session leaves nothing behind");
  CHECK(gate->refused_total() == 1);
  // Caught up again (a calm spell below half the limit), the same client's retry opens it.
  for (int i = 0; i < 100; ++i)
    gate->sample(1ms, 0us);
  REQUIRE_FALSE(gate->refusing());
  auto retry = init(new_sid);
  REQUIRE_FALSE(retry->error);
  CHECK_FALSE(retry->value->resumed);
  CHECK(rows(new_sid) == 1);
}

TEST_CASE_FIXTURE(loader_fixture, "a node that runs late still resumes the sessions it holds, in PostgreSQL or only in the spool") {
  REQUIRE_FALSE(init(known_sid)->error);
  std::string payload(100, 'x');
  REQUIRE(spool->write_durable({storage::spool_entry{{spooled_sid, 'a', 0}, 1, "chunk_0.webm", "{}", payload.data(), payload.size()}}).ok());
  overload();
  auto known = init(known_sid);
  REQUIRE_FALSE(known->error);
  CHECK(known->value->resumed);
  auto spooled = init(spooled_sid);
  REQUIRE_FALSE(spooled->error);
  CHECK(spooled->value->resumed);
  REQUIRE(spooled->value->held.size() == 1);
  CHECK(spooled->value->held[0].first == 0);
  CHECK(spooled->value->held[0].last == 0);
  CHECK(gate->refused_total() == 0);
}

TEST_CASE_FIXTURE(loader_fixture, "admit (asked before an upgrade): a node running late takes the sessions it served and sends the others on") {
  const auto far = (std::chrono::steady_clock::now() + 1h).time_since_epoch().count();
  auto admit = [&](const std::string& sid, int64_t deadline_ns) {
    auto slot = request<bool>(loader, atom::admit::value, sid, deadline_ns);
    run();
    REQUIRE(slot->answered());
    REQUIRE_FALSE(slot->error);
    return *slot->value;
  };
  const std::string moved_sid = "3f2b8c1e-0000-4000-8000-0000000000a4";
  REQUIRE_FALSE(init(known_sid)->error);
  REQUIRE_FALSE(init(moved_sid)->error);
  query("UPDATE media_sessions SET node_id = 'node-b' WHERE session_id = '" + moved_sid + "'"); // node b took it since
  std::string payload(100, 'x');
  REQUIRE(spool->write_durable({storage::spool_entry{{spooled_sid, 'a', 0}, 1, "chunk_0.webm", "{}", payload.data(), payload.size()}}).ok());
  CHECK(admit(new_sid, far)); // a node that keeps up takes anyone
  CHECK(admit(moved_sid, far));
  CHECK(gate->refused_total() == 0);
  overload();
  CHECK_FALSE(admit(new_sid, far));
  CHECK(gate->refused_total() == 1);
  CHECK(admit(known_sid, far));   // its row names this node: a resume
  CHECK(admit(spooled_sid, far)); // only this node's spool knows it: a resume
  CHECK_FALSE(admit(moved_sid, far)); // another node served it last: it can go on there
  CHECK(gate->refused_total() == 2);
  // The asker gave up waiting (its upgrade went ahead): no verdict is counted against it.
  CHECK(admit(new_sid, (std::chrono::steady_clock::now() - 1s).time_since_epoch().count()));
  CHECK(gate->refused_total() == 2);
  CHECK_MESSAGE(rows(new_sid) == 0, "asking makes nothing");
  CHECK(rows(spooled_sid) == 0);
  // At session_init a session PostgreSQL knows is a resume, whichever node served it.
  auto moved = init(moved_sid);
  REQUIRE_FALSE(moved->error);
  CHECK(moved->value->resumed);
}

TEST_CASE_FIXTURE(loader_fixture, "inits that queue up together are served in one transaction, each with its own answer") {
  REQUIRE_FALSE(init(known_sid)->error); // owned by user 7
  auto sid = [](int i) { return "3f2b8c1e-0000-4000-8000-0000000001" + std::to_string(10 + i); };
  auto ask = [&](const std::string& id, std::optional<int64_t> owner) {
    return request<init_result>(loader, atom::init::value, session_init{id, 42, 7, "2024-01-01T00:00:00Z", "", owner});
  };
  std::vector<std::shared_ptr<test::reply_slot<init_result>>> fresh;
  for (int i = 0; i < 20; ++i)
    fresh.push_back(ask(sid(i), 7));
  auto resumed = ask(known_sid, 7);
  auto stranger = ask(known_sid, 8); // someone else's session, in the middle of the batch
  auto last = ask(sid(20), std::nullopt);
  run();
  for (auto& f : fresh) {
    REQUIRE(f->answered());
    REQUIRE_FALSE(f->error);
    CHECK_FALSE(f->value->resumed);
  }
  REQUIRE(resumed->answered());
  REQUIRE_FALSE(resumed->error);
  CHECK(resumed->value->resumed);
  REQUIRE(stranger->error);
  CHECK(to_ec(*stranger->error) == ec::forbidden);
  REQUIRE_FALSE(last->error);
  CHECK_FALSE(last->value->resumed);
  // One transaction made all 21 new rows: they share its xid.
  CHECK(scalar<int>("SELECT count(*) FROM media_sessions WHERE session_id LIKE '3f2b8c1e-0000-4000-8000-0000000001%'") == 21);
  CHECK(scalar<int>("SELECT count(DISTINCT xmin::text) FROM media_sessions "
                    "WHERE session_id LIKE '3f2b8c1e-0000-4000-8000-0000000001%'") == 1);
}

TEST_CASE_FIXTURE(loader_fixture, "a storm larger than a batch is served in batches of at most 256, every init answered") {
  std::vector<std::shared_ptr<test::reply_slot<init_result>>> slots;
  for (int i = 0; i < 300; ++i) {
    auto id = "3f2b8c1e-0000-4000-8000-00000000" + std::to_string(1000 + i);
    slots.push_back(request<init_result>(loader, atom::init::value, session_init{id, 42, 7, "2024-01-01T00:00:00Z", "", 7}));
  }
  run();
  for (auto& slot : slots) {
    REQUIRE(slot->answered());
    CHECK_FALSE(slot->error);
  }
  CHECK(scalar<int>("SELECT count(*) FROM media_sessions") == 300);
  CHECK(scalar<int>("SELECT count(DISTINCT xmin::text) FROM media_sessions") == 2);
}

TEST_CASE_FIXTURE(loader_fixture, "init lists what a session holds as runs of indexes, from PostgreSQL and the spool") {
  REQUIRE_FALSE(init(known_sid)->error);
  auto row = [&](char kind, int idx) {
    query("INSERT INTO media_items (session_id, kind, idx, hash, size, element) VALUES ('" + known_sid + "', '"
          + std::string(1, kind) + "', " + std::to_string(idx) + ", " + std::to_string(1000 + idx) + ", 10, '{}')");
  };
  for (int i : {0, 1, 2, 3, 7, 8})
    row('a', i);
  for (int i = 0; i < 500; ++i)
    row('f', i);
  query("INSERT INTO media_items (session_id, kind, idx, hash, size, element) VALUES ('" + known_sid
        + "', 'r', 1, 1, 1, '{}')");
  std::string payload(100, 'x');
  REQUIRE(spool->write_durable({storage::spool_entry{{known_sid, 'a', 9}, 1, "chunk_9.webm", "{}", payload.data(), payload.size()}}).ok());
  auto r = init(known_sid);
  REQUIRE_FALSE(r->error);
  std::vector<std::tuple<char, uint32_t, uint32_t>> got;
  for (auto& h : r->value->held)
    got.emplace_back(h.kind, h.first, h.last);
  std::sort(got.begin(), got.end());
  // 507 items in four runs; the response is not media.
  CHECK(got == std::vector<std::tuple<char, uint32_t, uint32_t>>{{'a', 0, 3}, {'a', 7, 8}, {'a', 9, 9}, {'f', 0, 499}});
}

TEST_CASE_FIXTURE(loader_fixture, "lookup answers a held item's stored hash and size: the spool's copy, else PostgreSQL's") {
  REQUIRE_FALSE(init(known_sid)->error);
  query("INSERT INTO media_items (session_id, kind, idx, hash, size, element) VALUES ('" + known_sid
        + "', 'f', 3, -1, 45000, '{}')");
  std::string payload(100, 'x');
  REQUIRE(spool->write_durable({storage::spool_entry{{known_sid, 'a', 5}, 77, "chunk_5.webm", "{}", payload.data(), payload.size()}}).ok());
  auto lookup = [&](char kind, uint32_t index) {
    auto slot = request<stored_copy>(loader, atom::lookup::value, storage::item_key{known_sid, kind, index});
    run();
    REQUIRE(slot->answered());
    REQUIRE_FALSE(slot->error);
    return *slot->value;
  };
  auto spooled = lookup('a', 5);
  CHECK(spooled.found);
  CHECK(spooled.hash == 77);
  CHECK(spooled.size == 100);
  auto row = lookup('f', 3);
  CHECK(row.found);
  CHECK_MESSAGE(row.hash == UINT64_MAX, "BIGINT -1 is the hash 2^64-1");
  CHECK(row.size == 45000);
  CHECK_FALSE(lookup('f', 4).found);
  CHECK_FALSE(lookup('a', 3).found);
}

} // TEST_SUITE
