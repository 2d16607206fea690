#pragma once
// One simulated recorder: the protocol side of a session. It owns the item bookkeeping (what was
// generated, sent, acked), the pace (window or real-time cadence), and the resume logic; the
// transport is a `connection`, replaced on every reconnect. Lives on one I/O thread for the whole
// run and is only touched there.
#include "loadgen/connection.hpp"
#include "loadgen/options.hpp"
#include "loadgen/recorder_model.hpp"
#include "loadgen/server_text.hpp"
#include "loadgen/stats.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <deque>
#include <optional>
#include <unordered_map>

namespace loadgen {

/// What all sessions share: read-only configuration plus the counters the run's phases wait on.
struct run_context {
  const options& opt;
  const recorder_model& model;
  target tgt;
  steady::time_point started{};      ///< the run's start, before any session
  std::atomic<uint32_t> ready{0};     ///< initialised and warmed up, or given up
  std::atomic<uint32_t> exhausted{0}; ///< generate no more items
  std::atomic<uint32_t> done{0};      ///< closed (after session_end_ack with --end), or given up
};

class session_client final : public connection_events {
public:
  session_client(run_context& ctx, thread_stats& stats, boost::asio::io_context& ioc, uint32_t number);

  /// Connects at `at`. With --arrival-rate the session then goes live on its own, without waiting
  /// for the others.
  void start(steady::time_point at);
  /// Starts the measured phase; acks after `window_end` fall outside the throughput window.
  void go_live(steady::time_point t0, steady::time_point window_end);
  /// No new items; finish once everything is acked.
  void stop();
  /// Gives up on whatever is still open: sent items count as missing.
  void abort();

  void on_open(uint64_t handshake_ns) override;
  void on_text(std::string_view text) override;
  void on_written(uint64_t tag) override;
  void on_down(bool opened, int close_code, unsigned refused_status, const std::string& why) override;

private:
  enum class phase { idle, warmup, waiting, live, draining, ending, done };

  struct open_item {
    item_plan plan;
    bool measured = false;
    bool pending = false;   ///< in pending_, not yet handed to the connection
    bool ever_sent = false;
    uint8_t halves = 0;     ///< halves handed to the socket on this connection
    uint8_t tries = 0;      ///< retryable errors seen
    steady::time_point sent{};
  };

  static constexpr uint64_t tag_init = uint64_t{1} << 62;
  static constexpr uint64_t tag_end = uint64_t{1} << 61;
  static uint64_t key_of(kind k, uint32_t index) noexcept { return uint64_t{k == kind::audio} << 32 | index; }

  void connect();
  void on_init_ack(const server_text& m);
  void on_item_ack(kind k, const server_text& m);
  void on_error(const server_text& m);
  void on_transcription(const server_text& m);
  bool await_transcripts();
  void settle_transcripts();
  void pump();
  void tick();
  void schedule_tick();
  const item_plan& peek();
  void make_item(bool measured);
  void flush();
  void write_item(open_item& it);
  void requeue_all();
  void finish();
  void send_end();
  void close_and_done();
  void give_up();
  void mark_ready();
  void on_waiting();
  void mark_exhausted();
  void mark_done();
  void erase_item(std::unordered_map<uint64_t, open_item>::iterator it);
  bool more_live() const noexcept;
  bool held(const item_plan& p) const noexcept;

  run_context& ctx_;
  thread_stats& st_;
  boost::asio::io_context& ioc_;
  const uint32_t number_;
  const std::string uuid_;
  recorder_model::sequence seq_;
  std::optional<item_plan> next_;

  std::shared_ptr<connection> conn_;
  boost::asio::steady_timer start_timer_;
  boost::asio::steady_timer init_timer_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer backoff_timer_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer transcript_timer_;

  phase ph_ = phase::idle;
  bool connected_ = false; ///< session_init_ack received on the current connection
  bool ready_ = false;
  bool exhausted_ = false;
  bool stopped_ = false;
  bool retry_armed_ = false;
  uint32_t failures_ = 0; ///< consecutive connection failures
  uint64_t epoch_ms_ = 0; ///< wall time the recording started, for metadata timestamps
  uint64_t warmup_made_ = 0;
  uint64_t live_made_ = 0;
  uint64_t base_at_ms_ = 0;
  steady::time_point t0_{};
  steady::time_point window_end_ = steady::time_point::max();
  std::chrono::milliseconds spread_{0};
  steady::time_point init_sent_{};
  steady::time_point started_at_{}; ///< when the session was due to connect
  bool admitted_ = false;            ///< a first session_init_ack came
  steady::time_point end_sent_{};
  uint64_t rng_;

  std::unordered_map<uint64_t, open_item> open_;
  std::deque<uint64_t> pending_;
  std::deque<uint64_t> retry_;
  index_ranges held_audio_;
  index_ranges held_frames_;
  /// --transcript-wait: audio chunks acked, by index, whose transcription has not come yet.
  std::unordered_map<uint32_t, steady::time_point> untranscribed_;
  bool awaiting_transcripts_ = false; ///< finished sending; waiting for untranscribed_ to empty
};

} // namespace loadgen
