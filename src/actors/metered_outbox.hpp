#pragma once
// An outbox that counts what the server tells a client (acks, duplicates, errors by code) before
// passing it on: every message a session sends goes through here, so /metrics sees all of them.
#include "actors/outbox.hpp"
#include "actors/server_metrics.hpp"

#include <memory>

namespace mediaspool {

class metered_outbox final : public outbox {
public:
  metered_outbox(outbox_ptr inner, std::shared_ptr<server_metrics> m) : inner_(std::move(inner)), m_(std::move(m)) {}

  void send(server_message msg) override {
    m_->on_sent(msg);
    inner_->send(std::move(msg));
  }

  void close(uint16_t code, std::string reason) override { inner_->close(code, std::move(reason)); }

  std::chrono::steady_clock::duration stalled() const override { return inner_->stalled(); }

private:
  outbox_ptr inner_;
  std::shared_ptr<server_metrics> m_;
};

} // namespace mediaspool
