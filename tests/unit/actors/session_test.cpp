// The session actor on the test coordinator (stand-ins and fixture: session_fixture.hpp).
#include "unit/actors/session_fixture.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace mediaspool;
using namespace mediaspool::test;
using namespace std::chrono_literals;

namespace {

void check_key(const spool_item& it, char kind, uint32_t index) {
  CHECK(it.key.session_id == sid);
  CHECK(it.key.kind == kind);
  CHECK(it.key.index == index);
}

// A resumed session whose resend of frame 2 (held, same bytes) waits for the loader's lookup,
// which answers at atom::ok.
client resend_being_compared(session_fixture& f) {
  f.loader_rec->result = init_result{true, {{'f', 0, 4}}};
  auto held_payload = payload_of(item_kind::frame, 2);
  f.loader_rec->copies[{sid, 'f', 2}] = stored_copy{true, payload_hash(held_payload.data(), held_payload.size()), 1000};
  f.loader_rec->hold_lookups = true;
  auto c = f.ready();
  f.send_pair(c, item_kind::frame, 2);
  REQUIRE(f.loader_rec->held_lookups.size() == 1);
  return c;
}

} // namespace

TEST_SUITE("actors.session") {

TEST_CASE_FIXTURE(session_fixture, "init_ack lists the ranges of the items the loader reports as held") {
  auto held_payload = payload_of(item_kind::audio, 5);
  auto h = payload_hash(held_payload.data(), held_payload.size());
  // Runs from the spool and PostgreSQL may overlap.
  loader_rec->result = init_result{true, {{'a', 0, 1}, {'a', 1, 2}, {'a', 5, 5}, {'f', 3, 3}}};
  loader_rec->copies[{sid, 'a', 5}] = stored_copy{true, h, 1000};
  auto c = ready();
  REQUIRE(loader_rec->inits.size() == 1);
  CHECK(loader_rec->inits[0].session_id == sid);
  auto ack = c.out->all<init_ack>().at(0);
  CHECK(ack.session_id == sid);
  CHECK(ack.resumed);
  CHECK(ack.audio_received == index_ranges{{0, 2}, {5, 5}});
  CHECK(ack.frames_received == index_ranges{{3, 3}});

  // A resend of a held item (same bytes) is compared with the stored copy, without the spool.
  send_pair(c, item_kind::audio, 5);
  CHECK_MESSAGE(spool_rec->appends.empty(), "a held item must not be appended again");
  REQUIRE(loader_rec->lookups.size() == 1);
  CHECK(loader_rec->lookups[0] == storage::item_key{sid, 'a', 5});
  auto acks = c.out->all<item_ack>();
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].duplicate);
  CHECK(acks[0].index == 5);
  CHECK(acks[0].file_size == 1000);
  CHECK_MESSAGE(payloads.alive_bytes() == 0, "a resend of a held item is dropped at once");
}

TEST_CASE_FIXTURE(session_fixture, "a resend of a held item with other bytes is a conflict, and one that cannot be compared is refused to retry") {
  loader_rec->result = init_result{true, {{'a', 0, 9}}};
  loader_rec->copies[{sid, 'a', 2}] = stored_copy{true, 12345, 1000};
  auto c = ready();
  send_pair(c, item_kind::audio, 2);
  auto errors = c.out->all<error_reply>();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].code == ec::conflict);
  REQUIRE(errors[0].ref);
  CHECK(errors[0].ref->second == 2);
  send_pair(c, item_kind::audio, 3); // held, but storage has no copy of it
  errors = c.out->all<error_reply>();
  REQUIRE(errors.size() == 2);
  CHECK(errors[1].code == ec::internal);
  loader_rec->lookup_failure = ec::overloaded;
  send_pair(c, item_kind::audio, 4);
  errors = c.out->all<error_reply>();
  REQUIRE(errors.size() == 3);
  CHECK(errors[2].code == ec::overloaded);
  CHECK(c.out->all<item_ack>().empty());
  CHECK(spool_rec->appends.empty());
  CHECK(payloads.alive_bytes() == 0);
}

