#include "actors/pairing.hpp"

#include "storage/payload_log.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace mediaspool {

namespace {

// "audio chunk 7" / "video frame 7": the subject of every error message.
std::string describe(item_kind kind, uint32_t index) {
  std::string s = kind == item_kind::audio   ? "audio chunk "
                  : kind == item_kind::frame ? "video frame "
                                             : "response ";
  s += std::to_string(index);
  return s;
}

error_reply make_error(ec code, item_kind kind, uint32_t index, const std::string& what) {
  return error_reply{code, describe(kind, index) + ": " + what, std::make_pair(kind, index)};
}

pairing::rejected reject(ec code, item_kind kind, uint32_t index, const std::string& what) {
  return pairing::rejected{make_error(code, kind, index, what)};
}

} // namespace

uint64_t payload_hash(const char* data, size_t size) noexcept {
  return storage::payload_checksum(data, size);
}

pairing::pairing(pairing_config cfg) : cfg_(cfg) {
}

const pairing::recent_item* pairing::find_recent(item_kind kind, uint32_t index) const {
  for (const auto& r : recent_)
    if (r.kind == kind && r.index == index)
      return &r;
  return nullptr;
}

void pairing::load_held(item_kind kind, uint32_t first, uint32_t last) {
  if (kind == item_kind::response)
    return;
  add_range(held_of(kind), first, last);
}

pairing::outcome pairing::judge(const stored& resend, uint64_t stored_hash, uint64_t stored_size) {
  if (stored_hash != resend.hash || stored_size != resend.size)
    return reject(ec::conflict, resend.kind, resend.index,
                  "already stored with other bytes (" + std::to_string(stored_size) + " bytes held, "
                    + std::to_string(resend.size) + " received); the stored item stays");
  return duplicate{resend.kind, resend.index, resend.size, false};
}

pairing::outcome pairing::on_metadata(item_metadata meta, clock::time_point now) {
  if (meta.kind == item_kind::response)
    return reject(ec::bad_message, meta.kind, meta.index,
                  "responses carry no binary payload and are not paired");
  key k{meta.kind, meta.index};
  if (auto i = blobs_.find(k); i != blobs_.end()) {
    blob b = std::move(i->second.b);
    unpaired_bytes_ -= b.payload.size();
    blobs_.erase(i);
    return complete_pair(std::move(meta), std::move(b));
  }
  if (metas_.size() >= cfg_.max_unpaired_metadata && metas_.count(k) == 0)
    return reject(ec::overloaded, meta.kind, meta.index,
                  "too many metadata messages wait for their binary frames ("
                    + std::to_string(cfg_.max_unpaired_metadata) + "); send the blobs or retry later");
  // A resent metadata replaces the waiting one: the client's latest word wins, and its
  // timeout starts again.
  metas_.insert_or_assign(k, meta_half{std::move(meta), now});
  return waiting{};
}

pairing::outcome pairing::on_blob(blob b, clock::time_point now) {
  const uint64_t size = b.payload.size();
  if (b.kind == item_kind::response) {
    return reject(ec::bad_message, b.kind, b.index, "a binary frame cannot be a response");
  }
  key k{b.kind, b.index};
  if (auto i = metas_.find(k); i != metas_.end()) {
    item_metadata meta = std::move(i->second.meta);
    metas_.erase(i);
    return complete_pair(std::move(meta), std::move(b));
  }
  auto old = blobs_.find(k);
  const uint64_t old_size = old != blobs_.end() ? old->second.b.payload.size() : 0;
  // The check leaves the waiting blob in place: a refused resend changes nothing.
  if (unpaired_bytes_ - old_size + size > cfg_.max_unpaired_bytes) {
    return reject(ec::overloaded, b.kind, b.index,
                  "the budget for binary frames waiting for their metadata is spent ("
                    + std::to_string(cfg_.max_unpaired_bytes)
                    + " bytes); send the metadata first or retry later");
  }
  unpaired_bytes_ += size - old_size;
  if (old != blobs_.end()) {
    old->second = blob_half{std::move(b), now};
  } else {
    blobs_.emplace(k, blob_half{std::move(b), now});
  }
  return waiting{};
}

