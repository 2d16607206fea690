// One recording session's WebSocket: the read loop with its credit, budget and rate limits, and
// the write queue. Kept in one file because it is the one translation unit that instantiates
// websocket::stream (STYLE 8.1's size guide yields to the build-time rule); its settings are in
// ws_options.hpp, its handles in connection_handles.hpp.
#include "net/ws_connection.hpp"

#include "actors/log.hpp"
#include "net/connection_handles.hpp"
#include "net/payload_buffer.hpp"
#include "net/rate_limiter.hpp"
#include "net/read_admission.hpp"
#include "net/ws_options.hpp"

#include <boost/beast/websocket.hpp>

#include <deque>
#include <optional>

namespace mediaspool::net {

namespace websocket = beast::websocket;
namespace http = beast::http;

namespace {

class ws_connection final : public connection_port, public std::enable_shared_from_this<ws_connection> {
  /// Bytes asked for per read: large enough that a 160 KB chunk takes a few reads.
  static constexpr size_t read_part_bytes = 64u << 10;
  /// The first read of a message: a text message fits; a binary frame's header then tells its
  /// size, and the rest is read into a pooled buffer of exactly that size (no growth, no re-copy
  /// beyond these first bytes).
  static constexpr size_t first_part_bytes = payload_pool::class_bytes;

public:
  ws_connection(beast::tcp_stream&& stream, server_context& ctx)
    : ws_(std::move(stream)), ctx_(ctx), retry_timer_(ws_.get_executor()), init_timer_(ws_.get_executor()),
      limiter_(ctx.limits.max_messages_per_second, ctx.limits.message_burst), admission_(ctx.budget, ctx.limits.orphan_timeout) {
    // Counted in ctx_.connections since http_session reserved its slot (hand_over); given back here.
  }

  ~ws_connection() {
    if (registry_id_ != 0)
      ctx_.live.remove(registry_id_);
    ctx_.connections--;
    if (session_)
      caf::anon_send(session_, atom::closed::value);
  }

  void run(http::request<http::string_body> req) {
    if (auto q = req.target().find('?'); q != beast::string_view::npos) {
      auto params = parse_query(std::string_view(req.target().data() + q + 1, req.target().size() - q - 1));
      if (auto t = params.find("access_token"); t != params.end())
        query_token_ = std::move(t->second);
    }
    apply_server_options(ws_, ctx_.limits);
    ws_.async_accept(req, beast::bind_front_handler(&ws_connection::on_accept, shared_from_this()));
  }

  // -- called on the strand via the handles (connection_handles.hpp) -------------

  void queue_writes(std::vector<std::string> texts) override {
    if (closing_)
      return;
    const bool idle = writes_.empty();
    for (auto& t : texts)
      writes_.push_back(std::move(t));
    if (idle && !writes_.empty())
      do_write();
  }

  void queue_close(uint16_t code, std::string reason) override {
    if (close_code_)
      return;
    websocket::close_reason cr;
    cr.code = code;
    cr.reason = reason.substr(0, 120);
    close_code_ = std::move(cr);
    if (writes_.empty())
      do_close();
  }

  void add_credit(uint64_t bytes) override {
    inflight_ -= std::min(inflight_, bytes);
    if (draining_ || closed_)
      return;
    if (credit_wait_ && !credit_spent()) {
      credit_wait_ = false;
      if (admitted())
        read_rest();
    }
  }

  /// Server shutdown: read nothing new and tell the session, which closes with 1001 (going
  /// away) through its outbox once every item it has is durable and acked: its acks and the
  /// close are posted in that order onto this strand, so the close frame follows the last ack.
  void begin_shutdown() {
    // Already closing or ended: nothing is left to drain, and a hold taken now would outlive it.
    if (draining_ || closed_ || close_code_)
      return;
    draining_ = true;
    // Reads stop, so nothing may be pending to keep this alive until the session closes it.
    pause_hold_ = shared_from_this();
    retry_timer_.cancel();
    if (session_)
      caf::anon_send(session_, atom::drain::value);
    else
      queue_close(static_cast<uint16_t>(websocket::close_code::going_away), "server shutting down");
  }

private:
  void on_accept(beast::error_code ec) {
    if (ec)
      return fail(ec, "accept");
    registry_id_ = ctx_.live.add([w = weak_from_this(), ex = ws_.get_executor()] {
      asio::post(ex, [w] {
        if (auto c = w.lock())
          c->begin_shutdown();
      });
    });
    credit_ = std::make_shared<credit_sink>(link(), ctx_.budget, ctx_.pool);
    auto out = std::make_shared<ws_outbox>(link(), stall_);
    session_ = ctx_.sys.spawn(session, std::move(out), ctx_.services);
    beast::error_code peer_ec;
    auto peer = beast::get_lowest_layer(ws_).socket().remote_endpoint(peer_ec);
    log::net().info("ws: connect from {}:{} (session#{})", peer.address().to_string(), peer.port(), session_.id());
    init_timer_.expires_after(ctx_.limits.init_timeout);
    init_timer_.async_wait([self = shared_from_this()](beast::error_code err) {
      if (!err && !self->initialised_) {
        self->send_error({ec::not_initialized, "no session_init within the deadline", std::nullopt});
        self->queue_close(static_cast<uint16_t>(websocket::close_code::policy_error), "no session_init");
      }
    });
    maybe_read();
  }

