// The receiving half of session_client: the connection lifecycle (connect, reconnect with
// backoff, resume) and the server's replies. session_pacing.cpp creates and sends the items.
#include "loadgen/session_client.hpp"

#include <algorithm>
#include <vector>

namespace loadgen {

namespace {

uint64_t ns_since(steady::time_point t, steady::time_point now) {
  return now > t ? static_cast<uint64_t>(std::chrono::nanoseconds(now - t).count()) : 0;
}

uint64_t wall_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
}

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

// Errors after which the server expects the item again (PROTOCOL.md section 5).
bool retryable(const std::string& code) {
  return code == "internal" || code == "overloaded" || code == "rate_limited" || code == "orphan_expired";
}

constexpr uint8_t max_tries = 5;

} // namespace

session_client::session_client(run_context& ctx, thread_stats& stats, boost::asio::io_context& ioc, uint32_t number)
  : ctx_(ctx),
    st_(stats),
    ioc_(ioc),
    number_(number),
    uuid_(ctx.model.session_uuid(number)),
    seq_(ctx.model, number),
    start_timer_(ioc),
    init_timer_(ioc),
    tick_timer_(ioc),
    backoff_timer_(ioc),
    retry_timer_(ioc),
    transcript_timer_(ioc),
    rng_(mix(ctx.opt.seed, number, 0x6261636b)) {}

// -- lifecycle -------------------------------------------------------------------

void session_client::start(steady::time_point at) {
  started_at_ = at;
  start_timer_.expires_at(at);
  start_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && ph_ == phase::idle) {
      epoch_ms_ = wall_ms();
      connect();
    }
  });
}

void session_client::connect() {
  // ?sid= as the recorder page adds it: a load balancer routes every connection of a session
  // by it (deploy/haproxy.cfg), and a node past capacity refuses a session it does not know
  // before the upgrade (503) so the balancer can try another node.
  const auto& path = ctx_.tgt.path;
  conn_ = make_connection(ioc_, ctx_.tgt, path + (path.find('?') == std::string::npos ? "?sid=" : "&sid=") + uuid_, this);
  conn_->start();
}

// Initialised and warmed up: with open arrivals the session records at once for its own
// --duration; otherwise it waits for the runner's barrier (go_live).
void session_client::on_waiting() {
  mark_ready();
  if (ctx_.opt.arrival_rate <= 0)
    return;
  auto now = steady::now();
  if (ctx_.opt.items)
    return go_live(now, steady::time_point::max());
  auto end = now + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(ctx_.opt.duration_s));
  // start_timer_ has done its job (the connect): it now ends the recording.
  start_timer_.expires_at(end);
  start_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec)
      stop();
  });
  go_live(now, end);
}

void session_client::go_live(steady::time_point t0, steady::time_point window_end) {
  if (ph_ != phase::waiting)
    return; // gave up before the barrier
  ph_ = phase::live;
  t0_ = t0;
  window_end_ = window_end;
  if (ctx_.opt.mode == pace::realtime) {
    // Recorders started at different moments: spread the sessions' phases over the longest
    // interval so their audio chunks do not all land in the same instant (open arrivals are
    // spread by their arrival times already).
    auto period = std::max(ctx_.model.audio_interval_ms(), ctx_.model.frame_interval_ms());
    if (ctx_.opt.arrival_rate <= 0)
      spread_ = std::chrono::milliseconds(period * number_ / std::max<uint32_t>(ctx_.opt.sessions, 1));
    base_at_ms_ = peek().at_ms;
    schedule_tick();
  } else {
    pump();
  }
}

void session_client::stop() {
  stopped_ = true;
  tick_timer_.cancel();
  // Open arrivals past --time-limit: a session not yet taken (arriving, refused, backing off)
  // leaves instead of being taken after the run and recording past its end.
  if (ctx_.opt.arrival_rate > 0 && ph_ == phase::idle && !admitted_) {
    st_.sessions_not_taken++;
    return give_up();
  }
  if (ph_ == phase::live || ph_ == phase::waiting || ph_ == phase::warmup) {
    ph_ = phase::draining;
    mark_exhausted();
    pump();
  }
}

void session_client::abort() {
  if (ph_ == phase::done)
    return;
  if (ph_ == phase::ending)
    st_.ends_unacked++;
  give_up();
}

// Counts what is left and leaves: used by abort() and after too many reconnects.
void session_client::give_up() {
  for (auto& [key, it] : open_)
    (it.ever_sent || it.halves == 2 ? st_.missing : st_.unsent)++;
  st_.live.open_items.sub(open_.size());
  open_.clear();
  pending_.clear();
  if (conn_)
    std::exchange(conn_, nullptr)->detach();
  if (connected_) {
    connected_ = false;
    st_.live.connected.sub();
  }
  mark_done();
}

