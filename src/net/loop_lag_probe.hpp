#pragma once
// Measures how late the network loop runs: a timer every `period`, each firing compared with its
// deadline. A loop that keeps up fires within a fraction of a millisecond; one with more ready
// sockets than it can serve, or that waits for a core, fires late by the time its queue takes.
// Every sample goes to the node's admission state (actors/admission.hpp). Runs on the loop it
// measures; stop() (or destroying it) before the io_context goes.
#include "actors/admission.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>

namespace mediaspool::net {

class loop_lag_probe : public std::enable_shared_from_this<loop_lag_probe> {
public:
  loop_lag_probe(boost::asio::io_context& ioc, std::shared_ptr<admission> target,
                 std::chrono::milliseconds period = std::chrono::milliseconds(100));

  void start();
  void stop();

private:
  void arm();

  boost::asio::steady_timer timer_;
  std::shared_ptr<admission> target_;
  std::chrono::milliseconds period_;
  bool stopped_ = false;
};

} // namespace mediaspool::net
