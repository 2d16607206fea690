// JWT verification (net/jwt.hpp): HS256 only, constant-time signature check, required exp and
// sub, sid and scope claims; every way a token can be wrong is refused with a reason.
#include "net/jwt.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <vector>

using namespace mediaspool::net;
using json = nlohmann::json;

namespace {

const std::string secret = "0123456789abcdef0123456789abcdef-test-secret";
constexpr int64_t now = 1'800'000'000;

std::string token(json claims, const std::string& key = secret) { return sign_jwt(claims.dump(), key); }

json valid() { return {{"sub", "42"}, {"exp", now + 3600}}; }

// A token with any header, signed correctly with `secret` (to show the header alone is refused).
std::string with_header(const json& header, const json& claims) {
  auto input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  auto real = sign_jwt(claims.dump(), secret);
  return input + real.substr(real.rfind('.'));
}

} // namespace

TEST_SUITE("net.jwt") {

TEST_CASE("a valid HS256 token gives its claims") {
  auto r = verify_jwt(token({{"sub", "42"}, {"exp", now + 60}, {"sid", "AAAAAAAA-1111-2222-3333-444444444444"},
                             {"scope", "record review"}}),
                      secret, now);
  REQUIRE_MESSAGE(r.ok(), r.error);
  CHECK(r.claims->user_id == 42);
  CHECK(r.claims->expires == now + 60);
  CHECK(r.claims->sid == "aaaaaaaa-1111-2222-3333-444444444444");
  CHECK(r.claims->has_scope("record"));
  CHECK(r.claims->has_scope("review"));
  CHECK_FALSE(r.claims->has_scope("admin"));
}

TEST_CASE("sub may be a number, scope an array, and no scope means record") {
  auto r = verify_jwt(token({{"sub", 7}, {"exp", now + 60}, {"scope", {"admin"}}}), secret, now);
  REQUIRE(r.ok());
  CHECK(r.claims->user_id == 7);
  CHECK(r.claims->has_scope("admin"));
  auto plain = verify_jwt(token(valid()), secret, now);
  REQUIRE(plain.ok());
  CHECK(plain.claims->scopes == std::set<std::string>{"record"});
  CHECK_FALSE(plain.claims->sid.has_value());
}

TEST_CASE("alg none, other algorithms and odd headers are refused") {
  for (const json& header : {json{{"alg", "none"}}, json{{"alg", "HS512"}}, json{{"alg", "RS256"}}, json{{"alg", "hs256"}},
                             json{{"typ", "JWT"}}, json{{"alg", 256}}}) {
    auto r = verify_jwt(with_header(header, valid()), secret, now);
    CHECK_MESSAGE(!r.ok(), header.dump());
    CHECK(r.error == "the token must be signed with HS256");
  }
  // alg none with an empty signature, the classic.
  auto unsigned_token = base64url_encode(R"({"alg":"none"})") + "." + base64url_encode(valid().dump()) + ".";
  CHECK_FALSE(verify_jwt(unsigned_token, secret, now).ok());
}

TEST_CASE("a signature made with another key, or any flipped bit, is refused") {
  CHECK(verify_jwt(token(valid(), secret + "x"), secret, now).error == "the token signature is not valid");
  auto good = token(valid());
  for (size_t i = 0; i < good.size(); ++i) {
    if (good[i] == '.')
      continue;
    auto bad = good;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    CHECK_MESSAGE(!verify_jwt(bad, secret, now).ok(), "flipped at " << i);
  }
  // A payload swapped under a valid signature.
  auto other = token({{"sub", "1"}, {"exp", now + 60}});
  auto d1 = good.find('.'), d2 = good.rfind('.');
  auto o1 = other.find('.'), o2 = other.rfind('.');
  CHECK_FALSE(verify_jwt(good.substr(0, d1) + other.substr(o1, o2 - o1) + good.substr(d2), secret, now).ok());
}

TEST_CASE("exp is required and enforced, nbf too") {
  CHECK(verify_jwt(token({{"sub", "1"}}), secret, now).error == "the token has no exp");
  CHECK(verify_jwt(token({{"sub", "1"}, {"exp", "tomorrow"}}), secret, now).error == "the token has no exp");
  CHECK(verify_jwt(token({{"sub", "1"}, {"exp", now - 31}}), secret, now).error == "the token has expired");
  CHECK(verify_jwt(token({{"sub", "1"}, {"exp", now - 5}}), secret, now).ok()); // within the leeway
  CHECK(verify_jwt(token({{"sub", "1"}, {"exp", now + 60}, {"nbf", now + 120}}), secret, now).error
        == "the token is not valid yet");
}

TEST_CASE("sub must be a user id, and sid and scope must be well typed") {
  CHECK_FALSE(verify_jwt(token({{"exp", now + 60}}), secret, now).ok());
  CHECK_FALSE(verify_jwt(token({{"sub", "alice"}, {"exp", now + 60}}), secret, now).ok());
  CHECK_FALSE(verify_jwt(token({{"sub", "42x"}, {"exp", now + 60}}), secret, now).ok());
  // The user id is a 32-bit column.
  CHECK_FALSE(verify_jwt(token({{"sub", "2147483648"}, {"exp", now + 60}}), secret, now).ok());
  CHECK_FALSE(verify_jwt(token({{"sub", 3000000000LL}, {"exp", now + 60}}), secret, now).ok());
  CHECK(verify_jwt(token({{"sub", "2147483647"}, {"exp", now + 60}}), secret, now).ok());
  CHECK_FALSE(verify_jwt(token({{"sub", "1"}, {"exp", now + 60}, {"sid", 5}}), secret, now).ok());
  CHECK_FALSE(verify_jwt(token({{"sub", "1"}, {"exp", now + 60}, {"scope", 5}}), secret, now).ok());
}

TEST_CASE("malformed tokens are refused without a crash") {
  for (std::string bad : std::vector<std::string>{"", "abc", "a.b", "a.b.c.d", "..", "!!!.###.$$$", "eyJhbGciOiJIUzI1NiJ9.e30.",
                          std::string(9000, 'a')})
    CHECK_MESSAGE(!verify_jwt(bad, secret, now).ok(), bad.substr(0, 20));
  CHECK_FALSE(verify_jwt(token(valid()), "", now).ok()); // no secret configured: nothing passes
  CHECK(verify_jwt(token(json::array({1, 2})), secret, now).error == "the token payload is not a JSON object");
}

TEST_CASE("base64url round trips and rejects non-canonical text") {
  for (std::string s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\0\xff\xfe", 3)})
    CHECK(base64url_decode(base64url_encode(s)) == s);
  CHECK(base64url_encode("foobar") == "Zm9vYmFy");
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK_FALSE(base64url_decode("Zm9v=").has_value()); // padding is not base64url
  CHECK_FALSE(base64url_decode("Zm9v+").has_value());
  CHECK_FALSE(base64url_decode("Z").has_value());
  CHECK_FALSE(base64url_decode("Zh").has_value()); // leftover bits set: not canonical
}

} // TEST_SUITE
