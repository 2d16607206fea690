#pragma once
// Whether this node takes new sessions. Under more real-time load than the node can store, the
// bytes of the sessions it already serves wait in their sockets and every ack falls behind, more
// each minute: a new session would only add to that wait. So while the network loop runs late
// (a timer on it fires later than its deadline: net/loop_lag_probe), a session this node does not
// know is refused: with HTTP 503 before the upgrade when the URL names it (net/http_session.cpp;
// a load balancer retries another node), else `overloaded` and close 1013 at session_init, which
// the browser retries later. Resumes are always taken: their sessions hold acked recordings and
// their clients hold the rest (before the upgrade: a session another node took meanwhile is sent
// on, see session_loader.cpp).
//
// Quick to refuse, slow to take again: the lateness is smoothed (each sample weighs a quarter), so
// a single slow moment turns nobody away; the refusing stops only after `calm_samples` samples
// in a row below half the limit (5 s of 100 ms samples), because an overloaded loop has lulls
// of a second or two (measured: 1.3 s late, then 36 ms, then 2.6 s) and sessions taken in a lull
// only add to the next wait. One writer (the probe); any number of readers.
#include "actors/metrics.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>

namespace mediaspool {

class admission {
public:
  /// `max_lag` zero: never refuse. The smoothed lag and the sessions refused go to the given
  /// metrics (/metrics), or to ones of its own when they are null.
  explicit admission(std::chrono::microseconds max_lag, metrics::gauge* lag_gauge = nullptr,
                     metrics::counter* refused_counter = nullptr, unsigned calm_samples = 50)
    : max_lag_us_(max_lag.count()), calm_samples_(calm_samples), lag_(lag_gauge ? *lag_gauge : own_lag_),
      refused_(refused_counter ? *refused_counter : own_refused_) {}

  /// One measurement of the network loop's lateness.
  void loop_lag(std::chrono::microseconds sample) noexcept {
    const double s = static_cast<double>(sample.count() < 0 ? 0 : sample.count());
    smoothed_us_ = smoothed_us_ + 0.25 * (s - smoothed_us_);
    const auto lag = static_cast<int64_t>(smoothed_us_);
    lag_.set(lag);
    if (max_lag_us_ <= 0)
      return;
    if (!refusing_.load(std::memory_order_relaxed)) {
      if (lag > max_lag_us_) {
        refusing_.store(true, std::memory_order_relaxed);
        calm_ = 0;
      }
    } else if (lag >= max_lag_us_ / 2) {
      calm_ = 0;
    } else if (++calm_ >= calm_samples_) {
      refusing_.store(false, std::memory_order_relaxed);
    }
  }

  /// True while new sessions are turned away.
  bool refusing() const noexcept { return refusing_.load(std::memory_order_relaxed); }

  /// The smoothed lateness of the network loop.
  std::chrono::microseconds lag() const noexcept { return std::chrono::microseconds(lag_.value()); }

  /// Counts a session turned away.
  void refused() noexcept { refused_.inc(); }
  uint64_t refused_total() const noexcept { return refused_.value(); }

private:
  const int64_t max_lag_us_;
  const unsigned calm_samples_;
  metrics::gauge own_lag_;
  metrics::counter own_refused_;
  metrics::gauge& lag_;
  metrics::counter& refused_;
  double smoothed_us_ = 0; ///< the probe's thread only
  unsigned calm_ = 0;      ///< samples in a row below half the limit while refusing (probe's thread)
  std::atomic<bool> refusing_{false};
};

} // namespace mediaspool
