// The process in-flight budget and its line of waiting connections (net/flow_budget.hpp), driven
// by hand: a turn here records who was served, as a connection's would post its next read.
#include "net/flow_budget.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace mediaspool::net;
using namespace std::chrono_literals;

TEST_SUITE("net.flow_budget") {

TEST_CASE("connections that find the budget spent are served in the order they stopped") {
  flow_budget b{100};
  std::vector<std::string> served;
  auto turn_of = [&](std::string who) { return [&served, who] { served.push_back(who); }; };
  b.take(100);
  REQUIRE(b.spent());
  b.wait(turn_of("a"));
  b.wait(turn_of("b"));
  b.wait(turn_of("c"));
  CHECK(served.empty());
  CHECK(b.line_waiting());
  // Bytes coming back while the budget stays spent serve no one.
  b.take(10);
  b.release(10);
  CHECK(served.empty());
  // Each release that leaves room serves the front of the line, one connection each.
  b.release(40);
  CHECK(served == std::vector<std::string>{"a"});
  b.release(10);
  CHECK(served == std::vector<std::string>{"a", "b"});
  // A connection served whose read found room passes the turn on (ws_connection::on_turn).
  b.pass_turn();
  CHECK(served == std::vector<std::string>{"a", "b", "c"});
  CHECK_FALSE(b.line_waiting());
  b.pass_turn(); // nobody left: nothing happens
  CHECK(served.size() == 3);
}

TEST_CASE("a connection that joins the line after the room came back is not forgotten") {
  // The connection saw spent() and then the bytes came back before it joined: with nobody in
  // line then, that release served no one, so wait() itself must serve the front.
  flow_budget b{100};
  int served = 0;
  b.take(100);
  bool saw_spent = b.spent();
  b.release(100);
  REQUIRE(saw_spent);
  b.wait([&] { ++served; });
  CHECK(served == 1);
  CHECK_FALSE(b.line_waiting());
}

TEST_CASE("clear_line forgets the waiting turns") {
  flow_budget b{1};
  int served = 0;
  b.take(1);
  b.wait([&] { ++served; });
  b.clear_line();
  CHECK_FALSE(b.line_waiting());
  b.release(1);
  CHECK(served == 0);
}

TEST_CASE("the stall meter adds up the waits, counting one still going on") {
  stall_meter m;
  auto t = stall_meter::clock::time_point{} + 1s;
  CHECK(m.total(t) == 0s);
  m.begin(t);
  CHECK(m.total(t + 2s) == 2s);
  m.begin(t + 1s); // already stalled: the first start counts
  m.end(t + 3s);
  CHECK(m.total(t + 10s) == 3s);
  m.end(t + 11s); // not stalled: nothing changes
  m.begin(t + 20s);
  CHECK(m.total(t + 21s) == 4s);
}

TEST_CASE("the overdraft for finishing a pair is an eighth of the limit, at least 16 MiB, and never overflows") {
  flow_budget big{uint64_t{1} << 30};
  big.take((uint64_t{1} << 30) + (uint64_t{1} << 27) - 1);
  CHECK(big.spent());
  CHECK(big.overdraft_left());
  big.take(1);
  CHECK_FALSE(big.overdraft_left());

  flow_budget tiny{1};
  tiny.take(16u << 20);
  CHECK(tiny.overdraft_left()); // 1 + 16 MiB
  tiny.take(1);
  CHECK_FALSE(tiny.overdraft_left());

  flow_budget huge{UINT64_MAX - 5};
  huge.take(UINT64_MAX - 1);
  CHECK(huge.overdraft_left()); // the bound saturates instead of wrapping to a small number
}

} // TEST_SUITE
