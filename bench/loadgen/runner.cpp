#include "loadgen/runner.hpp"

#include "loadgen/server_backlog.hpp"
#include "loadgen/session_client.hpp"

#include <algorithm>
#include <chrono>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <csignal>
#include <cstdio>
#include <thread>
#include <unistd.h>

namespace loadgen {

namespace {

namespace asio = boost::asio;

std::atomic<int> interrupts{0};

extern "C" void on_sigint(int) { interrupts.fetch_add(1, std::memory_order_relaxed); }

// One I/O thread with its own io_context: sessions never cross threads, so nothing locks.
struct worker {
  asio::io_context ioc{1};
  thread_stats stats;
  std::vector<std::unique_ptr<session_client>> sessions;
  std::thread thread;

  template <class F>
  void each(F f) {
    asio::post(ioc, [this, f] {
      for (auto& s : sessions)
        f(*s);
    });
  }
};

double seconds(steady::duration d) { return std::chrono::duration<double>(d).count(); }

struct totals {
  uint64_t connected = 0, acked = 0, bytes = 0, measured = 0, measured_bytes = 0, open = 0, errors = 0,
           reconnects = 0, lat_sum_us = 0, lat_count = 0;
};

totals sum(const std::vector<std::unique_ptr<worker>>& ws) {
  totals t;
  for (auto& w : ws) {
    auto& l = w->stats.live;
    t.connected += l.connected.get();
    t.acked += l.acked.get();
    t.bytes += l.acked_bytes.get();
    t.measured += l.measured_acked.get();
    t.measured_bytes += l.measured_bytes.get();
    t.open += l.open_items.get();
    t.errors += l.errors.get();
    t.reconnects += l.reconnects.get();
    t.lat_sum_us += l.latency_sum_us.get();
    t.lat_count += l.latency_count.get();
  }
  return t;
}

// The live line: rates over the last second, the mean latency of the acks in it.
class progress {
public:
  progress(bool enabled, uint32_t sessions) : on_(enabled), sessions_(sessions) {}

  void maybe_print(const char* phase, steady::time_point start, const totals& t) {
    auto now = steady::now();
    if (!on_ || now - last_ < std::chrono::seconds(1))
      return;
    double dt = seconds(now - last_);
    bool live = t.measured > 0 || t.lat_count > 0;
    uint64_t items = live ? t.measured : t.acked;
    uint64_t bytes = live ? t.measured_bytes : t.bytes;
    double rate = static_cast<double>(items - prev_.items) / dt;
    double mbs = static_cast<double>(bytes - prev_.bytes) / dt / 1e6;
    uint64_t n = t.lat_count - prev_.lat_count;
    double mean_ms = n ? static_cast<double>(t.lat_sum_us - prev_.lat_sum_us) / static_cast<double>(n) / 1000 : 0;
    std::fprintf(stderr,
                 "\r[%6.1fs] %-8s sessions %u/%u  acked %llu  %.0f items/s  %.1f MB/s  open %llu  mean %.2f ms  "
                 "errors %llu  reconnects %llu\x1b[K",
                 seconds(now - start), phase, static_cast<unsigned>(t.connected), sessions_,
                 static_cast<unsigned long long>(items), rate, mbs, static_cast<unsigned long long>(t.open), mean_ms,
                 static_cast<unsigned long long>(t.errors), static_cast<unsigned long long>(t.reconnects));
    std::fflush(stderr);
    printed_ = true;
    last_ = now;
    prev_ = {items, bytes, t.lat_sum_us, t.lat_count};
  }

  void done() {
    if (printed_)
      std::fputs("\n", stderr);
  }

private:
  struct snap {
    uint64_t items = 0, bytes = 0, lat_sum_us = 0, lat_count = 0;
  };
  bool on_;
  uint32_t sessions_;
  bool printed_ = false;
  steady::time_point last_ = steady::now();
  snap prev_;
};

// Waits, polling the server's /metrics, until it has written the warm-up's backlog (or
// --settle runs out, or Ctrl-C). The sessions stay connected and idle meanwhile.
template <class Tick>
void settle(const options& o, run_result& r, Tick tick) {
  const auto poll_timeout = std::chrono::seconds(2);
  auto s0 = steady::now();
  auto deadline = s0 + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(o.settle_s));
  for (bool first = true; interrupts.load() == 0; first = false) {
    auto pending = items_pending(o.host, o.port, poll_timeout);
    if (first)
      r.pending_at_ready = pending.value_or(-1);
    if (pending && *pending == 0) {
      r.settled = true;
      break;
    }
    if (steady::now() >= deadline)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    tick();
  }
  r.settle_s = seconds(steady::now() - s0);
}

} // namespace

