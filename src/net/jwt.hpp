#pragma once
// JSON Web Tokens as PROTOCOL.md section 6 uses them: HS256 only, a shared secret, claims `sub`
// (the user id, an integer or a string of digits), `exp` (required), optional `sid` (one session
// only) and `scope` ("record", "review", "admin"; a space-separated string or an array; absent
// means "record"). Pure: no I/O, no clock (the caller passes now), fuzzable.
//
// Verification order: three base64url parts, a header that is a JSON object with "alg":"HS256"
// exactly (never "none", never another algorithm, whatever the key), the HMAC-SHA256 signature
// compared in constant time (CRYPTO_memcmp), then the claims. A token never appears in an error
// text.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace mediaspool::net {

struct jwt_claims {
  int64_t user_id = 0;               ///< sub
  int64_t expires = 0;               ///< exp, seconds since the epoch
  std::optional<std::string> sid;    ///< the only session the token may record (lower case)
  std::set<std::string> scopes;      ///< {"record"} when the token names none

  bool has_scope(const std::string& s) const { return scopes.count(s) > 0; }
};

struct jwt_result {
  std::optional<jwt_claims> claims; ///< set when the token is valid
  std::string error;                ///< why not, for the client's error message

  bool ok() const noexcept { return claims.has_value(); }
};

/// Verifies `token` against `secret` at time `now_s` (seconds since the epoch). `leeway_s`
/// tolerates clock skew on `exp`.
jwt_result verify_jwt(std::string_view token, std::string_view secret, int64_t now_s, int64_t leeway_s = 30);

/// An HS256 token for `claims_json` (a JSON object's text): for tests, benchmarks and tools.
std::string sign_jwt(std::string_view claims_json, std::string_view secret);

/// RFC 4648 section 5 without padding.
std::string base64url_encode(std::string_view bytes);
/// nullopt if `text` holds a character outside the alphabet or padding.
std::optional<std::string> base64url_decode(std::string_view text);

} // namespace mediaspool::net