void session_client::mark_ready() {
  if (!std::exchange(ready_, true))
    ctx_.ready.fetch_add(1, std::memory_order_relaxed);
}

void session_client::mark_exhausted() {
  if (!std::exchange(exhausted_, true))
    ctx_.exhausted.fetch_add(1, std::memory_order_relaxed);
}

void session_client::mark_done() {
  if (ph_ == phase::done)
    return;
  ph_ = phase::done;
  for (auto* t : {&start_timer_, &init_timer_, &tick_timer_, &backoff_timer_, &retry_timer_, &transcript_timer_})
    t->cancel();
  settle_transcripts();
  mark_ready();
  mark_exhausted();
  ctx_.done.fetch_add(1, std::memory_order_relaxed);
}

// -- connection events --------------------------------------------------------------

void session_client::on_open(uint64_t handshake_ns) {
  st_.connect_latency.record(handshake_ns);
  init_sent_ = steady::now();
  conn_->send_text(ctx_.model.session_init(uuid_, number_, wall_ms()), tag_init);
  init_timer_.expires_after(ms(ctx_.opt.init_timeout_s));
  init_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || connected_ || !conn_)
      return;
    st_.init_timeouts++;
    std::exchange(conn_, nullptr)->detach();
    on_down(true, 0, 0, "no session_init_ack");
  });
}

void session_client::on_down(bool opened, int close_code, unsigned refused_status, const std::string&) {
  conn_.reset();
  init_timer_.cancel();
  if (connected_) {
    connected_ = false;
    st_.live.connected.sub();
  }
  (opened ? st_.disconnects : st_.connect_failures)++;
  if (close_code)
    st_.close_codes[close_code]++;
  if (refused_status)
    st_.upgrades_refused[refused_status]++;
  if (ph_ == phase::done)
    return;
  if (++failures_ > ctx_.opt.reconnect_max) {
    st_.sessions_failed++;
    return give_up();
  }
  st_.live.reconnects.add();
  // Exponential backoff with jitter in [50%, 100%], so a server restart is not met by every
  // session in the same millisecond.
  double base = std::min<double>(ctx_.opt.backoff_max_ms,
                                 ctx_.opt.backoff_min_ms * static_cast<double>(uint64_t{1} << std::min(failures_ - 1, 20u)));
  double u = static_cast<double>(mix(rng_++) >> 11) * 0x1.0p-53;
  backoff_timer_.expires_after(std::chrono::milliseconds(static_cast<int64_t>(base * (0.5 + 0.5 * u))));
  backoff_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && ph_ != phase::done)
      connect();
  });
}

void session_client::on_written(uint64_t tag) {
  auto now = steady::now();
  if (tag == tag_init) {
    init_sent_ = now;
    return;
  }
  if (tag == tag_end) {
    end_sent_ = now;
    return;
  }
  auto f = open_.find(tag);
  if (f == open_.end() || f->second.halves >= 2)
    return;
  auto& it = f->second;
  if (++it.halves < 2)
    return;
  it.sent = now;
  st_.items_sent++;
  if (!it.ever_sent) {
    it.ever_sent = true;
    if (it.measured)
      st_.measured_sent++;
  }
}

void session_client::on_text(std::string_view text) {
  auto m = parse_server_text(text);
  switch (m.type) {
    case server_type::init_ack: return on_init_ack(m);
    case server_type::audio_ack: return on_item_ack(kind::audio, m);
    case server_type::frame_ack: return on_item_ack(kind::frame, m);
    case server_type::end_ack:
      if (ph_ == phase::ending) {
        st_.end_latency.record(ns_since(end_sent_, steady::now()));
        st_.sessions_ended++;
        close_and_done();
      }
      return;
    case server_type::error: return on_error(m);
    case server_type::transcription: return on_transcription(m);
    case server_type::bad: st_.bad_server_text++; return;
    default: return;
  }
}

// -- protocol -------------------------------------------------------------------------

void session_client::on_init_ack(const server_text& m) {
  if (connected_ || !conn_)
    return;
  init_timer_.cancel();
  connected_ = true;
  failures_ = 0;
  st_.live.connected.add();
  st_.init_latency.record(ns_since(init_sent_, steady::now()));
  held_audio_ = m.audio_received;
  held_frames_ = m.frames_received;
  requeue_all();
  if (!std::exchange(admitted_, true)) {
    st_.sessions_admitted++;
    st_.admit_latency.record(ns_since(started_at_, steady::now()));
  }
  if (ph_ == phase::idle) {
    ph_ = ctx_.opt.warmup > 0 ? phase::warmup : phase::waiting;
    if (ph_ == phase::waiting)
      on_waiting();
  }
  flush();
  if (ph_ == phase::ending)
    send_end();
  else
    pump();
}

