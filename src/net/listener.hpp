#pragma once
// Accepts TCP connections on the configured address and starts an http_session for each.
#include "net/net.hpp"
#include "net/server_context.hpp"

#include <memory>

namespace mediaspool::net {

class listener : public std::enable_shared_from_this<listener> {
public:
  /// Binds and listens; throws boost::system::system_error if the address is unavailable.
  /// `io_threads`: how many threads run `ioc` (connections get strands only if more than one).
  listener(asio::io_context& ioc, tcp::endpoint endpoint, server_context& ctx, size_t io_threads);

  void run() { do_accept(); }
  void stop();
  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

private:
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  asio::any_io_executor connection_executor();

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  server_context& ctx_;
  size_t io_threads_;
};

} // namespace mediaspool::net
