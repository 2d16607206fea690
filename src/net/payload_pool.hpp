#pragma once
// Recycles the storage of payload buffers. A message's buffer lives until its item is durable and
// a file, and is freed on another thread; with thousands of sessions a gigabyte of them is alive
// at once, and malloc then spends its time in fragmented free lists (~8 % of the server's CPU at
// 10,000 real-time sessions, perf), while storage it hands back to the kernel returns as fresh
// pages to fault in and zero. Here buffers are kept by size class (4 KiB steps) up to a retained
// total, and the next message of a similar size takes one off its list.
// Thread-safety: all methods may be called from any thread.
#include "actors/wire.hpp"

#include <cstddef>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace mediaspool::net {

class payload_pool {
public:
  static constexpr size_t class_bytes = 4096;

  /// Keeps at most `max_retained` bytes of idle buffers.
  explicit payload_pool(size_t max_retained) : max_(max_retained) {}

  /// An empty buffer whose capacity is `n` rounded up to a whole class (at least one).
  byte_vector acquire(size_t n) {
    const size_t cap = round_up(n);
    {
      std::lock_guard<std::mutex> lock{mtx_};
      if (auto it = free_.find(cap); it != free_.end() && !it->second.empty()) {
        byte_vector v = std::move(it->second.back());
        it->second.pop_back();
        retained_ -= cap;
        return v;
      }
    }
    byte_vector v;
    v.reserve(cap);
    return v;
  }

  /// Takes back a buffer's storage for reuse, or frees it: past the retained bound, or if its
  /// capacity is not a class (grown by other means).
  void give_back(byte_vector&& v) {
    const size_t cap = v.capacity();
    if (cap == 0 || cap % class_bytes != 0)
      return;
    v.clear();
    std::lock_guard<std::mutex> lock{mtx_};
    if (retained_ + cap > max_)
      return; // v's storage is freed on return
    free_[cap].push_back(std::move(v));
    retained_ += cap;
  }

  /// Moves `v`'s bytes into a pooled buffer of at least `total` bytes' capacity and takes back
  /// `v`'s old storage; `v`'s size and bytes are unchanged. Nothing happens if it is big enough.
  void grow_exact(byte_vector& v, size_t total) {
    if (total <= v.capacity())
      return;
    byte_vector exact = acquire(total);
    exact.resize(v.size());
    if (!v.empty())
      std::memcpy(exact.data(), v.data(), v.size());
    v.swap(exact);
    give_back(std::move(exact));
  }

  /// Bytes of idle buffers kept.
  size_t retained() const {
    std::lock_guard<std::mutex> lock{mtx_};
    return retained_;
  }

  static size_t round_up(size_t n) { return n <= class_bytes ? class_bytes : (n + class_bytes - 1) / class_bytes * class_bytes; }

private:
  mutable std::mutex mtx_;
  std::unordered_map<size_t, std::vector<byte_vector>> free_; ///< capacity -> idle buffers
  size_t retained_ = 0;
  size_t max_;
};

} // namespace mediaspool::net
