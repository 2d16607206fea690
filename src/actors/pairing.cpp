#include "actors/pairing.hpp"

#include <algorithm>
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

const pairing::held_item* pairing::find_held(const held_list& list, uint32_t index) {
  auto i = std::lower_bound(list.begin(), list.end(), index,
                            [](const held_item& h, uint32_t x) { return h.index < x; });
  return i != list.end() && i->index == index ? &*i : nullptr;
}

void pairing::insert_held(held_list& list, held_item item) {
  // Items mostly commit in index order: appending is the common case.
  if (list.empty() || list.back().index < item.index) {
    list.push_back(item);
    return;
  }
  auto i = std::lower_bound(list.begin(), list.end(), item.index,
                            [](const held_item& h, uint32_t x) { return h.index < x; });
  if (i != list.end() && i->index == item.index)
    *i = item;
  else
    list.insert(i, item);
}

void pairing::load_held(item_kind kind, uint32_t index, uint64_t hash, uint64_t size) {
  if (kind == item_kind::response)
    return;
  insert_held(held_of(kind), held_item{index, static_cast<uint32_t>(size), hash});
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
  auto conflict = [&](uint64_t held_size) {
    return reject(ec::conflict, meta.kind, meta.index,
                  "already stored with other bytes (" + std::to_string(held_size) + " bytes held, "
                    + std::to_string(size) + " received); the stored item stays");
  };
  if (auto i = pending_.find(k); i != pending_.end()) {
    if (i->second.hash != hash || i->second.size != size)
      return conflict(i->second.size);
    ++i->second.waiters;
    return duplicate{meta.kind, meta.index, size, true};
  }
  if (auto h = find_held(held_of(meta.kind), meta.index)) {
    if (h->hash != hash || h->size != size)
      return conflict(h->size);
    return duplicate{meta.kind, meta.index, size, false};
  }
  pending_.emplace(k, in_flight{hash, size, 0});
  return complete{std::move(meta), std::move(b.payload), hash};
}

uint32_t pairing::committed(item_kind kind, uint32_t index) {
  auto i = pending_.find(key{kind, index});
  if (i == pending_.end())
    return 0;
  const uint32_t owed = i->second.waiters;
  insert_held(held_of(kind), held_item{index, static_cast<uint32_t>(i->second.size), i->second.hash});
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

std::vector<uint32_t> pairing::held_indexes(item_kind kind) const {
  std::vector<uint32_t> out;
  if (kind == item_kind::response)
    return out;
  const auto& list = held_of(kind);
  out.reserve(list.size());
  for (const auto& h : list)
    out.push_back(h.index);
  return out;
}

size_t pairing::held_count(item_kind kind) const {
  return kind == item_kind::response ? 0 : held_of(kind).size();
}

} // namespace mediaspool
