#include "net/session_access.hpp"

#include "net/api.hpp"
#include "net/auth.hpp"
#include "net/head_response.hpp"
#include "net/query_client.hpp"

namespace mediaspool::net {

void with_readable_session(server_context& ctx, const http_request& req, const route_params& p, responder respond,
                           session_route next) {
  auto sid = session_id_param(req, p, respond);
  if (!sid)
    return;
  auto access = check_review(ctx.auth, req, p);
  if (access.denied)
    return respond(head_or_full(req, std::move(*access.denied)));
  if (access.all)
    return next(req, *sid, std::move(respond));
  if (ctx.queries.empty())
    return respond(error_response(req, http::status::service_unavailable, "overloaded", "no query service"));
  auto q = ctx.queries[ctx.next_query.fetch_add(1) % ctx.queries.size()];
  auto r = std::make_shared<const http_request>(req);
  const int64_t user = access.user_id;
  ctx.sys.spawn([q, r, respond, next, user, sid = *sid](caf::event_based_actor* self) {
    self->request(q, query_timeout, atom::owner::value, sid)
      .then(
        [=](storage::pg_owner& o) {
          if (!o.exists)
            return respond(head_or_full(*r, error_response(*r, http::status::not_found, "not_found", "no such session")));
          if (o.user_id != user)
            return respond(head_or_full(
              *r, error_response(*r, http::status::forbidden, "forbidden", "this session belongs to another user")));
          next(*r, sid, respond);
        },
        [=](caf::error& err) { respond(query_error_response(*r, err)); });
  });
}

} // namespace mediaspool::net
