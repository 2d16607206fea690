#pragma once
// One registration function per route group (one api_*.cpp each). make_router calls them all.
#include "net/http_router.hpp"
#include "net/server_context.hpp"

#include <memory>
#include <optional>
#include <string>

namespace mediaspool::net {

void register_health_routes(http_router& router, server_context& ctx);
void register_metrics_routes(http_router& router, server_context& ctx);
void register_readiness_routes(http_router& router, server_context& ctx);
void register_session_routes(http_router& router, server_context& ctx);
void register_file_routes(http_router& router, server_context& ctx);
void register_static_routes(http_router& router, server_context& ctx);
void register_recording_routes(http_router& router, server_context& ctx);
void register_transcript_routes(http_router& router, server_context& ctx);
void register_debug_routes(http_router& router, server_context& ctx);

/// The `{sid}` path parameter in lower case, or nullopt (after answering 400) if it is not a UUID.
std::optional<std::string> session_id_param(const http_request& req, const route_params& p, const responder& respond);

/// The complete route table of the server.
std::shared_ptr<const http_router> make_router(server_context& ctx);

} // namespace mediaspool::net
