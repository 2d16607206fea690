// The sending half of session_client: which items exist when (window or real-time cadence),
// the order they go out in, and how a session finishes. session_client.cpp has the connection
// lifecycle and the server's replies.
#include "loadgen/session_client.hpp"

namespace loadgen {

// -- pacing ---------------------------------------------------------------------------

bool session_client::more_live() const noexcept {
  return ctx_.opt.items ? live_made_ < ctx_.opt.items : !stopped_;
}

bool session_client::held(const item_plan& p) const noexcept {
  return in_ranges(p.k == kind::audio ? held_audio_ : held_frames_, p.index);
}

const item_plan& session_client::peek() {
  while (!next_) {
    auto p = seq_.next();
    if (held(p))
      st_.skipped_held++; // a resumed run: the server has it from before
    else
      next_ = p;
  }
  return *next_;
}

void session_client::make_item(bool measured) {
  open_item it;
  it.plan = peek();
  next_.reset();
  it.measured = measured;
  it.pending = true;
  auto key = key_of(it.plan.k, it.plan.index);
  open_.emplace(key, it);
  pending_.push_back(key);
  st_.live.open_items.add();
  (measured ? live_made_ : warmup_made_)++;
}

// Creates whatever the pace allows now, and finishes the session when nothing is left.
void session_client::pump() {
  const auto& o = ctx_.opt;
  switch (ph_) {
    case phase::warmup:
      while (open_.size() < o.warmup_window && warmup_made_ < o.warmup)
        make_item(false);
      flush();
      if (warmup_made_ >= o.warmup && open_.empty()) {
        ph_ = phase::waiting;
        on_waiting();
      }
      return;
    case phase::live:
      if (o.mode == pace::max) {
        while (open_.size() < o.window && more_live())
          make_item(true);
        flush();
      }
      if (!more_live()) {
        mark_exhausted();
        if (open_.empty())
          finish();
      }
      return;
    case phase::draining:
      if (open_.empty())
        finish();
      return;
    default:
      return;
  }
}

void session_client::schedule_tick() {
  auto due = t0_ + spread_ + std::chrono::milliseconds(peek().at_ms - base_at_ms_);
  tick_timer_.expires_at(due);
  tick_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec)
      tick();
  });
}

void session_client::tick() {
  if (ph_ != phase::live)
    return;
  auto now = steady::now();
  while (more_live() && t0_ + spread_ + std::chrono::milliseconds(peek().at_ms - base_at_ms_) <= now)
    make_item(true);
  flush();
  if (more_live())
    schedule_tick();
  else
    pump();
}

// -- sending --------------------------------------------------------------------------

void session_client::flush() {
  if (!connected_ || !conn_)
    return;
  while (!pending_.empty()) {
    auto key = pending_.front();
    pending_.pop_front();
    auto f = open_.find(key);
    if (f != open_.end() && f->second.pending)
      write_item(f->second);
  }
}

void session_client::write_item(open_item& it) {
  const auto& m = ctx_.model;
  const auto& p = it.plan;
  it.pending = false;
  it.halves = 0;
  auto key = key_of(p.k, p.index);
  auto meta = p.k == kind::audio ? m.audio_metadata(uuid_, p, epoch_ms_) : m.frame_metadata(uuid_, p, epoch_ms_);
  auto head = m.head(uuid_, number_, p.k, p.index);
  auto body = m.pool_slice(number_, p.k, p.index, p.size);
  if (p.meta_after) {
    conn_->send_blob(head, body, key);
    conn_->send_text(std::move(meta), key);
  } else {
    conn_->send_text(std::move(meta), key);
    conn_->send_blob(head, body, key);
  }
}

void session_client::finish() {
  if (ph_ == phase::ending || ph_ == phase::done)
    return;
  mark_exhausted();
  if (await_transcripts())
    return;
  if (!ctx_.opt.end)
    return close_and_done();
  ph_ = phase::ending;
  send_end();
}

void session_client::send_end() {
  if (!connected_ || !conn_)
    return; // sent again after the reconnect's session_init_ack
  end_sent_ = steady::now();
  conn_->send_text(recorder_model::session_end(uuid_), tag_end);
}

void session_client::close_and_done() {
  if (conn_)
    std::exchange(conn_, nullptr)->close();
  if (connected_) {
    connected_ = false;
    st_.live.connected.sub();
  }
  mark_done();
}

} // namespace loadgen
