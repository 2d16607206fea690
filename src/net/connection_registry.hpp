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
  /// A connection that registers after shutdown_all (its handshake was under way) is asked to
  /// finish at once.
  uint64_t add(hook on_shutdown) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (!closed_) {
        hooks_.emplace(++last_id_, std::move(on_shutdown));
        return last_id_;
      }
    }
    on_shutdown();
    return 0;
  }

  /// Whether shutdown_all has run (new upgrades are refused).
  bool closed() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return closed_;
  }

  void remove(uint64_t id) {
    std::lock_guard<std::mutex> guard{mtx_};
    hooks_.erase(id);
  }

  /// Calls every hook once; connections that register later are asked at once.
  void shutdown_all() {
    std::map<uint64_t, hook> hooks;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      closed_ = true;
      hooks = hooks_;
    }
    for (auto& [id, h] : hooks)
      h();
  }

private:
  mutable std::mutex mtx_;
  std::map<uint64_t, hook> hooks_;
  bool closed_ = false;
  uint64_t last_id_ = 0;
};

} // namespace mediaspool::net
