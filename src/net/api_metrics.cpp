// GET /metrics: the process's metrics in the Prometheus text format (version 0.0.4). Rendering
// reads atomics only; nothing here waits for an actor.
#include "net/api.hpp"

namespace mediaspool::net {

void register_metrics_routes(http_router& router, server_context& ctx) {
  auto m = ctx.metrics;
  if (m) {
    auto* conns = &ctx.connections;
    m->registry->add_callback("mediaspool_connections", "WebSocket connections open",
                              [conns] { return static_cast<double>(conns->load()); });
  }
  router.add(http::verb::get, "/metrics", [m](const http_request& req, const route_params&, responder respond) {
    if (!m)
      return respond(error_response(req, http::status::not_found, "not_found", "metrics are not enabled"));
    string_response res{http::status::ok, req.version()};
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    res.body() = m->registry->render();
    res.prepare_payload();
    respond(std::move(res));
  });
}

} // namespace mediaspool::net
