#pragma once
// What reaches a WebSocket connection from other threads: its session's outbox, the deleter that
// gives a binary frame's bytes back, and its turn in the process budget's line. Each posts onto
// the connection's strand through a weak pointer (a connection already gone is a no-op) and only
// while the io_context exists (io_gate). Apart from ws_connection.cpp, the one translation unit
// that instantiates Beast's websocket::stream.
#include "actors/outbox.hpp"
#include "net/flow_budget.hpp"
#include "net/net.hpp"
#include "net/payload_pool.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mediaspool::net {

/// The connection as these handles see it; every method runs on its strand.
class connection_port {
public:
  /// Texts that arrived in one post: they are written together (write_coalescer.hpp).
  virtual void queue_writes(std::vector<std::string> texts) = 0;
  virtual void queue_close(uint16_t code, std::string reason) = 0;
  virtual void add_credit(uint64_t bytes) = 0;
  virtual void on_turn() = 0;

protected:
  ~connection_port() = default;
};

/// Where to post: the connection (weakly), its strand and the gate.
struct connection_link {
  std::weak_ptr<connection_port> conn;
  asio::any_io_executor ex;
  std::shared_ptr<io_gate> gate;

  /// Runs `live(connection)` on the strand, or `gone()` there if the connection no longer exists.
  template <class Live, class Gone>
  void post(Live live, Gone gone) const {
    gate->run([&] {
      asio::post(ex, [c = conn, live = std::move(live), gone = std::move(gone)]() mutable {
        if (auto p = c.lock())
          live(*p);
        else
          gone();
      });
    });
  }
};

/// The session actor's handle on its connection. Messages sent while a post is on its way ride
/// on it (a session acks a whole commit's items in one go): every post is a wake-up of the
/// network thread, the dearest part of a small item.
class ws_outbox final : public outbox {
public:
  ws_outbox(connection_link link, std::shared_ptr<const stall_meter> stall)
    : link_(std::move(link)), stall_(std::move(stall)) {}

  void send(server_message msg) override;
  void close(uint16_t code, std::string reason) override;
  std::chrono::steady_clock::duration stalled() const override;

private:
  struct text_queue {
    std::mutex mtx;
    std::vector<std::string> texts; ///< non-empty: a post that takes them is on its way
  };

  connection_link link_;
  std::shared_ptr<const stall_meter> stall_;
  std::shared_ptr<text_queue> queue_ = std::make_shared<text_queue>();
};

/// Where a connection's binary frames give their bytes back, made once per connection. The
/// frame's bytes are credit in flight for exactly as long as its buffer lives (pairing, spool
/// commit, file write), so memory is bounded by construction and no actor keeps books. Runs on
/// whichever thread drops a buffer's last reference: the storage goes back to the pool and the
/// global budget is released there, the connection's credit on its strand, where one post takes
/// every return made before it runs (a file writer's batch frees several of a session's items).
class credit_sink : public std::enable_shared_from_this<credit_sink> {
public:
  credit_sink(connection_link link, std::shared_ptr<flow_budget> budget, std::shared_ptr<payload_pool> pool)
    : link_(std::move(link)), budget_(std::move(budget)), pool_(std::move(pool)) {}

  void give_back(byte_vector&& storage);

private:
  connection_link link_;
  std::shared_ptr<flow_budget> budget_;
  std::shared_ptr<payload_pool> pool_;
  std::atomic<uint64_t> returned_{0}; ///< non-zero: a post that takes it is on its way
};

/// Deleter of a binary frame's buffer (see credit_sink).
struct credit_return {
  std::shared_ptr<credit_sink> sink;

  void operator()(const byte_vector* buf) const;
};

/// The connection's place in the budget's line: its turn runs on_turn on the strand, or passes
/// the turn on if the connection is gone.
flow_budget::turn make_turn(connection_link link, std::shared_ptr<flow_budget> budget);

} // namespace mediaspool::net
