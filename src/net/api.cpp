#include "net/api.hpp"

#include <algorithm>
#include <cctype>

namespace mediaspool::net {

std::shared_ptr<const http_router> make_router(server_context& ctx) {
  auto router = std::make_shared<http_router>();
  register_health_routes(*router, ctx);
  register_metrics_routes(*router, ctx);
  register_readiness_routes(*router, ctx);
  register_session_routes(*router, ctx);
  register_file_routes(*router, ctx);
  register_static_routes(*router, ctx);
  register_recording_routes(*router, ctx);
  register_transcript_routes(*router, ctx);
  register_debug_routes(*router, ctx);
  return router;
}

std::optional<std::string> session_id_param(const http_request& req, const route_params& p, const responder& respond) {
  auto sid = p.path.at("sid");
  if (!is_uuid(sid)) {
    respond(error_response(req, http::status::bad_request, "bad_session_id", "the session id must be a UUID"));
    return std::nullopt;
  }
  std::transform(sid.begin(), sid.end(), sid.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return sid;
}

} // namespace mediaspool::net
