#include "net/http_router.hpp"

#include <nlohmann/json.hpp>

namespace mediaspool::net {

namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos)
      j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

} // namespace

void http_router::add(http::verb method, std::string pattern, route_handler handler) {
  routes_.push_back(route{method, split_path(pattern), std::move(handler)});
}

bool http_router::dispatch(const http_request& req, responder respond) const {
  auto target = std::string_view(req.target().data(), req.target().size());
  auto q = target.find('?');
  auto segments = split_path(target.substr(0, q));
  bool path_matched = false;
  for (const auto& r : routes_) {
    if (r.segments.size() != segments.size())
      continue;
    route_params params;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      const auto& p = r.segments[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}')
        params.path[p.substr(1, p.size() - 2)] = url_decode(segments[i]);
      else
        match = p == segments[i];
    }
    if (!match)
      continue;
    path_matched = true;
    if (r.method != req.method() && !(r.method == http::verb::get && req.method() == http::verb::head))
      continue;
    if (q != std::string_view::npos)
      params.query = parse_query(target.substr(q + 1));
    r.handler(req, params, std::move(respond));
    return true;
  }
  if (path_matched) {
    respond(error_response(req, http::status::method_not_allowed, "method_not_allowed",
                           "this path does not accept " + std::string(req.method_string())));
    return true;
  }
  return false;
}

string_response json_response(const http_request& req, http::status status, std::string body) {
  string_response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

string_response error_response(const http_request& req, http::status status, std::string_view code,
                               std::string_view message) {
  nlohmann::json j{{"error", code}, {"message", message}};
  // A message may quote the request (its path is raw client bytes): invalid UTF-8 becomes U+FFFD
  // instead of an exception on the Asio thread, which would end the process.
  return json_response(req, status, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i <= query.size()) {
    auto j = query.find('&', i);
    if (j == std::string_view::npos)
      j = query.size();
    auto pair = query.substr(i, j - i);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      out[url_decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
    }
    i = j + 1;
  }
  return out;
}

} // namespace mediaspool::net
