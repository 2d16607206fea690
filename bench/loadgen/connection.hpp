#pragma once
// One WebSocket client connection, transport only: connect, handshake, a write queue with one
// write in flight, a read loop. It knows nothing about the protocol; the session that owns it
// hears about it through connection_events. Single-threaded: everything runs on the io_context
// of the thread that owns the session. The only translation unit that instantiates Beast's
// websocket::stream is connection.cpp.
#include "loadgen/recorder_model.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace loadgen {

/// Where and how to connect; shared read-only by every connection.
struct target {
  std::string host;
  std::string port;
  std::string path;
  std::string origin; ///< empty: no Origin header
  boost::asio::ip::tcp::resolver::results_type endpoints;
  std::chrono::milliseconds connect_timeout{10000};
  size_t write_buffer = 64u << 10;
};

class connection_events {
public:
  /// The WebSocket handshake completed; `handshake_ns` is connect + handshake time.
  virtual void on_open(uint64_t handshake_ns) = 0;
  virtual void on_text(std::string_view text) = 0;
  /// A queued message was completely handed to the socket.
  virtual void on_written(uint64_t tag) = 0;
  /// The connection is gone (never called after the owner closed or detached it). `opened`
  /// says whether the handshake had completed; `close_code` is the server's close code, or 0;
  /// `refused_status` the HTTP status of an upgrade the server answered without upgrading
  /// (503: past capacity or too many connections), or 0.
  virtual void on_down(bool opened, int close_code, unsigned refused_status, const std::string& why) = 0;

protected:
  ~connection_events() = default;
};

class connection {
public:
  virtual ~connection() = default;

  virtual void start() = 0;
  virtual void send_text(std::string text, uint64_t tag) = 0;
  /// A binary message of `head` followed by `payload`; `payload` must outlive the write (the
  /// shared pool does), `head` is copied.
  virtual void send_blob(const blob_head& head, std::string_view payload, uint64_t tag) = 0;
  /// Sends a close frame (1000) after the queued writes; no more events afterwards.
  virtual void close() = 0;
  /// Drops the connection at once; no more events afterwards.
  virtual void detach() = 0;
};

/// `path`: t.path with this connection's query (?sid=..., as the recorder page routes by).
std::shared_ptr<connection> make_connection(boost::asio::io_context& ioc, const target& t, std::string path,
                                            connection_events* owner);

} // namespace loadgen
