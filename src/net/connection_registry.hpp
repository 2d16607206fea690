#pragma once
// The live WebSocket connections, so shutdown can ask each to finish: stop reading, let its last
// items become durable and acked, then close with 1001. Thread-safe (connections come and go on
// the Asio threads; shutdown runs from the signal handler on one of them).
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace mediaspool::net {

class connection_registry {
public:
  using hook = std::function<void()>;

  /// Registers a connection's shutdown hook (it must post onto the connection's strand);
  /// returns the id to remove it with.
  uint64_t add(hook on_shutdown) {
    std::lock_guard<std::mutex> guard{mtx_};
    hooks_.emplace(++last_id_, std::move(on_shutdown));
    return last_id_;
  }

  void remove(uint64_t id) {
    std::lock_guard<std::mutex> guard{mtx_};
    hooks_.erase(id);
  }

  /// Calls every hook once. Later connections are not accepted anymore by then.
  void shutdown_all() {
    std::map<uint64_t, hook> hooks;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      hooks = hooks_;
    }
    for (auto& [id, h] : hooks)
      h();
  }

private:
  std::mutex mtx_;
  std::map<uint64_t, hook> hooks_;
  uint64_t last_id_ = 0;
};

} // namespace mediaspool::net
