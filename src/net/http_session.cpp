#include "net/http_session.hpp"

#include "actors/log.hpp"
#include "net/ws_connection.hpp"

#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <optional>

#include <unistd.h>

namespace mediaspool::net {

namespace {

class http_session : public std::enable_shared_from_this<http_session> {
public:
  http_session(tcp::socket&& socket, server_context& ctx) : stream_(std::move(socket)), ctx_(ctx) {}

  void run() { do_read(); }

private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(ctx_.limits.http_body_limit);
    stream_.expires_after(ctx_.limits.handshake_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&http_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream)
      return close();
    if (ec) {
      // A request too slow (slowloris) or malformed: counted, then the socket is dropped.
      if (ctx_.metrics)
        ctx_.metrics->connection_limits[ec == beast::error::timeout ? server_metrics::handshake_timeout
                                                                    : server_metrics::bad_http]->inc();
      return;
    }
    auto req = parser_->release();
    auto path = std::string(req.target().substr(0, req.target().find('?')));
    if (beast::websocket::is_upgrade(req)) {
      if (path != ctx_.ws_path)
        return write(error_response(req, http::status::not_found, "not_found", "no WebSocket endpoint here"));
      auto origin = req[http::field::origin];
      if (!origin_allowed(ctx_.auth, std::string_view(origin.data(), origin.size()))) {
        log::net().info("ws: upgrade from origin {} refused (not in auth.allowed-origins)", std::string(origin));
        if (ctx_.metrics)
          ctx_.metrics->on_sent(error_reply{ec::forbidden, {}, std::nullopt});
        return write(error_response(req, http::status::forbidden, "forbidden", "this origin may not connect"));
      }
      if (ctx_.connections.load() >= ctx_.limits.max_connections) {
        if (ctx_.metrics)
          ctx_.metrics->connection_limits[server_metrics::max_connections]->inc();
        return write(error_response(req, http::status::service_unavailable, "overloaded", "too many connections"));
      }
      return hand_over(std::move(req));
    }
    // The handler may answer from an actor's thread: the response is posted back onto this
    // connection's loop, through the gate that main closes before the loop is destroyed. The
    // socket waits without a deadline meanwhile.
    stream_.expires_never();
    auto self = shared_from_this();
    auto respond = [self](http_response res) {
      self->ctx_.gate->run([&] {
        asio::post(self->stream_.get_executor(), [self, res = std::move(res)]() mutable {
          std::visit([&](auto& r) { self->write(std::move(r)); }, res);
        });
      });
    };
    if (!ctx_.router->dispatch(req, respond))
      write(error_response(req, http::status::not_found, "not_found", "no such route: " + path));
  }

  // The WebSocket runs on the media loop, not on this one: the socket leaves this loop's reactor
  // and joins the other's, so a media loop running late never delays the accepts, health checks
  // and review routes served here. Nothing follows the upgrade request before the handshake's
  // answer (RFC 6455 4.1), so the read buffer holds nothing to carry over.
  void hand_over(http_request req) {
    stream_.expires_never();
    beast::error_code ec;
    const auto protocol = stream_.socket().local_endpoint(ec).protocol();
    if (ec)
      return; // the peer is gone
    const auto fd = stream_.socket().release(ec);
    if (ec)
      return;
    auto exec = ctx_.ws_executor();
    tcp::socket moved{exec};
    moved.assign(protocol, fd, ec);
    if (ec) {
      ::close(fd);
      log::net().warn("ws: cannot move a connection to the media loop: {}", ec.message());
      return;
    }
    asio::post(exec, [socket = std::move(moved), req = std::move(req), &ctx = ctx_]() mutable {
      start_ws_connection(beast::tcp_stream(std::move(socket)), std::move(req), ctx);
    });
  }

  template <class Response>
  void write(Response&& response) {
    auto res = std::make_shared<std::decay_t<Response>>(std::forward<Response>(response));
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec)
        return;
      if (!res->keep_alive())
        return self->close();
      self->do_read();
    });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  server_context& ctx_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

} // namespace

void start_http_session(tcp::socket socket, server_context& ctx) {
  std::make_shared<http_session>(std::move(socket), ctx)->run();
}

} // namespace mediaspool::net
