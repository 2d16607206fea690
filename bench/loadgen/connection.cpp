#include "loadgen/connection.hpp"

#include "loadgen/stats.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <array>
#include <deque>

namespace loadgen {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct out_msg {
  bool text = false;
  std::string body;         // text frames
  blob_head head;           // binary frames: header + stamp, then `payload`
  std::string_view payload; // points into the shared pool
  uint64_t tag = 0;
};

class ws_client final : public connection, public std::enable_shared_from_this<ws_client> {
public:
  ws_client(asio::io_context& ioc, const target& t, std::string path, connection_events* owner)
    : ws_(ioc), t_(t), path_(std::move(path)), owner_(owner) {}

  void start() override {
    started_ = steady::now();
    auto& tcp_layer = beast::get_lowest_layer(ws_);
    tcp_layer.expires_after(t_.connect_timeout);
    tcp_layer.async_connect(t_.endpoints, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
      self->on_connect(ec);
    });
  }

  void send_text(std::string text, uint64_t tag) override {
    if (dead_ || closing_)
      return;
    out_msg m;
    m.text = true;
    m.body = std::move(text);
    m.tag = tag;
    q_.push_back(std::move(m));
    kick();
  }

  void send_blob(const blob_head& head, std::string_view payload, uint64_t tag) override {
    if (dead_ || closing_)
      return;
    out_msg m;
    m.head = head;
    m.payload = payload;
    m.tag = tag;
    q_.push_back(std::move(m));
    kick();
  }

  void close() override {
    owner_ = nullptr;
    if (dead_ || closing_)
      return;
    closing_ = true;
    if (!opened_)
      return drop();
    if (!writing_ && q_.empty())
      do_close();
  }

  void detach() override {
    owner_ = nullptr;
    drop();
  }

private:
  void on_connect(beast::error_code ec) {
    if (ec)
      return down(ec);
    auto& tcp_layer = beast::get_lowest_layer(ws_);
    // Nagle + delayed ACK would hold every small frame ~40 ms (STACK.md section 3).
    tcp_layer.socket().set_option(tcp::no_delay(true), ec);
    tcp_layer.expires_never();
    websocket::stream_base::timeout to{};
    to.handshake_timeout = t_.connect_timeout; // also bounds the closing handshake
    to.idle_timeout = websocket::stream_base::none();
    to.keep_alive_pings = false;
    ws_.set_option(to);
    ws_.set_option(websocket::stream_base::decorator([origin = t_.origin](websocket::request_type& req) {
      req.set(http::field::user_agent, "mediaspool-loadgen");
      if (!origin.empty())
        req.set(http::field::origin, origin);
    }));
    // Media does not compress; a browser would offer deflate, but the server declines it.
    websocket::permessage_deflate pmd;
    pmd.client_enable = false;
    ws_.set_option(pmd);
    // A browser sends each message as one frame; the masking buffer decides how many bytes go
    // to the kernel per write (Beast's 4 KiB default costs a syscall per 4 KiB).
    ws_.auto_fragment(false);
    ws_.write_buffer_bytes(t_.write_buffer);
    ws_.read_message_max(1u << 20);
    ws_.async_handshake(answer_, t_.host + ":" + t_.port, path_, [self = shared_from_this()](beast::error_code err) {
      self->on_handshake(err);
    });
  }

  void on_handshake(beast::error_code ec) {
    if (ec)
      return down(ec);
    opened_ = true;
    do_read();
    if (owner_)
      owner_->on_open(static_cast<uint64_t>(std::chrono::nanoseconds(steady::now() - started_).count()));
    kick();
  }

  void do_read() {
    ws_.async_read(rbuf_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec)
      return down(ec);
    if (owner_ && ws_.got_text())
      owner_->on_text(std::string_view(static_cast<const char*>(rbuf_.data().data()), rbuf_.size()));
    rbuf_.consume(rbuf_.size());
    if (!dead_)
      do_read();
  }

  void kick() {
    if (opened_ && !writing_ && !dead_ && !q_.empty())
      do_write();
  }

  void do_write() {
    writing_ = true;
    auto& m = q_.front();
    auto done = [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); };
    if (m.text) {
      ws_.text(true);
      ws_.async_write(asio::buffer(m.body), std::move(done));
    } else {
      ws_.binary(true);
      std::array<asio::const_buffer, 2> bufs{asio::buffer(m.head.bytes.data(), m.head.size),
                                             asio::buffer(m.payload.data(), m.payload.size())};
      ws_.async_write(bufs, std::move(done));
    }
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    if (ec)
      return down(ec);
    if (dead_)
      return;
    uint64_t tag = q_.front().tag;
    q_.pop_front();
    if (owner_)
      owner_->on_written(tag);
    if (dead_)
      return;
    if (!q_.empty())
      kick();
    else if (closing_)
      do_close();
  }

  void do_close() {
    if (close_sent_)
      return;
    close_sent_ = true;
    ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) { self->drop(); });
  }

  void down(beast::error_code ec) {
    if (dead_)
      return;
    int code = ec == websocket::error::closed ? static_cast<int>(ws_.reason().code) : 0;
    // Only a declined upgrade has an answer: Beast's default response reads 200 otherwise.
    const unsigned refused = ec == websocket::error::upgrade_declined ? answer_.result_int() : 0;
    drop();
    if (auto o = std::exchange(owner_, nullptr))
      o->on_down(opened_, code, refused, ec.message());
  }

  void drop() {
    if (dead_)
      return;
    dead_ = true;
    // The queue stays: a write in flight may still point into its front element.
    beast::get_lowest_layer(ws_).close();
  }

  websocket::stream<beast::tcp_stream> ws_;
  const target& t_;
  std::string path_;
  websocket::response_type answer_; ///< the upgrade's HTTP answer (a refusal's status)
  connection_events* owner_;
  beast::flat_buffer rbuf_;
  std::deque<out_msg> q_;
  steady::time_point started_;
  bool opened_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool close_sent_ = false;
  bool dead_ = false;
};

} // namespace

std::shared_ptr<connection> make_connection(asio::io_context& ioc, const target& t, std::string path,
                                            connection_events* owner) {
  return std::make_shared<ws_client>(ioc, t, std::move(path), owner);
}

} // namespace loadgen
