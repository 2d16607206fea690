#include "net/listener.hpp"

#include "actors/log.hpp"
#include "net/http_session.hpp"

namespace mediaspool::net {

listener::listener(asio::io_context& ioc, tcp::endpoint endpoint, server_context& ctx, size_t io_threads)
  : ioc_(ioc), acceptor_(asio::make_strand(ioc)), ctx_(ctx), io_threads_(io_threads) {
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

// With one thread running the io_context its handlers already run one at a time, so its own
// executor keeps a connection's handlers in order as a strand would, without the strand's lock
// and queue, and small enough to live inside the type-erased executor that every operation
// copies (a strand is held on the heap by a shared pointer: an allocation or an atomic count per
// copy). Other threads post to it as safely as to a strand.
asio::any_io_executor listener::connection_executor() {
  if (io_threads_ <= 1)
    return ioc_.get_executor();
  return asio::make_strand(ioc_);
}

void listener::do_accept() {
  acceptor_.async_accept(connection_executor(),
                         beast::bind_front_handler(&listener::on_accept, shared_from_this()));
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
