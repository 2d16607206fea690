#include "net/admission_probe.hpp"

namespace mediaspool::net {

admission_probe::admission_probe(boost::asio::io_context& ioc, std::shared_ptr<admission> target,
                                 ack_wait_source ack_wait, std::chrono::milliseconds period)
  : timer_(ioc), target_(std::move(target)), ack_wait_(std::move(ack_wait)), period_(period) {}

void admission_probe::start() { arm(); }

void admission_probe::stop() {
  stopped_ = true;
  timer_.cancel();
}

void admission_probe::arm() {
  if (stopped_)
    return;
  // The next deadline counts from now, not from the last one: a late loop is measured again
  // one period later instead of firing back to back to catch up.
  timer_.expires_after(period_);
  timer_.async_wait([weak = weak_from_this()](boost::system::error_code err) {
    auto self = weak.lock();
    if (err || !self || self->stopped_)
      return;
    const auto now = std::chrono::steady_clock::now();
    const auto late = std::chrono::duration_cast<std::chrono::microseconds>(now - self->timer_.expiry());
    self->target_->sample(late, self->ack_wait_ ? self->ack_wait_(now) : std::chrono::microseconds{0});
    self->arm();
  });
}

} // namespace mediaspool::net
