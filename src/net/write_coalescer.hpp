#pragma once
// A stream layer under websocket::stream that lets a connection's queued text messages leave in
// one send. A session's acks of one commit reach the connection together, and each used to be
// its own sendmsg (~23 % of the network thread at 1 KiB items, 2.0-2.35 acks per post). The
// connection marks every queued message but the last as kept: its frame stays here, the write
// completes at once, and the bytes leave in front of the next write that is not kept.
//
// Order is safe because Beast never has two writes on the stream at once, so kept bytes always
// precede whatever is written after them. Only text frames (first byte 0x81: FIN, opcode 1) are
// ever kept: a ping, pong or close that Beast writes by itself while the mark is set is sent at
// once, taking the kept bytes along, and cannot be stranded behind a write that never comes.
#include "net/net.hpp"

#include <boost/beast/websocket/teardown.hpp>

#include <cstdint>
#include <string>
#include <utility>

namespace mediaspool::net {

template <class NextLayer>
class write_coalescer {
public:
  using next_layer_type = NextLayer;
  using executor_type = typename NextLayer::executor_type;

  template <class... Args>
  explicit write_coalescer(Args&&... args) : next_(std::forward<Args>(args)...) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }
  next_layer_type& next_layer() noexcept { return next_; }
  const next_layer_type& next_layer() const noexcept { return next_; }

  /// Whether the next text frame written is kept (true) or sent with whatever is kept (false).
  void keep_next_text(bool keep) noexcept { keep_next_ = keep; }
  size_t kept_bytes() const noexcept { return kept_.size(); }
  /// Writes that reached the next layer (for tests: kept frames do not count).
  uint64_t sends() const noexcept { return sends_; }

  template <class MutableBufferSequence, class ReadHandler>
  auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    return next_.async_read_some(buffers, std::forward<ReadHandler>(handler));
  }

  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    return asio::async_initiate<WriteHandler, void(beast::error_code, std::size_t)>(
      [this](auto h, const ConstBufferSequence& b) { start_write(std::move(h), b); }, handler, buffers);
  }

private:
  static constexpr unsigned char text_frame_fin = 0x81;

  template <class ConstBufferSequence>
  static bool starts_text_frame(const ConstBufferSequence& buffers) {
    unsigned char first = 0;
    return asio::buffer_copy(asio::buffer(&first, 1), buffers) == 1 && first == text_frame_fin;
  }

  template <class Handler, class ConstBufferSequence>
  void start_write(Handler h, const ConstBufferSequence& buffers) {
    const size_t n = beast::buffer_bytes(buffers);
    auto ex = asio::get_associated_executor(h, get_executor());
    if (keep_next_ && starts_text_frame(buffers)) {
      keep_next_ = false;
      const size_t at = kept_.size();
      kept_.resize(at + n);
      asio::buffer_copy(asio::buffer(kept_.data() + at, n), buffers);
      return asio::post(ex, beast::bind_front_handler(std::move(h), beast::error_code{}, n));
    }
    ++sends_;
    if (kept_.empty())
      return next_.async_write_some(buffers, std::move(h));
    // sending_ is empty here (one write at a time); swapping keeps both strings' capacity.
    std::swap(sending_, kept_);
    const size_t held = sending_.size();
    asio::async_write(next_, beast::buffers_cat(asio::const_buffer(sending_.data(), held), buffers),
                      asio::bind_executor(ex, [this, held, h = std::move(h)](beast::error_code ec, size_t sent) mutable {
                        sending_.clear();
                        h(ec, sent > held ? sent - held : 0);
                      }));
  }

  NextLayer next_;
  std::string kept_;    ///< frames kept for the next send
  std::string sending_; ///< kept frames on their way, with the write that took them
  uint64_t sends_ = 0;
  bool keep_next_ = false;
};

// Beast closes a WebSocket through these (found by argument-dependent lookup).
template <class NextLayer>
void teardown(beast::role_type role, write_coalescer<NextLayer>& s, beast::error_code& ec) {
  using beast::websocket::teardown;
  teardown(role, s.next_layer(), ec);
}

template <class NextLayer, class TeardownHandler>
void async_teardown(beast::role_type role, write_coalescer<NextLayer>& s, TeardownHandler&& handler) {
  using beast::websocket::async_teardown;
  async_teardown(role, s.next_layer(), std::forward<TeardownHandler>(handler));
}

} // namespace mediaspool::net
