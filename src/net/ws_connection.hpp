#pragma once
// Entry point of the WebSocket side. The only translation unit that instantiates
// websocket::stream is ws_connection.cpp (Beast templates dominate the build time).
#include "net/net.hpp"
#include "net/server_context.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace mediaspool::net {

/// Takes over `stream` whose HTTP upgrade request `req` was read by http_session, completes the
/// WebSocket handshake and serves one recording session on it.
void start_ws_connection(beast::tcp_stream stream,
                         boost::beast::http::request<boost::beast::http::string_body> req,
                         server_context& ctx);

} // namespace mediaspool::net
