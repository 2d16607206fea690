#include "net/listener.hpp"

#include "actors/log.hpp"
#include "net/http_session.hpp"

namespace mediaspool::net {

listener::listener(asio::io_context& ioc, tcp::endpoint endpoint, server_context& ctx)
  : acceptor_(ioc), ctx_(ctx) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void listener::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ec;
    self->acceptor_.close(ec);
  });
}

void listener::do_accept() {
  acceptor_.async_accept(beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted)
    return;
  if (ec) {
    log::net().warn("accept: {}", ec.message());
  } else {
    // Without TCP_NODELAY every small ack waits ~40 ms for Nagle + delayed ACK (STACK.md).
    socket.set_option(tcp::no_delay(true), ec);
    start_http_session(std::move(socket), ctx_);
  }
  do_accept();
}

} // namespace mediaspool::net
