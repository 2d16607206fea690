#pragma once
// Which blobs a connection has read whose metadata it has not read yet, as the connection sees
// its own messages go by (the session actor pairs them for real).
//
// Why the connection needs it: while the process budget is spent, binary frames wait in line.
// A blob already read holds budget bytes until its metadata arrives; if that metadata is behind
// the connection's next binary frame (TCP is one ordered stream: blob 1, blob 2, metadata 1), the
// blob can only wait for its orphan timeout. Under sustained overload that lost items (figure 7
// at 10,000 sessions: 4 orphan_expired). A connection holding such a blob may therefore read its
// next frame ahead of the line, within the budget's overdraft: finishing what was started frees
// the budget; waiting for it does not.
// Entries older than the orphan timeout are ignored (the session has expired that blob), and
// both sets are capped, so a client sending unmatched halves gains nothing. Pure; one strand.
#include "actors/wire.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>

namespace mediaspool::net {

class unpaired_halves {
public:
  using clock = std::chrono::steady_clock;

  explicit unpaired_halves(clock::duration orphan_timeout) : timeout_(orphan_timeout) {}

  void blob_read(item_kind kind, uint32_t index, clock::time_point now) { half_read(blobs_, metas_, kind, index, now); }
  void metadata_read(item_kind kind, uint32_t index, clock::time_point now) {
    half_read(metas_, blobs_, kind, index, now);
  }

  /// True if a blob read within the orphan timeout still waits for its metadata.
  bool holds_blob(clock::time_point now) {
    drop_expired(blobs_, now);
    return !blobs_.empty();
  }

  static constexpr size_t max_entries = 64;

private:
  using key = std::pair<item_kind, uint32_t>;
  using halves = std::map<key, clock::time_point>;

  // The half completes a pair if its partner is waiting; else it waits itself.
  void half_read(halves& mine, halves& partners, item_kind kind, uint32_t index, clock::time_point now) {
    if (partners.erase(key{kind, index}) > 0)
      return;
    drop_expired(mine, now);
    if (mine.size() >= max_entries)
      mine.erase(oldest(mine));
    mine[key{kind, index}] = now;
  }

  void drop_expired(halves& h, clock::time_point now) {
    for (auto it = h.begin(); it != h.end();)
      it = now - it->second >= timeout_ ? h.erase(it) : std::next(it);
  }

  static halves::iterator oldest(halves& h) {
    auto o = h.begin();
    for (auto it = h.begin(); it != h.end(); ++it)
      if (it->second < o->second)
        o = it;
    return o;
  }

  clock::duration timeout_;
  halves blobs_, metas_;
};

} // namespace mediaspool::net
