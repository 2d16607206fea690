#pragma once
// Who may do what (PROTOCOL.md section 6). `none`: everyone may record and review (allowed only
// when the server listens on loopback; main refuses anything else). `jwt`: recording needs a
// token with scope record (or admin) whose sub owns the session; the review API needs scope
// review (own sessions) or admin (all). allowed_origins closes cross-site WebSocket upgrades.
#include "actors/wire.hpp"
#include "net/http_router.hpp"
#include "net/jwt.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mediaspool::net {

enum class auth_mode { none, jwt };

struct auth_config {
  auth_mode mode = auth_mode::none;
  std::string secret;                       ///< HS256 key (auth.secret or MEDIASPOOL_JWT_SECRET)
  std::vector<std::string> allowed_origins; ///< exact Origin values; empty: any origin
};

/// The token of a request: `Authorization: Bearer <token>`, else the `access_token` query
/// parameter (media elements and WebSocket clients cannot set headers). Empty if neither.
std::string request_token(const http_request& req, const route_params& p);

/// False if the list is not empty and `origin` is not on it exactly. A request without an Origin
/// header is not a browser's cross-site request and passes.
bool origin_allowed(const auth_config& cfg, std::string_view origin);

/// Seconds since the epoch (the clock jwt checks run against).
int64_t unix_now();

/// A recorder's session_init (PROTOCOL.md section 6), checked before any session actor sees it:
/// the token is session_init.token, else the upgrade's access_token (`query_token`). On success
/// the token's sub becomes the user_id and owner; the token is cleared either way so it never
/// travels further. Returns the error to answer (then close 1008) or nullopt.
std::optional<error_reply> authenticate_recorder(const auth_config& cfg, session_init& init,
                                                 std::string_view query_token, int64_t now_s);

/// The claims of an API request's bearer token, or the 401 to answer.
std::variant<jwt_claims, string_response> bearer_claims(const auth_config& cfg, const http_request& req,
                                                        const route_params& p);

/// What a review API caller may see, or the HTTP error to answer with.
struct review_access {
  bool all = true;                ///< admin, or auth mode none
  int64_t user_id = 0;            ///< when !all: only this user's sessions
  std::optional<string_response> denied;
};

/// Checks a review API request's credentials.
review_access check_review(const auth_config& cfg, const http_request& req, const route_params& p);

} // namespace mediaspool::net
