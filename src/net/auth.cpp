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

std::optional<error_reply> authenticate_recorder(const auth_config& cfg, session_init& init,
                                                 std::string_view query_token, int64_t now_s) {
  std::string token = init.token.empty() ? std::string(query_token) : std::move(init.token);
  init.token.clear();
  if (cfg.mode == auth_mode::none)
    return std::nullopt;
  auto r = verify_jwt(token, cfg.secret, now_s);
  if (!r.ok())
    return error_reply{ec::unauthorized, r.error, std::nullopt};
  const auto& c = *r.claims;
  if (!c.has_scope("record") && !c.has_scope("admin"))
    return error_reply{ec::forbidden, "the token has no record scope", std::nullopt};
  if (c.sid && *c.sid != init.session_id)
    return error_reply{ec::forbidden, "the token is for another session", std::nullopt};
  init.user_id = c.user_id; // sub overrides user_id
  init.owner = c.user_id;
  return std::nullopt;
}

std::variant<jwt_claims, string_response> bearer_claims(const auth_config& cfg, const http_request& req,
                                                        const route_params& p) {
  auto r = verify_jwt(request_token(req, p), cfg.secret, unix_now());
  if (r.ok())
    return std::move(*r.claims);
  auto res = error_response(req, http::status::unauthorized, "unauthorized", r.error);
  res.set(http::field::www_authenticate, "Bearer");
  return res;
}

review_access check_review(const auth_config& cfg, const http_request& req, const route_params& p) {
  review_access out;
  if (cfg.mode == auth_mode::none)
    return out;
  auto claims = bearer_claims(cfg, req, p);
  if (auto* denied = std::get_if<string_response>(&claims)) {
    out.denied = std::move(*denied);
    return out;
  }
  const auto& c = std::get<jwt_claims>(claims);
  if (c.has_scope("admin"))
    return out;
  if (!c.has_scope("review")) {
    out.denied = error_response(req, http::status::forbidden, "forbidden", "the token has no review scope");
    return out;
  }
  out.all = false;
  out.user_id = c.user_id;
  return out;
}

} // namespace mediaspool::net