TEST_CASE_FIXTURE(session_fixture, "metadata and blob in either order become one append acked only after durable") {
  for (bool meta_first : {true, false}) {
    CAPTURE(meta_first);
    auto c = ready();
    auto before = spool_rec->appends.size();
    send_pair(c, item_kind::audio, 3, 1234, meta_first);
    REQUIRE(spool_rec->appends.size() == before + 1);
    auto& it = spool_rec->appends.back();
    check_key(it, 'a', 3);
    CHECK(it.file_name == "chunk_3.webm");
    CHECK(it.element == "{\"index\":3}");
    auto expected = payload_of(item_kind::audio, 3, 1234);
    CHECK(std::string(it.payload.data(), it.payload.size()) == expected);
    CHECK(it.hash == payload_hash(expected.data(), expected.size()));
    CHECK(it.session == c.actor);
    CHECK_MESSAGE(c.out->all<item_ack>().empty(), "no ack before the spool says durable");
    CHECK_MESSAGE(spool_bytes() == 1234, "the spool holds the payload until its file is written");
    CHECK_MESSAGE(session_bytes() == 0, "the session keeps no reference to a payload it handed on");

    durable(before);
    auto acks = c.out->all<item_ack>();
    REQUIRE(acks.size() == 1);
    CHECK(acks[0].session_id == sid);
    CHECK(acks[0].kind == item_kind::audio);
    CHECK(acks[0].index == 3);
    CHECK(acks[0].file_size == 1234);
    CHECK_FALSE(acks[0].duplicate);
    CHECK(session_bytes() == 0);
    spool_lets_go(before);
    CHECK_MESSAGE(payloads.alive_bytes() == 0, "once the spool lets go the bytes are free");
    caf::anon_send_exit(c.actor, caf::exit_reason::user_shutdown); // frees the session id
    run();
  }
}

TEST_CASE_FIXTURE(session_fixture, "the bytes of handed on items are freed exactly when the spool lets go of them") {
  auto c = ready();
  send_pair(c, item_kind::audio, 0, 1000);
  send_pair(c, item_kind::frame, 0, 3000);
  REQUIRE(spool_rec->appends.size() == 2);
  CHECK(payloads.alive_bytes() == 4000);
  CHECK(session_bytes() == 0);
  durable(1);
  CHECK_MESSAGE(payloads.alive_bytes() == 4000, "durable alone frees nothing: the file is not written yet");
  spool_lets_go(1);
  CHECK(payloads.freed_bytes() == 3000);
  durable(0);
  spool_lets_go(0);
  CHECK(payloads.freed_bytes() == 4000);
  durable(0); // a second durable for the same key changes nothing
  CHECK(c.out->all<item_ack>().size() == 2);
  CHECK(payloads.alive_bytes() == 0);
}

TEST_CASE_FIXTURE(session_fixture, "a duplicate after the commit is acked as duplicate at once and its bytes freed") {
  auto c = ready();
  send_pair(c, item_kind::frame, 9, 500);
  durable(0);
  REQUIRE(payloads.alive_bytes() == 500);
  send_pair(c, item_kind::frame, 9, 500);
  CHECK_MESSAGE(spool_rec->appends.size() == 1, "a committed item is not appended again");
  auto acks = c.out->all<item_ack>();
  REQUIRE(acks.size() == 2);
  CHECK_FALSE(acks[0].duplicate);
  CHECK(acks[1].duplicate);
  CHECK(acks[1].index == 9);
  CHECK(acks[1].file_size == 500);
  CHECK_MESSAGE(payloads.alive_bytes() == 500, "only the original, in the spool, may be alive");
  CHECK(spool_bytes() == 500);
}

TEST_CASE_FIXTURE(session_fixture, "a duplicate while the first copy is pending is acked when the copy is durable") {
  auto c = ready();
  send_pair(c, item_kind::audio, 2, 700);
  send_pair(c, item_kind::audio, 2, 700);
  CHECK(spool_rec->appends.size() == 1);
  CHECK_MESSAGE(c.out->all<item_ack>().empty(), "neither copy is durable yet");
  CHECK_MESSAGE(payloads.freed_bytes() == 700, "the resent blob's bytes are not held: they are freed at once");
  CHECK(payloads.alive_bytes() == 700);
  CHECK(spool_bytes() == 700);
  durable(0);
  auto acks = c.out->all<item_ack>();
  REQUIRE(acks.size() == 2);
  CHECK_FALSE(acks[0].duplicate);
  CHECK(acks[1].duplicate);
  CHECK(session_bytes() == 0);
}

