#include "loadgen/histogram.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace loadgen {

namespace {

unsigned msb(uint64_t v) noexcept { return 63u - static_cast<unsigned>(__builtin_clzll(v)); }

} // namespace

// Layout: values below 2^bits map to themselves (exact). Above, a value whose top bit is m is
// shifted right by s = m - (bits - 1) so that it lands in [half, 2*half); its bucket is
// (s + 1) * half + (v >> s) - half. Consecutive powers of two therefore tile the index space
// without gaps, and the last index (for m = 63) bounds the array.
histogram::histogram(unsigned sub_bucket_bits) : bits_(sub_bucket_bits) {
  if (bits_ < 2 || bits_ > 16)
    throw std::invalid_argument("histogram: sub_bucket_bits must be in [2, 16]");
  half_ = uint64_t{1} << (bits_ - 1);
  counts_.assign(index_of(UINT64_MAX) + 1, 0);
}

size_t histogram::index_of(uint64_t v) const noexcept {
  if (v < 2 * half_)
    return static_cast<size_t>(v);
  unsigned shift = msb(v) - (bits_ - 1);
  return static_cast<size_t>((shift + 1) * half_ + (v >> shift) - half_);
}

uint64_t histogram::bucket_low(size_t i) const noexcept {
  if (i < 2 * half_)
    return i;
  uint64_t shift = i / half_ - 1;
  uint64_t sub = i % half_ + half_;
  return sub << shift;
}

uint64_t histogram::bucket_high(size_t i) const noexcept {
  if (i < 2 * half_)
    return i;
  uint64_t shift = i / half_ - 1;
  uint64_t sub = i % half_ + half_;
  // The top bucket's upper end would overflow; it ends at UINT64_MAX.
  if (shift + msb(sub + 1) >= 64)
    return UINT64_MAX;
  return ((sub + 1) << shift) - 1;
}

void histogram::record(uint64_t value) noexcept { record_n(value, 1); }

void histogram::record_n(uint64_t value, uint64_t n) noexcept {
  if (n == 0)
    return;
  counts_[index_of(value)] += n;
  count_ += n;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<long double>(value) * static_cast<long double>(n);
}

void histogram::merge(const histogram& other) {
  if (other.bits_ != bits_)
    throw std::invalid_argument("histogram: cannot merge histograms of different precision");
  for (size_t i = 0; i < counts_.size(); ++i)
    counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void histogram::reset() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
  sum_ = 0;
}

double histogram::mean() const noexcept {
  return count_ ? static_cast<double>(sum_ / static_cast<long double>(count_)) : 0.0;
}

uint64_t histogram::percentile(double percent) const noexcept {
  if (count_ == 0)
    return 0;
  if (percent >= 100.0)
    return max_;
  percent = std::max(percent, 0.0);
  // The rank of the sample asked for, 1-based: p50 of 1..10 is the 5th sample.
  auto rank = static_cast<uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank)
      return std::clamp(bucket_high(i), min_, max_);
  }
  return max_;
}

} // namespace loadgen
