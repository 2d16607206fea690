#pragma once
// One plain HTTP connection: answers the small HTTP routes and hands WebSocket upgrades of the
// media-stream path to ws_connection.
#include "net/net.hpp"
#include "net/server_context.hpp"

namespace mediaspool::net {

/// Serves HTTP on `socket` until it closes or upgrades.
void start_http_session(tcp::socket socket, server_context& ctx);

} // namespace mediaspool::net
