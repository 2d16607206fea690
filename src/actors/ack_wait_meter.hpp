#pragma once
// How long items take now to become durable, one sample at a time for admission (admission.hpp):
// the mean latency of the acks that became durable since the last sample (pair complete ->
// durable: server_metrics::ack_latency), or the age of the spool write still running (a commit,
// or a removal's WAL sync) when that is longer. That age is what shows a disk that hangs: it
// completes no ack, so a mean of the acks completed would read zero while every new item waits
// behind it.
// One sampling thread (the admission probe's).
#include "actors/metrics.hpp"
#include "actors/storage_health.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

namespace mediaspool {

class ack_wait_meter {
public:
  ack_wait_meter(const metrics::histogram& ack_latency, std::shared_ptr<const storage_health> health)
    : acks_(ack_latency), health_(std::move(health)), last_(acks_.total()) {}

  std::chrono::microseconds sample(std::chrono::steady_clock::time_point now) noexcept {
    const auto t = acks_.total();
    std::chrono::microseconds mean{0};
    if (t.count > last_.count)
      mean = std::chrono::microseconds(std::llround((t.sum - last_.sum) * 1e6 / static_cast<double>(t.count - last_.count)));
    last_ = t;
    const auto running = health_ ? std::chrono::duration_cast<std::chrono::microseconds>(
                                     health_->running_for(storage_health::spool, now))
                                 : std::chrono::microseconds{0};
    return std::max(mean, running);
  }

private:
  const metrics::histogram& acks_;
  std::shared_ptr<const storage_health> health_;
  metrics::histogram::totals last_;
};

} // namespace mediaspool