TEST_CASE_FIXTURE(session_fixture, "spoolfail answers error internal and no ack and a resend is appended anew") {
  auto c = ready();
  send_pair(c, item_kind::audio, 4, 800);
  spoolfail(0);
  CHECK(c.out->all<item_ack>().empty());
  auto errors = c.out->all<error_reply>();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].code == ec::internal);
  REQUIRE(errors[0].ref.has_value());
  CHECK(errors[0].ref->first == item_kind::audio);
  CHECK(errors[0].ref->second == 4);
  CHECK_MESSAGE(session_bytes() == 0, "the session keeps nothing of a failed item");
  spool_lets_go(0); // the real spool writer drops a failed commit's batch
  CHECK(payloads.alive_bytes() == 0);
  CHECK(c.out->closes.empty());
  send_pair(c, item_kind::audio, 4, 800);
  CHECK_MESSAGE(spool_rec->appends.size() == 2, "a failed item is not held: the resend is stored");
  CHECK(session_bytes() == 0);
}

TEST_CASE_FIXTURE(session_fixture, "a commit failed for a full disk answers overloaded, and no ack") {
  auto c = ready();
  send_pair(c, item_kind::frame, 2, 300);
  spoolfail(0, ec::overloaded);
  CHECK(c.out->all<item_ack>().empty());
  auto errors = c.out->all<error_reply>();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].code == ec::overloaded);
  CHECK(c.out->closes.empty());
}

TEST_CASE_FIXTURE(session_fixture, "while the media disk is full a pair is refused with overloaded at once") {
  auto health = std::make_shared<storage_health>();
  svc->health = health;
  auto c = ready();
  health->report(storage_health::media, storage::status{storage::errc::no_space, "No space left on device"});
  send_pair(c, item_kind::audio, 0, 500);
  CHECK_MESSAGE(spool_rec->appends.empty(), "nothing goes to the spool while files cannot be written");
  auto errors = c.out->all<error_reply>();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].code == ec::overloaded);
  CHECK(session_bytes() == 0);
  // Space returns (a file write succeeds): the resend is stored.
  health->report(storage_health::media, storage::status::success());
  send_pair(c, item_kind::audio, 0, 500);
  CHECK(spool_rec->appends.size() == 1);
  // An I/O error that is not a full disk does not refuse new items (the spool still holds them).
  health->report(storage_health::media, storage::status{storage::errc::io_error, "EIO"});
  send_pair(c, item_kind::audio, 1, 500);
  CHECK(spool_rec->appends.size() == 2);
}

TEST_CASE_FIXTURE(session_fixture, "input before session_init is refused with not_initialized") {
  auto c = connect();
  send_meta(c, item_kind::audio, 0);
  send_blob(c, item_kind::audio, 0, 600);
  auto errors = c.out->all<error_reply>();
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].code == ec::not_initialized);
  CHECK(errors[1].code == ec::not_initialized);
  CHECK_MESSAGE(payloads.made_bytes() == 600, "the blob was sent");
  CHECK_MESSAGE(payloads.alive_bytes() == 0, "a refused blob is dropped at once");
  CHECK(spool_rec->appends.empty());
  CHECK(c.out->closes.empty());
  init(c);
  CHECK(c.out->all<init_ack>().size() == 1);
}

TEST_CASE_FIXTURE(session_fixture, "input that arrives while the session loads is processed in order after init_ack") {
  loader_rec->hold = true;
  auto c = connect();
  init(c);
  REQUIRE(loader_rec->held.size() == 1);
  CHECK(c.out->sent.empty());
  send_meta(c, item_kind::audio, 0);
  send_blob(c, item_kind::audio, 0);
  self->send(c.actor, response_item{sid, 7, "{\"question_id\":7}"});
  send_blob(c, item_kind::frame, 1);
  send_meta(c, item_kind::frame, 1);
  run();
  CHECK_MESSAGE(spool_rec->appends.empty(), "nothing may be paired before the held items are known");
  CHECK(c.out->sent.empty());
  CHECK_MESSAGE(session_bytes() == 2000, "the stashed blobs are kept while the session loads");

  caf::anon_send(loader, atom::ok::value);
  run();
  REQUIRE_FALSE(c.out->sent.empty());
  CHECK_MESSAGE(std::holds_alternative<init_ack>(c.out->sent[0]), "init_ack comes before anything else");
  REQUIRE(spool_rec->appends.size() == 3);
  check_key(spool_rec->appends[0], 'a', 0);
  check_key(spool_rec->appends[1], 'r', 7);
  CHECK(spool_rec->appends[1].element == "{\"question_id\":7}");
  check_key(spool_rec->appends[2], 'f', 1);
  CHECK_MESSAGE(session_bytes() == 0, "the stash is handed on and not kept");
  durable(1);
  auto acks = c.out->all<response_ack>();
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].question_id == 7);
}

