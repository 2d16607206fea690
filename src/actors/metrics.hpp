#pragma once
// A small lock-free metrics registry rendered in the Prometheus text format (version 0.0.4).
// Registration takes a mutex and happens at start-up; counting, setting and observing are plain
// atomics, safe from any thread (actors, Asio) without locks. Series live as long as the registry
// and never move, so callers keep references to them. No CAF, no I/O.
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace mediaspool::metrics {

/// Label pairs of one series, rendered in this order: {{"kind","audio"}} -> {kind="audio"}.
using labels = std::vector<std::pair<std::string, std::string>>;

/// A monotonically increasing count.
class counter {
public:
  void inc(uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
  std::atomic<uint64_t> v_{0};
};

/// A value that goes up and down.
class gauge {
public:
  void set(int64_t v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(int64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  void sub(int64_t n = 1) noexcept { v_.fetch_sub(n, std::memory_order_relaxed); }
  int64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
  std::atomic<int64_t> v_{0};
};

/// Fixed buckets chosen at registration: counts of observations <= each upper bound, plus +Inf.
class histogram {
public:
  /// `upper_bounds` ascending; +Inf is implicit.
  explicit histogram(std::vector<double> upper_bounds);

  void observe(double v) noexcept;

  struct snapshot {
    std::vector<uint64_t> cumulative; ///< one per bound, then +Inf
    uint64_t count = 0;
    double sum = 0;
  };
  /// A consistent-enough copy for rendering (each atomic read once).
  snapshot snap() const;

  /// Observations and their sum so far, without copying the buckets (for frequent sampling).
  struct totals {
    uint64_t count = 0;
    double sum = 0;
  };
  totals total() const noexcept;
  const std::vector<double>& bounds() const noexcept { return bounds_; }

private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_; ///< bounds_.size() + 1 (the last is +Inf)
  std::atomic<double> sum_{0};
};

/// The set of metric families of one process (built at the composition root and passed in).
class registry {
public:
  /// Each adds one series to the family `name` (created on first use with `help`); a family holds
  /// one type. Names follow Prometheus conventions (counters end in `_total`).
  counter& add_counter(const std::string& name, const std::string& help, labels l = {});
  gauge& add_gauge(const std::string& name, const std::string& help, labels l = {});
  histogram& add_histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                           labels l = {});
  /// A gauge computed at render time (RSS, a queue read from elsewhere). `fn` must be thread-safe.
  void add_callback(const std::string& name, const std::string& help, std::function<double()> fn,
                    labels l = {});

  /// All families in registration order, in the Prometheus text format.
  std::string render() const;

private:
  struct series {
    labels lbl;
    std::unique_ptr<counter> c;
    std::unique_ptr<gauge> g;
    std::unique_ptr<histogram> h;
    std::function<double()> fn;
  };
  struct family {
    std::string name;
    std::string help;
    std::string type;
    std::deque<series> items;
  };
  series& add(const std::string& name, const std::string& help, const char* type, labels l);

  mutable std::mutex mtx_;
  std::deque<family> families_;
};

/// Exponential bucket bounds: start, start*factor, ... (`n` of them).
std::vector<double> exponential_buckets(double start, double factor, size_t n);

/// Resident set size of this process in bytes (/proc/self/statm), 0 if unknown.
double process_rss_bytes();

} // namespace mediaspool::metrics
