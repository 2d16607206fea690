// GET /api/sessions/{sid}/transcript?format=json|txt|vtt: the session row from a query actor,
// formatted by net/transcript.hpp. Available from the first chunk on; `complete` (json) and a
// closing line (txt) tell whether chunks still wait for the transcriber.
#include "net/api.hpp"
#include "net/head_response.hpp"
#include "net/query_client.hpp"
#include "net/session_access.hpp"
#include "net/transcript.hpp"

#include <nlohmann/json.hpp>

namespace mediaspool::net {

namespace {

enum class transcript_format { json, txt, vtt };

http_response transcript_response(transcript_format fmt, const http_request& r, const std::string& body) {
  if (body.empty())
    return head_or_full(r, error_response(r, http::status::not_found, "not_found", "no such session"));
  auto session = nlohmann::json::parse(body, nullptr, false);
  if (!session.is_object())
    return error_response(r, http::status::internal_server_error, "internal", "the session row is not JSON");
  auto t = build_transcript(session);
  if (fmt == transcript_format::json)
    return head_or_full(r, json_response(r, http::status::ok, transcript_json(t)));
  string_response res{http::status::ok, r.version()};
  res.set(http::field::content_type,
          fmt == transcript_format::vtt ? "text/vtt; charset=utf-8" : "text/plain; charset=utf-8");
  res.set(http::field::cache_control, "no-cache");
  res.keep_alive(r.keep_alive());
  res.body() = fmt == transcript_format::vtt ? transcript_vtt(t) : transcript_txt(t);
  res.prepare_payload();
  return head_or_full(r, std::move(res));
}

void get_transcript(server_context& ctx, const http_request& req, const route_params& p, responder respond) {
  auto fmt = transcript_format::json;
  if (auto it = p.query.find("format"); it != p.query.end() && !it->second.empty()) {
    if (it->second == "txt")
      fmt = transcript_format::txt;
    else if (it->second == "vtt")
      fmt = transcript_format::vtt;
    else if (it->second != "json")
      return respond(error_response(req, http::status::bad_request, "bad_request", "format must be json, txt or vtt"));
  }
  with_readable_session(ctx, req, p, std::move(respond),
                        [&ctx, fmt](const http_request& rq, const std::string& sid, responder reply) {
                          ask_query<std::string>(
                            ctx, rq, std::move(reply),
                            [fmt](const http_request& r, std::string& body) { return transcript_response(fmt, r, body); },
                            atom::detail::value, sid);
                        });
}

} // namespace

void register_transcript_routes(http_router& router, server_context& ctx) {
  router.add(http::verb::get, "/api/sessions/{sid}/transcript",
             [&ctx](const http_request& req, const route_params& p, responder respond) {
               get_transcript(ctx, req, p, std::move(respond));
             });
}

} // namespace mediaspool::net
