#include "actors/pairing.hpp"

#include "support/payload_tracker.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace mediaspool;
using namespace std::chrono_literals;

namespace {

const std::string sid = "0f8fad5b-d9cb-469f-a165-70867728950e";
const pairing::clock::time_point t0{};

item_metadata meta(item_kind kind, uint32_t index, uint64_t size, std::string element = "{}") {
  item_metadata m;
  m.session_id = sid;
  m.kind = kind;
  m.index = index;
  m.size = size;
  m.file_name = kind == item_kind::audio ? "chunk_" + std::to_string(index) + ".webm"
                                         : "frame_" + std::to_string(index) + ".jpg";
  m.element = std::move(element);
  return m;
}

template <class T>
T as(pairing::outcome o) {
  REQUIRE(std::holds_alternative<T>(o));
  return std::get<T>(std::move(o));
}

error_reply rejection(pairing::outcome o) {
  return as<pairing::rejected>(std::move(o)).error;
}

void check_ref(const error_reply& e, item_kind kind, uint32_t index) {
  REQUIRE(e.ref.has_value());
  CHECK(e.ref->first == kind);
  CHECK(e.ref->second == index);
  CHECK(!e.message.empty());
}

// Every payload comes from the tracker, so a test can tell which buffers the pairing still holds
// (in the server a held buffer is credit its connection cannot use).
struct pairing_fixture {
  test::payload_tracker payloads;

  blob blob_of(item_kind kind, uint32_t index, const std::string& payload) {
    return blob{sid, kind, index, payloads.make(payload)};
  }

  // Sends metadata and blob (metadata first if `meta_first`) and returns the second outcome.
  pairing::outcome send_pair(pairing& p, item_kind kind, uint32_t index, const std::string& payload,
                             bool meta_first = true, uint64_t size = 0) {
    auto m = meta(kind, index, size ? size : payload.size());
    if (meta_first) {
      as<pairing::waiting>(p.on_metadata(std::move(m), t0));
      return p.on_blob(blob_of(kind, index, payload), t0);
    }
    as<pairing::waiting>(p.on_blob(blob_of(kind, index, payload), t0));
    return p.on_metadata(std::move(m), t0);
  }
};

const auto audio = item_kind::audio;
const auto frame = item_kind::frame;

} // namespace

