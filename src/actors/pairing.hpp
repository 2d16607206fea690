#pragma once
// The pure pairing buffer of one session: metadata and binary blob arrive in either order and
// become one complete item; resends are recognised as duplicates (same bytes) or conflicts
// (same index, other bytes). No CAF, no I/O: time is passed in, so it is unit-tested directly.
#include "actors/wire.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <variant>
#include <vector>

namespace mediaspool {

struct pairing_config {
  /// A half (metadata or blob) waiting longer than this for its partner is dropped.
  std::chrono::milliseconds orphan_timeout{30000};
  /// Upper bound of blob bytes waiting for their metadata; a blob past it is rejected.
  uint64_t max_unpaired_bytes = 16u << 20;
  /// Upper bound of metadata messages waiting for their blobs; one past it is rejected. Text is
  /// read even while a connection's credit is spent, so this is what bounds it.
  size_t max_unpaired_metadata = 256;
};

/// XXH3-64 of a payload (storage::payload_checksum): the identity used for duplicate/conflict
/// decisions, and the checksum the spool keeps with its bytes.
uint64_t payload_hash(const char* data, size_t size) noexcept;

class pairing {
public:
  using clock = std::chrono::steady_clock;

  /// The half is stored; nothing to send yet.
  struct waiting {};
  /// A new complete item: send it to the spool, ack after the commit.
  struct complete {
    item_metadata meta;
    shared_bytes payload;
    uint64_t hash = 0;
  };
  /// The item is already held with these bytes: ack again with duplicate=true. If `pending`,
  /// the first copy is not committed yet: the ack is owed when `committed` is called.
  struct duplicate {
    item_kind kind = item_kind::audio;
    uint32_t index = 0;
    uint64_t size = 0;
    bool pending = false;
  };
  /// The input is refused with this error (conflict, size_mismatch, overloaded).
  struct rejected {
    error_reply error;
  };
  /// The index is held, but which bytes only storage knows: compare with its copy (`judge`)
  /// before answering. The payload is not kept.
  struct stored {
    item_kind kind = item_kind::audio;
    uint32_t index = 0;
    uint64_t size = 0;
    uint64_t hash = 0;
  };
  using outcome = std::variant<waiting, complete, duplicate, rejected, stored>;

  explicit pairing(pairing_config cfg);

  /// Marks items as already held (from the spool or PostgreSQL on resume): indexes first..last.
  void load_held(item_kind kind, uint32_t first, uint32_t last);

  /// A resend of a held item against the stored copy's hash and size: duplicate or conflict.
  static outcome judge(const stored& resend, uint64_t stored_hash, uint64_t stored_size);

  /// `now` on the metadata clock (see expire).
  outcome on_metadata(item_metadata meta, clock::time_point now);
  outcome on_blob(blob b, clock::time_point now);

  /// The spool committed the item: it is held from now on. Returns how many duplicate acks
  /// were owed to resends that arrived while it was pending.
  uint32_t committed(item_kind kind, uint32_t index);

  /// The spool failed the item: it is not held, so a resend is stored anew. Returns how many
  /// duplicate acks were owed (they must now be answered with an error instead).
  uint32_t failed(item_kind kind, uint32_t index);

  /// Drops halves older than the orphan timeout and returns one orphan_expired error each.
  /// Metadata ages on its own clock, `metadata_now`, the one on_metadata was given: the session
  /// passes time minus the time its connection had a binary frame on the way (outbox::stalled:
  /// unread in the socket while the process budget is spent, or still being read), since the
  /// client is not late meanwhile. Blobs always age in real time: their bytes count
  /// against the process budget, so orphans must expire even while the server stalls, or a
  /// budget full of them would never drain.
  std::vector<error_reply> expire(clock::time_point now, clock::time_point metadata_now);
  std::vector<error_reply> expire(clock::time_point now) { return expire(now, now); }

  /// How long from `now` until the oldest waiting half could expire (each half on its own clock,
  /// as in expire), or nothing if none waits. The metadata clock never runs ahead of real time,
  /// so checking after this long is never late.
  std::optional<clock::duration> next_expiry(clock::time_point now, clock::time_point metadata_now) const;

  /// Blob bytes waiting for metadata.
  uint64_t unpaired_bytes() const noexcept { return unpaired_bytes_; }

  /// Halves waiting for a partner (metadata + blobs).
  size_t unpaired_count() const noexcept { return metas_.size() + blobs_.size(); }

  /// Committed indexes of a kind as inclusive ranges, ascending, for session_init_ack. Pending
  /// items are left out: they are not durable yet, and a resend of one is answered once it commits.
  const index_ranges& held_ranges(item_kind kind) const;

  /// The same, one index at a time.
  std::vector<uint32_t> held_indexes(item_kind kind) const;

  /// Number of committed items of a kind (pending ones excluded, as in `held_indexes`).
  size_t held_count(item_kind kind) const;

private:
  struct key {
    item_kind kind;
    uint32_t index;
    friend bool operator<(const key& x, const key& y) noexcept {
      return x.kind != y.kind ? x.kind < y.kind : x.index < y.index;
    }
  };
  /// An item sent to the spool and not committed yet (few: bounded by the connection's credit).
  struct in_flight {
    uint64_t hash = 0;
    uint64_t size = 0;
    uint32_t waiters = 0; ///< duplicate acks owed when it commits
  };
  /// Which indexes are held is all a session keeps of its committed items: a few ranges, however
  /// long it records (a list of hashes was ~18 KB per 30 minutes, more than the rest of an idle
  /// session). A resend of one is compared with storage's copy, unless it is among the last few
  /// committed here, whose hashes are kept for the resends a flaky link makes at once.
  struct recent_item {
    item_kind kind;
    uint32_t index;
    uint64_t size;
    uint64_t hash;
  };
  static constexpr size_t recent_capacity = 16;

  index_ranges& held_of(item_kind kind) { return kind == item_kind::audio ? audio_held_ : frame_held_; }
  const index_ranges& held_of(item_kind kind) const {
    return kind == item_kind::audio ? audio_held_ : frame_held_;
  }
  const recent_item* find_recent(item_kind kind, uint32_t index) const;

  struct meta_half {
    item_metadata meta;
    clock::time_point since;
  };
  struct blob_half {
    blob b;
    clock::time_point since;
  };

  outcome complete_pair(item_metadata meta, blob b);

  pairing_config cfg_;
  index_ranges audio_held_;
  index_ranges frame_held_;
  std::vector<recent_item> recent_; ///< ring of the last recent_capacity commits
  size_t recent_next_ = 0;
  std::map<key, in_flight> pending_;
  std::map<key, meta_half> metas_;
  std::map<key, blob_half> blobs_;
  uint64_t unpaired_bytes_ = 0;
};

} // namespace mediaspool
