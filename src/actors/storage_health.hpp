#pragma once
// Whether the spool and the media files can be written right now, as their writers last saw it.
// The spool writer and the file writers report every outcome; the readiness probe and the
// sessions read it (a session answers `overloaded` at once while the media disk is full instead
// of acking bytes that cannot become files; a full spool disk fails each commit fast on its own).
// A write in progress is visible too (`started`, then `finished`): a disk that got slow or hangs
// fails nothing, so only the age of the write still running shows it (admission.hpp).
// Thread-safe: the writers are detached actors.
#include "actors/metrics.hpp"
#include "storage/errc.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
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

  /// A write to `s` starts now (steady clock); `finished` ends it.
  void started(store s, std::chrono::steady_clock::time_point now) noexcept {
    started_ns_[s].store(now.time_since_epoch().count(), std::memory_order_release);
  }

  /// The write to `s` in progress ended, however it ended (the spool writer's scope guard).
  void finished(store s) noexcept { started_ns_[s].store(0, std::memory_order_release); }

  /// How long the write to `s` in progress has run at `now`; zero when none is.
  std::chrono::steady_clock::duration running_for(store s, std::chrono::steady_clock::time_point now) const noexcept {
    const auto since = started_ns_[s].load(std::memory_order_acquire);
    if (since == 0)
      return {};
    return std::max(std::chrono::steady_clock::duration{}, now - std::chrono::steady_clock::time_point{
                                                                     std::chrono::steady_clock::duration{since}});
  }

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
  std::atomic<int64_t> started_ns_[2]{}; ///< steady clock of the write in progress; 0 if none
  mutable std::mutex mutex_;
  std::string last_error_[2];
};

} // namespace mediaspool
