#pragma once
// Runs one load test: starts the I/O threads and their sessions, walks the run through its
// phases (ramp-up and warm-up, the measured phase, the drain), prints the live progress line,
// and returns the merged measurements.
#include "loadgen/options.hpp"
#include "loadgen/recorder_model.hpp"
#include "loadgen/stats.hpp"

#include <memory>
#include <string>
#include <vector>

namespace loadgen {

/// Totals once a second during the measured phase, for throughput-over-time plots.
struct timeline_point {
  double t_s = 0; ///< since the measured phase began
  uint64_t acked = 0;
  uint64_t bytes = 0;
  uint64_t connected = 0;
  uint64_t open = 0;
};

struct run_result {
  std::unique_ptr<thread_stats> total;
  double ready_s = 0;   ///< from start to the barrier (ramp-up, connects, warm-up)
  double measure_s = 0; ///< the throughput window
  /// Wall time the measured phase began (seconds since the epoch), so samples taken outside
  /// loadgen (the report's disk and CPU counters) can be cut to the measured window.
  double measure_started_unix = 0;
  /// --settle: the server's items pending at the barrier (-1: not known), the wait for them to
  /// reach 0, and whether they did before --settle ran out.
  double pending_at_ready = -1;
  double settle_s = 0;
  bool settled = false;
  double drain_s = 0;   ///< from the end of new items to the last session finishing
  uint64_t throughput_items = 0;
  uint64_t throughput_bytes = 0;
  uint32_t sessions_ready = 0; ///< reached the barrier connected (the rest had given up)
  bool interrupted = false;
  std::vector<timeline_point> timeline;
};

run_result run(const options& o, const recorder_model& model, const std::string& origin);

} // namespace loadgen
