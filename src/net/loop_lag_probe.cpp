#include "net/loop_lag_probe.hpp"

namespace mediaspool::net {

loop_lag_probe::loop_lag_probe(boost::asio::io_context& ioc, std::shared_ptr<admission> target,
                               std::chrono::milliseconds period)
  : timer_(ioc), target_(std::move(target)), period_(period) {}

void loop_lag_probe::start() { arm(); }

void loop_lag_probe::stop() {
  stopped_ = true;
  timer_.cancel();
}

void loop_lag_probe::arm() {
  if (stopped_)
    return;
  // The next deadline counts from now, not from the last one: a late loop is measured again
  // one period later instead of firing back to back to catch up.
  timer_.expires_after(period_);
  timer_.async_wait([weak = weak_from_this()](boost::system::error_code err) {
    auto self = weak.lock();
    if (err || !self || self->stopped_)
      return;
    const auto late = std::chrono::steady_clock::now() - self->timer_.expiry();
    self->target_->loop_lag(std::chrono::duration_cast<std::chrono::microseconds>(late));
    self->arm();
  });
}

} // namespace mediaspool::net