TEST_CASE_FIXTURE(session_fixture, "a response sent twice before it is durable is acked twice, each copy when it is durable") {
  // PROTOCOL.md: a resent item is acked again. Responses have no dedupe (the newest wins), and
  // the second copy used to overwrite the first's place in flight, so one ack went missing.
  auto c = ready();
  auto before = spool_rec->appends.size();
  self->send(c.actor, response_item{sid, 3, "{\"question_id\":3,\"question_text\":\"a\"}"});
  self->send(c.actor, response_item{sid, 3, "{\"question_id\":3,\"question_text\":\"b\"}"});
  run();
  REQUIRE(spool_rec->appends.size() == before + 2);
  durable(before);
  CHECK_MESSAGE(c.out->all<response_ack>().size() == 1, "the first copy is durable: one ack, not two");
  durable(before + 1);
  auto acks = c.out->all<response_ack>();
  REQUIRE(acks.size() == 2);
  CHECK(acks[1].question_id == 3);
}

TEST_CASE_FIXTURE(session_fixture, "a session closed while it loads drops the blobs it stashed") {
  loader_rec->hold = true;
  auto c = connect();
  auto down = watch(c.actor);
  init(c);
  send_blob(c, item_kind::audio, 0, 400);
  send_blob(c, item_kind::frame, 0, 600);
  REQUIRE(session_bytes() == 1000);
  caf::anon_send(c.actor, atom::closed::value);
  run();
  CHECK_MESSAGE(payloads.alive_bytes() == 0, "a closed session must not keep its stash");
  CHECK(down->has_value());
  caf::anon_send(loader, atom::ok::value); // the late load result finds nobody
  run();
  CHECK(spool_rec->appends.empty());
}

TEST_CASE_FIXTURE(session_fixture, "a message for another session closes the connection with 1008") {
  auto c = ready();
  auto down = watch(c.actor);
  send_blob(c, item_kind::audio, 0, 300, other_sid);
  auto errors = c.out->all<error_reply>();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].code == ec::session_mismatch);
  CHECK(c.out->closes == std::vector<uint16_t>{1008});
  CHECK_MESSAGE(payloads.alive_bytes() == 0, "a blob of another session is dropped at once");
  CHECK_MESSAGE(down->has_value(), "a session with nothing in flight quits when it closes");
  CHECK(spool_rec->appends.empty());
}

TEST_CASE_FIXTURE(session_fixture, "a second session_init for another id on the same connection closes with 1008") {
  auto c = ready();
  init(c, other_sid);
  auto errors = c.out->all<error_reply>();
  REQUIRE_MESSAGE(errors.size() == 1, "every bad input gets a clear error, not only a close reason");
  CHECK(errors[0].code == ec::session_mismatch);
  CHECK(c.out->closes == std::vector<uint16_t>{1008});
  CHECK(loader_rec->inits.size() == 1);
}

TEST_CASE_FIXTURE(session_fixture, "session_end waits for the items in flight and then ends the session at the spool writer") {
  auto c = ready();
  send_pair(c, item_kind::audio, 0);
  send_pair(c, item_kind::audio, 1);
  self->send(c.actor, session_end{sid});
  run();
  CHECK_MESSAGE(spool_rec->ends.empty(), "the end must wait until every item in flight is durable");
  CHECK(c.out->all<end_ack>().empty());
  durable(0);
  CHECK(spool_rec->ends.empty());
  durable(1);
  REQUIRE(spool_rec->ends == std::vector<std::string>{sid});
  REQUIRE(std::holds_alternative<end_ack>(c.out->sent.back()));
  auto ack = std::get<end_ack>(c.out->sent.back());
  CHECK(ack.session_id == sid);
  CHECK(ack.total_chunks == 3);
  CHECK(ack.total_frames == 2);
  CHECK(c.out->all<item_ack>().size() == 2);
}

