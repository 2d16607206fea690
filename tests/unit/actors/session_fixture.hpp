#pragma once
// Stand-ins and fixture for the session actor tests: the real session behaviour and the real
// registry on the test coordinator, a recording outbox in place of the connection, a spool
// writer that records appends (the test answers `durable`/`spoolfail` the way the real one
// does), and a loader that answers session_init with a chosen result, an error, or only when
// released. Payloads come from a tracker: credit is "payload bytes alive", so the tests check
// who still holds a payload instead of counting credit messages.
#include "actors/registry.hpp"
#include "actors/session.hpp"
#include "support/coordinator_fixture.hpp"
#include "support/payload_tracker.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mediaspool::test {

inline const std::string sid = "0f8fad5b-d9cb-469f-a165-70867728950e";
inline const std::string other_sid = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

// -- stand-ins ------------------------------------------------------------------------------
// All of them are called in the test thread only (the coordinator runs every actor there), so
// the shared records need no lock.

/// Records what the session tells its connection.
struct recording_outbox : outbox {
  std::vector<server_message> sent;
  std::vector<uint16_t> closes;
  std::chrono::steady_clock::duration stall{}; ///< what the connection reports as stalled so far

  void send(server_message msg) override { sent.push_back(std::move(msg)); }
  void close(uint16_t code, std::string) override { closes.push_back(code); }
  std::chrono::steady_clock::duration stalled() const override { return stall; }

  template <class T>
  std::vector<T> all() const {
    std::vector<T> out;
    for (auto& m : sent)
      if (auto x = std::get_if<T>(&m))
        out.push_back(*x);
    return out;
  }
};

/// The appends keep their payloads, as the real spool writer does until the file is written;
/// session_fixture::spool_lets_go stands for that moment.
struct spool_log {
  std::vector<spool_item> appends;
  std::vector<std::string> ends;
  end_result totals{3, 2};
};

inline spool_writer_actor::behavior_type fake_spool(spool_writer_actor::pointer, std::shared_ptr<spool_log> log) {
  return {
    [=](atom::append, spool_item& it) { log->appends.push_back(std::move(it)); },
    [=](atom::filedone, files_done&) {},
    [=](atom::dbdone, std::vector<storage::item_key>&) {},
    [=](atom::end, std::string& s) -> end_result {
      log->ends.push_back(s);
      return log->totals;
    },
    [=](atom::recover) -> uint64_t { return 0; },
    [=](atom::stats) -> spool_stats { return {}; },
    [=](atom::flush) {},
    [=](atom::retry) {},
  };
}

/// The loader interface plus `ok`: deliver the replies held back so far.
using fake_loader_actor = session_loader_actor::extend<caf::reacts_to<atom::ok>>;

struct loader_log {
  std::vector<session_init> inits;
  init_result result;
  std::optional<ec> failure;
  bool hold = false;
  std::vector<caf::typed_response_promise<init_result>> held;
  std::map<storage::item_key, stored_copy> copies; ///< lookup answers; absent: not found
  std::vector<storage::item_key> lookups;
  std::optional<ec> lookup_failure;
  bool hold_lookups = false; ///< answer lookups only at `ok`
  std::vector<std::pair<caf::typed_response_promise<stored_copy>, storage::item_key>> held_lookups;
};

inline fake_loader_actor::behavior_type fake_loader(fake_loader_actor::pointer self, std::shared_ptr<loader_log> log) {
  return {
    [=](atom::init, const session_init& in) -> caf::result<init_result> {
      log->inits.push_back(in);
      if (log->hold) {
        auto rp = self->make_response_promise<init_result>();
        log->held.push_back(rp);
        return rp;
      }
      if (log->failure)
        return make_error(*log->failure);
      return log->result;
    },
    [=](atom::ok) {
      for (auto& rp : std::exchange(log->held, {}))
        rp.deliver(log->result);
      for (auto& [rp, key] : std::exchange(log->held_lookups, {})) {
        auto it = log->copies.find(key);
        rp.deliver(it == log->copies.end() ? stored_copy{} : it->second);
      }
    },
    [=](atom::admit, const std::string&, int64_t) { return true; }, // asked by the HTTP loop, not by sessions
    [=](atom::lookup, const storage::item_key& key) -> caf::result<stored_copy> {
      log->lookups.push_back(key);
      if (log->hold_lookups) {
        auto rp = self->make_response_promise<stored_copy>();
        log->held_lookups.emplace_back(rp, key);
        return rp;
      }
      if (log->lookup_failure)
        return make_error(*log->lookup_failure);
      auto it = log->copies.find(key);
      return it == log->copies.end() ? stored_copy{} : it->second;
    },
    [=](atom::flush) {}, // the real loader's batching message to itself; a test loader has no batch
  };
}

