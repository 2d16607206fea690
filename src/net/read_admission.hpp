#pragma once
// Whether a connection may read its next message now, against the process budget: the policy
// of flow control for one connection, kept apart from the Beast read loop that asks it.
//
// Past the budget (or behind connections already waiting for it) the next message is read one
// byte first: text goes on (metadata must reach a blob that holds budget bytes, or neither could
// move); a binary frame waits in the budget's line, unless this connection holds a blob whose
// metadata is behind that frame, which it then reads ahead of the line within the budget's
// overdraft (unpaired_halves says why). One strand.
#include "net/flow_budget.hpp"
#include "net/unpaired_halves.hpp"

#include <memory>

namespace mediaspool::net {

class read_admission {
public:
  using clock = unpaired_halves::clock;

  read_admission(std::shared_ptr<flow_budget> budget, clock::duration orphan_timeout)
    : budget_(std::move(budget)), unpaired_(orphan_timeout) {}

  /// Read the next message's first byte alone, to see whether it is binary.
  bool peek_first() const { return budget_->spent() || budget_->line_waiting(); }

  enum class verdict { read, read_ahead, wait };

  /// A binary frame found by the peek: read it, read it ahead of the line to finish a pair, or
  /// wait in line.
  verdict binary_frame(clock::time_point now) {
    if (!peek_first())
      return verdict::read;
    if (unpaired_.holds_blob(now) && budget_->overdraft_left())
      return verdict::read_ahead;
    return verdict::wait;
  }

  void blob_read(item_kind kind, uint32_t index, clock::time_point now) { unpaired_.blob_read(kind, index, now); }
  void metadata_read(item_kind kind, uint32_t index, clock::time_point now) {
    unpaired_.metadata_read(kind, index, now);
  }

private:
  std::shared_ptr<flow_budget> budget_;
  unpaired_halves unpaired_;
};

} // namespace mediaspool::net
