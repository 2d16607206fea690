// The admission state alone: samples in, the refusing decision out (no clock, no loop).
#include "actors/admission.hpp"

#include <doctest/doctest.h>

using namespace mediaspool;
using namespace std::chrono_literals;

namespace {

void feed(admission& a, std::chrono::microseconds lag, int samples, std::chrono::microseconds ack_wait = 0us) {
  for (int i = 0; i < samples; ++i)
    a.sample(lag, ack_wait);
}

admission_limits lag_only(std::chrono::microseconds max_lag) { return {max_lag, 0us}; }

} // namespace

TEST_SUITE("actors.admission") {

TEST_CASE("a loop that keeps up takes every session") {
  admission a{lag_only(500ms)};
  feed(a, 300us, 100);
  CHECK_FALSE(a.refusing());
  CHECK(a.lag() < 1ms);
}

TEST_CASE("one slow moment does not turn sessions away, a loop that stays late does") {
  admission a{lag_only(500ms)};
  feed(a, 1ms, 10);
  a.sample(1500ms, 0us); // a quarter of it: 375 ms
  CHECK_FALSE(a.refusing());
  feed(a, 1ms, 20);
  CHECK_FALSE(a.refusing());
  feed(a, 900ms, 3); // 900 * (1 - 0.75^3) = 520 ms
  CHECK(a.refusing());
  CHECK(a.lag() > 500ms);
}

TEST_CASE("once refusing, it takes sessions again only after a calm spell below half the limit") {
  admission a{lag_only(500ms), {}, 50};
  feed(a, 2s, 20);
  REQUIRE(a.refusing());
  feed(a, 400ms, 60); // settles at 400 ms: under the limit, over half of it
  CHECK(a.refusing());
  feed(a, 1ms, 40); // calm for 40 samples (the first few still above half while it decays)...
  CHECK(a.refusing());
  feed(a, 3s, 1); // ...then a lull ends: the calm spell starts again
  feed(a, 1ms, 45);
  CHECK(a.refusing());
  feed(a, 1ms, 10);
  CHECK_FALSE(a.refusing());
}

TEST_CASE("limit zero never refuses, and the lag is still measured") {
  metrics::gauge lag;
  admission a{lag_only(0us), {&lag}};
  feed(a, 5s, 50);
  CHECK_FALSE(a.refusing());
  CHECK(a.lag() > 4s);
  CHECK(lag.value() == a.lag().count());
}

TEST_CASE("acks that wait on the disk turn sessions away while the loop keeps up, calm needs both signals") {
  metrics::gauge shown;
  admission a{{500ms, 1s}, {nullptr, &shown}, 50};
  feed(a, 300us, 20, 20ms); // a node that keeps up: a fast loop, acks in 20 ms
  CHECK_FALSE(a.refusing());
  feed(a, 300us, 1, 3s); // one slow commit (a quarter of it: ~0.77 s) turns nobody away
  CHECK_FALSE(a.refusing());
  feed(a, 300us, 3, 2s); // a disk that stays slow does
  CHECK(a.refusing());
  CHECK(a.ack_wait() > 1s);
  CHECK(shown.value() == a.ack_wait().count());
  CHECK(a.lag() < 1ms);
  // The disk recovers but the loop runs late past half its limit: still not calm.
  feed(a, 300ms, 60, 10ms);
  CHECK(a.refusing());
  feed(a, 300us, 60, 10ms);
  CHECK_FALSE(a.refusing());
}

TEST_CASE("an ack-wait limit of zero never refuses on acks, and the wait is still measured") {
  admission a{{500ms, 0us}};
  feed(a, 1ms, 50, 30s);
  CHECK_FALSE(a.refusing());
  CHECK(a.ack_wait() > 20s);
}

TEST_CASE("refused sessions are counted") {
  metrics::counter refused;
  admission a{lag_only(500ms), {nullptr, nullptr, &refused}};
  a.refused();
  a.refused();
  CHECK(a.refused_total() == 2);
  CHECK(refused.value() == 2);
}

} // TEST_SUITE