// After a (re)connect: what the server holds is done, everything else open goes again, in the
// order it was first generated.
void session_client::requeue_all() {
  retry_.clear();
  pending_.clear();
  std::vector<std::pair<uint64_t, uint64_t>> order; // (position, key)
  for (auto f = open_.begin(); f != open_.end();) {
    auto& it = f->second;
    if (held(it.plan)) {
      st_.acked_via_resume++;
      st_.live.open_items.sub();
      f = open_.erase(f);
      continue;
    }
    if (it.ever_sent)
      st_.resent++;
    it.halves = 0;
    it.pending = true;
    order.emplace_back(it.plan.position, f->first);
    ++f;
  }
  std::sort(order.begin(), order.end());
  for (auto& [pos, key] : order)
    pending_.push_back(key);
}

void session_client::on_item_ack(kind k, const server_text& m) {
  auto now = steady::now();
  if (m.duplicate)
    st_.duplicates++;
  auto f = open_.find(key_of(k, m.index));
  if (f == open_.end()) {
    st_.unexpected_acks++;
    return;
  }
  auto& it = f->second;
  uint64_t lat = 0;
  if (it.halves == 2)
    lat = ns_since(it.sent, now);
  else
    st_.early_acks++;
  if (m.file_size != it.plan.size)
    st_.size_mismatches++;
  st_.record_position(it.plan.position, ctx_.opt.position_bucket, lat);
  if (it.measured) {
    st_.latency.record(lat);
    st_.measured_acked++;
    st_.measured_bytes += it.plan.size;
    st_.live.measured_acked.add();
    st_.live.measured_bytes.add(it.plan.size);
    st_.live.latency_sum_us.add(lat / 1000);
    st_.live.latency_count.add();
    st_.last_measured_ack = std::max(st_.last_measured_ack, now);
    // Open arrivals go live one by one: their seconds count from the run's start instead.
    st_.record_second(now - (ctx_.opt.arrival_rate > 0 ? ctx_.started : t0_), lat);
    if (now <= window_end_) {
      st_.window_acked++;
      st_.window_bytes += it.plan.size;
    }
  } else {
    st_.warmup_acked++;
  }
  st_.live.acked.add();
  st_.live.acked_bytes.add(it.plan.size);
  if (k == kind::audio && ctx_.opt.transcript_wait_s > 0)
    untranscribed_.try_emplace(m.index, now);
  erase_item(f);
  pump();
}

// -- transcription latency (--transcript-wait) ---------------------------------------

void session_client::on_transcription(const server_text& m) {
  auto f = untranscribed_.find(m.index);
  if (f == untranscribed_.end())
    return; // acked on an earlier run or connection, or not measured
  st_.transcript_latency.record(ns_since(f->second, steady::now()));
  st_.transcripts++;
  untranscribed_.erase(f);
  if (awaiting_transcripts_ && untranscribed_.empty()) {
    transcript_timer_.cancel();
    finish();
  }
}

// True while finish() must wait for transcriptions: arms the deadline on the first call.
bool session_client::await_transcripts() {
  if (ctx_.opt.transcript_wait_s <= 0 || untranscribed_.empty())
    return false;
  if (!awaiting_transcripts_) {
    awaiting_transcripts_ = true;
    transcript_timer_.expires_after(ms(ctx_.opt.transcript_wait_s));
    transcript_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec)
        return;
      settle_transcripts();
      finish();
    });
  }
  return true;
}

// Whatever has not been transcribed by now counts as missing.
void session_client::settle_transcripts() {
  st_.transcripts_missing += untranscribed_.size();
  untranscribed_.clear();
}

void session_client::on_error(const server_text& m) {
  st_.errors_by_code[m.code]++;
  st_.live.errors.add();
  if (!m.has_ref || (m.ref_kind != 'a' && m.ref_kind != 'f'))
    return; // connection-level: the server closes if it is a policy violation
  auto f = open_.find(key_of(m.ref_kind == 'a' ? kind::audio : kind::frame, m.ref_index));
  if (f == open_.end())
    return;
  auto& it = f->second;
  if (!retryable(m.code) || ++it.tries > max_tries) {
    st_.failed_items++;
    erase_item(f);
    return pump();
  }
  retry_.push_back(f->first);
  if (std::exchange(retry_armed_, true))
    return;
  retry_timer_.expires_after(std::chrono::milliseconds(ctx_.opt.backoff_min_ms));
  retry_timer_.async_wait([this](boost::system::error_code ec) {
    retry_armed_ = false;
    if (ec || ph_ == phase::done)
      return;
    for (auto key : std::exchange(retry_, {})) {
      auto r = open_.find(key);
      if (r != open_.end() && !r->second.pending) {
        st_.resent++;
        r->second.pending = true;
        pending_.push_back(key);
      }
    }
    flush();
  });
}

void session_client::erase_item(std::unordered_map<uint64_t, open_item>::iterator it) {
  open_.erase(it);
  st_.live.open_items.sub();
}

} // namespace loadgen
