#pragma once
// One sink connection: just enough of PROTOCOL.md to satisfy a recorder (session_init_ack,
// metadata/blob pairing in either order, an ack per pair, session_end_ack), with nothing stored.
// Payloads are read in bounded slices and dropped, so memory per connection stays small.
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <cstdint>

namespace sink {

struct sink_stats {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> open_connections{0};
  std::atomic<uint64_t> items{0};
  std::atomic<uint64_t> payload_bytes{0};
  std::atomic<uint64_t> errors{0};
};

struct sink_limits {
  size_t read_message_max = 8u << 20;
  size_t read_slice = 64u << 10;
  size_t max_text = 16u << 10;
};

void start_session(boost::asio::ip::tcp::socket socket, const sink_limits& limits, sink_stats& stats);

} // namespace sink
