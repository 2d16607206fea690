#pragma once
// The global in-flight budget: payload bytes read from all sockets and not yet released by
// their session (durable, rejected or dropped). Connections stop reading while it is spent, so
// memory stays bounded whatever the clients do. Lock-free; any thread.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <shared_mutex>

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

/// Lets threads outside Asio post onto connection strands only while the io_context exists.
/// Payload buffers can outlive it (a file still being written at shutdown), and their
/// deleters post credit back: main closes the gate before it destroys the io_context.
class io_gate {
public:
  /// Runs `post` if the gate is open; false otherwise.
  template <class F>
  bool run(F&& post) {
    std::shared_lock<std::shared_mutex> lock{mtx_};
    if (!open_)
      return false;
    post();
    return true;
  }

  void close() {
    std::unique_lock<std::shared_mutex> lock{mtx_};
    open_ = false;
  }

private:
  std::shared_mutex mtx_;
  bool open_ = true;
};

} // namespace mediaspool::net
