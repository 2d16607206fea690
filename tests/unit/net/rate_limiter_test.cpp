// The per-connection message rate limit (net/rate_limiter.hpp), on a hand-driven clock.
#include "net/rate_limiter.hpp"

#include <doctest/doctest.h>

using namespace mediaspool::net;
using namespace std::chrono_literals;

TEST_SUITE("net.rate_limiter") {

TEST_CASE("a burst is read at once, then one message per 1/rate seconds") {
  rate_limiter r{10, 5};
  auto t = rate_limiter::clock::time_point{} + 1s;
  for (int i = 0; i < 5; ++i) {
    CHECK(r.wait(t) == rate_limiter::clock::duration::zero());
    r.consume(t);
  }
  CHECK(r.wait(t) == 100ms);
  CHECK(r.wait(t + 50ms) == 50ms);
  CHECK(r.wait(t + 100ms) == rate_limiter::clock::duration::zero());
  r.consume(t + 100ms);
  CHECK(r.wait(t + 100ms) == 100ms);
  // A long pause refills to the burst, not beyond.
  t += 10s;
  for (int i = 0; i < 5; ++i) {
    CHECK(r.wait(t) == rate_limiter::clock::duration::zero());
    r.consume(t);
  }
  CHECK(r.wait(t) > rate_limiter::clock::duration::zero());
}

TEST_CASE("rate 0 is unlimited") {
  rate_limiter r{0, 1};
  auto t = rate_limiter::clock::time_point{} + 1s;
  for (int i = 0; i < 100000; ++i)
    r.consume(t);
  CHECK(r.wait(t) == rate_limiter::clock::duration::zero());
}

} // TEST_SUITE
