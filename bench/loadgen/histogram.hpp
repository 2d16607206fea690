#pragma once
// A log-linear latency histogram in the manner of HdrHistogram: every power of two is split into
// 2^(sub_bucket_bits - 1) equal buckets, so any recorded value is known to within
// 1 / 2^(sub_bucket_bits - 1) of itself (0.8% with the default 7 bits) whatever its magnitude,
// in constant memory and O(1) per record. Values are unsigned integers in a unit the caller
// picks (the load generator records nanoseconds). Not thread-safe: one per thread, merged after.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace loadgen {

class histogram {
public:
  explicit histogram(unsigned sub_bucket_bits = 7);

  void record(uint64_t value) noexcept;
  void record_n(uint64_t value, uint64_t n) noexcept;
  /// Adds every sample of `other`, which must have the same sub_bucket_bits.
  void merge(const histogram& other);
  void reset() noexcept;

  uint64_t count() const noexcept { return count_; }
  uint64_t min() const noexcept { return count_ ? min_ : 0; }
  uint64_t max() const noexcept { return max_; }
  double mean() const noexcept;
  /// The value below or at which `percent` of the samples fall, as the highest value of the
  /// bucket holding that sample (never above max()). 0 for an empty histogram; 100 gives max().
  uint64_t percentile(double percent) const noexcept;

  /// Bucket boundaries, for callers that want the whole distribution (CDF plots).
  size_t bucket_count() const noexcept { return counts_.size(); }
  uint64_t bucket_samples(size_t i) const noexcept { return counts_[i]; }
  uint64_t bucket_low(size_t i) const noexcept;
  uint64_t bucket_high(size_t i) const noexcept;
  size_t index_of(uint64_t value) const noexcept;

private:
  unsigned bits_;
  uint64_t half_; // 2^(bits - 1): buckets per power of two above the linear range
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

} // namespace loadgen
