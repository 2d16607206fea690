#pragma once
// How an HTTP handler asks a query actor without blocking the Asio thread: a short-lived
// event-based actor sends the request and turns the reply (or the error) into a response through
// `respond`, which posts it back onto the connection's strand (http_router.hpp).
#include "actors/protocol.hpp"
#include "net/http_router.hpp"
#include "net/server_context.hpp"

#include <caf/event_based_actor.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace mediaspool::net {

/// Deadline of one query; past it the client gets 503.
inline constexpr std::chrono::seconds query_timeout{10};

/// The HTTP answer for a failed query: 503 when the database is unavailable or the query timed
/// out (the client may retry), 500 otherwise.
inline string_response query_error_response(const http_request& req, const caf::error& err) {
  if (err.category() == caf::atom("mediaspool") && to_ec(err) == ec::overloaded)
    return error_response(req, http::status::service_unavailable, "overloaded", "the database is unavailable; retry later");
  if (err == caf::sec::request_timeout)
    return error_response(req, http::status::service_unavailable, "overloaded", "the query timed out; retry later");
  return error_response(req, http::status::internal_server_error, "internal", "the query failed");
}

/// Sends `msg...` to `target` with deadline `timeout`; `on_reply(req, Reply&)` builds the
/// response. Returns at once.
template <class Reply, class Handle, class OnReply, class... Ts>
void ask_actor(server_context& ctx, const Handle& target, std::chrono::milliseconds timeout, const http_request& req,
               responder respond, OnReply on_reply, Ts... msg) {
  auto r = std::make_shared<const http_request>(req);
  ctx.sys.spawn([target, timeout, r, respond, on_reply, msg...](caf::event_based_actor* self) {
    self->request(target, timeout, msg...)
      .then([=](Reply& reply) { respond(on_reply(*r, reply)); },
            [=](caf::error& err) { respond(query_error_response(*r, err)); });
  });
}

/// ask_actor on one of ctx.queries (round robin) with query_timeout.
template <class Reply, class OnReply, class... Ts>
void ask_query(server_context& ctx, const http_request& req, responder respond, OnReply on_reply, Ts... msg) {
  if (ctx.queries.empty())
    return respond(error_response(req, http::status::service_unavailable, "overloaded", "no query service"));
  auto q = ctx.queries[ctx.next_query.fetch_add(1) % ctx.queries.size()];
  ask_actor<Reply>(ctx, q, std::chrono::milliseconds(query_timeout), req, std::move(respond), std::move(on_reply),
                   msg...);
}

} // namespace mediaspool::net
