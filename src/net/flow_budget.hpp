#pragma once
// The global in-flight budget: payload bytes read from all sockets and not yet released by
// their session (durable, rejected or dropped). Connections stop reading while it is spent, so
// memory stays bounded whatever the clients do.
//
// Connections that find it spent queue here and get their turn in the order they stopped: when
// bytes come back the first in line reads one message, then rejoins the back of the line if
// others are still waiting. Polling instead (every connection retrying on a timer) picks the
// next reader at random, so under sustained overload a few sessions starve for tens of seconds
// while the rest go on (figure 7 of the benchmark: p99 31 s at 10,000 sessions).
// Counting is lock-free; the line takes a mutex only while someone waits. Any thread.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <shared_mutex>

namespace mediaspool::net {

class flow_budget {
public:
  /// Gives a waiting connection its turn; called on whichever thread frees the room, so it
  /// only posts. If the connection no longer wants the turn, it must call pass_turn().
  using turn = std::function<void()>;

  explicit flow_budget(uint64_t limit) : limit_(limit) {}

  void take(uint64_t n) noexcept { used_.fetch_add(n, std::memory_order_relaxed); }

  void release(uint64_t n) {
    used_.fetch_sub(n, std::memory_order_relaxed);
    if (!spent())
      pass_turn();
  }

  bool spent() const noexcept { return used_.load(std::memory_order_relaxed) >= limit_; }

  /// A connection finishing a pair (it holds a blob whose metadata is behind its next binary
  /// frame; see unpaired_halves) may read that frame ahead of the line while the bytes in
  /// flight stay below the limit plus this overdraft: an eighth of the limit, at least 16 MiB.
  /// Memory stays bounded; only the bound is that much higher.
  bool overdraft_left() const noexcept {
    const uint64_t extra = std::max<uint64_t>(limit_ / 8, uint64_t{16} << 20);
    const uint64_t bound = limit_ > UINT64_MAX - extra ? UINT64_MAX : limit_ + extra;
    return used_.load(std::memory_order_relaxed) < bound;
  }
  uint64_t used() const noexcept { return used_.load(std::memory_order_relaxed); }

  /// True if a connection reading now would go ahead of one already in line.
  bool line_waiting() const noexcept { return waiting_.load(std::memory_order_acquire) > 0; }

  /// Joins the back of the line. If there is room already (the bytes came back between the
  /// caller's check and now), the front of the line is served at once, so no turn is lost.
  void wait(turn t) {
    {
      std::lock_guard<std::mutex> lock{mtx_};
      line_.push_back(std::move(t));
      waiting_.store(line_.size(), std::memory_order_release);
    }
    if (!spent())
      pass_turn();
  }

  /// Serves the front of the line, if any.
  void pass_turn() {
    if (!line_waiting())
      return;
    turn t;
    {
      std::lock_guard<std::mutex> lock{mtx_};
      if (line_.empty())
        return;
      t = std::move(line_.front());
      line_.pop_front();
      waiting_.store(line_.size(), std::memory_order_release);
    }
    t();
  }

  /// Forgets every waiting turn (shutdown, before the io_context they post to goes).
  void clear_line() {
    std::lock_guard<std::mutex> lock{mtx_};
    line_.clear();
    waiting_.store(0, std::memory_order_release);
  }

private:
  uint64_t limit_;
  std::atomic<uint64_t> used_{0};
  std::atomic<size_t> waiting_{0};
  std::mutex mtx_;
  std::deque<turn> line_;
};

/// How long a connection's binary frames have been on their way: waiting in the line for the
/// process budget, then being read, including a frame still on its way. Metadata does not age
/// meanwhile (the client is not late). Written on the connection's strand, read by its session
/// actor; a mutex, since it changes only when a frame starts or ends.
class stall_meter {
public:
  using clock = std::chrono::steady_clock;

  void begin(clock::time_point now) {
    std::lock_guard<std::mutex> lock{mtx_};
    if (!stalled_)
      since_ = now;
    stalled_ = true;
  }

  void end(clock::time_point now) {
    std::lock_guard<std::mutex> lock{mtx_};
    if (stalled_)
      total_ += now - since_;
    stalled_ = false;
  }

  clock::duration total(clock::time_point now) const {
    std::lock_guard<std::mutex> lock{mtx_};
    return stalled_ ? total_ + (now - since_) : total_;
  }

private:
  mutable std::mutex mtx_;
  clock::duration total_{};
  clock::time_point since_{};
  bool stalled_ = false;
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
