#include "loadgen/stats.hpp"

#include <doctest/doctest.h>

#include <chrono>

using namespace std::chrono_literals;
using loadgen::thread_stats;

TEST_CASE("thread_stats: acks are counted in the second they came in, with the slowest of each") {
  thread_stats a, b;
  a.record_second(200ms, 5'000'000);
  a.record_second(999ms, 7'000'000);
  a.record_second(2500ms, 1'000'000);
  b.record_second(1s, 90'000'000); // the first instant of second 1 belongs to it
  b.record_second(-3ms, 2'000'000); // a clock read just before the phase began: second 0
  a.merge(b);
  REQUIRE(a.by_second.size() == 3);
  CHECK(a.by_second[0].acks == 3);
  CHECK(a.by_second[0].max_ns == 7'000'000);
  CHECK(a.by_second[1].acks == 1);
  CHECK(a.by_second[1].max_ns == 90'000'000);
  CHECK(a.by_second[2].acks == 1);
  CHECK(a.by_second[2].max_ns == 1'000'000);
}

TEST_CASE("thread_stats: an endless run keeps its per-second rows bounded") {
  thread_stats s;
  s.record_second(std::chrono::hours(48), 1);
  s.record_second(std::chrono::hours(72), 3);
  CHECK(s.by_second.size() == 86400);
  CHECK(s.by_second.back().acks == 2);
  CHECK(s.by_second.back().max_ns == 3);
}