  // Binary frames are read only while this connection has credit and the process has budget:
  // back-pressure by not reading (TCP flow control then slows the client).
  void maybe_read() {
    if (reading_ || closed_ || draining_)
      return;
    if (auto wait = limiter_.wait(rate_limiter::clock::now()); wait > rate_limiter::clock::duration::zero())
      return throttle(wait);
    // Past the credit or the process budget the next message is read one byte first: text goes
    // on (it holds no payload, and the metadata of the blobs that spent the credit may be next;
    // pausing it too would leave them to expire), a binary frame waits (on_read_part).
    peeking_ = credit_spent() || admission_.peek_first();
    pause_hold_.reset();
    reading_ = true;
    // Empty until the read starts; Beast then prepares the one-byte peek up front, which
    // payload_buffer keeps a small malloc, so an idle connection's pending read holds a few
    // bytes (figure 6: RSS per idle session). The first part takes a pooled buffer.
    frame_ = std::make_shared<byte_vector>();
    sized_ = false;
    dbuf_.emplace(*frame_, ctx_.limits.read_message_max + read_part_bytes, ctx_.pool.get());
    read_part();
  }

  void read_part() {
    ws_.async_read_some(*dbuf_, peeking_ ? 1 : sized_ ? read_part_bytes : first_part_bytes,
                        beast::bind_front_handler(&ws_connection::on_read_part, shared_from_this()));
  }

  // After the first part, a single-frame message's remaining size is known (Beast's
  // read_size_hint is the rest of the frame): the bytes so far move to a buffer of exactly the
  // message's size. A fragmented message keeps growing geometrically instead.
  void size_buffer() {
    sized_ = true;
    if (ws_.is_message_done())
      return;
    const size_t total = frame_->size() + ws_.read_size_hint(ctx_.limits.read_message_max + 1);
    const size_t keep = ws_.got_text() ? ctx_.codec.max_text_bytes : ctx_.limits.read_message_max;
    if (total <= keep)
      ctx_.pool->grow_exact(*frame_, total); // dbuf_ refers to *frame_, whose size is unchanged
  }

  void on_read_part(beast::error_code ec, std::size_t) {
    if (!ec && std::exchange(peeking_, false) && ws_.got_binary() && !ws_.is_message_done()) {
      if (credit_spent())
        return wait_for_credit(); // add_credit goes on
      if (!admitted())
        return; // on_turn reads the rest
    }
    if (!ec && !sized_) {
      // The first part of a binary frame: the rest may take a while (a busy server, a slow
      // uplink), and metadata waiting for it does not age until it is read (on_read).
      if (ws_.got_binary() && !ws_.is_message_done())
        stall_->begin(std::chrono::steady_clock::now());
      size_buffer();
    }
    // Text past max_text_bytes is refused (too_large) but read to its end, its bytes dropped as
    // they come: it holds no payload and is read past the credit, so it must hold no memory.
    if (!ec && ws_.got_text() && frame_->size() > ctx_.codec.max_text_bytes) {
      text_dropped_ += frame_->size();
      dbuf_->consume(frame_->size());
    }
    // The size is checked whether or not the message is done: one read may return all of it.
    if (!ec && (!ws_.is_message_done() || text_dropped_ + frame_->size() > ctx_.limits.read_message_max)) {
      if (frame_->size() <= ctx_.limits.read_message_max)
        return read_part();
      reading_ = false;
      dbuf_.reset();
      frame_.reset();
      log::net().info("ws: sid={} message above read_message_max ({} bytes); closing with 1009",
                      sid_.empty() ? "-" : sid_, ctx_.limits.read_message_max);
      send_error({ec::too_large, "message larger than " + std::to_string(ctx_.limits.read_message_max) + " bytes",
                  std::nullopt});
      return queue_close(static_cast<uint16_t>(websocket::close_code::too_big), "message too big");
    }
    on_read(ec);
  }

  void on_read(beast::error_code ec) {
    reading_ = false;
    dbuf_.reset();
    stall_->end(std::chrono::steady_clock::now());
    if (ec) {
      closed_ = true;
      init_timer_.cancel();
      retry_timer_.cancel();
      if (ec == beast::error::timeout && ctx_.metrics)
        ctx_.metrics->connection_limits[server_metrics::idle_timeout]->inc();
      return fail(ec, "read");
    }
    limiter_.consume(rate_limiter::clock::now());
    if (ws_.got_text())
      on_text();
    else
      on_binary();
    maybe_read();
  }

