#pragma once
// Payload buffers that count their own release. In the server a binary frame's bytes are credit
// in flight for exactly as long as its buffer lives (ws_connection's credit_return deleter), so
// "who still holds a payload" is what the credit tests check: a holder that forgets to let go
// stalls its connection, one that lets go early would write freed bytes.
#include "actors/wire.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mediaspool::test {

/// Makes payload buffers whose deleter counts the buffers and bytes freed. Buffers may outlive
/// the tracker (the counts are shared), and may be freed on any thread.
class payload_tracker {
public:
  shared_bytes make(const std::string& s) {
    c_->made_bytes += s.size();
    c_->made_buffers += 1;
    std::shared_ptr<const byte_vector> buf{new byte_vector(s.begin(), s.end()),
                                       [c = c_](const byte_vector* p) {
                                                   c->freed_bytes += p->size();
                                                   c->freed_buffers += 1;
                                                   delete p;
                                                 }};
    return shared_bytes{std::move(buf), 0};
  }

  uint64_t made_bytes() const noexcept { return c_->made_bytes; }
  uint64_t freed_bytes() const noexcept { return c_->freed_bytes; }
  /// Bytes of buffers someone still holds: the credit still in flight.
  uint64_t alive_bytes() const noexcept { return c_->made_bytes - c_->freed_bytes; }
  uint64_t alive_buffers() const noexcept { return c_->made_buffers - c_->freed_buffers; }

private:
  struct counts {
    std::atomic<uint64_t> made_bytes{0};
    std::atomic<uint64_t> freed_bytes{0};
    std::atomic<uint64_t> made_buffers{0};
    std::atomic<uint64_t> freed_buffers{0};
  };
  std::shared_ptr<counts> c_ = std::make_shared<counts>();
};

} // namespace mediaspool::test
