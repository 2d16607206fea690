#pragma once
// The server's settings for one WebSocket stream. Included only by ws_connection.cpp, the one
// translation unit that instantiates websocket::stream (Beast templates dominate the build time).
#include "net/net.hpp"
#include "net/server_context.hpp"
#include "net/write_coalescer.hpp"

#include <boost/beast/websocket.hpp>

#include <algorithm>

namespace mediaspool::net {

/// A recording session's WebSocket: its queued texts can leave in one send (write_coalescer.hpp).
using ws_stream = beast::websocket::stream<write_coalescer<beast::tcp_stream>>;

inline void apply_server_options(ws_stream& ws, const net_limits& limits) {
  namespace websocket = beast::websocket;
  beast::get_lowest_layer(ws).expires_never();
  // Beast's suggested server settings, but our deadlines and with pings: a browser answers them
  // by itself, so only a dead peer or a silent attacker reaches the idle timeout. The close
  // handshake is bounded by the handshake deadline, so a peer that never answers our close
  // frame cannot hold the socket for long.
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::min(limits.handshake_timeout, limits.idle_timeout);
  t.idle_timeout = limits.idle_timeout;
  t.keep_alive_pings = true;
  ws.set_option(t);
  // Beast's own limit fails the read at the frame header and closes at once; in Boost 1.74
  // that teardown resets a client still sending, which then never sees the 1009. So Beast
  // gets a generous backstop and the real limit is enforced per part in on_read_part, where
  // async_close drains what the client still sends before the socket closes.
  ws.read_message_max(std::max<size_t>(limits.read_message_max * 4, 64u << 20));
  ws.auto_fragment(false);
  // Media does not compress; permessage-deflate would cost ~30x the CPU (STACK.md).
  websocket::permessage_deflate pmd;
  pmd.server_enable = false;
  ws.set_option(pmd);
}

} // namespace mediaspool::net
