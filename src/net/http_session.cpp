#include "net/http_session.hpp"

#include "actors/log.hpp"
#include "net/ws_connection.hpp"

#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <caf/event_based_actor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <unistd.h>

namespace mediaspool::net {

namespace {

/// How long an upgrade waits for a loader's admission verdict before it is taken anyway.
constexpr std::chrono::seconds admission_timeout{5};

// A WebSocket's place in ctx.connections (limits.max-connections), taken on the HTTP loop when
// its upgrade is accepted, so a media loop running late cannot let more in than the limit; the
// connection gives it back when it ends. Given back here if the connection never starts.
class connection_slot {
public:
  explicit connection_slot(server_context& ctx) : ctx_(&ctx) { ctx.connections++; }
  connection_slot(connection_slot&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
  connection_slot& operator=(connection_slot&&) = delete;
  ~connection_slot() {
    if (ctx_)
      ctx_->connections--;
  }
  void hand_to_connection() { ctx_ = nullptr; }

private:
  server_context* ctx_;
};

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
      if (ctx_.live.closed())
        return write(error_response(req, http::status::service_unavailable, "overloaded", "the server is stopping"));
      if (ctx_.connections.load() >= ctx_.limits.max_connections) {
        if (ctx_.metrics)
          ctx_.metrics->connection_limits[server_metrics::max_connections]->inc();
        return write(error_response(req, http::status::service_unavailable, "overloaded", "too many connections"));
      }
      connection_slot slot{ctx_};
      if (auto sid = routing_sid(req); !sid.empty() && ctx_.admission_gate && ctx_.admission_gate->refusing() &&
                                        !ctx_.services->loaders.empty())
        return admit_then_hand_over(std::move(req), std::move(slot), sid);
      return hand_over(std::move(req), std::move(slot));
    }
    // The handler may answer from an actor's thread: the answer is posted back onto this loop
    // (on_loop), and the socket waits without a deadline meanwhile. The session keeps itself
    // alive until then; the responder holds it only weakly, so one that an actor drops after the
    // loops are gone frees nothing bound to them, and one dropped unanswered closes the connection.
    stream_.expires_never();
    waiting_ = shared_from_this();
    auto slot = std::make_shared<answer_slot>(ctx_.gate, weak_from_this());
    auto respond = [slot](http_response res) {
      slot->answer([res = std::move(res)](http_session& self) mutable {
        std::visit([&](auto& r) { self.write(std::move(r)); }, res);
      });
    };
    if (!ctx_.router->dispatch(req, respond))
      write(error_response(req, http::status::not_found, "not_found", "no such route: " + path));
  }

  // An answer on its way from an actor (an HTTP route's response, an upgrade's admission
  // verdict), shared by every copy of its callback. It holds the session only weakly; dropped
  // unanswered (the actor system stopping), it closes the connection.
  struct answer_slot {
    answer_slot(std::shared_ptr<io_gate> g, std::weak_ptr<http_session> s) : gate(std::move(g)), session(std::move(s)) {}
    ~answer_slot() {
      if (!answered)
        on_loop(gate, session, [](http_session& self) { self.close(); });
    }
    /// Runs `f(session)` on the session's loop.
    template <class F>
    void answer(F&& f) {
      answered = true;
      on_loop(gate, session, std::forward<F>(f));
    }
    std::shared_ptr<io_gate> gate;
    std::weak_ptr<http_session> session;
    bool answered = false;
  };

  // Runs `f(session)` on the session's loop (from any thread) unless main has closed the gate; it
  // ends the wait for an answer. Nothing of the session is touched before the gate is checked:
  // once it is closed the loops, and the server_context the session refers to, may be gone.
  template <class F>
  static void on_loop(const std::shared_ptr<io_gate>& gate, const std::weak_ptr<http_session>& session, F&& f) {
    gate->run([&] {
      auto self = session.lock();
      if (!self)
        return;
      asio::post(self->stream_.get_executor(), [self, f = std::forward<F>(f)]() mutable {
        self->waiting_.reset();
        f(*self);
      });
    });
  }

