#pragma once
// Deterministic actor tests (STYLE.md 8.10, the Broker base_fixture pattern on doctest).
//
// With scheduler.policy = testing, CAF's test coordinator runs every (non-detached) actor in the
// test thread, and only when the test calls run(). Time is the coordinator's clock: it moves only
// through advance_time(), which delivers the delayed messages that fall due.
//
// One deliberate difference from Broker's run(): it does NOT call trigger_timeouts(). That call
// fires every pending timer regardless of its time, so an actor that re-arms a timer (the
// session's orphan expiry, the batcher's tick) would loop forever, and a test could not say how
// much time had passed. Timers here fire only through advance_time(d).
//
// Replies are collected by small event-based "asker" actors (request(...)), never by a blocking
// receive: a reply that does not come shows as an empty slot and a failed CHECK, not a hang.
#include "actors/protocol.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mediaspool::test {

/// The configuration of every deterministic actor test.
struct coordinator_config : caf::actor_system_config {
  coordinator_config() {
    set("scheduler.policy", caf::atom("testing"));
    // Renders our codes by name in failure messages (sys.render(err)).
    add_error_category(caf::atom("mediaspool"), [](uint8_t code, caf::atom_value, const caf::message&) {
      return std::string{"mediaspool: "} + to_string(static_cast<ec>(code));
    });
  }
};

/// The reply to one request: empty until it arrives.
template <class T>
struct reply_slot {
  std::optional<T> value;
  std::optional<caf::error> error;
  bool answered() const noexcept { return value.has_value() || error.has_value(); }
};

class coordinator_fixture {
public:
  coordinator_fixture()
    : sys(init_log(cfg)), self(sys, true),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {}

  // Actors that re-arm timers would keep the system alive (STACK.md pitfall 4): everything
  // spawned through this fixture gets an exit, and the exits are processed here.
  virtual ~coordinator_fixture() { shutdown(); }

  coordinator_fixture(const coordinator_fixture&) = delete;
  coordinator_fixture& operator=(const coordinator_fixture&) = delete;

  /// Runs every actor that has a message until none has one. Time does not move.
  void run() {
    while (sched.has_job())
      sched.run();
  }

  /// Moves the coordinator's clock by `d`, delivers what fell due, and runs. Returns how many
  /// timeouts fell due.
  size_t advance_time(caf::timespan d) {
    const size_t due = sched.clock().advance_time(d);
    run();
    return due;
  }

  /// Spawns without the detached flag (it would escape the coordinator, STYLE.md 8.4) and
  /// remembers the actor for the exit at teardown.
  template <class... Ts>
  auto spawn(Ts&&... xs) {
    auto h = sys.spawn(std::forward<Ts>(xs)...);
    spawned_.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

  /// Sends a request from a fresh asker actor. Call run() (or advance_time) and then look at
  /// the slot; it stays empty while the receiver has not answered.
  template <class T, class Handle, class... Ts>
  std::shared_ptr<reply_slot<T>> request(const Handle& dest, Ts... xs) {
    auto slot = std::make_shared<reply_slot<T>>();
    auto asker = sys.spawn([=](caf::event_based_actor* me) {
      me->request(dest, caf::infinite, xs...)
        .then([=](T& x) { slot->value = std::move(x); }, [=](caf::error& e) { slot->error = std::move(e); });
    });
    spawned_.push_back(asker);
    return slot;
  }

  /// request(), run(), and the answer; fails the test case if there is none or an error.
  template <class T, class Handle, class... Ts>
  T ask(const Handle& dest, Ts... xs) {
    auto slot = request<T>(dest, std::move(xs)...);
    run();
    REQUIRE_MESSAGE(slot->answered(), "the actor did not answer the request");
    REQUIRE_MESSAGE(!slot->error, "the actor answered with an error: " << sys.render(*slot->error));
    return std::move(*slot->value);
  }

  /// Observes the termination of `a`: the slot holds the exit reason once `a` is gone.
  std::shared_ptr<std::optional<caf::error>> watch(const caf::actor& a) {
    auto down = std::make_shared<std::optional<caf::error>>();
    auto watcher = sys.spawn([=](caf::event_based_actor* me) -> caf::behavior {
      me->set_down_handler([=](caf::down_msg& dm) {
        *down = dm.reason;
        me->quit();
      });
      me->monitor(a);
      return {[](atom::ok) {}}; // nothing to do but wait for the down message
    });
    spawned_.push_back(watcher);
    run();
    return down;
  }

  /// Ends every actor spawned through the fixture. A derived fixture whose members the actors
  /// use (a spool, a temp folder) calls it first in its own destructor.
  void shutdown() {
    for (auto& a : std::exchange(spawned_, {}))
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  /// The coordinator clock's current time (what actors see as self->clock().now()).
  caf::actor_clock::time_point now() const { return sched.clock().now(); }

  coordinator_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  caf::scheduler::test_coordinator& sched;

private:
  // The actors log through spdlog; only warnings and errors are worth a test's output.
  static coordinator_config& init_log(coordinator_config& c) {
    spdlog::set_level(spdlog::level::warn);
    return c;
  }

  std::vector<caf::actor> spawned_;
};

} // namespace mediaspool::test
