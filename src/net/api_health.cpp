// GET /healthz: the process is alive and serving HTTP.
#include "net/api.hpp"

namespace mediaspool::net {

void register_health_routes(http_router& router, server_context&) {
  router.add(http::verb::get, "/healthz", [](const http_request& req, const route_params&, responder respond) {
    respond(json_response(req, http::status::ok, R"({"status":"ok"})"));
  });
}

} // namespace mediaspool::net
