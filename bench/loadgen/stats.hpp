#pragma once
// What one I/O thread measures. Each thread owns its thread_stats and is its only writer, so
// recording needs no locks; the histograms are merged after the threads have joined. The few
// numbers the live progress line shows are relaxed atomics written by that one thread.
#include "loadgen/histogram.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace loadgen {

using steady = std::chrono::steady_clock;

/// A counter with one writer and any number of readers: a plain load + store, no locked add.
class live_counter {
public:
  void add(uint64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(uint64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
  std::atomic<uint64_t> v_{0};
};

struct live_counters {
  live_counter connected;     ///< sessions whose session_init was acked on the current connection
  live_counter acked;         ///< all item acks, warm-up included
  live_counter acked_bytes;
  live_counter measured_acked;
  live_counter measured_bytes;
  live_counter open_items;    ///< generated, not yet acked or given up
  live_counter errors;
  live_counter reconnects;
  live_counter latency_sum_us; ///< measured items only, for the progress line's mean
  live_counter latency_count;
};

/// Measured acks that came in during one second of the measured phase.
struct second_stats {
  uint64_t acks = 0;
  uint64_t max_ns = 0; ///< the slowest of them
};

struct thread_stats {
  thread_stats();

  live_counters live;

  histogram latency;          ///< ns, measured items: both halves handed to the socket -> ack
  histogram connect_latency;  ///< ns, TCP connect + WebSocket handshake
  histogram init_latency;     ///< ns, session_init handed to the socket -> session_init_ack
  histogram admit_latency;    ///< ns, a session's start -> its first session_init_ack (refusals, backoff included)
  histogram end_latency;      ///< ns, session_end -> session_end_ack
  histogram transcript_latency; ///< ns, audio_ack -> its `transcription` (--transcript-wait)
  std::vector<histogram> by_position; ///< ns, row r holds positions [r * bucket, (r + 1) * bucket)
  /// Row s: measured acks that came in s to s + 1 seconds after the measured phase began, so a
  /// p99 over the run can be traced to the seconds that made it (a stall, a server's checkpoint).
  std::vector<second_stats> by_second;

  std::map<std::string, uint64_t> errors_by_code;
  std::map<int, uint64_t> close_codes; ///< server close codes seen on connections that dropped
  std::map<unsigned, uint64_t> upgrades_refused; ///< HTTP status of upgrades answered without upgrading

  uint64_t items_sent = 0;       ///< pairs fully handed to the socket (resends included)
  uint64_t measured_sent = 0;    ///< first sends of measured items
  uint64_t measured_acked = 0;
  uint64_t measured_bytes = 0;
  uint64_t window_acked = 0;     ///< measured acks inside the throughput window
  uint64_t window_bytes = 0;
  uint64_t warmup_acked = 0;
  uint64_t duplicates = 0;       ///< acks with "duplicate":true
  uint64_t size_mismatches = 0;  ///< ack file_size differs from what was sent
  uint64_t unexpected_acks = 0;  ///< acks for nothing outstanding (already acked, never sent)
  uint64_t early_acks = 0;       ///< ack seen before the write completion (latency recorded as 0)
  uint64_t acked_via_resume = 0; ///< un-acked items a resume ack reported as held
  uint64_t resent = 0;           ///< items sent again after a reconnect or a retryable error
  uint64_t failed_items = 0;     ///< items refused with a non-retryable error
  uint64_t missing = 0;          ///< sent, never acked by the end
  uint64_t unsent = 0;           ///< generated but never fully sent by the end
  uint64_t connect_failures = 0; ///< TCP or handshake failed
  uint64_t disconnects = 0;      ///< established connections that dropped
  uint64_t init_timeouts = 0;
  uint64_t sessions_failed = 0;  ///< gave up after --reconnect-max
  uint64_t sessions_ended = 0;   ///< session_end_ack received
  uint64_t sessions_admitted = 0; ///< got a first session_init_ack
  uint64_t sessions_not_taken = 0; ///< open arrivals: never admitted by --time-limit
  uint64_t ends_unacked = 0;     ///< session_end sent, no ack by the end
  uint64_t skipped_held = 0;     ///< items never sent because the server already held them
  uint64_t bad_server_text = 0;  ///< server text frames that did not parse
  uint64_t transcripts = 0;         ///< transcriptions of audio chunks acked on the same connection
  uint64_t transcripts_missing = 0; ///< acked chunks whose transcription did not come (--transcript-wait)
  steady::time_point last_measured_ack{};

  void record_position(uint64_t position, uint32_t bucket, uint64_t ns);
  void record_second(steady::duration since_measure_start, uint64_t ns);
  void merge(const thread_stats& other);
};

} // namespace loadgen
