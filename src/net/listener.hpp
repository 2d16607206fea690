#pragma once
// Accepts TCP connections on the configured address and starts an http_session for each, on the
// HTTP loop; a WebSocket upgrade then moves to the media loop (http_session).
#include "net/net.hpp"
#include "net/server_context.hpp"

#include <memory>

namespace mediaspool::net {

class listener : public std::enable_shared_from_this<listener> {
public:
  /// Binds and listens; throws boost::system::system_error if the address is unavailable.
  /// `ioc` is run by one thread: its connections need no strand.
  listener(asio::io_context& ioc, tcp::endpoint endpoint, server_context& ctx);

  void run() { do_accept(); }
  void stop();
  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

private:
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);

  tcp::acceptor acceptor_;
  server_context& ctx_;
};

} // namespace mediaspool::net
