#pragma once
// The review API's gate for one session's routes (detail, files, recording, transcript): the
// `{sid}` must be a UUID, the caller's token must allow reviewing (auth.hpp), and a caller who is
// not admin must own the session (asked of a query actor, off the Asio thread). Only then does
// the route run.
#include "net/http_router.hpp"
#include "net/server_context.hpp"

#include <functional>
#include <string>

namespace mediaspool::net {

/// The route itself; `req` may be a copy of the original request (the check may have been async).
using session_route = std::function<void(const http_request& req, const std::string& sid, responder respond)>;

/// Answers 400 / 401 / 403 / 404 itself, or calls `next` with the lower-case session id.
void with_readable_session(server_context& ctx, const http_request& req, const route_params& p, responder respond,
                           session_route next);

} // namespace mediaspool::net
