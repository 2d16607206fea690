// GET /api/sessions (list, keyset paging) and GET /api/sessions/{sid} (one row as JSON).
// Both ask a query actor; nothing here touches PostgreSQL.
#include "net/api.hpp"
#include "net/head_response.hpp"
#include "net/query_client.hpp"
#include "net/session_access.hpp"

#include <charconv>

namespace mediaspool::net {

namespace {

std::optional<int64_t> parse_int(const std::string& s, int64_t min, int64_t max) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v < min || v > max)
    return std::nullopt;
  return v;
}

string_response bad_request(const http_request& req, std::string_view message) {
  return error_response(req, http::status::bad_request, "bad_request", message);
}

// A query parameter that is absent or empty is no filter; a malformed one is an error.
bool read_int(const route_params& p, const char* name, int64_t min, int64_t max, std::optional<int64_t>& out) {
  auto it = p.query.find(name);
  if (it == p.query.end() || it->second.empty())
    return true;
  out = parse_int(it->second, min, max);
  return out.has_value();
}

void list_sessions(server_context& ctx, const http_request& req, const route_params& p, responder respond) {
  auto access = check_review(ctx.auth, req, p);
  if (access.denied)
    return respond(head_or_full(req, std::move(*access.denied)));
  session_query q;
  std::optional<int64_t> limit;
  if (!read_int(p, "user_id", INT32_MIN, INT32_MAX, q.user_id))
    return respond(bad_request(req, "user_id must be an integer"));
  if (!read_int(p, "cursor", 1, INT64_MAX, q.cursor))
    return respond(bad_request(req, "cursor must be a positive integer (the next_cursor of the previous page)"));
  if (!read_int(p, "limit", 1, 500, limit))
    return respond(bad_request(req, "limit must be an integer from 1 to 500"));
  q.limit = limit.value_or(50);
  if (!access.all) { // a reviewer sees their own sessions only
    if (q.user_id && *q.user_id != access.user_id)
      return respond(error_response(req, http::status::forbidden, "forbidden", "user_id names another user"));
    q.user_id = access.user_id;
  }
  if (auto it = p.query.find("status"); it != p.query.end() && !it->second.empty()) {
    if (it->second != "recording" && it->second != "completed")
      return respond(bad_request(req, "status must be recording or completed"));
    q.status = it->second;
  }
  ask_query<std::string>(
    ctx, req, std::move(respond),
    [](const http_request& r, std::string& body) {
      return head_or_full(r, json_response(r, http::status::ok, std::move(body)));
    },
    atom::list::value, q);
}

void get_session(server_context& ctx, const http_request& req, const route_params& p, responder respond) {
  with_readable_session(ctx, req, p, std::move(respond), [&ctx](const http_request& rq, const std::string& sid, responder reply) {
    ask_query<std::string>(
      ctx, rq, std::move(reply),
      [](const http_request& r, std::string& body) {
        if (body.empty())
          return head_or_full(r, error_response(r, http::status::not_found, "not_found", "no such session"));
        return head_or_full(r, json_response(r, http::status::ok, std::move(body)));
      },
      atom::detail::value, sid);
  });
}

} // namespace

void register_session_routes(http_router& router, server_context& ctx) {
  router.add(http::verb::get, "/api/sessions", [&ctx](const http_request& req, const route_params& p, responder respond) {
    list_sessions(ctx, req, p, std::move(respond));
  });
  router.add(http::verb::get, "/api/sessions/{sid}", [&ctx](const http_request& req, const route_params& p, responder respond) {
    get_session(ctx, req, p, std::move(respond));
  });
}

} // namespace mediaspool::net
