#pragma once
// Samples the node's admission signals (actors/admission.hpp) every `period`, on the network loop
// it measures. Its own timer says how late that loop runs: a loop that keeps up fires within a
// fraction of a millisecond; one with more ready sockets than it can serve, or that waits for a
// core, fires late by the time its queue takes. With each firing it also asks how long items
// take now to become durable (`ack_wait`, e.g. actors/ack_wait_meter). stop() (or destroying
// it) before the io_context goes.
#include "actors/admission.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace mediaspool::net {

class admission_probe : public std::enable_shared_from_this<admission_probe> {
public:
  /// Called on the loop at each firing; null: that signal reads zero.
  using ack_wait_source = std::function<std::chrono::microseconds(std::chrono::steady_clock::time_point)>;

  admission_probe(boost::asio::io_context& ioc, std::shared_ptr<admission> target, ack_wait_source ack_wait = {},
                  std::chrono::milliseconds period = std::chrono::milliseconds(100));

  void start();
  void stop();

private:
  void arm();

  boost::asio::steady_timer timer_;
  std::shared_ptr<admission> target_;
  ack_wait_source ack_wait_;
  std::chrono::milliseconds period_;
  bool stopped_ = false;
};

} // namespace mediaspool::net
