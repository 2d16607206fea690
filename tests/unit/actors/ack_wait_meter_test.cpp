// The ack-wait meter alone: acks made durable since the last sample, and a spool commit still
// running, against a real histogram and a real storage_health (no clock of its own: time is given).
#include "actors/ack_wait_meter.hpp"

#include <doctest/doctest.h>

using namespace mediaspool;
using namespace std::chrono_literals;

TEST_SUITE("actors.ack_wait_meter") {

TEST_CASE("the mean of the acks since the last sample, zero when none came and nothing is running") {
  metrics::histogram acks{{0.01, 0.1, 1}};
  auto health = std::make_shared<storage_health>();
  ack_wait_meter meter{acks, health};
  const auto now = std::chrono::steady_clock::now();
  CHECK(meter.sample(now) == 0us);
  acks.observe(0.2);
  acks.observe(0.4);
  CHECK(meter.sample(now) == 300000us);
  CHECK(meter.sample(now) == 0us); // only what came since the last sample counts
  acks.observe(0.005);
  CHECK(meter.sample(now) == 5000us);
}

TEST_CASE("a spool write still running counts with its age until it finishes") {
  metrics::histogram acks{{0.01, 0.1, 1}};
  auto health = std::make_shared<storage_health>();
  ack_wait_meter meter{acks, health};
  const auto t0 = std::chrono::steady_clock::now();
  health->started(storage_health::spool, t0);
  CHECK(meter.sample(t0 + 2s) == 2s); // a hung disk: no ack at all, and the wait still grows
  acks.observe(0.05);
  CHECK(meter.sample(t0 + 3s) == 3s); // the longer of the two
  health->finished(storage_health::spool);
  acks.observe(3.1);
  CHECK(meter.sample(t0 + 4s) == 3100ms);
  CHECK(meter.sample(t0 + 5s) == 0us);
  // A media write in progress is the file writers' business, not the acks'.
  health->started(storage_health::media, t0);
  CHECK(meter.sample(t0 + 6s) == 0us);
}

} // TEST_SUITE
