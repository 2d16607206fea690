#pragma once
// Whether this node takes new sessions. Under more real-time load than the node can store, the
// bytes of the sessions it already serves wait in their sockets and every ack falls behind, more
// each minute: a new session would only add to that wait. Two signals say so:
// - the network loop runs late (a timer on it fires later than its deadline: net/admission_probe),
//   which is where the wait shows when the cores are the limit;
// - items take long to become durable (actors/ack_wait_meter: the acks' latency, or the age of a
//   spool write still running), which is where it shows when the disk is: a disk that got slow
//   or hangs leaves the loop idle and on time while every ack waits on it.
// While either is over its limit, a session this node does not know is refused: with HTTP 503
// before the upgrade when the URL names it (net/http_session.cpp; a load balancer retries another
// node), else `overloaded` and close 1013 at session_init, which the browser retries later.
// Resumes are always taken: their sessions hold acked recordings and their clients hold the rest
// (before the upgrade: a session another node took meanwhile is sent on, see session_loader.cpp).
//
// Quick to refuse, slow to take again: each signal is smoothed (each sample weighs a quarter), so
// a single slow moment turns nobody away; the refusing stops only after `calm_samples` samples
// in a row with both below half their limits (5 s of 100 ms samples), because an overloaded loop
// has lulls of a second or two (measured: 1.3 s late, then 36 ms, then 2.6 s) and sessions taken
// in a lull only add to the next wait. One writer (the probe); any number of readers.
#include "actors/metrics.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>

namespace mediaspool {

/// Zero: that signal never refuses (it is still measured).
struct admission_limits {
  std::chrono::microseconds loop_lag{0}; ///< limits.admission-lag
  std::chrono::microseconds ack_wait{0}; ///< limits.admission-ack-wait
};

/// Where the smoothed signals and the refusals are shown (/metrics); null: kept privately.
struct admission_meters {
  metrics::gauge* loop_lag = nullptr;
  metrics::gauge* ack_wait = nullptr;
  metrics::counter* refused = nullptr;
};

class admission {
public:
  explicit admission(admission_limits limits, admission_meters meters = {}, unsigned calm_samples = 50)
    : limits_(limits), calm_samples_(calm_samples), lag_(meters.loop_lag ? *meters.loop_lag : own_lag_),
      ack_wait_(meters.ack_wait ? *meters.ack_wait : own_ack_wait_),
      refused_(meters.refused ? *meters.refused : own_refused_) {}

  /// One measurement of each signal: the network loop's lateness, and how long items take now
  /// to become durable.
  void sample(std::chrono::microseconds loop_lag, std::chrono::microseconds ack_wait) noexcept {
    const auto lag = smooth(lag_smoothed_, loop_lag, lag_);
    const auto wait = smooth(ack_wait_smoothed_, ack_wait, ack_wait_);
    const bool over = above(lag, limits_.loop_lag.count()) || above(wait, limits_.ack_wait.count());
    const bool calm = !half_way(lag, limits_.loop_lag.count()) && !half_way(wait, limits_.ack_wait.count());
    if (!refusing_.load(std::memory_order_relaxed)) {
      if (over) {
        refusing_.store(true, std::memory_order_relaxed);
        calm_ = 0;
      }
    } else if (!calm) {
      calm_ = 0;
    } else if (++calm_ >= calm_samples_) {
      refusing_.store(false, std::memory_order_relaxed);
    }
  }

  /// True while new sessions are turned away.
  bool refusing() const noexcept { return refusing_.load(std::memory_order_relaxed); }

  /// The smoothed lateness of the network loop.
  std::chrono::microseconds lag() const noexcept { return std::chrono::microseconds(lag_.value()); }

  /// The smoothed time items take to become durable.
  std::chrono::microseconds ack_wait() const noexcept { return std::chrono::microseconds(ack_wait_.value()); }

  const admission_limits& limits() const noexcept { return limits_; }

  /// Counts a session turned away.
  void refused() noexcept { refused_.inc(); }
  uint64_t refused_total() const noexcept { return refused_.value(); }

private:
  static int64_t smooth(double& smoothed, std::chrono::microseconds sample, metrics::gauge& shown) noexcept {
    const double s = static_cast<double>(sample.count() < 0 ? 0 : sample.count());
    smoothed += 0.25 * (s - smoothed);
    const auto v = static_cast<int64_t>(smoothed);
    shown.set(v);
    return v;
  }
  /// A limit of zero (or less) is off.
  static bool above(int64_t value, int64_t limit) noexcept { return limit > 0 && value > limit; }
  static bool half_way(int64_t value, int64_t limit) noexcept { return limit > 0 && value >= limit / 2; }

  const admission_limits limits_;
  const unsigned calm_samples_;
  metrics::gauge own_lag_;
  metrics::gauge own_ack_wait_;
  metrics::counter own_refused_;
  metrics::gauge& lag_;
  metrics::gauge& ack_wait_;
  metrics::counter& refused_;
  double lag_smoothed_ = 0;      ///< the probe's thread only
  double ack_wait_smoothed_ = 0; ///< likewise
  unsigned calm_ = 0; ///< samples in a row with both below half their limits while refusing (probe's thread)
  std::atomic<bool> refusing_{false};
};

} // namespace mediaspool
