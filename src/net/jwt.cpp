#include "net/jwt.hpp"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

namespace mediaspool::net {

namespace {

using json = nlohmann::json;

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// A token bigger than this is not a token (headers are a few KB at most).
constexpr size_t max_token_bytes = 8192;

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out.data(), &len))
    return {};
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::optional<json> json_object(std::string_view b64) {
  auto text = base64url_decode(b64);
  if (!text)
    return std::nullopt;
  auto j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return std::nullopt;
  return j;
}

// An integer claim: a JSON integer, or a float with no fraction (some issuers write 1.7e9).
std::optional<int64_t> integer_claim(const json& v) {
  if (v.is_number_integer())
    return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9.0e18)
      return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

// A user id is an INTEGER column (32 bits).
std::optional<int64_t> user_id_claim(const json& v) {
  if (auto n = integer_claim(v))
    return *n >= INT32_MIN && *n <= INT32_MAX ? n : std::nullopt;
  if (!v.is_string())
    return std::nullopt;
  const auto& s = v.get_ref<const std::string&>();
  int32_t out = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size())
    return std::nullopt;
  return out;
}

jwt_result fail(std::string why) { return {std::nullopt, std::move(why)}; }

} // namespace

std::string base64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6)
      out += alphabet[(v >> s) & 63];
  }
  if (size_t rest = in.size() - i; rest > 0) {
    uint32_t v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (rest == 2)
      out += alphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view in) {
  if (in.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-'             ? 62
            : c == '_'             ? 63
                                   : -1;
    if (v < 0)
      return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // Leftover bits must be zero (a canonical encoding); otherwise two texts decode alike.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

std::string sign_jwt(std::string_view claims_json, std::string_view secret) {
  std::string signing_input = base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(claims_json);
  return signing_input + "." + base64url_encode(hmac_sha256(secret, signing_input));
}

jwt_result verify_jwt(std::string_view token, std::string_view secret, int64_t now_s, int64_t leeway_s) {
  if (token.empty())
    return fail("no token");
  if (token.size() > max_token_bytes)
    return fail("the token is too long");
  if (secret.empty())
    return fail("no secret configured");
  auto d1 = token.find('.');
  auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return fail("the token is not three base64url parts");
  auto header = json_object(token.substr(0, d1));
  if (!header)
    return fail("the token header is not a JSON object");
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || alg->get_ref<const std::string&>() != "HS256")
    return fail("the token must be signed with HS256");
  auto signature = base64url_decode(token.substr(d2 + 1));
  auto expected = hmac_sha256(secret, token.substr(0, d2));
  if (!signature || expected.empty() || signature->size() != expected.size()
      || CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0)
    return fail("the token signature is not valid");
  auto payload = json_object(token.substr(d1 + 1, d2 - d1 - 1));
  if (!payload)
    return fail("the token payload is not a JSON object");
  jwt_claims c;
  auto exp = payload->find("exp");
  auto exp_v = exp == payload->end() ? std::nullopt : integer_claim(*exp);
  if (!exp_v)
    return fail("the token has no exp");
  if (*exp_v <= now_s - leeway_s)
    return fail("the token has expired");
  c.expires = *exp_v;
  if (auto nbf = payload->find("nbf"); nbf != payload->end()) {
    auto nbf_v = integer_claim(*nbf);
    if (!nbf_v || *nbf_v > now_s + leeway_s)
      return fail("the token is not valid yet");
  }
  auto sub = payload->find("sub");
  auto sub_v = sub == payload->end() ? std::nullopt : user_id_claim(*sub);
  if (!sub_v)
    return fail("the token's sub is not a user id");
  c.user_id = *sub_v;
  if (auto sid = payload->find("sid"); sid != payload->end() && !sid->is_null()) {
    if (!sid->is_string())
      return fail("the token's sid is not a string");
    std::string s = sid->get<std::string>();
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    c.sid = std::move(s);
  }
  if (auto scope = payload->find("scope"); scope != payload->end() && !scope->is_null()) {
    if (scope->is_string()) {
      std::istringstream words{scope->get<std::string>()};
      for (std::string w; words >> w;)
        c.scopes.insert(w);
    } else if (scope->is_array()) {
      for (const auto& s : *scope)
        if (s.is_string())
          c.scopes.insert(s.get<std::string>());
    } else {
      return fail("the token's scope is not a string or an array");
    }
  } else {
    c.scopes.insert("record");
  }
  return {std::move(c), {}};
}

} // namespace mediaspool::net
