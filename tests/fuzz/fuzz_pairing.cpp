// Fuzz target: the pairing state machine (actors/pairing.hpp). The input is a script of
// operations on one session — metadata, blob, commit, failure, time passing — over a few indexes
// of both kinds, with sizes and bytes from the input. Checked after every step: nothing crashes,
// a complete item's metadata and payload agree, the unpaired budget holds, held indexes are
// sorted and unique, and a committed item stays held with its bytes (a resend with the same bytes
// is a duplicate, never a second complete item; one committed before the last 16 is handed out for
// comparison with the stored copy, which then decides the same way). 12 indexes per kind, so that
// items fall out of the ring of recent commits.
#include "actors/pairing.hpp"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <vector>

using namespace mediaspool;

namespace {

const std::string sid = "11111111-2222-3333-4444-555555555555";

std::string bytes_for(uint8_t seed, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>(seed * 31 + i);
  return s;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pairing_config cfg{std::chrono::milliseconds(1000), 600};
  pairing p{cfg};
  auto now = pairing::clock::time_point{};
  std::map<std::pair<int, uint32_t>, uint64_t> committed; // (kind, index) -> hash
  std::map<std::pair<int, uint32_t>, uint64_t> sizes;     // (kind, index) -> size, committed or sent
  std::map<std::pair<int, uint32_t>, uint64_t> sent;      // handed to the "spool", not yet settled
  for (size_t i = 0; i + 3 < size; i += 4) {
    const uint8_t op = data[i] % 6;
    const item_kind kind = data[i + 1] & 1 ? item_kind::audio : item_kind::frame;
    const uint32_t index = (data[i + 1] >> 1) % 12;
    const size_t len = 1 + data[i + 2] % 200;
    const uint8_t seed = data[i + 3] % 3; // few distinct payloads: resends and conflicts happen
    const auto key = std::make_pair(static_cast<int>(kind), index);
    pairing::outcome out = pairing::waiting{};
    if (op == 0 || op == 1) {
      item_metadata m;
      m.session_id = sid;
      m.kind = kind;
      m.index = index;
      m.size = op == 0 ? len : len + 1; // op 1: a size that will mismatch its blob
      out = p.on_metadata(std::move(m), now);
    } else if (op == 2) {
      auto payload = bytes_for(seed, len);
      blob b{sid, kind, index, shared_bytes{std::make_shared<const byte_vector>(payload.begin(), payload.end()), 0}};
      out = p.on_blob(std::move(b), now);
    } else if (op == 3) {
      if (auto it = sent.find(key); it != sent.end()) {
        p.committed(kind, index);
        committed[key] = it->second; // sizes[key] was set when it was sent
        sent.erase(it);
      }
    } else if (op == 4) {
      if (sent.erase(key))
        p.failed(kind, index);
    } else {
      now += std::chrono::milliseconds(data[i + 2] * 10);
      (void)p.expire(now);
    }
    if (auto* c = std::get_if<pairing::complete>(&out)) {
      if (c->meta.size != c->payload.size() || c->meta.index != index || c->meta.kind != kind)
        std::abort(); // a pair whose halves disagree
      if (committed.count(key) || sent.count(key))
        std::abort(); // a second complete item for an index already held or in flight
      if (c->hash != payload_hash(c->payload.data(), c->payload.size()))
        std::abort();
      sent[key] = c->hash;
      sizes[key] = c->payload.size();
    }
    if (auto* st = std::get_if<pairing::stored>(&out)) {
      const pairing::stored resend = *st;
      auto it = committed.find(key);
      if (it == committed.end() || resend.kind != kind || resend.index != index)
        std::abort(); // compared with a stored copy of something never committed
      // What the session does with the stored copy's hash and size.
      const bool same = resend.hash == it->second && resend.size == sizes[key];
      out = pairing::judge(resend, it->second, sizes[key]);
      if (same != std::holds_alternative<pairing::duplicate>(out))
        std::abort();
    }
    if (std::holds_alternative<pairing::duplicate>(out)) {
      if (!committed.count(key) && !sent.count(key))
        std::abort(); // a duplicate of nothing
    }
    if (p.unpaired_bytes() > cfg.max_unpaired_bytes)
      std::abort();
    for (auto k : {item_kind::audio, item_kind::frame}) {
      const auto& ranges = p.held_ranges(k);
      for (size_t j = 0; j < ranges.size(); ++j)
        if (ranges[j].first > ranges[j].second || (j > 0 && uint64_t{ranges[j].first} <= uint64_t{ranges[j - 1].second} + 1))
          std::abort(); // ranges out of order, overlapping, or adjacent but not merged
      auto held = p.held_indexes(k);
      for (size_t j = 1; j < held.size(); ++j)
        if (held[j - 1] >= held[j])
          std::abort();
      if (held.size() != p.held_count(k))
        std::abort();
      size_t expected = 0;
      for (auto& [kk, h] : committed)
        expected += kk.first == static_cast<int>(k);
      if (held.size() != expected)
        std::abort();
    }
  }
  return 0;
}
