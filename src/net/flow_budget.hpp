#pragma once
// The global in-flight budget: payload bytes read from all sockets and not yet released by
// their session (durable, rejected or dropped). Connections stop reading while it is spent, so
// memory stays bounded whatever the clients do. Lock-free; any thread.
#include <atomic>
#include <cstdint>

namespace mediaspool::net {

class flow_budget {
public:
  explicit flow_budget(uint64_t limit) : limit_(limit) {}

  void take(uint64_t n) noexcept { used_.fetch_add(n, std::memory_order_relaxed); }
  void release(uint64_t n) noexcept { used_.fetch_sub(n, std::memory_order_relaxed); }
  bool spent() const noexcept { return used_.load(std::memory_order_relaxed) >= limit_; }
  uint64_t used() const noexcept { return used_.load(std::memory_order_relaxed); }

private:
  uint64_t limit_;
  std::atomic<uint64_t> used_{0};
};

} // namespace mediaspool::net
