#pragma once
// A recording client for crash tests, with the RocksDB-style expected-state oracle: for every
// item it knows whether the server ACKED it (must be stored exactly once, byte for byte) or only
// SENT it (pending: may be stored or not, but never twice and never different). Payloads are a
// pure function of (session, kind, index), so stored bytes can be checked without keeping them.
#include "support/ws_test_client.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace mediaspool::test {

/// Deterministic payload of an item: 300 B .. 48 KB of bytes derived from the key.
std::string crash_payload(const std::string& session_id, char kind, uint32_t index);

/// Counts acks across all clients, so the test can kill the server after a chosen number.
struct ack_counter {
  std::mutex mtx;
  std::condition_variable cv;
  uint64_t acks = 0;
  int stopped = 0; ///< clients whose connection ended (finished or dropped) in this cycle
  void add() {
    { std::lock_guard<std::mutex> g{mtx}; ++acks; }
    cv.notify_all();
  }
  void stop() {
    { std::lock_guard<std::mutex> g{mtx}; ++stopped; }
    cv.notify_all();
  }
  /// Waits until `target` acks were counted or `clients` clients stopped; false after `timeout`.
  bool wait_for(uint64_t target, int clients, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lk{mtx};
    return cv.wait_for(lk, timeout, [&] { return acks >= target || stopped >= clients; });
  }
};

class crash_client {
public:
  enum class state { unsent, sent, acked };

  crash_client(std::string session_id, uint32_t audio_items, uint32_t frame_items, uint32_t window);

  /// One connection's life: session_init, check the held ranges against the oracle, resend
  /// what is not acked, keep sending until everything is acked or the connection drops.
  /// Returns true if everything is acked.
  bool run_connection(uint16_t port, ack_counter& counter);

  /// session_end on a fresh connection; true with the totals if acked.
  bool end_session(uint16_t port, uint64_t& chunks, uint64_t& frames);

  const std::string& session_id() const { return sid_; }
  state item_state(char kind, uint32_t index) const;
  uint32_t items(char kind) const { return kind == 'a' ? audio_ : frames_; }
  /// Oracle violations seen during the run (an acked item missing from session_init_ack ranges,
  /// an ack with a wrong size, an unexpected error); empty if none.
  const std::vector<std::string>& violations() const { return violations_; }

private:
  void send_item(ws_test_client& c, char kind, uint32_t index);
  void check_ranges(const nlohmann::json& ack);

  std::string sid_;
  uint32_t audio_;
  uint32_t frames_;
  uint32_t window_;
  uint64_t sent_count_ = 0;
  std::map<std::pair<char, uint32_t>, state> items_;
  std::vector<std::string> violations_;
};

} // namespace mediaspool::test
