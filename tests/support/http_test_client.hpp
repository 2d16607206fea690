#pragma once
// A small blocking HTTP/1.1 client for the integration tests: one GET over a fresh loopback
// connection, with a deadline (a silent server fails the call instead of hanging the test).
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mediaspool::test {

using namespace std::chrono_literals;

struct http_result {
  unsigned status = 0;                        ///< 0: no answer (connect failure or timeout)
  std::map<std::string, std::string> headers; ///< names in lower case
  std::string body;
  std::string error; ///< why status is 0

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

/// GET `target` from 127.0.0.1:`port` with extra request `headers`.
http_result http_get(uint16_t port, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers = {},
                     std::chrono::milliseconds timeout = 10s, const std::string& method = "GET");

/// The request headers of a WebSocket upgrade (RFC 6455's sample key), for http_get: the answer
/// to an upgrade refused before it happens (503) or the 101 of one taken.
std::vector<std::pair<std::string, std::string>> websocket_upgrade_headers();

/// Polls GET `target` (every 100 ms) until its status is `want` or `deadline` passes; returns the
/// last answer.
http_result http_get_until(uint16_t port, const std::string& target, unsigned want,
                           std::chrono::milliseconds deadline = 20s);

} // namespace mediaspool::test