  void on_text() {
    const auto dropped = std::exchange(text_dropped_, 0);
    auto parsed = dropped == 0 ? parse_text(std::string_view(frame_->data(), frame_->size()), ctx_.codec)
                               : too_large_text(dropped + frame_->size(), ctx_.codec);
    ctx_.pool->give_back(std::move(*frame_));
    frame_.reset();
    if (refused_)
      return;
    if (auto err = std::get_if<error_reply>(&parsed))
      return caf::anon_send(session_, std::move(*err));
    std::visit(
      [this](auto&& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, session_init>) {
          if (!initialised_)
            sid_ = m.session_id;
          initialised_ = true;
          init_timer_.cancel();
          if (auto denied = authenticate_recorder(ctx_.auth, m, query_token_, unix_now()))
            return refuse(std::move(*denied));
        } else if constexpr (std::is_same_v<T, item_metadata>) {
          admission_.metadata_read(m.kind, m.index, std::chrono::steady_clock::now());
        }
        caf::anon_send(session_, std::forward<decltype(m)>(m));
      },
      std::move(std::get<client_text>(parsed)));
  }

  bool credit_spent() const { return inflight_ >= ctx_.limits.connection_credit; }

  // A peeked binary frame found this connection's credit spent: its payload waits in the socket
  // until buffers come back (durable and written, rejected, or expired; they always do). No read
  // is pending meanwhile, so the connection holds itself.
  void wait_for_credit() {
    credit_wait_ = true;
    pause_hold_ = shared_from_this();
    stall_->begin(std::chrono::steady_clock::now());
  }

  // A peeked binary frame within this connection's credit: true if it is read now (or ahead of
  // the line to finish a pair); false if it waits its turn for the process budget.
  bool admitted() {
    auto v = admission_.binary_frame(std::chrono::steady_clock::now());
    if (v == read_admission::verdict::wait) {
      wait_for_turn();
      return false;
    }
    if (v == read_admission::verdict::read_ahead && ctx_.metrics)
      ctx_.metrics->budget_overdrafts.inc();
    return true;
  }

  // A binary frame that waited after its first byte is read on; it stalls until on_read.
  void read_rest() {
    pause_hold_.reset();
    if (!sized_)
      size_buffer(); // the peeked byte came with the frame's header
    read_part();
  }

  // A binary frame found the process budget spent (or others waiting for it): join the line;
  // its reading resumes in on_turn. Nothing pending keeps this connection alive meanwhile, so
  // it holds itself.
  void wait_for_turn() {
    pause_hold_ = shared_from_this();
    stall_->begin(std::chrono::steady_clock::now());
    if (ctx_.metrics)
      ctx_.metrics->budget_waits.inc();
    ctx_.budget->wait(make_turn(link(), ctx_.budget));
  }

  // This connection's turn: the rest of its binary frame is read, even if others wait. If there
  // is still room, the next in line is served too; that runs in a later handler, after reads
  // that found their bytes in the socket have counted them, so the turns stop soon after the
  // budget is spent again (over by a few messages at most, as with reads already pending).
  void on_turn() override {
    // The frame's wait in line is over but it is still on its way: the stall ends in on_read.
    if (closed_ || draining_) {
      stall_->end(std::chrono::steady_clock::now());
      return ctx_.budget->pass_turn();
    }
    read_rest();
    if (!ctx_.budget->spent())
      ctx_.budget->pass_turn();
  }

  // Over limits.max-messages-per-second: reads pause until the next token (nothing is dropped).
  // The client is told, at most once a second, so a developer sees why uploads slowed down.
  void throttle(asio::steady_timer::duration wait) {
    auto now = rate_limiter::clock::now();
    if (now - last_throttle_notice_ >= std::chrono::seconds(1)) {
      last_throttle_notice_ = now;
      send_error({ec::rate_limited,
                  "more than " + std::to_string(static_cast<uint64_t>(ctx_.limits.max_messages_per_second))
                    + " messages per second: reading slows down to that rate",
                  std::nullopt});
    }
    // Only the timer resumes: a credit returned meanwhile must not re-arm it (nor re-notify).
    pause_hold_.reset();
    retry_timer_.expires_after(wait);
    retry_timer_.async_wait([self = shared_from_this()](beast::error_code err) {
      if (!err)
        self->maybe_read();
    });
  }

  // A policy violation before any session exists: the error, then close 1008; nothing more is read.
  void refuse(error_reply err) {
    refused_ = true;
    log::net().info("ws: sid={} refused: {} ({})", sid_, to_string(err.code), err.message);
    auto code = err.code;
    send_error(std::move(err));
    queue_close(static_cast<uint16_t>(websocket::close_code::policy_error), to_string(code));
  }