// -- inputs ---------------------------------------------------------------------------------

inline std::string payload_of(item_kind kind, uint32_t index, size_t size = 1000) {
  std::string p(size, '\0');
  for (size_t i = 0; i < size; ++i)
    p[i] = static_cast<char>((i * 31 + index * 7 + static_cast<unsigned>(kind)) & 0xff);
  return p;
}

inline item_metadata meta(item_kind kind, uint32_t index, uint64_t size, const std::string& id = sid) {
  auto name = kind == item_kind::audio ? "chunk_" + std::to_string(index) + ".webm"
                                       : "frame_" + std::to_string(index) + ".jpg";
  return item_metadata{id, kind, index, size, name, "{\"index\":" + std::to_string(index) + "}"};
}

struct client {
  caf::actor actor;
  std::shared_ptr<recording_outbox> out;
};

struct session_fixture : coordinator_fixture {
  std::shared_ptr<spool_log> spool_rec = std::make_shared<spool_log>();
  std::shared_ptr<loader_log> loader_rec = std::make_shared<loader_log>();
  spool_writer_actor spool;
  fake_loader_actor loader;
  std::shared_ptr<session_services> svc = std::make_shared<session_services>();
  payload_tracker payloads;

  session_fixture() {
    spool = spawn(fake_spool, spool_rec);
    loader = spawn(fake_loader, loader_rec);
    svc->spool = spool;
    svc->loaders = {loader};
    svc->registry = spawn(registry);
    // Orphan timeout 5 s, checked every second: the expiry test counts on these numbers.
    svc->pairing = pairing_config{std::chrono::milliseconds(5000), 1u << 20};
    svc->expire_interval = std::chrono::milliseconds(1000);
    run();
  }

  client connect() {
    auto out = std::make_shared<recording_outbox>();
    auto a = spawn(session, outbox_ptr{out}, std::shared_ptr<const session_services>{svc});
    run();
    return {a, out};
  }

  void init(const client& c, const std::string& id = sid) {
    self->send(c.actor, session_init{id, 42, 7, "2024-01-01T00:00:00Z", "", std::nullopt});
    run();
  }

  client ready() {
    auto c = connect();
    init(c);
    REQUIRE_MESSAGE(c.out->all<init_ack>().size() == 1, "session_init must be answered with init_ack");
    return c;
  }

  void send_meta(const client& c, item_kind kind, uint32_t index, size_t size = 1000) {
    self->send(c.actor, meta(kind, index, size));
    run();
  }

  void send_blob(const client& c, item_kind kind, uint32_t index, size_t size = 1000,
                 const std::string& id = sid) {
    self->send(c.actor, blob{id, kind, index, payloads.make(payload_of(kind, index, size))});
    run();
  }

  void send_pair(const client& c, item_kind kind, uint32_t index, size_t size = 1000, bool meta_first = true) {
    if (meta_first) {
      send_meta(c, kind, index, size);
      send_blob(c, kind, index, size);
    } else {
      send_blob(c, kind, index, size);
      send_meta(c, kind, index, size);
    }
  }

  // Answers the i-th append the way the spool writer does after its commit.
  void durable(size_t i) {
    REQUIRE(i < spool_rec->appends.size());
    auto& it = spool_rec->appends[i];
    caf::anon_send(it.session, atom::durable::value, std::vector<storage::item_key>{it.key});
    run();
  }

  void spoolfail(size_t i, ec code = ec::internal) {
    REQUIRE(i < spool_rec->appends.size());
    auto& it = spool_rec->appends[i];
    caf::anon_send(it.session, atom::spoolfail::value, it.key, make_error(code));
    run();
  }

  // The spool writer drops the i-th append's payload (its file is written, or its commit failed).
  void spool_lets_go(size_t i) {
    REQUIRE(i < spool_rec->appends.size());
    spool_rec->appends[i].payload = {};
  }

  // Payload bytes the fake spool writer still holds.
  uint64_t spool_bytes() const {
    uint64_t n = 0;
    for (auto& it : spool_rec->appends)
      n += it.payload.size();
    return n;
  }

  // Payload bytes alive that the spool does not hold: what the sessions (or a mailbox) keep.
  uint64_t session_bytes() const { return payloads.alive_bytes() - spool_bytes(); }
};

} // namespace mediaspool::test
