#pragma once
// A token bucket: `rate` messages per second on average, bursts of up to `burst`. One per
// WebSocket connection (limits.max-messages-per-second): every message read takes a token, and
// while the bucket is empty the connection reads nothing until the next token is due, so a
// flooding client is slowed by TCP back-pressure (losing nothing, costing no CPU) instead of being
// served faster than the rate. Pure: time is passed in.
#include <algorithm>
#include <chrono>

namespace mediaspool::net {

class rate_limiter {
public:
  using clock = std::chrono::steady_clock;

  /// `rate` <= 0: unlimited.
  rate_limiter(double rate, double burst) : rate_(rate), burst_(std::max(burst, 1.0)), tokens_(burst_) {}

  /// One message was read.
  void consume(clock::time_point now) {
    if (rate_ <= 0)
      return;
    refill(now);
    tokens_ -= 1;
  }

  /// How long until the next message may be read (zero: now).
  clock::duration wait(clock::time_point now) {
    if (rate_ <= 0)
      return clock::duration::zero();
    refill(now);
    if (tokens_ >= 1)
      return clock::duration::zero();
    return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>((1 - tokens_) / rate_));
  }

private:
  void refill(clock::time_point now) {
    if (last_ != clock::time_point{} && now > last_)
      tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
    last_ = std::max(last_, now);
  }

  double rate_;
  double burst_;
  double tokens_;
  clock::time_point last_{};
};

} // namespace mediaspool::net
