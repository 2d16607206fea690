// The probe on a real io_context: a handler that holds the loop makes the next timer late by as
// much, and that lateness reaches the admission state.
#include "net/loop_lag_probe.hpp"

#include <boost/asio/post.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

using namespace mediaspool;
using namespace std::chrono_literals;

TEST_SUITE("net.loop_lag_probe") {

TEST_CASE("a loop held by a slow handler is measured late; one that keeps up is not") {
  boost::asio::io_context ioc;
  auto gate = std::make_shared<admission>(100ms);
  auto probe = std::make_shared<net::loop_lag_probe>(ioc, gate, 10ms);
  probe->start();
  // An idle loop: a few periods, every firing close to its deadline.
  ioc.run_for(60ms);
  CHECK(gate->lag() < 20ms);
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
  ioc.run_for(1600ms);
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

} // TEST_SUITE