TEST_SUITE("actors.pairing") {
  TEST_CASE_FIXTURE(pairing_fixture, "completes a pair in both arrival orders") {
    for (bool meta_first : {true, false}) {
      CAPTURE(meta_first);
      pairing p{pairing_config{}};
      auto c = as<pairing::complete>(send_pair(p, audio, 3, "hello", meta_first));
      CHECK(c.meta.index == 3);
      CHECK(c.meta.kind == audio);
      CHECK(c.meta.file_name == "chunk_3.webm");
      CHECK(c.payload.size() == 5);
      CHECK(c.hash == payload_hash("hello", 5));
      CHECK(p.unpaired_count() == 0);
      CHECK(p.unpaired_bytes() == 0);
    }
  }

  TEST_CASE_FIXTURE(pairing_fixture, "a complete outcome hands the received buffer on and the pairing keeps no reference") {
    for (bool meta_first : {true, false}) {
      CAPTURE(meta_first);
      pairing p{pairing_config{}};
      {
        auto c = as<pairing::complete>(send_pair(p, frame, 1, "jpeg!", meta_first));
        CHECK_MESSAGE(c.payload.buf.use_count() == 1, "the outcome must be the buffer's only holder");
        CHECK(payloads.alive_buffers() == 1);
        CHECK_MESSAGE(std::string(c.payload.data(), c.payload.size()) == "jpeg!", "no copy, no other bytes");
      }
      CHECK_MESSAGE(payloads.alive_bytes() == 0, "a completed payload lives only as long as its outcome");
    }
  }

  TEST_CASE_FIXTURE(pairing_fixture, "keeps a waiting blob until its metadata arrives") {
    pairing p{pairing_config{}};
    as<pairing::waiting>(p.on_blob(blob_of(audio, 6, "waits"), t0));
    CHECK_MESSAGE(payloads.alive_bytes() == 5, "a blob waiting for its metadata must be kept");
    as<pairing::waiting>(p.on_metadata(meta(audio, 7, 5), t0)); // another item does not take it
    CHECK(payloads.alive_bytes() == 5);
    auto c = as<pairing::complete>(p.on_metadata(meta(audio, 6, 5), t0));
    CHECK(std::string(c.payload.data(), c.payload.size()) == "waits");
    CHECK(c.payload.buf.use_count() == 1);
  }

  TEST_CASE_FIXTURE(pairing_fixture, "rejects a size mismatch in both arrival orders and drops both halves") {
    for (bool meta_first : {true, false}) {
      CAPTURE(meta_first);
      pairing p{pairing_config{}};
      auto e = rejection(send_pair(p, frame, 9, "abcd", meta_first, 5));
      CHECK(e.code == ec::size_mismatch);
      check_ref(e, frame, 9);
      CHECK(p.unpaired_count() == 0);
      CHECK(p.unpaired_bytes() == 0);
      CHECK_MESSAGE(payloads.alive_bytes() == 0, "a mismatched payload must not be kept");
      // Nothing was held, so a correct resend is stored.
      as<pairing::complete>(send_pair(p, frame, 9, "abcd", meta_first));
    }
  }

  TEST_CASE_FIXTURE(pairing_fixture, "acks a resend of a committed item as a duplicate with its size") {
    for (bool meta_first : {true, false}) {
      CAPTURE(meta_first);
      pairing p{pairing_config{}};
      auto first = as<pairing::complete>(send_pair(p, audio, 0, "payload"));
      CHECK(p.committed(audio, 0) == 0);
      auto d = as<pairing::duplicate>(send_pair(p, audio, 0, "payload", meta_first));
      CHECK(d.kind == audio);
      CHECK(d.index == 0);
      CHECK(d.size == 7);
      CHECK_FALSE(d.pending);
      CHECK_MESSAGE(payloads.alive_buffers() == 1, "only the first copy (held by the test) may be alive");
      CHECK(first.payload.buf.use_count() == 1);
      CHECK(p.committed(audio, 0) == 0);
    }
  }

  TEST_CASE_FIXTURE(pairing_fixture, "owes one duplicate ack for a resend while the original is pending") {
    pairing p{pairing_config{}};
    auto first = as<pairing::complete>(send_pair(p, frame, 4, "jpeg"));
    auto d = as<pairing::duplicate>(send_pair(p, frame, 4, "jpeg"));
    CHECK(d.pending);
    CHECK(d.size == 4);
    CHECK_MESSAGE(payloads.alive_buffers() == 1, "a pending duplicate's bytes must not be kept");
    CHECK(p.committed(frame, 4) == 1);
    CHECK(p.committed(frame, 4) == 0);
    CHECK_FALSE(as<pairing::duplicate>(send_pair(p, frame, 4, "jpeg")).pending);
    CHECK(payloads.alive_buffers() == 1);
  }

  TEST_CASE_FIXTURE(pairing_fixture, "rejects other bytes at a held index as a conflict in both arrival orders") {
    for (bool meta_first : {true, false}) {
      CAPTURE(meta_first);
      pairing p{pairing_config{}};
      as<pairing::complete>(send_pair(p, audio, 2, "first"));
      p.committed(audio, 2);
      auto e = rejection(send_pair(p, audio, 2, "other", meta_first));
      CHECK(e.code == ec::conflict);
      check_ref(e, audio, 2);
      CHECK(e.message.find("stored item stays") != std::string::npos);
      CHECK_MESSAGE(payloads.alive_bytes() == 0, "a conflicting payload must not be kept");
      // Other length, and a conflict while the original is still pending.
      CHECK(rejection(send_pair(p, audio, 2, "longer!", meta_first)).code == ec::conflict);
      auto pending = as<pairing::complete>(send_pair(p, audio, 5, "x"));
      CHECK(rejection(send_pair(p, audio, 5, "y", meta_first)).code == ec::conflict);
      CHECK_MESSAGE(payloads.alive_buffers() == 1, "only the pending original (held by the test) is alive");
      CHECK(p.committed(audio, 5) == 0);
      // The stored item is untouched.
      CHECK(as<pairing::duplicate>(send_pair(p, audio, 2, "first", meta_first)).size == 5);
    }
  }

  TEST_CASE_FIXTURE(pairing_fixture, "rejects other bytes at an index loaded on resume as a conflict") {
    pairing p{pairing_config{}};
    p.load_held(frame, 7, 7);
    CHECK(p.held_indexes(frame) == std::vector<uint32_t>{7});
    // The session knows only that index 7 is held: the resend is compared with storage's copy.
    auto changed = as<pairing::stored>(send_pair(p, frame, 7, "changed"));
    CHECK(changed.index == 7);
    CHECK(changed.size == 7);
    CHECK(changed.hash == payload_hash("changed", 7));
    CHECK_MESSAGE(payloads.alive_bytes() == 0, "a resend being compared keeps no payload");
    auto e = rejection(pairing::judge(changed, payload_hash("resumed", 7), 7));
    CHECK(e.code == ec::conflict);
    check_ref(e, frame, 7);
    auto d = as<pairing::duplicate>(pairing::judge(as<pairing::stored>(send_pair(p, frame, 7, "resumed")),
                                                   payload_hash("resumed", 7), 7));
    CHECK_FALSE(d.pending);
    CHECK(d.size == 7);
    CHECK(payloads.alive_bytes() == 0);
    // Same index of the other kind is another item.
    as<pairing::complete>(send_pair(p, audio, 7, "changed"));
  }

  TEST_CASE_FIXTURE(pairing_fixture, "replaces a waiting metadata with a later one") {
    pairing p{pairing_config{}};
    as<pairing::waiting>(p.on_metadata(meta(audio, 1, 3, "old"), t0));
    as<pairing::waiting>(p.on_metadata(meta(audio, 1, 6, "new"), t0 + 1ms));
    CHECK(p.unpaired_count() == 1);
    auto c = as<pairing::complete>(p.on_blob(blob_of(audio, 1, "sixsix"), t0 + 2ms));
    CHECK(c.meta.element == "new");
    CHECK(c.meta.size == 6);
  }

  TEST_CASE_FIXTURE(pairing_fixture, "replaces a waiting blob and drops the old buffer") {
    pairing p{pairing_config{}};
    as<pairing::waiting>(p.on_blob(blob_of(frame, 2, "four"), t0));
    as<pairing::waiting>(p.on_blob(blob_of(frame, 2, "sixsix"), t0));
    CHECK(p.unpaired_count() == 1);
    CHECK(p.unpaired_bytes() == 6);
    CHECK_MESSAGE(payloads.alive_bytes() == 6, "the replaced blob must be dropped and the new one kept");
    CHECK(payloads.alive_buffers() == 1);
    auto c = as<pairing::complete>(p.on_metadata(meta(frame, 2, 6), t0));
    CHECK(std::string(c.payload.data(), c.payload.size()) == "sixsix");
    CHECK(p.unpaired_bytes() == 0);
    CHECK(c.payload.buf.use_count() == 1);
  }

  TEST_CASE_FIXTURE(pairing_fixture, "refuses metadata past the cap on waiting metadata as overloaded") {
    // Text is read past a spent credit, so without a cap a client could park metadata without
    // blobs until memory runs out.
    pairing_config cfg;
    cfg.max_unpaired_metadata = 3;
    pairing p{cfg};
    for (uint32_t i = 0; i < 3; ++i)
      as<pairing::waiting>(p.on_metadata(meta(frame, i, 5), t0));
    auto e = rejection(p.on_metadata(meta(frame, 3, 5), t0));
    CHECK(e.code == ec::overloaded);
    check_ref(e, frame, 3);
    CHECK(e.message.find("metadata") != std::string::npos);
    CHECK(p.unpaired_count() == 3);
    // A resend of a waiting one replaces it (no growth), and a metadata completing a waiting
    // blob needs no room.
    as<pairing::waiting>(p.on_metadata(meta(frame, 2, 5), t0));
    as<pairing::waiting>(p.on_blob(blob_of(audio, 0, "12345"), t0));
    as<pairing::complete>(p.on_metadata(meta(audio, 0, 5), t0));
    // Room again once a waiting one pairs.
    as<pairing::complete>(p.on_blob(blob_of(frame, 0, "12345"), t0));
    as<pairing::waiting>(p.on_metadata(meta(frame, 3, 5), t0));
    CHECK(p.unpaired_count() == 3);
  }

  TEST_CASE_FIXTURE(pairing_fixture, "refuses a blob past the unpaired budget as overloaded and drops it") {
    pairing_config cfg;
    cfg.max_unpaired_bytes = 10;
    pairing p{cfg};
    as<pairing::waiting>(p.on_blob(blob_of(audio, 0, "123456"), t0));
    auto e = rejection(p.on_blob(blob_of(audio, 1, "12345"), t0));
    CHECK(e.code == ec::overloaded);
    check_ref(e, audio, 1);
    CHECK(e.message.find("budget") != std::string::npos);
    CHECK(p.unpaired_bytes() == 6);
    CHECK(p.unpaired_count() == 1);
    CHECK_MESSAGE(payloads.alive_bytes() == 6, "the refused blob is dropped and the waiting one kept");
    // A refused resend of a waiting index leaves the waiting blob in place.
    CHECK(rejection(p.on_blob(blob_of(audio, 0, std::string(11, 'r')), t0)).code == ec::overloaded);
    CHECK(payloads.alive_bytes() == 6);
    // Exactly at the budget is allowed; a replacement counts only its net growth.
    as<pairing::waiting>(p.on_blob(blob_of(audio, 1, "1234"), t0));
    CHECK(payloads.alive_bytes() == 10);
    as<pairing::waiting>(p.on_blob(blob_of(audio, 0, "12"), t0));
    CHECK(p.unpaired_bytes() == 6);
    CHECK(payloads.alive_bytes() == 6);
    // A blob that completes a waiting metadata needs no budget.
    as<pairing::waiting>(p.on_metadata(meta(frame, 0, 20), t0));
    auto c = as<pairing::complete>(p.on_blob(blob_of(frame, 0, std::string(20, 'j')), t0));
    CHECK(payloads.alive_bytes() == 26);
  }

  TEST_CASE_FIXTURE(pairing_fixture, "drops a binary frame that claims to be a response") {
    pairing p{pairing_config{}};
    auto e = rejection(p.on_blob(blob_of(item_kind::response, 1, "eee"), t0));
    CHECK(e.code == ec::bad_message);
    CHECK(p.unpaired_count() == 0);
    CHECK(payloads.alive_bytes() == 0);
  }

  TEST_CASE_FIXTURE(pairing_fixture, "expires a lone metadata at exactly the orphan timeout and not before") {
    pairing_config cfg;
    cfg.orphan_timeout = 1000ms;
    pairing p{cfg};
    as<pairing::waiting>(p.on_metadata(meta(audio, 8, 3), t0));
    CHECK(p.expire(t0 + 999ms).empty());
    CHECK(p.unpaired_count() == 1);
    auto errors = p.expire(t0 + 1000ms);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == ec::orphan_expired);
    check_ref(errors[0], audio, 8);
    CHECK(p.unpaired_count() == 0);
    CHECK(p.expire(t0 + 5000ms).empty());
  }

  TEST_CASE_FIXTURE(pairing_fixture, "expires a lone blob at exactly the orphan timeout and drops its buffer") {
    pairing_config cfg;
    cfg.orphan_timeout = 1000ms;
    pairing p{cfg};
    as<pairing::waiting>(p.on_blob(blob_of(frame, 5, "abc"), t0));
    as<pairing::waiting>(p.on_blob(blob_of(frame, 6, "later"), t0 + 500ms));
    CHECK(p.expire(t0 + 999ms).empty());
    CHECK_MESSAGE(payloads.alive_bytes() == 8, "blobs inside the timeout are kept");
    auto errors = p.expire(t0 + 1000ms);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == ec::orphan_expired);
    check_ref(errors[0], frame, 5);
    CHECK(p.unpaired_bytes() == 5);
    CHECK_MESSAGE(payloads.alive_bytes() == 5, "the expired blob is dropped, the younger one kept");
    CHECK(p.expire(t0 + 1500ms).size() == 1);
    CHECK(p.unpaired_bytes() == 0);
    CHECK(payloads.alive_bytes() == 0);
  }

  TEST_CASE_FIXTURE(pairing_fixture, "the next expiry is the oldest waiting half's deadline, each on its own clock") {
    pairing_config cfg;
    cfg.orphan_timeout = 1000ms;
    pairing p{cfg};
    CHECK_FALSE_MESSAGE(p.next_expiry(t0, t0).has_value(), "nothing waits, nothing to check");
    as<pairing::waiting>(p.on_blob(blob_of(frame, 5, "abc"), t0 + 200ms));
    as<pairing::waiting>(p.on_metadata(meta(audio, 8, 3), t0 + 100ms)); // metadata clock
    // Real time 400 ms; the metadata clock is 300 ms behind (the connection was unread 300 ms).
    auto next = p.next_expiry(t0 + 400ms, t0 + 100ms);
    REQUIRE(next.has_value());
    CHECK_MESSAGE(*next == 800ms, "the blob's deadline (1,200 ms) comes before the metadata's (1,100 + 300 ms)");
    as<pairing::complete>(p.on_blob(blob_of(audio, 8, "xyz"), t0 + 400ms));
    as<pairing::complete>(p.on_metadata(meta(frame, 5, 3), t0 + 400ms));
    CHECK_FALSE(p.next_expiry(t0 + 400ms, t0 + 400ms).has_value());
    as<pairing::waiting>(p.on_metadata(meta(audio, 9, 3), t0 + 500ms));
    next = p.next_expiry(t0 + 900ms, t0 + 700ms);
    REQUIRE(next.has_value());
    CHECK(*next == 800ms);
    CHECK_MESSAGE(p.expire(t0 + 900ms + *next, t0 + 1500ms).size() == 1, "the metadata expires at that deadline");
  }

  TEST_CASE_FIXTURE(pairing_fixture, "stores a resend anew after the spool failed the original") {
    pairing p{pairing_config{}};
    as<pairing::complete>(send_pair(p, audio, 4, "bytes"));
    CHECK(as<pairing::duplicate>(send_pair(p, audio, 4, "bytes")).pending);
    CHECK(p.failed(audio, 4) == 1);
    CHECK(p.held_indexes(audio).empty());
    // Other bytes are no conflict either: nothing is stored at this index.
    as<pairing::complete>(send_pair(p, audio, 4, "other"));
    CHECK(p.committed(audio, 4) == 0);
    CHECK(p.held_indexes(audio) == std::vector<uint32_t>{4});
  }

  TEST_CASE_FIXTURE(pairing_fixture, "keeps a committed item held when a failure is reported for it") {
    pairing p{pairing_config{}};
    as<pairing::complete>(send_pair(p, frame, 1, "kept"));
    p.committed(frame, 1);
    CHECK(p.failed(frame, 1) == 0);
    CHECK(p.held_indexes(frame) == std::vector<uint32_t>{1});
    CHECK(p.failed(frame, 99) == 0);
    CHECK(p.committed(frame, 99) == 0);
  }

  TEST_CASE_FIXTURE(pairing_fixture, "holds exactly the blobs waiting for metadata through a mixed sequence") {
    pairing_config cfg;
    cfg.max_unpaired_bytes = 12;
    cfg.orphan_timeout = 100ms;
    pairing p{cfg};
    // The completed payloads stand in for the spool: held here, so they stay alive.
    std::vector<pairing::complete> completed;
    uint64_t completed_bytes = 0;
    auto keep = [&](pairing::outcome o) {
      if (auto c = std::get_if<pairing::complete>(&o)) {
        completed_bytes += c->payload.size();
        completed.push_back(std::move(*c));
      }
      // After every step the only live bytes are the waiting blobs and the completed items.
      CHECK(payloads.alive_bytes() == p.unpaired_bytes() + completed_bytes);
      return o;
    };
    auto blob_in = [&](item_kind kind, uint32_t index, const std::string& payload) {
      // The argument may live until the end of the full expression: check after it.
      auto o = p.on_blob(blob_of(kind, index, payload), t0);
      return keep(std::move(o));
    };
    auto meta_in = [&](item_kind kind, uint32_t index, uint64_t size) {
      return keep(p.on_metadata(meta(kind, index, size), t0));
    };
    meta_in(audio, 0, 5);
    as<pairing::complete>(blob_in(audio, 0, "aaaaa"));
    as<pairing::waiting>(blob_in(audio, 0, "aaaaa"));
    as<pairing::duplicate>(meta_in(audio, 0, 5));
    as<pairing::waiting>(blob_in(audio, 1, "bbbbbbbb"));
    as<pairing::waiting>(blob_in(audio, 1, "bbbbbb"));
    as<pairing::rejected>(blob_in(audio, 2, "ccccccc"));
    as<pairing::rejected>(meta_in(audio, 1, 7));
    as<pairing::waiting>(blob_in(frame, 0, "dddd"));
    as<pairing::rejected>(meta_in(frame, 0, 5));
    meta_in(frame, 1, 3);
    as<pairing::rejected>(blob_in(item_kind::response, 1, "eee"));
    as<pairing::waiting>(blob_in(frame, 2, "ffff"));
    p.load_held(frame, 3, 3);
    meta_in(frame, 3, 3);
    as<pairing::stored>(blob_in(frame, 3, "hhh"));
    meta_in(frame, 4, 2);
    as<pairing::complete>(blob_in(frame, 4, "ii"));
    CHECK(p.unpaired_bytes() == 4);
    CHECK(p.expire(t0 + 100ms).size() == 2);
    CHECK(p.unpaired_count() == 0);
    CHECK(completed_bytes == 7);
    CHECK(payloads.alive_bytes() == 7);
    completed.clear();
    CHECK_MESSAGE(payloads.alive_bytes() == 0, "with nothing waiting the pairing holds no payload");
  }

  TEST_CASE_FIXTURE(pairing_fixture, "lists only committed indexes in ascending order") {
    pairing p{pairing_config{}};
    p.load_held(audio, 9, 9);
    p.load_held(audio, 2, 2);
    p.load_held(frame, 5, 5);
    for (uint32_t i : {7u, 0u, 4u})
      as<pairing::complete>(send_pair(p, audio, i, "x"));
    p.committed(audio, 7);
    p.committed(audio, 0);
    CHECK(p.held_indexes(audio) == std::vector<uint32_t>{0, 2, 7, 9});
    CHECK(p.held_count(audio) == 4);
    CHECK(p.held_indexes(frame) == std::vector<uint32_t>{5});
    CHECK(p.held_count(frame) == 1);
    CHECK(p.held_indexes(item_kind::response).empty());
    p.committed(audio, 4);
    CHECK(p.held_indexes(audio) == std::vector<uint32_t>{0, 2, 4, 7, 9});
  }

  TEST_CASE_FIXTURE(pairing_fixture, "keeps a long session's held items as ranges, and the hashes of the last 16 commits only") {
    pairing p{pairing_config{}};
    p.load_held(frame, 0, 899); // resumed 30 minutes in
    p.load_held(audio, 0, 179);
    // 100 more of each, committed out of order in pairs.
    for (uint32_t i = 0; i < 100; i += 2)
      for (uint32_t j : {i + 1, i}) {
        as<pairing::complete>(send_pair(p, audio, 180 + j, "a" + std::to_string(j)));
        as<pairing::complete>(send_pair(p, frame, 900 + j, "f" + std::to_string(j)));
        p.committed(audio, 180 + j);
        p.committed(frame, 900 + j);
      }
    CHECK(p.held_ranges(audio) == index_ranges{{0, 279}});
    CHECK(p.held_ranges(frame) == index_ranges{{0, 999}});
    CHECK(p.held_count(frame) == 1000);
    // The last 16 commits (8 of each kind) are answered at once...
    CHECK_FALSE(as<pairing::duplicate>(send_pair(p, frame, 998, "f98")).pending);
    CHECK(rejection(send_pair(p, audio, 279, "other")).code == ec::conflict);
    // ...older ones, resumed or committed here, after a look at storage's copy.
    auto old = as<pairing::stored>(send_pair(p, frame, 990, "f90"));
    CHECK(old.hash == payload_hash("f90", 3));
    CHECK(old.size == 3);
    as<pairing::stored>(send_pair(p, audio, 5, "resumed"));
    // A gap stays a gap: index 1000 is new.
    as<pairing::complete>(send_pair(p, frame, 1001, "new"));
    p.committed(frame, 1001);
    CHECK(p.held_ranges(frame) == index_ranges{{0, 999}, {1001, 1001}});
  }

  TEST_CASE_FIXTURE(pairing_fixture, "rejects response metadata as a bad message") {
    pairing p{pairing_config{}};
    auto e = rejection(p.on_metadata(meta(item_kind::response, 1, 0), t0));
    CHECK(e.code == ec::bad_message);
    check_ref(e, item_kind::response, 1);
    CHECK(p.unpaired_count() == 0);
  }
}