  void on_binary() {
    if (refused_) {
      frame_.reset();
      return;
    }
    // Moving the vector into a credit-returning buffer copies no payload byte.
    auto n = frame_->size();
    inflight_ += n;
    ctx_.budget->take(n);
    std::shared_ptr<const byte_vector> buf{new byte_vector(std::move(*frame_)),
                                                 credit_return{credit_}};
    frame_.reset();
    auto parsed = parse_blob(shared_bytes{std::move(buf), 0}, ctx_.codec);
    if (auto err = std::get_if<error_reply>(&parsed))
      return caf::anon_send(session_, std::move(*err));
    auto& b = std::get<blob>(parsed);
    admission_.blob_read(b.kind, b.index, std::chrono::steady_clock::now());
    caf::anon_send(session_, std::move(b));
  }

  // An error the connection itself answers (the session's own go through its metered outbox).
  void send_error(error_reply err) {
    if (ctx_.metrics)
      ctx_.metrics->on_sent(err);
    queue_writes({serialize(err)});
  }

  void do_write() {
    ws_.text(true);
    // A commit's acks arrive together: all but the last queued leave with it, in one send.
    ws_.next_layer().keep_next_text(writes_.size() > 1);
    ws_.async_write(asio::buffer(writes_.front()),
                    beast::bind_front_handler(&ws_connection::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    ws_.next_layer().keep_next_text(false); // in case the write failed before reaching the stream
    if (ec)
      return fail(ec, "write");
    writes_.pop_front();
    if (!writes_.empty())
      return do_write();
    if (close_code_)
      do_close();
  }

  void do_close() {
    if (closing_ || closed_)
      return;
    closing_ = true;
    ws_.async_close(*close_code_, [self = shared_from_this()](beast::error_code err) {
      self->pause_hold_.reset();
      if (err)
        self->fail(err, "close");
    });
  }

  connection_link link() { return {weak_from_this(), ws_.get_executor(), ctx_.gate}; }

  // Every error here ends the socket: nothing may hold the connection open after it (its
  // pending handlers keep it alive until they ran), or the shutdown drain, which waits for every
  // connection, waits out its bound for a socket long gone.
  void fail(beast::error_code ec, const char* what) {
    closed_ = true;
    auto last_hold = std::move(pause_hold_);
    if (ec == websocket::error::closed)
      log::net().info("ws: sid={} connection closed (close code {}, session#{})", sid_.empty() ? "-" : sid_,
                      static_cast<unsigned>(ws_.reason().code), session_ ? session_.id() : 0);
    if (ec == asio::error::operation_aborted || ec == websocket::error::closed || ec == asio::error::eof)
      return;
    log::net().debug("ws: {}: {}", what, ec.message());
  }

  ws_stream ws_;
  server_context& ctx_;
  asio::steady_timer retry_timer_;
  asio::steady_timer init_timer_;
  caf::actor session_;
  std::shared_ptr<byte_vector> frame_;
  std::optional<payload_buffer> dbuf_;
  std::deque<std::string> writes_;
  std::optional<websocket::close_reason> close_code_;
  uint64_t inflight_ = 0;
  size_t text_dropped_ = 0; ///< bytes of the current text message dropped (past max_text_bytes)
  std::shared_ptr<stall_meter> stall_ = std::make_shared<stall_meter>();
  std::shared_ptr<credit_sink> credit_; ///< made at accept (it needs weak_from_this)
  std::shared_ptr<ws_connection> pause_hold_; ///< self-reference while paused on credit or in line
  uint64_t registry_id_ = 0;
  bool draining_ = false;
  bool reading_ = false;
  bool credit_wait_ = false; ///< a peeked binary frame waits for this connection's credit
  bool peeking_ = false;  ///< reading one byte to see whether the message is binary
  bool sized_ = false;    ///< the message's buffer has its final size (size_buffer ran)
  bool closing_ = false;
  bool closed_ = false;
  bool initialised_ = false;
  bool refused_ = false;    ///< session_init failed authentication: the connection is closing
  rate_limiter limiter_;    ///< limits.max-messages-per-second
  read_admission admission_; ///< may the next message be read now (process budget)
  rate_limiter::clock::time_point last_throttle_notice_{};
  std::string query_token_; ///< access_token of the upgrade request (never logged)
  std::string sid_; ///< from the first session_init, for log lines
};

} // namespace

void start_ws_connection(beast::tcp_stream stream, http::request<http::string_body> req,
                         server_context& ctx) {
  std::make_shared<ws_connection>(std::move(stream), ctx)->run(std::move(req));
}

} // namespace mediaspool::net
