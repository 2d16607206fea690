#include "loadgen/histogram.hpp"

#include <doctest/doctest.h>

#include <cstdint>

using loadgen::histogram;

namespace {

// The histogram promises each value to within 1 / 2^(bits - 1) of itself.
bool close_to(uint64_t got, uint64_t want, double rel = 1.0 / 64) {
  double g = static_cast<double>(got), w = static_cast<double>(want);
  return g >= w * (1 - rel) && g <= w * (1 + rel);
}

} // namespace

TEST_CASE("histogram: an empty histogram reports zeros") {
  histogram h;
  CHECK(h.count() == 0);
  CHECK(h.percentile(50) == 0);
  CHECK(h.percentile(100) == 0);
  CHECK(h.max() == 0);
  CHECK(h.min() == 0);
  CHECK(h.mean() == 0);
}

TEST_CASE("histogram: small values are exact") {
  histogram h;
  for (uint64_t v = 1; v <= 100; ++v)
    h.record(v);
  CHECK(h.percentile(50) == 50);
  CHECK(h.percentile(99) == 99);
  CHECK(h.percentile(1) == 1);
  CHECK(h.percentile(0) == 1);
  CHECK(h.percentile(100) == 100);
  CHECK(h.mean() == doctest::Approx(50.5));
}

TEST_CASE("histogram: percentiles of a uniform range are within the bucket precision") {
  histogram h; // nanoseconds: 1 us .. 10 ms
  for (uint64_t us = 1; us <= 10000; ++us)
    h.record(us * 1000);
  CHECK(h.count() == 10000);
  CHECK(close_to(h.percentile(50), 5000 * 1000));
  CHECK(close_to(h.percentile(95), 9500 * 1000));
  CHECK(close_to(h.percentile(99), 9900 * 1000));
  CHECK(close_to(h.percentile(99.9), 9990 * 1000));
  CHECK(h.percentile(100) == 10000 * 1000);
  CHECK(h.max() == 10000 * 1000);
  CHECK(h.min() == 1000);
  CHECK(h.mean() == doctest::Approx(5000.5 * 1000));
}

TEST_CASE("histogram: a percentile never exceeds the largest sample") {
  histogram h;
  h.record(1000003);
  CHECK(h.percentile(50) == 1000003);
  CHECK(h.percentile(99.9) == 1000003);
}

TEST_CASE("histogram: a skewed distribution puts the tail where it is") {
  histogram h;
  h.record_n(1000, 990); // 99% fast
  h.record_n(50000000, 10); // 1% slow (50 ms)
  CHECK(close_to(h.percentile(50), 1000));
  CHECK(close_to(h.percentile(99), 1000));
  CHECK(close_to(h.percentile(99.5), 50000000));
  CHECK(h.max() == 50000000);
}

TEST_CASE("histogram: buckets tile the value range without gaps") {
  histogram h(5);
  for (size_t i = 1; i + 1 < h.bucket_count(); ++i)
    CHECK(h.bucket_low(i) == h.bucket_high(i - 1) + 1);
  CHECK(h.bucket_high(h.bucket_count() - 1) == UINT64_MAX);
  for (uint64_t v : {uint64_t{0}, uint64_t{31}, uint64_t{32}, uint64_t{1} << 40, UINT64_MAX}) {
    auto i = h.index_of(v);
    CHECK(h.bucket_low(i) <= v);
    CHECK(v <= h.bucket_high(i));
  }
}

TEST_CASE("histogram: merging equals recording everything in one") {
  histogram a, b, all;
  for (uint64_t v = 1; v <= 5000; ++v) {
    (v % 2 ? a : b).record(v * 997);
    all.record(v * 997);
  }
  a.merge(b);
  CHECK(a.count() == all.count());
  CHECK(a.min() == all.min());
  CHECK(a.max() == all.max());
  for (double p : {10.0, 50.0, 90.0, 99.0, 99.9})
    CHECK(a.percentile(p) == all.percentile(p));
  CHECK_THROWS(a.merge(histogram(5)));
}
