#include "net/connection_handles.hpp"

#include "net/codec.hpp"

namespace mediaspool::net {

void ws_outbox::send(server_message msg) {
  // Serialised on the actor's thread, so the Asio thread only writes.
  link_.post([text = serialize(msg)](connection_port& c) mutable { c.queue_write(std::move(text)); }, [] {});
}

void ws_outbox::close(uint16_t code, std::string reason) {
  link_.post([code, reason = std::move(reason)](connection_port& c) mutable { c.queue_close(code, std::move(reason)); },
             [] {});
}

std::chrono::steady_clock::duration ws_outbox::stalled() const {
  return stall_->total(std::chrono::steady_clock::now());
}

void credit_return::operator()(const byte_vector* buf) const {
  auto bytes = buf->size();
  // The buffer was made non-const in on_binary; its storage goes back to the pool.
  pool->give_back(std::move(*const_cast<byte_vector*>(buf)));
  delete buf;
  budget->release(bytes);
  link.post([bytes](connection_port& c) { c.add_credit(bytes); }, [] {});
}

flow_budget::turn make_turn(connection_link link, std::shared_ptr<flow_budget> budget) {
  return [link = std::move(link), budget = std::move(budget)] {
    link.post([](connection_port& c) { c.on_turn(); }, [budget] { budget->pass_turn(); });
  };
}

} // namespace mediaspool::net