  // The `sid` a load balancer routes by (deploy/haproxy.cfg); empty if the URL has none.
  static std::string routing_sid(const http_request& req) {
    auto q = req.target().find('?');
    if (q == beast::string_view::npos)
      return {};
    auto params = parse_query(std::string_view(req.target().data() + q + 1, req.target().size() - q - 1));
    auto it = params.find("sid");
    return it == params.end() ? std::string{} : it->second;
  }

  // A node past limits.admission-lag or -ack-wait refuses a session it does not know BEFORE the
  // upgrade, with 503: an HTTP answer a load balancer can retry on another node (deploy/haproxy.cfg: retry-on
  // 503 with redispatch), where the same refusal after the upgrade (overloaded, close 1013) would
  // send the client's every retry back here by the sid hash. A session this node last served (its
  // spool, or the row's node_id) is taken; a new one, or one another node took meanwhile, is sent
  // on (session_loader.cpp, admits). The session_init check stays for URLs without sid.
  void admit_then_hand_over(http_request req, connection_slot slot, const std::string& sid) {
    stream_.expires_never();
    waiting_ = shared_from_this();
    upgrade_.emplace(std::move(req), std::move(slot));
    // The request and the connection slot stay here, on this loop; the actor holds the answer_slot.
    auto verdict = std::make_shared<answer_slot>(ctx_.gate, weak_from_this());
    auto give = [verdict](bool take) { verdict->answer([take](http_session& self) { self.on_verdict(take); }); };
    const auto& loaders = ctx_.services->loaders;
    auto loader = loaders[std::hash<std::string>{}(sid) % loaders.size()];
    const int64_t deadline_ns = (std::chrono::steady_clock::now() + admission_timeout).time_since_epoch().count();
    ctx_.sys.spawn([loader, sid, deadline_ns, give](caf::event_based_actor* self) {
      self->request(loader, admission_timeout, atom::admit::value, sid, deadline_ns)
        .then([give](bool take) { give(take); }, [give](caf::error&) { give(true); }); // session_init decides then
    });
  }

  void on_verdict(bool take) {
    auto [req, slot] = std::move(*upgrade_);
    upgrade_.reset();
    if (take && !ctx_.live.closed())
      return hand_over(std::move(req), std::move(slot));
    // Refused, or shutdown began while the loader was asked: another node, please.
    auto res = ctx_.live.closed()
                 ? error_response(req, http::status::service_unavailable, "overloaded", "the server is stopping")
                 : error_response(req, http::status::service_unavailable, "overloaded",
                                  "this node is past capacity and does not hold this session; retry later or elsewhere");
    res.set(http::field::retry_after, "5");
    res.keep_alive(false);
    write(std::move(res));
  }

  // The WebSocket runs on the media loop, not on this one: the socket leaves this loop's reactor
  // and joins the other's, so a media loop running late never delays the accepts, health checks
  // and review routes served here. Nothing follows the upgrade request before the handshake's
  // answer (RFC 6455 4.1), so the read buffer holds nothing to carry over.
  void hand_over(http_request req, connection_slot slot) {
    stream_.expires_never();
    beast::error_code ec;
    const auto protocol = stream_.socket().local_endpoint(ec).protocol();
    if (!ec) {
      const auto fd = stream_.socket().release(ec);
      if (!ec) {
        auto exec = ctx_.ws_executor();
        tcp::socket moved{exec};
        moved.assign(protocol, fd, ec);
        if (!ec) {
          asio::post(exec, [socket = std::move(moved), req = std::move(req), slot = std::move(slot),
                            &ctx = ctx_]() mutable {
            slot.hand_to_connection();
            start_ws_connection(beast::tcp_stream(std::move(socket)), std::move(req), ctx);
          });
          return;
        }
        ::close(fd);
      }
    }
    log::net().info("ws: upgrade dropped before the media loop took it: {}", ec.message());
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
  std::shared_ptr<http_session> waiting_; ///< itself, while an HTTP route's answer is on its way
  std::optional<std::pair<http_request, connection_slot>> upgrade_; ///< waiting for an admission verdict
};

} // namespace

void start_http_session(tcp::socket socket, server_context& ctx) {
  std::make_shared<http_session>(std::move(socket), ctx)->run();
}

} // namespace mediaspool::net