run_result run(const options& o, const recorder_model& model, const std::string& origin) {
  run_context ctx{o, model, {}};
  ctx.tgt.host = o.host;
  ctx.tgt.port = o.port;
  ctx.tgt.path = o.path;
  ctx.tgt.origin = origin;
  ctx.tgt.connect_timeout = std::chrono::milliseconds(static_cast<int64_t>(o.connect_timeout_s * 1000));
  ctx.tgt.write_buffer = o.write_buffer;
  {
    asio::io_context tmp;
    asio::ip::tcp::resolver resolver(tmp);
    ctx.tgt.endpoints = resolver.resolve(o.host, o.port);
  }

  std::vector<std::unique_ptr<worker>> workers;
  for (uint32_t i = 0; i < o.threads; ++i)
    workers.push_back(std::make_unique<worker>());
  auto start = steady::now();
  ctx.started = start;
  for (uint32_t s = 0; s < o.sessions; ++s) {
    auto& w = *workers[s % o.threads];
    w.sessions.push_back(std::make_unique<session_client>(ctx, w.stats, w.ioc, s));
    auto offset = std::chrono::duration<double>(o.arrival_rate > 0 ? s / o.arrival_rate : o.ramp_up_s * s / o.sessions);
    w.sessions.back()->start(start + std::chrono::duration_cast<steady::duration>(offset));
  }
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& w : workers) {
    guards.push_back(asio::make_work_guard(w->ioc));
    w->thread = std::thread([&ioc = w->ioc] { ioc.run(); });
  }

  auto old_handler = std::signal(SIGINT, on_sigint);
  bool tty = o.progress == "on" || (o.progress == "auto" && isatty(STDERR_FILENO));
  progress line(tty, o.sessions);
  auto tick = std::chrono::milliseconds(50);
  run_result r;

  // Phase 1: every session connected, initialised and warmed up (or given up). Open arrivals
  // have no barrier: each session records its --duration from its own init ack, however long
  // it waited to be taken, and the run lasts until every session is done.
  const bool open = o.arrival_rate > 0;
  while (!open && ctx.ready.load() < o.sessions && interrupts.load() == 0) {
    std::this_thread::sleep_for(tick);
    line.maybe_print(o.warmup ? "warmup" : "connect", start, sum(workers));
  }
  r.ready_s = seconds(steady::now() - start);
  r.sessions_ready = static_cast<uint32_t>(sum(workers).connected);
  if (!open && o.settle_s > 0)
    settle(o, r, [&] { line.maybe_print("settle", start, sum(workers)); });
  auto t0 = steady::now();
  r.measure_started_unix = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // Open arrivals: a backstop only, past the last arrival's recording and every retry it may
  // need to be taken (each session stops itself).
  double backstop_s = open ? (o.sessions - 1) / o.arrival_rate + o.duration_s + o.init_timeout_s +
                                 o.reconnect_max * (o.backoff_max_ms / 1000.0 + o.connect_timeout_s)
                           : o.duration_s;
  if (open && o.time_limit_s > 0)
    backstop_s = std::min(backstop_s, o.time_limit_s);
  auto window_end = o.items && !open
                      ? steady::time_point::max()
                      : t0 + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(backstop_s));
  if (!open)
    for (auto& w : workers)
      w->each([t0, window_end](session_client& s) { s.go_live(t0, window_end); });

  // Phase 2: the measured phase, until the duration is over or every session has made its items.
  auto next_sample = t0 + std::chrono::seconds(1);
  auto sample = [&] {
    auto now = steady::now();
    if (now < next_sample)
      return;
    auto t = sum(workers);
    r.timeline.push_back({seconds(now - t0), t.measured, t.measured_bytes, t.connected, t.open});
    next_sample += std::chrono::seconds(1);
  };
  while (interrupts.load() == 0) {
    if (o.items && !open ? ctx.exhausted.load() >= o.sessions : steady::now() >= window_end)
      break;
    if (ctx.done.load() >= o.sessions)
      break;
    std::this_thread::sleep_for(tick);
    sample();
    line.maybe_print("live", start, sum(workers));
  }
  auto stop_at = steady::now();
  for (auto& w : workers)
    w->each([](session_client& s) { s.stop(); });

  // Phase 3: drain what is outstanding (and session_end), then give up on the rest.
  auto deadline = stop_at + std::chrono::duration_cast<steady::duration>(
                              std::chrono::duration<double>(o.drain_timeout_s + o.transcript_wait_s));
  int seen_interrupts = interrupts.load();
  while (ctx.done.load() < o.sessions && steady::now() < deadline) {
    if (interrupts.load() > seen_interrupts && seen_interrupts > 0)
      break; // a second Ctrl-C: stop waiting
    seen_interrupts = std::max(seen_interrupts, interrupts.load());
    std::this_thread::sleep_for(tick);
    sample();
    line.maybe_print("drain", start, sum(workers));
  }
  auto drained = steady::now();
  for (auto& w : workers)
    w->each([](session_client& s) { s.abort(); });
  while (ctx.done.load() < o.sessions)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // Let the close frames go out before the io_contexts stop.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  line.done();
  std::signal(SIGINT, old_handler);

  guards.clear();
  for (auto& w : workers)
    w->ioc.stop();
  for (auto& w : workers)
    w->thread.join();

  r.total = std::make_unique<thread_stats>();
  for (auto& w : workers)
    r.total->merge(w->stats);
  r.interrupted = interrupts.load() > 0;
  r.drain_s = seconds(drained - stop_at);
  if (o.items || open) {
    auto last = r.total->last_measured_ack;
    r.measure_s = last > t0 ? seconds(last - t0) : 0;
    r.throughput_items = r.total->measured_acked;
    r.throughput_bytes = r.total->measured_bytes;
  } else {
    r.measure_s = seconds(std::min(stop_at, window_end) - t0);
    r.throughput_items = r.total->window_acked;
    r.throughput_bytes = r.total->window_bytes;
  }
  // Sessions are destroyed with the workers, after their io_context stopped: no handler runs.
  return r;
}

} // namespace loadgen