TEST_CASE_FIXTURE(session_fixture, "session_end waits for the answer to a resend being compared with its stored copy") {
  auto c = resend_being_compared(*this);
  self->send(c.actor, session_end{sid});
  run();
  CHECK_MESSAGE(spool_rec->ends.empty(), "the end must wait until the resend is answered");
  CHECK(c.out->all<item_ack>().empty());
  self->send(loader, atom::ok::value);
  run();
  auto acks = c.out->all<item_ack>();
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].duplicate);
  CHECK(spool_rec->ends.size() == 1);
  REQUIRE(std::holds_alternative<end_ack>(c.out->sent.back()));
}

TEST_CASE_FIXTURE(session_fixture, "a session_end waiting for a resend's comparison still reaches the spool writer when the connection closes") {
  auto c = resend_being_compared(*this);
  auto down = watch(c.actor);
  self->send(c.actor, session_end{sid});
  run();
  REQUIRE(spool_rec->ends.empty());
  caf::anon_send(c.actor, atom::closed::value);
  run();
  CHECK_MESSAGE(spool_rec->ends == std::vector<std::string>{sid}, "the end is not lost with the connection");
  CHECK(down->has_value());
}

TEST_CASE_FIXTURE(session_fixture, "at shutdown a session answers the resends being compared before it closes with 1001") {
  auto c = resend_being_compared(*this);
  caf::anon_send(c.actor, atom::drain::value);
  run();
  CHECK_MESSAGE(c.out->closes.empty(), "a resend is still being compared");
  self->send(loader, atom::ok::value);
  run();
  auto acks = c.out->all<item_ack>();
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].duplicate);
  CHECK(c.out->closes == std::vector<uint16_t>{1001});
}

TEST_CASE_FIXTURE(session_fixture, "session_end with nothing in flight is answered at once") {
  auto c = ready();
  self->send(c.actor, session_end{sid});
  run();
  CHECK(spool_rec->ends.size() == 1);
  CHECK(c.out->all<end_ack>().size() == 1);
}

TEST_CASE_FIXTURE(session_fixture, "a half without its partner expires after the orphan timeout and frees its bytes") {
  auto c = ready(); // orphan timeout 5 s, expiry checked every 1 s
  send_blob(c, item_kind::audio, 4, 100);
  send_meta(c, item_kind::frame, 2);
  for (int i = 0; i < 4; ++i)
    advance_time(1s);
  CHECK_MESSAGE(c.out->all<error_reply>().empty(), "4 s is inside the 5 s orphan timeout");
  CHECK_MESSAGE(session_bytes() == 100, "a blob waiting for its metadata is kept");
  advance_time(2s);
  auto errors = c.out->all<error_reply>();
  REQUIRE(errors.size() == 2);
  for (auto& e : errors)
    CHECK(e.code == ec::orphan_expired);
  CHECK_MESSAGE(payloads.alive_bytes() == 0, "an expired blob is dropped");
  CHECK(spool_rec->appends.empty());
  // Past the init request timeouts (30 s), only a re-arming expiry timer could still be pending.
  advance_time(60s);
  CHECK(c.out->all<error_reply>().size() == 2);
  CHECK_MESSAGE(!sched.has_pending_timeout(), "with nothing unpaired the expiry timer stops");
  // The late partner now starts a new wait instead of completing the dropped half.
  send_meta(c, item_kind::audio, 4, 100);
  CHECK(spool_rec->appends.empty());
}

TEST_CASE_FIXTURE(session_fixture, "items that pair at once leave the expiry timer waiting for the oldest half's deadline") {
  // At 10,000 real-time sessions a check one second after every item's first half was ~3,000
  // timers and expiry messages a second with nothing to expire.
  auto c = ready(); // orphan timeout 5 s
  size_t timeouts = 0;
  for (uint32_t i = 0; i < 10; ++i) {
    send_pair(c, item_kind::frame, i);
    timeouts += advance_time(1s);
  }
  CHECK(c.out->all<error_reply>().empty());
  CHECK(spool_rec->appends.size() == 10);
  CHECK_MESSAGE(timeouts <= 2, "one check per orphan timeout, not one per item");
}

