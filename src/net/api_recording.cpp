// GET /api/sessions/{sid}/recording.webm: the whole session's audio as one WebM/Opus file,
// assembled by a recording builder actor (off the Asio thread) and then streamed from disk with
// Range support like any stored file. The file changes when new chunks arrive: it carries an
// ETag (the chunks' fingerprint) and must be revalidated, never cached as immutable.
#include "net/api.hpp"
#include "net/file_response.hpp"
#include "net/query_client.hpp"
#include "net/session_access.hpp"

#include <functional>

namespace mediaspool::net {

namespace {

// A three-hour session is ~1,100 chunks to decode and encode: about a minute on one core.
constexpr std::chrono::minutes build_timeout{5};

void get_recording(server_context& ctx, const http_request& req, const route_params& p, responder respond) {
  if (ctx.recordings.empty())
    return respond(error_response(req, http::status::service_unavailable, "overloaded", "no recording service"));
  with_readable_session(ctx, req, p, std::move(respond), [&ctx](const http_request& rq, const std::string& sid, responder reply) {
    // One builder per session: two requests for one session never build it twice at once.
    const auto& builder = ctx.recordings[std::hash<std::string>{}(sid) % ctx.recordings.size()];
    ask_actor<recording_file>(
      ctx, builder, build_timeout, rq, std::move(reply),
      [](const http_request& r, recording_file& f) -> http_response {
        if (f.missing != recording_file::problem::none)
          return error_response(r, http::status::not_found, "not_found", f.message);
        return serve_file(r, f.path, "audio/webm", "private, no-cache", f.etag);
      },
      atom::recording::value, sid);
  });
}

} // namespace

void register_recording_routes(http_router& router, server_context& ctx) {
  router.add(http::verb::get, "/api/sessions/{sid}/recording.webm",
             [&ctx](const http_request& req, const route_params& p, responder respond) {
               get_recording(ctx, req, p, std::move(respond));
             });
}

} // namespace mediaspool::net
