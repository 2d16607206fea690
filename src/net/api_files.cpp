// GET /api/sessions/{sid}/audio/{n} and /frames/{n}: one stored media file, with HTTP Range.
// A query actor finds the file (media_store::path_of, so no request can name a path outside the
// session folder, and the stat runs off the Asio thread); the handler's reply opens it and lets
// Beast stream it from disk (http::file_body, or a byte window for 206).
#include "net/api.hpp"
#include "net/file_response.hpp"
#include "net/net.hpp"
#include "net/query_client.hpp"
#include "net/session_access.hpp"

#include <charconv>

namespace mediaspool::net {

namespace {

void get_file(server_context& ctx, char kind, const http_request& req, const route_params& p, responder respond) {
  const auto& n = p.path.at("n");
  uint32_t index = 0;
  auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), index);
  if (n.empty() || ec != std::errc{} || end != n.data() + n.size())
    return respond(error_response(req, http::status::bad_request, "bad_index", "the index must be a non-negative integer"));
  with_readable_session(ctx, req, p, std::move(respond),
                        [&ctx, kind, index](const http_request& rq, const std::string& sid, responder reply) {
                          ask_query<media_file>(
                            ctx, rq, std::move(reply),
                            [](const http_request& r, media_file& f) {
                              // Stored files never change (a resend with other bytes is a conflict), so
                              // they may be cached.
                              return serve_file(r, f.path, f.mime_type, "private, max-age=86400, immutable");
                            },
                            atom::mediafile::value, media_file_query{sid, kind, index});
                        });
}

} // namespace

void register_file_routes(http_router& router, server_context& ctx) {
  router.add(http::verb::get, "/api/sessions/{sid}/audio/{n}",
             [&ctx](const http_request& req, const route_params& p, responder respond) {
               get_file(ctx, 'a', req, p, std::move(respond));
             });
  router.add(http::verb::get, "/api/sessions/{sid}/frames/{n}",
             [&ctx](const http_request& req, const route_params& p, responder respond) {
               get_file(ctx, 'f', req, p, std::move(respond));
             });
}

} // namespace mediaspool::net
