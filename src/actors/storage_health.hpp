#pragma once
// Whether the spool and the media files can be written right now, as their writers last saw it.
// The spool writer and the file writers report every outcome; the readiness probe and the
// sessions read it (a session answers `overloaded` at once while the media disk is full instead
// of acking bytes that cannot become files; a full spool disk fails each commit fast on its own).
// Thread-safe: the writers are detached actors.
#include "actors/metrics.hpp"
#include "storage/errc.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace mediaspool {

class storage_health {
public:
  enum store : uint8_t { spool = 0, media = 1 };

  /// `failure_counters` (may be null) count failed writes per store in /metrics.
  explicit storage_health(std::array<metrics::counter*, 2> failure_counters = {}) : counters_(failure_counters) {}

  /// Records the outcome of a write to `s`; a success clears an earlier failure.
  void report(store s, const storage::status& st);

  /// True while the last write to `s` failed.
  bool failing(store s) const noexcept { return failing_[s].load(std::memory_order_acquire); }

  /// True while the last write to `s` failed for lack of space.
  bool full(store s) const noexcept { return full_[s].load(std::memory_order_acquire); }

  /// One line per failing store, for /readyz.
  std::vector<std::string> problems() const;

  /// Failed writes seen since start, per store (for /metrics).
  uint64_t failures(store s) const noexcept { return failures_[s].load(std::memory_order_relaxed); }

private:
  std::array<metrics::counter*, 2> counters_;
  std::atomic<bool> failing_[2]{};
  std::atomic<bool> full_[2]{};
  std::atomic<uint64_t> failures_[2]{};
  mutable std::mutex mutex_;
  std::string last_error_[2];
};

} // namespace mediaspool
