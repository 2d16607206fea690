// GET /api/sessions/{sid}/audio/{n} and /frames/{n}: one stored media file, with HTTP Range.
// A query actor finds the file (media_store::path_of, so no request can name a path outside the
// session folder, and the stat runs off the Asio thread); the handler's reply opens it and lets
// Beast stream it from disk (http::file_body, or a byte window for 206).
#include "net/api.hpp"
#include "net/head_response.hpp"
#include "net/http_range.hpp"
#include "net/net.hpp"
#include "net/query_client.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace mediaspool::net {

namespace {

template <class Response>
void set_common(Response& res, const http_request& req, const std::string& mime) {
  res.set(http::field::content_type, mime);
  res.set(http::field::accept_ranges, "bytes");
  // Stored files never change (a resend with other bytes is a conflict), so they may be cached.
  res.set(http::field::cache_control, "private, max-age=86400, immutable");
  res.keep_alive(req.keep_alive());
}

http_response serve_file(const http_request& req, const media_file& f) {
  if (f.path.empty())
    return error_response(req, http::status::not_found, "not_found", "no such file");
  beast::error_code ec;
  http::file_body::value_type body;
  body.open(f.path.c_str(), beast::file_mode::scan, ec);
  if (ec)
    return error_response(req, http::status::not_found, "not_found", "no such file");
  const uint64_t size = body.size();
  auto range_header = req[http::field::range];
  auto range = range_header.empty() ? byte_range{}
                                    : parse_range(std::string_view(range_header.data(), range_header.size()), size);
  if (range.kind == range_kind::unsatisfiable) {
    auto res = error_response(req, http::status::range_not_satisfiable, "range_not_satisfiable",
                              "the range starts past the end of the file");
    res.set(http::field::content_range, "bytes */" + std::to_string(size));
    res.set(http::field::accept_ranges, "bytes");
    return res;
  }
  if (range.kind == range_kind::partial) {
    range_file rf;
    rf.open(f.path.c_str(), beast::file_mode::scan, ec);
    if (!ec)
      rf.set_window(range.first, range.length(), ec);
    http::basic_file_body<range_file>::value_type window;
    if (!ec)
      window.reset(std::move(rf), ec);
    if (ec)
      return error_response(req, http::status::internal_server_error, "internal", "cannot read the file");
    range_response res{std::piecewise_construct, std::make_tuple(std::move(window)),
                       std::make_tuple(http::status::partial_content, req.version())};
    set_common(res, req, f.mime_type);
    res.set(http::field::content_range, "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last)
                                          + "/" + std::to_string(size));
    res.prepare_payload();
    return head_or_full(req, std::move(res));
  }
  file_response res{std::piecewise_construct, std::make_tuple(std::move(body)),
                    std::make_tuple(http::status::ok, req.version())};
  set_common(res, req, f.mime_type);
  res.prepare_payload();
  return head_or_full(req, std::move(res));
}

void get_file(server_context& ctx, char kind, const http_request& req, const route_params& p, responder respond) {
  auto sid = p.path.at("sid");
  if (!is_uuid(sid))
    return respond(error_response(req, http::status::bad_request, "bad_session_id", "the session id must be a UUID"));
  std::transform(sid.begin(), sid.end(), sid.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto& n = p.path.at("n");
  uint32_t index = 0;
  auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), index);
  if (n.empty() || ec != std::errc{} || end != n.data() + n.size())
    return respond(error_response(req, http::status::bad_request, "bad_index", "the index must be a non-negative integer"));
  ask_query<media_file>(
    ctx, req, std::move(respond), [](const http_request& r, media_file& f) { return serve_file(r, f); },
    atom::mediafile::value, media_file_query{sid, kind, index});
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