pairing::outcome pairing::complete_pair(item_metadata meta, blob b) {
  const uint64_t size = b.payload.size();
  if (meta.size != size) {
    return reject(ec::size_mismatch, meta.kind, meta.index,
                  "metadata size " + std::to_string(meta.size) + " differs from the payload length "
                    + std::to_string(size) + "; both halves dropped");
  }
  const uint64_t hash = payload_hash(b.payload.data(), size);
  key k{meta.kind, meta.index};
  const stored resend{meta.kind, meta.index, size, hash};
  if (auto i = pending_.find(k); i != pending_.end()) {
    if (i->second.hash != hash || i->second.size != size)
      return judge(resend, i->second.hash, i->second.size);
    ++i->second.waiters;
    return duplicate{meta.kind, meta.index, size, true};
  }
  if (auto r = find_recent(meta.kind, meta.index))
    return judge(resend, r->hash, r->size);
  if (in_ranges(held_of(meta.kind), meta.index))
    return resend;
  pending_.emplace(k, in_flight{hash, size, 0});
  return complete{std::move(meta), std::move(b.payload), hash};
}

uint32_t pairing::committed(item_kind kind, uint32_t index) {
  auto i = pending_.find(key{kind, index});
  if (i == pending_.end())
    return 0;
  const uint32_t owed = i->second.waiters;
  add_range(held_of(kind), index, index);
  const recent_item r{kind, index, i->second.size, i->second.hash};
  if (recent_.size() < recent_capacity)
    recent_.push_back(r);
  else
    recent_[recent_next_] = r;
  recent_next_ = (recent_next_ + 1) % recent_capacity;
  pending_.erase(i);
  return owed;
}

uint32_t pairing::failed(item_kind kind, uint32_t index) {
  // Only a pending item can fail: a committed one is durable, and a stray failure report must
  // not make the server forget it.
  auto i = pending_.find(key{kind, index});
  if (i == pending_.end())
    return 0;
  const uint32_t owed = i->second.waiters;
  pending_.erase(i);
  return owed;
}

std::vector<error_reply> pairing::expire(clock::time_point now, clock::time_point metadata_now) {
  std::vector<error_reply> out;
  const auto timeout = std::to_string(cfg_.orphan_timeout.count());
  for (auto i = metas_.begin(); i != metas_.end();) {
    if (i->second.since + cfg_.orphan_timeout <= metadata_now) {
      out.push_back(make_error(ec::orphan_expired, i->first.kind, i->first.index,
                               "metadata waited " + timeout
                                 + " ms for its binary frame and was dropped; send both again"));
      i = metas_.erase(i);
    } else {
      ++i;
    }
  }
  for (auto i = blobs_.begin(); i != blobs_.end();) {
    if (i->second.since + cfg_.orphan_timeout <= now) {
      const uint64_t size = i->second.b.payload.size();
      unpaired_bytes_ -= size;
      out.push_back(make_error(ec::orphan_expired, i->first.kind, i->first.index,
                               "binary frame waited " + timeout
                                 + " ms for its metadata and was dropped; send both again"));
      i = blobs_.erase(i);
    } else {
      ++i;
    }
  }
  return out;
}

std::optional<pairing::clock::duration> pairing::next_expiry(clock::time_point now,
                                                             clock::time_point metadata_now) const {
  std::optional<clock::duration> next;
  auto earliest = [&](clock::duration d) { next = next ? std::min(*next, d) : d; };
  for (const auto& [k, half] : metas_)
    earliest(half.since + cfg_.orphan_timeout - metadata_now);
  for (const auto& [k, half] : blobs_)
    earliest(half.since + cfg_.orphan_timeout - now);
  return next;
}

const index_ranges& pairing::held_ranges(item_kind kind) const {
  static const index_ranges none;
  return kind == item_kind::response ? none : held_of(kind);
}

std::vector<uint32_t> pairing::held_indexes(item_kind kind) const {
  std::vector<uint32_t> out;
  for (const auto& [first, last] : held_ranges(kind))
    for (uint64_t i = first; i <= last; ++i)
      out.push_back(static_cast<uint32_t>(i));
  return out;
}

size_t pairing::held_count(item_kind kind) const {
  return static_cast<size_t>(range_count(held_ranges(kind)));
}

} // namespace mediaspool
