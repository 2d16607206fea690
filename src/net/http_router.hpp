#pragma once
// The route table of the HTTP side: method + path pattern -> handler. Handlers live in one file
// per area (api_health.cpp, api_sessions.cpp, ...), never in one big router file. A handler may
// answer later and from any thread (routes that ask actors): `respond` posts the response onto
// the connection's strand. No handler may block (no libpqxx, no file I/O beyond opening a file).
#include "net/range_file.hpp"

#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mediaspool::net {

namespace http = boost::beast::http;

using http_request = http::request<http::string_body>;
using string_response = http::response<http::string_body>;
using file_response = http::response<http::file_body>;
/// 206: one byte window of a file, streamed from disk.
using range_response = http::response<http::basic_file_body<range_file>>;
using http_response = std::variant<string_response, file_response, range_response>;

/// Answers the request; callable once, from any thread.
using responder = std::function<void(http_response)>;

/// `{name}` segments of the matched pattern and the decoded query parameters.
struct route_params {
  std::map<std::string, std::string> path;
  std::map<std::string, std::string> query;
};

using route_handler = std::function<void(const http_request&, const route_params&, responder)>;

class http_router {
public:
  /// Adds a route; `pattern` is a path whose segments may be `{name}` placeholders
  /// ("/api/sessions/{sid}/audio/{n}").
  void add(http::verb method, std::string pattern, route_handler handler);

  /// Finds the route for `req` and calls its handler. Returns false if no pattern matches the
  /// path (the caller answers 404); a path that matches with another method gets 405 here.
  bool dispatch(const http_request& req, responder respond) const;

private:
  struct route {
    http::verb method;
    std::vector<std::string> segments;
    route_handler handler;
  };
  std::vector<route> routes_;
};

/// A JSON response with the request's version and keep-alive.
string_response json_response(const http_request& req, http::status status, std::string body);

/// {"error": code, "message": message} with `status`.
string_response error_response(const http_request& req, http::status status, std::string_view code,
                               std::string_view message);

/// Splits "a=1&b=x%20y" into decoded pairs.
std::map<std::string, std::string> parse_query(std::string_view query);

} // namespace mediaspool::net
