#pragma once
// What a session actor needs from its connection, and nothing more. Declared here and
// implemented in net/ (ws_connection), so the dependency points net -> actors only.
// Every method is thread-safe and non-blocking: it posts onto the connection's strand.
// Calls on a connection that is already gone are no-ops.
#include "actors/wire.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace mediaspool {

class outbox {
public:
  virtual ~outbox() = default;

  /// Queues a text message to the client.
  virtual void send(server_message msg) = 0;

  /// Sends a close frame with `code` (1000 normal, 1001 going away, 1008 policy, 1009 too big,
  /// 1011 internal, 1013 try again later) after the queued messages.
  virtual void close(uint16_t code, std::string reason) = 0;

  /// How long, in total up to now, a binary frame of this connection was on its way: waiting
  /// unread in the socket while the whole process was saturated (its in-flight budget spent),
  /// or being read (slowly, on a busy server or a slow uplink). Metadata waiting for its binary
  /// frame does not age meanwhile: the client is not late (pairing::expire).
  virtual std::chrono::steady_clock::duration stalled() const = 0;
};

using outbox_ptr = std::shared_ptr<outbox>;

} // namespace mediaspool
