#include "actors/pairing.hpp"

#include <string>
#include <utility>

#include <xxhash.h>

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
  return XXH3_64bits(data, size);
}

pairing::pairing(pairing_config cfg) : cfg_(cfg) {
}

void pairing::load_held(item_kind kind, uint32_t index, uint64_t hash, uint64_t size) {
  auto& d = held_[key{kind, index}];
  d.hash = hash;
  d.size = size;
  d.pending = false;
  // `waiters` is kept: acks owed to resends of a pending copy must still be answered.
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
  // A resent metadata replaces the waiting one: the client's latest word wins, and its
  // timeout starts again.
  metas_.insert_or_assign(k, meta_half{std::move(meta), now});
  return waiting{};
}

pairing::outcome pairing::on_blob(blob b, clock::time_point now) {
  const uint64_t size = b.payload.size();
  if (b.kind == item_kind::response) {
    released_ += size;
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
    released_ += size;
    return reject(ec::overloaded, b.kind, b.index,
                  "the budget for binary frames waiting for their metadata is spent ("
                    + std::to_string(cfg_.max_unpaired_bytes)
                    + " bytes); send the metadata first or retry later");
  }
  unpaired_bytes_ += size - old_size;
  if (old != blobs_.end()) {
    released_ += old_size;
    old->second = blob_half{std::move(b), now};
  } else {
    blobs_.emplace(k, blob_half{std::move(b), now});
  }
  return waiting{};
}

pairing::outcome pairing::complete_pair(item_metadata meta, blob b) {
  const uint64_t size = b.payload.size();
  if (meta.size != size) {
    released_ += size;
    return reject(ec::size_mismatch, meta.kind, meta.index,
                  "metadata size " + std::to_string(meta.size) + " differs from the payload length "
                    + std::to_string(size) + "; both halves dropped");
  }
  const uint64_t hash = payload_hash(b.payload.data(), size);
  key k{meta.kind, meta.index};
  if (auto i = held_.find(k); i != held_.end()) {
    // Either way this copy is not stored, so its bytes go back to the connection now.
    released_ += size;
    auto& d = i->second;
    if (d.hash != hash || d.size != size)
      return reject(ec::conflict, meta.kind, meta.index,
                    "already stored with other bytes (" + std::to_string(d.size)
                      + " bytes held, " + std::to_string(size)
                      + " received); the stored item stays");
    if (d.pending)
      ++d.waiters;
    return duplicate{meta.kind, meta.index, size, d.pending};
  }
  held_.emplace(k, digest{hash, size, true, 0});
  return complete{std::move(meta), std::move(b.payload), hash};
}

uint32_t pairing::committed(item_kind kind, uint32_t index) {
  auto i = held_.find(key{kind, index});
  if (i == held_.end())
    return 0;
  i->second.pending = false;
  return std::exchange(i->second.waiters, 0u);
}

uint32_t pairing::failed(item_kind kind, uint32_t index) {
  auto i = held_.find(key{kind, index});
  // A committed item is durable; a stray failure report must not make the server forget it.
  if (i == held_.end() || !i->second.pending)
    return 0;
  const uint32_t owed = i->second.waiters;
  held_.erase(i);
  return owed;
}

std::vector<error_reply> pairing::expire(clock::time_point now) {
  std::vector<error_reply> out;
  const auto timeout = std::to_string(cfg_.orphan_timeout.count());
  for (auto i = metas_.begin(); i != metas_.end();) {
    if (i->second.since + cfg_.orphan_timeout <= now) {
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
      released_ += size;
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

uint64_t pairing::take_released_bytes() noexcept {
  return std::exchange(released_, uint64_t{0});
}

std::vector<uint32_t> pairing::held_indexes(item_kind kind) const {
  std::vector<uint32_t> out;
  for (auto i = held_.lower_bound(key{kind, 0}); i != held_.end() && i->first.kind == kind; ++i)
    if (!i->second.pending)
      out.push_back(i->first.index);
  return out;
}

size_t pairing::held_count(item_kind kind) const {
  size_t n = 0;
  for (auto i = held_.lower_bound(key{kind, 0}); i != held_.end() && i->first.kind == kind; ++i)
    if (!i->second.pending)
      ++n;
  return n;
}

} // namespace mediaspool
