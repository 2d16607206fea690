#include "net/auth.hpp"

#include <algorithm>
#include <chrono>

namespace mediaspool::net {

std::string request_token(const http_request& req, const route_params& p) {
  auto h = req[http::field::authorization];
  std::string_view v(h.data(), h.size());
  constexpr std::string_view bearer = "Bearer ";
  if (v.size() > bearer.size() && std::equal(bearer.begin(), bearer.end(), v.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
      }))
    return std::string(v.substr(bearer.size()));
  if (auto it = p.query.find("access_token"); it != p.query.end())
    return it->second;
  return {};
}

bool origin_allowed(const auth_config& cfg, std::string_view origin) {
  if (cfg.allowed_origins.empty() || origin.empty())
    return true;
  return std::find(cfg.allowed_origins.begin(), cfg.allowed_origins.end(), origin) != cfg.allowed_origins.end();
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

review_access check_review(const auth_config& cfg, const http_request& req, const route_params& p) {
  review_access out;
  if (cfg.mode == auth_mode::none)
    return out;
  auto r = verify_jwt(request_token(req, p), cfg.secret, unix_now());
  if (!r.ok()) {
    auto res = error_response(req, http::status::unauthorized, "unauthorized", r.error);
    res.set(http::field::www_authenticate, "Bearer");
    out.denied = std::move(res);
    return out;
  }
  if (r.claims->has_scope("admin"))
    return out;
  if (!r.claims->has_scope("review")) {
    out.denied = error_response(req, http::status::forbidden, "forbidden", "the token has no review scope");
    return out;
  }
  out.all = false;
  out.user_id = r.claims->user_id;
  return out;
}

} // namespace mediaspool::net
