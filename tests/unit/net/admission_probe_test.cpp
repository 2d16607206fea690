// The probe on a real io_context: a handler that holds the loop makes the next timer late by as
// much, and that lateness reaches the admission state; so does the ack wait it is given.
#include "net/admission_probe.hpp"

#include <boost/asio/post.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

using namespace mediaspool;
using namespace std::chrono_literals;

TEST_SUITE("net.admission_probe") {

TEST_CASE("a loop held by a slow handler is measured late, one that keeps up is not") {
  boost::asio::io_context ioc;
  auto gate = std::make_shared<admission>(admission_limits{100ms, 0us});
  auto probe = std::make_shared<net::admission_probe>(ioc, gate, nullptr, 10ms);
  probe->start();
  // An idle loop: a few periods, every firing close to its deadline.
  ioc.run_for(60ms);
  CHECK(gate->lag() < 50ms); // well under the 100 ms limit, with room for a busy machine's wake-ups
  CHECK_FALSE(gate->refusing());
  // The stimulus, not a wait for a state: a chain of handlers that each hold the loop for 150 ms
  // keeps it busy for 1.5 s, as a loop with more ready sockets than it can serve would be; every
  // timer firing waits behind one of them.
  std::chrono::microseconds peak{0};
  bool refused = false;
  int held = 0;
  std::function<void()> hold = [&] {
    std::this_thread::sleep_for(150ms);
    peak = std::max(peak, gate->lag());
    refused = refused || gate->refusing();
    if (++held < 10)
      boost::asio::post(ioc, hold);
  };
  boost::asio::post(ioc, hold);
  for (const auto until = std::chrono::steady_clock::now() + 10s; held < 10 && std::chrono::steady_clock::now() < until;)
    ioc.run_for(50ms); // until the chain is done (a busy machine wakes the sleeps late)
  REQUIRE(held == 10);
  CHECK(peak > 100ms);
  CHECK(refused);
  // Stopped, it re-arms nothing: the loop runs out of work at once instead of for the full second.
  probe->stop();
  ioc.restart();
  const auto t0 = std::chrono::steady_clock::now();
  ioc.run_for(1s);
  CHECK(std::chrono::steady_clock::now() - t0 < 500ms);
}

TEST_CASE("each firing samples the ack wait it is given: a slow one turns sessions away on an idle loop") {
  boost::asio::io_context ioc;
  auto gate = std::make_shared<admission>(admission_limits{100ms, 1s});
  std::chrono::microseconds wait{0};
  int asked = 0;
  auto probe = std::make_shared<net::admission_probe>(
    ioc, gate, [&](std::chrono::steady_clock::time_point) { ++asked; return wait; }, 10ms);
  probe->start();
  ioc.run_for(100ms);
  CHECK(asked > 3);
  CHECK_FALSE(gate->refusing());
  wait = 5s; // what the meter reads while a spool commit hangs
  ioc.run_for(150ms);
  CHECK(gate->refusing());
  CHECK(gate->ack_wait() > 1s);
  CHECK(gate->lag() < 100ms);
  probe->stop();
}

} // TEST_SUITE
