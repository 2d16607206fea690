#include "net/api.hpp"

namespace mediaspool::net {

std::shared_ptr<const http_router> make_router(server_context& ctx) {
  auto router = std::make_shared<http_router>();
  register_health_routes(*router, ctx);
  register_metrics_routes(*router, ctx);
  register_readiness_routes(*router, ctx);
  register_session_routes(*router, ctx);
  register_file_routes(*router, ctx);
  register_static_routes(*router, ctx);
  return router;
}

} // namespace mediaspool::net