TEST_CASE_FIXTURE(session_fixture, "metadata does not age while the server is too busy to read its connection, a blob does") {
  // The connection reports how long the process budget kept it unread: the binary frame may be
  // in the socket all that time, so that time does not count against the client. A blob's
  // bytes are part of that budget, so it ages regardless (or a budget full of orphans would
  // never drain).
  auto c = ready(); // orphan timeout 5 s, expiry checked every 1 s
  send_meta(c, item_kind::frame, 2);
  send_blob(c, item_kind::audio, 7);
  for (int i = 0; i < 8; ++i) {
    advance_time(1s);
    if (i >= 1 && i < 6)
      c.out->stall += 1s; // unread from 1 s to 6 s after the halves arrived
  }
  auto errors = c.out->all<error_reply>();
  REQUIRE_MESSAGE(errors.size() == 1, "8 s waited: the blob expired; the metadata, 5 s of them unread, did not");
  CHECK(errors[0].code == ec::orphan_expired);
  REQUIRE(errors[0].ref);
  CHECK(errors[0].ref->first == item_kind::audio);
  CHECK(payloads.alive_bytes() == 0);
  send_blob(c, item_kind::frame, 2);
  REQUIRE(spool_rec->appends.size() == 1);
  // Metadata that keeps waiting once reads go on again does expire.
  send_meta(c, item_kind::frame, 3);
  for (int i = 0; i < 6; ++i)
    advance_time(1s);
  CHECK(c.out->all<error_reply>().size() == 2);
}

TEST_CASE_FIXTURE(session_fixture, "replaced closes with 1008 and the actor quits only after its items in flight are durable") {
  auto a = ready();
  auto a_down = watch(a.actor);
  send_pair(a, item_kind::audio, 0, 900);
  auto b = connect();
  init(b); // the registry tells `a` it is replaced; b's claim waits until `a` is gone
  CHECK(a.out->closes == std::vector<uint16_t>{1008});
  auto told = a.out->all<error_reply>();
  REQUIRE(told.size() == 1);
  CHECK(told[0].code == ec::session_mismatch);
  CHECK_FALSE_MESSAGE(a_down->has_value(), "the old session must outlive its item in flight");
  CHECK_MESSAGE(b.out->sent.empty(), "the new session must not start next to the old one");
  send_pair(a, item_kind::audio, 1, 900);
  CHECK_MESSAGE(spool_rec->appends.size() == 1, "a closing session takes no new items");
  CHECK_MESSAGE(session_bytes() == 0, "a closing session drops what it does not take");

  durable(0);
  CHECK(a_down->has_value());
  CHECK(payloads.freed_bytes() == 900);
  spool_lets_go(0);
  CHECK(payloads.alive_bytes() == 0);
  auto acks = b.out->all<init_ack>();
  CHECK_MESSAGE(acks.size() == 1, "the new session starts once the old one is gone");
  CHECK(loader_rec->inits.size() == 2);
}

// A session that could not be opened now: one `overloaded`, close 1013, no init_ack, actor gone.
void check_told_to_retry(const client& c, const std::optional<caf::error>& down) {
  auto errors = c.out->all<error_reply>();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].code == ec::overloaded);
  CHECK(c.out->closes == std::vector<uint16_t>{1013});
  CHECK(c.out->all<init_ack>().empty());
  CHECK(down.has_value());
}

TEST_CASE_FIXTURE(session_fixture, "a loader error answers overloaded and closes with 1013") {
  loader_rec->failure = ec::overloaded;
  auto c = connect();
  auto down = watch(c.actor);
  init(c);
  check_told_to_retry(c, *down);
  // The registry let go of the id: a retry on a new connection opens the session.
  loader_rec->failure.reset();
  auto retry = ready();
  CHECK(retry.out->closes.empty());
}

TEST_CASE_FIXTURE(session_fixture, "a session_init the loader does not answer in time answers overloaded, not internal") {
  // Under load (10,000 sessions connecting at once) the loaders fall behind: a client whose
  // session could not be opened in time must be told to retry, like any other busy store.
  loader_rec->hold = true;
  auto c = connect();
  auto down = watch(c.actor);
  init(c);
  CHECK(c.out->all<error_reply>().empty());
  advance_time(svc->init_timeout + 1s);
  check_told_to_retry(c, *down);
  // A late answer from the loader changes nothing, and a retry opens the session.
  self->send(loader, atom::ok::value);
  run();
  CHECK(c.out->all<init_ack>().empty());
  loader_rec->hold = false;
  auto retry = ready();
  CHECK(retry.out->closes.empty());
}

} // TEST_SUITE
