#include "net/connection_handles.hpp"

#include "net/codec.hpp"

namespace mediaspool::net {

void ws_outbox::send(server_message msg) {
  // Serialised on the actor's thread, so the Asio thread only writes.
  auto text = serialize(msg);
  {
    std::lock_guard<std::mutex> lock{queue_->mtx};
    queue_->texts.push_back(std::move(text));
    if (queue_->texts.size() > 1)
      return;
  }
  link_.post(
    [q = queue_](connection_port& c) {
      std::vector<std::string> texts;
      {
        std::lock_guard<std::mutex> lock{q->mtx};
        texts.swap(q->texts);
      }
      c.queue_writes(std::move(texts));
    },
    [q = queue_] {
      std::lock_guard<std::mutex> lock{q->mtx};
      q->texts.clear();
    });
}

void ws_outbox::close(uint16_t code, std::string reason) {
  link_.post([code, reason = std::move(reason)](connection_port& c) mutable { c.queue_close(code, std::move(reason)); },
             [] {});
}

std::chrono::steady_clock::duration ws_outbox::stalled() const {
  return stall_->total(std::chrono::steady_clock::now());
}

void credit_sink::give_back(byte_vector&& storage) {
  auto bytes = storage.size();
  pool_->give_back(std::move(storage));
  budget_->release(bytes);
  if (returned_.fetch_add(bytes, std::memory_order_acq_rel) != 0)
    return;
  link_.post([self = shared_from_this()](connection_port& c) { c.add_credit(self->returned_.exchange(0)); }, [] {});
}

void credit_return::operator()(const byte_vector* buf) const {
  // The buffer was made non-const in on_binary; its storage goes back to the pool.
  sink->give_back(std::move(*const_cast<byte_vector*>(buf)));
  delete buf;
}

flow_budget::turn make_turn(connection_link link, std::shared_ptr<flow_budget> budget) {
  return [link = std::move(link), budget = std::move(budget)] {
    link.post([](connection_port& c) { c.on_turn(); }, [budget] { budget->pass_turn(); });
  };
}

} // namespace mediaspool::net
