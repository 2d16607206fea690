#include "net/api.hpp"

namespace mediaspool::net {

std::shared_ptr<const http_router> make_router(server_context& ctx) {
  auto router = std::make_shared<http_router>();
  register_health_routes(*router, ctx);
  return router;
}

} // namespace mediaspool::net
