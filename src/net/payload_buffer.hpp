#pragma once
// The dynamic buffer a WebSocket message is read into: it fills the byte_vector that then
// travels, without a copy, to the spool and the file writer. Asio's dynamic_vector_buffer would
// do the same job, but std::vector zero-fills every 64 KiB it prepares for the next read and,
// with a non-zeroing allocator, moves old bytes one at a time when it grows; here the growth is
// geometric and one memcpy, and prepared bytes are left as they are until the socket fills them.
// With a pool, growth to a pool class or more takes the storage from it too (a message's first
// part, before its size is known): at 10,000 sessions these were the network thread's biggest
// single source of mallocs. Smaller growth stays a small malloc: Beast prepares a read's buffer
// before any byte arrives, so an idle connection's pending one-byte peek would otherwise hold a
// 4 KiB pooled buffer (figure 6: +2.5 KB RSS per idle session).
#include "actors/wire.hpp"
#include "net/payload_pool.hpp"

#include <boost/asio/buffer.hpp>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace mediaspool::net {

class payload_buffer {
public:
  using const_buffers_type = boost::asio::const_buffer;
  using mutable_buffers_type = boost::asio::mutable_buffer;

  /// Appends to `bytes` (whose current contents count as already read), never beyond `max_size`.
  /// `pool` (may be null) supplies the storage when it grows and takes back what it outgrew.
  payload_buffer(byte_vector& bytes, size_t max_size, payload_pool* pool = nullptr)
      : bytes_(bytes), size_(bytes.size()), max_(max_size), pool_(pool) {}

  size_t size() const noexcept { return size_; }
  size_t max_size() const noexcept { return max_; }
  size_t capacity() const noexcept { return bytes_.capacity(); }
  const_buffers_type data() const noexcept { return {bytes_.data(), size_}; }

  mutable_buffers_type prepare(size_t n) {
    if (n > max_ - size_)
      throw std::length_error{"payload_buffer: message above its maximum size"};
    if (size_ + n > bytes_.capacity()) {
      const size_t want = std::max(bytes_.capacity() * 2, size_ + n);
      if (pool_ != nullptr && want >= payload_pool::class_bytes) {
        pool_->grow_exact(bytes_, want);
      } else {
        byte_vector bigger;
        bigger.reserve(want);
        bigger.resize(size_);
        if (size_ > 0)
          std::memcpy(bigger.data(), bytes_.data(), size_);
        bytes_.swap(bigger);
      }
    }
    bytes_.resize(size_ + n); // within capacity, and uninitialized_allocator writes nothing
    return {bytes_.data() + size_, n};
  }

  void commit(size_t n) noexcept {
    size_ += std::min(n, bytes_.size() - size_);
    bytes_.resize(size_);
  }

  void consume(size_t n) {
    n = std::min(n, size_);
    bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(n));
    size_ -= n;
  }

private:
  byte_vector& bytes_;
  size_t size_;
  size_t max_;
  payload_pool* pool_;
};

} // namespace mediaspool::net
