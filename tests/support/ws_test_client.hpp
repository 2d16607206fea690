#pragma once
// A small WebSocket client for the integration tests: it speaks PROTOCOL.md over a real loopback
// socket to the real server binary.
//
// Design (why async on a background thread, not sync ops with socket timeouts):
//   - Tests pipeline: they send many items without waiting for acks. With sync ops on the test
//     thread, reading and writing would have to take turns, and a test that sends a window of
//     items while the server sends acks could stall on a full TCP buffer. Here one io_context
//     thread owns the stream; sends are posted to it and queued (one async_write in flight, as
//     Beast requires), and one async_read loop is always pending.
//   - Every server message is parsed into nlohmann::json and appended to a queue guarded by a
//     mutex; a condition variable wakes a test waiting in next() / wait_for(). Waits always take
//     a timeout, so a silent server fails the test instead of hanging it.
//   - All Beast calls happen on the io thread (the stream is not thread-safe); the test thread
//     only posts and waits.
#include "actors/wire.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mediaspool::test {

using namespace std::chrono_literals;

class ws_test_client {
public:
  using json = nlohmann::json;
  using predicate = std::function<bool(const json&)>;

  /// Connects to 127.0.0.1:`port` and upgrades on `target`; throws std::runtime_error with the
  /// reason if that does not succeed within `timeout`.
  explicit ws_test_client(uint16_t port, std::chrono::milliseconds timeout = 5s,
                          const std::string& target = "/ws/media-stream");

  /// Drops the TCP connection if still open (no close handshake) and joins the io thread.
  ~ws_test_client();

  ws_test_client(const ws_test_client&) = delete;
  ws_test_client& operator=(const ws_test_client&) = delete;

  // -- sending: queued, never waits for the server --------------------------------------

  void send_text(std::string text);
  void send_json(const json& msg) { send_text(msg.dump()); }
  void send_binary(std::string bytes);
  /// One frame of a fragmented binary message; the message goes on until a fragment with
  /// `last`. Send nothing else in between (WebSocket does not interleave data messages).
  void send_binary_fragment(std::string bytes, bool last);
  /// Likewise for a fragmented text message.
  void send_text_fragment(std::string bytes, bool last);
  /// A binary media frame: the 41-byte header of net::make_blob_header, then `payload`.
  void send_blob(const std::string& session_id, item_kind kind, uint32_t index,
                 const std::string& payload);

  /// Waits until every queued send has been written to the socket (or failed); false on timeout.
  bool flush(std::chrono::milliseconds timeout = 5s);

  // -- receiving ------------------------------------------------------------------------

  /// The oldest message not yet taken, or nullopt if none arrives within `timeout` or the
  /// connection closed with nothing left in the queue.
  std::optional<json> next(std::chrono::milliseconds timeout = 5s);

  /// The oldest queued or arriving message matching `pred`, removed from the queue; the messages
  /// before it stay queued in order. nullopt on timeout or when the connection closed first.
  std::optional<json> wait_for(const predicate& pred, std::chrono::milliseconds timeout = 5s);

  /// Shorthand for wait_for(type == `type`).
  std::optional<json> wait_for_type(const std::string& type, std::chrono::milliseconds timeout = 5s);

  /// Takes every message queued right now.
  std::vector<json> drain();

  // -- closing --------------------------------------------------------------------------

  /// Starts the WebSocket close handshake with `code` (after the queued sends) and waits for
  /// the connection to end; true if it ended within `timeout`.
  bool close(uint16_t code = 1000, std::chrono::milliseconds timeout = 5s);

  /// Closes the TCP socket without a close frame: the client vanished (tab closed, network lost).
  void abort();

  /// Waits for the connection to end; returns the close code the server sent, 0 if it ended
  /// without a close frame, nullopt if it is still open after `timeout`.
  std::optional<uint16_t> wait_closed(std::chrono::milliseconds timeout = 5s);

  /// True once the read side ended (close frame, reset or abort).
  bool is_closed() const;

  /// The first read/write error other than a clean close, for failure messages.
  std::string last_error() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_; // its destructor joins the io thread, so handlers may use `this`
};

/// Predicate: an `audio_ack` / `frame_ack` ("a" / "f") for `index`.
ws_test_client::predicate is_item_ack(char kind, uint32_t index);

/// Predicate: a message of this `type` (and, for "error", this `code` if not empty).
ws_test_client::predicate is_type(const std::string& type, const std::string& code = {});

} // namespace mediaspool::test
